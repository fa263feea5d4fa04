# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of -rt run without root, with only the capabilities and
resource limits it needs."""

import contextlib
import os
import shutil
import subprocess
import tempfile

import qrt
from memory import VIRTIO_MEM
from rtlib import (
    EMU_CPU, GUEST_RAM, NOBODY, RT_ARGS, SCHED_FIFO, SCHED_OTHER, VCPU_CPU,
    fmt, need_cpus, threads, vm_lck)


def setpriv(caps, rtprio, memlock):
    cmd = ['prlimit', f'--rtprio={rtprio}', f'--memlock={memlock}', '--',
           'setpriv', f'--reuid={NOBODY}', f'--regid={NOBODY}',
           '--clear-groups']
    if caps:
        c = ','.join('+' + x for x in caps)
        cmd += [f'--inh-caps={c}', f'--ambient-caps={c}']
    else:
        cmd += ['--inh-caps=-all']
    return cmd


@contextlib.contextmanager
def qemu_in(d, cmd, what):
    """Run cmd (QEMU behind a user switch) in directory d, with a QMP
    socket there; yield (process, QMP, stderr file), quit at the end."""
    qmp_path = os.path.join(d, f'qmp-{len(os.listdir(d))}.sock')
    err = tempfile.TemporaryFile(mode='w+')
    proc = subprocess.Popen(
        cmd + ['-qmp', f'unix:{qmp_path},server=on,wait=off'],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
        cwd=d)
    try:
        qmp = qrt.QMP(qmp_path)
    except (qrt.TestFailure, OSError) as e:
        proc.kill()
        proc.wait()
        err.seek(0)
        qrt.fail(f'{what}: QEMU did not start: {e}', err.read())
    try:
        yield proc, qmp, err
    finally:
        try:
            qmp.cmd('quit')
        except (qrt.TestFailure, OSError):
            pass
        proc.wait(30)
        qmp.close()


def nonroot_run(d, qemu, guest, prefix, what):
    """Start QEMU as nobody with QMP and check its threads from outside."""
    args = prefix + [qemu] + qrt.base_args('tcg') + [
        '-kernel', guest, '-debugcon', 'stdio', '-append', 'mode=0'] + \
        RT_ARGS
    with qemu_in(d, args, what) as (proc, qmp, err):
        cpus = qmp.cmd('query-cpus-fast')
        vcpu = cpus[0]['thread-id']
        ts = threads(proc.pid)
        for tid, t in ts.items():
            want = ((t[0], SCHED_FIFO, 1, {VCPU_CPU}) if tid == vcpu
                    else (t[0], SCHED_OTHER, 0, {EMU_CPU}))
            err.seek(0)
            qrt.check(t == want, f'{what}: thread {tid} is {fmt(t)}',
                      err.read())
        lck = vm_lck(proc.pid)
        qrt.check(lck >= GUEST_RAM, f'{what}: VmLck {lck} >= {GUEST_RAM}')
        with open(f'/proc/{proc.pid}/status') as f:
            uid = [ln for ln in f if ln.startswith('Uid:')][0].split()[1]
        qrt.check(uid == str(NOBODY), f'{what}: QEMU runs as uid {uid}')


def test_nonroot():
    need_cpus()
    if os.geteuid() != 0:
        qrt.skip('the non-root tests switch users and need root')
    for tool in ('setpriv', 'prlimit'):
        if not shutil.which(tool):
            qrt.skip(f'{tool} is not installed')
    # nobody may not be able to enter the cache or the build directory
    # (root's home is 0700): it runs copies, and makes its QMP sockets there.
    with qrt.reachable_copy([qrt.qemu_binary('tcg'),
                             qrt.guest_path('rt-guest')]) as d:
        qemu = os.path.join(d, 'qemu-system-x86_64')
        guest = os.path.join(d, 'rt-guest.elf')
        nonroot_run(d, qemu, guest,
                    setpriv(['sys_nice', 'ipc_lock'], 0, 0),
                    'nobody with CAP_SYS_NICE and CAP_IPC_LOCK')
        r = qrt.run(['prlimit', '--rtprio=1', '--memlock=unlimited', 'true'])
        if r.status == 0:
            nonroot_run(d, qemu, guest, setpriv([], 1, 'unlimited'),
                        'nobody with RLIMIT_RTPRIO=1, '
                        'RLIMIT_MEMLOCK=unlimited')
        else:
            print('SKIP (part): cannot raise RLIMIT_RTPRIO/RLIMIT_MEMLOCK '
                  f'here ({r.err.strip()}), so the run with limits instead '
                  'of capabilities is not tested')
        base = [qemu] + qrt.base_args('tcg') + [
            '-kernel', guest, '-append', 'mode=0'] + RT_ARGS
        r = qrt.run(setpriv([], 0, 65536) + base, cwd=d)
        msg = ('-rt: vCPU 0: setting scheduling policy fifo priority 1 for '
               'thread ')
        want = ('failed: Operation not permitted; it needs CAP_SYS_NICE or '
                'RLIMIT_RTPRIO >= 1 (RLIMIT_RTPRIO is 0)')
        qrt.check(r.status == 1 and msg in r.err and want in r.err,
                  f'nobody without CAP_SYS_NICE/RLIMIT_RTPRIO: status '
                  f'{r.status}, "{msg}... {want}"', r.err)
        fix = ('grant CAP_IPC_LOCK or raise RLIMIT_MEMLOCK above guest RAM '
               'plus QEMU\'s own memory')
        for memlock, want, what in (
                (0, 'locking memory failed: Operation not permitted: QEMU '
                 'has no CAP_IPC_LOCK and an RLIMIT_MEMLOCK of 0 KiB; ' + fix,
                 'RLIMIT_MEMLOCK=0 (EPERM)'),
                (65536, 'locking memory failed: Cannot allocate memory: QEMU '
                 'has no CAP_IPC_LOCK and maps more than its RLIMIT_MEMLOCK '
                 'of 64 KiB already; ' + fix,
                 'RLIMIT_MEMLOCK=64 KiB (ENOMEM)')):
            r = qrt.run(setpriv(['sys_nice'], 0, memlock) + base, cwd=d)
            want = 'qemu-system-x86_64: ' + want
            qrt.check(r.status == 1 and want in r.err.splitlines(),
                      f'nobody without CAP_IPC_LOCK, {what}: status '
                      f'{r.status}, the line "{want}"', r.err)
        r = qrt.run(setpriv([], 0, 65536) +
                    [qemu] + qrt.base_args('tcg') +
                    ['-kernel', guest, '-debugcon', 'stdio',
                     '-append', 'mode=2', '-rt', RT_ARGS[1] + ',enforce=off'],
                    cwd=d)
        qrt.check(r.status == 1 and 'rt-guest: started' in r.out and
                  'warning: -rt: vCPU 0: setting scheduling policy' in r.err
                  and 'warning: -rt: locking memory failed' in r.err,
                  'enforce=off: nobody without privileges starts with '
                  'warnings', r.err)
        # Nothing is locked then, so RAM discard is allowed again.
        r = qrt.run(setpriv(['sys_nice'], 0, 65536) +
                    [qemu] + qrt.base_args('tcg') + VIRTIO_MEM +
                    ['-device', 'virtio-mem-pci,memdev=m0', '-kernel', guest,
                     '-debugcon', 'stdio', '-append', 'mode=2',
                     '-rt', RT_ARGS[1] + ',enforce=off'], cwd=d)
        qrt.check(r.status == 1 and 'rt-guest: started' in r.out and
                  'warning: -rt: locking memory failed' in r.err,
                  'enforce=off, memory not locked: virtio-mem, a discard '
                  'user, starts', r.err)
