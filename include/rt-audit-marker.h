/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Markers for the rt-audit TCG plugin (docs/rt-audit.md).  Each is an
 * 8-byte NOP, `nopl 0x525453NN(%rax,%rax,1)` (bytes 0f 1f 84 00 NN 53 54 52,
 * "RTS" in the displacement): it does nothing on any CPU, never exits under
 * KVM, and the plugin recognises it at translation time.
 *
 *   RT_SECTION_BEGIN()  start a critical section on this vCPU
 *   RT_SECTION_END()    end it; the plugin reports the exits in between and
 *                       checks them against its budget=N argument
 *   RT_AUDIT_RESET()    zero this vCPU's counters (sections already closed
 *                       are kept): leaves firmware and boot out of the audit
 */
#ifndef QEMU_RT_AUDIT_MARKER_H
#define QEMU_RT_AUDIT_MARKER_H

#define RT_AUDIT_MARKER_RESET   0x52545300
#define RT_AUDIT_MARKER_BEGIN   0x52545301
#define RT_AUDIT_MARKER_END     0x52545302

#define RT_AUDIT_MARKER_(id) \
    asm volatile(".byte 0x0f, 0x1f, 0x84, 0x00, " #id ", 0x53, 0x54, 0x52" \
                 : : : "memory")

#define RT_AUDIT_RESET()    RT_AUDIT_MARKER_(0x00)
#define RT_SECTION_BEGIN()  RT_AUDIT_MARKER_(0x01)
#define RT_SECTION_END()    RT_AUDIT_MARKER_(0x02)

#endif
