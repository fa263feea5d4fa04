/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Runtime of the qemu-rt test guests; see libguest.h.
 */
#include "libguest.h"

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, reserved;
} __attribute__((packed));

struct extable_entry {
    uint64_t insn, fixup;
};

extern char trap_stubs[];
extern struct extable_entry __start_extable[], __stop_extable[];
extern uint32_t multiboot_info;

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler handlers[256];
static volatile unsigned checks_failed, checks_run;
volatile int last_fixed_vector;
static volatile int print_lock;

void *memset(void *s, int c, size_t n)
{
    unsigned char *p = s;

    while (n--) {
        *p++ = (unsigned char)c;
    }
    return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;

    while (n--) {
        *dp++ = *sp++;
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *pa = a, *pb = b;

    for (; n; n--, pa++, pb++) {
        if (*pa != *pb) {
            return *pa - *pb;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n]) {
        n++;
    }
    return n;
}

/* One REP OUTSB per string: a single exit under KVM, not one per byte. */
static void dbg_write(const char *s, size_t n)
{
    asm volatile("rep outsb" : "+S"(s), "+c"(n) : "d"(DEBUGCON_PORT)
                 : "memory");
}

void putchar_dbg(char c)
{
    outb(DEBUGCON_PORT, c);
}

void puts_dbg(const char *s)
{
    dbg_write(s, strlen(s));
}

struct outbuf {
    char *buf;
    size_t size, len;
};

static void emit(struct outbuf *o, char c)
{
    if (o->len + 1 < o->size) {
        o->buf[o->len] = c;
    }
    o->len++;
}

static void emit_num(struct outbuf *o, uint64_t v, unsigned base, bool neg,
                     int width, char pad, bool left, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0, len;

    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    len = n + (neg ? 1 : 0);
    if (neg && pad == '0') {
        emit(o, '-');
    }
    for (; !left && width > len; width--) {
        emit(o, pad);
    }
    if (neg && pad != '0') {
        emit(o, '-');
    }
    while (n) {
        emit(o, tmp[--n]);
    }
    for (; left && width > len; width--) {
        emit(o, ' ');
    }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct outbuf o = { buf, size, 0 };

    for (; *fmt; fmt++) {
        int width = 0, lng = 0;
        bool left = false;
        char pad = ' ';

        if (*fmt != '%') {
            emit(&o, *fmt);
            continue;
        }
        fmt++;
        if (*fmt == '-') {
            left = true;
            fmt++;
        }
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l' || *fmt == 'z') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);

            emit_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0,
                     width, pad, left, false);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);

            emit_num(&o, v, *fmt == 'u' ? 10 : 16, false, width, pad, left,
                     *fmt == 'X');
            break;
        }
        case 'p':
            emit(&o, '0');
            emit(&o, 'x');
            emit_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, width,
                     pad, left, false);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int len = strlen(s);

            for (; !left && width > len; width--) {
                emit(&o, ' ');
            }
            while (*s) {
                emit(&o, *s++);
            }
            for (; left && width > len; width--) {
                emit(&o, ' ');
            }
            break;
        }
        case 'c':
            emit(&o, (char)va_arg(ap, int));
            break;
        case '%':
            emit(&o, '%');
            break;
        default:
            emit(&o, '%');
            emit(&o, *fmt);
            break;
        }
    }
    if (o.size) {
        o.buf[o.len < o.size ? o.len : o.size - 1] = '\0';
    }
    return o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static void spin_lock(volatile int *lock)
{
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) {
        pause();
    }
}

static void spin_unlock(volatile int *lock)
{
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/* One line per call, whole, even when several CPUs print. */
int printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    spin_lock(&print_lock);
    dbg_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    spin_unlock(&print_lock);
    return n;
}

void guest_exit(int code)
{
    outl(DEBUG_EXIT_PORT, code);
    /*
     * QEMU exits asynchronously after the write; without isa-debug-exit
     * there is nothing left to do but stop (the test's time limit ends it).
     */
    for (;;) {
        asm volatile("cli; hlt");
    }
}

void check(bool ok, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    atomic_inc(&checks_run);
    if (!ok) {
        atomic_inc(&checks_failed);
    }
    printf("%s: %s\n", ok ? "PASS" : "FAIL", buf);
}

void guest_exit_report(void)
{
    printf("SUMMARY: %u checks, %u failed\n", checks_run, checks_failed);
    guest_exit(checks_failed ? GUEST_FAIL : GUEST_PASS);
}

int wrmsr_safe(uint32_t msr, uint64_t v)
{
    last_fixed_vector = 0;
    asm volatile("1: wrmsr\n2:\n"
                 ".pushsection .extable, \"a\"\n.quad 1b, 2b\n.popsection"
                 : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
                 : "memory");
    return last_fixed_vector;
}

int rdmsr_safe(uint32_t msr, uint64_t *v)
{
    uint32_t lo = 0, hi = 0;

    last_fixed_vector = 0;
    asm volatile("1: rdmsr\n2:\n"
                 ".pushsection .extable, \"a\"\n.quad 1b, 2b\n.popsection"
                 : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
    *v = ((uint64_t)hi << 32) | lo;
    return last_fixed_vector;
}

void set_irq_handler(int vector, irq_handler fn)
{
    handlers[vector & 0xff] = fn;
}

void handle_trap(struct trap_frame *f);

void handle_trap(struct trap_frame *f)
{
    struct extable_entry *e;

    if (f->vector >= 32 && handlers[f->vector]) {
        handlers[f->vector](f->vector);
        return;
    }
    if (f->vector < 32) {
        for (e = __start_extable; e < __stop_extable; e++) {
            if (e->insn == f->rip) {
                f->rip = e->fixup;
                last_fixed_vector = f->vector;
                return;
            }
        }
    }
    printf("FAIL: unexpected %s %lu (error %lx) at rip %lx\n",
           f->vector < 32 ? "exception" : "interrupt", f->vector, f->error,
           f->rip);
    guest_exit(GUEST_FAIL);
}

static void idt_load(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) desc = { sizeof(idt) - 1, (uintptr_t)idt };

    asm volatile("lidt %0" : : "m"(desc));
}

static void idt_init(void)
{
    int i;

    for (i = 0; i < 256; i++) {
        uint64_t a = (uintptr_t)trap_stubs + 16 * i;

        idt[i] = (struct idt_gate) {
            .off_lo = a, .sel = 0x08, .type = 0x8e,
            .off_mid = a >> 16, .off_hi = a >> 32,
        };
    }
    idt_load();
}

const char *guest_cmdline(void)
{
    const uint32_t *mbi = (const uint32_t *)(uintptr_t)multiboot_info;

    if (mbi && (mbi[0] & (1 << 2)) && mbi[4]) {
        return (const char *)(uintptr_t)mbi[4];
    }
    return "";
}

uint64_t cmdline_u64(const char *key, uint64_t dflt)
{
    const char *s = guest_cmdline();
    size_t klen = strlen(key);

    while (*s) {
        while (*s == ' ') {
            s++;
        }
        if (!memcmp(s, key, klen) && s[klen] == '=') {
            uint64_t v = 0;
            unsigned base = 10;

            s += klen + 1;
            if (s[0] == '0' && s[1] == 'x') {
                base = 16;
                s += 2;
            }
            for (;; s++) {
                unsigned d;

                if (*s >= '0' && *s <= '9') {
                    d = *s - '0';
                } else if (base == 16 && *s >= 'a' && *s <= 'f') {
                    d = *s - 'a' + 10;
                } else {
                    break;
                }
                v = v * base + d;
            }
            return v;
        }
        while (*s && *s != ' ') {
            s++;
        }
    }
    return dflt;
}

uint64_t tsc_khz(void)
{
    /* PIT channel 2, mode 0, 10 ms (11932 ticks of 1.193182 MHz). */
    const uint16_t ticks = 11932;
    uint64_t t0, t1;

    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, ticks & 0xff);
    outb(0x42, ticks >> 8);
    t0 = rdtsc();
    while (!(inb(0x61) & 0x20)) {
        /* wait for OUT2 to go high */
    }
    t1 = rdtsc();
    return (t1 - t0) / 10;
}

#define FW_CFG_SELECT   0x510
#define FW_CFG_DATA     0x511
#define FW_CFG_NB_CPUS  0x05
#define ICR_PENDING     (1u << 12)
#define ICR_ASSERT      (1u << 14)
#define ICR_ALL_BUT_ME  (3u << 18)
#define ICR_INIT        (5u << 8)
#define ICR_STARTUP     (6u << 8)
#define MSR_GS_BASE     0xc0000101
#define AP_STACK_SIZE   16384

/* Shared with boot.S: the trampoline and what ap_long_mode reads. */
extern char ap_trampoline[], ap_trampoline_end[], ap_trampoline_base[];
volatile unsigned ap_next_cpu = 1;
unsigned smp_ncpus = 1;
uint64_t ap_stack_top[SMP_MAX_CPUS];
void ap_start(unsigned cpu);

static uint8_t ap_stacks[SMP_MAX_CPUS - 1][AP_STACK_SIZE]
    __attribute__((aligned(16)));
static struct cpu_local {
    unsigned id;
} cpu_local[SMP_MAX_CPUS];
static bool smp_started;
static cpu_fn ap_fn;
static volatile unsigned cpus_running = 1;

unsigned smp_cpus(void)
{
    unsigned n;

    outw(FW_CFG_SELECT, FW_CFG_NB_CPUS);
    n = inb(FW_CFG_DATA);
    n |= inb(FW_CFG_DATA) << 8;
    return n < 1 ? 1 : n > SMP_MAX_CPUS ? SMP_MAX_CPUS : n;
}

/* %gs points at the CPU's cpu_local: smp_id() is one load. */
static void set_cpu_local(unsigned cpu)
{
    cpu_local[cpu].id = cpu;
    wrmsr(MSR_GS_BASE, (uintptr_t)&cpu_local[cpu]);
}

unsigned smp_id(void)
{
    unsigned id;

    if (!smp_started) {
        return 0;
    }
    asm volatile("movl %%gs:0, %0" : "=r"(id));
    return id;
}

/* Called by boot.S's ap_long_mode on the AP's own stack. */
void ap_start(unsigned cpu)
{
    set_cpu_local(cpu);
    idt_load();
    atomic_inc(&cpus_running);
    ap_fn(cpu);
}

static void ipi_all_but_me(uint32_t icr)
{
    mmio_write32(APIC_BASE + APIC_ICR_HI, 0);
    mmio_write32(APIC_BASE + APIC_ICR_LO, ICR_ALL_BUT_ME | ICR_ASSERT | icr);
    while (mmio_read32(APIC_BASE + APIC_ICR_LO) & ICR_PENDING) {
        pause();
    }
}

static void delay_tsc(uint64_t cycles)
{
    uint64_t t0 = rdtsc();

    while (rdtsc() - t0 < cycles) {
        pause();
    }
}

unsigned smp_start(cpu_fn fn)
{
    unsigned n = smp_cpus(), i;
    uint64_t khz;

    set_cpu_local(0);
    smp_started = true;
    if (n == 1) {
        return 1;
    }
    ap_fn = fn;
    for (i = 1; i < n; i++) {
        ap_stack_top[i] = (uintptr_t)ap_stacks[i - 1] + AP_STACK_SIZE;
    }
    smp_ncpus = n;
    memcpy(ap_trampoline_base, ap_trampoline,
           ap_trampoline_end - ap_trampoline);
    mmio_write32(APIC_BASE + APIC_SVR,
                 mmio_read32(APIC_BASE + APIC_SVR) | APIC_ENABLE);
    /* The MP specification's sequence: INIT, 10 ms, SIPI, 200 us, SIPI. */
    ipi_all_but_me(ICR_INIT);
    khz = tsc_khz();            /* takes 10 ms */
    for (i = 0; i < 2; i++) {
        ipi_all_but_me(ICR_STARTUP |
                       (uint32_t)((uintptr_t)ap_trampoline_base >> 12));
        delay_tsc(khz / 5);
    }
    for (i = 0; i < 5000 && cpus_running < n; i++) {
        delay_tsc(khz);
    }
    return cpus_running;
}

void barrier_wait(struct barrier *b, unsigned n)
{
    unsigned phase = __atomic_load_n(&b->phase, __ATOMIC_ACQUIRE);

    if (atomic_inc(&b->count) == n) {
        b->count = 0;
        __atomic_store_n(&b->phase, phase + 1, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&b->phase, __ATOMIC_ACQUIRE) == phase) {
        pause();
    }
}

void guest_start(void);

void guest_start(void)
{
    /* Mask the legacy PIC: the tests want no BIOS timer interrupts. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    idt_init();
    guest_exit(main());
}
