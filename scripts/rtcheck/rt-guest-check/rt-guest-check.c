/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-guest-check: run inside a Linux guest of qemu-rt (-rt) and say, item
 * by item, whether the guest is set up for real-time work: TSC clocksource
 * without kvmclock, isolated RT CPUs, no timer migration, no watchdogs, no
 * RT throttling.  Small enough to be linked statically and dropped into a
 * busybox initramfs.  See docs/rt-host-check.md.
 */
#define _GNU_SOURCE
#include "rtcheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CS_DIR "/sys/devices/system/clocksource/clocksource0/"

static void check_cpus(RcCtx *c)
{
    char *online;

    if (!c->have_cpus) {
        rc_report(RC_WARN, "cpus", "rerun with --cpus LIST, the guest CPUs "
                  "of the RT tasks", "no --cpus given: isolation not "
                  "checked");
    } else if (!c->have_online) {
        rc_report(RC_WARN, "cpus", "check that /sys is mounted",
                  "unknown: cannot read /sys/devices/system/cpu/online");
    } else if (!rc_cpus_subset(&c->cpus, &c->online)) {
        online = rc_cpulist_format(&c->online);
        rc_report(RC_FAIL, "cpus", "pick --cpus from the online CPUs",
                  "CPUs %s are not all online (online: %s)", c->cpus_text,
                  online);
        free(online);
    } else {
        rc_report(RC_PASS, "cpus", NULL, "RT CPUs %s are online",
                  c->cpus_text);
    }
}

static void check_clocksource(void)
{
    const char *path = CS_DIR "current_clocksource";
    const char *fix = "start the guest with qemu-system-x86_64 -rt (see "
                      "docs/howto.md) and boot it with clocksource=tsc "
                      "tsc=reliable no-kvmclock";
    char buf[RC_VAL_MAX];
    char *clean;

    if (rc_read(path, buf, sizeof(buf)) < 0) {
        rc_report(RC_WARN, "clocksource", fix, "unknown: cannot read %s: %s",
                  path, strerror(errno));
        return;
    }
    clean = rc_clean(buf);
    if (!buf[0]) {
        rc_report(RC_WARN, "clocksource", fix, "unknown: %s is empty", path);
    } else if (strcmp(buf, "tsc") == 0) {
        rc_report(RC_PASS, "clocksource", NULL, "clocksource is tsc");
    } else if (strcmp(buf, "kvm-clock") == 0) {
        rc_report(RC_FAIL, "clocksource", fix, "clocksource is kvm-clock: "
                  "under qemu-rt -rt the guest must read the TSC directly");
    } else {
        rc_report(RC_FAIL, "clocksource", fix, "clocksource is %s, not tsc: "
                  "every clock read is slow", clean);
    }
    free(clean);
}

static void check_kvmclock(void)
{
    const char *path = CS_DIR "available_clocksource";
    const char *fix = "start the guest with qemu-system-x86_64 -rt (see "
                      "docs/howto.md), or boot it with no-kvmclock";
    char buf[RC_VAL_MAX];
    char *tok, *save = NULL;
    bool found = false;

    if (rc_read(path, buf, sizeof(buf)) < 0) {
        rc_report(RC_WARN, "kvmclock", fix, "unknown: cannot read %s: %s",
                  path, strerror(errno));
        return;
    }
    for (tok = strtok_r(buf, " \t\n", &save); tok;
         tok = strtok_r(NULL, " \t\n", &save)) {
        if (strcmp(tok, "kvm-clock") == 0) {
            found = true;
        }
    }
    if (found) {
        rc_report(RC_WARN, "kvmclock", fix, "kvm-clock is available: the "
                  "hypervisor exposes kvmclock, which -rt hides");
    } else {
        rc_report(RC_PASS, "kvmclock", NULL, "kvm-clock is not available");
    }
}

static void check_sysctls(void)
{
    size_t i;

    for (i = 0; i < rc_nsysctls; i++) {
        free(rc_check_sysctl(&rc_sysctls[i], "RT"));
    }
}

static void usage(void)
{
    printf("Usage: rt-guest-check [--cpus LIST] [--json] [--root DIR]\n"
           "\n"
           "Check, inside a Linux guest of qemu-system-x86_64 -rt, that the "
           "guest is\n"
           "set up for real-time work, and print for each item pass, warn "
           "or fail\n"
           "with the fix.  See docs/rt-host-check.md.\n"
           "\n"
           "  --cpus LIST  guest CPUs of the RT tasks, e.g. 1 or 1-3\n"
           "  --json       print a JSON array of {id, status, message, "
           "fix}\n"
           "  --root DIR   read proc/ and sys/ under DIR instead of /\n"
           "  --help       print this help\n"
           "\n"
           "Exit status: 0 all items pass, 1 warnings only, 2 any failure,\n"
           "64 usage error.\n");
}

int main(int argc, char **argv)
{
    RcOptions o;
    RcCtx c;
    char *title;
    int status;

    rc_prog = "rt-guest-check";
    rc_parse_options(argc, argv, &o, NULL, NULL, NULL, usage);
    rc_usage_set_root(o.root);

    rc_ctx_init(&c, o.cpus);
    check_cpus(&c);
    check_clocksource();
    check_kvmclock();
    rc_check_isolation(&c, "isolcpus", "isolcpus",
                       "/sys/devices/system/cpu/isolated", RC_FAIL);
    rc_check_isolation(&c, "nohz_full", "nohz_full",
                       "/sys/devices/system/cpu/nohz_full", RC_WARN);
    check_sysctls();

    title = rc_strf("rt-guest-check: %s, RT CPUs %s",
                    o.root ? o.root : "/", o.cpus ? o.cpus : "not given");
    status = rc_results_print(o.json, title);
    free(title);
    rc_ctx_free(&c);
    rc_results_reset();
    return status;
}
