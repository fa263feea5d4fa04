/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * pio-batch functional guest: sequences of port accesses generated from a
 * seed run once with plain IN/OUT and once as pio-batch tables, from the
 * same device state; the values read and the device state afterwards must
 * be identical.  Then the error codes as a guest driver sees them.
 *
 * Command line (-append):
 *   seed=N      sequence seed (default 1)
 *   rounds=N    sequences to compare (default 20)
 *   kernel=0|1  1 when the PIC/PIT are in the KVM kernel (expect
 *               ERR_KERNEL_PORT for them), 0 when QEMU emulates them
 *   pmtimer=P   ACPI PM timer port (default 0x608, set by SeaBIOS)
 *   ramend=A    end of RAM below 4 GiB (default 0x8000000, -m 128M); the
 *               last page is overwritten by the table tests
 *   smi=1       expect an APM command (port 0xb2) to raise an SMI
 *   maxtime=US  the device's max-time-us (default 1000)
 *   worst=1     with loop=N: the entries are RMW of port 0x80, two
 *               accesses each (loop=256: the most one doorbell may do)
 *   loop=N      after the checks, print "LOOP" and submit batches of N
 *               entries forever (exit counting from the host side)
 *
 * Needs -device pio-batch and a UART at 0x3f8 (-serial null).
 */
#include "libguest.h"
#include "pio-batch.h"

#define IOBASE      PIO_BATCH_DEFAULT_IOBASE
#define CMOS_INDEX  0x70
#define CMOS_DATA   0x71
#define CMOS_FIRST  0x40        /* NVRAM bytes 0x40-0x47: unused, no tick */
#define CMOS_NR     8
#define UART_LCR    0x3fb
#define UART_LSR    0x3fd
#define UART_SCR    0x3ff
#define PCI_ADDR    0xcf8
#define PCI_DATA    0xcfc
#define MAX_SEQ     240
#define FW_CFG_DMA_HI       0x514
#define FW_CFG_DMA_LO       0x518
#define FW_CFG_SIGNATURE    0x0000
#define FW_CFG_DMA_READ     0x02
#define FW_CFG_DMA_SELECT   0x08

static uint8_t table_buf[2 * 4096] __attribute__((aligned(4096)));
static struct pio_batch_probe probe_page __attribute__((aligned(4096)));
static uint16_t pmtimer;
static uint64_t ram_end;

struct op {
    uint8_t op, width;
    uint16_t port;
    uint32_t data, mask;
    uint16_t limit;
    uint8_t timer;              /* result is the PM timer: monotonic only */
};

struct state {
    uint8_t cmos[CMOS_NR];
    uint8_t scr, lcr;
    uint32_t pci_addr;
};

static uint64_t rng;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static uint32_t port_in(unsigned width, uint16_t port)
{
    return width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
}

static void port_out(unsigned width, uint16_t port, uint32_t v)
{
    if (width == 1) {
        outb(port, v);
    } else if (width == 2) {
        outw(port, v);
    } else {
        outl(port, v);
    }
}

static uint32_t wmask(unsigned width)
{
    return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
}

/* The plain-instruction meaning of one entry (docs/pio-batch.md). */
static uint32_t run_plain(const struct op *o, uint16_t *reads)
{
    uint32_t m = wmask(o->width), v = 0;

    *reads = 0;
    switch (o->op) {
    case PIO_BATCH_OP_OUT:
        port_out(o->width, o->port, o->data & m);
        break;
    case PIO_BATCH_OP_IN:
        v = port_in(o->width, o->port);
        *reads = 1;
        break;
    case PIO_BATCH_OP_RMW:
        v = port_in(o->width, o->port);
        *reads = 1;
        port_out(o->width, o->port, (v & o->mask & m) | (o->data & m));
        break;
    case PIO_BATCH_OP_POLL:
        do {
            v = port_in(o->width, o->port);
            (*reads)++;
        } while ((v & o->mask & m) != (o->data & m) && *reads < o->limit);
        break;
    }
    return v;
}

static void add(struct op *seq, unsigned *n, uint8_t op, uint8_t width,
                uint16_t port, uint32_t data, uint32_t mask, uint16_t limit)
{
    struct op *o = &seq[(*n)++];

    o->op = op;
    o->width = width;
    o->port = port;
    o->data = data;
    o->mask = mask;
    o->limit = limit;
    o->timer = 0;
}

/* Worst-case port accesses of an entry (docs/pio-batch.md). */
static unsigned cost(const struct op *o)
{
    return o->op == PIO_BATCH_OP_RMW ? 2 :
           o->op == PIO_BATCH_OP_POLL ? o->limit : 1;
}

/*
 * A random, plausible driver burst over CMOS, UART, PCI and PM timer,
 * within the access budget of one doorbell.
 */
static unsigned generate(struct op *seq)
{
    static const uint32_t pci_regs[] = {
        0x80000000, 0x80000008, 0x8000002c, 0x80000800, 0x80000808,
    };
    unsigned n = 0, total = 0, start;

    while (n < MAX_SEQ - 4) {
        uint32_t r = rnd();
        uint8_t idx = CMOS_FIRST + (r >> 8) % CMOS_NR;

        start = n;
        switch (r % 9) {
        case 0:
            add(seq, &n, PIO_BATCH_OP_OUT, 1, CMOS_INDEX, idx, 0, 0);
            add(seq, &n, PIO_BATCH_OP_OUT, 1, CMOS_DATA, rnd(), 0, 0);
            break;
        case 1:
            add(seq, &n, PIO_BATCH_OP_OUT, 1, CMOS_INDEX, idx, 0, 0);
            add(seq, &n, PIO_BATCH_OP_IN, 1, CMOS_DATA, 0, 0, 0);
            break;
        case 2:
            add(seq, &n, PIO_BATCH_OP_OUT, 1, CMOS_INDEX, idx, 0, 0);
            add(seq, &n, PIO_BATCH_OP_RMW, 1, CMOS_DATA, rnd() & 0xff,
                rnd() & 0xff, 0);
            break;
        case 3:
            add(seq, &n, PIO_BATCH_OP_OUT, 1, UART_SCR, rnd(), 0, 0);
            add(seq, &n, PIO_BATCH_OP_IN, 1, UART_SCR, 0, 0, 0);
            break;
        case 4:
            add(seq, &n, PIO_BATCH_OP_RMW, 1, UART_SCR, rnd() & 0xff,
                rnd() & 0xff, 0);
            add(seq, &n, PIO_BATCH_OP_OUT, 1, UART_LCR, rnd() & 0x7f, 0, 0);
            add(seq, &n, PIO_BATCH_OP_IN, 1, UART_LCR, 0, 0, 0);
            break;
        case 5:
            /* Transmitter empty: a poll that matches on the first read. */
            add(seq, &n, PIO_BATCH_OP_POLL, 1, UART_LSR, 0x20, 0x20,
                1 + rnd() % probe_page.max_poll);
            break;
        case 6:
            add(seq, &n, PIO_BATCH_OP_OUT, 4, PCI_ADDR,
                pci_regs[(r >> 8) % 5], 0, 0);
            add(seq, &n, PIO_BATCH_OP_IN, 4, PCI_DATA, 0, 0, 0);
            add(seq, &n, PIO_BATCH_OP_IN, 2, PCI_DATA + 2, 0, 0, 0);
            add(seq, &n, PIO_BATCH_OP_IN, 4, PCI_ADDR, 0, 0, 0);
            break;
        case 7:
            add(seq, &n, PIO_BATCH_OP_IN, 4, pmtimer, 0, 0, 0);
            seq[n - 1].timer = 1;
            break;
        case 8:
            add(seq, &n, PIO_BATCH_OP_IN, 1, UART_SCR, 0, 0, 0);
            break;
        }
        for (; start < n; start++) {
            total += cost(&seq[start]);
        }
        if (total > probe_page.max_accesses) {
            break;
        }
    }
    /* Drop the group that went over the budget. */
    while (total > probe_page.max_accesses) {
        total -= cost(&seq[--n]);
    }
    return n;
}

static void save_state(struct state *s)
{
    unsigned i;

    for (i = 0; i < CMOS_NR; i++) {
        outb(CMOS_INDEX, CMOS_FIRST + i);
        s->cmos[i] = inb(CMOS_DATA);
    }
    s->scr = inb(UART_SCR);
    s->lcr = inb(UART_LCR);
    s->pci_addr = inl(PCI_ADDR);
}

static void load_state(const struct state *s)
{
    unsigned i;

    for (i = 0; i < CMOS_NR; i++) {
        outb(CMOS_INDEX, CMOS_FIRST + i);
        outb(CMOS_DATA, s->cmos[i]);
    }
    outb(UART_SCR, s->scr);
    outb(UART_LCR, s->lcr);
    outl(PCI_ADDR, s->pci_addr);
}

/* PM timer values must not go backwards (24-bit counter, may wrap). */
static bool timer_monotonic(const struct op *seq, unsigned n,
                            const uint32_t *res)
{
    uint32_t last = 0;
    bool have = false;
    unsigned i;

    for (i = 0; i < n; i++) {
        if (!seq[i].timer) {
            continue;
        }
        if (have && ((res[i] - last) & 0xffffff) >= 0x800000) {
            printf("PM timer went back: %x after %x at %u\n", res[i], last,
                   i);
            return false;
        }
        last = res[i];
        have = true;
    }
    return true;
}

static void compare_round(unsigned round)
{
    static struct op seq[MAX_SEQ];
    static uint32_t plain[MAX_SEQ];
    static uint16_t plain_reads[MAX_SEQ];
    struct state init, after_plain, after_batch;
    struct pio_batch b;
    unsigned n, i, diff = 0;
    int err;

    n = generate(seq);
    for (i = 0; i < CMOS_NR; i++) {
        init.cmos[i] = rnd();
    }
    init.scr = rnd();
    init.lcr = 0x03;
    init.pci_addr = 0;

    load_state(&init);
    for (i = 0; i < n; i++) {
        plain[i] = run_plain(&seq[i], &plain_reads[i]);
    }
    save_state(&after_plain);

    load_state(&init);
    pio_batch_init(&b, table_buf, (uintptr_t)table_buf, sizeof(table_buf),
                   IOBASE);
    for (i = 0; i < n; i++) {
        pio_batch_queue(&b, seq[i].op, seq[i].width, seq[i].port,
                        seq[i].data, seq[i].mask, seq[i].limit);
    }
    err = pio_batch_submit(&b);
    save_state(&after_batch);

    for (i = 0; i < n; i++) {
        if (seq[i].timer) {
            continue;
        }
        if (pio_batch_result(&b, i) != plain[i] ||
            pio_batch_reads(&b, i) != plain_reads[i]) {
            if (!diff) {
                printf("entry %u op %u port %x: plain %x (%u reads), "
                       "batched %x (%u reads)\n", i, seq[i].op, seq[i].port,
                       plain[i], plain_reads[i], pio_batch_result(&b, i),
                       pio_batch_reads(&b, i));
            }
            diff++;
        }
    }
    for (i = 0; i < n; i++) {
        plain[i] = pio_batch_result(&b, i);
    }
    check(err == PIO_BATCH_OK && pio_batch_completed(&b) == n && !diff &&
          !memcmp(&after_plain, &after_batch, sizeof(after_plain)) &&
          timer_monotonic(seq, n, plain),
          "round %u: %u entries, error %d, completed %u, %u results "
          "differ, state %s", round, n, err, pio_batch_completed(&b), diff,
          memcmp(&after_plain, &after_batch, sizeof(after_plain)) ?
          "differs" : "identical");
}

/* Submit @b and check error, completed and failed index. */
static void expect(struct pio_batch *b, int error, unsigned completed,
                   unsigned failed, const char *what)
{
    int err = pio_batch_submit(b);

    check(err == error && pio_batch_completed(b) == completed &&
          (error == PIO_BATCH_OK || error == PIO_BATCH_ERR_NOT_RUN ||
           pio_batch_failed_index(b) == failed),
          "%s: error %d (expected %d), completed %u (expected %u), "
          "failed at %u (expected %u)", what, err, error,
          pio_batch_completed(b), completed, pio_batch_failed_index(b),
          failed);
}

static void error_cases(bool kernel)
{
    struct pio_batch b;
    unsigned i;

#define FRESH() pio_batch_init(&b, table_buf, (uintptr_t)table_buf, \
                               sizeof(table_buf), IOBASE)
    FRESH();
    expect(&b, PIO_BATCH_OK, 0, 0, "count 0");

    FRESH();
    for (i = 0; i < probe_page.max_entries; i++) {
        pio_batch_in(&b, 1, UART_SCR);
    }
    expect(&b, PIO_BATCH_OK, i, 0, "max_entries entries");
    pio_batch_in(&b, 1, UART_SCR);
    expect(&b, PIO_BATCH_ERR_COUNT, 0, 0, "max_entries + 1 entries");

    FRESH();
    b.hdr->version = 2;
    pio_batch_in(&b, 1, UART_SCR);
    expect(&b, PIO_BATCH_ERR_VERSION, 0, 0, "version 2");

    FRESH();
    pio_batch_in(&b, 1, UART_SCR);
    pio_batch_queue(&b, 9, 1, UART_SCR, 0, 0, 0);
    pio_batch_in(&b, 1, UART_SCR);
    outb(UART_SCR, 0x5a);
    b.ent[0].result = 0x12345678;
    b.ent[2].result = 0x12345678;
    expect(&b, PIO_BATCH_ERR_OP, 0, 1, "unknown op refuses the table");
    check(b.ent[0].result == 0x12345678 && b.ent[0].reads == 0 &&
          b.ent[2].result == 0x12345678,
          "refused table: no result written (%x %u %x)", b.ent[0].result,
          b.ent[0].reads, b.ent[2].result);

    FRESH();
    pio_batch_out(&b, 1, UART_SCR, 0xa5);
    pio_batch_queue(&b, PIO_BATCH_OP_IN, 3, UART_SCR, 0, 0, 0);
    expect(&b, PIO_BATCH_ERR_WIDTH, 0, 1, "bad entry after an OUT");
    check(inb(UART_SCR) == 0x5a, "refused table: the OUT before the bad "
          "entry was not performed (scratch %x, expected 0x5a)",
          inb(UART_SCR));

    FRESH();
    pio_batch_queue(&b, PIO_BATCH_OP_IN, 3, UART_SCR, 0, 0, 0);
    expect(&b, PIO_BATCH_ERR_WIDTH, 0, 0, "width 3");

    FRESH();
    pio_batch_in(&b, 1, UART_SCR);
    b.ent[0].reserved1 = 1;
    expect(&b, PIO_BATCH_ERR_RESERVED, 0, 0, "reserved field");

    FRESH();
    pio_batch_in(&b, 4, 0xfffe);
    expect(&b, PIO_BATCH_ERR_PORT, 0, 0, "port past 0xffff");

    FRESH();
    pio_batch_in(&b, 1, UART_SCR);
    pio_batch_out(&b, 4, IOBASE, (uintptr_t)table_buf >> 12);
    expect(&b, PIO_BATCH_ERR_SELF, 0, 1, "doorbell inside a batch");

    FRESH();
    pio_batch_poll(&b, 1, UART_SCR, 0, 0, 1);
    pio_batch_poll(&b, 1, UART_SCR, 0, 0, probe_page.max_poll + 1);
    expect(&b, PIO_BATCH_ERR_POLL_LIMIT, 0, 1, "poll limit too large");

    /* Every entry counts at its worst case: 8 polls of 64 fill 512. */
    FRESH();
    for (i = 0; i < probe_page.max_accesses / probe_page.max_poll; i++) {
        pio_batch_poll(&b, 1, UART_SCR, 0, 0, probe_page.max_poll);
    }
    expect(&b, PIO_BATCH_OK, i, 0, "polls filling the access budget");
    pio_batch_in(&b, 1, UART_SCR);
    expect(&b, PIO_BATCH_ERR_BUDGET, 0, i, "one access over the budget");

    FRESH();
    outb(UART_SCR, 0x12);
    pio_batch_poll(&b, 1, UART_SCR, 0xff, 0x34, 5);
    expect(&b, PIO_BATCH_ERR_POLL_TIMEOUT, 0, 0, "poll never matching");
    check(pio_batch_reads(&b, 0) == 5 && pio_batch_result(&b, 0) == 0x12,
          "timed-out poll: %u reads (expected 5), last value %x "
          "(expected 0x12)", pio_batch_reads(&b, 0), pio_batch_result(&b, 0));

    /* The table runs from the last page of RAM into the hole after it. */
    pio_batch_init(&b, (void *)(ram_end - 0x1000), ram_end - 0x1000, 0x2000,
                   IOBASE);
    for (i = 0; i < 171; i++) {
        pio_batch_in(&b, 1, UART_SCR);
    }
    expect(&b, PIO_BATCH_ERR_TABLE, 0, 0,
           "table running past the end of RAM");
    pio_batch_init(&b, (void *)(ram_end - 0x1000), ram_end - 0x1000, 0x1000,
                   IOBASE);
    for (i = 0; i < 170; i++) {
        pio_batch_in(&b, 1, UART_SCR);
    }
    expect(&b, PIO_BATCH_OK, 170, 0,
           "table ending exactly at the end of RAM");

    /* In the BIOS ROM the header cannot even take an error code. */
    outl(IOBASE + PIO_BATCH_REG_SUBMIT, 0xfffff);
    check(inl(IOBASE + PIO_BATCH_REG_SUBMIT) == PIO_BATCH_MAGIC,
          "table in ROM ignored, device still answers");

    /*
     * An APM command (port 0xb2) raises an SMI when the firmware enabled
     * APMC SMIs, as SeaBIOS does: the entry after it must not run.
     */
    if (cmdline_u64("smi", 0)) {
        FRESH();
        pio_batch_out(&b, 1, 0xb2, 0x00);
        pio_batch_in(&b, 1, UART_SCR);
        expect(&b, PIO_BATCH_ERR_INTERRUPTED, 1, 1, "SMI raised by 0xb2");
    }

    /* PIT channel 0 counter, PIC mask, ELCR; port 0x61 stays in QEMU. */
    FRESH();
    pio_batch_in(&b, 1, 0x61);
    pio_batch_in(&b, 1, 0x40);
    expect(&b, kernel ? PIO_BATCH_ERR_KERNEL_PORT : PIO_BATCH_OK,
           kernel ? 0 : 2, 1, "PIT port 0x40");
    FRESH();
    pio_batch_in(&b, 1, 0x21);
    expect(&b, kernel ? PIO_BATCH_ERR_KERNEL_PORT : PIO_BATCH_OK,
           kernel ? 0 : 1, 0, "PIC port 0x21");
    FRESH();
    pio_batch_in(&b, 2, 0x4cf);
    expect(&b, kernel ? PIO_BATCH_ERR_KERNEL_PORT : PIO_BATCH_OK,
           kernel ? 0 : 1, 0, "port 0x4cf-0x4d0 overlapping the ELCR");
    check(pio_batch_is_kernel_port(&probe_page, 0x43, 1) == kernel &&
          !pio_batch_is_kernel_port(&probe_page, 0x61, 1),
          "probe lists PIT%s in the kernel, not port 0x61",
          kernel ? "" : " not");
#undef FRESH
}

struct fw_cfg_dma {
    uint32_t control, length;
    uint64_t address;
} __attribute__((packed, aligned(16)));

/*
 * fw_cfg DMA started by an entry writes the signature "QEMU" over a later
 * entry's data field during the batch.  That entry still runs from the
 * copy taken at the doorbell, and the write-back, which only writes what
 * QEMU owns, leaves the DMA'd bytes in the guest-owned field.
 */
static void writeback_cases(void)
{
    static struct fw_cfg_dma dma;
    struct pio_batch b;
    uint64_t target;
    int last;

    pio_batch_init(&b, table_buf, (uintptr_t)table_buf, sizeof(table_buf),
                   IOBASE);
    pio_batch_out(&b, 4, FW_CFG_DMA_HI, 0);
    pio_batch_out(&b, 4, FW_CFG_DMA_LO,
                  __builtin_bswap32((uint32_t)(uintptr_t)&dma));
    last = pio_batch_out(&b, 1, UART_SCR, 0x11);
    target = (uintptr_t)&b.ent[last].data;
    dma.control = __builtin_bswap32(FW_CFG_SIGNATURE << 16 |
                                    FW_CFG_DMA_SELECT | FW_CFG_DMA_READ);
    dma.length = __builtin_bswap32(4);
    dma.address = __builtin_bswap64(target);
    expect(&b, PIO_BATCH_OK, 3, 0, "fw_cfg DMA over the table mid-batch");
    check(dma.control == 0 && b.ent[last].data == 0x554d4551 &&
          inb(UART_SCR) == 0x11,
          "DMA done (control %x), its bytes kept in the guest's field "
          "(%x, expected \"QEMU\" 0x554d4551), entry ran from the copy "
          "(scratch %x, expected 0x11)", dma.control, b.ent[last].data,
          inb(UART_SCR));
}

static void loop_forever(unsigned n, bool worst)
{
    struct pio_batch b;
    unsigned i;

    pio_batch_init(&b, table_buf, (uintptr_t)table_buf, sizeof(table_buf),
                   IOBASE);
    for (i = 0; i < n; i++) {
        if (worst) {
            pio_batch_rmw(&b, 1, 0x80, 0, 0xff);
        } else {
            pio_batch_in(&b, 1, UART_SCR);
        }
    }
    puts_dbg("LOOP\n");
    cli();
    for (;;) {
        pio_batch_submit(&b);
    }
}

int main(void)
{
    unsigned rounds = cmdline_u64("rounds", 20), r;
    bool kernel = cmdline_u64("kernel", 0);
    unsigned max_time_us;
    int probed;

    rng = cmdline_u64("seed", 1) * 0x9e3779b97f4a7c15ull + 1;
    pmtimer = cmdline_u64("pmtimer", 0x608);
    ram_end = cmdline_u64("ramend", 0x8000000);
    max_time_us = cmdline_u64("maxtime", 1000);

    probed = pio_batch_probe(IOBASE, &probe_page, (uintptr_t)&probe_page);
    check(!probed && probe_page.max_entries == 256 &&
          probe_page.max_poll == 64 && probe_page.max_accesses == 512 &&
          probe_page.max_time_us == max_time_us &&
          probe_page.nr_kernel_ranges == (kernel ? 4 : 0),
          "probe: %d, max_entries %u, max_poll %u, max_time_us %u "
          "(expected %u), %u kernel ranges (expected %u)", probed,
          probe_page.max_entries, probe_page.max_poll,
          probe_page.max_time_us, max_time_us,
          probe_page.nr_kernel_ranges, kernel ? 4 : 0);
    if (probed) {
        guest_exit_report();
    }
    for (r = 0; r < rounds; r++) {
        compare_round(r);
    }
    error_cases(kernel);
    writeback_cases();
    if (cmdline_u64("loop", 0)) {
        loop_forever(cmdline_u64("loop", 0), cmdline_u64("worst", 0));
    }
    guest_exit_report();
}
