/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-host-check: guest memory that never faults nor moves: KSM, swap,
 * transparent hugepages, hugepage pools.
 */
#define _GNU_SOURCE
#include "host.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Read a file of a memory feature @what into @buf; if it cannot be read,
 * report item @id (a pass when the kernel lacks the feature) and return
 * false.
 */
static bool mm_read(const char *id, const char *what, const char *path,
                    const char *fix, char *buf, size_t size)
{
    if (rc_read(path, buf, size) >= 0) {
        return true;
    }
    if (errno == ENOENT && rc_exists("/sys/kernel/mm")) {
        rc_report(RC_PASS, id, NULL, "%s is not in this kernel", what);
    } else {
        rc_report(RC_WARN, id, fix, "unknown: cannot read %s: %s", path,
                  strerror(errno));
    }
    return false;
}

void check_ksm(Host *h)
{
    const char *path = "/sys/kernel/mm/ksm/run";
    const char *fix = "echo 0 > /sys/kernel/mm/ksm/run";
    char buf[RC_VAL_MAX];
    char *clean;

    if (!mm_read("ksm", "KSM", path, fix, buf, sizeof(buf))) {
        return;
    }
    if (strcmp(buf, "0") == 0 || strcmp(buf, "2") == 0) {
        rc_report(RC_PASS, "ksm", NULL, "KSM is stopped (run = %s)", buf);
    } else if (strcmp(buf, "1") == 0) {
        rc_report(RC_WARN, "ksm", fix, "KSM is running: ksmd scans memory "
                  "and merged guest pages fault on write");
        host_action(h, path, "0", buf, NULL);
    } else {
        clean = rc_clean(buf);
        rc_report(RC_WARN, "ksm", fix, "unknown: %s holds '%s'", path, clean);
        free(clean);
    }
}

void check_swap(Host *h)
{
    char *swaps = rc_read_big("/proc/swaps");
    char *line, *save = NULL, *first = NULL;
    unsigned n = 0;

    (void)h;
    if (!swaps) {
        rc_report(RC_WARN, "swap", "check that /proc is mounted",
                  "unknown: cannot read /proc/swaps: %s", strerror(errno));
        return;
    }
    for (line = strtok_r(swaps, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "Filename", 8) == 0 || !line[strspn(line, " \t")]) {
            continue;
        }
        if (!first) {
            first = line + strspn(line, " \t");
            first[strcspn(first, " \t")] = '\0';
        }
        n++;
    }
    if (n) {
        char *clean = rc_clean(first);
        rc_report(RC_WARN, "swap", "swapoff -a, and remove swap from "
                  "/etc/fstab", "%u swap area(s) in use (%s): unlocked "
                  "memory may be paged out", n, clean);
        free(clean);
    } else {
        rc_report(RC_PASS, "swap", NULL, "no swap in use");
    }
    free(swaps);
}

/* "always [madvise] never" -> "madvise"; a bare word is taken as is. */
static bool bracket_choice(const char *s, char *out, size_t size)
{
    const char *open = strchr(s, '['), *close;
    size_t len;

    if (!open) {
        len = strlen(s);
        if (!len || strpbrk(s, " \t]")) {
            return false;
        }
        open = s - 1;
        close = s + len;
    } else {
        close = strchr(open, ']');
        if (!close || strchr(close + 1, '[')) {
            return false;
        }
    }
    len = (size_t)(close - open - 1);
    if (!len || len >= size) {
        return false;
    }
    memcpy(out, open + 1, len);
    out[len] = '\0';
    return true;
}

void check_thp(Host *h)
{
    const char *path = "/sys/kernel/mm/transparent_hugepage/enabled";
    const char *fix = "echo never > /sys/kernel/mm/transparent_hugepage/"
                      "enabled (boot: transparent_hugepage=never)";
    char buf[RC_VAL_MAX], mode[32];
    char *clean;

    if (!mm_read("thp", "THP", path, fix, buf, sizeof(buf))) {
        return;
    }
    if (!bracket_choice(buf, mode, sizeof(mode)) ||
        (strcmp(mode, "always") && strcmp(mode, "madvise") &&
         strcmp(mode, "never"))) {
        clean = rc_clean(buf);
        rc_report(RC_WARN, "thp", fix, "unknown: %s holds '%s'", path,
                  clean);
        free(clean);
    } else if (strcmp(mode, "always") == 0) {
        rc_report(RC_WARN, "thp", fix, "transparent hugepages [always]: "
                  "khugepaged compacts and collapses memory behind the "
                  "guest's back");
        host_action(h, path, "never", mode, buf);
        host_boot(h, "transparent_hugepage=never");
    } else {
        rc_report(RC_PASS, "thp", NULL, "transparent hugepages [%s]", mode);
    }
}

void check_hugepages(Host *h)
{
    const char *dir = "/sys/kernel/mm/hugepages";
    DIR *d;
    struct dirent *de;
    char buf[RC_VAL_MAX];
    char have[256] = "";
    char *want, *fix;
    bool ok = false, gig = false;

    if (!h->have_memory) {
        rc_report(RC_WARN, "hugepages", "rerun with --memory SIZE",
                  "not checked: no --memory given");
        return;
    }
    want = rc_format_size(h->memory);
    d = rc_opendir(dir);
    if (!d) {
        rc_report(RC_WARN, "hugepages", "use a kernel with hugetlbfs",
                  "unknown: cannot read %s: %s", dir, strerror(errno));
        free(want);
        return;
    }
    while ((de = readdir(d))) {
        unsigned long long kb, count;
        char *end;
        size_t len;

        if (strncmp(de->d_name, "hugepages-", 10) != 0 ||
            !isdigit((unsigned char)de->d_name[10])) {
            continue;
        }
        errno = 0;
        kb = strtoull(de->d_name + 10, &end, 10);
        if (errno || strcmp(end, "kB") != 0 || kb == 0 ||
            kb > UINT64_MAX / 1024) {
            continue;
        }
        if (kb == 1024 * 1024) {
            gig = true;
        }
        if ((rc_readf(buf, sizeof(buf), "%s/%s/free_hugepages", dir,
                      de->d_name) < 0 &&
             rc_readf(buf, sizeof(buf), "%s/%s/nr_hugepages", dir,
                      de->d_name) < 0) ||
            !rc_parse_ulong(buf, &count)) {
            continue;
        }
        if (count >= (h->memory + kb * 1024 - 1) / (kb * 1024)) {
            ok = true;
        }
        len = strlen(have);
        snprintf(have + len, sizeof(have) - len, "%s%llukB: %llu free",
                 len ? ", " : "", kb, count);
    }
    closedir(d);
    if (gig && h->memory % (1ULL << 30) == 0) {
        unsigned long long n = h->memory >> 30;
        char *p = rc_strf("hugepagesz=1G hugepages=%llu", n);
        fix = rc_strf("boot with default_hugepagesz=1G %s, or echo %llu > "
                      "%s/hugepages-1048576kB/nr_hugepages", p, n, dir);
        host_boot(h, p);
        free(p);
    } else {
        unsigned long long n = (h->memory + (2ULL << 20) - 1) >> 21;
        char *p = rc_strf("hugepages=%llu", n);
        fix = rc_strf("echo %llu > %s/hugepages-2048kB/nr_hugepages (or boot "
                      "with %s)", n, dir, p);
        host_boot(h, p);
        free(p);
    }
    if (ok) {
        rc_report(RC_PASS, "hugepages", NULL, "enough free hugepages for "
                  "%s (%s)", want, have);
    } else {
        rc_report(RC_WARN, "hugepages", fix, "no hugepage size has %s free "
                  "(%s): guest memory faults in 4k pages", want,
                  have[0] ? have : "no hugepage pools");
    }
    free(fix);
    free(want);
}
