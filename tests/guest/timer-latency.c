/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Bare-metal timer latency, after kvm-unit-tests' x86/tscdeadline_latency.c:
 * arm the local APIC timer (TSC-deadline mode when the CPU has it, else
 * one-shot) N times, measure with RDTSC how late each interrupt arrives,
 * and print the result in cyclictest's format: min / avg / max in
 * microseconds and a histogram with one bucket per microsecond.
 *
 * Periodic mode (mode=3) runs the APIC timer as a periodic tick instead and
 * also counts the ticks that never arrived.  QEMU's APIC, like hardware,
 * does not queue timer interrupts: a period that ends while the previous
 * tick is still undelivered is lost.  Each interrupt reads the current count
 * register, which gives its place in the period exactly (no TSC/APIC clock
 * drift); the period starts between two interrupts, minus one, are the
 * lost ticks, and the latency is measured from the most recent period start.
 *
 * -append "samples=N interval=US buckets=N mode=0|1|2|3"
 *   samples   timer shots; in periodic mode, timer periods (default 1000)
 *   interval  microseconds between arming and the deadline, or the period
 *             (default 1000)
 *   buckets   histogram size in microseconds, later ones overflow (1000)
 *   mode      0 = best available one-shot kind, 1 = one-shot,
 *             2 = TSC deadline, 3 = periodic
 *   irqoff    microseconds the interrupt handler spins with interrupts off
 *             (default 0): a stand-in for a long interrupt-disabled section,
 *             which makes periodic mode lose ticks by construction
 */
#include "libguest.h"

#define LVTT_ONESHOT    (0 << 17)
#define LVTT_PERIODIC   (1 << 17)
#define LVTT_TSCDEADLINE (2 << 17)
#define MSR_TSC_DEADLINE 0x6e0
#define TIMER_VECTOR    0x40
#define MAX_BUCKETS     10000

struct stats {
    uint64_t samples, min, max, sum, overflows, buckets;
};

static volatile uint64_t fired_tsc;
static volatile bool fired;
static uint64_t irqoff_cycles;
static uint32_t hist[MAX_BUCKETS];
static struct stats st = { .min = ~0ULL };

/*
 * Periodic mode: the interrupt handler does the accounting, since ticks
 * that arrive back to back run the handler again before the main loop
 * sees the first one.
 */
static struct {
    bool on;
    uint32_t init;              /* APIC count per period */
    uint64_t khz, apic_ms;      /* TSC kHz, APIC ticks per ms */
    uint64_t period_tsc;        /* the period in TSC cycles */
    uint64_t prev;              /* TSC at the last period start counted */
    uint64_t periods;           /* period starts to measure */
    volatile uint64_t seen;     /* period starts so far */
} per;

static void apic_write(unsigned reg, uint32_t v)
{
    mmio_write32(APIC_BASE + reg, v);
}

static uint32_t apic_read(unsigned reg)
{
    return mmio_read32(APIC_BASE + reg);
}

static void record(uint64_t lat_us)
{
    st.samples++;
    st.min = lat_us < st.min ? lat_us : st.min;
    st.max = lat_us > st.max ? lat_us : st.max;
    st.sum += lat_us;
    if (lat_us < st.buckets) {
        hist[lat_us]++;
    } else {
        st.overflows++;
    }
}

/*
 * The current count says how far into its period the timer is; read
 * between two TSC reads, it dates the period start to within half their
 * distance.  Period starts since the last counted one, minus one, were
 * lost.
 */
static void periodic_tick(uint64_t t)
{
    uint32_t count = apic_read(APIC_TMCCT);
    uint64_t mid = (t + rdtsc()) / 2;
    uint64_t start = mid - (uint64_t)(per.init - count) * per.khz /
                           per.apic_ms;
    uint64_t n;

    n = start > per.prev ?
        (start - per.prev + per.period_tsc / 2) / per.period_tsc : 0;
    if (n == 0) {
        return;         /* a second interrupt in one period: not a tick */
    }
    per.prev = start;
    per.seen += n;
    record(t > start ? (t - start) * 1000 / per.khz : 0);
    if (per.seen >= per.periods) {
        /*
         * Stop here: when the handler outlasts the period, ticks run it
         * back to back and the main loop would never get to.
         */
        apic_write(APIC_TMICT, 0);
    }
}

static void timer_irq(int vector)
{
    uint64_t t = rdtsc();

    (void)vector;
    fired_tsc = t;
    if (per.on) {
        periodic_tick(t);
    }
    fired = true;
    while (rdtsc() - t < irqoff_cycles) {
        pause();
    }
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

static const char *const mode_names[] = {
    "", "one-shot", "tsc-deadline", "periodic",
};

/* One-shot and TSC-deadline: arm, wait, measure, re-arm. */
static void run_oneshot(uint64_t samples, uint64_t mode, uint64_t interval,
                        uint64_t khz, uint64_t apic_ms)
{
    uint64_t cycles = interval * khz / 1000;
    uint64_t i;

    for (i = 0; i < samples; i++) {
        uint64_t deadline;

        fired = false;
        deadline = rdtsc() + cycles;
        if (mode == 2) {
            wrmsr(MSR_TSC_DEADLINE, deadline);
        } else {
            apic_write(APIC_TMICT, interval * apic_ms / 1000);
        }
        wait_for_irq();
        record(fired_tsc > deadline ? (fired_tsc - deadline) * 1000 / khz : 0);
    }
}

/* Periodic: tick until @periods period starts have passed. */
static void run_periodic(uint64_t periods, uint64_t interval, uint64_t khz,
                         uint64_t apic_ms)
{
    uint64_t t;

    per.init = interval * apic_ms / 1000;
    per.khz = khz;
    per.apic_ms = apic_ms;
    per.period_tsc = (uint64_t)per.init * khz / apic_ms;
    per.periods = periods;
    t = rdtsc();
    apic_write(APIC_TMICT, per.init);
    per.prev = (t + rdtsc()) / 2;       /* period 0 starts at the load */
    per.on = true;
    while (per.seen < periods) {
        fired = false;
        wait_for_irq();
    }
    per.on = false;
}

int main(void)
{
    uint64_t samples = cmdline_u64("samples", 1000);
    uint64_t interval = cmdline_u64("interval", 1000);
    uint64_t buckets = cmdline_u64("buckets", 1000);
    uint64_t mode = cmdline_u64("mode", 0);
    bool have_deadline = cpuid(1, 0).c & (1u << 24);
    uint64_t khz = tsc_khz(), apic_ms = 0, lost = 0;
    uint64_t i, p99 = 0, acc = 0;
    bool have_p99 = false;

    if (buckets > MAX_BUCKETS) {
        buckets = MAX_BUCKETS;
    }
    st.buckets = buckets;
    if (mode > 3) {
        printf("FAIL: mode=%lu: use 0 (best one-shot kind), 1 (one-shot), "
               "2 (TSC deadline) or 3 (periodic)\n", mode);
        return GUEST_FAIL;
    }
    if (!samples || !interval) {
        printf("FAIL: samples and interval must be at least 1\n");
        return GUEST_FAIL;
    }
    if (mode == 0) {
        mode = have_deadline ? 2 : 1;
    }
    if (mode == 2 && !have_deadline) {
        printf("FAIL: mode=2 needs TSC-deadline (CPUID.1:ECX[24])\n");
        return GUEST_FAIL;
    }
    irqoff_cycles = cmdline_u64("irqoff", 0) * khz / 1000;
    set_irq_handler(TIMER_VECTOR, timer_irq);
    set_irq_handler(0xff, timer_irq);   /* spurious: count as a wake-up */
    apic_write(APIC_SVR, 0x100 | 0xff);
    if (mode != 2) {
        apic_ms = apic_ticks_per_ms(khz);
        if (interval * apic_ms / 1000 > 0xffffffffULL) {
            printf("FAIL: interval=%lu does not fit the APIC timer's "
                   "32-bit count at %lu ticks/ms\n", interval, apic_ms);
            return GUEST_FAIL;
        }
    }
    apic_write(APIC_LVTT, TIMER_VECTOR | (mode == 1 ? LVTT_ONESHOT :
                                          mode == 2 ? LVTT_TSCDEADLINE :
                                          LVTT_PERIODIC));
    printf("# timer-latency: %lu %s, interval %lu us, %s mode, "
           "tsc %lu kHz\n", samples, mode == 3 ? "periods" : "samples",
           interval, mode_names[mode], khz);

    if (mode == 3) {
        run_periodic(samples, interval, khz, apic_ms);
        lost = per.seen - st.samples;
    } else {
        run_oneshot(samples, mode, interval, khz, apic_ms);
    }

    printf("# Histogram\n");
    for (i = 0; i < buckets; i++) {
        if (hist[i]) {
            printf("%06lu %06u\n", i, hist[i]);
        }
        acc += hist[i];
        if (!have_p99 && acc * 100 >= st.samples * 99) {
            p99 = i;
            have_p99 = true;
        }
    }
    if (!have_p99) {
        p99 = st.max;   /* the 99th percentile lies in the overflows */
    }
    /* As cyclictest: Total counts the samples inside the histogram. */
    printf("# Total: %09lu\n", st.samples - st.overflows);
    printf("# Min Latencies: %05lu\n", st.min);
    printf("# Avg Latencies: %05lu\n", st.sum / st.samples);
    printf("# Max Latencies: %05lu\n", st.max);
    printf("# Histogram Overflows: %05lu\n", st.overflows);
    if (mode == 3) {
        printf("# Ticks: %lu periods, %lu delivered, %lu lost\n",
               per.seen, st.samples, lost);
    }
    printf("RESULT samples=%lu min=%lu avg=%lu p99=%lu max=%lu "
           "overflows=%lu mode=%s", st.samples, st.min, st.sum / st.samples,
           p99, st.max, st.overflows, mode_names[mode]);
    if (mode == 3) {
        printf(" periods=%lu lost=%lu", per.seen, lost);
    }
    printf("\n");
    return GUEST_PASS;
}
