/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit: count what a guest does that would leave the CPU (a VM exit)
 * under hardware virtualization, from inside QEMU's TCG.
 *
 * At translation time every instruction that exits under VMX/SVM is
 * decoded (IN/OUT, INS/OUTS, CPUID, RDMSR/WRMSR, HLT, PAUSE, MONITOR/MWAIT,
 * XSETBV, WBINVD/INVD, RDPMC, VMCALL/VMMCALL, MOV to CR/DR, INVLPG) and
 * gets an execution callback; every memory access is checked for MMIO.
 * An exit model (default: KVM on a modern Intel host, in-kernel irqchip)
 * sorts each event into "no exit", "exit handled in the kernel" and "exit
 * to userspace QEMU".  Guests can mark critical sections with multi-byte
 * NOPs (include/rt-audit-marker.h) and the plugin checks them against a
 * budget.  Counters are per vCPU (scoreboards); one report is printed at
 * exit, optionally also as JSON.  docs/rt-audit.md describes it all.
 */
#include <glib.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define REPORT_VERSION 1

/* Where an event is handled under the exit model. */
enum handler {
    H_NONE,     /* not an exit */
    H_KERNEL,   /* exit handled by KVM in the host kernel */
    H_USER,     /* exit to userspace QEMU: the expensive kind */
};

enum kind {
    K_IN, K_OUT, K_INS, K_OUTS, K_CPUID, K_RDMSR, K_WRMSR, K_HLT, K_PAUSE,
    K_MONITOR, K_MWAIT, K_XSETBV, K_WBINVD, K_INVD, K_RDPMC, K_VMCALL,
    K_VMMCALL, K_MOV_CR, K_MOV_CR3, K_MOV_CR8, K_MOV_DR, K_INVLPG,
    K_MMIO_READ, K_MMIO_WRITE,
    K_MAX,
    /* markers: decoded, never counted as events */
    K_MARK_BEGIN = K_MAX, K_MARK_END, K_MARK_RESET,
    K_NOTHING,
};

static const char *const kind_name[K_MAX] = {
    [K_IN] = "in", [K_OUT] = "out", [K_INS] = "ins", [K_OUTS] = "outs",
    [K_CPUID] = "cpuid", [K_RDMSR] = "rdmsr", [K_WRMSR] = "wrmsr",
    [K_HLT] = "hlt", [K_PAUSE] = "pause", [K_MONITOR] = "monitor",
    [K_MWAIT] = "mwait", [K_XSETBV] = "xsetbv", [K_WBINVD] = "wbinvd",
    [K_INVD] = "invd", [K_RDPMC] = "rdpmc", [K_VMCALL] = "vmcall",
    [K_VMMCALL] = "vmmcall", [K_MOV_CR] = "mov_to_cr0_cr4",
    [K_MOV_CR3] = "mov_to_cr3", [K_MOV_CR8] = "mov_to_cr8",
    [K_MOV_DR] = "mov_dr", [K_INVLPG] = "invlpg",
    [K_MMIO_READ] = "mmio_read", [K_MMIO_WRITE] = "mmio_write",
};

/* One decoded instruction; shared by every translation of the same bytes. */
typedef struct {
    uint64_t pc;
    uint8_t bytes[16];
    uint8_t len;
    uint8_t kind;
    uint8_t width;      /* I/O operand size in bytes */
    bool port_dx;       /* port in DX rather than an immediate */
    bool rep;
    uint16_t port;      /* immediate port */
    uint8_t handler;    /* static classification, where it does not vary */
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
    uint64_t sec_open, sec_id, sec_k, sec_u, sec_pc;
    uint64_t str_port, ins_phase, ins_bytes;
    uint64_t port_in[65536], port_out[65536], port_exits[65536];
} VCPUState;

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

/* Configuration, fixed after install. */
static enum { M_KVM_INTEL, M_KVM_AMD, M_ALL } model = M_KVM_INTEL;
static const char *const model_name[] = { "kvm-intel", "kvm-amd", "all" };
static enum { IRQCHIP_ON, IRQCHIP_SPLIT, IRQCHIP_OFF } irqchip = IRQCHIP_ON;
static const char *const irqchip_name[] = { "on", "split", "off" };
static int apicv = -1;          /* -1: the model's default */
static bool cpu_pm;
static bool pause_exits;
static bool audit_mmio = true;
static bool batch_enabled = true;
static uint64_t batch_port = 0x5c0;
static bool have_budget;
static uint64_t budget;
static int fail_status = 2;
static char *out_path;
static uint8_t port_handler[65536];

static struct qemu_plugin_scoreboard *score;
static GMutex lock;
static GHashTable *insns;       /* pc -> GSList of Insn, translation only */
static GArray *sections;
static GArray *doorbells;
static uint64_t doorbells_dropped;
static unsigned next_section_id = 1;

static inline VCPUState *vcpu_state(unsigned int vcpu)
{
    return qemu_plugin_scoreboard_find(score, vcpu);
}

/* ---- exit model ---------------------------------------------------- */

static bool irqchip_in_kernel(void)
{
    return irqchip == IRQCHIP_ON;
}

static bool lapic_in_kernel(void)
{
    return irqchip != IRQCHIP_OFF;
}

static void init_port_model(void)
{
    static const struct { uint16_t base, len; } kernel_ports[] = {
        { 0x20, 2 }, { 0xa0, 2 },   /* i8259 PIC */
        { 0x4d0, 2 },               /* ELCR */
        { 0x40, 4 },                /* i8254 PIT */
        { 0x61, 1 },                /* PIT channel 2 gate / speaker */
    };
    unsigned i, p;

    memset(port_handler, H_USER, sizeof(port_handler));
    if (!irqchip_in_kernel()) {
        return;
    }
    for (i = 0; i < G_N_ELEMENTS(kernel_ports); i++) {
        for (p = 0; p < kernel_ports[i].len; p++) {
            port_handler[kernel_ports[i].base + p] = H_KERNEL;
        }
    }
}

static bool msr_is_kvmclock(uint32_t msr)
{
    return msr == 0x11 || msr == 0x12 ||
           msr == 0x4b564d00 || msr == 0x4b564d01;
}

static enum handler msr_handler(uint32_t msr, bool write)
{
    if (model == M_ALL) {
        return H_KERNEL;
    }
    switch (msr) {
    case 0xc0000100: case 0xc0000101: case 0xc0000102: /* FS/GS bases */
    case 0x174: case 0x175: case 0x176:                /* SYSENTER */
        return H_NONE;              /* passed through by the MSR bitmap */
    case 0x10:                      /* TSC: reads passed through */
        return write ? H_KERNEL : H_NONE;
    case 0x35:                      /* CORE_THREAD_COUNT: QEMU's filter */
        return H_USER;
    case 0x6e0:                     /* TSC_DEADLINE */
        return lapic_in_kernel() ? H_KERNEL : H_USER;
    }
    if (msr >= 0x800 && msr <= 0x8ff) {         /* x2APIC */
        if (!lapic_in_kernel()) {
            return H_USER;
        }
        if (model == M_KVM_INTEL && apicv &&
            (!write || msr == 0x808 || msr == 0x80b || msr == 0x83f)) {
            return H_NONE;          /* APICv virtualizes these */
        }
        return H_KERNEL;
    }
    return H_KERNEL;
}

static enum handler mmio_handler(uint64_t addr, bool write)
{
    uint64_t page = addr & ~0xfffULL;

    if (page == 0xfee00000) {                   /* xAPIC */
        if (!lapic_in_kernel()) {
            return H_USER;
        }
        if (apicv && model != M_ALL) {
            unsigned off = addr & 0xfff;

            if (!write || off == 0x80 || off == 0xb0) {
                return H_NONE;      /* APIC-access page: reads, TPR, EOI */
            }
        }
        return H_KERNEL;
    }
    if (page == 0xfec00000) {                   /* IOAPIC */
        return irqchip_in_kernel() ? H_KERNEL : H_USER;
    }
    return H_USER;
}

static enum handler static_handler(const Insn *d, unsigned cr)
{
    bool all = model == M_ALL;

    switch (d->kind) {
    case K_HLT:
        if (cpu_pm && !all) {
            return H_NONE;
        }
        return lapic_in_kernel() ? H_KERNEL : H_USER;
    case K_PAUSE:
        return (pause_exits || all) ? H_KERNEL : H_NONE;
    case K_MONITOR:
    case K_MWAIT:
        return (cpu_pm && !all) ? H_NONE : H_KERNEL;
    case K_MOV_CR3:
    case K_INVLPG:
        return all ? H_KERNEL : H_NONE;   /* EPT / NPT */
    case K_MOV_CR8:
        return model == M_KVM_INTEL ? H_NONE : H_KERNEL; /* TPR shadow */
    case K_MOV_CR:
        (void)cr;
        return H_KERNEL;
    default:
        return H_KERNEL;
    }
}

/* ---- accounting ---------------------------------------------------- */

static inline void account(VCPUState *s, unsigned kind, enum handler h,
                           uint64_t n)
{
    s->kind[kind] += n;
    if (h == H_KERNEL) {
        s->kind_k[kind] += n;
        s->kexits += n;
        s->sec_k += s->sec_open ? n : 0;
    } else if (h == H_USER) {
        s->kind_u[kind] += n;
        s->uexits += n;
        s->sec_u += s->sec_open ? n : 0;
    }
}

static inline void account_port(VCPUState *s, unsigned kind, uint16_t port,
                                 bool in, uint64_t n, uint64_t exits)
{
    enum handler h = port_handler[port];

    if (in) {
        s->port_in[port] += n;
    } else {
        s->port_out[port] += n;
    }
    s->port_exits[port] += exits;
    s->kind[kind] += n;
    if (h == H_KERNEL) {
        s->kind_k[kind] += exits;
        s->kexits += exits;
        s->sec_k += s->sec_open ? exits : 0;
    } else {
        s->kind_u[kind] += exits;
        s->uexits += exits;
        s->sec_u += s->sec_open ? exits : 0;
    }
}

static uint64_t read_reg(VCPUState *s, struct qemu_plugin_register *reg)
{
    uint64_t v = 0;
    int n, i;

    if (!reg) {
        return 0;
    }
    g_byte_array_set_size(s->buf, 0);
    n = qemu_plugin_read_register(reg, s->buf);
    for (i = MIN(n, 8) - 1; i >= 0; i--) {       /* target is little endian */
        v = (v << 8) | s->buf->data[i];
    }
    return v;
}

static unsigned hist_bucket(uint64_t v)
{
    unsigned b = 0;

    while (v && b < HIST_BUCKETS - 1) {
        v >>= 1;
        b++;
    }
    return b;
}

/*
 * The doorbell OUT is seen before it executes: the table holds what the
 * guest asks for.  Each OUT or IN entry is one access, RMW is two (IN then
 * OUT), POLL counts as its limit (the most reads it may make).
 */
static void audit_doorbell(unsigned int vcpu, VCPUState *s, uint32_t value)
{
    uint64_t gpa = (uint64_t)value << 12;
    g_autoptr(GByteArray) buf = g_byte_array_new();
    Doorbell rec = { .vcpu = vcpu, .table = gpa };
    unsigned i;

    s->doorbells++;
    if (qemu_plugin_read_memory_hwaddr(gpa, buf, 16) ==
        QEMU_PLUGIN_HWADDR_OPERATION_OK) {
        rec.version = buf->data[0] | (buf->data[1] << 8);
        rec.count = buf->data[2] | (buf->data[3] << 8);
        rec.valid = rec.version == 1;
    }
    if (rec.valid && rec.count) {
        g_byte_array_set_size(buf, 0);
        if (qemu_plugin_read_memory_hwaddr(gpa + 16, buf, rec.count * 24) !=
            QEMU_PLUGIN_HWADDR_OPERATION_OK) {
            rec.valid = false;
        }
    }
    if (rec.valid) {
        for (i = 0; i < rec.count; i++) {
            const uint8_t *e = buf->data + i * 24;

            switch (e[0]) {
            case 1: /* OUT */
            case 2: /* IN */
                rec.accesses += 1;
                break;
            case 3: /* RMW */
                rec.accesses += 2;
                break;
            case 4: /* POLL */
                rec.accesses += e[16] | (e[17] << 8);
                break;
            default:
                rec.valid = false;
                break;
            }
        }
        rec.entries = rec.count;
    }
    if (rec.valid) {
        s->batch_entries += rec.entries;
        s->batch_accesses += rec.accesses;
        s->batch_hist[hist_bucket(rec.accesses)]++;
    } else {
        s->batch_bad++;
    }
    g_mutex_lock(&lock);
    if (doorbells->len < MAX_DOORBELL_RECORDS) {
        g_array_append_val(doorbells, rec);
    } else {
        doorbells_dropped++;
    }
    g_mutex_unlock(&lock);
}

/* ---- execution callbacks ------------------------------------------- */

static void vcpu_io(unsigned int vcpu, void *udata)
{
    const Insn *d = udata;
    VCPUState *s = vcpu_state(vcpu);
    uint16_t port = d->port_dx ? read_reg(s, s->rdx) & 0xffff : d->port;

    account_port(s, d->kind, port, d->kind == K_IN, 1, 1);
    if (batch_enabled && d->kind == K_OUT && port == batch_port &&
        d->width == 4) {
        audit_doorbell(vcpu, s, read_reg(s, s->rax));
    }
}

/* A string I/O execution: iterations are counted by its memory accesses. */
static void vcpu_string_io(unsigned int vcpu, void *udata)
{
    VCPUState *s = vcpu_state(vcpu);

    s->str_port = read_reg(s, s->rdx) & 0xffff;
    s->ins_phase = 0;
    s->ins_bytes = 0;
}

/*
 * OUTS loads one element per iteration.  INS stores twice per iteration
 * (QEMU writes a dummy first so that a page fault is restartable).  KVM
 * exits once per OUTS element, but reads INS input ahead in one exit per
 * 1 KiB (it does not model the page-boundary limit).
 */
static void vcpu_string_mem(unsigned int vcpu, qemu_plugin_meminfo_t info,
                            uint64_t vaddr, void *udata)
{
    const Insn *d = udata;
    VCPUState *s = vcpu_state(vcpu);
    uint16_t port = s->str_port;

    if (d->kind == K_OUTS) {
        account_port(s, K_OUTS, port, false, 1, 1);
        return;
    }
    s->ins_phase ^= 1;
    if (s->ins_phase) {
        return;
    }
    account_port(s, K_INS, port, true, 1, s->ins_bytes % 1024 == 0);
    s->ins_bytes += d->width;
}

static void vcpu_cpuid(unsigned int vcpu, void *udata)
{
    VCPUState *s = vcpu_state(vcpu);
    uint32_t leaf = read_reg(s, s->rax);
    unsigned slot = CPUID_SLOTS - 1;

    if (leaf < 64) {
        slot = leaf;
    } else if (leaf - 0x40000000u < 64) {
        slot = 64 + leaf - 0x40000000u;
    } else if (leaf - 0x80000000u < 64) {
        slot = 128 + leaf - 0x80000000u;
    }
    s->cpuid[slot]++;
    account(s, K_CPUID, H_KERNEL, 1);
}

static void vcpu_msr(unsigned int vcpu, void *udata)
{
    const Insn *d = udata;
    VCPUState *s = vcpu_state(vcpu);
    uint32_t msr = read_reg(s, s->rcx);
    bool write = d->kind == K_WRMSR;
    unsigned i, h = (msr * 2654435761u) % MSR_SLOTS;

    for (i = 0; i < MSR_SLOTS; i++) {
        MsrSlot *m = &s->msr[(h + i) % MSR_SLOTS];

        if (m->key == 0) {
            m->key = (uint64_t)msr + 1;
        }
        if (m->key == (uint64_t)msr + 1) {
            if (write) {
                m->wr++;
            } else {
                m->rd++;
            }
            break;
        }
    }
    if (i == MSR_SLOTS) {
        s->msr_overflow++;
    }
    if (msr_is_kvmclock(msr)) {
        s->kvmclock++;
    }
    account(s, d->kind, msr_handler(msr, write), 1);
}

static void vcpu_simple(unsigned int vcpu, void *udata)
{
    const Insn *d = udata;

    account(vcpu_state(vcpu), d->kind, d->handler, 1);
}

static void close_section(VCPUState *s, unsigned int vcpu, uint64_t pc,
                          bool closed)
{
    Section sec = {
        .id = s->sec_id, .vcpu = vcpu, .begin_pc = s->sec_pc, .end_pc = pc,
        .kexits = s->sec_k, .uexits = s->sec_u, .closed = closed,
    };

    g_mutex_lock(&lock);
    g_array_append_val(sections, sec);
    g_mutex_unlock(&lock);
    s->sec_open = 0;
}

static void vcpu_marker(unsigned int vcpu, void *udata)
{
    const Insn *d = udata;
    VCPUState *s = vcpu_state(vcpu);

    switch (d->kind) {
    case K_MARK_BEGIN:
        if (s->sec_open) {
            /* a BEGIN without END closes the open section, unterminated */
            close_section(s, vcpu, d->pc, false);
        }
        s->sec_open = 1;
        s->sec_id = g_atomic_int_add(&next_section_id, 1);
        s->sec_k = s->sec_u = 0;
        s->sec_pc = d->pc;
        break;
    case K_MARK_END:
        if (s->sec_open) {
            close_section(s, vcpu, d->pc, true);
        }
        break;
    case K_MARK_RESET:
        memset(&s->counters_start, 0,
               sizeof(*s) - offsetof(VCPUState, counters_start));
        break;
    }
}

static void vcpu_mmio(unsigned int vcpu, qemu_plugin_meminfo_t info,
                      uint64_t vaddr, void *udata)
{
    struct qemu_plugin_hwaddr *hw = qemu_plugin_get_hwaddr(info, vaddr);
    VCPUState *s;
    uint64_t addr, key;
    bool write, is_io;
    enum handler h;
    unsigned i, slot;

    if (!hw) {
        return;
    }
    addr = qemu_plugin_hwaddr_phys_addr(hw);
    is_io = qemu_plugin_hwaddr_is_io(hw);
    /*
     * QEMU 10.2's qemu_plugin_hwaddr_is_io() misses TLB_MMIO (a "slow"
     * TLB flag since 9.0) and always says RAM; the local APIC, IOAPIC and
     * HPET window can never be RAM, so catch at least that.
     */
    if (!is_io && (addr < 0xfec00000 || addr >= 0xff000000)) {
        return;
    }
    s = vcpu_state(vcpu);
    write = qemu_plugin_mem_is_store(info);
    h = mmio_handler(addr, write);
    key = (addr >> 12) + 1;
    slot = (key * 2654435761u) % MMIO_SLOTS;
    for (i = 0; i < MMIO_SLOTS; i++) {
        MmioSlot *m = &s->mmio[(slot + i) % MMIO_SLOTS];

        if (m->key == 0) {
            m->key = key;
            m->device = is_io ? qemu_plugin_hwaddr_device_name(hw) : NULL;
        }
        if (m->key == key) {
            m->reads += !write;
            m->writes += write;
            m->kexits += h == H_KERNEL;
            m->uexits += h == H_USER;
            break;
        }
    }
    if (i == MMIO_SLOTS) {
        s->mmio_overflow++;
    }
    account(s, write ? K_MMIO_WRITE : K_MMIO_READ, h, 1);
}

static void vcpu_discon(qemu_plugin_id_t id, unsigned int vcpu,
                        enum qemu_plugin_discon_type type, uint64_t from_pc,
                        uint64_t to_pc)
{
    VCPUState *s = vcpu_state(vcpu);

    if (type == QEMU_PLUGIN_DISCON_INTERRUPT) {
        s->interrupts++;
    } else if (type == QEMU_PLUGIN_DISCON_EXCEPTION) {
        s->exceptions++;
    }
}

static struct qemu_plugin_register *find_reg(GArray *regs, const char *a,
                                             const char *b)
{
    unsigned i;

    for (i = 0; i < regs->len; i++) {
        qemu_plugin_reg_descriptor *r =
            &g_array_index(regs, qemu_plugin_reg_descriptor, i);

        if (!strcmp(r->name, a) || !strcmp(r->name, b)) {
            return r->handle;
        }
    }
    return NULL;
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int vcpu)
{
    VCPUState *s = vcpu_state(vcpu);
    g_autoptr(GArray) regs = qemu_plugin_get_registers();

    s->rax = find_reg(regs, "rax", "eax");
    s->rcx = find_reg(regs, "rcx", "ecx");
    s->rdx = find_reg(regs, "rdx", "edx");
    s->buf = g_byte_array_new();
    if (!s->rax || !s->rcx || !s->rdx) {
        qemu_plugin_outs("rt-audit: warning: no rax/rcx/rdx registers; "
                         "ports from DX, MSRs and CPUID leaves read as 0\n");
    }
}

/* ---- translation --------------------------------------------------- */

static const uint8_t marker_prefix[] = { 0x0f, 0x1f, 0x84, 0x00 };
static const uint8_t marker_suffix[] = { 0x53, 0x54, 0x52 };

/* 0f xx: the second opcode byte decides */
static const struct { uint8_t op, kind; } op_0f[] = {
    { 0xa2, K_CPUID }, { 0x30, K_WRMSR }, { 0x32, K_RDMSR },
    { 0x33, K_RDPMC }, { 0x09, K_WBINVD }, { 0x08, K_INVD },
    { 0x21, K_MOV_DR }, { 0x23, K_MOV_DR },
};

/* 0f 01 xx with a register ModRM */
static const struct { uint8_t modrm, kind; } op_0f01[] = {
    { 0xc8, K_MONITOR }, { 0xfa, K_MONITOR }, { 0xc9, K_MWAIT },
    { 0xfb, K_MWAIT }, { 0xd1, K_XSETBV }, { 0xc1, K_VMCALL },
    { 0xd9, K_VMMCALL },
};

/* Decode the exiting instructions; K_NOTHING for everything else. */
static void decode(Insn *d)
{
    const uint8_t *b = d->bytes;
    size_t n = d->len, i, k;
    bool opsize = false, rep = false;
    uint8_t rex = 0, op, modrm;

    d->kind = K_NOTHING;
    if (n == 8 && !memcmp(b, marker_prefix, 4) &&
        !memcmp(b + 5, marker_suffix, 3) && b[4] <= 2) {
        d->kind = b[4] == 0 ? K_MARK_RESET :
                  b[4] == 1 ? K_MARK_BEGIN : K_MARK_END;
        return;
    }
    for (i = 0; i < n; i++) {
        switch (b[i]) {
        case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
        case 0x67: case 0xf0:
            continue;
        case 0x66:
            opsize = true;
            continue;
        case 0xf2: case 0xf3:
            rep = true;
            continue;
        }
        break;
    }
    /*
     * 0x40-0x4f is REX only in 64-bit mode, where it cannot be the last
     * byte; outside it, QEMU hands us INC/DEC as a one-byte instruction.
     */
    if (i + 1 < n && (b[i] & 0xf0) == 0x40) {
        rex = b[i++];
    }
    if (i >= n) {
        return;
    }
    op = b[i++];
    d->rep = rep;
    d->width = opsize ? 2 : 4;
    switch (op) {
    case 0xe4: case 0xe5: case 0xe6: case 0xe7:
        if (i >= n) {
            return;
        }
        d->port = b[i];
        /* fall through */
    case 0xec: case 0xed: case 0xee: case 0xef:
        d->kind = (op & 2) ? K_OUT : K_IN;
        d->port_dx = op >= 0xec;
        d->width = (op & 1) ? d->width : 1;
        return;
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:
        d->kind = (op & 2) ? K_OUTS : K_INS;
        d->port_dx = true;
        d->width = (op & 1) ? d->width : 1;
        return;
    case 0xf4:
        d->kind = K_HLT;
        return;
    case 0x90:
        if (b[0] == 0xf3 && !(rex & 1)) {
            d->kind = K_PAUSE;
        }
        return;
    case 0x0f:
        break;
    default:
        return;
    }
    if (i >= n) {
        return;
    }
    op = b[i++];
    modrm = i < n ? b[i] : 0;
    switch (op) {
    case 0x22: {
        unsigned cr = ((rex & 4) ? 8 : 0) | ((modrm >> 3) & 7);

        d->kind = cr == 3 ? K_MOV_CR3 : cr == 8 ? K_MOV_CR8 : K_MOV_CR;
        return;
    }
    case 0x01:
        if (i >= n) {
            return;
        }
        for (k = 0; k < G_N_ELEMENTS(op_0f01); k++) {
            if (op_0f01[k].modrm == modrm) {
                d->kind = op_0f01[k].kind;
                return;
            }
        }
        if ((modrm >> 6) != 3 && ((modrm >> 3) & 7) == 7) {
            d->kind = K_INVLPG;
        }
        return;
    }
    for (k = 0; k < G_N_ELEMENTS(op_0f); k++) {
        if (op_0f[k].op == op) {
            d->kind = op_0f[k].kind;
            return;
        }
    }
}

/* The Insn for these bytes at this pc, shared across retranslations. */
static const Insn *lookup_insn(struct qemu_plugin_insn *insn)
{
    Insn probe = { .pc = qemu_plugin_insn_vaddr(insn) };
    Insn *d;
    GSList *l, *head;

    probe.len = qemu_plugin_insn_data(insn, probe.bytes,
                                      sizeof(probe.bytes));
    g_mutex_lock(&lock);
    head = g_hash_table_lookup(insns, &probe.pc);
    for (l = head; l; l = l->next) {
        d = l->data;
        if (d->len == probe.len && !memcmp(d->bytes, probe.bytes, d->len)) {
            g_mutex_unlock(&lock);
            return d;
        }
    }
    d = g_memdup2(&probe, sizeof(probe));
    decode(d);
    if (d->kind < K_MAX) {
        d->handler = static_handler(d, 0);
    }
    g_hash_table_insert(insns, &d->pc, g_slist_prepend(head, d));
    g_mutex_unlock(&lock);
    return d;
}

static void vcpu_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb), i;

    for (i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        const Insn *d = lookup_insn(insn);
        void *ud = (void *)d;

        switch (d->kind) {
        case K_IN:
        case K_OUT:
            qemu_plugin_register_vcpu_insn_exec_cb(
                insn, vcpu_io,
                (d->port_dx || (d->kind == K_OUT && d->port == batch_port)) ?
                QEMU_PLUGIN_CB_R_REGS : QEMU_PLUGIN_CB_NO_REGS, ud);
            break;
        case K_INS:
        case K_OUTS:
            qemu_plugin_register_vcpu_insn_exec_cb(insn, vcpu_string_io,
                                                   QEMU_PLUGIN_CB_R_REGS, ud);
            qemu_plugin_register_vcpu_mem_cb(
                insn, vcpu_string_mem, QEMU_PLUGIN_CB_NO_REGS,
                d->kind == K_OUTS ? QEMU_PLUGIN_MEM_R : QEMU_PLUGIN_MEM_W,
                ud);
            continue;   /* its memory is the string, not MMIO */
        case K_CPUID:
            qemu_plugin_register_vcpu_insn_exec_cb(insn, vcpu_cpuid,
                                                   QEMU_PLUGIN_CB_R_REGS, ud);
            break;
        case K_RDMSR:
        case K_WRMSR:
            qemu_plugin_register_vcpu_insn_exec_cb(insn, vcpu_msr,
                                                   QEMU_PLUGIN_CB_R_REGS, ud);
            break;
        case K_MARK_BEGIN:
        case K_MARK_END:
        case K_MARK_RESET:
            qemu_plugin_register_vcpu_insn_exec_cb(insn, vcpu_marker,
                                                   QEMU_PLUGIN_CB_NO_REGS, ud);
            continue;
        case K_NOTHING:
            break;
        default:
            qemu_plugin_register_vcpu_insn_exec_cb(insn, vcpu_simple,
                                                   QEMU_PLUGIN_CB_NO_REGS, ud);
            break;
        }
        if (audit_mmio) {
            qemu_plugin_register_vcpu_mem_cb(insn, vcpu_mmio,
                                             QEMU_PLUGIN_CB_NO_REGS,
                                             QEMU_PLUGIN_MEM_RW, NULL);
        }
    }
}

/* ---- report -------------------------------------------------------- */

typedef struct {
    uint64_t kind[K_MAX], kind_k[K_MAX], kind_u[K_MAX];
    uint64_t kexits, uexits, interrupts, exceptions, kvmclock;
    uint64_t cpuid[CPUID_SLOTS];
    uint64_t doorbells, batch_entries, batch_accesses, batch_bad;
    uint64_t batch_hist[HIST_BUCKETS];
    uint64_t msr_overflow, mmio_overflow;
    GHashTable *msr;    /* msr -> MsrSlot, report time only */
    GHashTable *mmio;   /* page -> MmioSlot */
} Totals;

static const char *msr_name(uint32_t msr)
{
    switch (msr) {
    case 0x10: return "IA32_TSC";
    case 0x11: return "KVM_WALL_CLOCK (kvmclock)";
    case 0x12: return "KVM_SYSTEM_TIME (kvmclock)";
    case 0x1b: return "IA32_APIC_BASE";
    case 0x35: return "CORE_THREAD_COUNT";
    case 0x3a: return "IA32_FEATURE_CONTROL";
    case 0x48: return "IA32_SPEC_CTRL";
    case 0x174: return "IA32_SYSENTER_CS";
    case 0x175: return "IA32_SYSENTER_ESP";
    case 0x176: return "IA32_SYSENTER_EIP";
    case 0x277: return "IA32_PAT";
    case 0x6e0: return "IA32_TSC_DEADLINE";
    case 0x808: return "X2APIC_TPR";
    case 0x80b: return "X2APIC_EOI";
    case 0x830: return "X2APIC_ICR";
    case 0x838: return "X2APIC_TIMER_ICR";
    case 0xc0000080: return "IA32_EFER";
    case 0xc0000100: return "FS_BASE";
    case 0xc0000101: return "GS_BASE";
    case 0xc0000102: return "KERNEL_GS_BASE";
    case 0xc0000103: return "IA32_TSC_AUX";
    case 0x4b564d00: return "KVM_WALL_CLOCK_NEW (kvmclock)";
    case 0x4b564d01: return "KVM_SYSTEM_TIME_NEW (kvmclock)";
    case 0x4b564d02: return "KVM_ASYNC_PF_EN";
    case 0x4b564d03: return "KVM_STEAL_TIME";
    case 0x4b564d04: return "KVM_PV_EOI_EN";
    }
    return NULL;
}

/* The region's name: QEMU's memory region, else the well-known ones. */
static const char *mmio_name(const MmioSlot *m)
{
    switch (m->key - 1) {
    case 0xfee00:
        return "xAPIC";
    case 0xfec00:
        return "IOAPIC";
    case 0xfed00:
        return "HPET";
    }
    return m->device ? m->device : "mmio";
}

static const char *handler_name(enum handler h)
{
    return h == H_NONE ? "none" : h == H_KERNEL ? "kernel" : "userspace";
}

static uint32_t cpuid_leaf(unsigned slot)
{
    if (slot < 64) {
        return slot;
    }
    return slot < 128 ? 0x40000000u + slot - 64 : 0x80000000u + slot - 128;
}

static void sum_vcpus(Totals *t, int nvcpus)
{
    int v;
    unsigned i;

    memset(t, 0, sizeof(*t));
    t->msr = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                   g_free);
    t->mmio = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                    g_free);
    for (v = 0; v < nvcpus; v++) {
        VCPUState *s = vcpu_state(v);

        for (i = 0; i < K_MAX; i++) {
            t->kind[i] += s->kind[i];
            t->kind_k[i] += s->kind_k[i];
            t->kind_u[i] += s->kind_u[i];
        }
        for (i = 0; i < CPUID_SLOTS; i++) {
            t->cpuid[i] += s->cpuid[i];
        }
        for (i = 0; i < HIST_BUCKETS; i++) {
            t->batch_hist[i] += s->batch_hist[i];
        }
        t->kexits += s->kexits;
        t->uexits += s->uexits;
        t->interrupts += s->interrupts;
        t->exceptions += s->exceptions;
        t->kvmclock += s->kvmclock;
        t->doorbells += s->doorbells;
        t->batch_entries += s->batch_entries;
        t->batch_accesses += s->batch_accesses;
        t->batch_bad += s->batch_bad;
        t->msr_overflow += s->msr_overflow;
        t->mmio_overflow += s->mmio_overflow;
        for (i = 0; i < MSR_SLOTS; i++) {
            MsrSlot *m = &s->msr[i], *acc;

            if (!m->key) {
                continue;
            }
            acc = g_hash_table_lookup(t->msr, &m->key);
            if (!acc) {
                acc = g_new0(MsrSlot, 1);
                acc->key = m->key;
                g_hash_table_insert(t->msr, &acc->key, acc);
            }
            acc->rd += m->rd;
            acc->wr += m->wr;
        }
        for (i = 0; i < MMIO_SLOTS; i++) {
            MmioSlot *m = &s->mmio[i], *acc;

            if (!m->key) {
                continue;
            }
            acc = g_hash_table_lookup(t->mmio, &m->key);
            if (!acc) {
                acc = g_new0(MmioSlot, 1);
                acc->key = m->key;
                acc->device = m->device;
                g_hash_table_insert(t->mmio, &acc->key, acc);
            }
            acc->reads += m->reads;
            acc->writes += m->writes;
            acc->kexits += m->kexits;
            acc->uexits += m->uexits;
        }
    }
}

static gint cmp_key(gconstpointer a, gconstpointer b)
{
    uint64_t ka = **(const uint64_t **)a, kb = **(const uint64_t **)b;

    return ka < kb ? -1 : ka > kb;
}

static GPtrArray *sorted_values(GHashTable *h)
{
    GPtrArray *arr = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, h);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_ptr_array_add(arr, v);
    }
    g_ptr_array_sort(arr, cmp_key);
    return arr;
}

static void json_str(GString *j, const char *s)
{
    g_string_append_c(j, '"');
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') {
            g_string_append_c(j, '\\');
            g_string_append_c(j, *s);
        } else if ((unsigned char)*s < 0x20) {
            g_string_append_printf(j, "\\u%04x", *s);
        } else {
            g_string_append_c(j, *s);
        }
    }
    g_string_append_c(j, '"');
}

static bool section_failed(const Section *sec)
{
    return have_budget && sec->kexits + sec->uexits > budget;
}

static void model_text(GString *r)
{
    g_string_append_printf(r, "rt-audit: exit model %s: %s, APICv %s, "
                           "kernel-irqchip=%s, PAUSE %s, cpu-pm=%s\n",
                           model_name[model],
                           model == M_ALL ? "no EPT/NPT, every audited "
                           "event exits" : model == M_KVM_AMD ? "NPT" : "EPT",
                           apicv ? "on" : "off", irqchip_name[irqchip],
                           pause_exits || model == M_ALL ? "exits" :
                           "not an exit (PLE)", cpu_pm ? "on" : "off");
}

static void report_text(Totals *t, GArray *secs, int nvcpus)
{
    g_autoptr(GString) r = g_string_new(NULL);
    g_autoptr(GPtrArray) msrs = sorted_values(t->msr);
    g_autoptr(GPtrArray) mmio = sorted_values(t->mmio);
    unsigned i, p;
    int v;

    model_text(r);
    g_string_append_printf(r, "rt-audit: %d vCPU(s); estimated exits %"
                           PRIu64 ": %" PRIu64 " handled in the kernel, %"
                           PRIu64 " to userspace QEMU; interrupts %" PRIu64
                           ", exceptions %" PRIu64 "\n", nvcpus,
                           t->kexits + t->uexits, t->kexits, t->uexits,
                           t->interrupts, t->exceptions);
    g_string_append(r, "  instruction        count     kernel  userspace\n");
    for (i = 0; i < K_MAX; i++) {
        if (t->kind[i]) {
            g_string_append_printf(r, "  %-15s %9" PRIu64 " %10" PRIu64
                                   " %10" PRIu64 "\n", kind_name[i],
                                   t->kind[i], t->kind_k[i], t->kind_u[i]);
        }
    }
    g_string_append(r, "  port          in        out      exits  handled\n");
    for (p = 0; p < 65536; p++) {
        uint64_t in = 0, out = 0, ex = 0;

        for (v = 0; v < nvcpus; v++) {
            VCPUState *s = vcpu_state(v);

            in += s->port_in[p];
            out += s->port_out[p];
            ex += s->port_exits[p];
        }
        if (in || out) {
            g_string_append_printf(r, "  0x%04x %9" PRIu64 " %10" PRIu64
                                   " %10" PRIu64 "  %s\n", p, in, out, ex,
                                   handler_name(port_handler[p]));
        }
    }
    for (i = 0; i < msrs->len; i++) {
        MsrSlot *m = g_ptr_array_index(msrs, i);
        uint32_t msr = m->key - 1;
        const char *name = msr_name(msr);

        g_string_append_printf(r, "  msr 0x%08x%s%s: rdmsr %" PRIu64
                               " (%s), wrmsr %" PRIu64 " (%s)\n", msr,
                               name ? " " : "", name ? name : "", m->rd,
                               handler_name(msr_handler(msr, false)), m->wr,
                               handler_name(msr_handler(msr, true)));
    }
    for (i = 0; i < CPUID_SLOTS; i++) {
        if (t->cpuid[i]) {
            if (i == CPUID_SLOTS - 1) {
                g_string_append_printf(r, "  cpuid other leaves: %" PRIu64
                                       "\n", t->cpuid[i]);
            } else {
                g_string_append_printf(r, "  cpuid leaf 0x%x: %" PRIu64 "\n",
                                       cpuid_leaf(i), t->cpuid[i]);
            }
        }
    }
    for (i = 0; i < mmio->len; i++) {
        MmioSlot *m = g_ptr_array_index(mmio, i);

        g_string_append_printf(r, "  mmio page 0x%" PRIx64 " %s: reads %"
                               PRIu64 ", writes %" PRIu64 ", kernel exits %"
                               PRIu64 ", userspace exits %" PRIu64 "\n",
                               (m->key - 1) << 12, mmio_name(m),
                               m->reads, m->writes, m->kexits, m->uexits);
    }
    if (t->doorbells) {
        g_string_append_printf(r, "  pio-batch doorbell 0x%" PRIx64
                               ": %" PRIu64 " exits served %" PRIu64
                               " accesses (%" PRIu64 " entries, %" PRIu64
                               " unreadable tables)\n", batch_port,
                               t->doorbells, t->batch_accesses,
                               t->batch_entries, t->batch_bad);
    }
    if (t->kvmclock) {
        g_string_append_printf(r, "rt-audit: WARNING kvmclock MSRs used %"
                               PRIu64 " times\n", t->kvmclock);
    }
    for (i = 0; i < secs->len; i++) {
        Section *sec = &g_array_index(secs, Section, i);

        g_string_append_printf(r, "  section %u (vCPU %u, 0x%" PRIx64
                               "%s): %" PRIu64 " exits (%" PRIu64
                               " kernel, %" PRIu64 " userspace)\n", sec->id,
                               sec->vcpu, sec->begin_pc,
                               sec->closed ? "" : ", not closed",
                               sec->kexits + sec->uexits, sec->kexits,
                               sec->uexits);
    }
    qemu_plugin_outs(r->str);
}

static void json_counts(GString *j, uint64_t count, uint64_t k, uint64_t u)
{
    g_string_append_printf(j, "\"count\": %" PRIu64 ", \"kernel_exits\": %"
                           PRIu64 ", \"userspace_exits\": %" PRIu64, count,
                           k, u);
}

static bool report_json(Totals *t, GArray *secs, int nvcpus, unsigned nfail)
{
    g_autoptr(GString) j = g_string_new(NULL);
    g_autoptr(GPtrArray) msrs = sorted_values(t->msr);
    g_autoptr(GPtrArray) mmio = sorted_values(t->mmio);
    g_autoptr(GError) err = NULL;
    const char *sep = "";
    unsigned i, p;
    int v;

    g_string_append_printf(j, "{\n  \"schema\": \"qemu-rt/rt-audit\",\n"
                           "  \"version\": %d,\n", REPORT_VERSION);
    g_string_append_printf(j, "  \"model\": {\"name\": \"%s\", "
                           "\"kernel_irqchip\": \"%s\", \"apicv\": %s, "
                           "\"pause_exits\": %s, \"cpu_pm\": %s},\n",
                           model_name[model], irqchip_name[irqchip],
                           apicv ? "true" : "false",
                           pause_exits || model == M_ALL ? "true" : "false",
                           cpu_pm ? "true" : "false");
    g_string_append_printf(j, "  \"vcpus\": %d,\n  \"totals\": {\"exits\": %"
                           PRIu64 ", \"kernel_exits\": %" PRIu64
                           ", \"userspace_exits\": %" PRIu64
                           ", \"interrupts\": %" PRIu64
                           ", \"exceptions\": %" PRIu64 "},\n", nvcpus,
                           t->kexits + t->uexits, t->kexits, t->uexits,
                           t->interrupts, t->exceptions);
    g_string_append(j, "  \"per_vcpu\": [");
    for (v = 0; v < nvcpus; v++) {
        VCPUState *s = vcpu_state(v);

        g_string_append_printf(j, "%s\n    {\"vcpu\": %d, \"kernel_exits\": %"
                               PRIu64 ", \"userspace_exits\": %" PRIu64
                               ", \"interrupts\": %" PRIu64
                               ", \"exceptions\": %" PRIu64 "}",
                               v ? "," : "", v, s->kexits, s->uexits,
                               s->interrupts, s->exceptions);
    }
    g_string_append(j, "\n  ],\n  \"instructions\": {");
    for (i = 0; i < K_MAX; i++) {
        g_string_append_printf(j, "%s\n    \"%s\": {", i ? "," : "",
                               kind_name[i]);
        json_counts(j, t->kind[i], t->kind_k[i], t->kind_u[i]);
        g_string_append(j, "}");
    }
    g_string_append(j, "\n  },\n  \"ports\": [");
    for (p = 0; p < 65536; p++) {
        uint64_t in = 0, out = 0, ex = 0;

        for (v = 0; v < nvcpus; v++) {
            VCPUState *s = vcpu_state(v);

            in += s->port_in[p];
            out += s->port_out[p];
            ex += s->port_exits[p];
        }
        if (in || out) {
            g_string_append_printf(j, "%s\n    {\"port\": %u, \"in\": %" PRIu64
                                   ", \"out\": %" PRIu64 ", \"exits\": %"
                                   PRIu64 ", \"handled\": \"%s\"}", sep, p,
                                   in, out, ex,
                                   handler_name(port_handler[p]));
            sep = ",";
        }
    }
    g_string_append(j, "\n  ],\n  \"msrs\": [");
    for (i = 0; i < msrs->len; i++) {
        MsrSlot *m = g_ptr_array_index(msrs, i);
        uint32_t msr = m->key - 1;

        g_string_append_printf(j, "%s\n    {\"msr\": %u, \"name\": ",
                               i ? "," : "", msr);
        if (msr_name(msr)) {
            json_str(j, msr_name(msr));
        } else {
            g_string_append(j, "null");
        }
        g_string_append_printf(j, ", \"rdmsr\": %" PRIu64 ", \"wrmsr\": %"
                               PRIu64 ", \"rdmsr_handled\": \"%s\", "
                               "\"wrmsr_handled\": \"%s\", \"kvmclock\": %s}",
                               m->rd, m->wr,
                               handler_name(msr_handler(msr, false)),
                               handler_name(msr_handler(msr, true)),
                               msr_is_kvmclock(msr) ? "true" : "false");
    }
    g_string_append_printf(j, "\n  ],\n  \"msrs_untracked\": %" PRIu64
                           ",\n  \"cpuid\": [", t->msr_overflow);
    sep = "";
    for (i = 0; i < CPUID_SLOTS; i++) {
        if (t->cpuid[i]) {
            if (i == CPUID_SLOTS - 1) {
                g_string_append_printf(j, "%s\n    {\"leaf\": null, "
                                       "\"count\": %" PRIu64 "}", sep,
                                       t->cpuid[i]);
            } else {
                g_string_append_printf(j, "%s\n    {\"leaf\": %u, "
                                       "\"count\": %" PRIu64 "}", sep,
                                       cpuid_leaf(i), t->cpuid[i]);
            }
            sep = ",";
        }
    }
    g_string_append(j, "\n  ],\n  \"mmio\": [");
    for (i = 0; i < mmio->len; i++) {
        MmioSlot *m = g_ptr_array_index(mmio, i);

        g_string_append_printf(j, "%s\n    {\"page\": %" PRIu64
                               ", \"device\": ", i ? "," : "",
                               (m->key - 1) << 12);
        json_str(j, mmio_name(m));
        g_string_append_printf(j, ", \"reads\": %" PRIu64 ", \"writes\": %"
                               PRIu64 ", \"kernel_exits\": %" PRIu64
                               ", \"userspace_exits\": %" PRIu64 "}",
                               m->reads, m->writes, m->kexits, m->uexits);
    }
    g_string_append_printf(j, "\n  ],\n  \"mmio_pages_untracked\": %" PRIu64
                           ",\n", t->mmio_overflow);
    g_string_append_printf(j, "  \"kvmclock\": {\"used\": %s, \"accesses\": %"
                           PRIu64 "},\n", t->kvmclock ? "true" : "false",
                           t->kvmclock);
    g_string_append_printf(j, "  \"pio_batch\": {\"port\": %" PRIu64
                           ", \"enabled\": %s, \"doorbells\": %" PRIu64
                           ", \"entries\": %" PRIu64 ", \"accesses\": %"
                           PRIu64 ", \"unreadable\": %" PRIu64
                           ",\n    \"histogram\": [", batch_port,
                           batch_enabled ? "true" : "false", t->doorbells,
                           t->batch_entries, t->batch_accesses, t->batch_bad);
    sep = "";
    for (i = 0; i < HIST_BUCKETS; i++) {
        uint64_t lo = i ? (uint64_t)1 << (i - 1) : 0;

        if (t->batch_hist[i]) {
            g_string_append_printf(j, "%s{\"min\": %" PRIu64 ", \"max\": ",
                                   sep, lo);
            if (i == HIST_BUCKETS - 1) {
                g_string_append(j, "null");
            } else {
                g_string_append_printf(j, "%" PRIu64,
                                       i ? ((uint64_t)1 << i) - 1 : 0);
            }
            g_string_append_printf(j, ", \"count\": %" PRIu64 "}",
                                   t->batch_hist[i]);
            sep = ", ";
        }
    }
    g_string_append(j, "],\n    \"exits\": [");
    g_mutex_lock(&lock);
    for (i = 0; i < doorbells->len; i++) {
        Doorbell *d = &g_array_index(doorbells, Doorbell, i);

        g_string_append_printf(j, "%s\n      {\"vcpu\": %u, \"table\": %"
                               PRIu64 ", \"valid\": %s, \"version\": %u, "
                               "\"entries\": %" PRIu64 ", \"accesses\": %"
                               PRIu64 "}", i ? "," : "", d->vcpu, d->table,
                               d->valid ? "true" : "false", d->version,
                               d->entries, d->accesses);
    }
    g_string_append_printf(j, "\n    ],\n    \"exits_dropped\": %" PRIu64
                           "\n  },\n", doorbells_dropped);
    g_mutex_unlock(&lock);
    g_string_append(j, "  \"sections\": {\"budget\": ");
    if (have_budget) {
        g_string_append_printf(j, "%" PRIu64, budget);
    } else {
        g_string_append(j, "null");
    }
    g_string_append_printf(j, ", \"failed\": %u, \"list\": [", nfail);
    for (i = 0; i < secs->len; i++) {
        Section *sec = &g_array_index(secs, Section, i);

        g_string_append_printf(j, "%s\n    {\"id\": %u, \"vcpu\": %u, "
                               "\"begin_pc\": %" PRIu64 ", \"end_pc\": %"
                               PRIu64 ", \"closed\": %s, \"exits\": %" PRIu64
                               ", \"kernel_exits\": %" PRIu64
                               ", \"userspace_exits\": %" PRIu64
                               ", \"over_budget\": %s}", i ? "," : "",
                               sec->id, sec->vcpu, sec->begin_pc,
                               sec->end_pc, sec->closed ? "true" : "false",
                               sec->kexits + sec->uexits, sec->kexits,
                               sec->uexits,
                               section_failed(sec) ? "true" : "false");
    }
    g_string_append(j, "\n  ]}\n}\n");
    if (!g_file_set_contents(out_path, j->str, j->len, &err)) {
        g_autofree char *msg = g_strdup_printf("rt-audit: cannot write %s: "
                                               "%s\n", out_path,
                                               err->message);
        qemu_plugin_outs(msg);
        return false;
    }
    return true;
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
    int nvcpus = qemu_plugin_num_vcpus(), v;
    g_autoptr(GArray) secs = g_array_new(false, false, sizeof(Section));
    Totals t;
    unsigned i, nfail = 0;
    bool ok = true;

    /* sections still open at exit are reported, marked not closed */
    g_mutex_lock(&lock);
    g_array_append_vals(secs, sections->data, sections->len);
    g_mutex_unlock(&lock);
    for (v = 0; v < nvcpus; v++) {
        VCPUState *s = vcpu_state(v);

        if (s->sec_open) {
            Section sec = {
                .id = s->sec_id, .vcpu = v, .begin_pc = s->sec_pc,
                .kexits = s->sec_k, .uexits = s->sec_u,
            };
            g_array_append_val(secs, sec);
        }
    }
    sum_vcpus(&t, nvcpus);
    report_text(&t, secs, nvcpus);
    /* on stderr, not the plugin log, so that CI sees it without -d plugin */
    for (i = 0; i < secs->len; i++) {
        Section *sec = &g_array_index(secs, Section, i);

        if (section_failed(sec)) {
            fprintf(stderr, "rt-audit: FAIL section %u: %" PRIu64
                    " exits > budget %" PRIu64 "\n", sec->id,
                    sec->kexits + sec->uexits, budget);
            nfail++;
        }
    }
    if (out_path) {
        ok = report_json(&t, secs, nvcpus, nfail);
    }
    g_hash_table_destroy(t.msr);
    g_hash_table_destroy(t.mmio);
    if ((nfail || !ok) && fail_status) {
        /*
         * QEMU is already in exit(); a second exit() would be undefined.
         * Our atexit handler is the last one QEMU runs (it is registered
         * by a constructor), so flush stdio and leave with our status.
         */
        fflush(NULL);
        _exit(fail_status);
    }
}

/* ---- arguments ----------------------------------------------------- */

static bool parse_u64(const char *key, const char *val, uint64_t max,
                      uint64_t *ret)
{
    char *end;
    uint64_t v;

    if (!*val || *val == '-') {
        goto bad;
    }
    v = g_ascii_strtoull(val, &end, 0);
    if (*end || v > max) {
        goto bad;
    }
    *ret = v;
    return true;
bad:
    fprintf(stderr, "rt-audit: %s=%s is not a number from 0 to %" PRIu64
            "\n", key, val, max);
    return false;
}

static bool parse_bool(const char *key, const char *val, bool *ret)
{
    if (!qemu_plugin_bool_parse(key, val, ret)) {
        fprintf(stderr, "rt-audit: %s=%s: expected on or off\n", key, val);
        return false;
    }
    return true;
}

/* VAL is one of NAMES; *RET becomes its index, the enum's value. */
static bool parse_choice(const char *key, const char *val,
                         const char *const *names, size_t n, uint64_t *ret)
{
    g_autoptr(GString) expected = g_string_new(names[0]);
    size_t i;

    for (i = 0; i < n; i++) {
        if (!strcmp(val, names[i])) {
            *ret = i;
            return true;
        }
    }
    for (i = 1; i < n; i++) {
        g_string_append_printf(expected, "%s%s", i == n - 1 ? " or " : ", ",
                               names[i]);
    }
    fprintf(stderr, "rt-audit: %s=%s: expected %s\n", key, val,
            expected->str);
    return false;
}

static bool parse_arg(const char *opt)
{
    g_auto(GStrv) tok = g_strsplit(opt, "=", 2);
    const char *key = tok[0], *val = tok[1];
    uint64_t n;
    bool b;

    if (!val) {
        fprintf(stderr, "rt-audit: argument '%s' is not key=value\n", opt);
        return false;
    }
    if (!strcmp(key, "out")) {
        if (!*val) {
            fprintf(stderr, "rt-audit: out= needs a file name\n");
            return false;
        }
        g_free(out_path);
        out_path = g_strdup(val);
    } else if (!strcmp(key, "budget")) {
        if (!parse_u64(key, val, UINT64_MAX - 1, &budget)) {
            return false;
        }
        have_budget = true;
    } else if (!strcmp(key, "fail-status")) {
        if (!parse_u64(key, val, 255, &n)) {
            return false;
        }
        fail_status = n;
    } else if (!strcmp(key, "model")) {
        if (!parse_choice(key, val, model_name, G_N_ELEMENTS(model_name),
                          &n)) {
            return false;
        }
        model = n;
    } else if (!strcmp(key, "kernel-irqchip")) {
        if (!parse_choice(key, val, irqchip_name,
                          G_N_ELEMENTS(irqchip_name), &n)) {
            return false;
        }
        irqchip = n;
    } else if (!strcmp(key, "apicv")) {
        if (!parse_bool(key, val, &b)) {
            return false;
        }
        apicv = b;
    } else if (!strcmp(key, "cpu-pm")) {
        return parse_bool(key, val, &cpu_pm);
    } else if (!strcmp(key, "pause-exits")) {
        return parse_bool(key, val, &pause_exits);
    } else if (!strcmp(key, "mmio")) {
        return parse_bool(key, val, &audit_mmio);
    } else if (!strcmp(key, "batch")) {
        return parse_bool(key, val, &batch_enabled);
    } else if (!strcmp(key, "batch-port")) {
        if (!parse_u64(key, val, 0xffff, &batch_port)) {
            return false;
        }
    } else {
        fprintf(stderr, "rt-audit: unknown argument '%s' (known: out, "
                "budget, fail-status, model, kernel-irqchip, apicv, cpu-pm, "
                "pause-exits, mmio, batch, batch-port)\n", key);
        return false;
    }
    return true;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
                                           const qemu_info_t *info,
                                           int argc, char **argv)
{
    int i;

    if (info->system_emulation == false ||
        strcmp(info->target_name, "x86_64")) {
        fprintf(stderr, "rt-audit: needs qemu-system-x86_64 (this is %s%s)\n",
                info->system_emulation ? "qemu-system-" : "qemu-",
                info->target_name);
        return -1;
    }
    for (i = 0; i < argc; i++) {
        if (!parse_arg(argv[i])) {
            return -1;
        }
    }
    if (apicv < 0) {
        apicv = model == M_KVM_INTEL;   /* KVM's defaults: AVIC is off */
    }
    init_port_model();

    score = qemu_plugin_scoreboard_new(sizeof(VCPUState));
    insns = g_hash_table_new(g_int64_hash, g_int64_equal);
    sections = g_array_new(false, false, sizeof(Section));
    doorbells = g_array_new(false, false, sizeof(Doorbell));

    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, vcpu_tb_trans);
    qemu_plugin_register_vcpu_discon_cb(id, QEMU_PLUGIN_DISCON_INTERRUPT |
                                        QEMU_PLUGIN_DISCON_EXCEPTION,
                                        vcpu_discon);
    qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
    return 0;
}
