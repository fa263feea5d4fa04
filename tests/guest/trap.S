/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Interrupt and exception entry for the test guests: 256 stubs of 16 bytes
 * each (vector N at trap_stubs + 16 * N) push an error code where the CPU
 * does not, then the vector, and share one path into handle_trap().
 */
    .text
    .code64
    .align 16
    .globl trap_stubs
trap_stubs:
    vec = 0
    .rept 256
    .align 16
    .if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
    .else
    pushq $0
    .endif
    pushq $vec
    jmp trap_common
    vec = vec + 1
    .endr

trap_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    call handle_trap
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq
