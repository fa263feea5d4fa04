/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * pio-batch benchmark guest (not a test): TSC cycles per port access with
 * plain OUT, with pio-batch tables of 1..256 entries and with rep outsb,
 * all aimed at port 0x80 (the cheapest device model, so the exit cost
 * dominates).  Shaped like kvm-unit-tests' x86/vmexit.c: every case loops
 * until a fixed number of TSC cycles has passed and reports cycles per
 * iteration.
 *
 * Command line (-append): ms=N  time per case (default 200)
 * Output: one line per case,
 *   BENCH <case> <accesses per iteration> <cycles per access> <iterations>
 */
#include "libguest.h"
#include "pio-batch.h"

#define IOBASE  PIO_BATCH_DEFAULT_IOBASE
#define PORT    0x80

static uint8_t table_buf[2 * 4096] __attribute__((aligned(4096)));
static struct pio_batch_probe probe_page __attribute__((aligned(4096)));
static uint8_t rep_buf[256];
static struct pio_batch batch;
static unsigned size;
static uint64_t goal;

/* RDTSC after every earlier instruction; RDTSCP is not in every model. */
static inline uint64_t tsc_fenced(void)
{
    uint32_t lo, hi;

    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static void plain_out(void)
{
    outb(PORT, 0);
}

/* The doorbell's instruction form: 32-bit OUT through %dx, no device work. */
static void plain_outl_dx(void)
{
    volatile uint16_t port = PORT;

    outl(port, 0);
}

/*
 * A doorbell whose table page is ROM: the device is entered and returns
 * at the first check, without touching guest RAM.
 */
static void rom_doorbell(void)
{
    outl(IOBASE + PIO_BATCH_REG_SUBMIT, 0xfffff);
}

static void batched(void)
{
    pio_batch_submit(&batch);
}

static void rep_outsb(void)
{
    const void *p = rep_buf;
    unsigned long n = size;

    asm volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(PORT) : "memory");
}

static void run(const char *name, void (*fn)(void), unsigned accesses)
{
    uint64_t t0, t1, iters = 0;

    fn();                       /* warm up */
    t0 = tsc_fenced();
    do {
        fn();
        iters++;
        t1 = tsc_fenced();
    } while (t1 - t0 < goal);
    /* cycles per access, two decimals */
    uint64_t c100 = (t1 - t0) * 100 / (iters * accesses);
    printf("BENCH %s %u %lu.%02lu %lu\n", name, accesses, c100 / 100,
           c100 % 100, iters);
}

int main(void)
{
    static const unsigned sizes[] = { 1, 2, 4, 8, 16, 64, 256 };
    uint64_t khz = tsc_khz();
    char name[32];
    unsigned i, j;

    goal = khz * cmdline_u64("ms", 200);
    printf("tsc_khz %lu\n", khz);
    if (pio_batch_probe(IOBASE, &probe_page, (uintptr_t)&probe_page)) {
        printf("no pio-batch device at 0x%x\n", IOBASE);
        return GUEST_FAIL;
    }
    cli();
    run("plain", plain_out, 1);
    run("plain-outl-dx", plain_outl_dx, 1);
    run("rom-doorbell", rom_doorbell, 1);

    /* One exit and no dispatch: the floor of every batch. */
    pio_batch_init(&batch, table_buf, (uintptr_t)table_buf,
                   sizeof(table_buf), IOBASE);
    run("empty-batch", batched, 1);

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size = sizes[i];
        pio_batch_init(&batch, table_buf, (uintptr_t)table_buf,
                       sizeof(table_buf), IOBASE);
        for (j = 0; j < size; j++) {
            pio_batch_out(&batch, 1, PORT, 0);
        }
        if (pio_batch_submit(&batch) != PIO_BATCH_OK) {
            printf("batch of %u failed\n", size);
            return GUEST_FAIL;
        }
        snprintf(name, sizeof(name), "batch-%u", size);
        run(name, batched, size);
        snprintf(name, sizeof(name), "rep-outsb-%u", size);
        run(name, rep_outsb, size);
    }
    return GUEST_PASS;
}
