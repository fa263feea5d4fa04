# SPDX-License-Identifier: GPL-2.0-or-later
"""What the -rt tests share: the host CPUs they use, thread snapshots
checked against query-rt, an idle guest, a refusal check, a query-rt of
QEMU shown other host settings."""

import contextlib
import json
import os
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


def warned(stderr, warning, hint=None):
    """Whether QEMU's stderr has the -rt host warning, followed on the
    next line by its hint (error_append_hint()) if one is given."""
    lines = stderr.splitlines()
    want = f'qemu-system-x86_64: warning: -rt: {warning}'
    return any(line == want and (hint is None or after == hint)
               for line, after in zip(lines, lines[1:] + ['']))


def errors(stderr):
    """QEMU's stderr lines without -rt's warnings and their hint lines."""
    lines = stderr.splitlines()
    return [line for i, line in enumerate(lines)
            if 'warning: ' not in line and
            not (i and 'warning: -rt: ' in lines[i - 1])]


def fmt(t):
    comm, pol, prio, aff = t
    return f'"{comm}" {pol} {prio} CPUs {sorted(aff)}'


# Tasks that the kernel, not QEMU, creates in QEMU's process: KVM's NX
# huge page recovery worker (a vhost_task since Linux 6.13).  -rt places
# it like an emulator thread; query-rt lists it in kvm-threads, not in
# threads (tests/rt/kvm_threads.py).
KERNEL_TASKS = ('kvm-nx-lpage-re',)


def check_threads(qemu, vcpu_tids, vcpu_sched, emu_sched, what):
    """Every vCPU thread has vcpu_sched, every other thread emu_sched."""
    ts = threads(qemu.pid)
    for tid, t in sorted(ts.items()):
        comm = t[0]
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


@contextlib.contextmanager
def quits_ok(qemu, what):
    """Yield qemu, then quit it; if the block passed, check that QEMU quit
    with status 0."""
    try:
        yield qemu
    except BaseException:
        qemu.quit()
        raise
    status = qemu.quit()
    qrt.check(status == 0, f'{what}: QEMU quit with status {status}',
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


def query_rt_once(args, cpu_files=None, cpuset=None, host_files=None,
                  accel='tcg'):
    """(query-rt, stderr, exit status) of QEMU (@accel) started with -S
    and args.
    With cpu_files ({name: text}), QEMU sees a /sys/devices/system/cpu
    holding just these files: a tmpfs mounted over it in a private
    mount namespace (nohz_full does not exist on every kernel, so a
    bind mount of single files cannot add it).  With cpuset
    ((partition, effective CPUs)), QEMU runs in the cgroup v2
    /qemu-rt/vm (its /proc/PID/cgroup bind-mounted over) whose parent
    /qemu-rt, in a tmpfs over /sys/fs/cgroup, is that partition.  With
    host_files ({path: text}), each of these existing host files has
    that text, bind-mounted over it in the same namespace."""
    cmd = [qrt.qemu_binary(accel)] + qrt.base_args(accel) + args + [
        '-S', '-qmp', 'stdio']
    qmp = ('{"execute": "qmp_capabilities"}\n{"execute": "query-rt"}\n'
           '{"execute": "quit"}\n')
    with tempfile.TemporaryDirectory(prefix='qemu-rt-host-files-') as d:
        sh = []
        for i, (path, text) in enumerate((host_files or {}).items()):
            with open(os.path.join(d, f'bind{i}'), 'w') as f:
                f.write(text + '\n')
            sh.append(f'mount --bind "$0"/bind{i} {path}')
        if cpu_files is not None:
            os.mkdir(os.path.join(d, 'cpu'))
            for name, text in cpu_files.items():
                with open(os.path.join(d, 'cpu', name), 'w') as f:
                    f.write(text + '\n')
            sh.append(f'mount -t tmpfs qemu-rt {CPU_SYSFS} && '
                      f'cp "$0"/cpu/* {CPU_SYSFS}/')
            if cpuset:
                cg = '/sys/fs/cgroup/qemu-rt'
                with open(os.path.join(d, 'cgroup'), 'w') as f:
                    f.write('0::/qemu-rt/vm\n')
                sh.append(f'mount --bind "$0"/cgroup /proc/$$/cgroup && '
                          f'mount -t tmpfs qemu-rt /sys/fs/cgroup && '
                          f'mkdir -p {cg}/vm && '
                          f'echo "{cpuset[0]}" > '
                          f'{cg}/cpuset.cpus.partition && '
                          f'echo "{cpuset[1]}" > {cg}/cpuset.cpus.effective')
        if sh:
            cmd = ['unshare', '--mount', '--propagation', 'private', 'sh',
                   '-c', ' && '.join(sh + ['exec "$@"']), d] + cmd
        r = qrt.run(cmd, input=qmp, timeout=120)
    for line in r.out.splitlines():
        if '"warnings"' in line:
            return json.loads(line)['return'], r.err, r.status
    return None, r.err, r.status
