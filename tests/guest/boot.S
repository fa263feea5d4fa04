/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Multiboot entry for qemu-rt test guests: QEMU's -kernel loader starts us
 * in 32-bit protected mode; we identity-map the first 4 GiB with 2 MiB pages
 * (RAM, the xAPIC page and the I/O APIC included), enter long mode and call
 * guest_start().  The ELF is converted to elf32-i386 after linking because
 * QEMU's multiboot loader only accepts 32-bit images.
 *
 * Application processors (smp_start() in libguest.c) enter through a copy of
 * ap_trampoline below 1 MiB and join the BSP's GDT and page tables.
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003     /* page-align modules, want memory info */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    mov $stack_top, %esp
    mov %ebx, multiboot_info

    /* PML4[0] -> PDPT, PDPT[0..3] -> PD0..PD3, PDn: 2 MiB pages. */
    mov $pdpt, %eax
    or $0x3, %eax
    mov %eax, pml4
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $12, %eax
    add $pd, %eax
    or $0x3, %eax
    mov %eax, pdpt(, %ecx, 8)
    inc %ecx
    cmp $4, %ecx
    jne 1b
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax                  /* present, writable, 2 MiB page */
    mov %eax, pd(, %ecx, 8)
    mov %ecx, %eax
    shr $11, %eax                   /* bits 32+ of the address */
    mov %eax, pd + 4(, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jne 2b

    mov $pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax                  /* PAE */
    mov %eax, %cr4
    mov $0xc0000080, %ecx           /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax            /* PG | PE */
    mov %eax, %cr0
    lgdt gdt_desc
    ljmp $0x08, $long_mode

    .code64
long_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $stack_top, %rsp
    call guest_start
3:  cli
    hlt
    jmp 3b

    .section .rodata
    .align 8
gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
    .quad 0x00cf9a000000ffff        /* 0x18: 32-bit code, for the APs */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

/*
 * An AP starts here in real mode, at CS:IP = AP_TRAMPOLINE:0 from its SIPI,
 * running a copy that smp_start() put at AP_TRAMPOLINE (below 1 MiB, 4 KiB
 * aligned): protected mode, then long mode with the BSP's page tables.
 * Only this copy runs, so addresses inside it are AP_TRAMPOLINE-relative.
 */
#define AP_TRAMPOLINE 0x8000
#define AP_ADDR(sym) (AP_TRAMPOLINE + (sym) - ap_trampoline)
    .globl ap_trampoline, ap_trampoline_end, ap_trampoline_base
    .set ap_trampoline_base, AP_TRAMPOLINE
    .code16
ap_trampoline:
    cli
    mov %cs, %ax
    mov %ax, %ds
    lgdtl ap_gdt_desc - ap_trampoline
    mov %cr0, %eax
    and $0x9fffffff, %eax           /* INIT left caching off (CD, NW) */
    or $0x1, %eax                   /* PE */
    mov %eax, %cr0
    ljmpl $0x18, $AP_ADDR(ap_protected)

    .code32
ap_protected:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax                  /* PAE */
    mov %eax, %cr4
    mov $0xc0000080, %ecx           /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax            /* PG */
    mov %eax, %cr0
    ljmp $0x08, $ap_long_mode
    .align 4
ap_gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt
ap_trampoline_end:

    /* Take the next CPU index; more APs than smp_start() expects halt. */
    .text
    .code64
ap_long_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $1, %eax
    lock xadd %eax, ap_next_cpu
    cmp smp_ncpus, %eax
    jae 4f
    mov %eax, %edi
    mov ap_stack_top(, %rax, 8), %rsp
    call ap_start
4:  cli
    hlt
    jmp 4b

    .section .bss
    .align 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4 * 4096
    .align 16
stack:  .skip 65536
stack_top:
    .globl multiboot_info
    .align 4
multiboot_info: .skip 4
