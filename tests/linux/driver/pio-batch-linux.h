/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-kernel API of the pio-batch driver (tests/linux/driver/pio-batch.c): run
 * a batch of port accesses with one exit.  The entries are those of
 * include/pio-batch.h; results come back in them.
 */
#ifndef PIO_BATCH_LINUX_H
#define PIO_BATCH_LINUX_H

#include <linux/types.h>

struct pio_batch_entry;

/*
 * Run @count entries in order with one doorbell.  Returns 0 when every
 * entry completed (results in ent[i].result and ent[i].reads), -ENODEV
 * without a device, -EINVAL when @count is 0 or above the device's
 * maximum, -EIO when the device refused or stopped the batch (logged).
 * Sleeps: not from atomic context.
 */
int pio_batch_run(struct pio_batch_entry *ent, unsigned int count);

#endif
