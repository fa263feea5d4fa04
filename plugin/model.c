/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit's exit model: where KVM handles each event (docs/rt-audit.md,
 * "What it counts, and why each is an exit").
 */
#include "rt-audit.h"

const char *const model_name[M_COUNT] = { "kvm-intel", "kvm-amd", "all" };
const char *const irqchip_name[IRQCHIP_COUNT] = { "on", "split", "off" };

static bool irqchip_in_kernel(const Config *c)
{
    return c->irqchip == IRQCHIP_ON;
}

static bool lapic_in_kernel(const Config *c)
{
    return c->irqchip != IRQCHIP_OFF;
}

void init_port_model(Config *c)
{
    static const struct { uint16_t base, len; } kernel_ports[] = {
        { 0x20, 2 }, { 0xa0, 2 },   /* i8259 PIC */
        { 0x4d0, 2 },               /* ELCR */
        { 0x40, 4 },                /* i8254 PIT */
        { 0x61, 1 },                /* PIT channel 2 gate / speaker */
    };
    unsigned i, p;

    memset(c->port_handler, H_USER, sizeof(c->port_handler));
    if (!irqchip_in_kernel(c)) {
        return;
    }
    for (i = 0; i < G_N_ELEMENTS(kernel_ports); i++) {
        for (p = 0; p < kernel_ports[i].len; p++) {
            c->port_handler[kernel_ports[i].base + p] = H_KERNEL;
        }
    }
}

bool msr_is_kvmclock(uint32_t msr)
{
    return msr == 0x11 || msr == 0x12 ||
           msr == 0x4b564d00 || msr == 0x4b564d01;
}

enum handler msr_handler(const Config *c, uint32_t msr, bool write)
{
    if (c->model == M_ALL) {
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
        return lapic_in_kernel(c) ? H_KERNEL : H_USER;
    }
    if (msr >= 0x800 && msr <= 0x8ff) {         /* x2APIC */
        if (!lapic_in_kernel(c)) {
            return H_USER;
        }
        if (c->model == M_KVM_INTEL && c->apicv &&
            (!write || msr == 0x808 || msr == 0x80b || msr == 0x83f)) {
            return H_NONE;          /* APICv virtualizes these */
        }
        return H_KERNEL;
    }
    return H_KERNEL;
}

enum handler mmio_handler(const Config *c, uint64_t addr, bool write)
{
    uint64_t page = addr & ~0xfffULL;

    if (page == 0xfee00000) {                   /* xAPIC */
        if (!lapic_in_kernel(c)) {
            return H_USER;
        }
        if (c->apicv && c->model != M_ALL) {
            unsigned off = addr & 0xfff;

            if (!write || off == 0x80 || off == 0xb0) {
                return H_NONE;      /* APIC-access page: reads, TPR, EOI */
            }
        }
        return H_KERNEL;
    }
    if (page == 0xfec00000) {                   /* IOAPIC */
        return irqchip_in_kernel(c) ? H_KERNEL : H_USER;
    }
    return H_USER;
}

/* The instructions whose outcome does not depend on their operands. */
enum handler static_handler(const Config *c, const Decoded *d)
{
    bool all = c->model == M_ALL;

    switch (d->kind) {
    case K_HLT:
        if (c->cpu_pm && !all) {
            return H_NONE;
        }
        return lapic_in_kernel(c) ? H_KERNEL : H_USER;
    case K_PAUSE:
        return (c->pause_exits || all) ? H_KERNEL : H_NONE;
    case K_MONITOR:
    case K_MWAIT:
        return (c->cpu_pm && !all) ? H_NONE : H_KERNEL;
    case K_MOV_CR3:
    case K_INVLPG:
        return all ? H_KERNEL : H_NONE;   /* EPT / NPT */
    case K_MOV_CR8:
        return c->model == M_KVM_INTEL ? H_NONE : H_KERNEL; /* TPR shadow */
    default:
        return H_KERNEL;
    }
}

const char *msr_name(uint32_t msr)
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

const char *handler_name(enum handler h)
{
    return h == H_NONE ? "none" : h == H_KERNEL ? "kernel" : "userspace";
}
