/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit's x86 decoder (decode.h): legacy prefixes (operand size 0x66,
 * address size, segment, LOCK, REP/REPNE) and REX, then the opcodes of the
 * instructions that exit under VMX/SVM and the rt-audit markers.
 */
#include <string.h>

#include "decode.h"
#include "rt-audit-marker.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

const char *const kind_name[K_MAX] = {
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

/* nopl disp32(%rax,%rax,1): 0f 1f 84 00, then the marker as disp32 */
static const uint8_t marker_prefix[] = { 0x0f, 0x1f, 0x84, 0x00 };

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

static bool decode_marker(const uint8_t *b, size_t n, Decoded *d)
{
    uint32_t disp;

    if (n != 8 || memcmp(b, marker_prefix, sizeof(marker_prefix))) {
        return false;
    }
    disp = b[4] | b[5] << 8 | b[6] << 16 | (uint32_t)b[7] << 24;
    switch (disp) {
    case RT_AUDIT_MARKER_RESET:
        d->kind = K_MARK_RESET;
        return true;
    case RT_AUDIT_MARKER_BEGIN:
        d->kind = K_MARK_BEGIN;
        return true;
    case RT_AUDIT_MARKER_END:
        d->kind = K_MARK_END;
        return true;
    }
    return false;
}

/* 0f xx: MOV to CR/DR, the 0f 01 group, the rest from op_0f */
static void decode_0f(const uint8_t *b, size_t n, size_t i, uint8_t rex,
                      Decoded *d)
{
    uint8_t op, modrm;
    size_t k;

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
        for (k = 0; k < N_ELEMENTS(op_0f01); k++) {
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
    for (k = 0; k < N_ELEMENTS(op_0f); k++) {
        if (op_0f[k].op == op) {
            d->kind = op_0f[k].kind;
            return;
        }
    }
}

void decode_insn(const uint8_t *b, size_t n, Decoded *d)
{
    bool opsize = false, rep = false;
    uint8_t rex = 0, op;
    size_t i;

    memset(d, 0, sizeof(*d));
    d->kind = K_NOTHING;
    if (decode_marker(b, n, d)) {
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
        decode_0f(b, n, i, rex, d);
        return;
    }
}
