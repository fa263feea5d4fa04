# SPDX-License-Identifier: GPL-2.0-or-later
"""-rt with -daemonize and thread-context objects (patches/rt, "vl: create
thread-context objects and the sandbox after daemonizing")."""

import os
import signal
import tempfile

import qrt
import qemurt  # noqa: E402  (on sys.path through qrt)
from rtlib import EMU_CPU, RT_ARGS, SCHED_OTHER, fmt, need_cpus, threads


def test_daemonize():
    """A daemonized QEMU has the threads of its thread contexts: guest RAM
    is preallocated through tc1 and IOThread io1 is created by it (before
    the fix, QEMU never finished starting: tc1's thread stayed in the
    parent).  The daemon's tc1 and io1 threads, as /proc lists them, are
    on tc1's CPU at tc1's policy, and query-rt and qom-get name them."""
    need_cpus()
    with tempfile.TemporaryDirectory(prefix='qemu-rt-test-') as d:
        pidfile, sock = os.path.join(d, 'pid'), os.path.join(d, 'qmp.sock')
        args = [qrt.qemu_binary('tcg')] + qrt.base_args('tcg') + [
            '-kernel', qrt.guest_path('rt-guest'), '-append', 'mode=0',
            '-debugcon', 'null', '-S',
            '-object', f'thread-context,id=tc1,cpu-affinity={EMU_CPU},'
            'policy=rr,priority=1',
            '-object', 'memory-backend-ram,id=m0,size=128M,prealloc=on,'
            'prealloc-context=tc1',
            '-machine', 'memory-backend=m0',
            '-object', 'iothread,id=io1,thread-context=tc1',
            '-daemonize', '-pidfile', pidfile,
            '-qmp', f'unix:{sock},server=on,wait=off'] + RT_ARGS
        r = qrt.run(args, timeout=60)
        qrt.check(r.status == 0, f'QEMU daemonized, status {r.status}',
                  r.err)
        with open(pidfile) as f:
            pid = int(f.read())
        try:
            check_daemon(pid, sock)
        finally:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def check_daemon(pid, sock):
    qmp = qemurt.QMPClient(sock)
    tc = qmp.cmd('qom-get', path='/objects/tc1', property='thread-id')
    io = [t['thread-id'] for t in qmp.cmd('query-iothreads')
          if t['id'] == 'io1']
    qrt.check(len(io) == 1, f'query-iothreads lists io1 once: {io}')
    ts = threads(pid)
    for name, tid in (('TC tc1', tc), ('IO io1', io[0])):
        qrt.check(tid in ts, f'{name} (thread {tid}) is a thread of the '
                  f'daemon {pid}: {sorted(ts)}')
        want = (name, 'rr', 1, {EMU_CPU})
        qrt.check(ts[tid] == want, f'{name}: {fmt(ts[tid])} == {fmt(want)}')
    info = qmp.cmd('query-rt')
    names = {t['thread-id']: t['name'] for t in info['threads']}
    qrt.check(names.get(tc) == 'TC tc1' and names.get(io[0]) == 'IO io1',
              f'query-rt names threads {tc} and {io[0]}: {names}')
    emu = (SCHED_OTHER, 0, {EMU_CPU})
    others = [fmt(t) for tid, t in ts.items() if tid not in (tc, io[0])
              and not t[0].startswith('CPU ') and t[1:] != emu]
    qrt.check(not others, f'the other emulator threads are on CPU '
              f'{EMU_CPU} at {SCHED_OTHER}: {others}')
    qmp.cmd('quit')
    qmp.close()
