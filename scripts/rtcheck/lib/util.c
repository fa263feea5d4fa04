/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * librtcheck: memory, strings, usage errors and strict numbers.  A value
 * read from a file is parsed strictly because a garbage value must become
 * a warning, never a crash.
 */
#define _GNU_SOURCE
#include "rtcheck.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *rc_prog = "rt-check";

void *rc_xmalloc(size_t size)
{
    void *p = calloc(1, size ? size : 1);

    if (!p) {
        fprintf(stderr, "%s: out of memory; free some memory and rerun\n",
                rc_prog);
        exit(RC_FAIL);
    }
    return p;
}

char *rc_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *p = rc_xmalloc(len);

    memcpy(p, s, len);
    return p;
}

char *rc_vstrf(const char *fmt, va_list ap)
{
    va_list ap2;
    char small[256];
    int len;
    char *p;

    va_copy(ap2, ap);
    len = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (len < 0) {
        return rc_strdup("");
    }
    if ((size_t)len < sizeof(small)) {
        return rc_strdup(small);
    }
    p = rc_xmalloc((size_t)len + 1);
    vsnprintf(p, (size_t)len + 1, fmt, ap);
    return p;
}

char *rc_strf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = rc_vstrf(fmt, ap);
    va_end(ap);
    return p;
}

char *rc_clean(const char *s)
{
    enum { MAXLEN = 40 };
    size_t len = strlen(s);
    size_t n = len > MAXLEN ? MAXLEN : len;
    char *p = rc_xmalloc(n + 4);
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        p[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (len > n) {
        memcpy(p + n, "...", 4);
    }
    return p;
}

void rc_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", rc_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(RC_EX_USAGE);
}

void rc_parse_options(int argc, char **argv, RcOptions *o,
                      const struct option *more,
                      void (*tool)(int opt, const char *arg, void *opaque),
                      void *opaque, void (*usage)(void))
{
    enum { OPT_CPUS = 256, OPT_JSON, OPT_ROOT, OPT_HELP };
    static const struct option common[] = {
        { "cpus", required_argument, NULL, OPT_CPUS },
        { "json", no_argument, NULL, OPT_JSON },
        { "root", required_argument, NULL, OPT_ROOT },
        { "help", no_argument, NULL, OPT_HELP },
    };
    size_t ncommon = sizeof(common) / sizeof(common[0]), nmore = 0;
    struct option *opts;
    int opt;

    while (more && more[nmore].name) {
        nmore++;
    }
    opts = rc_xmalloc((ncommon + nmore + 1) * sizeof(*opts));
    memcpy(opts, common, sizeof(common));
    if (nmore) {
        memcpy(opts + ncommon, more, nmore * sizeof(*opts));
    }
    memset(o, 0, sizeof(*o));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_CPUS:
            o->cpus = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_ROOT:
            o->root = optarg;
            break;
        case OPT_HELP:
            usage();
            exit(0);
        case ':':
            rc_usage_error("%s needs a value; see %s --help",
                           argv[optind - 1], rc_prog);
        default:
            if (opt < RC_OPT_TOOL) {
                rc_usage_error("unknown option '%s'; see %s --help",
                               argv[optind - 1], rc_prog);
            }
            tool(opt, optarg, opaque);
        }
    }
    free(opts);
    if (optind < argc) {
        rc_usage_error("unexpected argument '%s'; see %s --help",
                       argv[optind], rc_prog);
    }
}

void rc_usage_set_root(const char *root)
{
    if (!rc_set_root(root)) {
        rc_usage_error("--root %s is not a directory; give the top of a "
                       "tree holding proc/ and sys/", root);
    }
}

bool rc_is_number(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) {
            return false;
        }
    }
    return true;
}

bool rc_parse_ulong(const char *s, unsigned long long *out)
{
    char *end;

    if (!isdigit((unsigned char)s[0])) {
        return false;
    }
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0';
}

bool rc_parse_long(const char *s, long long *out)
{
    char *end;

    if (!isdigit((unsigned char)s[0]) &&
        !(s[0] == '-' && isdigit((unsigned char)s[1]))) {
        return false;
    }
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0';
}

bool rc_parse_size(const char *s, uint64_t *out)
{
    uint64_t value = 0;
    unsigned shift = 0;
    const char *p = s;

    if (!isdigit((unsigned char)*p)) {
        return false;
    }
    for (; isdigit((unsigned char)*p); p++) {
        if (value > (UINT64_MAX - 9) / 10) {
            return false;
        }
        value = value * 10 + (uint64_t)(*p - '0');
    }
    switch (toupper((unsigned char)*p)) {
    case 'K':
        shift = 10;
        break;
    case 'M':
        shift = 20;
        break;
    case 'G':
        shift = 30;
        break;
    case 'T':
        shift = 40;
        break;
    case '\0':
        break;
    default:
        return false;
    }
    if (shift) {
        p++;
        if (*p == 'i') {
            p++;
        }
        if (toupper((unsigned char)*p) == 'B') {
            p++;
        }
    }
    if (*p != '\0' || value == 0 || value > (UINT64_MAX >> shift)) {
        return false;
    }
    *out = value << shift;
    return true;
}

char *rc_format_size(uint64_t bytes)
{
    static const char units[] = "KMGT";
    int i;

    for (i = 3; i >= 0; i--) {
        uint64_t unit = 1ULL << (10 * (i + 1));
        if (bytes >= unit && bytes % unit == 0) {
            return rc_strf("%llu%c", (unsigned long long)(bytes / unit),
                           units[i]);
        }
    }
    return rc_strf("%llu bytes", (unsigned long long)bytes);
}
