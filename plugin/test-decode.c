/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit test of rt-audit's decoder (decode.c): byte sequences in, the
 * decoded instruction checked field by field.  Run by meson test.
 */
#include <stdio.h>
#include <string.h>

#include "decode.h"

#define MAXLEN 16

static const struct {
    const char *what;
    uint8_t len;
    uint8_t bytes[MAXLEN];
    Decoded want;       /* width, port and port_dx only where they count */
} cases[] = {
    { "in al, 0x60", 2, { 0xe4, 0x60 }, { K_IN, 1, false, false, 0x60 } },
    { "in eax, 0x71", 2, { 0xe5, 0x71 }, { K_IN, 4, false, false, 0x71 } },
    { "in ax, 0x71", 3, { 0x66, 0xe5, 0x71 },
      { K_IN, 2, false, false, 0x71 } },
    { "out 0x80, al", 2, { 0xe6, 0x80 }, { K_OUT, 1, false, false, 0x80 } },
    { "out 0xf4, eax", 2, { 0xe7, 0xf4 },
      { K_OUT, 4, false, false, 0xf4 } },
    { "in al, dx", 1, { 0xec }, { K_IN, 1, true, false, 0 } },
    { "in ax, dx", 2, { 0x66, 0xed }, { K_IN, 2, true, false, 0 } },
    { "out dx, al", 1, { 0xee }, { K_OUT, 1, true, false, 0 } },
    { "out dx, eax", 1, { 0xef }, { K_OUT, 4, true, false, 0 } },
    { "rep outsb", 2, { 0xf3, 0x6e }, { K_OUTS, 1, true, true, 0 } },
    { "rep insb", 2, { 0xf3, 0x6c }, { K_INS, 1, true, true, 0 } },
    { "insd", 1, { 0x6d }, { K_INS, 4, true, false, 0 } },
    { "rep outsw (REX.W ignored)", 4, { 0x66, 0xf3, 0x48, 0x6f },
      { K_OUTS, 2, true, true, 0 } },
    { "cpuid", 2, { 0x0f, 0xa2 }, { K_CPUID, 4, false, false, 0 } },
    { "rdmsr", 2, { 0x0f, 0x32 }, { K_RDMSR, 4, false, false, 0 } },
    { "wrmsr", 2, { 0x0f, 0x30 }, { K_WRMSR, 4, false, false, 0 } },
    { "rdpmc", 2, { 0x0f, 0x33 }, { K_RDPMC, 4, false, false, 0 } },
    { "wbinvd", 2, { 0x0f, 0x09 }, { K_WBINVD, 4, false, false, 0 } },
    { "invd", 2, { 0x0f, 0x08 }, { K_INVD, 4, false, false, 0 } },
    { "hlt", 1, { 0xf4 }, { K_HLT, 4, false, false, 0 } },
    { "pause", 2, { 0xf3, 0x90 }, { K_PAUSE, 4, false, true, 0 } },
    { "nop", 1, { 0x90 }, { K_NOTHING, 4, false, false, 0 } },
    { "xchg r8, rax with rep (not PAUSE)", 3, { 0xf3, 0x41, 0x90 },
      { K_NOTHING, 4, false, true, 0 } },
    { "monitor", 3, { 0x0f, 0x01, 0xc8 }, { K_MONITOR, 4, false, false, 0 } },
    { "mwait", 3, { 0x0f, 0x01, 0xc9 }, { K_MWAIT, 4, false, false, 0 } },
    { "monitorx", 3, { 0x0f, 0x01, 0xfa }, { K_MONITOR, 4, false, false, 0 } },
    { "mwaitx", 3, { 0x0f, 0x01, 0xfb }, { K_MWAIT, 4, false, false, 0 } },
    { "xsetbv", 3, { 0x0f, 0x01, 0xd1 }, { K_XSETBV, 4, false, false, 0 } },
    { "vmcall", 3, { 0x0f, 0x01, 0xc1 }, { K_VMCALL, 4, false, false, 0 } },
    { "vmmcall", 3, { 0x0f, 0x01, 0xd9 }, { K_VMMCALL, 4, false, false, 0 } },
    { "invlpg (%rax)", 3, { 0x0f, 0x01, 0x38 },
      { K_INVLPG, 4, false, false, 0 } },
    { "lgdt (%rax) (not INVLPG)", 3, { 0x0f, 0x01, 0x10 },
      { K_NOTHING, 4, false, false, 0 } },
    { "mov %rax, %cr0", 3, { 0x0f, 0x22, 0xc0 },
      { K_MOV_CR, 4, false, false, 0 } },
    { "mov %rax, %cr4", 3, { 0x0f, 0x22, 0xe0 },
      { K_MOV_CR, 4, false, false, 0 } },
    { "mov %rax, %cr3", 3, { 0x0f, 0x22, 0xd8 },
      { K_MOV_CR3, 4, false, false, 0 } },
    { "mov %rax, %cr8", 4, { 0x44, 0x0f, 0x22, 0xc0 },
      { K_MOV_CR8, 4, false, false, 0 } },
    { "mov %cr0, %rax (a read: no exit)", 3, { 0x0f, 0x20, 0xc0 },
      { K_NOTHING, 4, false, false, 0 } },
    { "mov %dr7, %rax", 3, { 0x0f, 0x21, 0xf8 },
      { K_MOV_DR, 4, false, false, 0 } },
    { "mov %rax, %dr7", 3, { 0x0f, 0x23, 0xf8 },
      { K_MOV_DR, 4, false, false, 0 } },
    { "RT_AUDIT_RESET", 8, { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x53, 0x54, 0x52 },
      { K_MARK_RESET, 0, false, false, 0 } },
    { "RT_SECTION_BEGIN", 8,
      { 0x0f, 0x1f, 0x84, 0x00, 0x01, 0x53, 0x54, 0x52 },
      { K_MARK_BEGIN, 0, false, false, 0 } },
    { "RT_SECTION_END", 8, { 0x0f, 0x1f, 0x84, 0x00, 0x02, 0x53, 0x54, 0x52 },
      { K_MARK_END, 0, false, false, 0 } },
    { "nopl with another displacement", 8,
      { 0x0f, 0x1f, 0x84, 0x00, 0x03, 0x53, 0x54, 0x52 },
      { K_NOTHING, 4, false, false, 0 } },
    { "inc %eax in 32-bit code (0x40 alone is no REX)", 1, { 0x40 },
      { K_NOTHING, 4, false, false, 0 } },
    { "mov (%rax), %eax", 2, { 0x8b, 0x00 },
      { K_NOTHING, 4, false, false, 0 } },
    { "segment and lock prefixes only", 2, { 0x2e, 0xf0 },
      { K_NOTHING, 0, false, false, 0 } },
    { "truncated in al, imm8", 1, { 0xe4 }, { K_NOTHING, 4, false, false, 0 } },
    { "empty", 0, { 0 }, { K_NOTHING, 0, false, false, 0 } },
};

int main(void)
{
    unsigned i, failed = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Decoded got;

        decode_insn(cases[i].bytes, cases[i].len, &got);
        if (got.kind != cases[i].want.kind ||
            got.width != cases[i].want.width ||
            got.port_dx != cases[i].want.port_dx ||
            got.rep != cases[i].want.rep ||
            got.port != cases[i].want.port) {
            printf("not ok %u - %s: kind %u width %u port_dx %d rep %d "
                   "port 0x%x, expected kind %u width %u port_dx %d rep %d "
                   "port 0x%x\n", i + 1, cases[i].what, got.kind, got.width,
                   got.port_dx, got.rep, got.port, cases[i].want.kind,
                   cases[i].want.width, cases[i].want.port_dx,
                   cases[i].want.rep, cases[i].want.port);
            failed++;
        } else {
            printf("ok %u - %s\n", i + 1, cases[i].what);
        }
    }
    printf("1..%u\n", i);
    return failed != 0;
}
