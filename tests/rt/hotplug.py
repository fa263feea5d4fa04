# SPDX-License-Identifier: GPL-2.0-or-later
"""vCPU hot-plug under -rt: the machine's pre_plug decides per vCPU.

A real-time vCPU needs a host CPU of its own in vcpu-cpus, so plugging
one without is refused, with one line, and the guest keeps running; a
vCPU outside rt-vcpus is plugged and runs SCHED_OTHER on the emulator
CPUs.
"""

import json

import qrt
from rtlib import (EMU_CPU, SCHED_FIFO, SCHED_OTHER, VCPU_CPU, fmt,
                   need_cpus, start_idle, threads)


def test_hotplug():
    need_cpus()
    rt = {'vcpu-cpus': [VCPU_CPU], 'emulator-cpus': [EMU_CPU],
          'rt-vcpus': [0, 2]}
    qemu = start_idle('tcg', ['-smp', '1,sockets=3,cores=1,threads=1,maxcpus=3',
                              '-rt', json.dumps(rt)])
    what = 'hot-plug under -rt'
    try:
        slots = {c['props']['socket-id']: c for c in
                 qemu.qmp.cmd('query-hotpluggable-cpus')}
        ctype = slots[2]['type']

        def plug(socket):
            return qemu.qmp.raw('device_add', driver=ctype, id=f'cpu{socket}',
                                **{'socket-id': socket, 'core-id': 0,
                                   'thread-id': 0})

        resp = plug(2)
        want = ('-rt: real-time vCPU 2 has no host CPU; list one in '
                'vcpu-cpus for it, or leave it out of rt-vcpus, to plug it')
        qrt.check(resp.get('error', {}).get('desc') == want,
                  f'{what}: real-time vCPU 2 is refused: {resp}')
        resp = plug(1)
        qrt.check('error' not in resp, f'{what}: housekeeping vCPU 1 is '
                  f'plugged: {resp}', qemu.stderr())
        cpus = {c['cpu-index']: c['thread-id']
                for c in qemu.qmp.cmd('query-cpus-fast')}
        qrt.check(sorted(cpus) == [0, 1], f'{what}: vCPUs {sorted(cpus)} '
                  '== [0, 1]', qemu.stderr())
        ts = threads(qemu.pid)
        want = {0: ('CPU 0/TCG', SCHED_FIFO, 1, {VCPU_CPU}),
                1: ('CPU 1/TCG', SCHED_OTHER, 0, {EMU_CPU})}
        for idx, t in want.items():
            got = ts[cpus[idx]]
            qrt.check(got == t, f'{what}: vCPU {idx} is {fmt(got)} '
                      f'(expected {fmt(t)})', qemu.stderr())
        status = qemu.qmp.cmd('query-status')['status']
        qrt.check(status == 'running', f'{what}: the guest is {status}')
    finally:
        rc = qemu.quit()
    qrt.check(rc == 0, f'{what}: QEMU quit with status {rc}', qemu.stderr())
