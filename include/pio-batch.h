/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * pio-batch: the guest ABI of QEMU's batched port I/O device, and a
 * freestanding guest API for it (no libc, no allocation).
 *
 * A guest queues port accesses in a table in its own RAM and hands the
 * table to QEMU with one 32-bit OUT to the doorbell.  QEMU performs the
 * accesses in order, exactly as the IN/OUT instructions would have, and
 * writes the results back into the table before the OUT completes.  The
 * full specification is docs/pio-batch.md.
 */
#ifndef QEMU_RT_PIO_BATCH_H
#define QEMU_RT_PIO_BATCH_H

#include <stdint.h>

/*
 * Discovery: the DSDT describes the device with this _HID and a _CRS
 * holding its 8 ports; without ACPI, probe: inl(iobase) == PIO_BATCH_MAGIC.
 */
#define PIO_BATCH_ACPI_HID        "QEMU0003"

/* Device ports, relative to the device's iobase (default 0x5c0). */
#define PIO_BATCH_DEFAULT_IOBASE  0x5c0
#define PIO_BATCH_IOSIZE          8
#define PIO_BATCH_REG_SUBMIT      0   /* outl: table GPA >> 12; inl: magic */
#define PIO_BATCH_REG_PROBE       4   /* outl: probe GPA >> 12; inl: version */

#define PIO_BATCH_MAGIC           0x424f4950u     /* "PIOB" */
#define PIO_BATCH_VERSION         1
#define PIO_BATCH_PAGE_SHIFT      12

/* Entry operations. */
enum pio_batch_op {
    PIO_BATCH_OP_OUT  = 1,  /* OUT data */
    PIO_BATCH_OP_IN   = 2,  /* IN -> result */
    PIO_BATCH_OP_RMW  = 3,  /* IN -> result; OUT (result & mask) | data */
    PIO_BATCH_OP_POLL = 4,  /* IN until (v & mask) == data, at most limit */
};

/*
 * Header error codes.  Errors 1-10 and 13 refuse the table before any
 * access; 11, 12 and 14 stop it at entry failed_index, and ringing again
 * with start = failed_index resumes it.
 */
enum pio_batch_error {
    PIO_BATCH_OK              = 0,
    PIO_BATCH_ERR_VERSION     = 1,  /* header version is not 1 */
    PIO_BATCH_ERR_COUNT       = 2,  /* count above the probed maximum */
    PIO_BATCH_ERR_TABLE       = 3,  /* table not entirely writable RAM */
    PIO_BATCH_ERR_OP          = 4,  /* unknown operation */
    PIO_BATCH_ERR_WIDTH       = 5,  /* width not 1, 2 or 4 */
    PIO_BATCH_ERR_RESERVED    = 6,  /* a reserved field or flag is not 0 */
    PIO_BATCH_ERR_PORT        = 7,  /* port + width runs past 0xffff */
    PIO_BATCH_ERR_SELF        = 8,  /* entry targets pio-batch itself */
    PIO_BATCH_ERR_KERNEL_PORT = 9,  /* port emulated in the KVM kernel */
    PIO_BATCH_ERR_POLL_LIMIT  = 10, /* poll limit 0 or above maximum */
    PIO_BATCH_ERR_POLL_TIMEOUT = 11, /* poll never matched */
    PIO_BATCH_ERR_INTERRUPTED = 12, /* reset, shutdown or SMI pending */
    PIO_BATCH_ERR_BUDGET      = 13, /* worst-case accesses above maximum */
    PIO_BATCH_ERR_TIME        = 14, /* ran for max_time_us: resume it */
    PIO_BATCH_ERR_NOT_RUN     = 0xffff, /* set by the guest: untouched */
};

/* At the start of the table; the table starts on a 4 KiB page. */
struct pio_batch_header {
    uint16_t version;       /* guest: PIO_BATCH_VERSION */
    uint16_t count;         /* guest: number of entries that follow */
    uint16_t completed;     /* QEMU: start + entries performed */
    uint16_t error;         /* QEMU: enum pio_batch_error */
    uint16_t failed_index;  /* QEMU: entry that failed (when error != 0) */
    uint16_t flags;         /* guest: 0 */
    uint16_t start;         /* guest: first entry to perform */
    uint16_t reserved;      /* guest: 0 */
};

struct pio_batch_entry {
    uint8_t  op;            /* enum pio_batch_op */
    uint8_t  width;         /* 1, 2 or 4 bytes */
    uint16_t port;
    uint32_t data;          /* OUT: value; RMW: OR bits; POLL: expected */
    uint32_t mask;          /* RMW: AND mask; POLL: compare mask; else 0 */
    uint16_t limit;         /* POLL: maximum reads; else 0 */
    uint16_t reserved0;     /* 0 */
    uint32_t result;        /* QEMU: IN/RMW: value read; POLL: last read */
    uint16_t reads;         /* QEMU: POLL: reads made; IN/RMW: 1 */
    uint16_t reserved1;     /* 0 */
};

/* Written by QEMU to the page given to the probe doorbell. */
struct pio_batch_probe {
    uint32_t magic;             /* PIO_BATCH_MAGIC */
    uint16_t version;           /* PIO_BATCH_VERSION */
    uint16_t max_entries;       /* largest count accepted */
    uint16_t max_poll;          /* largest poll limit accepted */
    uint16_t nr_kernel_ranges;  /* port ranges served by the KVM kernel */
    uint16_t max_accesses;      /* worst-case accesses of one table */
    uint16_t max_time_us;       /* a longer batch stops: ERR_TIME */
    struct {
        uint16_t base;
        uint16_t len;
    } kernel_ranges[16];
};

_Static_assert(sizeof(struct pio_batch_header) == 16, "ABI");
_Static_assert(sizeof(struct pio_batch_entry) == 24, "ABI");
_Static_assert(sizeof(struct pio_batch_probe) == 80, "ABI");

/*
 * Guest API.  A table is a 4 KiB-aligned buffer in guest RAM; @gpa is
 * its guest-physical address (equal to the pointer in an identity-mapped
 * guest).  One table serves one vCPU at a time; vCPUs submit their own
 * tables concurrently without any locking.
 *
 *   struct pio_batch b;
 *   pio_batch_init(&b, buf, (uintptr_t)buf, sizeof(buf), iobase);
 *   pio_batch_out(&b, 1, 0x70, 0x0e);
 *   int i = pio_batch_in(&b, 1, 0x71);
 *   if (pio_batch_submit(&b) == PIO_BATCH_OK) v = pio_batch_result(&b, i);
 */
struct pio_batch {
    struct pio_batch_header *hdr;
    struct pio_batch_entry *ent;
    uint64_t gpa;
    uint16_t capacity;          /* entries that fit in the buffer */
    uint16_t iobase;
};

static inline void pio_batch_outl_(uint16_t port, uint32_t v)
{
    asm volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint32_t pio_batch_inl_(uint16_t port)
{
    uint32_t v;

    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

/*
 * Identify the device and read its limits into @probe, which must be
 * 4 KiB aligned, at guest-physical address @gpa.  Returns 0 when a
 * pio-batch of a version this header knows answers at @iobase, else -1.
 */
static inline int pio_batch_probe(uint16_t iobase,
                                  volatile struct pio_batch_probe *probe,
                                  uint64_t gpa)
{
    if ((gpa & ((1u << PIO_BATCH_PAGE_SHIFT) - 1)) ||
        pio_batch_inl_(iobase + PIO_BATCH_REG_SUBMIT) != PIO_BATCH_MAGIC ||
        pio_batch_inl_(iobase + PIO_BATCH_REG_PROBE) != PIO_BATCH_VERSION) {
        return -1;
    }
    probe->magic = 0;
    pio_batch_outl_(iobase + PIO_BATCH_REG_PROBE,
                    (uint32_t)(gpa >> PIO_BATCH_PAGE_SHIFT));
    return probe->magic == PIO_BATCH_MAGIC &&
           probe->version == PIO_BATCH_VERSION ? 0 : -1;
}

/* True when [port, port + width) is served by the KVM kernel. */
static inline int pio_batch_is_kernel_port(
    const volatile struct pio_batch_probe *probe, uint16_t port,
    unsigned width)
{
    unsigned i;

    for (i = 0; i < probe->nr_kernel_ranges && i < 16; i++) {
        uint32_t b = probe->kernel_ranges[i].base;

        if (port < b + probe->kernel_ranges[i].len && b < port + width) {
            return 1;
        }
    }
    return 0;
}

/*
 * Use @buf (@size bytes at guest-physical @gpa, 4 KiB aligned, the table
 * must not cross into anything but RAM) as an empty table.  Returns 0, or
 * -1 when the buffer is misaligned or too small for the header.
 */
static inline int pio_batch_init(struct pio_batch *b, void *buf, uint64_t gpa,
                                 uint32_t size, uint16_t iobase)
{
    uint32_t n;

    b->hdr = 0;
    b->ent = 0;
    b->gpa = gpa;
    b->capacity = 0;
    b->iobase = iobase;
    if ((gpa & ((1u << PIO_BATCH_PAGE_SHIFT) - 1)) ||
        (gpa >> PIO_BATCH_PAGE_SHIFT) > 0xffffffffu ||
        size < sizeof(struct pio_batch_header)) {
        return -1;
    }
    n = (size - sizeof(struct pio_batch_header)) /
        sizeof(struct pio_batch_entry);
    b->hdr = (struct pio_batch_header *)buf;
    b->ent = (struct pio_batch_entry *)(b->hdr + 1);
    b->capacity = n > 0xffff ? 0xffff : n;
    b->hdr->version = PIO_BATCH_VERSION;
    b->hdr->count = 0;
    b->hdr->flags = 0;
    b->hdr->start = 0;
    b->hdr->reserved = 0;
    return 0;
}

/* Forget the queued entries; the buffer is reused. */
static inline void pio_batch_clear(struct pio_batch *b)
{
    if (b->hdr) {
        b->hdr->count = 0;
    }
}

/*
 * Queue one entry; returns its index (to read its result after the
 * submit) or -1 when the table is full.  Values are truncated to @width.
 */
static inline int pio_batch_queue(struct pio_batch *b, uint8_t op,
                                  uint8_t width, uint16_t port,
                                  uint32_t data, uint32_t mask,
                                  uint16_t limit)
{
    struct pio_batch_entry *e;
    uint16_t i;

    if (!b->hdr || b->hdr->count >= b->capacity) {
        return -1;
    }
    i = b->hdr->count;
    e = &b->ent[i];
    e->op = op;
    e->width = width;
    e->port = port;
    e->data = data;
    e->mask = mask;
    e->limit = limit;
    e->reserved0 = 0;
    e->result = 0;
    e->reads = 0;
    e->reserved1 = 0;
    b->hdr->count = i + 1;
    return i;
}

static inline int pio_batch_out(struct pio_batch *b, uint8_t width,
                                uint16_t port, uint32_t value)
{
    return pio_batch_queue(b, PIO_BATCH_OP_OUT, width, port, value, 0, 0);
}

static inline int pio_batch_in(struct pio_batch *b, uint8_t width,
                               uint16_t port)
{
    return pio_batch_queue(b, PIO_BATCH_OP_IN, width, port, 0, 0, 0);
}

/* v = IN; OUT (v & and_mask) | or_bits; the result is v. */
static inline int pio_batch_rmw(struct pio_batch *b, uint8_t width,
                                uint16_t port, uint32_t and_mask,
                                uint32_t or_bits)
{
    return pio_batch_queue(b, PIO_BATCH_OP_RMW, width, port, or_bits,
                           and_mask, 0);
}

/* IN until (v & mask) == expected, at most @limit reads (<= max_poll). */
static inline int pio_batch_poll(struct pio_batch *b, uint8_t width,
                                 uint16_t port, uint32_t mask,
                                 uint32_t expected, uint16_t limit)
{
    return pio_batch_queue(b, PIO_BATCH_OP_POLL, width, port, expected,
                           mask, limit);
}

/* Ring the doorbell for the entries from @start on. */
static inline int pio_batch_ring_(struct pio_batch *b, uint16_t start)
{
    volatile struct pio_batch_header *h = b->hdr;

    h->start = start;
    h->completed = 0;
    h->error = PIO_BATCH_ERR_NOT_RUN;
    h->failed_index = 0;
    /* The asm's memory clobber orders the table stores before the OUT. */
    pio_batch_outl_(b->iobase + PIO_BATCH_REG_SUBMIT,
                    (uint32_t)(b->gpa >> PIO_BATCH_PAGE_SHIFT));
    return h->error;
}

/*
 * Run the queued entries, with one exit unless the batch runs longer
 * than the device's max_time_us: then it stops with ERR_TIME and is
 * resumed where it stopped (each time one entry or more further on).
 * Returns the header's error (PIO_BATCH_OK when every entry completed),
 * or PIO_BATCH_ERR_NOT_RUN when no device answered the doorbell.
 */
static inline int pio_batch_submit(struct pio_batch *b)
{
    int err;

    if (!b->hdr) {
        return PIO_BATCH_ERR_NOT_RUN;
    }
    err = pio_batch_ring_(b, 0);
    while (err == PIO_BATCH_ERR_TIME) {
        err = pio_batch_ring_(b, ((volatile struct pio_batch_header *)
                                  b->hdr)->failed_index);
    }
    return err;
}

/* Entries fully performed by the last submit. */
static inline uint16_t pio_batch_completed(const struct pio_batch *b)
{
    return ((volatile struct pio_batch_header *)b->hdr)->completed;
}

/* Index of the entry the last submit stopped at (when it failed). */
static inline uint16_t pio_batch_failed_index(const struct pio_batch *b)
{
    return ((volatile struct pio_batch_header *)b->hdr)->failed_index;
}

/* IN/RMW: the value read; POLL: the last value read. */
static inline uint32_t pio_batch_result(const struct pio_batch *b, int i)
{
    return ((volatile struct pio_batch_entry *)b->ent)[i].result;
}

/* POLL: reads made; IN/RMW: 1; OUT: 0. */
static inline uint16_t pio_batch_reads(const struct pio_batch *b, int i)
{
    return ((volatile struct pio_batch_entry *)b->ent)[i].reads;
}

#endif
