# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of -rt's memory: locking, the balloon and discard refused, the
bound on what TCG locks."""

import os

import qrt
from kvm import cpu_props
from rtlib import (
    GUEST_RAM, RT_ARGS, errors, expect_refusal, need_cpus, start_idle,
    vm_lck)


MEM_LOCK_REFUSALS = [
    (['-overcommit', 'mem-lock=off'] + RT_ARGS,
     'qemu-system-x86_64: -overcommit mem-lock=off cannot be used with -rt, '
     'which locks guest memory; remove mem-lock=off, or lock pages when '
     'first touched with -rt ...,mem-lock=on-fault'),
    (['-overcommit', 'mem-lock=on-fault'] + RT_ARGS,
     'qemu-system-x86_64: -overcommit mem-lock=on-fault contradicts -rt '
     'mem-lock=on (the default); give the mode once, as -rt '
     '...,mem-lock=on-fault'),
    (['-overcommit', 'mem-lock=on', '-rt', RT_ARGS[1] + ',mem-lock=on-fault'],
     'qemu-system-x86_64: -overcommit mem-lock=on contradicts -rt '
     'mem-lock=on-fault; give the mode once, as -rt ...,mem-lock=on'),
]


def test_mem_lock():
    """An -overcommit mem-lock that -rt would override is refused in one
    line; one that agrees with -rt is accepted and memory is locked."""
    need_cpus()
    for args, msg in MEM_LOCK_REFUSALS:
        r = qrt.run_qemu(qrt.base_args('tcg') + args)
        qrt.check(r.status == 1 and r.err.strip() == msg,
                  f'{" ".join(args)}: exit status {r.status} == 1 and '
                  f'stderr is the one line "{msg}"', r.err)
    for args, what in ((['-overcommit', 'mem-lock=on'] + RT_ARGS,
                        'mem-lock=on twice'),
                       (['-overcommit', 'mem-lock=on-fault', '-rt',
                         RT_ARGS[1] + ',mem-lock=on-fault'],
                        'mem-lock=on-fault twice')):
        qemu = start_idle('tcg', args)
        try:
            lck = vm_lck(qemu.pid)
        finally:
            qemu.quit()
        # VmLck counts on-fault mappings too, touched or not.
        qrt.check(lck >= GUEST_RAM, f'{what}: QEMU starts, VmLck {lck} >= '
                  f'{GUEST_RAM}',
                  qemu.stderr())


MiB = 1 << 20
RT_TB_SIZE = 64 * MiB
# What QEMU itself locks besides guest RAM and the translation buffer: its
# binary, heap, thread stacks and glibc's per-thread malloc arenas (64 MiB
# of address space each, counted by VmLck although never touched; worker
# threads come and go).  Measured: 345 MiB for this idle guest.
LOCK_MARGIN = 512 * MiB


def test_locked_tcg():
    """Under TCG, -rt locks guest RAM, a 64 MiB translation buffer and
    QEMU's own memory, not TCG's default buffer of up to 1 GiB; an
    explicit -accel tcg,tb-size= wins.  query-rt reports both."""
    need_cpus()
    sizes = {}
    for accel, want in ((None, RT_TB_SIZE), ('tcg,tb-size=256', 256 * MiB)):
        qemu = start_idle('tcg', RT_ARGS, accel_opts=accel)
        try:
            info = qemu.qmp.cmd('query-rt')
            lck = vm_lck(qemu.pid)
        finally:
            qemu.quit()
        what = f'-accel {accel or "tcg"} -rt'
        qrt.check(info.get('tcg-tb-size') == want,
                  f'{what}: query-rt tcg-tb-size {info.get("tcg-tb-size")} '
                  f'== {want}', qemu.stderr())
        bound = GUEST_RAM + want + LOCK_MARGIN
        qrt.check(GUEST_RAM + want <= lck <= bound,
                  f'{what}: VmLck {lck // MiB} MiB is within guest RAM '
                  f'{GUEST_RAM // MiB} MiB + translation buffer '
                  f'{want // MiB} MiB + margin {LOCK_MARGIN // MiB} MiB',
                  qemu.stderr())
        qrt.check(abs(info['locked-memory'] - lck) <= 16 * MiB,
                  f'{what}: query-rt locked-memory '
                  f'{info["locked-memory"] // MiB} MiB is VmLck', qemu.stderr())
        sizes[want] = lck
    print(f'VmLck: {sizes[RT_TB_SIZE] // MiB} MiB with the -rt default, '
          f'{sizes[256 * MiB] // MiB} MiB with tb-size=256')
    # Without -rt TCG sizes the buffer itself, and query-rt leaves it out.
    got, info, err = cpu_props('tcg', [], [])
    qrt.check('tcg-tb-size' not in info, 'no tcg-tb-size without -rt', err)


def test_balloon():
    need_cpus()
    msg = ('virtio-balloon cannot be used with -rt: inflating the balloon '
           'and free page reporting give locked guest memory back to the '
           'host; remove the balloon device or -rt')
    expect_refusal(RT_ARGS + ['-device', 'virtio-balloon-pci'],
                   'qemu-system-x86_64: -device virtio-balloon-pci: ' + msg,
                   'balloon at startup')
    expect_refusal(RT_ARGS + ['-device',
                              'virtio-balloon-pci,free-page-reporting=on'],
                   msg, 'free page reporting at startup')
    qemu = qrt.QemuProcess(qrt.base_args('tcg') + ['-S'] + RT_ARGS)
    try:
        resp = qemu.qmp.raw('device_add', driver='virtio-balloon-pci',
                            id='b0')
        qrt.check(resp.get('error', {}).get('desc') == msg,
                  f'balloon at device_add refused: {resp}', qemu.stderr())
    finally:
        qemu.quit()
    # Without -rt the balloon still works.
    r = qrt.run_guest('rt-guest', extra=['-device', 'virtio-balloon-pci'],
                      append='mode=2')
    qrt.check(r.status == 1 and 'rt-guest: started' in r.out,
              'balloon without -rt', r.err)


VIRTIO_MEM = ['-m', '128M,maxmem=1G', '-object',
              'memory-backend-ram,id=m0,size=256M']
DISCARD_MSG = ('virtio-mem needs to discard RAM, which is disabled (by '
               '-overcommit mem-lock or -rt, which lock memory, or by VFIO, '
               'vhost-vdpa or a confidential guest)')


def test_discard():
    """Locked memory disables RAM discard: every discard user (virtio-mem
    in QEMU 10.2; the balloon is refused by test_balloon) is refused with
    one line and exit status 1, at startup and with device_add."""
    need_cpus()
    dev = ['-device', 'virtio-mem-pci,memdev=m0,id=vm0']
    for lock, what in ((RT_ARGS, '-rt'),
                       (['-rt', RT_ARGS[1] + ',mem-lock=on-fault'],
                        '-rt mem-lock=on-fault'),
                       (['-overcommit', 'mem-lock=on'],
                        '-overcommit mem-lock=on')):
        r = qrt.run_qemu(qrt.base_args('tcg') + VIRTIO_MEM + dev + lock)
        want = ('qemu-system-x86_64: -device virtio-mem-pci,memdev=m0,'
                'id=vm0: ' + DISCARD_MSG)
        lines = errors(r.err)
        qrt.check(r.status == 1 and lines == [want],
                  f'virtio-mem with {what}: exit status {r.status} == 1 and '
                  f'the one error line "{want}"', r.err)
    qemu = qrt.QemuProcess(qrt.base_args('tcg') + ['-S', '-m',
                                                   '128M,maxmem=1G'] +
                           RT_ARGS)
    try:
        qemu.qmp.cmd('object-add', **{'qom-type': 'memory-backend-ram',
                                      'id': 'm1', 'size': 256 << 20})
        resp = qemu.qmp.raw('device_add', driver='virtio-mem-pci',
                            memdev='m1', id='vm1')
        qrt.check(resp.get('error', {}).get('desc') == DISCARD_MSG,
                  f'virtio-mem at device_add refused: {resp}',
                  qemu.stderr())
    finally:
        qemu.quit()
    # Without locked memory virtio-mem still works.
    r = qrt.run_guest('rt-guest', extra=VIRTIO_MEM + dev, append='mode=2')
    qrt.check(r.status == 1 and 'rt-guest: started' in r.out,
              'virtio-mem without -rt', r.err)


def ram_vmflags(pid):
    """VmFlags of the mapping of guest RAM (GUEST_RAM bytes) in smaps."""
    size = None
    with open(f'/proc/{pid}/smaps') as f:
        for line in f:
            if line.startswith('Size:'):
                size = int(line.split()[1]) * 1024
            elif line.startswith('VmFlags:') and size == GUEST_RAM:
                return line.split()[1:]
    qrt.fail(f'no mapping of {GUEST_RAM} bytes in /proc/{pid}/smaps')


def test_mem_merge():
    """-rt turns KSM merging of guest RAM off (madvise MERGEABLE, 'mg' in
    smaps), as libvirt's <nosharepages/>; -machine mem-merge=on wins."""
    need_cpus()
    cases = [([], True, 'without -rt'),
             (RT_ARGS, False, '-rt'),
             (RT_ARGS + ['-machine', 'mem-merge=on'], True,
              '-rt -machine mem-merge=on')]
    for extra, merge, what in cases:
        qemu = start_idle('tcg', extra)
        try:
            flags = ram_vmflags(qemu.pid)
        finally:
            status = qemu.quit()
        qrt.check(('mg' in flags) == merge and status == 0,
                  f'{what}: guest RAM is {"" if merge else "not "}mergeable '
                  f'(VmFlags {" ".join(flags)}), QEMU quit with {status}',
                  qemu.stderr())


def test_numa_bind():
    """A RAM backend bound to host node 0 (libvirt's <numatune> strict,
    Nova's NUMA topology) under -rt: bound, and locked there."""
    need_cpus()
    if not os.path.isdir('/sys/devices/system/node/node0'):
        qrt.skip('the host has no NUMA node 0 in /sys/devices/system/node')
    qemu = start_idle('tcg', RT_ARGS + [
        '-object', f'memory-backend-memfd,id=m0,size={GUEST_RAM},'
        'host-nodes=0,policy=bind', '-machine', 'memory-backend=m0'])
    try:
        with open(f'/proc/{qemu.pid}/numa_maps') as f:
            ram = [l.split() for l in f if 'memory-backend-memfd' in l]
    finally:
        status = qemu.quit()
    pages = GUEST_RAM // os.sysconf('SC_PAGE_SIZE')
    qrt.check(len(ram) == 1 and ram[0][1] == 'bind:0' and
              f'N0={pages}' in ram[0] and status == 0,
              f'host-nodes=0,policy=bind: numa_maps of guest RAM '
              f'{ram} has bind:0 and N0={pages}, QEMU quit with {status}',
              qemu.stderr())
