/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-host-check: what the check families share.  main.c runs them in the
 * order of docs/rt-host-check.md; each check reports its items with
 * rc_report() and records the runtime changes (host_action) and boot
 * parameters (host_boot) that would fix them for --apply (apply.c).
 */
#ifndef HOST_H
#define HOST_H

#include "rtcheck.h"

#include <stdio.h>

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

/* apply.c: --apply */
void host_action(Host *h, const char *path, const char *value,
                 const char *old, const char *text);
void host_boot(Host *h, const char *param);
/* Print or make the changes; returns the number of writes that failed. */
unsigned apply(Host *h, bool yes, const char *undo_file, FILE *out);

/* cpu.c: the vCPU CPUs */
void check_cpus(Host *h);
void check_preempt_rt(Host *h);
void check_isolation(Host *h);
void check_rcu_nocbs(Host *h);
void check_cstates(Host *h);
void check_clocksource(Host *h);
void check_smt(Host *h);
void check_cpuset(Host *h);

/* irq.c: interrupts and deferred work */
void check_irq_affinity(Host *h);
void check_irq_default(Host *h);
void check_irqbalance(Host *h);
void check_workqueue(Host *h);

/* sched.c: scheduling and privileges */
/* The ksoftirqd and rcuc threads of --cpus, and whether irqbalance runs. */
void scan_proc(Host *h);
void check_kthreads(Host *h, bool rcuc);
void check_sysctls(Host *h);
void check_limits(Host *h);

/* memory.c: guest memory */
void check_ksm(Host *h);
void check_swap(Host *h);
void check_thp(Host *h);
void check_hugepages(Host *h);

/* kvm.c: KVM module parameters */
void check_kvm(Host *h);

#endif
