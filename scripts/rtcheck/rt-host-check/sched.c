/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-host-check: scheduling: the kernel threads of the vCPU CPUs above the
 * vCPU threads, no RT throttling nor watchdogs, and the privileges QEMU
 * needs for SCHED_FIFO and mlock.
 */
#define _GNU_SOURCE
#include "host.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

void scan_proc(Host *h)
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

        if (!rc_is_number(de->d_name) || strlen(de->d_name) > 12) {
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

static const char *policy_name(long policy)
{
    static const char *const names[] = {
        "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO",
        "SCHED_IDLE", "SCHED_DEADLINE",
    };

    return policy >= 0 && policy < 7 ? names[policy] : "policy";
}

void check_kthreads(Host *h, bool rcuc)
{
    const char *id = rcuc ? "rcuc" : "ksoftirqd";
    const char *name = rcuc ? "rcuc" : "ksoftirqd";
    long want = rcuc ? RCUC_PRIO : KSOFTIRQD_PRIO;
    char *msg, *fix;
    unsigned cpu, found = 0, bad = 0, missing = 0;

    if (!rc_have_cpus(&h->c, id)) {
        return;
    }
    if (!h->proc_ok) {
        rc_report(RC_WARN, id, "check that /proc is mounted",
                  "unknown: cannot read /proc");
        return;
    }
    msg = rc_strdup("");
    fix = rc_strdup("");
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

void check_sysctls(Host *h)
{
    size_t i;

    for (i = 0; i < rc_nsysctls; i++) {
        const RcSysctl *s = &rc_sysctls[i];
        char *old = rc_check_sysctl(s, "vCPU");

        if (old) {
            host_action(h, s->path, s->want, old, NULL);
            if (s->boot) {
                host_boot(h, s->boot);
            }
            free(old);
        }
    }
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

void check_limits(Host *h)
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
