/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-host-check: interrupts and deferred work off the vCPU CPUs: IRQ
 * affinities, irqbalance, the unbound workqueue cpumask.
 */
#define _GNU_SOURCE
#include "host.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void check_irq_affinity(Host *h)
{
    DIR *d;
    struct dirent *de;
    char buf[RC_VAL_MAX];
    char err[160];
    char list[LIST_MAX * 12 + 8] = "";
    unsigned total = 0, bad = 0, unknown = 0;
    char *fix;

    if (!rc_have_cpus(&h->c, "irq_affinity")) {
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

        if (!rc_is_number(de->d_name) || strlen(de->d_name) > 12) {
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

void check_irq_default(Host *h)
{
    char buf[RC_VAL_MAX];
    char *fix, *mask = NULL, *clean;
    RcCpuSet set;

    if (!rc_have_cpus(&h->c, "irq_default_affinity")) {
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

void check_irqbalance(Host *h)
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
    if (!rc_have_cpus(&h->c, "irqbalance")) {
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

void check_workqueue(Host *h)
{
    const char *path = "/sys/devices/virtual/workqueue/cpumask";
    char buf[RC_VAL_MAX];
    char *mask = NULL, *fix, *clean;
    RcCpuSet set;

    if (!rc_have_cpus(&h->c, "workqueue_cpumask")) {
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
