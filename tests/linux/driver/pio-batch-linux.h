/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-kernel API of the pio-batch driver: run a batch of port accesses with
 * one exit.  The entries are those of include/pio-batch.h; the results come
 * back in them.  pio_batch_run() is documented where it is defined, in
 * pio-batch.c.
 */
#ifndef _PIO_BATCH_LINUX_H
#define _PIO_BATCH_LINUX_H

struct pio_batch_entry;

int pio_batch_run(struct pio_batch_entry *ent, unsigned int count);

#endif /* _PIO_BATCH_LINUX_H */
