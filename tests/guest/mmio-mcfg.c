/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Four 32-bit reads of q35's PCIe MMCONFIG window (0xb0000000: bus 0,
 * device 0, the host bridge's vendor and device ID), outside the fixed
 * APIC/HPET window: rt-audit sees them only when QEMU reports MMIO to
 * plugins (patches/plugins-mmio).
 */
#include "libguest.h"
#include "rt-audit-marker.h"

#define MCFG_BASE 0xb0000000UL

int main(void)
{
    uint32_t id[4];
    int i;

    RT_AUDIT_RESET();
    for (i = 0; i < 4; i++) {
        id[i] = mmio_read32(MCFG_BASE);
    }
    printf("q35 host bridge id %08x (read %d times)\n", id[0], i);
    return id[0] == id[3] && id[0] != 0xffffffff ? GUEST_PASS : GUEST_FAIL;
}
