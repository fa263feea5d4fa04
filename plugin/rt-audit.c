/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit: count what a guest does that would leave the CPU (a VM exit)
 * under hardware virtualization, from inside QEMU's TCG.
 *
 * At translation time every instruction is decoded (decode.c); the ones
 * that exit under VMX/SVM are counted.  Where the count is fixed by the
 * bytes alone (HLT, PAUSE, MOV to CR, an IN/OUT with an immediate port,
 * ...) it is counted by inline adds to the vCPU's scoreboard entry;
 * where it depends on registers (port in DX, MSR index, CPUID leaf, the
 * pio-batch doorbell, string I/O) an execution callback reads them.
 * The memory accesses of the last instruction of each block, the only
 * one that QEMU lets reach MMIO, are checked for MMIO.  The exit model
 * (model.c) sorts each event into "no exit", "exit handled in the kernel"
 * and "exit to userspace QEMU"; guests can mark critical sections with
 * multi-byte NOPs (include/rt-audit-marker.h) checked against a budget.
 * One report is printed at exit (report.c).  docs/rt-audit.md describes
 * it all.
 */
#include <unistd.h>

#include "pio-batch.h"
#include "rt-audit.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* The plugin: its configuration, and what the vCPUs share. */
static struct {
    Config cfg;
    struct qemu_plugin_scoreboard *score;
    GMutex lock;                /* insns, sections, doorbells */
    GHashTable *insns;          /* pc -> GSList of Insn */
    GArray *sections;
    GArray *doorbells;
    uint64_t doorbells_dropped;
    unsigned next_section_id;
} rt = { .next_section_id = 1 };

static inline VCPUState *vcpu_state(unsigned int vcpu)
{
    return qemu_plugin_scoreboard_find(rt.score, vcpu);
}

/* ---- accounting from callbacks ------------------------------------- */

static inline void account(VCPUState *s, unsigned kind, enum handler h,
                           uint64_t n)
{
    s->kind[kind] += n;
    if (h == H_KERNEL) {
        s->kind_k[kind] += n;
        s->kexits += n;
    } else if (h == H_USER) {
        s->kind_u[kind] += n;
        s->uexits += n;
    }
}

static inline void account_port(VCPUState *s, unsigned kind, uint16_t port,
                                bool in, uint64_t n, uint64_t exits)
{
    if (in) {
        s->port_in[port] += n;
    } else {
        s->port_out[port] += n;
    }
    s->port_exits[port] += exits;
    s->kind[kind] += n;
    if (rt.cfg.port_handler[port] == H_KERNEL) {
        s->kind_k[kind] += exits;
        s->kexits += exits;
    } else {
        s->kind_u[kind] += exits;
        s->uexits += exits;
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
 * Accesses one pio-batch entry asks for: RMW is an IN and an OUT, POLL
 * its limit (the most reads it may make); -1 for an unknown operation.
 */
static int batch_entry_accesses(const struct pio_batch_entry *e)
{
    switch (e->op) {
    case PIO_BATCH_OP_OUT:
    case PIO_BATCH_OP_IN:
        return 1;
    case PIO_BATCH_OP_RMW:
        return 2;
    case PIO_BATCH_OP_POLL:
        return GUINT16_FROM_LE(e->limit);
    }
    return -1;
}

/*
 * The doorbell OUT is seen before it executes: the table (include/
 * pio-batch.h) holds what the guest asks for, the entries from the
 * header's start on.
 */
static void audit_doorbell(unsigned int vcpu, VCPUState *s, uint32_t value)
{
    uint64_t gpa = (uint64_t)value << PIO_BATCH_PAGE_SHIFT;
    g_autoptr(GByteArray) buf = g_byte_array_new();
    Doorbell rec = { .vcpu = vcpu, .table = gpa };
    struct pio_batch_header h;
    struct pio_batch_entry e;
    unsigned i, start = 0;

    s->doorbells++;
    if (qemu_plugin_read_memory_hwaddr(gpa, buf, sizeof(h)) ==
        QEMU_PLUGIN_HWADDR_OPERATION_OK) {
        memcpy(&h, buf->data, sizeof(h));
        rec.version = GUINT16_FROM_LE(h.version);
        rec.count = GUINT16_FROM_LE(h.count);
        start = GUINT16_FROM_LE(h.start);
        rec.valid = rec.version == PIO_BATCH_VERSION && start <= rec.count;
    }
    if (rec.valid && rec.count > start) {
        uint64_t first = gpa + sizeof(h) + start * sizeof(e);

        g_byte_array_set_size(buf, 0);
        if (qemu_plugin_read_memory_hwaddr(first, buf,
                                           (rec.count - start) * sizeof(e)) !=
            QEMU_PLUGIN_HWADDR_OPERATION_OK) {
            rec.valid = false;
        }
    }
    if (rec.valid) {
        for (i = 0; i < rec.count - start; i++) {
            int n;

            memcpy(&e, buf->data + i * sizeof(e), sizeof(e));
            n = batch_entry_accesses(&e);
            if (n < 0) {
                rec.valid = false;
            } else {
                rec.accesses += n;
            }
        }
        rec.entries = rec.count - start;
    }
    if (rec.valid) {
        s->batch_entries += rec.entries;
        s->batch_accesses += rec.accesses;
        s->batch_hist[hist_bucket(rec.accesses)]++;
    } else {
        s->batch_bad++;
    }
    g_mutex_lock(&rt.lock);
    if (rt.doorbells->len < MAX_DOORBELL_RECORDS) {
        g_array_append_val(rt.doorbells, rec);
    } else {
        rt.doorbells_dropped++;
    }
    g_mutex_unlock(&rt.lock);
}

/* ---- execution callbacks ------------------------------------------- */

/* IN/OUT with the port in DX, and the doorbell */
static void vcpu_io(unsigned int vcpu, void *udata)
{
    const Insn *d = udata;
    VCPUState *s = vcpu_state(vcpu);
    uint16_t port = d->d.port_dx ? read_reg(s, s->rdx) & 0xffff : d->d.port;

    account_port(s, d->d.kind, port, d->d.kind == K_IN, 1, 1);
    if (rt.cfg.batch_enabled && d->d.kind == K_OUT &&
        port == rt.cfg.batch_port && d->d.width == 4) {
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

    if (d->d.kind == K_OUTS) {
        account_port(s, K_OUTS, port, false, 1, 1);
        return;
    }
    s->ins_phase ^= 1;
    if (s->ins_phase) {
        return;
    }
    account_port(s, K_INS, port, true, 1, s->ins_bytes % 1024 == 0);
    s->ins_bytes += d->d.width;
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
    bool write = d->d.kind == K_WRMSR;
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
    account(s, d->d.kind, msr_handler(&rt.cfg, msr, write), 1);
}

/* A section's exits are those counted on its vCPU since it began. */
static Section open_section(const VCPUState *s, unsigned int vcpu)
{
    Section sec = {
        .id = s->sec_id, .vcpu = vcpu, .begin_pc = s->sec_pc,
        .kexits = s->kexits - s->sec_k0, .uexits = s->uexits - s->sec_u0,
    };

    return sec;
}

static void close_section(VCPUState *s, unsigned int vcpu, uint64_t pc,
                          bool closed)
{
    Section sec = open_section(s, vcpu);

    sec.end_pc = pc;
    sec.closed = closed;
    g_mutex_lock(&rt.lock);
    g_array_append_val(rt.sections, sec);
    g_mutex_unlock(&rt.lock);
    s->sec_open = 0;
}

static void vcpu_marker(unsigned int vcpu, void *udata)
{
    const Insn *d = udata;
    VCPUState *s = vcpu_state(vcpu);

    switch (d->d.kind) {
    case K_MARK_BEGIN:
        if (s->sec_open) {
            /* a BEGIN without END closes the open section, unterminated */
            close_section(s, vcpu, d->pc, false);
        }
        s->sec_open = 1;
        s->sec_id = g_atomic_int_add(&rt.next_section_id, 1);
        s->sec_k0 = s->kexits;
        s->sec_u0 = s->uexits;
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

static void count_mmio(VCPUState *s, struct qemu_plugin_hwaddr *hw,
                       uint64_t addr, bool is_io, bool write)
{
    enum handler h = mmio_handler(&rt.cfg, addr, write);
    uint64_t key = (addr >> 12) + 1;
    unsigned i, slot = (key * 2654435761u) % MMIO_SLOTS;

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

static void vcpu_mmio(unsigned int vcpu, qemu_plugin_meminfo_t info,
                      uint64_t vaddr, void *udata)
{
    struct qemu_plugin_hwaddr *hw = qemu_plugin_get_hwaddr(info, vaddr);
    uint64_t addr;
    bool is_io;

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
    count_mmio(vcpu_state(vcpu), hw, addr, is_io,
               qemu_plugin_mem_is_store(info));
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

/* The Insn for these bytes at this pc, shared across retranslations. */
static const Insn *intern_insn(const Insn *probe)
{
    GSList *l, *head;
    Insn *d;

    g_mutex_lock(&rt.lock);
    head = g_hash_table_lookup(rt.insns, &probe->pc);
    for (l = head; l; l = l->next) {
        d = l->data;
        if (d->len == probe->len &&
            !memcmp(d->bytes, probe->bytes, d->len)) {
            g_mutex_unlock(&rt.lock);
            return d;
        }
    }
    d = g_memdup2(probe, sizeof(*probe));
    g_hash_table_insert(rt.insns, &d->pc, g_slist_prepend(head, d));
    g_mutex_unlock(&rt.lock);
    return d;
}

static void inline_add(struct qemu_plugin_insn *insn, qemu_plugin_u64 entry)
{
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
        insn, QEMU_PLUGIN_INLINE_ADD_U64, entry, 1);
}

/* One event whose handler the bytes decide: inline adds, no callback. */
static void inline_account(struct qemu_plugin_insn *insn, unsigned kind,
                           enum handler h)
{
    inline_add(insn, VCPU_U64(rt.score, kind[kind]));
    if (h == H_KERNEL) {
        inline_add(insn, VCPU_U64(rt.score, kind_k[kind]));
        inline_add(insn, VCPU_U64(rt.score, kexits));
    } else if (h == H_USER) {
        inline_add(insn, VCPU_U64(rt.score, kind_u[kind]));
        inline_add(insn, VCPU_U64(rt.score, uexits));
    }
}

static void inline_port(struct qemu_plugin_insn *insn, const Decoded *d)
{
    if (d->kind == K_IN) {
        inline_add(insn, VCPU_U64(rt.score, port_in[d->port]));
    } else {
        inline_add(insn, VCPU_U64(rt.score, port_out[d->port]));
    }
    inline_add(insn, VCPU_U64(rt.score, port_exits[d->port]));
    inline_account(insn, d->kind, rt.cfg.port_handler[d->port]);
}

/* The port is in DX, or the OUT may ring the pio-batch doorbell */
static bool needs_registers(const Decoded *d)
{
    return d->port_dx || (rt.cfg.batch_enabled && d->kind == K_OUT &&
                          d->port == rt.cfg.batch_port && d->width == 4);
}

static void exec_cb(struct qemu_plugin_insn *insn,
                    qemu_plugin_vcpu_udata_cb_t cb, const Insn *probe)
{
    qemu_plugin_register_vcpu_insn_exec_cb(insn, cb, QEMU_PLUGIN_CB_R_REGS,
                                           (void *)intern_insn(probe));
}

/* Instrument one instruction; false when its memory is not to be audited */
static bool instrument(struct qemu_plugin_insn *insn)
{
    Insn probe = { .pc = qemu_plugin_insn_vaddr(insn) };
    const Decoded *d = &probe.d;

    probe.len = qemu_plugin_insn_data(insn, probe.bytes,
                                      sizeof(probe.bytes));
    decode_insn(probe.bytes, probe.len, &probe.d);
    switch (d->kind) {
    case K_IN:
    case K_OUT:
        if (needs_registers(d)) {
            exec_cb(insn, vcpu_io, &probe);
        } else {
            inline_port(insn, d);
        }
        return true;
    case K_INS:
    case K_OUTS: {
        const Insn *in = intern_insn(&probe);

        qemu_plugin_register_vcpu_insn_exec_cb(insn, vcpu_string_io,
                                               QEMU_PLUGIN_CB_R_REGS,
                                               (void *)in);
        qemu_plugin_register_vcpu_mem_cb(
            insn, vcpu_string_mem, QEMU_PLUGIN_CB_NO_REGS,
            d->kind == K_OUTS ? QEMU_PLUGIN_MEM_R : QEMU_PLUGIN_MEM_W,
            (void *)in);
        return false;   /* its memory is the string, not MMIO */
    }
    case K_CPUID:
        exec_cb(insn, vcpu_cpuid, &probe);
        return true;
    case K_RDMSR:
    case K_WRMSR:
        exec_cb(insn, vcpu_msr, &probe);
        return true;
    case K_MARK_BEGIN:
    case K_MARK_END:
    case K_MARK_RESET:
        qemu_plugin_register_vcpu_insn_exec_cb(insn, vcpu_marker,
                                               QEMU_PLUGIN_CB_NO_REGS,
                                               (void *)intern_insn(&probe));
        return false;
    case K_NOTHING:
        return true;
    default:
        inline_account(insn, d->kind, static_handler(&rt.cfg, d));
        return true;
    }
}

/*
 * Only the last instruction of a block can reach MMIO: QEMU lets I/O
 * happen there alone (can_do_io), and an earlier instruction that touches
 * MMIO is rewound by cpu_io_recompile() and run again as a block of its
 * own, translated with only its memory callbacks (CF_MEMI_ONLY).  So the
 * MMIO check, a TLB lookup per access, is planted on the last instruction
 * only, and RAM accesses elsewhere cost nothing.
 */
static void vcpu_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb), i;

    for (i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

        if (instrument(insn) && rt.cfg.audit_mmio && i == n - 1) {
            qemu_plugin_register_vcpu_mem_cb(insn, vcpu_mmio,
                                             QEMU_PLUGIN_CB_NO_REGS,
                                             QEMU_PLUGIN_MEM_RW, NULL);
        }
    }
}

/* ---- install and exit ---------------------------------------------- */

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
    g_autoptr(GArray) secs = g_array_new(false, false, sizeof(Section));
    g_autoptr(GArray) dbs = g_array_new(false, false, sizeof(Doorbell));
    ReportInput in = {
        .cfg = &rt.cfg, .score = rt.score,
        .nvcpus = qemu_plugin_num_vcpus(), .sections = secs,
        .doorbells = dbs,
    };
    unsigned nfail;
    bool ok;
    int v;

    g_mutex_lock(&rt.lock);
    g_array_append_vals(secs, rt.sections->data, rt.sections->len);
    g_array_append_vals(dbs, rt.doorbells->data, rt.doorbells->len);
    in.doorbells_dropped = rt.doorbells_dropped;
    g_mutex_unlock(&rt.lock);
    /* sections still open at exit are reported, marked not closed */
    for (v = 0; v < in.nvcpus; v++) {
        VCPUState *s = vcpu_state(v);

        if (s->sec_open) {
            Section sec = open_section(s, v);

            g_array_append_val(secs, sec);
        }
    }
    ok = report(&in, &nfail);
    if ((nfail || !ok) && rt.cfg.fail_status) {
        /*
         * QEMU is already in exit(); a second exit() would be undefined.
         * Our atexit handler is the last one QEMU runs (it is registered
         * by a constructor), so flush stdio and leave with our status.
         */
        fflush(NULL);
        _exit(rt.cfg.fail_status);
    }
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
    config_init(&rt.cfg);
    for (i = 0; i < argc; i++) {
        if (!config_parse_arg(&rt.cfg, argv[i])) {
            return -1;
        }
    }
    config_finish(&rt.cfg);

    rt.score = qemu_plugin_scoreboard_new(sizeof(VCPUState));
    rt.insns = g_hash_table_new(g_int64_hash, g_int64_equal);
    rt.sections = g_array_new(false, false, sizeof(Section));
    rt.doorbells = g_array_new(false, false, sizeof(Doorbell));

    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, vcpu_tb_trans);
    qemu_plugin_register_vcpu_discon_cb(id, QEMU_PLUGIN_DISCON_INTERRUPT |
                                        QEMU_PLUGIN_DISCON_EXCEPTION,
                                        vcpu_discon);
    qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
    return 0;
}
