# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of timer-advance: a halted real-time TCG vCPU runs its own
timers; refused under KVM."""

import qrt
from rtlib import RT_ARGS, TIMER_ADVANCE_DEFAULT, expect_refusal, need_cpus


def test_vcpu_timers():
    """A halted -rt vCPU runs its timers itself (TCG): the timer guest
    gets every one-shot wake-up and accounts for every tick, whatever
    the advance, and query-rt reports the advance given."""
    need_cpus()
    for adv in (None, 0, 1000000):
        rt = list(RT_ARGS)
        if adv is not None:
            rt[1] += f',timer-advance={adv}'
        want = TIMER_ADVANCE_DEFAULT if adv is None else adv
        what = f'timer-advance={want}'
        qemu = qrt.QemuProcess(qrt.base_args('tcg') + ['-S'] + rt)
        try:
            info = qemu.qmp.cmd('query-rt')
        finally:
            qemu.quit()
        got = [t.get('timer-advance-ns') for t in info['threads']
               if 'cpu-index' in t]
        qrt.check(got == [want], f'{what}: query-rt timer-advance-ns {got}',
                  qemu.stderr())

        r = qrt.run_guest('timer-latency', extra=rt,
                          append='samples=200 interval=500 mode=1')
        qrt.expect_guest_pass(r, f'{what} one-shot')
        res = qrt.guest_result(r, f'{what} one-shot')
        qrt.check(res['samples'] == 200 and res['mode'] == 'one-shot',
                  f'{what} one-shot: 200 wake-ups measured', r.out)

        r = qrt.run_guest('timer-latency', extra=rt,
                          append='samples=200 interval=1000 mode=3')
        qrt.expect_guest_pass(r, f'{what} tick')
        res = qrt.guest_result(r, f'{what} tick')
        qrt.check(res['periods'] >= 200 and res['samples'] >= 1 and
                  res['samples'] + res['lost'] == res['periods'],
                  f'{what} tick: {res["samples"]} delivered + {res["lost"]} '
                  f'lost == {res["periods"]} periods', r.out)


def test_timer_advance_kvm():
    need_cpus()
    qrt.require_kvm()
    expect_refusal(['-rt', RT_ARGS[1] + ',unstable-tsc=allow,'
                    'timer-advance=1000'],
                   "qemu-system-x86_64: -rt: timer-advance applies to TCG "
                   "only; with KVM the guest's timers do not run in QEMU, "
                   "remove it", 'timer-advance under KVM', accel='kvm')
