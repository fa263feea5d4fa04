/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * pio-batch with several vCPUs ringing the doorbell at once: every CPU
 * submits its own table (its own 4 KiB page) in a loop, each batch using
 * the two index/data pairs that all CPUs share, CMOS (0x70/0x71) and PCI
 * configuration (0xcf8/0xcfc):
 *
 *   OUT 0x70 idx; IN 0x71        my CMOS byte still holds what I left
 *   OUT 0x71 v; OUT 0xcf8 addr   write v; select my PCI register
 *   OUT 0x70 idx; IN 0x71        read v back
 *   IN 0xcfc                     my PCI register's value
 *   RMW 0x71                     v -> (v & 0x0f) | new high nibble
 *
 * with idx = 0x40 + cpu.  A batch runs whole under QEMU's big lock, so no
 * other CPU's access can come between an index and its data: every result
 * must be this CPU's own.  The same sequence as plain instructions has no
 * such guarantee (plain=1 shows it).  Every header status is checked, and
 * every few rounds a CPU submits a bad table instead, which must be
 * refused with its error code, with nothing performed and nothing but the
 * header status written.
 *
 * Command line (-append):
 *   rounds=N   tables per CPU, at least (default 2000)
 *   overlap=N  each CPU goes on until other CPUs completed tables during
 *              N of its rounds, so that they surely rang at once
 *              (default 20; at most 20 x rounds in all)
 *   gap=N      a random pause of up to N us between tables (default 30),
 *              without which QEMU's lock rarely changes hands
 *   bad=N      every Nth table is a bad one (default 4; 0: none)
 *   seed=N     value seed (default 1)
 *   plain=1    perform the good sequences as IN/OUT instructions instead
 *              of batches: CPUs may interleave, so checks are expected to
 *              fail (proof that they can)
 *
 * Needs -smp 2 or more and -device pio-batch.
 */
#include "libguest.h"
#include "pio-batch.h"

#define IOBASE      PIO_BATCH_DEFAULT_IOBASE
#define CMOS_INDEX  0x70
#define CMOS_DATA   0x71
#define CMOS_FIRST  0x40        /* NVRAM bytes 0x40-0x47: unused, no tick */
#define PCI_ADDR    0xcf8
#define PCI_DATA    0xcfc
#define PCI_ENABLE  0x80000000u
#define GOOD_ENTRIES 8
#define CANARY      0xc0ffee00u
#define MAX_REPORTS 3           /* failures printed in full, per CPU */
#define MAX_ROUNDS_FACTOR 20

enum bad_kind {
    BAD_VERSION, BAD_OP, BAD_WIDTH, BAD_RESERVED, BAD_PORT, BAD_SELF,
    BAD_POLL_LIMIT, BAD_BUDGET, BAD_KINDS
};

static const char *const bad_names[BAD_KINDS] = {
    "version 2", "unknown op", "width 3", "reserved field",
    "port past 0xffff", "doorbell inside a batch", "poll limit too large",
    "access budget exceeded",
};

struct cpu_stats {
    unsigned rounds, good, bad, failures, overlapped;
};

static uint8_t tables[SMP_MAX_CPUS][4096] __attribute__((aligned(4096)));
static uint8_t snapshots[SMP_MAX_CPUS][4096];
static struct pio_batch_probe probe_page __attribute__((aligned(4096)));
static struct cpu_stats stats[SMP_MAX_CPUS];
static volatile unsigned progress[SMP_MAX_CPUS];
static uint8_t cmos_init[SMP_MAX_CPUS];
static uint32_t pci_addr[SMP_MAX_CPUS], pci_value[SMP_MAX_CPUS];
static struct barrier start_line, finish_line;
static volatile unsigned cpus_done;
static unsigned ncpus, rounds, min_overlap, bad_every, plain;
static uint64_t max_gap, seed;

static uint32_t pci_read(uint32_t addr)
{
    outl(PCI_ADDR, addr);
    return inl(PCI_DATA);
}

/*
 * Give each CPU a register of the host bridge (00:00.0) whose value no
 * other CPU's register has, so that reading another CPU's shows; not the
 * command/status register, whose bits may change.
 */
static void pick_pci_registers(void)
{
    unsigned cpu, off, other;

    for (cpu = 0; cpu < ncpus; cpu++) {
        pci_addr[cpu] = PCI_ENABLE;
        pci_value[cpu] = pci_read(PCI_ENABLE);
        for (off = 0; off < 256; off += 4) {
            uint32_t v = pci_read(PCI_ENABLE | off);
            bool taken = v == 0 || v == 0xffffffffu || off == 4;

            for (other = 0; other < cpu; other++) {
                taken |= pci_value[other] == v;
            }
            if (!taken) {
                pci_addr[cpu] = PCI_ENABLE | off;
                pci_value[cpu] = v;
                break;
            }
        }
    }
}

static uint32_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 11);
}

/* Print the first few failures of a CPU in full; count all of them. */
static void failure(unsigned cpu, unsigned round, const char *what,
                    uint32_t got, uint32_t expected)
{
    if (++stats[cpu].failures <= MAX_REPORTS) {
        check(false, "cpu %u round %u: %s: got %x, expected %x", cpu, round,
              what, got, expected);
    }
}

static void expect_eq(unsigned cpu, unsigned round, const char *what,
                      uint32_t got, uint32_t expected)
{
    if (got != expected) {
        failure(cpu, round, what, got, expected);
    }
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

/* The table as IN/OUT instructions, results and header as QEMU would. */
static void run_plain(struct pio_batch *b)
{
    volatile struct pio_batch_header *h = b->hdr;
    unsigned i;

    for (i = 0; i < h->count; i++) {
        struct pio_batch_entry *e = &b->ent[i];
        uint32_t m = e->width == 4 ? 0xffffffffu : (1u << 8 * e->width) - 1;

        if (e->op == PIO_BATCH_OP_OUT) {
            port_out(e->width, e->port, e->data & m);
            continue;
        }
        e->result = port_in(e->width, e->port);
        e->reads = 1;
        if (e->op == PIO_BATCH_OP_RMW) {
            port_out(e->width, e->port, (e->result & e->mask) | e->data);
        }
    }
    h->completed = h->count;
    h->error = PIO_BATCH_OK;
    h->failed_index = 0;
}

/* One good table; returns what my CMOS byte holds afterwards. */
static uint8_t good_round(unsigned cpu, unsigned round, struct pio_batch *b,
                          uint8_t cmos, uint64_t *rng)
{
    uint8_t idx = CMOS_FIRST + cpu, v = rnd(rng), high = rnd(rng) & 0xf0;
    struct pio_batch_entry want[GOOD_ENTRIES];
    int err, i;

    pio_batch_clear(b);
    pio_batch_out(b, 1, CMOS_INDEX, idx);
    pio_batch_in(b, 1, CMOS_DATA);
    pio_batch_out(b, 1, CMOS_DATA, v);
    pio_batch_out(b, 4, PCI_ADDR, pci_addr[cpu]);
    pio_batch_out(b, 1, CMOS_INDEX, idx);
    pio_batch_in(b, 1, CMOS_DATA);
    pio_batch_in(b, 4, PCI_DATA);
    pio_batch_rmw(b, 1, CMOS_DATA, 0x0f, high);
    memcpy(want, b->ent, sizeof(want));
    if (plain) {
        run_plain(b);
        err = PIO_BATCH_OK;
    } else {
        err = pio_batch_submit(b);
    }
    expect_eq(cpu, round, "header error", err, PIO_BATCH_OK);
    expect_eq(cpu, round, "header completed", pio_batch_completed(b),
              GOOD_ENTRIES);
    expect_eq(cpu, round, "header failed_index", pio_batch_failed_index(b),
              0);
    expect_eq(cpu, round, "CMOS byte before the write (entry 1)",
              pio_batch_result(b, 1), cmos);
    expect_eq(cpu, round, "CMOS byte read back (entry 5)",
              pio_batch_result(b, 5), v);
    expect_eq(cpu, round, "PCI register (entry 6)", pio_batch_result(b, 6),
              pci_value[cpu]);
    expect_eq(cpu, round, "CMOS byte under RMW (entry 7)",
              pio_batch_result(b, 7), v);
    for (i = 0; i < GOOD_ENTRIES; i++) {
        bool reads = want[i].op != PIO_BATCH_OP_OUT;

        expect_eq(cpu, round, "entry reads", pio_batch_reads(b, i), reads);
        /* Guest-owned fields (op to reserved0) stay as queued. */
        expect_eq(cpu, round, "guest-owned entry fields unchanged",
                  memcmp(&b->ent[i], &want[i], 16), 0);
    }
    return (v & 0x0f) | high;
}

/*
 * A table with an OUT of @poison to my CMOS byte before one bad entry
 * (or a bad header): refused whole, so the poison must never land.
 */
static void bad_round(unsigned cpu, unsigned round, struct pio_batch *b,
                      enum bad_kind kind, uint8_t poison)
{
    static const int errors[BAD_KINDS] = {
        PIO_BATCH_ERR_VERSION, PIO_BATCH_ERR_OP, PIO_BATCH_ERR_WIDTH,
        PIO_BATCH_ERR_RESERVED, PIO_BATCH_ERR_PORT, PIO_BATCH_ERR_SELF,
        PIO_BATCH_ERR_POLL_LIMIT, PIO_BATCH_ERR_BUDGET,
    };
    unsigned failed = 2, accesses = 2, size, i;
    char what[64];
    int err;

    pio_batch_clear(b);
    pio_batch_out(b, 1, CMOS_INDEX, CMOS_FIRST + cpu);
    pio_batch_out(b, 1, CMOS_DATA, poison);
    switch (kind) {
    case BAD_VERSION:
        b->hdr->version = 2;
        failed = 0;
        pio_batch_in(b, 1, CMOS_DATA);
        break;
    case BAD_OP:
        pio_batch_queue(b, 9, 1, CMOS_DATA, 0, 0, 0);
        break;
    case BAD_WIDTH:
        pio_batch_queue(b, PIO_BATCH_OP_IN, 3, CMOS_DATA, 0, 0, 0);
        break;
    case BAD_RESERVED:
        i = pio_batch_in(b, 1, CMOS_DATA);
        b->ent[i].reserved0 = 1;
        break;
    case BAD_PORT:
        pio_batch_in(b, 4, 0xfffe);
        break;
    case BAD_SELF:
        pio_batch_out(b, 4, IOBASE + PIO_BATCH_REG_SUBMIT, b->gpa >> 12);
        break;
    case BAD_POLL_LIMIT:
        pio_batch_poll(b, 1, CMOS_DATA, 0, 0, probe_page.max_poll + 1);
        break;
    case BAD_BUDGET:
        /* Polls at the limit until the worst case exceeds the budget. */
        for (i = 2; accesses <= probe_page.max_accesses; i++) {
            pio_batch_poll(b, 1, CMOS_DATA, 0xff, poison,
                           probe_page.max_poll);
            accesses += probe_page.max_poll;
        }
        failed = i - 1;
        break;
    default:
        break;
    }
    pio_batch_in(b, 1, CMOS_DATA);
    for (i = 0; i < b->hdr->count; i++) {
        b->ent[i].result = CANARY + i;
    }
    size = sizeof(struct pio_batch_header) +
           b->hdr->count * sizeof(struct pio_batch_entry);
    memcpy(snapshots[cpu], tables[cpu], size);
    err = pio_batch_submit(b);
    snprintf(what, sizeof(what), "bad table (%s): header error",
             bad_names[kind]);
    expect_eq(cpu, round, what, err, errors[kind]);
    expect_eq(cpu, round, "bad table: header completed",
              pio_batch_completed(b), 0);
    expect_eq(cpu, round, "bad table: header failed_index",
              pio_batch_failed_index(b), failed);
    /* Only the header status (completed, error, failed_index) changes. */
    memcpy(snapshots[cpu] + 4, tables[cpu] + 4, 6);
    expect_eq(cpu, round, "bad table: bytes changed besides the status",
              memcmp(snapshots[cpu], tables[cpu], size) != 0, 0);
    b->hdr->version = PIO_BATCH_VERSION;
}

/* Tables the other CPUs have completed so far. */
static unsigned others_progress(unsigned cpu)
{
    unsigned sum = 0, i;

    for (i = 0; i < ncpus; i++) {
        sum += i == cpu ? 0 : progress[i];
    }
    return sum;
}

/* Busy-wait up to max_gap cycles: QEMU's lock changes hands more often. */
static void random_gap(uint64_t *rng)
{
    uint64_t t0 = rdtsc(), gap = max_gap ? rnd(rng) % max_gap : 0;

    while (rdtsc() - t0 < gap) {
        /* no PAUSE: under TCG it leaves the CPU loop and takes the lock */
    }
}

/*
 * Every CPU runs at least @rounds tables, and goes on until each CPU has
 * seen other CPUs complete tables in at least @min_overlap of its rounds
 * (proof that they really rang at once), or until MAX_ROUNDS_FACTOR times
 * @rounds.
 */
static void worker(unsigned cpu)
{
    struct cpu_stats *st = &stats[cpu];
    uint64_t rng = seed * 0x9e3779b97f4a7c15ull + cpu + 1;
    uint8_t cmos = cmos_init[cpu];
    unsigned round, seen = 0, now;
    bool enough = false;
    struct pio_batch b;

    pio_batch_init(&b, tables[cpu], (uintptr_t)tables[cpu],
                   sizeof(tables[cpu]), IOBASE);
    expect_eq(cpu, 0, "smp_id()", smp_id(), cpu);
    barrier_wait(&start_line, ncpus);
    for (round = 0; round < MAX_ROUNDS_FACTOR * rounds; round++) {
        if (!enough && round >= rounds && st->overlapped >= min_overlap) {
            enough = true;
            atomic_inc(&cpus_done);
        }
        if (cpus_done == ncpus) {
            break;
        }
        if (bad_every && round % bad_every == bad_every - 1) {
            bad_round(cpu, round, &b, (round / bad_every + cpu) % BAD_KINDS,
                      ~cmos);
            st->bad++;
        } else {
            cmos = good_round(cpu, round, &b, cmos, &rng);
            st->good++;
        }
        st->rounds++;
        progress[cpu]++;
        random_gap(&rng);
        now = others_progress(cpu);
        st->overlapped += now != seen;
        seen = now;
    }
    barrier_wait(&finish_line, ncpus);
}

int main(void)
{
    unsigned cpu, running, total = 0;

    rounds = cmdline_u64("rounds", 2000);
    min_overlap = cmdline_u64("overlap", 20);
    bad_every = cmdline_u64("bad", 4);
    seed = cmdline_u64("seed", 1);
    plain = cmdline_u64("plain", 0);
    max_gap = cmdline_u64("gap", 30) * tsc_khz() / 1000;
    ncpus = smp_cpus();
    printf("pio-batch-smp: %u CPUs, at least %u rounds and %u overlapping "
           "each, bad table every %u, %s\n", ncpus, rounds, min_overlap,
           bad_every, plain ? "good sequences as plain IN/OUT" : "batches");
    check(ncpus >= 2, "the machine has %u CPUs (needs -smp 2 or more)",
          ncpus);
    check(pio_batch_probe(IOBASE, &probe_page, (uintptr_t)&probe_page) == 0,
          "pio-batch answers at %x", IOBASE);
    if (ncpus < 2 || probe_page.magic != PIO_BATCH_MAGIC) {
        guest_exit_report();
    }
    pick_pci_registers();
    for (cpu = 0; cpu < ncpus; cpu++) {
        cmos_init[cpu] = 0x11 * (cpu + 1);
        outb(CMOS_INDEX, CMOS_FIRST + cpu);
        outb(CMOS_DATA, cmos_init[cpu]);
        printf("cpu %u: CMOS byte %x, PCI register %x = %x\n", cpu,
               CMOS_FIRST + cpu, pci_addr[cpu], pci_value[cpu]);
    }
    running = smp_start(worker);
    check(running == ncpus, "%u of %u CPUs started", running, ncpus);
    if (running != ncpus) {
        guest_exit_report();
    }
    worker(0);
    for (cpu = 0; cpu < ncpus; cpu++) {
        struct cpu_stats *st = &stats[cpu];

        total += st->rounds;
        check(st->failures == 0, "cpu %u: %u tables (%u good, %u bad "
              "refused), %u failed checks", cpu, st->rounds, st->good,
              st->bad, st->failures);
        check(st->rounds >= rounds && st->overlapped >= min_overlap,
              "cpu %u: other CPUs completed tables during %u of its %u "
              "rounds (at least %u of %u wanted)", cpu, st->overlapped,
              st->rounds, min_overlap, rounds);
    }
    printf("RESULT cpus=%u total=%u\n", ncpus, total);
    guest_exit_report();
}
