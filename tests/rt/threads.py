# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of where -rt puts QEMU's threads and how it chooses the CPUs:
placement, rt-vcpus, -rt on, housekeeping vCPUs, thread contexts and
the refusals of bad options."""

import os
import shutil

import qrt
from rtlib import (
    EMU_CPU, GUEST_RAM, RT_ARGS, SCHED_FIFO, SCHED_OTHER,
    TIMER_ADVANCE_DEFAULT, VCPU_CPU, check_query_rt, check_threads,
    expect_refusal, fmt, host_isolated, need_cpus, query_rt_once, quits_ok,
    start_idle, threads, vm_lck, wait_for, warned, watch_threads)


def test_placement(accel, emulator_fifo=False):
    need_cpus()
    if accel == 'kvm':
        qrt.require_kvm()
    extra = list(RT_ARGS)
    vcpu_sched = (SCHED_FIFO, 1)
    emu_sched = (SCHED_OTHER, 0)
    if emulator_fifo:
        extra[1] += ',priority=2,emulator-priority=1'
        vcpu_sched = (SCHED_FIFO, 2)
        emu_sched = (SCHED_FIFO, 1)
    if accel == 'kvm':
        extra[1] += ',unstable-tsc=allow'
    what = f'{accel}{" emulator-priority=1" if emulator_fifo else ""}'
    with quits_ok(start_idle(accel, extra), what) as qemu:
        cpus = qemu.qmp.cmd('query-cpus-fast')
        vcpu_tids = {c['thread-id'] for c in cpus}
        qrt.check(len(vcpu_tids) == 1, f'{what}: one vCPU thread', None)
        ts = check_threads(qemu, vcpu_tids, vcpu_sched, emu_sched,
                           f'{what} at startup')
        vname = ts[next(iter(vcpu_tids))][0]
        qrt.check(vname == f'CPU 0/{accel.upper()}',
                  f'{what}: vCPU thread is named "{vname}"', qemu.stderr())
        qrt.check(len(ts) >= 3, f'{what}: {len(ts)} threads (main, RCU, '
                  'vCPU at least)', qemu.stderr())

        qemu.qmp.cmd('object-add', **{'qom-type': 'iothread', 'id': 'io1'})
        wait_for(lambda: any(t[0] == 'IO io1'
                             for t in threads(qemu.pid).values()),
                 'the iothread "IO io1"', qemu)
        check_threads(qemu, vcpu_tids, vcpu_sched, emu_sched,
                      f'{what} after object-add iothread')

        # qemu-io prints to QEMU's stdout; aio=threads reads in "worker"s.
        for off in range(0, 1 << 20, 64 << 10):
            qemu.qmp.cmd('human-monitor-command', **{
                'command-line': f'qemu-io d0 "aio_read {off} 64k"'})
        wait_for(lambda: qemu.stdout().count('read 65536/65536 bytes') == 16,
                 'qemu-io to read 16 x 64 KiB', qemu)
        ts = threads(qemu.pid)
        workers = [t for t in ts.values() if t[0] == 'worker']
        qrt.check(workers, f'{what}: block I/O runs in worker threads '
                  f'{[fmt(w) for w in workers]}', qemu.stderr())
        check_threads(qemu, vcpu_tids, vcpu_sched, emu_sched,
                      f'{what} after block I/O')

        lck = vm_lck(qemu.pid)
        qrt.check(lck >= GUEST_RAM, f'{what}: VmLck {lck} >= guest RAM '
                  f'{GUEST_RAM}', qemu.stderr())
        info = check_query_rt(qemu, what)
        qrt.check(info['locked-memory'] >= GUEST_RAM,
                  f'{what}: query-rt locked-memory {info["locked-memory"]} '
                  f'>= {GUEST_RAM}', qemu.stderr())
        qv = [t for t in info['threads'] if 'cpu-index' in t]
        qrt.check([(t['cpu-index'], t['thread-id'], t['reset-on-fork'])
                   for t in qv] ==
                  [(c['cpu-index'], c['thread-id'], True) for c in cpus],
                  f'{what}: query-rt vCPUs match query-cpus-fast and have '
                  'reset-on-fork', qemu.stderr())
        # Under TCG the real-time vCPU runs its own timers (default
        # advance 50 us); under KVM the guest's timers are in the kernel.
        want = [TIMER_ADVANCE_DEFAULT] if accel == 'tcg' else []
        adv = [t['timer-advance-ns'] for t in info['threads']
               if 'timer-advance-ns' in t]
        qrt.check(adv == want and
                  ('timer-advance-ns' in qv[0]) == (accel == 'tcg'),
                  f'{what}: timer-advance-ns {adv} == {want}, on the vCPU',
                  str(info))
        hmp = qemu.qmp.cmd('human-monitor-command',
                           **{'command-line': 'info rt'})
        line = f'vCPU 0 tid {qv[0]["thread-id"]}'
        qrt.check('real-time: active' in hmp and line in hmp,
                  f'{what}: info rt shows the vCPU', hmp)
        runs = f'runs its timers {TIMER_ADVANCE_DEFAULT} ns in advance'
        qrt.check((runs in hmp) == (accel == 'tcg'),
                  f'{what}: info rt says whether the vCPU runs its timers',
                  hmp)


def test_rt_vcpus():
    """vCPU 1 is not real-time: SCHED_OTHER, pinned, sharing CPU 0."""
    need_cpus()
    args = ['-smp', '2', '-rt', f'vcpu-cpus={VCPU_CPU},vcpu-cpus={EMU_CPU},'
            f'emulator-cpus={EMU_CPU},rt-vcpus=0']
    with quits_ok(start_idle('tcg', args), 'rt-vcpus=0') as qemu:
        cpus = {c['cpu-index']: c['thread-id']
                for c in qemu.qmp.cmd('query-cpus-fast')}
        ts = threads(qemu.pid)
        for tid, t in sorted(ts.items()):
            if tid == cpus[0]:
                want = ('CPU 0/TCG', SCHED_FIFO, 1, {VCPU_CPU})
            elif tid == cpus[1]:
                want = ('CPU 1/TCG', SCHED_OTHER, 0, {EMU_CPU})
            else:
                want = (t[0], SCHED_OTHER, 0, {EMU_CPU})
            qrt.check(t == want, f'rt-vcpus=0: thread {tid} is {fmt(t)} '
                      f'(expected {fmt(want)})', qemu.stderr())
        info = check_query_rt(qemu, 'rt-vcpus=0')
        adv = {t['cpu-index']: t.get('timer-advance-ns')
               for t in info['threads'] if 'cpu-index' in t}
        qrt.check(adv == {0: TIMER_ADVANCE_DEFAULT, 1: None},
                  f'rt-vcpus=0: only vCPU 0 runs its timers {adv}',
                  str(info))


REFUSALS = [
    ('overlapping CPUs',
     ['-rt', 'vcpu-cpus=1,emulator-cpus=1'],
     'qemu-system-x86_64: -rt: host CPU 1 of real-time vCPU 0 is also in '
     'emulator-cpus; real-time vCPUs need CPUs of their own'),
    ('non-existent CPU',
     ['-rt', 'vcpu-cpus=64,emulator-cpus=0'],
     'qemu-system-x86_64: -rt: host CPU 64 in vcpu-cpus is not available '
     'to QEMU (it may use 0,1): it is offline, does not exist or is '
     'outside QEMU\'s cpuset'),
    ('too few CPUs',
     ['-smp', '2', '-rt', 'vcpu-cpus=1,emulator-cpus=0'],
     'qemu-system-x86_64: -rt: vcpu-cpus lists 1 host CPUs for 2 vCPUs, 2 '
     'of them real-time; list one CPU per vCPU, or one per real-time '
     'vCPU'),
    ('-rt on, two real-time vCPUs on two CPUs',
     ['-smp', '2', '-rt', 'on'],
     'qemu-system-x86_64: -rt: 2 real-time vCPUs need 2 host CPUs plus one '
     'for the emulator; QEMU may use only 2 (0,1); make fewer vCPUs '
     'real-time with rt-vcpus=, or run QEMU on more CPUs'),
    ('-rt on, emulator-cpus leaves too few',
     ['-smp', '2', '-rt', 'on,emulator-cpus=0,rt-vcpus=0-1'],
     'qemu-system-x86_64: -rt: 2 real-time vCPUs need 2 host CPUs outside '
     'emulator-cpus; QEMU may use only 1 (1); make fewer vCPUs real-time '
     'with rt-vcpus=, or give fewer emulator-cpus'),
    ('vcpu-cpus alone leaves no emulator CPU',
     ['-smp', '2', '-rt', 'vcpu-cpus=0,vcpu-cpus=1'],
     'qemu-system-x86_64: -rt: vcpu-cpus leaves none of QEMU\'s CPUs (0,1) '
     'for the emulator threads; give emulator-cpus=, or run QEMU on more '
     'CPUs'),
    ('-rt neither on nor off',
     ['-rt', 'maybe'],
     "qemu-system-x86_64: -rt maybe: Parameter 'enable' expects 'on' or "
     "'off'"),
    ('duplicate CPU',
     ['-smp', '2', '-rt', 'vcpu-cpus=1,vcpu-cpus=1,emulator-cpus=0'],
     'qemu-system-x86_64: -rt: host CPU 1 is listed twice in vcpu-cpus; '
     'each vCPU needs a CPU of its own'),
    ('priority above the maximum',
     ['-rt', 'vcpu-cpus=1,emulator-cpus=0,priority=100'],
     'qemu-system-x86_64: -rt: priority=100 is outside 1-99, the range of '
     'policy fifo on this host'),
    ('priority 0',
     ['-rt', 'vcpu-cpus=1,emulator-cpus=0,policy=rr,priority=0'],
     'qemu-system-x86_64: -rt: priority=0 is outside 1-99, the range of '
     'policy rr on this host'),
    ('emulator priority not below',
     ['-rt', 'vcpu-cpus=1,emulator-cpus=0,priority=3,emulator-priority=3'],
     'qemu-system-x86_64: -rt: emulator-priority=3 must be below the vCPU '
     'priority 3, or the emulator threads preempt the vCPUs'),
    ('malformed list',
     ['-rt', 'vcpu-cpus=1-,emulator-cpus=0'],
     "qemu-system-x86_64: -rt vcpu-cpus=1-,emulator-cpus=0: Parameter "
     "'vcpu-cpus' expects a uint64 value or range; -rt help lists the "
     "options and their values"),
    ('comma list',
     ['-rt', 'vcpu-cpus=1,2,emulator-cpus=0'],
     "qemu-system-x86_64: -rt vcpu-cpus=1,2,emulator-cpus=0: Invalid "
     "parameter '2'"),
    ('unknown sub-option',
     ['-rt', 'vcpu-cpus=1,emulator-cpus=0,mlock=on'],
     "qemu-system-x86_64: -rt vcpu-cpus=1,emulator-cpus=0,mlock=on: "
     "Invalid parameter 'mlock'"),
    ('bad policy',
     ['-rt', 'vcpu-cpus=1,emulator-cpus=0,policy=other'],
     "qemu-system-x86_64: -rt vcpu-cpus=1,emulator-cpus=0,policy=other: "
     "Parameter 'policy' does not accept value 'other'; -rt help lists the "
     "options and their values"),
    ('bad policy, JSON form',
     ['-rt', '{"vcpu-cpus": [1], "emulator-cpus": [0], "policy": "other"}'],
     'qemu-system-x86_64: -rt {"vcpu-cpus": [1], "emulator-cpus": [0], '
     '"policy": "other"}: Parameter \'policy\' does not accept value '
     '\'other\'; -rt help lists the options and their values'),
    ('rt-vcpus out of range',
     ['-rt', 'vcpu-cpus=1,emulator-cpus=0,rt-vcpus=1'],
     'qemu-system-x86_64: -rt: rt-vcpus lists vCPU 1, but the guest has '
     'vCPUs 0-0 only'),
    ('sandbox resourcecontrol=deny',
     ['-sandbox', 'on,resourcecontrol=deny',
      '-rt', 'vcpu-cpus=1,emulator-cpus=0'],
     'qemu-system-x86_64: -sandbox on,resourcecontrol=deny: -rt cannot be '
     'used with -sandbox resourcecontrol=deny, which forbids the scheduler calls that place '
     'vCPU and hot-plugged threads; use resourcecontrol=allow, or drop -rt '
     'and set scheduling from outside QEMU'),
    ('timer-advance too large',
     ['-rt', 'vcpu-cpus=1,emulator-cpus=0,timer-advance=1000001'],
     'qemu-system-x86_64: -rt: timer-advance=1000001 is out of range; give '
     '0-1000000 nanoseconds'),
    ('timer-advance negative',
     ['-rt', 'vcpu-cpus=1,emulator-cpus=0,timer-advance=-5'],
     'qemu-system-x86_64: -rt: timer-advance=-5 is out of range; give '
     '0-1000000 nanoseconds'),
    ('timer-advance not a number',
     ['-rt', 'vcpu-cpus=1,emulator-cpus=0,timer-advance=50us'],
     "qemu-system-x86_64: -rt vcpu-cpus=1,emulator-cpus=0,"
     "timer-advance=50us: Parameter 'timer-advance' expects a number"),
    ('single-threaded TCG',
     ['-accel', 'tcg,thread=single', '-rt', 'vcpu-cpus=1,emulator-cpus=0'],
     'qemu-system-x86_64: -rt needs one host thread per vCPU; remove '
     'thread=single from -accel tcg'),
]


def vcpu_affinity(info):
    return {t['cpu-index']: (t['policy'], t['affinity'])
            for t in info['threads'] if 'cpu-index' in t}


def rt_vcpus(cpus):
    """query-rt's vcpus for real-time vCPUs on host CPUs @cpus."""
    return [{'cpu-index': i, 'realtime': True, 'host-cpu': c}
            for i, c in enumerate(cpus)]


def check_choice(what, opt, info, err, status, source, vcpus, emu):
    qrt.check(info is not None, f'{what}: -rt {opt} started (status '
              f'{status})', err)
    got = (info['cpus-source'], info['vcpus'], info['emulator-cpus'],
           vcpu_affinity(info)[0][1], 'no-isolated-cpus' in info['warnings'])
    want = (source, rt_vcpus(vcpus), emu, vcpus, source == 'affinity')
    qrt.check(got == want, f'{what}: -rt {opt}: (source, vcpus, '
              f'emulator-cpus, vCPU 0 affinity, no-isolated-cpus) {got} == '
              f'{want}', err)


def test_rt_on():
    """-rt on chooses the CPUs: the isolated ones when there are, the last
    of QEMU's affinity with a warning when not; lists given win."""
    need_cpus()
    iso = host_isolated()
    if any(iso.values()):
        print(f'note: host has isolated CPUs {iso}: the /proc check of '
              '-rt on on the real host is left to the faked sysfs cases')
    else:
        with quits_ok(start_idle('tcg', ['-rt', 'on']), '-rt on') as qemu:
            vcpu_tids = {c['thread-id'] for c in qemu.qmp.cmd(
                'query-cpus-fast')}
            check_threads(qemu, vcpu_tids, (SCHED_FIFO, 1),
                          (SCHED_OTHER, 0), '-rt on, no isolated CPUs')
            info = check_query_rt(qemu, '-rt on')
            got = (info['cpus-source'], info['vcpus'],
                   info['emulator-cpus'], 'no-isolated-cpus' in
                   info['warnings'])
            want = ('affinity', rt_vcpus([VCPU_CPU]), [EMU_CPU], True)
            qrt.check(got == want, f'-rt on: query-rt (source, vcpus, '
                      f'emulator-cpus, no-isolated-cpus) {got} == {want}',
                      str(info))
            warn = ('the host has no isolated CPUs for QEMU; the vCPUs run '
                    'on the last CPUs of its affinity (1)')
            hint = ('Isolate CPUs for them with isolcpus=, nohz_full= or a '
                    'cpuset partition.')
            qrt.check(warned(qemu.stderr(), warn, hint), '-rt on: stderr '
                      'warns that no CPU is isolated, and hints how',
                      qemu.stderr())
            hmp = qemu.qmp.cmd('human-monitor-command',
                               **{'command-line': 'info rt'})
            line = 'host CPUs (affinity): vCPUs 1, emulator 0'
            qrt.check(line in hmp, f'-rt on: info rt says "{line}"', hmp)
    if os.geteuid() != 0 or not shutil.which('unshare'):
        qrt.skip('needs root and unshare to show QEMU other isolated CPUs')
    # (what, -rt, sysfs files, source, vcpu-cpus, emulator-cpus)
    cases = [
        ('no isolated CPUs', 'on', {'isolated': ''}, 'affinity', [1], [0]),
        ('isolcpus=1', 'on', {'isolated': '1'}, 'isolated', [1], [0]),
        ('isolcpus=0', 'on,priority=5', {'isolated': '0'}, 'isolated', [0],
         [1]),
        ('nohz_full=1', 'priority=2', {'isolated': '', 'nohz_full': '1'},
         'nohz-full', [1], [0]),
        ('isolcpus=0-1, spare isolated CPU for the emulator', 'on',
         {'isolated': '0-1'}, 'isolated', [1], [0]),
        ('isolcpus=0 but lists given', 'vcpu-cpus=1,emulator-cpus=0',
         {'isolated': '0'}, 'user', [1], [0]),
        ('isolcpus=0 but emulator-cpus=0', 'on,emulator-cpus=0',
         {'isolated': '0'}, 'user', [1], [0]),
        ('isolcpus=1 but vcpu-cpus=0', 'on,vcpu-cpus=0',
         {'isolated': '1'}, 'user', [0], [1]),
    ]
    for what, opt, files, source, vcpus, emu in cases:
        info, err, status = query_rt_once(['-rt', opt], files)
        check_choice(what, opt, info, err, status, source, vcpus, emu)
    # (what, partition, effective, source, vcpu-cpus, emulator-cpus)
    cpusets = [
        ('cpuset partition isolated', 'isolated', '1', 'cpuset', [1], [0]),
        ('cpuset partition root', 'root', '1', 'cpuset', [1], [0]),
        ('cpuset partition invalid', 'root invalid (Cpu list in '
         'cpuset.cpus not exclusive)', '0', 'affinity', [1], [0]),
    ]
    for what, part, eff, source, vcpus, emu in cpusets:
        info, err, status = query_rt_once(['-rt', 'on'], {'isolated': ''},
                                          (part, eff))
        check_choice(what, 'on', info, err, status, source, vcpus, emu)
    info, err, status = query_rt_once(['-smp', '2', '-rt', 'on'],
                                      {'isolated': '0-1'})
    want = ('qemu-system-x86_64: -rt: 2 real-time vCPUs need 2 host CPUs '
            'plus one for the emulator; QEMU may use only 2 (0,1); make '
            'fewer vCPUs real-time with rt-vcpus=, or run QEMU on more CPUs')
    qrt.check(info is None and status == 1 and want in err,
              f'isolcpus=0-1, -smp 2 -rt on: exit status {status} == 1 and '
              f'"{want}"', err)
    info, err, status = query_rt_once(['-smp', '2', '-rt', 'on'],
                                      {'isolated': '1'})
    want = ('qemu-system-x86_64: -rt: 2 real-time vCPUs need 2 isolated '
            'host CPUs; QEMU may use only 1 (1, from isolated); isolate '
            'more CPUs, or give vcpu-cpus= and emulator-cpus=')
    qrt.check(info is None and status == 1 and want in err,
              f'isolcpus=1, -smp 2 -rt on: exit status {status} == 1 and '
              f'"{want}"', err)
    info, err, status = query_rt_once(['-rt', 'on', '-rt', 'off'])
    qrt.check(info is not None and not info['active'] and
              'cpus-source' not in info, f'-rt on -rt off: query-rt '
              f'active false, no cpus-source ({info})', err)


def test_housekeeping():
    """A vCPU outside rt-vcpus runs on the emulator CPUs: -smp 2 fits on
    two host CPUs; vCPU hotplug of such a vCPU needs no CPU either."""
    need_cpus()
    for opt in ('on,rt-vcpus=1',
                f'vcpu-cpus={VCPU_CPU},emulator-cpus={EMU_CPU},rt-vcpus=1'):
        what = f'-smp 2 -rt {opt}'
        with quits_ok(start_idle('tcg', ['-smp', '2', '-rt', opt]),
                      what) as qemu:
            cpus = {c['cpu-index']: c['thread-id']
                    for c in qemu.qmp.cmd('query-cpus-fast')}
            ts = threads(qemu.pid)
            got = {i: ts[tid][1:] for i, tid in cpus.items()}
            want = {0: (SCHED_OTHER, 0, {EMU_CPU}),
                    1: (SCHED_FIFO, 1, {VCPU_CPU})}
            qrt.check(got == want, f'{what}: vCPUs (policy, priority, '
                      f'affinity) {got} == {want}', qemu.stderr())
            info = check_query_rt(qemu, what)
            got = (info['vcpus'], info['emulator-cpus'],
                   'no-housekeeping-vcpu' in info['warnings'])
            want = ([{'cpu-index': 0, 'realtime': False},
                     {'cpu-index': 1, 'realtime': True,
                      'host-cpu': VCPU_CPU}], [EMU_CPU], False)
            qrt.check(got == want, f'{what}: query-rt (vcpus, '
                      f'emulator-cpus, no-housekeeping-vcpu) {got} == '
                      f'{want}', str(info))

    # A non-real-time vCPU can be hot-plugged without a CPU of its own.
    qemu = qrt.QemuProcess(qrt.base_args('tcg') + [
        '-smp', '1,maxcpus=2', '-S', '-rt',
        f'vcpu-cpus={VCPU_CPU},emulator-cpus={EMU_CPU},rt-vcpus=0'])
    try:
        slot = next(c for c in qemu.qmp.cmd('query-hotpluggable-cpus')
                    if 'qom-path' not in c)
        qemu.qmp.cmd('device_add', driver=slot['type'], id='cpu1',
                     **slot['props'])
        cpus = {c['cpu-index']: c['thread-id']
                for c in qemu.qmp.cmd('query-cpus-fast')}
        got = threads(qemu.pid)[cpus[1]][1:]
        want = (SCHED_OTHER, 0, {EMU_CPU})
        qrt.check(got == want, f'hot-plugged non-real-time vCPU 1: {got} '
                  f'== {want}', qemu.stderr())
    finally:
        qemu.quit()

    # All vCPUs real-time: the warning, where the host has the CPUs.
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 3:
        print(f'note: no-housekeeping-vcpu needs 3 host CPUs to start '
              f'-smp 2 -rt on; this host gives {len(allowed)}: checked '
              'only that it refuses (refusals)')
        return
    info, err, status = query_rt_once(['-smp', '2', '-rt', 'on'])
    qrt.check(info is not None and 'no-housekeeping-vcpu' in
              info['warnings'], f'-smp 2 -rt on: no-housekeeping-vcpu in '
              f'{info and info["warnings"]}', err)


def test_thread_context():
    """-rt keeps what a thread-context sets, and the threads it creates
    inherit it.  tc1 on the vCPU's CPU stays there (with a warning naming
    it) and gets the emulator policy, as it sets none; tc2 keeps its own
    policy; tc3, which sets nothing, gets the emulator placement.  Guest
    RAM is preallocated through tc1 at startup, and a backend added
    later through tc1 preallocates in a thread with tc1's placement."""
    need_cpus()
    emu = (SCHED_FIFO, 1)
    args = qrt.base_args('tcg') + qrt.guest_args('rt-guest', 'mode=0') + [
        '-S',
        '-object', f'thread-context,id=tc1,cpu-affinity={VCPU_CPU}',
        '-object', f'thread-context,id=tc2,cpu-affinity={EMU_CPU},'
        'policy=fifo,priority=2',
        '-object', 'thread-context,id=tc3',
        '-object', 'memory-backend-ram,id=m0,size=128M,prealloc=on,'
        'prealloc-context=tc1',
        '-machine', 'memory-backend=m0',
        '-rt', f'{RT_ARGS[1]},priority=3,emulator-priority=1,'
        'mem-lock=on-fault']
    with quits_ok(qrt.QemuProcess(args), 'thread-context') as qemu:
        cpus = qemu.qmp.cmd('query-cpus-fast')
        vcpu_tids = {c['thread-id'] for c in cpus}
        contexts = {'TC tc1': (emu[0], emu[1], {VCPU_CPU}),
                    'TC tc2': (SCHED_FIFO, 2, {EMU_CPU}),
                    'TC tc3': (emu[0], emu[1], {EMU_CPU})}
        ts = threads(qemu.pid)
        for tid, t in sorted(ts.items()):
            if tid in vcpu_tids:
                want = (t[0], SCHED_FIFO, 3, {VCPU_CPU})
            else:
                want = (t[0],) + contexts.get(t[0], emu + ({EMU_CPU},))
            qrt.check(t == want, f'paused: thread {tid} is {fmt(t)} '
                      f'(expected {fmt(want)})', qemu.stderr())
        names = sorted(t[0] for t in ts.values())
        qrt.check(all(n in names for n in contexts),
                  f'paused: the context threads {sorted(contexts)} are '
                  f'among {names}', qemu.stderr())
        aff = qemu.qmp.cmd('qom-get', path='/objects/tc1',
                           property='cpu-affinity')
        qrt.check(aff == [VCPU_CPU], f'qom-get tc1 cpu-affinity {aff} == '
                  f'[{VCPU_CPU}]', qemu.stderr())
        msg = (f'thread-context \'tc1\' may run its threads on host CPUs '
               f'{VCPU_CPU} of real-time vCPUs')
        hint = ('Unless they are meant to run there, give it a cpu-affinity '
                'of emulator CPUs.')
        lines = [l for l in qemu.stderr().splitlines()
                 if 'thread-context' in l]
        qrt.check(lines == ['qemu-system-x86_64: warning: -rt: ' + msg] and
                  warned(qemu.stderr(), msg, hint), f'stderr warns about '
                  f'tc1 only, with the hint "{hint}": {lines}', qemu.stderr())
        info = check_query_rt(qemu, 'thread-context')
        qrt.check('thread-context-on-rt-cpu' in info['warnings'],
                  f'query-rt warnings {info["warnings"]} have '
                  'thread-context-on-rt-cpu', qemu.stderr())
        lck = vm_lck(qemu.pid)
        qrt.check(lck >= GUEST_RAM, f'VmLck {lck} >= guest RAM {GUEST_RAM} '
                  'preallocated through tc1', qemu.stderr())

        # 512 MiB locked on fault take the touch_pages threads long enough
        # to be seen in /proc; with one thread QEMU preallocates in the
        # main thread.
        seen, resp = watch_threads(qemu.pid, 'touch_pages', lambda: (
            qemu.qmp.raw('object-add', **{
                'qom-type': 'memory-backend-ram', 'id': 'm1',
                'size': 512 << 20, 'prealloc': True, 'prealloc-threads': 2,
                'prealloc-context': 'tc1'})))
        qrt.check(resp == {'return': {}}, f'object-add m1: {resp}',
                  qemu.stderr())
        want = ('touch_pages', emu[0], emu[1], {VCPU_CPU})
        qrt.check(seen and all(t == want for t in seen.values()),
                  f'prealloc threads of tc1 {[fmt(t) for t in seen.values()]}'
                  f' are all {fmt(want)}', qemu.stderr())


def test_refusals():
    need_cpus()
    for what, args, msg in REFUSALS:
        expect_refusal(args, msg, what)
    expect_refusal(RT_ARGS, 'qemu-system-x86_64: -rt: host CPU 1 in '
                   'vcpu-cpus is not available to QEMU (it may use 0)',
                   'CPU outside the affinity QEMU was started with',
                   prefix=['taskset', '-c', '0'])
    expect_refusal(['-rt', 'on'], 'qemu-system-x86_64: -rt: 1 real-time '
                   'vCPUs need 1 host CPUs plus one for the emulator; QEMU '
                   'may use only 1 (0); make fewer vCPUs real-time with '
                   'rt-vcpus=, or run QEMU on more CPUs',
                   '-rt on with an affinity of one CPU',
                   prefix=['taskset', '-c', '0'])
    # Non-real-time vCPUs may share the emulator CPUs.
    r = qrt.run_guest('rt-guest', extra=[
        '-smp', '2', '-rt',
        'vcpu-cpus=1,vcpu-cpus=0,emulator-cpus=0,rt-vcpus=0'],
        append='mode=2')
    qrt.check(r.status == 1 and 'rt-guest: started' in r.out and
              'error' not in r.err.lower(),
              'rt-vcpus=0: vCPU 1 shares the emulator CPU', r.err)
    # Hot-plugging a vCPU: tests/rt/hotplug.py.
