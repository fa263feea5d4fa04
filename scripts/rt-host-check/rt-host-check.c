/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-host-check: read a host's procfs, sysfs and kernel command line and
 * say, item by item, whether it follows the real-time host recipe for
 * qemu-rt guests, and how to fix what does not.  --apply changes the items
 * that can be changed at runtime and writes a script that undoes them.
 * See docs/rt-host-check.md.
 */
#define _GNU_SOURCE
#include "rtcheck-common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Above vCPU threads at SCHED_FIFO 1, as the tuned realtime-virtual-host
 * profile does, so that they are not starved by a busy vCPU. */
#define KSOFTIRQD_PRIO 2
#define RCUC_PRIO 4
/* cpuidle states with a longer exit latency (us) count as deep. */
#define CSTATE_MAX_LATENCY 2
/* IRQ numbers listed in a message. */
#define LIST_MAX 8

typedef struct Action {
    char *path;                 /* live path, without --root */
    char *value;
    char *old;                  /* the value to write back */
    char *text;                 /* what the file read, if not @old */
} Action;

typedef struct Thread {
    bool rcuc;
    unsigned cpu;
    long pid;
    long policy;                /* -1: unknown */
    long prio;
} Thread;

typedef struct Host {
    RcCtx c;
    bool have_memory;
    uint64_t memory;
    bool have_hk;
    RcCpuSet hk;                /* online CPUs that are not --cpus */
    char *hk_text;
    /* /proc scan */
    bool proc_ok;
    bool irqbalance;
    Thread *threads;
    size_t nthreads;
    /* --apply */
    Action *actions;
    size_t nactions;
    char **boot;
    size_t nboot;
} Host;

static void host_action(Host *h, const char *path, const char *value,
                        const char *old, const char *text)
{
    Action *bigger = rc_xmalloc((h->nactions + 1) * sizeof(*bigger));

    if (h->nactions) {
        memcpy(bigger, h->actions, h->nactions * sizeof(*bigger));
    }
    free(h->actions);
    h->actions = bigger;
    h->actions[h->nactions].path = rc_strdup(path);
    h->actions[h->nactions].value = rc_strdup(value);
    h->actions[h->nactions].old = rc_strdup(old);
    h->actions[h->nactions].text = text && strcmp(text, old) ?
                                   rc_strdup(text) : NULL;
    h->nactions++;
}

static void host_boot(Host *h, const char *param)
{
    char **bigger;
    size_t i;

    for (i = 0; i < h->nboot; i++) {
        if (strcmp(h->boot[i], param) == 0) {
            return;
        }
    }
    bigger = rc_xmalloc((h->nboot + 1) * sizeof(*bigger));
    if (h->nboot) {
        memcpy(bigger, h->boot, h->nboot * sizeof(*bigger));
    }
    free(h->boot);
    h->boot = bigger;
    h->boot[h->nboot++] = rc_strdup(param);
}

static void host_reset(Host *h)
{
    size_t i;

    for (i = 0; i < h->nactions; i++) {
        free(h->actions[i].path);
        free(h->actions[i].value);
        free(h->actions[i].old);
        free(h->actions[i].text);
    }
    free(h->actions);
    h->actions = NULL;
    h->nactions = 0;
    for (i = 0; i < h->nboot; i++) {
        free(h->boot[i]);
    }
    free(h->boot);
    h->boot = NULL;
    h->nboot = 0;
    free(h->threads);
    h->threads = NULL;
    h->nthreads = 0;
    free(h->hk_text);
    h->hk_text = NULL;
    rc_ctx_free(&h->c);
    rc_results_reset();
}

static bool is_number(const char *s)
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

/*
 * Fields 40 (rt_priority) and 41 (policy) of /proc/PID/stat.  The comm
 * field may hold spaces and parentheses, so count from the last ')'.
 */
static void parse_stat(const char *stat, Thread *t)
{
    const char *p = strrchr(stat, ')');
    int field = 2;
    unsigned long long v;
    char tok[32];

    t->policy = -1;
    t->prio = -1;
    if (!p) {
        return;
    }
    p++;
    while (*p) {
        size_t n = 0;
        while (*p == ' ') {
            p++;
        }
        if (!*p) {
            break;
        }
        field++;
        while (*p && *p != ' ') {
            if (n < sizeof(tok) - 1) {
                tok[n++] = *p;
            }
            p++;
        }
        tok[n] = '\0';
        if ((field == 40 || field == 41) && rc_parse_ulong(tok, &v) &&
            v < 1000) {
            if (field == 40) {
                t->prio = (long)v;
            } else {
                t->policy = (long)v;
                return;
            }
        }
    }
    t->policy = -1;
}

static void scan_proc(Host *h)
{
    DIR *d = rc_opendir("/proc");
    struct dirent *de;
    char comm[256];
    char *stat;

    h->proc_ok = d != NULL;
    if (!d) {
        return;
    }
    stat = rc_xmalloc(RC_VAL_MAX);
    while ((de = readdir(d))) {
        const char *slash;
        unsigned long long cpu;
        Thread t = { 0 }, *bigger;

        if (!is_number(de->d_name) || strlen(de->d_name) > 12) {
            continue;
        }
        if (rc_readf(comm, sizeof(comm), "/proc/%s/comm", de->d_name) < 0) {
            continue;
        }
        if (strcmp(comm, "irqbalance") == 0) {
            h->irqbalance = true;
            continue;
        }
        if (strncmp(comm, "ksoftirqd/", 10) == 0) {
            slash = comm + 10;
        } else if (strncmp(comm, "rcuc/", 5) == 0) {
            slash = comm + 5;
            t.rcuc = true;
        } else {
            continue;
        }
        if (!rc_parse_ulong(slash, &cpu) || cpu >= RC_MAX_CPUS ||
            !rc_cpus_test(&h->c.cpus, (unsigned)cpu)) {
            continue;
        }
        t.cpu = (unsigned)cpu;
        t.pid = atol(de->d_name);
        if (rc_readf(stat, RC_VAL_MAX, "/proc/%s/stat", de->d_name) < 0) {
            stat[0] = '\0';
        }
        parse_stat(stat, &t);
        bigger = rc_xmalloc((h->nthreads + 1) * sizeof(t));
        if (h->nthreads) {
            memcpy(bigger, h->threads, h->nthreads * sizeof(t));
        }
        free(h->threads);
        h->threads = bigger;
        h->threads[h->nthreads++] = t;
    }
    free(stat);
    closedir(d);
}

/* The checks, in the order of docs/rt-host-check.md. */

static void check_cpus(Host *h)
{
    char *online;

    if (!h->c.have_cpus) {
        rc_report(RC_WARN, "cpus", "rerun with --cpus LIST, the CPUs of the "
                  "vCPU threads", "no --cpus given: per-CPU items not checked");
        return;
    }
    if (!h->c.have_online) {
        rc_report(RC_WARN, "cpus", "check that /sys is mounted",
                  "unknown: cannot read a CPU list from "
                  "/sys/devices/system/cpu/online");
        return;
    }
    online = rc_cpulist_format(&h->c.online);
    if (!rc_cpus_subset(&h->c.cpus, &h->c.online)) {
        char *fix = rc_strf("pick --cpus from the online CPUs %s", online);
        rc_report(RC_FAIL, "cpus", fix, "CPUs %s are not all online "
                  "(online: %s)", h->c.cpus_text, online);
        free(fix);
    } else if (!h->have_hk) {
        rc_report(RC_FAIL, "cpus", "leave at least one CPU (e.g. CPU 0) to "
                  "the host", "no housekeeping CPU is left outside %s",
                  h->c.cpus_text);
    } else {
        rc_report(RC_PASS, "cpus", NULL, "vCPU CPUs %s, housekeeping CPUs %s",
                  h->c.cpus_text, h->hk_text);
    }
    free(online);
}

static void check_preempt_rt(Host *h)
{
    char buf[RC_VAL_MAX];
    char *version;
    struct utsname u;
    const char *fix = "boot a PREEMPT_RT kernel (Debian: apt install "
                      "linux-image-rt-amd64)";

    (void)h;
    if (rc_read("/sys/kernel/realtime", buf, sizeof(buf)) >= 0 &&
        strcmp(buf, "1") == 0) {
        rc_report(RC_PASS, "preempt_rt", NULL,
                  "PREEMPT_RT kernel (/sys/kernel/realtime is 1)");
        return;
    }
    if (!rc_have_root() && uname(&u) == 0 &&
        strstr(u.version, "PREEMPT_RT")) {
        rc_report(RC_PASS, "preempt_rt", NULL,
                  "PREEMPT_RT kernel (uname -v: %s)", u.version);
        return;
    }
    version = rc_read_big("/proc/version");
    if (!version) {
        rc_report(RC_WARN, "preempt_rt", fix, "unknown: cannot read "
                  "/proc/version: %s", strerror(errno));
    } else if (strstr(version, "PREEMPT_RT")) {
        rc_report(RC_PASS, "preempt_rt", NULL,
                  "PREEMPT_RT kernel (/proc/version)");
    } else {
        char *clean = rc_clean(version);
        rc_report(RC_FAIL, "preempt_rt", fix, "not a PREEMPT_RT kernel "
                  "(%s); kernel code paths are not preemptible", clean);
        free(clean);
    }
    free(version);
}

static void check_isolation(Host *h)
{
    rc_check_isolation(&h->c, "isolcpus", "isolcpus",
                       "/sys/devices/system/cpu/isolated", RC_FAIL);
    rc_check_isolation(&h->c, "nohz_full", "nohz_full",
                       "/sys/devices/system/cpu/nohz_full", RC_FAIL);
    if (h->c.have_cpus) {
        char *p = rc_strf("isolcpus=managed_irq,domain,%s", h->c.cpus_text);
        host_boot(h, p);
        free(p);
        p = rc_strf("nohz_full=%s", h->c.cpus_text);
        host_boot(h, p);
        free(p);
        p = rc_strf("rcu_nocbs=%s", h->c.cpus_text);
        host_boot(h, p);
        free(p);
    }
}

/* rcu_nocbs: nohz_full= implies it for the same CPUs. */
static void check_rcu_nocbs(Host *h)
{
    char *value, *nohz;
    RcCpuSet set;
    char err[160];

    if (!h->c.have_cpus) {
        rc_report(RC_WARN, "rcu_nocbs", "rerun with --cpus LIST",
                  "not checked: no --cpus given");
        return;
    }
    if (!h->c.cmdline.text) {
        rc_report(RC_WARN, "rcu_nocbs", "check that /proc is mounted",
                  "unknown: cannot read /proc/cmdline: %s",
                  strerror(h->c.cmdline.err));
        return;
    }
    value = rc_cmdline_get(&h->c.cmdline, "rcu_nocbs");
    nohz = rc_cmdline_get(&h->c.cmdline, "nohz_full");
    if (value && (strcmp(value, "all") == 0 ||
                  (rc_cpulist_parse(value, &set, false, err, sizeof(err)) &&
                   rc_cpus_subset(&h->c.cpus, &set)))) {
        rc_report(RC_PASS, "rcu_nocbs", NULL, "rcu_nocbs= covers %s",
                  h->c.cpus_text);
    } else if (nohz &&
               rc_cpulist_parse(nohz, &set, false, err, sizeof(err)) &&
               rc_cpus_subset(&h->c.cpus, &set)) {
        rc_report(RC_PASS, "rcu_nocbs", NULL, "implied by nohz_full= for %s",
                  h->c.cpus_text);
    } else {
        char *fix = rc_strf("add rcu_nocbs=%s to the kernel command line",
                            h->c.cpus_text);
        rc_report(RC_WARN, "rcu_nocbs", fix, "RCU callbacks may run on "
                  "CPUs %s (no rcu_nocbs= or nohz_full= covers them)",
                  h->c.cpus_text);
        free(fix);
    }
    free(value);
    free(nohz);
}

static void check_irq_affinity(Host *h)
{
    DIR *d;
    struct dirent *de;
    char buf[RC_VAL_MAX];
    char err[160];
    char list[LIST_MAX * 12 + 8] = "";
    unsigned total = 0, bad = 0, unknown = 0;
    char *fix;

    if (!h->c.have_cpus) {
        rc_report(RC_WARN, "irq_affinity", "rerun with --cpus LIST",
                  "not checked: no --cpus given");
        return;
    }
    d = rc_opendir("/proc/irq");
    if (!d) {
        rc_report(RC_WARN, "irq_affinity", "check that /proc is mounted",
                  "unknown: cannot read /proc/irq: %s", strerror(errno));
        return;
    }
    while ((de = readdir(d))) {
        RcCpuSet set;

        if (!is_number(de->d_name) || strlen(de->d_name) > 12) {
            continue;
        }
        total++;
        if (rc_readf(buf, sizeof(buf), "/proc/irq/%s/smp_affinity_list",
                     de->d_name) < 0 ||
            !rc_cpulist_parse(buf, &set, false, err, sizeof(err))) {
            unknown++;
            continue;
        }
        if (!rc_cpus_intersects(&set, &h->c.cpus)) {
            continue;
        }
        /* A managed IRQ kept off isolated CPUs by isolcpus=managed_irq. */
        if (rc_readf(buf, sizeof(buf), "/proc/irq/%s/effective_affinity_list",
                     de->d_name) >= 0 && buf[0] &&
            rc_cpulist_parse(buf, &set, false, err, sizeof(err)) &&
            !rc_cpus_intersects(&set, &h->c.cpus)) {
            continue;
        }
        if (bad < LIST_MAX) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof(list) - len, "%s%.12s",
                     len ? " " : "", de->d_name);
        } else if (bad == LIST_MAX) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof(list) - len, " ...");
        }
        bad++;
        if (h->have_hk) {
            char *path = rc_strf("/proc/irq/%s/smp_affinity_list",
                                 de->d_name);
            rc_readf(buf, sizeof(buf), "%s", path);
            host_action(h, path, h->hk_text, buf, NULL);
            free(path);
        }
    }
    closedir(d);
    fix = rc_strf("rt-host-check --apply --yes --cpus %s, or echo %s > "
                  "/proc/irq/N/smp_affinity_list for each",
                  h->c.cpus_text, h->have_hk ? h->hk_text : "HOUSEKEEPING");
    if (bad) {
        rc_report(RC_FAIL, "irq_affinity", fix, "%u of %u IRQs may run on "
                  "CPUs %s (IRQ %s)", bad, total, h->c.cpus_text, list);
    } else if (total == 0 || unknown) {
        rc_report(RC_WARN, "irq_affinity", "check /proc/irq/*/"
                  "smp_affinity_list by hand", "unknown: %u of %u IRQs "
                  "without a readable affinity", unknown, total);
    } else {
        rc_report(RC_PASS, "irq_affinity", NULL, "none of %u IRQs runs on "
                  "CPUs %s", total, h->c.cpus_text);
    }
    free(fix);
}

static void check_irq_default(Host *h)
{
    char buf[RC_VAL_MAX];
    char *fix, *mask = NULL, *clean;
    RcCpuSet set;

    if (!h->c.have_cpus) {
        rc_report(RC_WARN, "irq_default_affinity", "rerun with --cpus LIST",
                  "not checked: no --cpus given");
        return;
    }
    if (h->have_hk) {
        mask = rc_cpumask_format(&h->hk);
        fix = rc_strf("echo %s > /proc/irq/default_smp_affinity; add "
                      "irqaffinity=%s to the kernel command line", mask,
                      h->hk_text);
    } else {
        fix = rc_strf("add irqaffinity=HOUSEKEEPING-CPUS to the kernel "
                      "command line");
    }
    if (rc_read("/proc/irq/default_smp_affinity", buf, sizeof(buf)) < 0) {
        rc_report(RC_WARN, "irq_default_affinity", fix, "unknown: cannot "
                  "read /proc/irq/default_smp_affinity: %s", strerror(errno));
    } else if (!rc_cpumask_parse(buf, &set)) {
        clean = rc_clean(buf);
        rc_report(RC_WARN, "irq_default_affinity", fix, "unknown: "
                  "/proc/irq/default_smp_affinity holds '%s', not a CPU mask",
                  clean);
        free(clean);
    } else if (rc_cpus_intersects(&set, &h->c.cpus)) {
        clean = rc_clean(buf);
        rc_report(RC_WARN, "irq_default_affinity", fix, "new IRQs may land "
                  "on CPUs %s (default_smp_affinity %s)", h->c.cpus_text,
                  clean);
        free(clean);
        if (mask) {
            char *p = rc_strf("irqaffinity=%s", h->hk_text);
            host_action(h, "/proc/irq/default_smp_affinity", mask, buf,
                        NULL);
            host_boot(h, p);
            free(p);
        }
    } else {
        rc_report(RC_PASS, "irq_default_affinity", NULL, "new IRQs avoid "
                  "CPUs %s", h->c.cpus_text);
    }
    free(mask);
    free(fix);
}

static const char *policy_name(long policy)
{
    static const char *const names[] = {
        "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO",
        "SCHED_IDLE", "SCHED_DEADLINE",
    };

    return policy >= 0 && policy < 7 ? names[policy] : "policy";
}

static void check_kthreads(Host *h, bool rcuc)
{
    const char *id = rcuc ? "rcuc" : "ksoftirqd";
    const char *name = rcuc ? "rcuc" : "ksoftirqd";
    long want = rcuc ? RCUC_PRIO : KSOFTIRQD_PRIO;
    char *msg = rc_strdup(""), *fix = rc_strdup("");
    unsigned cpu, found = 0, bad = 0, missing = 0;

    if (!h->c.have_cpus) {
        rc_report(RC_WARN, id, "rerun with --cpus LIST",
                  "not checked: no --cpus given");
        free(msg);
        free(fix);
        return;
    }
    if (!h->proc_ok) {
        rc_report(RC_WARN, id, "check that /proc is mounted",
                  "unknown: cannot read /proc");
        free(msg);
        free(fix);
        return;
    }
    for (cpu = 0; cpu < RC_MAX_CPUS; cpu++) {
        bool seen = false;
        size_t i;

        if (!rc_cpus_test(&h->c.cpus, cpu)) {
            continue;
        }
        for (i = 0; i < h->nthreads; i++) {
            Thread *t = &h->threads[i];
            char *m, *f;

            if (t->rcuc != rcuc || t->cpu != cpu) {
                continue;
            }
            seen = true;
            found++;
            if ((t->policy == 1 || t->policy == 2) && t->prio >= want) {
                continue;
            }
            bad++;
            if (t->policy < 0) {
                m = rc_strf("%s%s%s/%u (pid %ld): unreadable stat", msg,
                            *msg ? "; " : "", name, cpu, t->pid);
            } else {
                m = rc_strf("%s%s%s/%u (pid %ld) is %s %ld", msg,
                            *msg ? "; " : "", name, cpu, t->pid,
                            policy_name(t->policy), t->prio);
            }
            f = rc_strf("%s%schrt -f -p %ld %ld", fix, *fix ? "; " : "",
                        want, t->pid);
            free(msg);
            free(fix);
            msg = m;
            fix = f;
        }
        if (!seen) {
            missing++;
        }
    }
    if (bad) {
        rc_report(RC_WARN, id, fix, "%s; want SCHED_FIFO >= %ld so a busy "
                  "vCPU thread (SCHED_FIFO 1) cannot starve it", msg, want);
    } else if (missing && (!rcuc || found)) {
        rc_report(RC_WARN, id, "check ps -eLo comm,policy,rtprio by hand",
                  "unknown: no %s thread found for %u of the CPUs %s", name,
                  missing, h->c.cpus_text);
    } else if (!found) {
        rc_report(RC_PASS, id, NULL, "no rcuc threads on CPUs %s (RCU "
                  "callbacks do not run in rcuc here)", h->c.cpus_text);
    } else {
        rc_report(RC_PASS, id, NULL, "%s threads of CPUs %s are SCHED_FIFO "
                  ">= %ld", name, h->c.cpus_text, want);
    }
    free(msg);
    free(fix);
}

static void check_sysctls(Host *h)
{
    static const struct {
        const char *id, *path, *sysctl, *want, *boot;
        RcStatus bad;
        const char *why;
    } items[] = {
        { "sched_rt_runtime", "/proc/sys/kernel/sched_rt_runtime_us",
          "kernel.sched_rt_runtime_us", "-1", NULL, RC_FAIL,
          "RT tasks are throttled once they use that much of each period" },
        { "watchdog", "/proc/sys/kernel/watchdog", "kernel.watchdog", "0",
          "nowatchdog", RC_WARN,
          "the soft lockup watchdog runs a timer on every CPU" },
        { "nmi_watchdog", "/proc/sys/kernel/nmi_watchdog",
          "kernel.nmi_watchdog", "0", "nmi_watchdog=0", RC_WARN,
          "the NMI watchdog interrupts every CPU periodically" },
        { "timer_migration", "/proc/sys/kernel/timer_migration",
          "kernel.timer_migration", "0", NULL, RC_WARN,
          "timers are moved between CPUs, onto the vCPU CPUs too" },
    };
    size_t i;

    for (i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        char *old = rc_check_sysctl(items[i].id, items[i].path,
                                    items[i].sysctl, items[i].want,
                                    items[i].bad, items[i].why);
        if (old) {
            host_action(h, items[i].path, items[i].want, old, NULL);
            if (items[i].boot) {
                host_boot(h, items[i].boot);
            }
            free(old);
        }
    }
}

static void check_ksm(Host *h)
{
    const char *path = "/sys/kernel/mm/ksm/run";
    const char *fix = "echo 0 > /sys/kernel/mm/ksm/run";
    char buf[RC_VAL_MAX];
    char *clean;

    if (rc_read(path, buf, sizeof(buf)) < 0) {
        if (errno == ENOENT && rc_exists("/sys/kernel/mm")) {
            rc_report(RC_PASS, "ksm", NULL, "KSM is not in this kernel");
        } else {
            rc_report(RC_WARN, "ksm", fix, "unknown: cannot read %s: %s",
                      path, strerror(errno));
        }
    } else if (strcmp(buf, "0") == 0 || strcmp(buf, "2") == 0) {
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

static void check_swap(Host *h)
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

static void check_thp(Host *h)
{
    const char *path = "/sys/kernel/mm/transparent_hugepage/enabled";
    const char *fix = "echo never > /sys/kernel/mm/transparent_hugepage/"
                      "enabled (boot: transparent_hugepage=never)";
    char buf[RC_VAL_MAX], mode[32];
    char *clean;

    if (rc_read(path, buf, sizeof(buf)) < 0) {
        if (errno == ENOENT && rc_exists("/sys/kernel/mm")) {
            rc_report(RC_PASS, "thp", NULL, "THP is not in this kernel");
        } else {
            rc_report(RC_WARN, "thp", fix, "unknown: cannot read %s: %s",
                      path, strerror(errno));
        }
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

static void check_cstates(Host *h)
{
    char *poll = rc_cmdline_get(&h->c.cmdline, "idle");
    char *pmax = rc_cmdline_get(&h->c.cmdline, "processor.max_cstate");
    char *imax = rc_cmdline_get(&h->c.cmdline, "intel_idle.max_cstate");
    char *pstate = rc_cmdline_get(&h->c.cmdline, "intel_pstate");
    char msg[512] = "", fix[512] = "";
    char buf[RC_VAL_MAX], name[64];
    unsigned cpu, deep = 0, unknown = 0, dirs = 0, cpu_dirs = 0;
    const char *boot = "add intel_idle.max_cstate=1 processor.max_cstate=1 "
                       "(or idle=poll) to the kernel command line";

    if (poll && strcmp(poll, "poll") == 0) {
        rc_report(RC_PASS, "cstates", NULL, "idle=poll: the CPUs never "
                  "enter a C-state");
        goto out;
    }
    if (!h->c.have_cpus) {
        rc_report(RC_WARN, "cstates", "rerun with --cpus LIST",
                  "not checked: no --cpus given");
        goto out;
    }
    for (cpu = 0; cpu < RC_MAX_CPUS; cpu++) {
        unsigned state;
        char *path;

        if (!rc_cpus_test(&h->c.cpus, cpu)) {
            continue;
        }
        path = rc_strf("/sys/devices/system/cpu/cpu%u", cpu);
        cpu_dirs += rc_exists(path);
        free(path);
        for (state = 0; state < 16; state++) {
            unsigned long long lat, dis;

            if (rc_readf(buf, sizeof(buf),
                         "/sys/devices/system/cpu/cpu%u/cpuidle/state%u/"
                         "latency", cpu, state) < 0) {
                break;
            }
            dirs++;
            if (!rc_parse_ulong(buf, &lat)) {
                unknown++;
                continue;
            }
            if (rc_readf(buf, sizeof(buf),
                         "/sys/devices/system/cpu/cpu%u/cpuidle/state%u/"
                         "disable", cpu, state) < 0 ||
                !rc_parse_ulong(buf, &dis)) {
                unknown++;
                continue;
            }
            if (dis || lat <= CSTATE_MAX_LATENCY) {
                continue;
            }
            if (rc_readf(name, sizeof(name),
                         "/sys/devices/system/cpu/cpu%u/cpuidle/state%u/"
                         "name", cpu, state) < 0) {
                snprintf(name, sizeof(name), "state%u", state);
            }
            if (deep++ == 0) {
                char *clean = rc_clean(name);
                snprintf(msg, sizeof(msg), "CPU %u may enter %s (exit "
                         "latency %llu us)", cpu, clean, lat);
                snprintf(fix, sizeof(fix), "%s; at runtime: echo 1 > "
                         "/sys/devices/system/cpu/cpu%u/cpuidle/state%u/"
                         "disable, for each deep state", boot, cpu, state);
                free(clean);
            }
        }
    }
    if (deep) {
        rc_report(RC_WARN, "cstates", fix, "%s; %u deep idle state(s) "
                  "enabled on CPUs %s", msg, deep, h->c.cpus_text);
        host_boot(h, "processor.max_cstate=1");
        host_boot(h, "intel_idle.max_cstate=1");
    } else if (unknown) {
        rc_report(RC_WARN, "cstates", boot, "unknown: %u cpuidle state(s) "
                  "with unreadable latency or disable", unknown);
    } else if (!cpu_dirs) {
        rc_report(RC_WARN, "cstates", "check that /sys is mounted",
                  "unknown: no /sys/devices/system/cpu/cpuN for CPUs %s",
                  h->c.cpus_text);
    } else {
        rc_report(RC_PASS, "cstates", NULL, "%s%s%s%s%s%s%s",
                  dirs ? "no deep idle state enabled" :
                         "no cpuidle states (no cpuidle driver)",
                  pmax ? "; processor.max_cstate=" : "", pmax ? pmax : "",
                  imax ? "; intel_idle.max_cstate=" : "", imax ? imax : "",
                  pstate ? "; intel_pstate=" : "", pstate ? pstate : "");
    }
out:
    free(poll);
    free(pmax);
    free(imax);
    free(pstate);
}

static void check_hugepages(Host *h)
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

static void check_clocksource(Host *h)
{
    const char *path = "/sys/devices/system/clocksource/clocksource0/"
                       "current_clocksource";
    char buf[RC_VAL_MAX], avail[RC_VAL_MAX];
    char *clean, *fix;
    bool tsc_avail;

    if (rc_read(path, buf, sizeof(buf)) < 0) {
        rc_report(RC_WARN, "clocksource", "check that /sys is mounted",
                  "unknown: cannot read %s: %s", path, strerror(errno));
    } else if (strcmp(buf, "tsc") == 0) {
        rc_report(RC_PASS, "clocksource", NULL, "clocksource is tsc");
    } else if (!buf[0]) {
        rc_report(RC_WARN, "clocksource", "check that /sys is mounted",
                  "unknown: %s is empty", path);
    } else {
        tsc_avail = rc_read("/sys/devices/system/clocksource/clocksource0/"
                            "available_clocksource", avail,
                            sizeof(avail)) >= 0 &&
                    strstr(avail, "tsc") != NULL;
        fix = tsc_avail ? rc_strf("echo tsc > %s, and boot with "
                                  "tsc=reliable", path)
                        : rc_strf("the TSC was rejected: check dmesg for "
                                  "'TSC unstable' and the BIOS settings");
        clean = rc_clean(buf);
        rc_report(RC_FAIL, "clocksource", fix, "clocksource is %s, not tsc: "
                  "every clock read is slow", clean);
        free(clean);
        free(fix);
    }
    if (!h->c.cmdline.text) {
        rc_report(RC_WARN, "tsc_reliable", "check that /proc is mounted",
                  "unknown: cannot read /proc/cmdline: %s",
                  strerror(h->c.cmdline.err));
    } else if (rc_cmdline_has(&h->c.cmdline, "tsc", "reliable")) {
        rc_report(RC_PASS, "tsc_reliable", NULL, "tsc=reliable is set");
    } else {
        rc_report(RC_WARN, "tsc_reliable", "add tsc=reliable to the kernel "
                  "command line", "no tsc=reliable: the clocksource "
                  "watchdog checks the TSC twice a second and may drop it");
        host_boot(h, "tsc=reliable");
    }
}

static void check_smt(Host *h)
{
    char msg[256] = "", fix[256] = "";
    unsigned cpu, shared = 0, unknown = 0;

    if (!h->c.have_cpus) {
        rc_report(RC_WARN, "smt", "rerun with --cpus LIST",
                  "not checked: no --cpus given");
        return;
    }
    for (cpu = 0; cpu < RC_MAX_CPUS; cpu++) {
        RcCpuSet sib, other;
        char *path, *list;

        if (!rc_cpus_test(&h->c.cpus, cpu)) {
            continue;
        }
        path = rc_strf("/sys/devices/system/cpu/cpu%u/topology/"
                       "thread_siblings_list", cpu);
        if (!rc_read_cpulist(path, &sib, NULL)) {
            unknown++;
            free(path);
            continue;
        }
        free(path);
        rc_cpus_andnot(&other, &sib, &h->c.cpus);
        if (rc_cpus_empty(&other)) {
            continue;
        }
        if (shared++ == 0) {
            list = rc_cpulist_format(&other);
            snprintf(msg, sizeof(msg), "CPU %u shares its core with %s, "
                     "which is not a vCPU CPU", cpu, list);
            snprintf(fix, sizeof(fix), "give the guest whole cores (add %s "
                     "to --cpus and the isolation lists), or keep %s idle "
                     "or offline (nosmt)", list, list);
            free(list);
        }
    }
    if (shared) {
        rc_report(RC_WARN, "smt", fix, "%s; host work there slows the "
                  "vCPU", msg);
    } else if (unknown) {
        rc_report(RC_WARN, "smt", "check lscpu -e by hand", "unknown: "
                  "thread_siblings_list unreadable for %u CPU(s)", unknown);
    } else {
        rc_report(RC_PASS, "smt", NULL, "no SMT sibling of CPUs %s is "
                  "outside them", h->c.cpus_text);
    }
}

/* A KVM module parameter; NULL and an item reported if unreadable. */
static char *kvm_param(const char *id, const char *path, const char *fix)
{
    char buf[RC_VAL_MAX];
    int err;

    if (rc_read(path, buf, sizeof(buf)) < 0) {
        err = errno;
        if (!rc_exists("/sys/module/kvm")) {
            rc_report(RC_WARN, id, "modprobe kvm_intel (or kvm_amd)",
                      "unknown: the kvm module is not loaded");
        } else {
            rc_report(RC_WARN, id, fix, "unknown: cannot read %s: %s", path,
                      strerror(err));
        }
        return NULL;
    }
    return rc_strdup(buf);
}

static void check_kvm(Host *h)
{
    const char *p = "/sys/module/kvm/parameters/";
    char *v, *path, *clean;
    unsigned long long n;
    const char *fix;

    path = rc_strf("%snx_huge_pages", p);
    fix = "add kvm.nx_huge_pages=off to the kernel command line if "
          "/sys/devices/system/cpu/vulnerabilities/itlb_multihit says "
          "'Not affected' (or the guest is trusted)";
    v = kvm_param("kvm_nx_huge_pages", path, fix);
    if (v) {
        clean = rc_clean(v);
        if (!strcmp(v, "N") || !strcmp(v, "never") || !strcmp(v, "off")) {
            rc_report(RC_PASS, "kvm_nx_huge_pages", NULL,
                      "kvm.nx_huge_pages=%s", v);
        } else if (!strcmp(v, "Y") || !strcmp(v, "force")) {
            rc_report(RC_WARN, "kvm_nx_huge_pages", fix,
                      "kvm.nx_huge_pages=%s: executable guest huge pages "
                      "are split and a recovery thread wakes up "
                      "periodically", v);
        } else {
            rc_report(RC_WARN, "kvm_nx_huge_pages", fix,
                      "unknown: kvm.nx_huge_pages is '%s'", clean);
        }
        free(clean);
        free(v);
    }
    free(path);

    path = rc_strf("%shalt_poll_ns", p);
    fix = "echo 200000 > /sys/module/kvm/parameters/halt_poll_ns (or "
          "boot the guest with idle=poll)";
    v = kvm_param("kvm_halt_poll_ns", path, fix);
    if (v) {
        if (!rc_parse_ulong(v, &n)) {
            clean = rc_clean(v);
            rc_report(RC_WARN, "kvm_halt_poll_ns", fix,
                      "unknown: kvm.halt_poll_ns is '%s'", clean);
            free(clean);
        } else if (n == 0) {
            rc_report(RC_WARN, "kvm_halt_poll_ns", fix, "kvm.halt_poll_ns=0: "
                      "a halted vCPU sleeps at once, waking it costs a host "
                      "reschedule");
        } else {
            rc_report(RC_PASS, "kvm_halt_poll_ns", NULL,
                      "kvm.halt_poll_ns=%llu", n);
        }
        free(v);
    }
    free(path);

    path = rc_strf("%skvmclock_periodic_sync", p);
    fix = "add kvm.kvmclock_periodic_sync=N to the kernel command line (or "
          "options kvm kvmclock_periodic_sync=N in /etc/modprobe.d)";
    v = kvm_param("kvm_periodic_sync", path, fix);
    if (v) {
        if (!strcmp(v, "N")) {
            rc_report(RC_PASS, "kvm_periodic_sync", NULL,
                      "kvm.kvmclock_periodic_sync=N");
        } else if (!strcmp(v, "Y")) {
            rc_report(RC_WARN, "kvm_periodic_sync", fix,
                      "kvm.kvmclock_periodic_sync=Y: KVM updates every "
                      "vCPU's kvmclock from a work item every 300 s");
            host_boot(h, "kvm.kvmclock_periodic_sync=N");
        } else {
            clean = rc_clean(v);
            rc_report(RC_WARN, "kvm_periodic_sync", fix,
                      "unknown: kvm.kvmclock_periodic_sync is '%s'", clean);
            free(clean);
        }
        free(v);
    }
    free(path);

    if (!rc_exists("/sys/module/kvm_intel") &&
        rc_exists("/sys/module/kvm_amd")) {
        path = rc_strdup("/sys/module/kvm_amd/parameters/pause_filter_count");
        fix = "add kvm_amd.pause_filter_count=0 to the kernel command line";
    } else {
        path = rc_strdup("/sys/module/kvm_intel/parameters/ple_gap");
        fix = "add kvm_intel.ple_gap=0 to the kernel command line (or "
              "options kvm_intel ple_gap=0 in /etc/modprobe.d)";
    }
    v = kvm_param("kvm_ple_gap", path, fix);
    if (v) {
        if (!rc_parse_ulong(v, &n)) {
            clean = rc_clean(v);
            rc_report(RC_WARN, "kvm_ple_gap", fix, "unknown: %s is '%s'",
                      path, clean);
            free(clean);
        } else if (n) {
            rc_report(RC_WARN, "kvm_ple_gap", fix, "pause-loop exiting is on "
                      "(%llu): a spinning vCPU exits to the host", n);
            host_boot(h, strstr(path, "kvm_amd") ?
                      "kvm_amd.pause_filter_count=0" : "kvm_intel.ple_gap=0");
        } else {
            rc_report(RC_PASS, "kvm_ple_gap", NULL, "pause-loop exiting is "
                      "off");
        }
        free(v);
    }
    free(path);
}

/* IRQBALANCE_BANNED_CPULIST= or IRQBALANCE_BANNED_CPUS= of a config. */
static bool irqbalance_banned(RcCpuSet *set, char **source)
{
    static const char *const files[] = { "/etc/default/irqbalance",
                                         "/etc/sysconfig/irqbalance" };
    static const char *const keys[] = { "IRQBALANCE_BANNED_CPULIST=",
                                        "IRQBALANCE_BANNED_CPUS=" };
    size_t f, k;

    for (f = 0; f < 2; f++) {
        char *text = rc_read_big(files[f]);
        char *line, *save = NULL;
        bool found = false;

        if (!text) {
            continue;
        }
        for (line = strtok_r(text, "\n", &save); line && !found;
             line = strtok_r(NULL, "\n", &save)) {
            line += strspn(line, " \t");
            for (k = 0; k < 2; k++) {
                char *v, err[160];
                size_t len;

                if (strncmp(line, keys[k], strlen(keys[k])) != 0) {
                    continue;
                }
                v = line + strlen(keys[k]);
                len = strcspn(v, " \t#");
                v[len] = '\0';
                if (len >= 2 && (v[0] == '"' || v[0] == '\'') &&
                    v[len - 1] == v[0]) {
                    v[len - 1] = '\0';
                    v++;
                }
                found = k == 0 ? rc_cpulist_parse(v, set, true, err,
                                                  sizeof(err))
                               : rc_cpumask_parse(v, set);
                if (found) {
                    *source = rc_strf("%.*s in %s",
                                      (int)strlen(keys[k]) - 1, keys[k],
                                      files[f]);
                }
                break;
            }
        }
        free(text);
        if (found) {
            return true;
        }
    }
    return false;
}

static void check_irqbalance(Host *h)
{
    RcCpuSet banned, iso, nohz;
    char *source = NULL, *fix;

    if (!h->proc_ok) {
        rc_report(RC_WARN, "irqbalance", "check that /proc is mounted",
                  "unknown: cannot read /proc");
        return;
    }
    if (!h->irqbalance) {
        rc_report(RC_PASS, "irqbalance", NULL, "irqbalance is not running");
        return;
    }
    if (!h->c.have_cpus) {
        rc_report(RC_WARN, "irqbalance", "rerun with --cpus LIST",
                  "not checked: no --cpus given");
        return;
    }
    fix = rc_strf("set IRQBALANCE_BANNED_CPULIST=%s in "
                  "/etc/default/irqbalance and systemctl restart irqbalance "
                  "(or systemctl disable --now irqbalance)", h->c.cpus_text);
    if (irqbalance_banned(&banned, &source)) {
        if (rc_cpus_subset(&h->c.cpus, &banned)) {
            rc_report(RC_PASS, "irqbalance", NULL, "irqbalance bans CPUs %s "
                      "(%s)", h->c.cpus_text, source);
        } else {
            rc_report(RC_FAIL, "irqbalance", fix, "irqbalance is running "
                      "and %s does not ban all of CPUs %s", source,
                      h->c.cpus_text);
        }
    } else {
        /* Without a banned list irqbalance avoids isolated and nohz_full
         * CPUs by itself. */
        rc_cpus_clear(&iso);
        rc_cpus_clear(&nohz);
        rc_read_cpulist("/sys/devices/system/cpu/isolated", &iso, NULL);
        rc_read_cpulist("/sys/devices/system/cpu/nohz_full", &nohz, NULL);
        rc_cpus_or(&banned, &iso, &nohz);
        if (rc_cpus_subset(&h->c.cpus, &banned)) {
            rc_report(RC_PASS, "irqbalance", NULL, "irqbalance leaves the "
                      "isolated and nohz_full CPUs %s alone", h->c.cpus_text);
        } else {
            rc_report(RC_FAIL, "irqbalance", fix, "irqbalance is running "
                      "and may move IRQs onto CPUs %s", h->c.cpus_text);
        }
    }
    free(source);
    free(fix);
}

static void check_workqueue(Host *h)
{
    const char *path = "/sys/devices/virtual/workqueue/cpumask";
    char buf[RC_VAL_MAX];
    char *mask = NULL, *fix, *clean;
    RcCpuSet set;

    if (!h->c.have_cpus) {
        rc_report(RC_WARN, "workqueue_cpumask", "rerun with --cpus LIST",
                  "not checked: no --cpus given");
        return;
    }
    if (h->have_hk) {
        mask = rc_cpumask_format(&h->hk);
        fix = rc_strf("echo %s > %s", mask, path);
    } else {
        fix = rc_strf("write the housekeeping CPU mask to %s", path);
    }
    if (rc_read(path, buf, sizeof(buf)) < 0) {
        rc_report(RC_WARN, "workqueue_cpumask", fix, "unknown: cannot read "
                  "%s: %s", path, strerror(errno));
    } else if (!rc_cpumask_parse(buf, &set)) {
        clean = rc_clean(buf);
        rc_report(RC_WARN, "workqueue_cpumask", fix, "unknown: %s holds "
                  "'%s', not a CPU mask", path, clean);
        free(clean);
    } else if (rc_cpus_intersects(&set, &h->c.cpus)) {
        clean = rc_clean(buf);
        rc_report(RC_WARN, "workqueue_cpumask", fix, "unbound workqueues "
                  "may run on CPUs %s (cpumask %s)", h->c.cpus_text, clean);
        free(clean);
        if (mask) {
            host_action(h, path, mask, buf, NULL);
        }
    } else {
        rc_report(RC_PASS, "workqueue_cpumask", NULL, "unbound workqueues "
                  "avoid CPUs %s", h->c.cpus_text);
    }
    free(mask);
    free(fix);
}

/* Isolated cpuset partitions, down to three levels below the root. */
static void scan_partitions(const char *dir, int depth, RcCpuSet *isolated,
                            unsigned *budget)
{
    char buf[RC_VAL_MAX];
    DIR *d;
    struct dirent *de;
    char *path;
    RcCpuSet set;

    if (*budget == 0) {
        return;
    }
    (*budget)--;
    path = rc_strf("%s/cpuset.cpus.partition", dir);
    if (rc_read(path, buf, sizeof(buf)) >= 0 &&
        strncmp(buf, "isolated", 8) == 0 && (!buf[8] || buf[8] == ' ')) {
        if ((rc_readf(buf, sizeof(buf), "%s/cpuset.cpus.effective",
                      dir) >= 0 &&
             rc_cpulist_parse(buf, &set, true, buf, sizeof(buf))) ||
            (rc_readf(buf, sizeof(buf), "%s/cpuset.cpus", dir) >= 0 &&
             rc_cpulist_parse(buf, &set, true, buf, sizeof(buf)))) {
            rc_cpus_or(isolated, isolated, &set);
        }
    }
    free(path);
    if (depth == 0 || !(d = rc_opendir(dir))) {
        return;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || de->d_type != DT_DIR) {
            continue;
        }
        path = rc_strf("%s/%s", dir, de->d_name);
        scan_partitions(path, depth - 1, isolated, budget);
        free(path);
    }
    closedir(d);
}

static void check_cpuset(Host *h)
{
    RcCpuSet part, iso;
    unsigned budget = 4096;
    char *fix;

    if (!h->c.have_cpus) {
        rc_report(RC_WARN, "cpuset_partition", "rerun with --cpus LIST",
                  "not checked: no --cpus given");
        return;
    }
    rc_cpus_clear(&part);
    scan_partitions("/sys/fs/cgroup", 3, &part, &budget);
    if (rc_cpus_subset(&h->c.cpus, &part)) {
        rc_report(RC_PASS, "cpuset_partition", NULL, "CPUs %s are in an "
                  "isolated cpuset partition", h->c.cpus_text);
        return;
    }
    if (rc_read_cpulist("/sys/devices/system/cpu/isolated", &iso, NULL) &&
        rc_cpus_subset(&h->c.cpus, &iso)) {
        rc_report(RC_PASS, "cpuset_partition", NULL, "not needed: CPUs %s "
                  "are isolated by isolcpus=", h->c.cpus_text);
        return;
    }
    fix = rc_strf("isolate them with isolcpus= or at runtime: mkdir "
                  "/sys/fs/cgroup/rt; echo %s > /sys/fs/cgroup/rt/cpuset.cpus; "
                  "echo isolated > /sys/fs/cgroup/rt/cpuset.cpus.partition",
                  h->c.cpus_text);
    rc_report(RC_WARN, "cpuset_partition", fix, "no isolated cpuset "
              "partition holds CPUs %s%s", h->c.cpus_text,
              rc_exists("/sys/fs/cgroup/cgroup.controllers") ? "" :
              " (no cgroup v2 at /sys/fs/cgroup)");
    free(fix);
}

/* "Max realtime priority  0  0" in /proc/self/limits; soft limit. */
static bool limits_file(const char *name, unsigned long long *soft)
{
    char *text = rc_read_big("/proc/self/limits");
    char *line, *save = NULL, tok[32];
    bool ok = false;

    if (!text) {
        return false;
    }
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        const char *p;
        size_t n = 0;

        if (strncmp(line, name, strlen(name)) != 0) {
            continue;
        }
        p = line + strlen(name);
        p += strspn(p, " ");
        while (p[n] && p[n] != ' ' && n < sizeof(tok) - 1) {
            tok[n] = p[n];
            n++;
        }
        tok[n] = '\0';
        if (strcmp(tok, "unlimited") == 0) {
            *soft = UINT64_MAX;
            ok = true;
        } else {
            ok = rc_parse_ulong(tok, soft);
        }
        break;
    }
    free(text);
    return ok;
}

static bool get_limit(int resource, const char *name,
                      unsigned long long *soft)
{
    struct rlimit rl;

    if (rc_have_root()) {
        return limits_file(name, soft);
    }
    if (getrlimit(resource, &rl) < 0) {
        return false;
    }
    *soft = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
    return true;
}

static void check_limits(Host *h)
{
    char *status = rc_read_big("/proc/self/status");
    char *line, *save = NULL;
    unsigned long long capeff = 0, rtprio, memlock;
    bool have_caps = false, have_rtprio, have_memlock;
    bool nice, ipc;
    long uid = -1;
    const char *limits = "/etc/security/limits.d/qemu-rt.conf";
    char *fix;

    if (status) {
        for (line = strtok_r(status, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            char *end;
            if (strncmp(line, "CapEff:", 7) == 0) {
                const char *v = line + 7 + strspn(line + 7, " \t");
                errno = 0;
                capeff = strtoull(v, &end, 16);
                have_caps = errno == 0 && end != v && *end == '\0';
            } else if (strncmp(line, "Uid:", 4) == 0) {
                uid = strtol(line + 4, &end, 10);
            }
        }
        free(status);
    }
    nice = have_caps && (capeff >> 23) & 1;
    ipc = have_caps && (capeff >> 14) & 1;
    have_rtprio = get_limit(RLIMIT_RTPRIO, "Max realtime priority", &rtprio);
    have_memlock = get_limit(RLIMIT_MEMLOCK, "Max locked memory", &memlock);

    /* SCHED_FIFO for the vCPU threads: CAP_SYS_NICE or RLIMIT_RTPRIO. */
    fix = rc_strf("run QEMU with CAP_SYS_NICE, or raise RLIMIT_RTPRIO: "
                  "'USER - rtprio 99' in %s or LimitRTPRIO=99 in its "
                  "systemd unit", limits);
    if (!have_caps) {
        rc_report(RC_WARN, "cap_sys_nice", fix, "unknown: no CapEff in "
                  "/proc/self/status");
    } else if (nice) {
        rc_report(RC_PASS, "cap_sys_nice", NULL, "CAP_SYS_NICE is effective"
                  "%s", uid == 0 ? " (root)" : "");
    } else if (have_rtprio && rtprio > 0) {
        rc_report(RC_PASS, "cap_sys_nice", NULL, "not needed: RLIMIT_RTPRIO "
                  "allows SCHED_FIFO");
    } else {
        rc_report(RC_FAIL, "cap_sys_nice", fix, "no CAP_SYS_NICE: the vCPU "
                  "threads cannot get SCHED_FIFO");
    }
    if (!have_rtprio) {
        rc_report(RC_WARN, "rlimit_rtprio", fix, "unknown: cannot read "
                  "RLIMIT_RTPRIO");
    } else if (rtprio > 0) {
        rc_report(RC_PASS, "rlimit_rtprio", NULL, "RLIMIT_RTPRIO is %s",
                  rtprio == UINT64_MAX ? "unlimited" : "above 0");
    } else if (nice) {
        rc_report(RC_PASS, "rlimit_rtprio", NULL, "RLIMIT_RTPRIO is 0, "
                  "not needed with CAP_SYS_NICE");
    } else {
        rc_report(RC_FAIL, "rlimit_rtprio", fix, "RLIMIT_RTPRIO is 0 and "
                  "no CAP_SYS_NICE: SCHED_FIFO is refused");
    }
    free(fix);

    /* mlock of guest memory: CAP_IPC_LOCK or RLIMIT_MEMLOCK. */
    fix = rc_strf("run QEMU with CAP_IPC_LOCK, or raise RLIMIT_MEMLOCK: "
                  "'USER - memlock unlimited' in %s or "
                  "LimitMEMLOCK=infinity in its systemd unit", limits);
    if (!have_caps) {
        rc_report(RC_WARN, "cap_ipc_lock", fix, "unknown: no CapEff in "
                  "/proc/self/status");
    } else if (ipc) {
        rc_report(RC_PASS, "cap_ipc_lock", NULL, "CAP_IPC_LOCK is effective"
                  "%s", uid == 0 ? " (root)" : "");
    } else if (have_memlock && memlock == UINT64_MAX) {
        rc_report(RC_PASS, "cap_ipc_lock", NULL, "not needed: "
                  "RLIMIT_MEMLOCK is unlimited");
    } else if (have_memlock && h->have_memory && memlock >= h->memory) {
        rc_report(RC_PASS, "cap_ipc_lock", NULL, "not needed: "
                  "RLIMIT_MEMLOCK covers --memory");
    } else {
        rc_report(RC_FAIL, "cap_ipc_lock", fix, "no CAP_IPC_LOCK: guest "
                  "memory can be locked only up to RLIMIT_MEMLOCK");
    }
    if (!have_memlock) {
        rc_report(RC_WARN, "rlimit_memlock", fix, "unknown: cannot read "
                  "RLIMIT_MEMLOCK");
    } else if (memlock == UINT64_MAX || ipc) {
        rc_report(RC_PASS, "rlimit_memlock", NULL, "%s",
                  memlock == UINT64_MAX ? "RLIMIT_MEMLOCK is unlimited"
                  : "RLIMIT_MEMLOCK does not apply with CAP_IPC_LOCK");
    } else if (!h->have_memory) {
        rc_report(RC_WARN, "rlimit_memlock", "rerun with --memory SIZE",
                  "RLIMIT_MEMLOCK is %llu bytes; not compared: no --memory "
                  "given", memlock);
    } else if (memlock >= h->memory) {
        rc_report(RC_PASS, "rlimit_memlock", NULL, "RLIMIT_MEMLOCK (%llu "
                  "bytes) covers --memory", memlock);
    } else {
        char *want = rc_format_size(h->memory);
        rc_report(RC_FAIL, "rlimit_memlock", fix, "RLIMIT_MEMLOCK is %llu "
                  "bytes, less than --memory %s: mlock of guest memory "
                  "fails", memlock, want);
        free(want);
    }
    free(fix);
}

static void run_checks(Host *h, const char *cpus_arg)
{
    rc_ctx_init(&h->c, cpus_arg);
    h->have_hk = false;
    if (h->c.have_cpus && h->c.have_online) {
        rc_cpus_andnot(&h->hk, &h->c.online, &h->c.cpus);
        h->have_hk = !rc_cpus_empty(&h->hk);
        if (h->have_hk) {
            h->hk_text = rc_cpulist_format(&h->hk);
        }
    }
    h->irqbalance = false;
    scan_proc(h);

    check_cpus(h);
    check_preempt_rt(h);
    check_isolation(h);
    check_rcu_nocbs(h);
    check_irq_affinity(h);
    check_irq_default(h);
    check_kthreads(h, false);
    check_kthreads(h, true);
    check_sysctls(h);
    check_ksm(h);
    check_swap(h);
    check_thp(h);
    check_cstates(h);
    check_hugepages(h);
    check_clocksource(h);
    check_smt(h);
    check_kvm(h);
    check_irqbalance(h);
    check_workqueue(h);
    check_cpuset(h);
    check_limits(h);
}

/* --apply */

static void shell_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') {
            fputs("'\\''", f);
        } else {
            fputc(*s, f);
        }
    }
    fputc('\'', f);
}

static void write_undo(Host *h, const char *undo_file)
{
    int fd = open(undo_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    FILE *f;
    size_t i;
    time_t now = time(NULL);
    char when[64] = "";

    if (fd < 0 && errno == EEXIST) {
        rc_usage_error("%s exists; run it or remove it first, or pass "
                       "--undo-file PATH", undo_file);
    }
    f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot create %s: %s; pass --undo-file with a "
                "writable path\n", rc_prog, undo_file, strerror(errno));
        exit(RC_EX_CANTCREAT);
    }
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
    fprintf(f, "#!/bin/sh\n"
            "# Written by rt-host-check --apply --yes on %s.\n"
            "# Restores the runtime settings it changed; run it as root.\n"
            "set -u\n"
            "status=0\n"
            "# sysfs takes the value back; a plain file (a --root tree)\n"
            "# gets back the text it held.\n"
            "restore() {\n"
            "    text=$2\n"
            "    if [ $# -gt 2 ] &&\n"
            "       [ \"$(stat -f -c %%T \"$1\" 2>/dev/null)\" != sysfs ]\n"
            "    then\n"
            "        text=$3\n"
            "    fi\n"
            "    if ! (printf '%%s\\n' \"$text\" >\"$1\") 2>/dev/null; then\n"
            "        echo \"rt-host-check-undo: cannot write $1; "
            "write '$2' to it by hand\" >&2\n"
            "        status=1\n"
            "    fi\n"
            "}\n", when);
    for (i = h->nactions; i-- > 0;) {
        char *full = rc_path(h->actions[i].path);
        fputs("restore ", f);
        shell_quote(f, full);
        fputc(' ', f);
        shell_quote(f, h->actions[i].old);
        if (h->actions[i].text) {
            fputc(' ', f);
            shell_quote(f, h->actions[i].text);
        }
        fputc('\n', f);
        free(full);
    }
    fputs("exit $status\n", f);
    if (fflush(f) != 0 || ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s; pass --undo-file with a "
                "writable path\n", rc_prog, undo_file, strerror(errno));
        exit(RC_EX_CANTCREAT);
    }
}

/* Returns the number of writes that failed. */
static unsigned apply(Host *h, bool yes, const char *undo_file, FILE *out)
{
    unsigned failed = 0;
    size_t i;

    if (!h->nactions) {
        fprintf(out, "apply: nothing to change at runtime\n");
    } else if (yes) {
        write_undo(h, undo_file);
        for (i = 0; i < h->nactions; i++) {
            Action *a = &h->actions[i];
            int ret = rc_write(a->path, a->value);
            char *clean = rc_clean(a->old);

            if (ret < 0) {
                failed++;
                fprintf(out, "apply: cannot write '%s' to %s: %s; left at "
                        "'%s'\n", a->value, a->path, strerror(-ret), clean);
            } else {
                fprintf(out, "apply: wrote '%s' to %s (was '%s')\n",
                        a->value, a->path, clean);
            }
            free(clean);
        }
        fprintf(out, "apply: undo with: sh %s\n", undo_file);
    } else {
        for (i = 0; i < h->nactions; i++) {
            char *clean = rc_clean(h->actions[i].old);
            fprintf(out, "apply: would write '%s' to %s (now '%s')\n",
                    h->actions[i].value, h->actions[i].path, clean);
            free(clean);
        }
        fprintf(out, "apply: nothing changed; add --yes to make these "
                "changes\n");
    }
    if (h->nboot) {
        fprintf(out, "apply: the kernel command line is not changed; add "
                "these boot parameters yourself (GRUB_CMDLINE_LINUX in "
                "/etc/default/grub, then update-grub):\n      ");
        for (i = 0; i < h->nboot; i++) {
            fprintf(out, "%s%s", i ? " " : "", h->boot[i]);
        }
        fputc('\n', out);
    }
    fflush(out);
    return failed;
}

static void usage(void)
{
    printf("Usage: rt-host-check [--cpus LIST] [--memory SIZE] [--json]\n"
           "                     [--root DIR] [--apply [--yes] "
           "[--undo-file PATH]]\n"
           "\n"
           "Check this host against the real-time host recipe for qemu-rt\n"
           "guests (qemu-system-x86_64 -rt) and print, for each item, pass,\n"
           "warn or fail with the fix.  See docs/rt-host-check.md.\n"
           "\n"
           "  --cpus LIST       CPUs the vCPU threads will run on, e.g. 2-3 "
           "or 1,3-5;\n"
           "                    needed for the per-CPU items\n"
           "  --memory SIZE     guest memory, e.g. 512M or 4G: checks "
           "hugepages and\n"
           "                    RLIMIT_MEMLOCK\n"
           "  --json            print a JSON array of {id, status, message, "
           "fix}\n"
           "  --root DIR        read proc/, sys/ and etc/ under DIR instead "
           "of /\n"
           "  --apply           show the runtime changes that would fix "
           "items, and the\n"
           "                    boot parameters to add; changes nothing\n"
           "  --yes             with --apply: make the changes and write an "
           "undo script\n"
           "  --undo-file PATH  the undo script (default "
           "./rt-host-check-undo.sh);\n"
           "                    it must not exist yet\n"
           "  --help            print this help\n"
           "\n"
           "--apply changes only sched_rt_runtime_us, the watchdogs, KSM, "
           "THP,\n"
           "timer_migration, IRQ affinities and the workqueue cpumask; it "
           "never\n"
           "edits the kernel command line.\n"
           "\n"
           "Exit status: 0 all items pass, 1 warnings only, 2 any failure,\n"
           "64 usage error, 73 the undo script cannot be written.\n");
}

int main(int argc, char **argv)
{
    enum { OPT_CPUS = 256, OPT_MEMORY, OPT_JSON, OPT_ROOT, OPT_APPLY,
           OPT_YES, OPT_UNDO, OPT_HELP };
    static const struct option opts[] = {
        { "cpus", required_argument, NULL, OPT_CPUS },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "json", no_argument, NULL, OPT_JSON },
        { "root", required_argument, NULL, OPT_ROOT },
        { "apply", no_argument, NULL, OPT_APPLY },
        { "yes", no_argument, NULL, OPT_YES },
        { "undo-file", required_argument, NULL, OPT_UNDO },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    Host h;
    const char *cpus = NULL, *root = NULL;
    const char *undo_file = "./rt-host-check-undo.sh";
    bool json = false, do_apply = false, yes = false, undo_given = false;
    char *title;
    int opt, status;
    unsigned failed;

    rc_prog = "rt-host-check";
    memset(&h, 0, sizeof(h));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_CPUS:
            cpus = optarg;
            break;
        case OPT_MEMORY:
            if (!rc_parse_size(optarg, &h.memory)) {
                rc_usage_error("bad --memory '%s'; give a size like 512M or "
                               "4G", optarg);
            }
            h.have_memory = true;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_ROOT:
            root = optarg;
            break;
        case OPT_APPLY:
            do_apply = true;
            break;
        case OPT_YES:
            yes = true;
            break;
        case OPT_UNDO:
            undo_file = optarg;
            undo_given = true;
            break;
        case OPT_HELP:
            usage();
            return 0;
        case ':':
            rc_usage_error("%s needs a value; see rt-host-check --help",
                           argv[optind - 1]);
        default:
            rc_usage_error("unknown option '%s'; see rt-host-check --help",
                           argv[optind - 1]);
        }
    }
    if (optind < argc) {
        rc_usage_error("unexpected argument '%s'; see rt-host-check --help",
                       argv[optind]);
    }
    if ((yes || undo_given) && !do_apply) {
        rc_usage_error("--yes and --undo-file need --apply; add --apply");
    }
    if (!rc_set_root(root)) {
        rc_usage_error("--root %s is not a directory; give the top of a "
                       "tree holding proc/ and sys/", root);
    }
    if (yes && access(undo_file, F_OK) == 0) {
        rc_usage_error("%s exists; run it or remove it first, or pass "
                       "--undo-file PATH", undo_file);
    }

    title = rc_strf("rt-host-check: %s, vCPU CPUs %s", root ? root : "/",
                    cpus ? cpus : "not given");
    run_checks(&h, cpus);
    if (!do_apply) {
        status = rc_results_print(json, title);
        free(title);
        host_reset(&h);
        return status;
    }
    if (!yes) {
        status = rc_results_print(json, title);
        apply(&h, false, undo_file, json ? stderr : stdout);
        free(title);
        host_reset(&h);
        return status;
    }
    failed = apply(&h, true, undo_file, json ? stderr : stdout);
    host_reset(&h);
    run_checks(&h, cpus);
    status = rc_results_print(json, title);
    free(title);
    host_reset(&h);
    if (failed) {
        fprintf(stderr, "%s: %u change(s) failed; see the apply: lines\n",
                rc_prog, failed);
    }
    return status;
}
