# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of where -rt puts the threads that KVM runs for the VM: the
in-kernel PIT's kernel thread kvm-pit/<pid> on vCPU 0's CPU one priority
above it, KVM's NX huge page recovery worker (a task of QEMU's process
since Linux 6.13) on the emulator CPUs; and of query-rt's kvm-threads,
checked against /proc."""

import json
import os
import shutil
import stat
import tempfile

import qrt
from nonroot import qemu_in, setpriv
from rtlib import (
    EMU_CPU, NOBODY, RT_ARGS, SCHED_FIFO, SCHED_OTHER, VCPU_CPU,
    fmt, need_cpus, threads, wait_for, warned)

NX_COMM = 'kvm-nx-lpage-re'
PIDNS = ['unshare', '--pid', '--fork', '--mount-proc']


def kvm_threads(pid):
    """{tid: (comm, policy, rt_priority, affinity)} of KVM's threads for
    QEMU @pid as /proc shows them: kvm-pit/<pid> among all processes,
    the NX worker among QEMU's tasks."""
    found = {tid: t for tid, t in threads(pid).items() if t[0] == NX_COMM}
    for entry in os.listdir('/proc'):
        try:
            with open(f'/proc/{entry}/comm') as f:
                comm = f.read().strip()
        except (OSError, ValueError):
            continue
        if comm == f'kvm-pit/{pid}':
            found.update(threads(int(entry)))
    return found


def compare(info, procs, what, err):
    """query-rt's kvm-threads is exactly what /proc says; its threads
    leave them out."""
    got = {t['thread-id']: (t['name'], t['policy'], t['priority'],
                            set(t['affinity'])) for t in info['kvm-threads']}
    qrt.check(got == procs, f'{what}: query-rt kvm-threads '
              f'{sorted(got.items())} == /proc {sorted(procs.items())}', err)
    listed = {t['thread-id'] for t in info['threads']}
    qrt.check(not listed & set(procs), f'{what}: query-rt threads leaves '
              'them out', err)


def check_query_rt(qemu, what):
    """compare() for a running QEMU; returns (/proc's view, query-rt)."""
    info = qemu.qmp.cmd('query-rt')
    procs = kvm_threads(qemu.pid)
    compare(info, procs, what, qemu.stderr())
    return procs, info


def by_name(ts, pid):
    pit = [t for t in ts.values() if t[0] == f'kvm-pit/{pid}']
    nx = [t for t in ts.values() if t[0] == NX_COMM]
    return pit, nx


def start(args, accel='kvm'):
    return qrt.QemuProcess(qrt.base_args(accel) + ['-S'] +
                           qrt.guest_args('rt-guest', 'mode=0') + args,
                           accel=accel)


def test_kvm_threads():
    """Under -rt, kvm-pit/<pid> runs on vCPU 0's CPU at fifo 2 (the vCPU
    has 1) and the NX worker on the emulator CPU before the guest runs;
    query-rt lists both as /proc shows them, empty under TCG."""
    need_cpus()
    qemu = start(RT_ARGS, accel='tcg')
    try:
        info = qemu.qmp.cmd('query-rt')
    finally:
        qemu.quit()
    qrt.check(info['kvm-threads'] == [], f'tcg -rt: query-rt kvm-threads '
              f'{info["kvm-threads"]} == []', qemu.stderr())
    qrt.require_kvm()

    # -M none has no vCPU: no KVM_RUN, no NX worker (this crashed QEMU).
    qmp = ('{"execute": "qmp_capabilities"}\n{"execute": "query-rt"}\n'
           '{"execute": "quit"}\n')
    r = qrt.run([qrt.qemu_binary('kvm')] + qrt.firmware_args() + [
        '-M', 'none', '-nodefaults', '-display', 'none', '-no-user-config'] +
        qrt.accel_args('kvm') + RT_ARGS + ['-S', '-qmp', 'stdio'],
        input=qmp, timeout=120)
    got = [json.loads(line)['return'].get('kvm-threads')
           for line in r.out.splitlines() if '"kvm-threads"' in line]
    qrt.check(r.status == 0 and got == [[]], f'kvm -M none -rt: exit status '
              f'{r.status} == 0, query-rt kvm-threads {got} == [[]]', r.err)

    # Without -rt the kernel places them: the NX worker appears with the
    # guest's first KVM_RUN.
    qemu = start([])
    try:
        ts, _ = check_query_rt(qemu, 'kvm, paused, no -rt')
        pit, nx = by_name(ts, qemu.pid)
        if not pit:
            qrt.skip(f'KVM created no kvm-pit/{qemu.pid} thread for the '
                     'in-kernel PIT, so there is nothing to place')
        print(f'note: no -rt: kvm-pit is {fmt(pit[0])}')
        qrt.check(not nx, f'kvm, paused, no -rt: no {NX_COMM} task before '
                  f'the first KVM_RUN ({nx})', qemu.stderr())
        qemu.qmp.cmd('cont')
        wait_for(lambda: by_name(kvm_threads(qemu.pid), qemu.pid)[1],
                 f'the {NX_COMM} task', qemu, timeout=10)
        ts, _ = check_query_rt(qemu, 'kvm, running, no -rt')
        print(f'note: no -rt: {NX_COMM} is {fmt(by_name(ts, qemu.pid)[1][0])}')
    finally:
        qemu.quit()

    qemu = start(RT_ARGS)
    try:
        want_pit = (f'kvm-pit/{qemu.pid}', SCHED_FIFO, 2, {VCPU_CPU})
        want_nx = (NX_COMM, SCHED_OTHER, 0, {EMU_CPU})
        for what in ('paused', 'running'):
            ts, info = check_query_rt(qemu, f'kvm -rt, {what}')
            pit, nx = by_name(ts, qemu.pid)
            qrt.check(pit == [want_pit], f'kvm -rt, {what}: kvm-pit is '
                      f'{[fmt(t) for t in pit]} (expected {fmt(want_pit)})',
                      qemu.stderr())
            qrt.check(nx == [want_nx], f'kvm -rt, {what}: {NX_COMM} is '
                      f'{[fmt(t) for t in nx]} (expected {fmt(want_nx)})',
                      qemu.stderr())
            qrt.check('kvm-thread-not-placed' not in info['warnings'],
                      f'kvm -rt, {what}: no warning {info["warnings"]}')
            if what == 'paused':
                tids = sorted(ts)
                hmp = qemu.qmp.cmd('human-monitor-command',
                                   **{'command-line': 'info rt'})
                pit_tid = [t for t in ts if ts[t][0] == want_pit[0]][0]
                line = (f'  KVM     tid {pit_tid} "{want_pit[0]}": fifo 2 '
                        f'(reset-on-fork), CPUs {VCPU_CPU}')
                qrt.check(line in hmp.splitlines(), f'info rt has '
                          f'"{line}"', hmp)
                qemu.qmp.cmd('cont')
                wait_for(lambda: 'rt-guest: idle' in qemu.stdout(),
                         'the guest to idle', qemu)
        qrt.check(sorted(ts) == tids, f'kvm -rt: the same threads after '
                  f'the guest ran ({tids})')
    finally:
        qemu.quit()

    # vCPU 0 for housekeeping: kvm-pit follows it to the emulator CPU and
    # keeps SCHED_OTHER, as vCPU 0 does.
    qemu = start(['-smp', '2', '-rt', RT_ARGS[1] + ',rt-vcpus=1'])
    try:
        ts, _ = check_query_rt(qemu, 'kvm -rt rt-vcpus=1, paused')
    finally:
        qemu.quit()
    got = sorted(ts.values(), key=lambda t: t[0])
    want = [(NX_COMM, SCHED_OTHER, 0, {EMU_CPU}),
            (f'kvm-pit/{qemu.pid}', SCHED_OTHER, 0, {EMU_CPU})]
    qrt.check(got == want, f'kvm -rt rt-vcpus=1: KVM\'s threads {got} == '
              f'{want}', qemu.stderr())


def test_kvm_threads_pidns():
    """In a PID namespace QEMU cannot see kvm-pit: not a refusal of the
    host, so even with enforce=on (the default) QEMU starts, warns and
    still places the NX worker."""
    need_cpus()
    qrt.require_kvm()
    if not shutil.which('unshare') or os.geteuid() != 0:
        qrt.skip('needs root and unshare(1) for a PID namespace')
    msg = ('KVM thread kvm-pit/1 of the in-kernel PIT is not in /proc '
           '(QEMU may run in a PID namespace)')
    hint = 'Place it from the host, with taskset -p and chrt -p.'
    # QEMU, pid 1 of its namespace, behind a script that QemuProcess runs.
    binary = qrt.qemu_binary('kvm')
    with tempfile.TemporaryDirectory(prefix='qemu-rt-pidns-') as d:
        wrapper = os.path.join(d, 'qemu-system-x86_64')
        with open(wrapper, 'w') as f:
            f.write(f'#!/bin/sh\nexec {" ".join(PIDNS)} {binary} "$@"\n')
        os.chmod(wrapper, 0o755)
        os.environ['QEMU_RT_QEMU'] = wrapper
        try:
            qemu = start(RT_ARGS)
        finally:
            os.environ['QEMU_RT_QEMU'] = binary
        try:
            info = qemu.qmp.cmd('query-rt')
        finally:
            qemu.quit()
    got = [(t['name'], t['policy'], t['priority'], t['affinity'])
           for t in info['kvm-threads']]
    want = [(NX_COMM, 'other', 0, [EMU_CPU])]
    qrt.check(got == want, f'kvm -rt in a PID namespace: '
              f'kvm-threads {got} == {want}', qemu.stderr())
    qrt.check('kvm-thread-not-placed' in info['warnings'],
              f'kvm -rt in a PID namespace: warning '
              f'kvm-thread-not-placed in {info["warnings"]}', qemu.stderr())
    qrt.check(warned(qemu.stderr(), msg, hint), f'the warning says why '
              f'("{msg}"), its hint what to do ("{hint}")', qemu.stderr())


def nonroot_query(d, caps, what):
    """(query-rt, stderr, kvm_threads() of /proc) of QEMU run as nobody
    with @caps on the KVM device node of @d, -rt enforce=off, paused."""
    args = qrt.base_args('kvm') + [
        '-S', '-kernel', os.path.join(d, 'rt-guest.elf'), '-append',
        'mode=0', '-rt', RT_ARGS[1] + ',enforce=off']
    args[args.index('-accel') + 1] = f'kvm,device={d}/kvm'
    cmd = setpriv(caps, 0, 0) + [os.path.join(d, 'qemu-system-x86_64')] + args
    with qemu_in(d, cmd, what) as (proc, qmp, err):
        info = qmp.cmd('query-rt')
        procs = kvm_threads(proc.pid)
    err.seek(0)
    return info, err.read(), procs, proc.pid


def test_kvm_threads_nonroot():
    """kvm-pit belongs to root: QEMU as nobody places it with
    CAP_SYS_NICE, and without it warns kvm-thread-not-placed, naming the
    capability, while it still places the NX worker of its own process."""
    need_cpus()
    qrt.require_kvm()
    if os.geteuid() != 0 or not shutil.which('setpriv'):
        qrt.skip('the non-root KVM tests switch users and need root and '
                 'setpriv(1)')
    with qrt.reachable_copy([qrt.qemu_binary('kvm'),
                             qrt.guest_path('rt-guest')]) as d:
        # nobody's own node of the KVM device, as /dev/kvm is root's.
        node = os.path.join(d, 'kvm')
        os.mknod(node, stat.S_IFCHR | 0o600, os.stat('/dev/kvm').st_rdev)
        os.chown(node, NOBODY, NOBODY)
        what = 'nobody with CAP_SYS_NICE and CAP_IPC_LOCK'
        info, err, procs, pid = nonroot_query(d, ['sys_nice', 'ipc_lock'],
                                              what)
        got = sorted(procs.values(), key=lambda t: t[0])
        want = [(NX_COMM, SCHED_OTHER, 0, {EMU_CPU}),
                (f'kvm-pit/{pid}', SCHED_FIFO, 2, {VCPU_CPU})]
        qrt.check(got == want, f'{what}: KVM\'s threads {got} == {want}',
                  err)
        compare(info, procs, what, err)
        qrt.check('kvm-thread-not-placed' not in info['warnings'],
                  f'{what}: no warning kvm-thread-not-placed', err)

        what = 'nobody with CAP_IPC_LOCK only, enforce=off'
        info, err, procs, pid = nonroot_query(d, ['ipc_lock'], what)
        compare(info, procs, what, err)
        pit = [(tid, t) for tid, t in procs.items() if t[0] != NX_COMM]
        nx = [t for t in procs.values() if t[0] == NX_COMM]
        # A kernel thread starts with the affinity of kthreadd (pid 2).
        want = (f'kvm-pit/{pid}', SCHED_OTHER, 0, os.sched_getaffinity(2))
        qrt.check(len(pit) == 1 and pit[0][1] == want, f'{what}: kvm-pit '
                  f'stays where the kernel put it ({pit}, expected '
                  f'{fmt(want)})', err)
        qrt.check(nx == [(NX_COMM, SCHED_OTHER, 0, {EMU_CPU})],
                  f'{what}: {NX_COMM} is placed ({nx})', err)
        qrt.check('kvm-thread-not-placed' in info['warnings'],
                  f'{what}: warning kvm-thread-not-placed in '
                  f'{info["warnings"]}', err)
        msg = (f'warning: -rt: KVM thread kvm-pit/{pid}: setting the CPU '
               f'affinity of thread {pit[0][0]} failed: Operation not '
               'permitted; it needs CAP_SYS_NICE')
        qrt.check(msg in err, f'{what}: stderr has "{msg}"', err)
