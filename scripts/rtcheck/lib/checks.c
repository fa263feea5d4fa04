/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * librtcheck: the items host and guest check alike: the CPU isolation
 * lists and one-number sysctls.
 */
#define _GNU_SOURCE
#include "rtcheck.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

bool rc_have_cpus(const RcCtx *ctx, const char *id)
{
    if (!ctx->have_cpus) {
        rc_report(RC_WARN, id, "rerun with --cpus LIST",
                  "not checked: no --cpus given");
    }
    return ctx->have_cpus;
}

void rc_check_isolation(RcCtx *ctx, const char *id, const char *param,
                        const char *sysfs, RcStatus missing)
{
    char *value, *why = NULL, *fix;
    const char *list;
    RcCpuSet set;
    char err[160];
    bool in_cmdline = false;

    if (!rc_have_cpus(ctx, id)) {
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

const RcSysctl rc_sysctls[] = {
    { "sched_rt_runtime", "/proc/sys/kernel/sched_rt_runtime_us",
      "kernel.sched_rt_runtime_us", "-1", RC_FAIL,
      "RT tasks are throttled once they use that much of each period",
      false, NULL },
    { "watchdog", "/proc/sys/kernel/watchdog", "kernel.watchdog", "0",
      RC_WARN, "the soft lockup watchdog runs a timer on every CPU", false,
      "nowatchdog" },
    { "nmi_watchdog", "/proc/sys/kernel/nmi_watchdog", "kernel.nmi_watchdog",
      "0", RC_WARN, "the NMI watchdog interrupts every CPU periodically",
      false, "nmi_watchdog=0" },
    { "timer_migration", "/proc/sys/kernel/timer_migration",
      "kernel.timer_migration", "0", RC_WARN,
      "timers are moved between CPUs", true, NULL },
};
const size_t rc_nsysctls = sizeof(rc_sysctls) / sizeof(rc_sysctls[0]);

char *rc_check_sysctl(const RcSysctl *s, const char *cpus)
{
    char buf[RC_VAL_MAX];
    char *fix = rc_strf("sysctl -w %s=%s", s->sysctl, s->want);
    long long value, wanted;
    char *clean;

    if (rc_read(s->path, buf, sizeof(buf)) < 0) {
        rc_report(RC_WARN, s->id, fix, "unknown: cannot read %s: %s",
                  s->path, strerror(errno));
        free(fix);
        return NULL;
    }
    if (!rc_parse_long(buf, &value)) {
        clean = rc_clean(buf);
        rc_report(RC_WARN, s->id, fix, "unknown: %s holds '%s', not a number",
                  s->path, clean);
        free(clean);
        free(fix);
        return NULL;
    }
    if (rc_parse_long(s->want, &wanted) && value == wanted) {
        rc_report(RC_PASS, s->id, NULL, "%s = %s", s->sysctl, buf);
        free(fix);
        return NULL;
    }
    rc_report(s->bad, s->id, fix, "%s = %s: %s%s%s%s", s->sysctl, buf,
              s->why, s->onto_cpus ? ", onto the " : "",
              s->onto_cpus ? cpus : "", s->onto_cpus ? " CPUs too" : "");
    free(fix);
    return rc_strdup(buf);
}
