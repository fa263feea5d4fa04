/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Shared by rt-host-check and rt-guest-check.  Every file access goes
 * through rc_path() so that --root can point the tools at a fake tree;
 * every read is bounded, and every value read is parsed strictly because
 * a garbage value must become a warning, never a crash.
 */
#define _GNU_SOURCE
#include "rtcheck-common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *rc_prog = "rt-check";
static char *rc_root;

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

static char *rc_vstrf(const char *fmt, va_list ap)
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

/* Files under the root */

bool rc_set_root(const char *root)
{
    char *real;
    struct stat st;

    free(rc_root);
    rc_root = NULL;
    if (!root) {
        return true;
    }
    real = realpath(root, NULL);
    if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return false;
    }
    if (strcmp(real, "/") == 0) {
        free(real);
        return true;
    }
    rc_root = real;
    return true;
}

bool rc_have_root(void)
{
    return rc_root != NULL;
}

char *rc_path(const char *path)
{
    return rc_root ? rc_strf("%s%s", rc_root, path) : rc_strdup(path);
}

ssize_t rc_read(const char *path, char *buf, size_t size)
{
    char *full = rc_path(path);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    size_t i;
    int saved;

    free(full);
    buf[0] = '\0';
    if (fd < 0) {
        return -1;
    }
    while (len < size - 1) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            saved = errno;
            close(fd);
            errno = saved;
            buf[0] = '\0';
            return -1;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    for (i = 0; i < len; i++) {
        if (buf[i] == '\0') {
            buf[i] = ' ';
        }
    }
    while (len > 0 && isspace((unsigned char)buf[len - 1])) {
        len--;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

ssize_t rc_readf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    char *path;
    ssize_t ret;
    int saved;

    va_start(ap, fmt);
    path = rc_vstrf(fmt, ap);
    va_end(ap);
    ret = rc_read(path, buf, size);
    saved = errno;
    free(path);
    errno = saved;
    return ret;
}

char *rc_read_big(const char *path)
{
    char *buf = rc_xmalloc(RC_BIG_MAX);
    int saved;

    if (rc_read(path, buf, RC_BIG_MAX) < 0) {
        saved = errno;
        free(buf);
        errno = saved;
        return NULL;
    }
    return buf;
}

DIR *rc_opendir(const char *path)
{
    char *full = rc_path(path);
    DIR *d = opendir(full);
    int saved = errno;

    free(full);
    errno = saved;
    return d;
}

int rc_write(const char *path, const char *value)
{
    char *full = rc_path(path);
    char *text = rc_strf("%s\n", value);
    size_t len = strlen(text);
    int fd = open(full, O_WRONLY | O_TRUNC | O_CLOEXEC);
    int ret = 0;

    free(full);
    if (fd < 0) {
        free(text);
        return -errno;
    }
    if (write(fd, text, len) != (ssize_t)len) {
        ret = errno ? -errno : -EIO;
    }
    if (close(fd) < 0 && ret == 0) {
        ret = -errno;
    }
    free(text);
    return ret;
}

bool rc_exists(const char *path)
{
    char *full = rc_path(path);
    bool ret = access(full, F_OK) == 0;

    free(full);
    return ret;
}

/* Numbers */

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

/* CPU sets */

void rc_cpus_clear(RcCpuSet *set)
{
    memset(set, 0, sizeof(*set));
}

void rc_cpus_set(RcCpuSet *set, unsigned cpu)
{
    if (cpu < RC_MAX_CPUS) {
        set->bits[cpu / 64] |= 1ULL << (cpu % 64);
    }
}

bool rc_cpus_test(const RcCpuSet *set, unsigned cpu)
{
    return cpu < RC_MAX_CPUS && (set->bits[cpu / 64] >> (cpu % 64)) & 1;
}

bool rc_cpus_empty(const RcCpuSet *set)
{
    return rc_cpus_count(set) == 0;
}

unsigned rc_cpus_count(const RcCpuSet *set)
{
    unsigned n = 0;
    size_t i;

    for (i = 0; i < RC_MAX_CPUS / 64; i++) {
        n += (unsigned)__builtin_popcountll(set->bits[i]);
    }
    return n;
}

bool rc_cpus_subset(const RcCpuSet *sub, const RcCpuSet *set)
{
    size_t i;

    for (i = 0; i < RC_MAX_CPUS / 64; i++) {
        if (sub->bits[i] & ~set->bits[i]) {
            return false;
        }
    }
    return true;
}

bool rc_cpus_intersects(const RcCpuSet *a, const RcCpuSet *b)
{
    size_t i;

    for (i = 0; i < RC_MAX_CPUS / 64; i++) {
        if (a->bits[i] & b->bits[i]) {
            return true;
        }
    }
    return false;
}

void rc_cpus_and(RcCpuSet *dst, const RcCpuSet *a, const RcCpuSet *b)
{
    size_t i;

    for (i = 0; i < RC_MAX_CPUS / 64; i++) {
        dst->bits[i] = a->bits[i] & b->bits[i];
    }
}

void rc_cpus_andnot(RcCpuSet *dst, const RcCpuSet *a, const RcCpuSet *b)
{
    size_t i;

    for (i = 0; i < RC_MAX_CPUS / 64; i++) {
        dst->bits[i] = a->bits[i] & ~b->bits[i];
    }
}

void rc_cpus_or(RcCpuSet *dst, const RcCpuSet *a, const RcCpuSet *b)
{
    size_t i;

    for (i = 0; i < RC_MAX_CPUS / 64; i++) {
        dst->bits[i] = a->bits[i] | b->bits[i];
    }
}

/* A CPU number; advances *p.  -1 if there is none, -2 if too big. */
static long rc_cpu_number(const char **p)
{
    long value = 0;

    if (!isdigit((unsigned char)**p)) {
        return -1;
    }
    while (isdigit((unsigned char)**p)) {
        if (value < RC_MAX_CPUS) {
            value = value * 10 + (**p - '0');
        }
        (*p)++;
    }
    return value >= RC_MAX_CPUS ? -2 : value;
}

static bool rc_bad_number(long n, const char *what, char *err,
                          size_t errsize)
{
    if (n == -2) {
        snprintf(err, errsize, "%s is above the highest CPU number %d",
                 what, RC_MAX_CPUS - 1);
    } else {
        snprintf(err, errsize, "%s is not a CPU number", what);
    }
    return false;
}

bool rc_cpulist_parse(const char *s, RcCpuSet *set, bool allow_empty,
                      char *err, size_t errsize)
{
    const char *p = s;

    rc_cpus_clear(set);
    if (*p == '\0') {
        if (allow_empty) {
            return true;
        }
        snprintf(err, errsize, "the CPU list is empty");
        return false;
    }
    for (;;) {
        long first, last, used = 1, group = 1, cpu;

        first = rc_cpu_number(&p);
        if (first < 0) {
            return rc_bad_number(first, "an item", err, errsize);
        }
        last = first;
        if (*p == '-') {
            p++;
            last = rc_cpu_number(&p);
            if (last < 0) {
                return rc_bad_number(last, "the end of a range", err,
                                     errsize);
            }
            if (last < first) {
                snprintf(err, errsize, "the range %ld-%ld is reversed",
                         first, last);
                return false;
            }
            if (*p == ':') {
                p++;
                used = rc_cpu_number(&p);
                if (*p != '/') {
                    snprintf(err, errsize, "a stride needs the form :N/M");
                    return false;
                }
                p++;
                group = rc_cpu_number(&p);
                if (used <= 0 || group <= 0 || used > group) {
                    snprintf(err, errsize, "a stride needs 0 < N <= M");
                    return false;
                }
            }
        }
        for (cpu = first; cpu <= last; cpu++) {
            if ((cpu - first) % group < used) {
                rc_cpus_set(set, (unsigned)cpu);
            }
        }
        if (*p == '\0') {
            return true;
        }
        if (*p != ',') {
            snprintf(err, errsize, "unexpected '%c' after a CPU number",
                     isprint((unsigned char)*p) ? *p : '?');
            return false;
        }
        p++;
    }
}

bool rc_cpumask_parse(const char *s, RcCpuSet *set)
{
    size_t len = strlen(s);
    unsigned bit = 0;
    bool digits = false;

    rc_cpus_clear(set);
    while (len > 0) {
        char c = s[--len];
        int v;

        if (c == ',') {
            continue;
        }
        if (!isxdigit((unsigned char)c)) {
            return false;
        }
        digits = true;
        v = isdigit((unsigned char)c) ? c - '0'
                                      : tolower((unsigned char)c) - 'a' + 10;
        for (int i = 0; i < 4; i++, bit++) {
            if (v & (1 << i)) {
                if (bit >= RC_MAX_CPUS) {
                    return false;
                }
                rc_cpus_set(set, bit);
            }
        }
    }
    return digits;
}

char *rc_cpulist_format(const RcCpuSet *set)
{
    size_t size = 16, len = 0;
    char *out = rc_xmalloc(size);
    unsigned cpu = 0;

    while (cpu < RC_MAX_CPUS) {
        unsigned last;
        char item[32];
        int n;

        if (!rc_cpus_test(set, cpu)) {
            cpu++;
            continue;
        }
        last = cpu;
        while (last + 1 < RC_MAX_CPUS && rc_cpus_test(set, last + 1)) {
            last++;
        }
        if (last == cpu) {
            n = snprintf(item, sizeof(item), "%s%u", len ? "," : "", cpu);
        } else {
            n = snprintf(item, sizeof(item), "%s%u-%u", len ? "," : "",
                         cpu, last);
        }
        if (len + (size_t)n + 1 > size) {
            char *bigger;
            size = (len + (size_t)n + 1) * 2;
            bigger = rc_xmalloc(size);
            memcpy(bigger, out, len + 1);
            free(out);
            out = bigger;
        }
        memcpy(out + len, item, (size_t)n + 1);
        len += (size_t)n;
        cpu = last + 1;
    }
    return out;
}

char *rc_cpumask_format(const RcCpuSet *set)
{
    char *out = rc_xmalloc(RC_MAX_CPUS / 4 + 2);
    int top = -1;
    int nibble;
    size_t len = 0;

    for (nibble = RC_MAX_CPUS / 4 - 1; nibble >= 0 && top < 0; nibble--) {
        for (int i = 0; i < 4; i++) {
            if (rc_cpus_test(set, (unsigned)(nibble * 4 + i))) {
                top = nibble;
            }
        }
    }
    if (top < 0) {
        top = 0;
    }
    for (nibble = top; nibble >= 0; nibble--) {
        int v = 0;
        for (int i = 0; i < 4; i++) {
            if (rc_cpus_test(set, (unsigned)(nibble * 4 + i))) {
                v |= 1 << i;
            }
        }
        out[len++] = "0123456789abcdef"[v];
    }
    out[len] = '\0';
    return out;
}

/* Kernel command line */

void rc_cmdline_load(RcCmdline *cl, const char *path)
{
    cl->text = rc_read_big(path);
    cl->err = cl->text ? 0 : errno;
}

void rc_cmdline_free(RcCmdline *cl)
{
    free(cl->text);
    cl->text = NULL;
}

/*
 * Walk the parameters as the kernel does (whitespace separated, double
 * quotes group).  Calls @fn with the key and value (NULL for a bare
 * key); stops when @fn returns true.
 */
static void rc_cmdline_walk(const RcCmdline *cl,
                            bool (*fn)(const char *key, const char *value,
                                       void *opaque),
                            void *opaque)
{
    const char *p = cl->text;

    if (!p) {
        return;
    }
    while (*p) {
        const char *start;
        char *param, *eq, *out;
        bool quoted = false;

        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (!*p) {
            break;
        }
        if (p[0] == '-' && p[1] == '-' &&
            (p[2] == '\0' || isspace((unsigned char)p[2]))) {
            break;          /* the rest belongs to init */
        }
        start = p;
        while (*p && (quoted || !isspace((unsigned char)*p))) {
            if (*p == '"') {
                quoted = !quoted;
            }
            p++;
        }
        param = rc_xmalloc((size_t)(p - start) + 1);
        out = param;
        for (const char *q = start; q < p; q++) {
            if (*q != '"') {
                *out++ = *q;
            }
        }
        *out = '\0';
        eq = strchr(param, '=');
        if (eq) {
            *eq = '\0';
        }
        if (fn(param, eq ? eq + 1 : NULL, opaque)) {
            free(param);
            return;
        }
        free(param);
    }
}

typedef struct RcCmdlineQuery {
    const char *key;
    const char *value;
    char *found;
    bool match;
} RcCmdlineQuery;

static bool rc_cmdline_get_fn(const char *key, const char *value,
                              void *opaque)
{
    RcCmdlineQuery *q = opaque;

    if (strcmp(key, q->key) == 0) {
        free(q->found);
        q->found = rc_strdup(value ? value : "");
    }
    return false;
}

char *rc_cmdline_get(const RcCmdline *cl, const char *key)
{
    RcCmdlineQuery q = { .key = key };

    rc_cmdline_walk(cl, rc_cmdline_get_fn, &q);
    return q.found;
}

static bool rc_cmdline_has_fn(const char *key, const char *value,
                              void *opaque)
{
    RcCmdlineQuery *q = opaque;

    if (strcmp(key, q->key) == 0 && value && strcmp(value, q->value) == 0) {
        q->match = true;
        return true;
    }
    return false;
}

bool rc_cmdline_has(const RcCmdline *cl, const char *key, const char *value)
{
    RcCmdlineQuery q = { .key = key, .value = value };

    rc_cmdline_walk(cl, rc_cmdline_has_fn, &q);
    return q.match;
}

const char *rc_isolcpus_list(const char *value)
{
    while (isalpha((unsigned char)*value)) {
        const char *comma = strchr(value, ',');
        if (!comma) {
            return value;       /* not a list: the parser says so */
        }
        value = comma + 1;
    }
    return value;
}

/* Results */

typedef struct RcResult {
    RcStatus status;
    char *id;
    char *message;
    char *fix;
} RcResult;

static RcResult *rc_results;
static size_t rc_nresults, rc_results_size;

void rc_report(RcStatus status, const char *id, const char *fix,
               const char *fmt, ...)
{
    va_list ap;
    RcResult *r;

    if (rc_nresults == rc_results_size) {
        RcResult *bigger;
        rc_results_size = rc_results_size ? rc_results_size * 2 : 32;
        bigger = rc_xmalloc(rc_results_size * sizeof(*bigger));
        if (rc_nresults) {
            memcpy(bigger, rc_results, rc_nresults * sizeof(*bigger));
        }
        free(rc_results);
        rc_results = bigger;
    }
    r = &rc_results[rc_nresults++];
    r->status = status;
    r->id = rc_strdup(id);
    va_start(ap, fmt);
    r->message = rc_vstrf(fmt, ap);
    va_end(ap);
    r->fix = rc_strdup(status == RC_PASS || !fix ? "" : fix);
}

void rc_results_reset(void)
{
    size_t i;

    for (i = 0; i < rc_nresults; i++) {
        free(rc_results[i].id);
        free(rc_results[i].message);
        free(rc_results[i].fix);
    }
    rc_nresults = 0;
}

void rc_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c == '\n') {
            fputs("\\n", stdout);
        } else if (c < 0x20 || c >= 0x7f) {
            /* Messages are ASCII; anything else came from a bad file. */
            printf("\\u%04x", c < 0x20 ? c : '?');
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

int rc_results_print(bool json, const char *title)
{
    static const char *const names[] = { "pass", "warn", "fail" };
    unsigned count[3] = { 0, 0, 0 };
    RcStatus worst = RC_PASS;
    size_t i;

    for (i = 0; i < rc_nresults; i++) {
        count[rc_results[i].status]++;
        if (rc_results[i].status > worst) {
            worst = rc_results[i].status;
        }
    }
    if (json) {
        putchar('[');
        for (i = 0; i < rc_nresults; i++) {
            RcResult *r = &rc_results[i];
            printf("%s\n  {\"id\": ", i ? "," : "");
            rc_json_string(r->id);
            printf(", \"status\": \"%s\", \"message\": ", names[r->status]);
            rc_json_string(r->message);
            fputs(", \"fix\": ", stdout);
            rc_json_string(r->fix);
            putchar('}');
        }
        fputs("\n]\n", stdout);
    } else {
        printf("%s\n", title);
        for (i = 0; i < rc_nresults; i++) {
            RcResult *r = &rc_results[i];
            printf("%s %-22s %s\n",
                   r->status == RC_PASS ? "PASS" :
                   r->status == RC_WARN ? "WARN" : "FAIL",
                   r->id, r->message);
            if (r->fix[0]) {
                printf("%-27s fix: %s\n", "", r->fix);
            }
        }
        printf("%u pass, %u warn, %u fail\n", count[RC_PASS],
               count[RC_WARN], count[RC_FAIL]);
    }
    fflush(stdout);
    return (int)worst;
}

/* Common checks */

void rc_ctx_init(RcCtx *ctx, const char *cpus_arg)
{
    char err[160];

    memset(ctx, 0, sizeof(*ctx));
    if (cpus_arg) {
        if (!rc_cpulist_parse(cpus_arg, &ctx->cpus, false, err,
                              sizeof(err))) {
            rc_usage_error("bad --cpus '%s': %s; give a CPU list like 1,3-5",
                           cpus_arg, err);
        }
        ctx->have_cpus = true;
        ctx->cpus_text = rc_cpulist_format(&ctx->cpus);
    }
    rc_cmdline_load(&ctx->cmdline, "/proc/cmdline");
    ctx->have_online = rc_read_cpulist("/sys/devices/system/cpu/online",
                                       &ctx->online, NULL);
}

void rc_ctx_free(RcCtx *ctx)
{
    rc_cmdline_free(&ctx->cmdline);
    free(ctx->cpus_text);
    ctx->cpus_text = NULL;
}

bool rc_read_cpulist(const char *path, RcCpuSet *set, char **why)
{
    char buf[RC_VAL_MAX];
    char err[160];

    if (rc_read(path, buf, sizeof(buf)) < 0) {
        if (why) {
            *why = rc_strf("cannot read %s: %s", path, strerror(errno));
        }
        return false;
    }
    if (strcmp(buf, "(null)") == 0) {
        buf[0] = '\0';      /* nohz_full with no nohz_full= */
    }
    if (!rc_cpulist_parse(buf, set, true, err, sizeof(err))) {
        if (why) {
            char *clean = rc_clean(buf);
            *why = rc_strf("%s holds '%s': %s", path, clean, err);
            free(clean);
        }
        return false;
    }
    return true;
}

void rc_check_isolation(RcCtx *ctx, const char *id, const char *param,
                        const char *sysfs, RcStatus missing)
{
    char *value, *why = NULL, *fix;
    const char *list;
    RcCpuSet set;
    char err[160];
    bool in_cmdline = false;

    if (!ctx->have_cpus) {
        rc_report(RC_WARN, id, "rerun with --cpus LIST",
                  "not checked: no --cpus given");
        return;
    }
    fix = rc_strf("add %s=%s to the kernel command line and reboot", param,
                  ctx->cpus_text);
    value = rc_cmdline_get(&ctx->cmdline, param);
    if (value) {
        list = strcmp(param, "isolcpus") == 0 ? rc_isolcpus_list(value)
                                              : value;
        if (strcmp(list, "all") == 0) {
            in_cmdline = true;
        } else if (rc_cpulist_parse(list, &set, false, err, sizeof(err))) {
            in_cmdline = rc_cpus_subset(&ctx->cpus, &set);
        }
    }
    if (sysfs && rc_read_cpulist(sysfs, &set, &why)) {
        if (rc_cpus_subset(&ctx->cpus, &set)) {
            rc_report(RC_PASS, id, NULL, "CPUs %s are in %s",
                      ctx->cpus_text, sysfs);
        } else {
            char *have = rc_cpulist_format(&set);
            rc_report(missing, id, fix, "CPUs %s are not all in %s ('%s')",
                      ctx->cpus_text, sysfs, have);
            free(have);
        }
    } else if (in_cmdline) {
        rc_report(RC_PASS, id, NULL, "%s= on the command line covers %s",
                  param, ctx->cpus_text);
    } else if (!ctx->cmdline.text) {
        rc_report(RC_WARN, id, fix,
                  "unknown: cannot read /proc/cmdline: %s%s%s",
                  strerror(ctx->cmdline.err), why ? "; " : "",
                  why ? why : "");
    } else if (value) {
        char *clean = rc_clean(value);
        rc_report(missing, id, fix, "%s=%s does not cover CPUs %s", param,
                  clean, ctx->cpus_text);
        free(clean);
    } else {
        rc_report(missing, id, fix, "no %s= on the kernel command line",
                  param);
    }
    free(why);
    free(value);
    free(fix);
}

char *rc_check_sysctl(const char *id, const char *path, const char *sysctl,
                      const char *want, RcStatus bad, const char *why)
{
    char buf[RC_VAL_MAX];
    char *fix = rc_strf("sysctl -w %s=%s", sysctl, want);
    long long value, wanted;
    char *clean;

    if (rc_read(path, buf, sizeof(buf)) < 0) {
        rc_report(RC_WARN, id, fix, "unknown: cannot read %s: %s", path,
                  strerror(errno));
        free(fix);
        return NULL;
    }
    if (!rc_parse_long(buf, &value)) {
        clean = rc_clean(buf);
        rc_report(RC_WARN, id, fix, "unknown: %s holds '%s', not a number",
                  path, clean);
        free(clean);
        free(fix);
        return NULL;
    }
    if (rc_parse_long(want, &wanted) && value == wanted) {
        rc_report(RC_PASS, id, NULL, "%s = %s", sysctl, buf);
        free(fix);
        return NULL;
    }
    rc_report(bad, id, fix, "%s = %s: %s", sysctl, buf, why);
    free(fix);
    return rc_strdup(buf);
}
