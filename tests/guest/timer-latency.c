/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Bare-metal timer latency, after kvm-unit-tests' x86/tscdeadline_latency.c:
 * arm the local APIC timer (TSC-deadline mode when the CPU has it, else
 * one-shot) N times, measure with RDTSC how late each interrupt arrives,
 * and print the result in cyclictest's format: min / avg / max in
 * microseconds and a histogram with one bucket per microsecond.
 *
 * -append "samples=N interval=US buckets=N mode=0|1|2"
 *   samples   timer shots (default 1000)
 *   interval  microseconds between arming and the deadline (default 1000)
 *   buckets   histogram size in microseconds, later ones overflow (1000)
 *   mode      0 = best available, 1 = one-shot, 2 = TSC deadline
 */
#include "libguest.h"

#define APIC_BASE       0xfee00000UL
#define APIC_EOI        0xb0
#define APIC_SVR        0xf0
#define APIC_LVTT       0x320
#define APIC_TMICT      0x380
#define APIC_TMCCT      0x390
#define APIC_TDCR       0x3e0
#define LVTT_ONESHOT    (0 << 17)
#define LVTT_TSCDEADLINE (2 << 17)
#define MSR_TSC_DEADLINE 0x6e0
#define TIMER_VECTOR    0x40
#define MAX_BUCKETS     10000

static volatile uint64_t fired_tsc;
static volatile bool fired;
static uint32_t hist[MAX_BUCKETS];

static void apic_write(unsigned reg, uint32_t v)
{
    mmio_write32(APIC_BASE + reg, v);
}

static uint32_t apic_read(unsigned reg)
{
    return mmio_read32(APIC_BASE + reg);
}

static void timer_irq(int vector)
{
    (void)vector;
    fired_tsc = rdtsc();
    fired = true;
    apic_write(APIC_EOI, 0);
}

static void wait_for_irq(void)
{
    while (!fired) {
        asm volatile("sti; hlt; cli" : : : "memory");
    }
}

/* APIC timer ticks per millisecond with the divider at 1. */
static uint64_t apic_ticks_per_ms(uint64_t khz)
{
    uint64_t t0;

    apic_write(APIC_TDCR, 0xb);
    apic_write(APIC_LVTT, LVTT_ONESHOT | (1 << 16) | TIMER_VECTOR);
    apic_write(APIC_TMICT, 0xffffffff);
    t0 = rdtsc();
    while (rdtsc() - t0 < 10 * khz) {
        pause();
    }
    return (0xffffffffULL - apic_read(APIC_TMCCT)) / 10;
}

int main(void)
{
    uint64_t samples = cmdline_u64("samples", 1000);
    uint64_t interval = cmdline_u64("interval", 1000);
    uint64_t buckets = cmdline_u64("buckets", 1000);
    uint64_t mode = cmdline_u64("mode", 0);
    bool have_deadline = cpuid(1, 0).c & (1u << 24);
    uint64_t khz = tsc_khz(), apic_ms = 0;
    uint64_t min = ~0ULL, max = 0, sum = 0, overflows = 0, acc = 0;
    uint64_t i, p99 = 0, cycles;

    if (buckets > MAX_BUCKETS) {
        buckets = MAX_BUCKETS;
    }
    if (mode == 0) {
        mode = have_deadline ? 2 : 1;
    }
    if (mode == 2 && !have_deadline) {
        printf("FAIL: mode=2 needs TSC-deadline (CPUID.1:ECX[24])\n");
        return GUEST_FAIL;
    }
    cycles = interval * khz / 1000;
    set_irq_handler(TIMER_VECTOR, timer_irq);
    set_irq_handler(0xff, timer_irq);   /* spurious: count as a wake-up */
    apic_write(APIC_SVR, 0x100 | 0xff);
    if (mode == 1) {
        apic_ms = apic_ticks_per_ms(khz);
        apic_write(APIC_LVTT, LVTT_ONESHOT | TIMER_VECTOR);
    } else {
        apic_write(APIC_LVTT, LVTT_TSCDEADLINE | TIMER_VECTOR);
    }
    printf("# timer-latency: %lu samples, interval %lu us, %s mode, "
           "tsc %lu kHz\n", samples, interval,
           mode == 2 ? "tsc-deadline" : "one-shot", khz);

    for (i = 0; i < samples; i++) {
        uint64_t deadline, lat_us;

        fired = false;
        deadline = rdtsc() + cycles;
        if (mode == 2) {
            wrmsr(MSR_TSC_DEADLINE, deadline);
        } else {
            apic_write(APIC_TMICT, interval * apic_ms / 1000);
        }
        wait_for_irq();
        lat_us = fired_tsc > deadline ?
                 (fired_tsc - deadline) * 1000 / khz : 0;
        min = lat_us < min ? lat_us : min;
        max = lat_us > max ? lat_us : max;
        sum += lat_us;
        if (lat_us < buckets) {
            hist[lat_us]++;
        } else {
            overflows++;
        }
    }

    printf("# Histogram\n");
    for (i = 0; i < buckets; i++) {
        if (hist[i]) {
            printf("%06lu %06u\n", i, hist[i]);
        }
        acc += hist[i];
        if (!p99 && acc * 100 >= samples * 99) {
            p99 = i;
        }
    }
    if (!p99 && acc * 100 < samples * 99) {
        p99 = max;      /* the 99th percentile lies in the overflows */
    }
    /* As cyclictest: Total counts the samples inside the histogram. */
    printf("# Total: %09lu\n", samples - overflows);
    printf("# Min Latencies: %05lu\n", min);
    printf("# Avg Latencies: %05lu\n", sum / samples);
    printf("# Max Latencies: %05lu\n", max);
    printf("# Histogram Overflows: %05lu\n", overflows);
    printf("RESULT samples=%lu min=%lu avg=%lu p99=%lu max=%lu "
           "overflows=%lu mode=%s\n", samples, min, sum / samples, p99, max,
           overflows, mode == 2 ? "tsc-deadline" : "one-shot");
    return GUEST_PASS;
}
