/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit's x86 decoder: the bytes of one instruction in, what it is for
 * the exit model out.  Pure (no QEMU, no state), so that it can be tested
 * on its own (test-decode.c).
 */
#ifndef RT_AUDIT_DECODE_H
#define RT_AUDIT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an instruction is; the events up to K_MAX are counted. */
enum kind {
    K_IN, K_OUT, K_INS, K_OUTS, K_CPUID, K_RDMSR, K_WRMSR, K_HLT, K_PAUSE,
    K_MONITOR, K_MWAIT, K_XSETBV, K_WBINVD, K_INVD, K_RDPMC, K_VMCALL,
    K_VMMCALL, K_MOV_CR, K_MOV_CR3, K_MOV_CR8, K_MOV_DR, K_INVLPG,
    K_MMIO_READ, K_MMIO_WRITE,
    K_MAX,
    /* markers (include/rt-audit-marker.h): decoded, never counted */
    K_MARK_BEGIN = K_MAX, K_MARK_END, K_MARK_RESET,
    K_NOTHING,
};

extern const char *const kind_name[K_MAX];

typedef struct {
    uint8_t kind;       /* enum kind */
    uint8_t width;      /* I/O operand size in bytes */
    bool port_dx;       /* port in DX rather than an immediate */
    bool rep;
    uint16_t port;      /* immediate port */
} Decoded;

/* Decode the @len bytes at @bytes; kind K_NOTHING unless it can exit. */
void decode_insn(const uint8_t *bytes, size_t len, Decoded *d);

#endif
