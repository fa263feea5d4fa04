/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The smallest qemu-rt test guest, and the default guest of scripts/demo:
 * print who we run on and exit with success.
 */
#include "libguest.h"

int main(void)
{
    struct cpuid v = cpuid(0, 0);
    char vendor[13];

    memcpy(vendor, &v.b, 4);
    memcpy(vendor + 4, &v.d, 4);
    memcpy(vendor + 8, &v.c, 4);
    vendor[12] = '\0';
    printf("qemu-rt hello guest: running in long mode on \"%s\", "
           "tsc %lu\n", vendor, rdtsc());
    return GUEST_PASS;
}
