# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of timer-advance: a halted real-time TCG vCPU runs its own
timers, and only those; refused under KVM; stop/cont, savevm/loadvm and
migration with its timer pending."""

import os
import re
import tempfile
import time

import qrt
from rtlib import (EMU_CPU, RT_ARGS, TIMER_ADVANCE_DEFAULT, VCPU_CPU,
                   expect_refusal, need_cpus, quits_ok, wait_for)


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


# offsetof(per, seen) in tests/guest/timer-latency.c: the count of period
# starts its periodic mode has seen, after bool, uint32_t and 5 uint64_t.
SEEN_OFFSET = 48
# Guest periods at 1 kHz: 30 s of guest time, far more than the steps
# below take on a loaded host, so that the guest is still ticking at the end.
VMSTATE_PERIODS = 30000


def seen_address():
    r = qrt.run(['nm', qrt.guest_path('timer-latency')], timeout=30)
    m = re.search(r'^([0-9a-f]+) b per$', r.out, re.M)
    qrt.check(m is not None, 'timer-latency.elf has the symbol per', r.err)
    return int(m.group(1), 16) + SEEN_OFFSET


def hmp(qemu, line):
    return qemu.qmp.cmd('human-monitor-command', **{'command-line': line})


def ticks(qemu, addr):
    return int(hmp(qemu, f'xp /1gx {addr:#x}').split()[-1], 16)


def expect_ticking(qemu, addr, what):
    """The guest's tick count moves: at least a tenth of its 1 kHz rate
    over 0.2 s, wherever the host puts the vCPU, once the guest has
    reached its loop (booting under TCG on a loaded host can take longer
    than the measurement)."""
    wait_for(lambda: qemu.qmp.cmd('query-status')['status'] == 'running',
             f'{what}: the guest running', qemu, timeout=10)
    wait_for(lambda: ticks(qemu, addr) > 0, f'{what}: the first tick', qemu,
             timeout=10)
    before = ticks(qemu, addr)
    time.sleep(0.2)
    after = ticks(qemu, addr)
    qrt.check(after - before >= 20, f'{what}: the guest ticks, {before} -> '
              f'{after}', qemu.stderr())


def wait_job(qemu, job):
    wait_for(lambda: any(j['id'] == job and j['status'] == 'concluded'
                         for j in qemu.qmp.cmd('query-jobs')),
             f'job {job}', qemu, timeout=10)
    err = [j.get('error') for j in qemu.qmp.cmd('query-jobs')
           if j['id'] == job]
    qemu.qmp.cmd('job-dismiss', id=job)
    qrt.check(err == [None], f'job {job} succeeded', qemu.stderr())


def add_qcow2(qemu, path):
    """A new qcow2 image at @path as node 'disk', for savevm, made by QEMU
    itself (blockdev-create), so no qemu-img is needed."""
    qemu.qmp.cmd('blockdev-create', **{'job-id': 'mkfile', 'options': {
        'driver': 'file', 'filename': path, 'size': 0}})
    wait_job(qemu, 'mkfile')
    qemu.qmp.cmd('blockdev-add', driver='file', filename=path,
                 **{'node-name': 'file'})
    qemu.qmp.cmd('blockdev-create', **{'job-id': 'mkqcow2', 'options': {
        'driver': 'qcow2', 'file': 'file', 'size': 16 << 20}})
    wait_job(qemu, 'mkqcow2')
    qemu.qmp.cmd('blockdev-add', driver='qcow2', file='file',
                 **{'node-name': 'disk'})


def migrate(src, args, sock, what):
    dst = qrt.QemuProcess(args + ['-incoming', f'unix:{sock}'])
    try:
        src.qmp.cmd('migrate', uri=f'unix:{sock}')
        wait_for(lambda: src.qmp.cmd('query-migrate').get('status') in
                 ('completed', 'failed'), f'{what}: migration', src,
                 timeout=10)
        status = src.qmp.cmd('query-migrate')['status']
        qrt.check(status == 'completed', f'{what}: migration {status}',
                  src.stderr() + dst.stderr())
    except BaseException:
        dst.quit()
        raise
    src.quit()
    return dst


def test_vcpu_timers_vmstate():
    """stop/cont, savevm/loadvm and migration of an -rt TCG guest whose
    halted vCPU has its periodic APIC timer pending: nothing hangs (every
    QMP command answers within its time-out) and the tick goes on after
    each step."""
    need_cpus()
    addr = seen_address()
    args = qrt.base_args('tcg') + \
        qrt.guest_args('timer-latency', f'samples={VMSTATE_PERIODS} '
                       'interval=1000 mode=3') + RT_ARGS
    with tempfile.TemporaryDirectory(prefix='qemu-rt-vmstate-') as tmp:
        qemu = qrt.QemuProcess(args)
        try:
            expect_ticking(qemu, addr, 'start')
            for _ in range(1000):
                qemu.qmp.cmd('stop')
                qemu.qmp.cmd('cont')
            expect_ticking(qemu, addr, 'after 1000 stop/cont')
            add_qcow2(qemu, os.path.join(tmp, 'disk.qcow2'))
            for i in range(3):
                out = hmp(qemu, f'savevm s{i}') + hmp(qemu, f'loadvm s{i}')
                qrt.check(out == '', f'savevm/loadvm s{i}: no error '
                          f'{out!r}', qemu.stderr())
                expect_ticking(qemu, addr, f'after savevm/loadvm s{i}')
            for i in range(3):
                qemu = migrate(qemu, args, os.path.join(tmp, f'mig{i}'),
                               f'migration {i + 1}')
                expect_ticking(qemu, addr, f'after migration {i + 1}')
            qrt.check(qemu.proc.poll() is None, 'the guest is still running '
                      f'its {VMSTATE_PERIODS} periods', qemu.stdout())
        finally:
            qemu.quit()


def cpu_ticks(pid, tid):
    """utime + stime of thread @tid of @pid, in clock ticks."""
    with open(f'/proc/{pid}/task/{tid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_vcpu_timers_own():
    """A halted real-time vCPU waits for its own timers only: with vCPU 0
    (housekeeping, on the emulator CPU) ticking at 10 kHz, real-time
    vCPU 1, an AP the guest never starts, takes no CPU time.  Polling
    the main loop's timers, as rt/0011 first did, it took half its CPU."""
    need_cpus()
    addr = seen_address()
    args = qrt.base_args('tcg') + ['-smp', '2'] + \
        qrt.guest_args('timer-latency', 'samples=1000000 interval=100 '
                       'mode=3') + \
        ['-rt', f'vcpu-cpus={EMU_CPU},vcpu-cpus={VCPU_CPU},'
         f'emulator-cpus={EMU_CPU},rt-vcpus=1']
    qemu = qrt.QemuProcess(args)
    try:
        cpus = {c['cpu-index']: c['thread-id']
                for c in qemu.qmp.cmd('query-cpus-fast')}
        expect_ticking(qemu, addr, 'vCPU 0 at 10 kHz')
        before = cpu_ticks(qemu.pid, cpus[1])
        start = ticks(qemu, addr)
        time.sleep(1)
        used = cpu_ticks(qemu.pid, cpus[1]) - before
        end = ticks(qemu, addr)
    finally:
        qemu.quit()
    qrt.check(end - start >= 1000, f'vCPU 0 ticked {end - start} times in '
              '1 s (at least a tenth of 10 kHz)', qemu.stderr())
    hz = os.sysconf('SC_CLK_TCK')
    qrt.check(used * 100 <= 2 * hz, f'halted real-time vCPU 1 used {used} of '
              f'{hz} clock ticks in 1 s (at most 2 %)', qemu.stderr())


def test_device_timer():
    """A device timer of the main loop (the PIT at 10 kHz, which the
    halted guest never acknowledges) beside real-time vCPU 1, an AP the
    guest never starts: the main thread runs the timer, the halted
    real-time vCPU takes no CPU time, and 300 stop/cont cycles, each
    pausing the vCPUs while the timer expires, end with QEMU running."""
    need_cpus()
    args = qrt.base_args('tcg') + ['-smp', '2'] + \
        qrt.guest_args('rt-guest', 'mode=5') + \
        ['-rt', f'vcpu-cpus={EMU_CPU},vcpu-cpus={VCPU_CPU},'
         f'emulator-cpus={EMU_CPU},rt-vcpus=1']
    qemu = qrt.QemuProcess(args)
    with quits_ok(qemu, 'PIT at 10 kHz'):
        wait_for(lambda: 'rt-guest: pit' in qemu.stdout(),
                 'the guest to start the PIT', qemu)
        cpus = {c['cpu-index']: c['thread-id']
                for c in qemu.qmp.cmd('query-cpus-fast')}
        main0, rt0 = cpu_ticks(qemu.pid, qemu.pid), \
            cpu_ticks(qemu.pid, cpus[1])
        time.sleep(1)
        main = cpu_ticks(qemu.pid, qemu.pid) - main0
        used = cpu_ticks(qemu.pid, cpus[1]) - rt0
        hz = os.sysconf('SC_CLK_TCK')
        qrt.check(main >= 1 and used * 100 <= 2 * hz,
                  f'PIT at 10 kHz: the main thread used {main} clock ticks '
                  f'(>= 1) in 1 s, halted real-time vCPU 1 used {used} of '
                  f'{hz} (at most 2 %)', qemu.stderr())
        for _ in range(300):
            qemu.qmp.cmd('stop')
            qemu.qmp.cmd('cont')
        status = qemu.qmp.cmd('query-status')['status']
        qrt.check(status == 'running', f'PIT at 10 kHz: after 300 stop/cont '
                  f'QEMU is {status}', qemu.stderr())


def test_timer_storm():
    """A hostile guest: a periodic APIC timer of one APIC clock, halted
    with interrupts off, so that its timer expires again as soon as it
    has run, in the main loop and (-rt) in the real-time vCPU's thread.
    QEMU must stay responsive: QMP answers and quit ends it."""
    need_cpus()
    for rt in ([], RT_ARGS):
        timer_storm(rt, f'APIC timer storm{" under -rt" if rt else ""}')


def timer_storm(rt, what):
    args = qrt.base_args('tcg') + qrt.guest_args('rt-guest', 'mode=4') + rt
    qemu = qrt.QemuProcess(args)
    try:
        wait_for(lambda: 'rt-guest: timer storm' in qemu.stdout(),
                 'the guest to start its timer storm', qemu)
        time.sleep(1)
        slowest = 0
        for _ in range(20):
            start = time.monotonic()
            status = qemu.qmp.cmd('query-status')['status']
            slowest = max(slowest, time.monotonic() - start)
        qrt.check(status == 'running' and slowest < 2,
                  f'{what}: QMP answers (status {status}, slowest of 20 '
                  f'query-status {slowest:.3f} s < 2 s)', qemu.stderr())
    finally:
        rc = qemu.quit(timeout=30)
    qrt.check(rc == 0, f'{what}: QEMU quit with status {rc}', qemu.stderr())
