/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Test guest of the -rt option (tests/rt/test_rt.py).
 *   mode=0  print "rt-guest: idle" and halt with interrupts off until QEMU
 *           is told to quit, so that the test can inspect QEMU's threads
 *           without the vCPU burning its host CPU;
 *   mode=1  read KVM's CPUID leaf 0x40000001 and check that the kvmclock
 *           bits (KVM_FEATURE_CLOCKSOURCE, bit 0, and
 *           KVM_FEATURE_CLOCKSOURCE2, bit 3) are set for expect=1 and
 *           clear for expect=0;
 *   mode=2  print "rt-guest: started" and exit with success, to tell a
 *           guest that ran from a QEMU that failed with status 1;
 *   mode=3  print the guest's view of the CPU properties that -rt
 *           defaults: the PMU version of CPUID leaf 0xa (0 without a
 *           PMU), KVM_HINTS_REALTIME (bit 0 of CPUID 0x40000001 EDX) and
 *           the invariant TSC (bit 8 of CPUID 0x80000007 EDX);
 *   mode=4  a hostile guest: print "rt-guest: timer storm", run the
 *           local APIC timer periodic with an initial count of 1 at
 *           divide 1 (a period of one APIC clock) and halt with
 *           interrupts off, so that the timer expires again as soon as
 *           it has run;
 *   mode=5  run the PIT's channel 0 as a rate generator at divisor=N
 *           (default 119, about 10 kHz), print "rt-guest: pit" and halt
 *           with interrupts off: a device timer of the main loop that
 *           keeps expiring while the vCPUs sleep.
 */
#include "libguest.h"

#define KVM_FEATURE_CLOCKSOURCE  (1u << 0)
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

static void check_kvmclock(bool expect)
{
    struct cpuid sig = cpuid(0x40000000, 0);
    char vendor[13];
    uint32_t feat;

    memcpy(vendor, &sig.b, 4);
    memcpy(vendor + 4, &sig.c, 4);
    memcpy(vendor + 8, &sig.d, 4);
    vendor[12] = '\0';
    check(memcmp(vendor, "KVMKVMKVM\0\0\0", 12) == 0,
          "hypervisor signature \"%s\" is KVM's", vendor);
    feat = cpuid(0x40000001, 0).a;
    printf("rt-guest: CPUID 0x40000001 eax=0x%x clocksource=%u "
           "clocksource2=%u\n", feat, !!(feat & KVM_FEATURE_CLOCKSOURCE),
           !!(feat & KVM_FEATURE_CLOCKSOURCE2));
    check(!!(feat & KVM_FEATURE_CLOCKSOURCE) == expect,
          "KVM_FEATURE_CLOCKSOURCE %s", expect ? "set" : "clear");
    check(!!(feat & KVM_FEATURE_CLOCKSOURCE2) == expect,
          "KVM_FEATURE_CLOCKSOURCE2 %s", expect ? "set" : "clear");
}

static void __attribute__((noreturn)) timer_storm(void)
{
    printf("rt-guest: timer storm\n");
    cli();
    mmio_write32(APIC_BASE + APIC_SVR, 0x1ff);          /* enabled */
    mmio_write32(APIC_BASE + APIC_TDCR, 0xb);           /* divide by 1 */
    mmio_write32(APIC_BASE + APIC_LVTT, (1u << 17) | 0x40); /* periodic */
    mmio_write32(APIC_BASE + APIC_TMICT, 1);
    for (;;) {
        asm volatile("hlt");
    }
}

#define PIT_CH0  0x40
#define PIT_MODE 0x43

static void __attribute__((noreturn)) pit_rate(void)
{
    uint16_t divisor = cmdline_u64("divisor", 119);

    outb(PIT_MODE, 0x34);           /* channel 0, lo/hi byte, mode 2 */
    outb(PIT_CH0, divisor & 0xff);
    outb(PIT_CH0, divisor >> 8);
    printf("rt-guest: pit\n");
    cli();
    for (;;) {
        asm volatile("hlt");
    }
}

static void report_cpu(void)
{
    uint32_t pmu = 0, hints = 0, apm = 0;

    if (cpuid(0, 0).a >= 0xa) {
        pmu = cpuid(0xa, 0).a & 0xff;
    }
    if (cpuid(0x40000000, 0).a >= 0x40000001) {
        hints = cpuid(0x40000001, 0).d;
    }
    if (cpuid(0x80000000, 0).a >= 0x80000007) {
        apm = cpuid(0x80000007, 0).d;
    }
    printf("rt-guest: pmu-version=%u hint-realtime=%u invtsc=%u\n", pmu,
           hints & 1, !!(apm & (1u << 8)));
}

int main(void)
{
    switch (cmdline_u64("mode", 0)) {
    case 0:
        printf("rt-guest: idle\n");
        cli();
        for (;;) {
            asm volatile("hlt");
        }
    case 1:
        check_kvmclock(cmdline_u64("expect", 1));
        guest_exit_report();
    case 2:
        printf("rt-guest: started\n");
        guest_exit(GUEST_PASS);
    case 3:
        report_cpu();
        guest_exit(GUEST_PASS);
    case 4:
        timer_storm();
    case 5:
        pit_rate();
    default:
        check(false, "known mode");
        guest_exit_report();
    }
}
