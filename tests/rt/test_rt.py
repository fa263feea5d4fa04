# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of the -rt option, checked from outside QEMU.

usage: test_rt.py placement-tcg | placement-kvm | emulator-fifo |
                  rt-vcpus | rt-on | housekeeping | thread-context | refusals | balloon | locked-tcg | discard | kvmclock | invtsc | pmu |
                  kvm-hint | preflight-kvm | mem-lock | vcpu-timers | timer-advance-kvm | nonroot

Every check reads the kernel's view of QEMU's threads through
scripts/qemurt.py's thread snapshot: the policy and rt_priority from
sched_getscheduler(tid) and sched_getparam(tid), the affinity from
sched_getaffinity(tid); VmLck from /proc/<pid>/status; and compares
query-rt with it.  vCPUs run on host CPU 1, everything else on
host CPU 0.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import qrt
import qemurt  # noqa: E402  (on sys.path through qrt)

VCPU_CPU = 1
EMU_CPU = 0
RT_ARGS = ['-rt', f'vcpu-cpus={VCPU_CPU},emulator-cpus={EMU_CPU}']
TIMER_ADVANCE_DEFAULT = 50000
GUEST_RAM = 128 << 20
# Policies as the thread snapshot and query-rt name them.
SCHED_OTHER = qemurt.POLICY_NAMES[os.SCHED_OTHER]
SCHED_FIFO = qemurt.POLICY_NAMES[os.SCHED_FIFO]
NOBODY = qrt.NOBODY


def need_cpus():
    allowed = os.sched_getaffinity(0)
    if not {VCPU_CPU, EMU_CPU} <= allowed:
        qrt.skip(f'host CPUs {EMU_CPU} and {VCPU_CPU} are not both '
                 f'available (allowed: {sorted(allowed)})')


def threads(pid):
    """{tid: (comm, policy, rt_priority, affinity)} as the kernel says, from
    scripts/qemurt.py's thread snapshot."""
    snap = qemurt.thread_snapshot(pid)
    if snap is None:
        qrt.fail(f'QEMU (pid {pid}) is gone: no /proc/{pid}/task')
    return {t['tid']: (t['comm'], t['policy'], t['rt_priority'],
                       set(t['affinity'])) for t in snap}


def vm_lck(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmLck:'):
                return int(line.split()[1]) * 1024
    qrt.fail('no VmLck in /proc/<pid>/status')


def wait_for(cond, what, qemu, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    qemu.kill()
    qrt.fail(f'timed out waiting for {what}', qemu.stderr())


def fmt(t):
    comm, pol, prio, aff = t
    return f'"{comm}" {pol} {prio} CPUs {sorted(aff)}'


# Tasks that the kernel, not QEMU, creates in QEMU's process: KVM's NX
# huge page recovery worker (a vhost_task since Linux 6.13) starts on the
# first KVM_RUN and inherits the affinity of the vCPU thread that ran it.
KERNEL_TASKS = ('kvm-nx-lpage-re',)


def check_threads(qemu, vcpu_tids, vcpu_sched, emu_sched, what):
    """Every vCPU thread has vcpu_sched, every other thread emu_sched."""
    ts = threads(qemu.pid)
    for tid, t in sorted(ts.items()):
        comm, pol, prio, aff = t
        if comm in KERNEL_TASKS:
            print(f'note: {what}: kernel task {tid} {fmt(t)} is not '
                  'created by QEMU and not placed by -rt')
            qrt.check(pol == SCHED_OTHER, f'{what}: kernel task {tid} is '
                      'not real-time', qemu.stderr())
            continue
        if tid in vcpu_tids:
            want = (comm, vcpu_sched[0], vcpu_sched[1], {VCPU_CPU})
            kind = 'vCPU'
        else:
            want = (comm, emu_sched[0], emu_sched[1], {EMU_CPU})
            kind = 'emulator'
        qrt.check(t == want, f'{what}: {kind} thread {tid} is {fmt(t)} '
                  f'(expected {fmt(want)})', qemu.stderr())
    return ts


def check_query_rt(qemu, what):
    """query-rt agrees with /proc for every thread both know."""
    info = qemu.qmp.cmd('query-rt')
    ts = threads(qemu.pid)
    qrt.check(info['active'], f'{what}: query-rt active', qemu.stderr())
    seen = 0
    ts = {tid: t for tid, t in ts.items() if t[0] not in KERNEL_TASKS}
    for t in info['threads']:
        k = ts.get(t['thread-id'])
        if not k:
            continue        # exited in between, or a kernel task
        got = (t['name'], t['policy'], t['priority'], set(t['affinity']))
        want = k
        qrt.check(got == want, f'{what}: query-rt thread {t["thread-id"]} '
                  f'{got} == /proc {want}', qemu.stderr())
        seen += 1
    qrt.check(seen == len(ts), f'{what}: query-rt lists all {len(ts)} '
              f'threads ({seen})', qemu.stderr())
    return info


def start_idle(accel, extra, accel_opts=None):
    img = tempfile.NamedTemporaryFile(prefix='qemu-rt-disk-', suffix='.img')
    img.truncate(1 << 20)
    args = qrt.base_args(accel)
    if accel_opts:
        args[args.index('-accel') + 1] = accel_opts
    args += qrt.guest_args('rt-guest', 'mode=0') + [
        '-drive', f'file={img.name},if=none,format=raw,id=d0,aio=threads',
        '-device', 'virtio-blk-pci,drive=d0'] + extra
    qemu = qrt.QemuProcess(args, accel=accel)
    qemu.img = img
    wait_for(lambda: 'rt-guest: idle' in qemu.stdout(), 'the guest to idle',
             qemu)
    return qemu


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
    qemu = start_idle(accel, extra)
    try:
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
    finally:
        status = qemu.quit()
    qrt.check(status == 0, f'{what}: QEMU quit with status {status}',
              qemu.stderr())


def test_rt_vcpus():
    """vCPU 1 is not real-time: SCHED_OTHER, pinned, sharing CPU 0."""
    need_cpus()
    qemu = start_idle('tcg', ['-smp', '2', '-rt',
                              f'vcpu-cpus={VCPU_CPU},vcpu-cpus={EMU_CPU},'
                              f'emulator-cpus={EMU_CPU},rt-vcpus=0'])
    try:
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
    finally:
        status = qemu.quit()
    qrt.check(status == 0, f'rt-vcpus=0: QEMU quit with status {status}',
              qemu.stderr())


def expect_refusal(args, msg, what, accel='tcg', prefix=()):
    base = qrt.base_args(accel)
    if '-accel' in args:
        i = base.index('-accel')
        del base[i:i + 2]
    r = qrt.run(list(prefix) + [qrt.qemu_binary(accel)] + base + list(args),
                timeout=120)
    qrt.check(r.status == 1 and msg in r.err,
              f'{what}: exit status {r.status} == 1 and stderr has "{msg}"',
              r.err)


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
     'qemu-system-x86_64: -rt: vcpu-cpus=1- is not a CPU number or range '
     'N-M; give a list by repeating the key: vcpu-cpus=1,vcpu-cpus=4-5'),
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
     "qemu-system-x86_64: -rt: policy=other is not 'fifo' or 'rr'"),
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


def watch_threads(pid, comm, action):
    """Run action() in a thread; return what /proc says of every thread
    named comm seen meanwhile, and action's result."""
    seen, result = {}, []
    worker = threading.Thread(target=lambda: result.append(action()))
    worker.start()
    while worker.is_alive():
        for tid, t in threads(pid).items():
            if t[0] == comm:
                seen.setdefault(tid, t)
    worker.join()
    return seen, result[0] if result else None


CPU_SYSFS = '/sys/devices/system/cpu'


def host_isolated():
    """The host's isolated and nohz_full CPU lists, as QEMU reads them."""
    out = {}
    for name in ('isolated', 'nohz_full'):
        try:
            with open(os.path.join(CPU_SYSFS, name)) as f:
                out[name] = f.read().strip()
        except OSError:
            out[name] = ''
    return out


def query_rt_once(args, cpu_files=None, cpuset=None):
    """(query-rt, stderr, exit status) of QEMU started with -S and args.
    With cpu_files ({name: text}), QEMU sees a /sys/devices/system/cpu
    holding just these files: a tmpfs mounted over it in a private
    mount namespace (nohz_full does not exist on every kernel, so a
    bind mount of single files cannot add it).  With cpuset
    ((partition, effective CPUs)), QEMU runs in the cgroup v2
    /qemu-rt/vm (its /proc/PID/cgroup bind-mounted over) whose parent
    /qemu-rt, in a tmpfs over /sys/fs/cgroup, is that partition."""
    cmd = [qrt.qemu_binary('tcg')] + qrt.base_args('tcg') + args + [
        '-S', '-qmp', 'stdio']
    qmp = ('{"execute": "qmp_capabilities"}\n{"execute": "query-rt"}\n'
           '{"execute": "quit"}\n')
    with tempfile.TemporaryDirectory(prefix='qemu-rt-cpu-sysfs-') as d:
        if cpu_files is not None:
            for name, text in cpu_files.items():
                with open(os.path.join(d, name), 'w') as f:
                    f.write(text + '\n')
            sh = f'mount -t tmpfs qemu-rt {CPU_SYSFS} && cp "$0"/* {CPU_SYSFS}/'
            if cpuset:
                cg = '/sys/fs/cgroup/qemu-rt'
                with open(os.path.join(d, 'cgroup'), 'w') as f:
                    f.write('0::/qemu-rt/vm\n')
                sh += (f' && mount --bind "$0"/cgroup /proc/$$/cgroup && '
                       f'mount -t tmpfs qemu-rt /sys/fs/cgroup && '
                       f'mkdir -p {cg}/vm && '
                       f'echo "{cpuset[0]}" > {cg}/cpuset.cpus.partition && '
                       f'echo "{cpuset[1]}" > {cg}/cpuset.cpus.effective')
            cmd = ['unshare', '--mount', '--propagation', 'private', 'sh',
                   '-c', sh + ' && exec "$@"', d] + cmd
        r = qrt.run(cmd, input=qmp, timeout=120)
    for line in r.out.splitlines():
        if '"warnings"' in line:
            return json.loads(line)['return'], r.err, r.status
    return None, r.err, r.status


def vcpu_affinity(info):
    return {t['cpu-index']: (t['policy'], t['affinity'])
            for t in info['threads'] if 'cpu-index' in t}


def check_choice(what, opt, info, err, status, source, vcpus, emu):
    qrt.check(info is not None, f'{what}: -rt {opt} started (status '
              f'{status})', err)
    got = (info['cpus-source'], info['vcpu-cpus'], info['emulator-cpus'],
           vcpu_affinity(info)[0][1], 'no-isolated-cpus' in info['warnings'])
    want = (source, vcpus, emu, vcpus, source == 'affinity')
    qrt.check(got == want, f'{what}: -rt {opt}: (source, vcpu-cpus, '
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
        qemu = start_idle('tcg', ['-rt', 'on'])
        try:
            vcpu_tids = {c['thread-id'] for c in qemu.qmp.cmd(
                'query-cpus-fast')}
            check_threads(qemu, vcpu_tids, (SCHED_FIFO, 1),
                          (SCHED_OTHER, 0), '-rt on, no isolated CPUs')
            info = check_query_rt(qemu, '-rt on')
            got = (info['cpus-source'], info['vcpu-cpus'],
                   info['emulator-cpus'], 'no-isolated-cpus' in
                   info['warnings'])
            want = ('affinity', [VCPU_CPU], [EMU_CPU], True)
            qrt.check(got == want, f'-rt on: query-rt (source, vcpu-cpus, '
                      f'emulator-cpus, no-isolated-cpus) {got} == {want}',
                      str(info))
            warn = ('qemu-system-x86_64: warning: -rt: the host has no '
                    'isolated CPUs for QEMU; the vCPUs run on the last CPUs '
                    'of its affinity (1); isolate them with isolcpus=, '
                    'nohz_full= or a cpuset partition')
            qrt.check(warn in qemu.stderr(), '-rt on: stderr warns that '
                      'no CPU is isolated', qemu.stderr())
            hmp = qemu.qmp.cmd('human-monitor-command',
                               **{'command-line': 'info rt'})
            line = 'host CPUs (affinity): vCPUs 1, emulator 0'
            qrt.check(line in hmp, f'-rt on: info rt says "{line}"', hmp)
        finally:
            status = qemu.quit()
        qrt.check(status == 0, f'-rt on: QEMU quit with status {status}',
                  qemu.stderr())
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
        qemu = start_idle('tcg', ['-smp', '2', '-rt', opt])
        try:
            cpus = {c['cpu-index']: c['thread-id']
                    for c in qemu.qmp.cmd('query-cpus-fast')}
            ts = threads(qemu.pid)
            got = {i: ts[tid][1:] for i, tid in cpus.items()}
            want = {0: (SCHED_OTHER, 0, {EMU_CPU}),
                    1: (SCHED_FIFO, 1, {VCPU_CPU})}
            qrt.check(got == want, f'{what}: vCPUs (policy, priority, '
                      f'affinity) {got} == {want}', qemu.stderr())
            info = check_query_rt(qemu, what)
            got = (info['vcpu-cpus'], info['emulator-cpus'],
                   'no-housekeeping-vcpu' in info['warnings'])
            want = ([-1, VCPU_CPU], [EMU_CPU], False)
            qrt.check(got == want, f'{what}: query-rt (vcpu-cpus, '
                      f'emulator-cpus, no-housekeeping-vcpu) {got} == '
                      f'{want}', str(info))
        finally:
            status = qemu.quit()
        qrt.check(status == 0, f'{what}: QEMU quit with status {status}',
                  qemu.stderr())

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
    qemu = qrt.QemuProcess(args)
    try:
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
        msg = (f'qemu-system-x86_64: warning: -rt: thread-context \'tc1\' '
               f'may run its threads on host CPUs {VCPU_CPU} of real-time '
               'vCPUs')
        warned = [l for l in qemu.stderr().splitlines()
                  if 'thread-context' in l]
        qrt.check(warned == [msg], f'stderr warns about tc1 only: {warned}',
                  qemu.stderr())
        info = check_query_rt(qemu, 'thread-context')
        qrt.check('thread-context-on-rt-cpu' in info['warnings'],
                  f'query-rt warnings {info["warnings"]} have '
                  'thread-context-on-rt-cpu', qemu.stderr())
        lck = vm_lck(qemu.pid)
        qrt.check(lck >= GUEST_RAM, f'VmLck {lck} >= guest RAM {GUEST_RAM} '
                  'preallocated through tc1', qemu.stderr())

        # 2 GiB locked on fault take the touch_pages threads long enough
        # to be seen in /proc; with one thread QEMU preallocates in the
        # main thread.
        seen, resp = watch_threads(qemu.pid, 'touch_pages', lambda: (
            qemu.qmp.raw('object-add', **{
                'qom-type': 'memory-backend-ram', 'id': 'm1',
                'size': 2 << 30, 'prealloc': True, 'prealloc-threads': 2,
                'prealloc-context': 'tc1'})))
        qrt.check(resp == {'return': {}}, f'object-add m1: {resp}',
                  qemu.stderr())
        want = ('touch_pages', emu[0], emu[1], {VCPU_CPU})
        qrt.check(seen and all(t == want for t in seen.values()),
                  f'prealloc threads of tc1 {[fmt(t) for t in seen.values()]}'
                  f' are all {fmt(want)}', qemu.stderr())
    finally:
        status = qemu.quit()
    qrt.check(status == 0, f'thread-context: QEMU quit with status {status}',
              qemu.stderr())


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
    # Hot-plugging a vCPU that has no host CPU is refused.
    qemu = qrt.QemuProcess(qrt.base_args('tcg') + [
        '-smp', '1,maxcpus=2', '-S'] + RT_ARGS)
    try:
        resp = qemu.qmp.raw('device_add', driver='qemu64-x86_64-cpu',
                            id='cpu1', **{'socket-id': 1, 'core-id': 0,
                                          'thread-id': 0})
        want = ('-rt: real-time vCPU 1 of maxcpus=2 has no host CPU; list '
                'one in vcpu-cpus for every possible real-time vCPU, or '
                'leave it out of rt-vcpus, to hot-plug vCPUs')
        qrt.check(resp.get('error', {}).get('desc') == want,
                  f'vCPU hotplug refused: {resp}', qemu.stderr())
    finally:
        qemu.quit()


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
        lines = [line for line in r.err.splitlines()
                 if 'warning:' not in line]
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


def kvmclock_vm(args):
    """(qom-get kvmclock of vCPU 0, query-rt kvmclock, info qtree, the
    bytes of a migration stream) of a paused KVM guest."""
    qemu = qrt.QemuProcess(qrt.base_args('kvm') + ['-S'] + args,
                           accel='kvm')
    stream = os.path.join(qemu.tmp.name, 'stream')
    try:
        path = qemu.qmp.cmd('query-cpus-fast')[0]['qom-path']
        prop = qemu.qmp.cmd('qom-get', path=path, property='kvmclock')
        info = qemu.qmp.cmd('query-rt')
        qtree = qemu.qmp.cmd('human-monitor-command',
                             **{'command-line': 'info qtree'})
        qemu.qmp.cmd('migrate', uri=f'exec:cat > {stream}')
        wait_for(lambda: qemu.qmp.cmd('query-migrate').get('status') in
                 ('completed', 'failed'), 'the migration to finish', qemu)
        status = qemu.qmp.cmd('query-migrate')['status']
        with open(stream, 'rb') as f:
            data = f.read()
    finally:
        qemu.quit()
    qrt.check(status == 'completed',
              f'{" ".join(args) or "no -rt"}: migration {status}',
              qemu.stderr())
    return prop, info['kvmclock'], qtree, data, qemu.stderr()


def test_kvmclock():
    """-rt defaults the CPU property kvmclock to off; -cpu ...,kvmclock=on
    wins; the kvmclock device stays and is migrated."""
    need_cpus()
    rt = ['-rt', RT_ARGS[1] + ',unstable-tsc=allow']
    # TCG has no KVM leaves: kvmclock is off with or without -rt.
    for args in (['-cpu', 'max'] + rt, ['-cpu', 'max']):
        got, info, err = cpu_props('tcg', args, ['kvmclock'])
        qrt.check(got['kvmclock'] is False and info['kvmclock'] is False,
                  f'tcg {" ".join(args)}: qom-get kvmclock '
                  f'{got["kvmclock"]}, query-rt {info["kvmclock"]}, '
                  'expected False', err)
    qrt.require_kvm()
    # invtsc=off: -rt's default invtsc would block the migration (see
    # test_invtsc); kvmclock=on needs no invariant TSC.
    off = ['-cpu', 'qemu64,invtsc=off']
    on = ['-cpu', 'qemu64,kvmclock=on,invtsc=off']
    for args, want, what in (([], 1, 'without -rt'),
                             (off + rt, 0, 'with -rt'),
                             (on + RT_ARGS, 1, 'with -rt and kvmclock=on')):
        prop, info, qtree, data, err = kvmclock_vm(args)
        qrt.check(prop == bool(want) and info == bool(want),
                  f'kvm {what}: qom-get kvmclock {prop}, query-rt '
                  f'kvmclock {info}, expected {bool(want)}', err)
        qrt.check('dev: kvmclock' in qtree, f'kvm {what}: info qtree '
                  'lists the kvmclock device', qtree)
        qrt.check(b'kvmclock' in data, f'kvm {what}: the migration stream '
                  'has the kvmclock section', err)
        # The guest's view: CPUID 0x40000001 EAX bits 0 and 3.
        r = qrt.run_guest('rt-guest', accel='kvm', extra=args,
                          append=f'mode=1 expect={want}', timeout=300)
        # Status 1 is also QEMU's error exit: the guest must have run.
        qrt.check(f'clocksource={want} clocksource2={want}' in r.out,
                  f'guest reads kvmclock bits {what}: '
                  f'{r.out.strip()!r}', r.err)
        qrt.expect_guest_pass(r, f'kvmclock bits {what}')
    # Hyper-V's reference counter and TSC page need the kvmclock device.
    hv = ['-cpu', 'qemu64,hv-relaxed,hv-time']
    r = qrt.run_guest('rt-guest', accel='kvm', extra=hv, append='mode=2',
                      timeout=300)
    if r.status != 1 or 'rt-guest: started' not in r.out:
        last = r.err.strip().splitlines()[-1:] or [f'status {r.status}']
        print('SKIP (part): hv-time does not run under this KVM even '
              f'without -rt: {last[0]}')
        return
    r = qrt.run_guest('rt-guest', accel='kvm', extra=hv + rt,
                      append='mode=2', timeout=300)
    qrt.check(r.status == 1 and 'rt-guest: started' in r.out,
              'hv-time with -rt: the guest runs', r.err)


def cpu_props(accel, args, props):
    """The CPU properties props of vCPU 0, read with qom-get."""
    qemu = qrt.QemuProcess(qrt.base_args(accel) + ['-S'] + args,
                           accel=accel)
    try:
        path = qemu.qmp.cmd('query-cpus-fast')[0]['qom-path']
        got = {p: qemu.qmp.cmd('qom-get', path=path, property=p)
               for p in props}
        info = qemu.qmp.cmd('query-rt')
    finally:
        qemu.quit()
    return got, info, qemu.stderr()


def guest_cpu_fields(args, what):
    """The CPUID fields rt-guest mode=3 prints, read under KVM."""
    r = qrt.run_guest('rt-guest', accel='kvm', extra=args, append='mode=3',
                      timeout=300)
    qrt.expect_guest_pass(r, what)
    for line in r.out.splitlines():
        if line.startswith('rt-guest: pmu-version='):
            return {k: int(v) for k, v in
                    (kv.split('=') for kv in line.split()[1:])}
    qrt.fail(f'{what}: no CPUID report from the guest', r.out)


def guest_cpu_view(args, what):
    """(pmu-version, hint-realtime) as rt-guest reads them under KVM."""
    f = guest_cpu_fields(args, what)
    return f['pmu-version'], f['hint-realtime']


INVTSC_OFF_MSG = ('qemu-system-x86_64: -rt: the guest CPU has no invariant '
                  'TSC (invtsc=off), which a guest without kvmclock needs as '
                  'its clock; remove invtsc=off, keep kvmclock with '
                  'kvmclock=on, or accept an unstable clock with -rt '
                  '...,unstable-tsc=allow')


def migrate_status(args):
    """(qom-get invtsc and tsc-frequency of vCPU 0, the result of a
    migration to a file: 'completed' or the error) of a paused guest."""
    qemu = qrt.QemuProcess(qrt.base_args('kvm') + ['-S'] + args,
                           accel='kvm')
    stream = os.path.join(qemu.tmp.name, 'stream')
    try:
        path = qemu.qmp.cmd('query-cpus-fast')[0]['qom-path']
        props = {p: qemu.qmp.cmd('qom-get', path=path, property=p)
                 for p in ('invtsc', 'tsc-frequency')}
        resp = qemu.qmp.raw('migrate', uri=f'exec:cat > {stream}')
        if 'error' in resp:
            return props, resp['error']['desc'], qemu.stderr()
        wait_for(lambda: qemu.qmp.cmd('query-migrate').get('status') in
                 ('completed', 'failed'), 'the migration to finish', qemu)
        return props, qemu.qmp.cmd('query-migrate')['status'], qemu.stderr()
    finally:
        qemu.quit()


def test_invtsc():
    """Under KVM, -rt defaults invtsc to on, so the documented -cpu host
    starts; invtsc blocks migration unless tsc-frequency= is given; a
    guest CPU without invariant TSC is refused unless kvmclock=on or
    unstable-tsc=allow."""
    need_cpus()
    got, info, err = cpu_props('tcg', ['-cpu', 'max'] + RT_ARGS, ['invtsc'])
    qrt.check(got['invtsc'] is False, 'tcg -cpu max -rt: invtsc stays '
              f'TCG\'s default (off), got {got["invtsc"]}', err)
    qrt.require_kvm()
    host = ['-cpu', 'host']
    props, status, err = migrate_status(host)
    qrt.check(props['invtsc'] is False, '-cpu host without -rt: invtsc '
              f'{props["invtsc"]}, expected False (it is not migratable)',
              err)
    props, status, err = migrate_status(host + RT_ARGS)
    qrt.check(props['invtsc'] is True, f'-cpu host -rt: invtsc '
              f'{props["invtsc"]}, expected True', err)
    blocker = 'State blocked by non-migratable CPU device (invtsc flag)'
    qrt.check(status == blocker, f'-cpu host -rt: migration refused with '
              f'"{blocker}": {status!r}', err)
    freq = props['tsc-frequency']
    qrt.check(freq > 0, f'KVM reports the TSC frequency ({freq} Hz)', err)
    props, status, err = migrate_status(
        ['-cpu', f'host,tsc-frequency={freq}'] + RT_ARGS)
    qrt.check(props['invtsc'] is True and status == 'completed',
              f'-cpu host,tsc-frequency={freq} -rt: invtsc '
              f'{props["invtsc"]}, migration {status!r} (expected '
              'completed)', err)
    # The documented example runs, and the guest sees the invariant TSC.
    f = guest_cpu_fields(host + RT_ARGS, '-cpu host -rt')
    qrt.check(f['invtsc'] == 1, f'-cpu host -rt: the guest sees invtsc '
              f'({f})')
    f = guest_cpu_fields(host, '-cpu host without -rt')
    qrt.check(f['invtsc'] == 0, f'-cpu host without -rt: the guest sees no '
              f'invtsc ({f})')
    expect_refusal(RT_ARGS + ['-cpu', 'host,invtsc=off'], INVTSC_OFF_MSG,
                   'invtsc=off', accel='kvm')
    for cpu, rt in (('host,invtsc=off,kvmclock=on', RT_ARGS),
                    ('host,invtsc=off',
                     ['-rt', RT_ARGS[1] + ',unstable-tsc=allow'])):
        f = guest_cpu_fields(['-cpu', cpu] + rt, f'-cpu {cpu} {rt[1]}')
        qrt.check(f['invtsc'] == 0, f'-cpu {cpu} -rt {rt[1]}: starts, the '
                  f'guest sees no invtsc ({f})')


def test_pmu():
    """-rt defaults the CPU property pmu to off; -cpu ...,pmu=on wins,
    and query-rt reports the value."""
    need_cpus()
    rt = ['-rt', RT_ARGS[1] + ',unstable-tsc=allow']
    for accel in ('tcg', 'kvm'):
        if accel == 'kvm' and qrt.kvm_unusable_reason():
            print('SKIP (part): KVM test skipped: ' +
                  qrt.kvm_unusable_reason())
            return
        for args, want, what in (
                (['-cpu', 'max'] + rt, False, '-cpu max -rt'),
                (['-cpu', 'max,pmu=on'] + rt, True, '-cpu max,pmu=on -rt'),
                (['-cpu', 'max'], accel == 'kvm', '-cpu max without -rt')):
            got, info, err = cpu_props(accel, args, ['pmu'])
            qrt.check(got['pmu'] == want and info.get('pmu') == want,
                      f'{accel} {what}: qom-get pmu {got["pmu"]}, query-rt '
                      f'pmu {info.get("pmu")}, expected {want}', err)

    # Under KVM, what the guest sees: CPUID leaf 0xa.
    host, _ = guest_cpu_view(['-cpu', 'host'], 'pmu without -rt')
    off, _ = guest_cpu_view(['-cpu', 'host'] + rt, 'pmu with -rt')
    qrt.check(off == 0, f'-cpu host -rt: guest sees PMU version {off}, '
              'expected 0 (no PMU)')
    if host == 0:
        print('SKIP (part): KVM exposes no PMU on this host (CPUID 0xa '
              'version 0 even without -rt), so pmu=on cannot be seen '
              'from the guest')
        return
    on, _ = guest_cpu_view(['-cpu', 'host,pmu=on'] + rt, 'pmu=on with -rt')
    qrt.check(on == host, f'-cpu host,pmu=on -rt: guest sees PMU version '
              f'{on}, as without -rt ({host})')


def test_kvm_hint():
    """Under KVM, -rt sets kvm-hint-dedicated (KVM_HINTS_REALTIME) when
    every vCPU has a host CPU of its own; -cpu ...,kvm-hint-dedicated=off
    wins.  Under TCG, which has no KVM leaves, -rt leaves it alone."""
    need_cpus()
    prop = 'kvm-hint-dedicated'
    rt = ['-rt', RT_ARGS[1] + ',unstable-tsc=allow']
    got, info, err = cpu_props('tcg', ['-cpu', 'max'] + rt, [prop])
    qrt.check(got[prop] is False and info.get(prop) is False,
              f'tcg -rt: qom-get {prop} {got[prop]}, query-rt '
              f'{info.get(prop)}, expected False', err)
    qrt.require_kvm()
    # vCPU 1 is not real-time and shares CPU 0 with the emulator threads.
    shared = ['-smp', '2', '-rt', f'vcpu-cpus={VCPU_CPU},'
              f'vcpu-cpus={EMU_CPU},emulator-cpus={EMU_CPU},rt-vcpus=0,'
              'unstable-tsc=allow']
    cases = (
        (['-cpu', 'host'] + rt, 1, '-rt, one vCPU per CPU'),
        (['-cpu', f'host,{prop}=off'] + rt, 0, f'-rt, {prop}=off'),
        (['-cpu', 'host'], 0, 'without -rt'),
        (['-cpu', 'host'] + shared, 0, '-rt, vCPU 1 on the emulator CPU'),
        (['-cpu', 'host', '-smp', '2', '-rt', 'on,rt-vcpus=1,'
          'unstable-tsc=allow'], 0, '-rt on, housekeeping vCPU 0'),
        # Slot 1 cannot be hot-plugged (real-time, no CPU): vCPU 0 counts.
        (['-cpu', 'host', '-smp', '1,maxcpus=2'] + rt, 1,
         '-rt, maxcpus=2 without a CPU for vCPU 1'),
        # Slot 1 would be hot-plugged onto the emulator CPUs.
        (['-cpu', 'host', '-smp', '1,maxcpus=2', '-rt', RT_ARGS[1] +
          ',rt-vcpus=0,unstable-tsc=allow'], 0,
         '-rt, maxcpus=2, vCPU 1 would share the emulator CPU'),
    )
    for args, want, what in cases:
        got, info, err = cpu_props('kvm', args, [prop])
        qrt.check(got[prop] == bool(want) and info.get(prop) == bool(want),
                  f'kvm {what}: qom-get {prop} {got[prop]}, query-rt '
                  f'{info.get(prop)}, expected {bool(want)}', err)
        _, hint = guest_cpu_view(args, f'{prop} {what}')
        qrt.check(hint == want, f'kvm {what}: the guest reads '
                  f'KVM_HINTS_REALTIME={hint} in CPUID 0x40000001 EDX, '
                  f'expected {want}')


KVM_PARAMS = '/sys/module/kvm/parameters'
# (parameter, bad value, warning, the fix its message must name)
KVM_PREFLIGHT = (
    ('nx_huge_pages', 'Y', 'kvm-nx-huge-pages',
     'boot with kvm.nx_huge_pages=off'),
    ('halt_poll_ns', '0', 'kvm-halt-poll-off',
     'echo 200000 > /sys/module/kvm/parameters/halt_poll_ns'),
    ('kvmclock_periodic_sync', 'Y', 'kvmclock-periodic-sync',
     'boot with kvm.kvmclock_periodic_sync=N'),
)
KVM_PREFLIGHT_GOOD = {'nx_huge_pages': 'N', 'halt_poll_ns': '200000',
                      'kvmclock_periodic_sync': 'N'}


def preflight(accel, args, params=None):
    """(query-rt warnings, stderr) of QEMU started with args; with
    params, QEMU sees /sys/module/kvm/parameters with these values
    (bind-mounted over it in a private mount namespace)."""
    cmd = [qrt.qemu_binary(accel)] + qrt.base_args(accel) + args + [
        '-S', '-qmp', 'stdio']
    qmp = ('{"execute": "qmp_capabilities"}\n{"execute": "query-rt"}\n'
           '{"execute": "quit"}\n')
    with tempfile.TemporaryDirectory(prefix='qemu-rt-kvm-params-') as d:
        if params is not None:
            for name in os.listdir(KVM_PARAMS):
                try:
                    shutil.copyfile(os.path.join(KVM_PARAMS, name),
                                    os.path.join(d, name))
                except OSError:
                    pass        # write-only parameters
            for name, value in params.items():
                with open(os.path.join(d, name), 'w') as f:
                    f.write(value + '\n')
            cmd = ['unshare', '--mount', '--propagation', 'private', 'sh',
                   '-c', f'mount --bind "$0" {KVM_PARAMS} && exec "$@"',
                   d] + cmd
        r = qrt.run(cmd, input=qmp, timeout=120)
    for line in r.out.splitlines():
        if '"warnings"' in line:
            return json.loads(line)['return']['warnings'], r.err
    qrt.fail(f'no query-rt answer (status {r.status})', r.err)


def test_preflight_kvm():
    """query-rt warns about KVM module parameters that spoil latency,
    and the warning on stderr names the fix; only under KVM."""
    need_cpus()
    if os.geteuid() != 0 or not shutil.which('unshare'):
        qrt.skip('needs root and unshare to show QEMU other KVM module '
                 'parameters')
    if not os.path.isdir(KVM_PARAMS):
        qrt.skip(f'{KVM_PARAMS} does not exist: the kvm module is not '
                 'loaded')
    rt = ['-rt', RT_ARGS[1] + ',unstable-tsc=allow']
    ours = {w for _, _, w, _ in KVM_PREFLIGHT}
    bad = {p: v for p, v, _, _ in KVM_PREFLIGHT}
    warns, err = preflight('tcg', rt, bad)
    qrt.check(not ours & set(warns), f'tcg: no KVM warnings ({warns})', err)
    qrt.require_kvm()
    warns, err = preflight('kvm', rt, KVM_PREFLIGHT_GOOD)
    qrt.check(not ours & set(warns), f'kvm, tuned parameters: no KVM '
              f'warnings ({warns})', err)
    for param, value, warning, fix in KVM_PREFLIGHT:
        params = dict(KVM_PREFLIGHT_GOOD, **{param: value})
        warns, err = preflight('kvm', rt, params)
        qrt.check(ours & set(warns) == {warning}, f'kvm, {param}={value}: '
                  f'query-rt warnings {warns} include {warning} only', err)
        qrt.check(fix in err, f'kvm, {param}={value}: the warning names '
                  f'the fix "{fix}"', err)
    warns, err = preflight('kvm', rt + ['-overcommit', 'cpu-pm=on'],
                           dict(KVM_PREFLIGHT_GOOD, halt_poll_ns='0'))
    qrt.check('kvm-halt-poll-off' not in warns, 'kvm, halt_poll_ns=0 with '
              f'-overcommit cpu-pm=on: no kvm-halt-poll-off ({warns})', err)
    # The real host, as it is.
    want = set()
    for param, value, warning, _ in KVM_PREFLIGHT:
        with open(os.path.join(KVM_PARAMS, param)) as f:
            if f.read().strip() == value:
                want.add(warning)
    warns, err = preflight('kvm', rt)
    qrt.check(ours & set(warns) == want, f'kvm, this host: KVM warnings '
              f'{sorted(ours & set(warns))} == {sorted(want)}', err)


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


def nonroot_run(d, qemu, guest, prefix, what):
    """Start QEMU as nobody with QMP and check its threads from outside."""
    qmp_path = os.path.join(d, f'qmp-{len(os.listdir(d))}.sock')
    args = prefix + [qemu] + qrt.base_args('tcg') + [
        '-kernel', guest, '-debugcon', 'stdio', '-append', 'mode=0',
        '-qmp', f'unix:{qmp_path},server=on,wait=off'] + RT_ARGS
    err = tempfile.TemporaryFile(mode='w+')
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=err, cwd=d)
    try:
        qmp = qrt.QMP(qmp_path)
    except (qrt.TestFailure, OSError) as e:
        proc.kill()
        proc.wait()
        err.seek(0)
        qrt.fail(f'{what}: QEMU did not start: {e}', err.read())
    try:
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
    finally:
        try:
            qmp.cmd('quit')
        except (qrt.TestFailure, OSError):
            pass
        proc.wait(30)
        qmp.close()


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


def main():
    tests = {
        'placement-tcg': lambda: test_placement('tcg'),
        'placement-kvm': lambda: test_placement('kvm'),
        'emulator-fifo': lambda: test_placement('tcg', emulator_fifo=True),
        'rt-vcpus': test_rt_vcpus,
        'rt-on': test_rt_on,
        'housekeeping': test_housekeeping,
        'thread-context': test_thread_context,
        'refusals': test_refusals,
        'balloon': test_balloon,
        'locked-tcg': test_locked_tcg,
        'discard': test_discard,
        'kvmclock': test_kvmclock,
        'invtsc': test_invtsc,
        'pmu': test_pmu,
        'kvm-hint': test_kvm_hint,
        'mem-lock': test_mem_lock,
        'preflight-kvm': test_preflight_kvm,
        'vcpu-timers': test_vcpu_timers,
        'timer-advance-kvm': test_timer_advance_kvm,
        'nonroot': test_nonroot,
    }
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print(f'usage: {sys.argv[0]} {"|".join(tests)}')
        sys.exit(2)
    tests[sys.argv[1]]()


if __name__ == '__main__':
    main()
