/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit's main test guest: a known mix of exiting instructions, counted
 * exactly by tests/rt-audit/test_rt_audit.py from the plugin's JSON report.
 * RT_AUDIT_RESET() leaves the firmware and the boot code out of the counts,
 * and nothing is printed until the audited part is over.
 *
 *   100 x outb to 0x80 (imm8 form)      3 x CPUID leaf 0
 *   2 x WRMSR IA32_TSC_AUX              1 x REP OUTSB of 37 bytes to 0x700
 *   1 x REP INSB of 16 bytes from 0x702 2 x PAUSE (not exits)
 *   1 x REP OUTSB of 70000 bytes to 0x703 (TCG splits it in passes)
 *   1 x xAPIC read, 1 x xAPIC TPR write 1 x HPET read
 *   one 64-entry pio-batch table rung once (60 OUT + 4 IN to port 0x80)
 *   one critical section with exactly 5 exits: outb, outw, inl to 0x701
 *   (userspace), CPUID leaf 1 and RDMSR IA32_TSC_AUX (kernel)
 *
 * With pio-batch=1 on the command line the guest also checks that the
 * device performed the batch.
 */
#include "libguest.h"
#include "pio-batch.h"
#include "rt-audit-marker.h"

#define MSR_TSC_AUX     0xc0000103
#define PORT_OUTS       0x700
#define PORT_SECTION    0x701
#define PORT_INS        0x702
#define PORT_LONG_OUTS  0x703
#define LONG_OUTS_BYTES 70000   /* above TCG's 65535 iterations per pass */
#define BATCH_ENTRIES   64

static struct {
    struct pio_batch_header h;
    struct pio_batch_entry e[BATCH_ENTRIES];
} table __attribute__((aligned(4096)));

static const char outs_data[37] = "rt-audit: 37 bytes through rep outsb";
static uint8_t ins_data[16];
static uint8_t long_outs_data[LONG_OUTS_BYTES];

int main(void)
{
    bool device = cmdline_u64("pio-batch", 0);
    const char *src = outs_data;
    uint8_t *dst = ins_data;
    size_t n;
    int wr1, wr2, i;
    uint32_t apic_version, hpet_id;

    RT_AUDIT_RESET();
    for (i = 0; i < 100; i++) {
        outb(0x80, i);
    }
    for (i = 0; i < 3; i++) {
        cpuid(0, 0);
    }
    wr1 = wrmsr_safe(MSR_TSC_AUX, 1);
    wr2 = wrmsr_safe(MSR_TSC_AUX, 2);
    n = sizeof(outs_data);
    asm volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(PORT_OUTS)
                 : "memory");
    src = (const char *)long_outs_data;
    n = sizeof(long_outs_data);
    asm volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(PORT_LONG_OUTS)
                 : "memory");
    n = sizeof(ins_data);
    asm volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(PORT_INS)
                 : "memory");
    pause();
    pause();
    apic_version = mmio_read32(0xfee00030);
    mmio_write32(0xfee00080, 0);
    hpet_id = mmio_read32(0xfed00000);

    for (i = 0; i < BATCH_ENTRIES; i++) {
        bool in = i % 16 == 15;

        table.e[i] = (struct pio_batch_entry) {
            .op = in ? PIO_BATCH_OP_IN : PIO_BATCH_OP_OUT,
            .width = 1, .port = 0x80, .data = in ? 0 : i,
        };
    }
    table.h = (struct pio_batch_header) {
        .version = PIO_BATCH_VERSION, .count = BATCH_ENTRIES,
        .error = PIO_BATCH_ERR_NOT_RUN,
    };
    asm volatile("" : : : "memory");    /* the table is written first */
    outl(PIO_BATCH_DEFAULT_IOBASE + PIO_BATCH_REG_SUBMIT,
         (uint32_t)((uintptr_t)&table >> PIO_BATCH_PAGE_SHIFT));
    asm volatile("" : : : "memory");    /* and read back after */

    RT_SECTION_BEGIN();
    outb(PORT_SECTION, 1);
    outw(PORT_SECTION, 2);
    (void)inl(PORT_SECTION);
    cpuid(1, 0);
    (void)rdmsr(MSR_TSC_AUX);
    RT_SECTION_END();

    check(wr1 == 0 && wr2 == 0, "WRMSR IA32_TSC_AUX did not fault (%d, %d)",
          wr1, wr2);
    check(n == 0 && src == (const char *)long_outs_data + LONG_OUTS_BYTES,
          "rep outsb and rep insb ran to the end");
    printf("xAPIC version %x, HPET id %x\n", apic_version, hpet_id);
    if (device) {
        check(table.h.error == PIO_BATCH_OK &&
              table.h.completed == BATCH_ENTRIES,
              "pio-batch performed the batch: completed %u of %u, error %u",
              table.h.completed, BATCH_ENTRIES, table.h.error);
    }
    guest_exit_report();
}
