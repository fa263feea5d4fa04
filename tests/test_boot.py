# SPDX-License-Identifier: GPL-2.0-or-later
"""The hello guest boots on -M pc and -M q35 and exits with success, on the
accelerator named by argv[1] (tcg, tci or kvm), and the binary under test is
the patched one.  Under KVM the guest boots through SeaBIOS, QEMU's default
firmware, as well as through qboot, which the other KVM tests use."""

import sys

import qrt


def main():
    accel = sys.argv[1]
    if accel == 'kvm':
        qrt.require_kvm()
    qrt.check_patched(accel)
    bioses = (False, True) if accel == 'kvm' else (False,)
    for machine in ('pc', 'q35'):
        for seabios in bioses:
            what = f'-M {machine} ({accel}' + \
                (', SeaBIOS)' if seabios else ')')
            r = qrt.run_guest('hello', accel=accel, machine=machine,
                              timeout=120, seabios=seabios)
            qrt.expect_guest_pass(r, f'hello on {what}')
            qrt.check('qemu-rt hello guest: running in long mode' in r.out,
                      f'hello printed its line on {what}', r.err)


if __name__ == '__main__':
    main()
