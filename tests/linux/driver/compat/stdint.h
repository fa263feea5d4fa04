/* SPDX-License-Identifier: GPL-2.0-or-later */
/* include/pio-batch.h includes <stdint.h>; in the kernel the types are here. */
#include <linux/types.h>
