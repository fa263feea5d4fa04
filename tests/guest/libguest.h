/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The runtime of qemu-rt's freestanding test guests: port I/O, CPUID, TSC,
 * MSRs, output on the debug console (port 0xe9), interrupts and the exit
 * through isa-debug-exit.  No libc, no allocation.
 *
 * Guests are started with
 *   -kernel GUEST.elf -debugcon stdio
 *   -device isa-debug-exit,iobase=0xf4,iosize=4
 * and QEMU's exit status is (code << 1) | 1 for guest_exit(code):
 * 1 means pass, 3 means fail.
 */
#ifndef QEMU_RT_LIBGUEST_H
#define QEMU_RT_LIBGUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEBUGCON_PORT   0xe9
#define DEBUG_EXIT_PORT 0xf4

enum { GUEST_PASS = 0, GUEST_FAIL = 1 };

static inline void outb(uint16_t port, uint8_t v)
{
    asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;

    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;

    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;

    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

struct cpuid {
    uint32_t a, b, c, d;
};

static inline struct cpuid cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid r;

    asm volatile("cpuid"
                 : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d)
                 : "a"(leaf), "c"(subleaf));
    return r;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* RDTSC ordered after every earlier instruction. */
static inline uint64_t rdtsc_ordered(void)
{
    uint32_t lo, hi;

    asm volatile("rdtscp" : "=a"(lo), "=d"(hi) : : "ecx", "memory");
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
                 "d"((uint32_t)(v >> 32)) : "memory");
}

/*
 * WRMSR/RDMSR that survive a #GP: the exception handler finds the faulting
 * instruction in the .extable section and resumes after it.  They return
 * the vector taken (13 for #GP) or 0 when the access succeeded.
 */
int wrmsr_safe(uint32_t msr, uint64_t v);
int rdmsr_safe(uint32_t msr, uint64_t *v);

static inline void cli(void)
{
    asm volatile("cli" : : : "memory");
}

static inline void sti(void)
{
    asm volatile("sti" : : : "memory");
}

static inline void pause(void)
{
    asm volatile("pause");
}

/* The local APIC's registers (xAPIC, MMIO) that the test guests use. */
#define APIC_BASE       0xfee00000UL
#define APIC_EOI        0xb0
#define APIC_SVR        0xf0
#define APIC_ICR_LO     0x300
#define APIC_ICR_HI     0x310
#define APIC_LVTT       0x320
#define APIC_TMICT      0x380
#define APIC_TMCCT      0x390
#define APIC_TDCR       0x3e0
#define APIC_ENABLE     (1u << 8)

static inline uint32_t mmio_read32(uintptr_t addr)
{
    return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

/* Output on the debug console. */
void putchar_dbg(char c);
void puts_dbg(const char *s);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* Leave QEMU through isa-debug-exit; QEMU's status is (code << 1) | 1. */
void guest_exit(int code) __attribute__((noreturn));

/* Check a condition, print it, count failures; guest_exit_report() ends. */
void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void guest_exit_report(void) __attribute__((noreturn));

/* Interrupts: the handler runs with interrupts off, EOI is the caller's. */
typedef void (*irq_handler)(int vector);
void set_irq_handler(int vector, irq_handler fn);
/* Vector of the last exception that a fixup (extable) recovered from. */
extern volatile int last_fixed_vector;

/* The guest's entry point, called in 64-bit mode with a stack. */
int main(void);

/* Multiboot command line (-append), or "" when none was given. */
const char *guest_cmdline(void);
/* Value of "key=NUMBER" on the command line, or dflt. */
uint64_t cmdline_u64(const char *key, uint64_t dflt);

/* TSC frequency in kHz, measured against the PIT (channel 2). */
uint64_t tsc_khz(void);

/*
 * Several CPUs.  smp_start() wakes every application processor (AP) with
 * INIT-SIPI-SIPI through the local APIC and runs fn(cpu) on each, with
 * cpu = 1 .. smp_cpus() - 1 and a stack of its own; an AP halts when fn
 * returns.  It returns the number of CPUs running, the calling BSP (cpu 0)
 * included, once all of them are or after 5 s.  Without smp_start() a
 * guest is single-CPU as before.  printf() and check() work from any CPU.
 */
#define SMP_MAX_CPUS 8
typedef void (*cpu_fn)(unsigned cpu);
/* CPUs of the machine (QEMU's -smp, from fw_cfg), at most SMP_MAX_CPUS. */
unsigned smp_cpus(void);
unsigned smp_start(cpu_fn fn);
/* Index of the calling CPU: 0 on the BSP, the fn argument on an AP. */
unsigned smp_id(void);

/* Atomically add 1 to *p and return the new value. */
static inline unsigned atomic_inc(volatile unsigned *p)
{
    return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}

/* All @n CPUs wait in barrier_wait() until the last one arrives. */
struct barrier {
    volatile unsigned count, phase;
};
void barrier_wait(struct barrier *b, unsigned n);

#endif
