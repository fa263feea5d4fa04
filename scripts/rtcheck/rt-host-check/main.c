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
#include "host.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

typedef struct HostOptions {
    Host *h;
    bool apply, yes;
    const char *undo_file;
    bool undo_given;
} HostOptions;

enum { OPT_MEMORY = RC_OPT_TOOL, OPT_APPLY, OPT_YES, OPT_UNDO };

static void host_option(int opt, const char *arg, void *opaque)
{
    HostOptions *ho = opaque;

    switch (opt) {
    case OPT_MEMORY:
        if (!rc_parse_size(arg, &ho->h->memory)) {
            rc_usage_error("bad --memory '%s'; give a size like 512M or 4G",
                           arg);
        }
        ho->h->have_memory = true;
        break;
    case OPT_APPLY:
        ho->apply = true;
        break;
    case OPT_YES:
        ho->yes = true;
        break;
    case OPT_UNDO:
        ho->undo_file = arg;
        ho->undo_given = true;
        break;
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "apply", no_argument, NULL, OPT_APPLY },
        { "yes", no_argument, NULL, OPT_YES },
        { "undo-file", required_argument, NULL, OPT_UNDO },
        { NULL, 0, NULL, 0 },
    };
    Host h;
    RcOptions o;
    HostOptions ho = { .h = &h, .undo_file = "./rt-host-check-undo.sh" };
    const char *cpus, *root, *undo_file;
    bool json, do_apply, yes;
    char *title;
    int status;
    unsigned failed;

    rc_prog = "rt-host-check";
    memset(&h, 0, sizeof(h));
    rc_parse_options(argc, argv, &o, opts, host_option, &ho, usage);
    cpus = o.cpus;
    root = o.root;
    json = o.json;
    do_apply = ho.apply;
    yes = ho.yes;
    undo_file = ho.undo_file;
    if ((yes || ho.undo_given) && !do_apply) {
        rc_usage_error("--yes and --undo-file need --apply; add --apply");
    }
    rc_usage_set_root(root);
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
