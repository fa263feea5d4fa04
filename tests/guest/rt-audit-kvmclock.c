/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit's kvmclock guest: writes MSR_KVM_SYSTEM_TIME_NEW (0x4b564d01)
 * although TCG does not advertise kvmclock, survives the #GP, and exits
 * with success.  The plugin must flag the kvmclock MSR and count exactly
 * one exception.
 */
#include "libguest.h"
#include "rt-audit-marker.h"

#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01

static uint8_t pvclock_page[4096] __attribute__((aligned(4096)));

int main(void)
{
    int vector;

    RT_AUDIT_RESET();
    vector = wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW,
                        (uintptr_t)pvclock_page | 1);
    check(vector == 13 || vector == 0,
          "WRMSR 0x4b564d01 survived (vector %d)", vector);
    guest_exit_report();
}
