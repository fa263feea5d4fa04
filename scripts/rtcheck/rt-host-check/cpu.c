/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-host-check: the vCPU CPUs themselves: online and left a housekeeping
 * CPU, a PREEMPT_RT kernel, isolation from the scheduler, RCU and cpusets,
 * idle states, the clocksource, SMT siblings.
 */
#define _GNU_SOURCE
#include "host.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

void check_cpus(Host *h)
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

void check_preempt_rt(Host *h)
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

void check_isolation(Host *h)
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
void check_rcu_nocbs(Host *h)
{
    char *value, *nohz;
    RcCpuSet set;
    char err[160];

    if (!rc_have_cpus(&h->c, "rcu_nocbs")) {
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

void check_cstates(Host *h)
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

void check_clocksource(Host *h)
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

void check_smt(Host *h)
{
    char msg[256] = "", fix[256] = "";
    unsigned cpu, shared = 0, unknown = 0;

    if (!rc_have_cpus(&h->c, "smt")) {
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

void check_cpuset(Host *h)
{
    RcCpuSet part, iso;
    unsigned budget = 4096;
    char *fix;

    if (!rc_have_cpus(&h->c, "cpuset_partition")) {
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
