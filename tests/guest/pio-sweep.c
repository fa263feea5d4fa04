/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * pio-batch equivalence guest: the same single port accesses done either
 * as IN/OUT instructions (batch=0) or as one-entry-per-access pio-batch
 * tables (batch=1).  The host runs it once per mode, each time from a
 * fresh machine, and compares the hashes it prints: every access must
 * give the same bytes both ways.
 *
 *   1. straddle sweep: an IN of every width at every port, so every
 *      16- and 32-bit access that spans the end of a device's ports (the
 *      case that aborted QEMU) is done, then a byte read of every port;
 *   2. random accesses: seeded IN/OUT of random port, width and value
 *      over the whole port space, OUT only to ports that do not end or
 *      reset the guest (see no_out());
 *   3. the device state afterwards: a byte read of every port again.
 *
 * Command line (-append):
 *   batch=0|1         accesses as instructions (0, default) or batches
 *   seed=N            seed of phase 2 (default 1)
 *   random=N          accesses in phase 2 (default 20000)
 *   q35=0|1           machine is q35 (its TCO timer counts down)
 *   windows=1         phases 1 and 3 only where pc and q35 have devices
 *                     (see in_window(); for slow accelerators)
 *   trace=I           print access I of phase 2 and the 63 after it, and
 *                     the hash every 1024 accesses (to find a difference)
 *   dump=B            print the reads of phases 1 and 3 in block B - 1
 *
 * Prints "HASH <phase> <block> <hash>" lines, one per 4096 ports for
 * phases 1 and 3 and one for phase 2, then passes.  Ports whose value
 * moves with time are read but left out of the hash (time_port()).
 * Accesses touching the device's own ports or ports inside the KVM
 * kernel (probe page) are skipped in both modes: a batch refuses them.
 */
#include "libguest.h"
#include "pio-batch.h"

#define IOBASE  PIO_BATCH_DEFAULT_IOBASE

static uint8_t table_buf[2 * 4096] __attribute__((aligned(4096)));
static struct pio_batch_probe probe_page __attribute__((aligned(4096)));
static struct pio_batch batch;
static bool use_batch, q35, windows;
static uint64_t trace, dump;
static uint64_t rng, hash;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void hash_byte(uint8_t b)
{
    hash = (hash ^ b) * 0x100000001b3ull;
}

/* Ports whose value changes with time, not with the accesses made. */
static bool time_port(unsigned p)
{
    return p == 0x20 || p == 0xa0 ||       /* PIC IRR: the PIT/RTC IRQs */
           (p >= 0x40 && p <= 0x43) ||     /* PIT counters */
           p == 0x61 ||                    /* refresh toggle, PIT out */
           p == 0x71 ||                    /* RTC data (clock registers) */
           (p >= 0x608 && p <= 0x60b) ||   /* ACPI PM timer */
           (q35 && p >= 0x660 && p <= 0x67f); /* ICH9 TCO timer */
}

/*
 * Ports an OUT may not touch in phase 2: they reset, stop or end the
 * guest, move its RAM or DMA into it, or raise an SMI.
 */
static bool no_out(unsigned p)
{
    return p == 0x64 ||                    /* i8042 commands: reset */
           p == 0x92 ||                    /* A20 and fast reset */
           p == 0xb2 || p == 0xb3 ||       /* APM: SMI */
           p == DEBUGCON_PORT || p == DEBUG_EXIT_PORT ||
           (p >= 0x510 && p <= 0x51b) ||   /* fw_cfg and its DMA */
           (p >= 0x600 && p <= 0x6ff) ||   /* ACPI PM/GPE/TCO: sleep, SMI */
           (p >= 0xcf8 && p <= 0xcff) ||   /* PCI config, 0xcf9 reset */
           p >= 0xc000;                    /* PCI I/O BARs (bus master) */
}

/*
 * The port ranges where -M pc and -M q35 decode anything, firmware's
 * assignments included: ISA and chipset ports, vmport, ACPI hotplug,
 * GPE and SMBus, and the PCI I/O BARs SeaBIOS places from 0xc000.
 */
static bool in_window(unsigned p)
{
    return p < 0x1000 || (p >= 0x5600 && p < 0x5700) ||
           (p >= 0xae00 && p < 0xb200) || (p >= 0xc000 && p < 0xc200);
}

static bool skipped(unsigned port, unsigned width)
{
    return (port < IOBASE + PIO_BATCH_IOSIZE && IOBASE < port + width) ||
           pio_batch_is_kernel_port(&probe_page, port, width);
}

static uint32_t do_in(unsigned width, uint16_t port)
{
    if (use_batch) {
        pio_batch_clear(&batch);
        pio_batch_in(&batch, width, port);
        if (pio_batch_submit(&batch) != PIO_BATCH_OK) {
            printf("FAIL: batch IN width %u port %x: error %u\n", width,
                   port, batch.hdr->error);
            guest_exit(GUEST_FAIL);
        }
        return pio_batch_result(&batch, 0);
    }
    return width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
}

static void do_out(unsigned width, uint16_t port, uint32_t v)
{
    if (use_batch) {
        pio_batch_clear(&batch);
        pio_batch_out(&batch, width, port, v);
        if (pio_batch_submit(&batch) != PIO_BATCH_OK) {
            printf("FAIL: batch OUT width %u port %x: error %u\n", width,
                   port, batch.hdr->error);
            guest_exit(GUEST_FAIL);
        }
    } else if (width == 1) {
        outb(port, v);
    } else if (width == 2) {
        outw(port, v);
    } else {
        outl(port, v);
    }
}

/*
 * One IN, hashed unless it touches a port that moves with time.  The
 * whole access is left out then, not only that port's byte: QEMU may
 * hand all of an aligned access to the first region (address_space_rw()
 * does not cut it at the region's end), so "inw 0x61" reads the speaker
 * port twice.
 */
static uint32_t in_hashed(unsigned width, unsigned port)
{
    uint32_t v;
    bool timed = false;
    unsigned k;

    if (skipped(port, width)) {
        return 0;
    }
    v = do_in(width, port);
    for (k = 0; k < width; k++) {
        timed |= time_port(port + k);
    }
    for (k = 0; k < width; k++) {
        hash_byte(timed ? 0 : v >> (8 * k));
    }
    return v;
}

static void print_hash(unsigned phase, unsigned block)
{
    printf("HASH %u %x %08x%08x\n", phase, block, (uint32_t)(hash >> 32),
           (uint32_t)hash);
    hash = 0xcbf29ce484222325ull;
}

static void sweep_port(unsigned p, bool all_widths, bool show)
{
    uint32_t v;

    if (all_widths && p <= 0xfffe) {
        v = in_hashed(2, p);
        if (show) {
            printf("%x w2 %x\n", p, v);
        }
    }
    if (all_widths && p <= 0xfffc) {
        v = in_hashed(4, p);
        if (show) {
            printf("%x w4 %x\n", p, v);
        }
    }
    v = in_hashed(1, p);
    if (show) {
        printf("%x %x\n", p, v);
    }
}

static void sweep(unsigned phase, bool all_widths)
{
    unsigned p;

    for (p = 0; p < 0x10000; p++) {
        if (!windows || in_window(p)) {
            sweep_port(p, all_widths, dump && (p >> 12) == dump - 1);
        }
        if ((p & 0xfff) == 0xfff) {
            print_hash(phase, p >> 12);
        }
    }
}

static void random_accesses(unsigned n)
{
    static const uint8_t widths[] = { 1, 2, 4 };
    unsigned i, k;

    for (i = 0; i < n; i++) {
        uint32_t r;

        if (trace && !(i & 1023)) {
            printf("%u hash %08x\n", i, (uint32_t)hash);
        }
        r = rnd();
        unsigned width = widths[(r >> 1) % 3];
        unsigned port = rnd() & 0xffff;
        bool out = r & 1;

        if (port + width > 0x10000 || skipped(port, width)) {
            continue;
        }
        for (k = 0; out && k < width; k++) {
            out = !no_out(port + k);
        }
        if (out) {
            uint32_t v = rnd();

            do_out(width, port, v);
            if (trace && i + 1 - trace < 64) {
                printf("%u out%u %x %x\n", i, width, port, v);
            }
        } else {
            uint32_t v = in_hashed(width, port);

            if (trace && i + 1 - trace < 64) {
                printf("%u in%u %x = %x\n", i, width, port, v);
            }
        }
    }
    print_hash(2, 0);
}

int main(void)
{
    use_batch = cmdline_u64("batch", 0);
    q35 = cmdline_u64("q35", 0);
    trace = cmdline_u64("trace", 0);
    windows = cmdline_u64("windows", 0);
    dump = cmdline_u64("dump", 0);
    rng = cmdline_u64("seed", 1) * 0x9e3779b97f4a7c15ull + 1;
    hash = 0xcbf29ce484222325ull;
    cli();

    if (pio_batch_probe(IOBASE, &probe_page, (uintptr_t)&probe_page) ||
        pio_batch_init(&batch, table_buf, (uintptr_t)table_buf,
                       sizeof(table_buf), IOBASE)) {
        printf("FAIL: no pio-batch device at %x\n", IOBASE);
        guest_exit(GUEST_FAIL);
    }
    printf("MODE %s\n", use_batch ? "batch" : "plain");
    sweep(1, true);
    random_accesses(cmdline_u64("random", 20000));
    sweep(3, false);
    printf("SWEEP DONE\n");
    guest_exit(GUEST_PASS);
}
