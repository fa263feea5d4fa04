/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit's budget guest: two critical sections, the first with 3 exits
 * (outb to 0x80), the second with 12 (6 x outb to 0x80, 6 x CPUID leaf 0).
 * With budget=12 both are within budget; with budget=11 the second fails.
 */
#include "libguest.h"
#include "rt-audit-marker.h"

int main(void)
{
    int i;

    RT_AUDIT_RESET();
    RT_SECTION_BEGIN();
    for (i = 0; i < 3; i++) {
        outb(0x80, i);
    }
    RT_SECTION_END();

    RT_SECTION_BEGIN();
    for (i = 0; i < 6; i++) {
        outb(0x80, i);
        cpuid(0, 0);
    }
    RT_SECTION_END();
    return GUEST_PASS;
}
