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

/* Header error codes (the batch stops at entry failed_index). */
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
    PIO_BATCH_ERR_NOT_RUN     = 0xffff, /* set by the guest: untouched */
};

/* At the start of the table; the table starts on a 4 KiB page. */
struct pio_batch_header {
    uint16_t version;       /* guest: PIO_BATCH_VERSION */
    uint16_t count;         /* guest: number of entries that follow */
    uint16_t completed;     /* QEMU: entries fully performed */
    uint16_t error;         /* QEMU: enum pio_batch_error */
    uint16_t failed_index;  /* QEMU: entry that failed (when error != 0) */
    uint16_t flags;         /* guest: 0 */
    uint32_t reserved;      /* guest: 0 */
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
    uint32_t reserved;
    struct {
        uint16_t base;
        uint16_t len;
    } kernel_ranges[16];
};

_Static_assert(sizeof(struct pio_batch_header) == 16, "ABI");
_Static_assert(sizeof(struct pio_batch_entry) == 24, "ABI");
_Static_assert(sizeof(struct pio_batch_probe) == 80, "ABI");

#endif
