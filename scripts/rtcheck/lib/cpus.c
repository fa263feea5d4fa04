/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * librtcheck: CPU sets, the kernel's CPU lists ("1,3-5", "0-7:2/4") and
 * hex masks.
 */
#define _GNU_SOURCE
#include "rtcheck.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
