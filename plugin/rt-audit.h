/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit: the types the plugin's parts share.
 *
 *   decode.c    x86 bytes in, the instruction's kind out (pure)
 *   model.c     the exit model: where each event is handled
 *   config.c    the plugin's arguments into one Config
 *   report.c    one aggregation of the counters, printed as text and JSON
 *   rt-audit.c  translation, the execution callbacks, install and exit
 */
#ifndef RT_AUDIT_H
#define RT_AUDIT_H

#include <glib.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <qemu-plugin.h>

#include "decode.h"

#define REPORT_VERSION 1

/* Where an event is handled under the exit model. */
enum handler {
    H_NONE,     /* not an exit */
    H_KERNEL,   /* exit handled by KVM in the host kernel */
    H_USER,     /* exit to userspace QEMU: the expensive kind */
};

enum model { M_KVM_INTEL, M_KVM_AMD, M_ALL, M_COUNT };
enum irqchip { IRQCHIP_ON, IRQCHIP_SPLIT, IRQCHIP_OFF, IRQCHIP_COUNT };

extern const char *const model_name[M_COUNT];
extern const char *const irqchip_name[IRQCHIP_COUNT];

/* The plugin's arguments (docs/rt-audit.md), fixed after install. */
typedef struct {
    enum model model;
    enum irqchip irqchip;
    int apicv;              /* -1 until install: the model's default */
    bool cpu_pm;
    bool pause_exits;
    bool audit_mmio;
    bool batch_enabled;
    uint64_t batch_port;
    bool have_budget;
    uint64_t budget;
    int fail_status;
    char *out_path;
    uint8_t port_handler[65536];    /* enum handler of every port */
} Config;

/* One decoded instruction that needs a callback; shared by translations. */
typedef struct {
    uint64_t pc;
    uint8_t bytes[16];
    uint8_t len;
    Decoded d;
} Insn;

/* Open addressing, integer keys, per vCPU: no locks, no strings. */
#define MSR_SLOTS 128
typedef struct {
    uint64_t key;       /* MSR index + 1; 0 = free */
    uint64_t rd, wr;
} MsrSlot;

#define MMIO_SLOTS 64
typedef struct {
    uint64_t key;       /* page frame + 1; 0 = free */
    const char *device; /* valid for the plugin's lifetime */
    uint64_t reads, writes, kexits, uexits;
} MmioSlot;

/* CPUID leaves: 64 basic, 64 hypervisor, 64 extended, then "other". */
#define CPUID_SLOTS (3 * 64 + 1)
#define HIST_BUCKETS 18     /* 0, 1, 2-3, 4-7, ... 65536+ */

/*
 * One vCPU's entry of the scoreboard.  The uint64_t counters are what the
 * inline operations add to (qemu_plugin_scoreboard_u64_in_struct) and what
 * the report sums (qemu_plugin_u64_sum).
 */
typedef struct {
    /* set once in vcpu_init; survives a reset marker */
    struct qemu_plugin_register *rax, *rcx, *rdx;
    GByteArray *buf;
    /* everything from here is cleared by RT_AUDIT_RESET() */
    uint64_t counters_start;
    uint64_t kind[K_MAX], kind_k[K_MAX], kind_u[K_MAX];
    uint64_t kexits, uexits;
    uint64_t cpuid[CPUID_SLOTS];
    MsrSlot msr[MSR_SLOTS];
    uint64_t msr_overflow;
    MmioSlot mmio[MMIO_SLOTS];
    uint64_t mmio_overflow;
    uint64_t interrupts, exceptions;
    uint64_t kvmclock;
    uint64_t doorbells, batch_entries, batch_accesses, batch_bad;
    uint64_t batch_hist[HIST_BUCKETS];
    /* the open section: kexits and uexits when it began */
    uint64_t sec_open, sec_id, sec_pc, sec_k0, sec_u0;
    uint64_t str_port, ins_phase, ins_bytes;
    uint64_t port_in[65536], port_out[65536], port_exits[65536];
} VCPUState;

#define VCPU_U64(score, member) \
    qemu_plugin_scoreboard_u64_in_struct(score, VCPUState, member)

typedef struct {
    unsigned id, vcpu;
    uint64_t begin_pc, end_pc, kexits, uexits;
    bool closed;
} Section;

typedef struct {
    unsigned vcpu;
    uint64_t table, entries, accesses;
    uint16_t version, count;
    bool valid;
} Doorbell;

#define MAX_DOORBELL_RECORDS 1024

/* config.c */
void config_init(Config *c);
bool config_parse_arg(Config *c, const char *opt);
void config_finish(Config *c);

/* model.c */
bool msr_is_kvmclock(uint32_t msr);
enum handler msr_handler(const Config *c, uint32_t msr, bool write);
enum handler mmio_handler(const Config *c, uint64_t addr, bool write);
enum handler static_handler(const Config *c, const Decoded *d);
void init_port_model(Config *c);
const char *msr_name(uint32_t msr);
const char *handler_name(enum handler h);

/*
 * report.c: @sections and @doorbells are the plugin's records (sections
 * still open included); returns false when out= could not be written.
 */
typedef struct {
    const Config *cfg;
    struct qemu_plugin_scoreboard *score;
    int nvcpus;
    GArray *sections;       /* Section */
    GArray *doorbells;      /* Doorbell */
    uint64_t doorbells_dropped;
} ReportInput;

bool report(const ReportInput *in, unsigned *nfail);

#endif
