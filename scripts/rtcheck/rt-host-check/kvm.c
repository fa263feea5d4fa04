/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-host-check: the KVM module parameters that make a vCPU exit or sleep
 * behind the guest's back, one row of a table each.
 */
#define _GNU_SOURCE
#include "host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef enum KvmVendor {
    KVM_ANY,
    KVM_INTEL,                  /* also when neither module is loaded */
    KVM_AMD,
} KvmVendor;

typedef struct KvmParam {
    const char *id;
    KvmVendor vendor;
    const char *path;
    const char *name;           /* in "unknown: NAME is '...'" */
    const char *fix;
    /*
     * A word value passes if it is in @pass and warns if it is in @warn.
     * Without words the value is a number, which warns when it is 0 if
     * @zero_warns, and when it is not 0 otherwise.
     */
    const char *pass[4];
    const char *warn[3];
    bool zero_warns;
    /* Messages; "%s" is the value (a number as strtoull read it), "%.0s"
     * leaves it out. */
    const char *pass_msg;
    const char *warn_msg;
    const char *boot;           /* printed by --apply on a warning */
} KvmParam;

#define KVM_PARAMS "/sys/module/kvm/parameters/"
#define PLE_PASS "pause-loop exiting is off%.0s"
#define PLE_WARN "pause-loop exiting is on (%s): a spinning vCPU exits to " \
                 "the host"

static const KvmParam kvm_params[] = {
    {
        .id = "kvm_nx_huge_pages",
        .path = KVM_PARAMS "nx_huge_pages",
        .name = "kvm.nx_huge_pages",
        .fix = "add kvm.nx_huge_pages=off to the kernel command line if "
               "/sys/devices/system/cpu/vulnerabilities/itlb_multihit says "
               "'Not affected' (or the guest is trusted)",
        .pass = { "N", "never", "off" },
        .warn = { "Y", "force" },
        .pass_msg = "kvm.nx_huge_pages=%s",
        .warn_msg = "kvm.nx_huge_pages=%s: executable guest huge pages are "
                    "split and a recovery thread wakes up periodically",
    }, {
        .id = "kvm_halt_poll_ns",
        .path = KVM_PARAMS "halt_poll_ns",
        .name = "kvm.halt_poll_ns",
        .fix = "echo 200000 > /sys/module/kvm/parameters/halt_poll_ns (or "
               "boot the guest with idle=poll)",
        .zero_warns = true,
        .pass_msg = "kvm.halt_poll_ns=%s",
        .warn_msg = "kvm.halt_poll_ns=%s: a halted vCPU sleeps at once, "
                    "waking it costs a host reschedule",
    }, {
        .id = "kvm_periodic_sync",
        .path = KVM_PARAMS "kvmclock_periodic_sync",
        .name = "kvm.kvmclock_periodic_sync",
        .fix = "add kvm.kvmclock_periodic_sync=N to the kernel command line "
               "(or options kvm kvmclock_periodic_sync=N in /etc/modprobe.d)",
        .pass = { "N" },
        .warn = { "Y" },
        .pass_msg = "kvm.kvmclock_periodic_sync=%s",
        .warn_msg = "kvm.kvmclock_periodic_sync=%s: KVM updates every "
                    "vCPU's kvmclock from a work item every 300 s",
        .boot = "kvm.kvmclock_periodic_sync=N",
    }, {
        .id = "kvm_ple_gap",
        .vendor = KVM_INTEL,
        .path = "/sys/module/kvm_intel/parameters/ple_gap",
        .name = "/sys/module/kvm_intel/parameters/ple_gap",
        .fix = "add kvm_intel.ple_gap=0 to the kernel command line (or "
               "options kvm_intel ple_gap=0 in /etc/modprobe.d)",
        .pass_msg = PLE_PASS,
        .warn_msg = PLE_WARN,
        .boot = "kvm_intel.ple_gap=0",
    }, {
        .id = "kvm_ple_gap",
        .vendor = KVM_AMD,
        .path = "/sys/module/kvm_amd/parameters/pause_filter_count",
        .name = "/sys/module/kvm_amd/parameters/pause_filter_count",
        .fix = "add kvm_amd.pause_filter_count=0 to the kernel command line",
        .pass_msg = PLE_PASS,
        .warn_msg = PLE_WARN,
        .boot = "kvm_amd.pause_filter_count=0",
    },
};

static bool kvm_word_in(const char *const *words, size_t n, const char *v)
{
    size_t i;

    for (i = 0; i < n && words[i]; i++) {
        if (strcmp(words[i], v) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * The status of @v, or -1 if it is not a value of @p; @shown is the value
 * as the messages show it.
 */
static int kvm_judge(const KvmParam *p, const char *v, char **shown)
{
    unsigned long long n;

    if (p->pass[0]) {
        *shown = rc_strdup(v);
        if (kvm_word_in(p->pass, 4, v)) {
            return RC_PASS;
        }
        return kvm_word_in(p->warn, 3, v) ? RC_WARN : -1;
    }
    if (!rc_parse_ulong(v, &n)) {
        return -1;
    }
    *shown = rc_strf("%llu", n);
    return (n == 0) == p->zero_warns ? RC_WARN : RC_PASS;
}

static void kvm_check(Host *h, const KvmParam *p)
{
    char buf[RC_VAL_MAX];
    char *shown = NULL, *clean;
    int status;

    if (rc_read(p->path, buf, sizeof(buf)) < 0) {
        int err = errno;

        if (!rc_exists("/sys/module/kvm")) {
            rc_report(RC_WARN, p->id, "modprobe kvm_intel (or kvm_amd)",
                      "unknown: the kvm module is not loaded");
        } else {
            rc_report(RC_WARN, p->id, p->fix, "unknown: cannot read %s: %s",
                      p->path, strerror(err));
        }
        return;
    }
    status = kvm_judge(p, buf, &shown);
    if (status < 0) {
        clean = rc_clean(buf);
        rc_report(RC_WARN, p->id, p->fix, "unknown: %s is '%s'", p->name,
                  clean);
        free(clean);
    } else if (status == RC_PASS) {
        rc_report(RC_PASS, p->id, NULL, p->pass_msg, shown);
    } else {
        rc_report(RC_WARN, p->id, p->fix, p->warn_msg, shown);
        if (p->boot) {
            host_boot(h, p->boot);
        }
    }
    free(shown);
}

void check_kvm(Host *h)
{
    KvmVendor vendor = !rc_exists("/sys/module/kvm_intel") &&
                       rc_exists("/sys/module/kvm_amd") ? KVM_AMD : KVM_INTEL;
    size_t i;

    for (i = 0; i < sizeof(kvm_params) / sizeof(kvm_params[0]); i++) {
        if (kvm_params[i].vendor == KVM_ANY ||
            kvm_params[i].vendor == vendor) {
            kvm_check(h, &kvm_params[i]);
        }
    }
}
