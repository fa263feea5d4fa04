# SPDX-License-Identifier: GPL-2.0-or-later
"""A busy QEMU under -rt: every thread it ever has, from /proc.

An iothread serving a virtio-blk disk, block I/O in thread-pool workers
on the main loop and on the iothread, a VNC client asking for the screen
(the VNC server encodes in its worker thread), and a migration to a file
with multifd channels: each makes threads of its own.  (The project's
QEMU has no audio backend, so audio threads are not in the census.)  The
census samples /proc/<pid>/task while all that runs and asserts that
only the vCPU thread is ever on the real-time vCPU's CPU.
"""

import os
import socket
import struct
import tempfile
import threading

import qrt
from rtlib import (EMU_CPU, KERNEL_TASKS, RT_ARGS, VCPU_CPU, fmt, need_cpus,
                   quits_ok, start_idle, threads, wait_for)


def census(pid, action):
    """Run action() while sampling every thread of pid; return
    {(tid, comm): (comm, policy, priority, affinity)} of all seen."""
    seen, done = {}, threading.Event()

    def work():
        try:
            action()
        finally:
            done.set()
    worker = threading.Thread(target=work)
    worker.start()
    while not done.is_set():
        for tid, t in threads(pid).items():
            seen.setdefault((tid, t[0]), t)
    worker.join()
    for tid, t in threads(pid).items():
        seen.setdefault((tid, t[0]), t)
    return seen


def vnc_update(path):
    """Connect to the VNC server at unix socket path without
    authentication and return the first framebuffer update's header."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(path)
        f = s.makefile('rwb', buffering=0)
        version = f.read(12)
        f.write(version)
        types = f.read(f.read(1)[0])
        qrt.check(1 in types, f'VNC offers no authentication ({types})')
        f.write(b'\x01')
        qrt.check(f.read(4) == b'\0\0\0\0', 'VNC security result ok')
        f.write(b'\x01')
        width, height = struct.unpack('>HH', f.read(4))
        f.read(16)
        f.read(struct.unpack('>I', f.read(4))[0])
        f.write(struct.pack('>BBHHHH', 3, 0, 0, 0, width, height))
        return f.read(4)


def test_census():
    need_cpus()
    tmp = tempfile.TemporaryDirectory(prefix='qemu-rt-census-')
    disk = os.path.join(tmp.name, 'disk1.img')
    with open(disk, 'wb') as f:
        f.truncate(1 << 20)
    vnc = os.path.join(tmp.name, 'vnc.sock')
    qemu = start_idle('tcg', RT_ARGS + [
        '-vnc', f'unix:{vnc}',
        '-object', 'iothread,id=io0',
        '-drive', f'file={disk},if=none,format=raw,id=d1,aio=threads',
        '-device', 'virtio-blk-pci,drive=d1,iothread=io0'])
    what = 'busy QEMU under -rt'
    state = {}

    def busy():
        state['vnc'] = vnc_update(vnc)
        for drive in ('d0', 'd1'):
            for off in range(0, 1 << 20, 64 << 10):
                qemu.qmp.cmd('human-monitor-command', **{
                    'command-line': f'qemu-io {drive} "aio_write {off} 64k"'})
        wait_for(lambda: qemu.stdout().count('wrote 65536/65536') == 32,
                 'qemu-io to write 32 x 64 KiB', qemu)
        qemu.qmp.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'multifd', 'state': True},
            {'capability': 'mapped-ram', 'state': True}])
        qemu.qmp.cmd('migrate-set-parameters', **{'multifd-channels': 2})
        out = os.path.join(tmp.name, 'migration')
        qemu.qmp.cmd('migrate', uri=f'file:{out}')
        wait_for(lambda: qemu.qmp.cmd('query-migrate').get('status') in
                 ('completed', 'failed'), 'the migration to end', qemu)
        state['migration'] = qemu.qmp.cmd('query-migrate')['status']

    with quits_ok(qemu, what):
        vcpus = {c['thread-id'] for c in qemu.qmp.cmd('query-cpus-fast')}
        seen = census(qemu.pid, busy)
    qrt.check(state.get('migration') == 'completed',
              f'{what}: the migration completed ({state.get("migration")})',
              qemu.stderr())

    names = sorted({comm for _, comm in seen})
    print(f'{len(seen)} threads seen, names: {names}')
    for (tid, comm), t in sorted(seen.items()):
        print(f'  {tid} {fmt(t)}')
    qrt.check(state.get('vnc', b'')[:1] == b'\0',
              f'{what}: the VNC server sent a framebuffer update '
              f'({state.get("vnc")})')
    for want in ('IO io0', 'IO mon_iothread', 'worker', 'vnc_worker',
                 'mig/src/main', 'mig/src/send_0', 'mig/src/send_1'):
        qrt.check(want in names, f'{what}: the census saw "{want}"')
    for (tid, comm), t in sorted(seen.items()):
        if tid in vcpus:
            qrt.check(t[3] == {VCPU_CPU}, f'{what}: vCPU thread {tid} '
                      f'{fmt(t)} is on CPU {VCPU_CPU} only')
        elif comm not in KERNEL_TASKS:
            qrt.check(t[3] == {EMU_CPU}, f'{what}: thread {tid} {fmt(t)} '
                      f'is on the emulator CPU {EMU_CPU} only')
