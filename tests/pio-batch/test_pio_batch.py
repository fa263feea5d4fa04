# SPDX-License-Identifier: GPL-2.0-or-later
"""pio-batch from a guest's point of view (docs/pio-batch.md).

  compare ACCEL  seeded sequences over CMOS, UART, PCI config and the PM
                 timer give the same results and device state plain and
                 batched, every error code reaches the guest (an SMI
                 raised by an entry included), ports inside
                 the KVM kernel are refused under KVM; -M pc and -M q35
  exits ACCEL    a guest looping on one batch of 16 entries: query-stats
                 (provider pio-batch) counts its batches and 16 accesses
                 each; under KVM, KVM's io_exits rise by one per batch
  sweep ACCEL    every port at every width (each straddle of a device's
                 ports included), then seeded random IN/OUT over the
                 whole port space, as instructions and as one-entry
                 batches on fresh machines: identical results and device
                 state, QEMU alive; -M pc and -M q35
  reproducers    every input that ever crashed QEMU through pio-batch
                 (tests/pio-batch/reproducers) replays without a crash,
                 with the exact responses recorded there
  monitor ACCEL  while a guest rings worst-case batches (256 RMW entries,
                 the 512-access budget) in a loop, QMP keeps answering:
                 each of 50 queries within 1 s, and the batches are real
  options        bad -device pio-batch options are refused with a clear
                 error
  migrate        a guest looping on batches is migrated (to a file) and
                 keeps running batches on the destination; a destination
                 without the device refuses the stream
"""

import concurrent.futures
import glob
import os
import signal
import subprocess
import sys
import tempfile
import time

import qrt

SEEDS = {'tcg': (1, 2, 3), 'tci': (4,), 'kvm': (5,)}
SWEEP_SEEDS = {'tcg': (1, 2), 'kvm': (3,)}
SWEEP_RANDOM = {'tcg': 20000, 'kvm': 5000}
# KVM here may be a slow software backend: sweep where devices are.
SWEEP_WINDOWS = {'tcg': 0, 'kvm': 1}
REPRODUCERS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'reproducers')
ROUNDS = {'tcg': 20, 'tci': 10, 'kvm': 10}
LOOP_ENTRIES = 16


def device_args():
    return ['-device', 'pio-batch', '-serial', 'null']


def test_compare(accel):
    kernel = 1 if accel == 'kvm' else 0
    for machine in ('pc', 'q35'):
        for seed in SEEDS[accel]:
            append = (f'seed={seed} rounds={ROUNDS[accel]} kernel={kernel} '
                      'smi=1')
            r = qrt.run_guest('pio-batch-check', accel=accel,
                              machine=machine, extra=device_args(),
                              append=append, timeout=600)
            qrt.expect_guest_pass(r, f'pio-batch-check -M {machine} '
                                  f'{accel} {append}')
            qrt.check('FAIL' not in r.out and 'SUMMARY' in r.out,
                      f'no failed check in the guest ({machine}, '
                      f'seed {seed})', r.out)


def sweep_hashes(accel, machine, seed, batch):
    append = (f'batch={batch} seed={seed} random={SWEEP_RANDOM[accel]} '
              f'q35={int(machine == "q35")} windows={SWEEP_WINDOWS[accel]}')
    # SeaBIOS, not qboot: the sweep covers the ports firmware enables
    # (PCI I/O BARs, q35's SMBus), which qboot leaves off.
    r = qrt.run_guest('pio-sweep', accel=accel, machine=machine,
                      extra=device_args(), append=append, timeout=600,
                      seabios=True)
    qrt.expect_guest_pass(r, f'pio-sweep -M {machine} {accel} {append}')
    hashes = [line for line in r.out.splitlines()
              if line.startswith('HASH ')]
    qrt.check(len(hashes) == 33, f'{len(hashes)} hashes (16 + 1 + 16) '
              f'from pio-sweep {append}', r.out)
    return hashes


def test_sweep(accel):
    # Two guests at a time (the runs are independent): under a software
    # KVM backend each spends ~13 s in port I/O exits.
    configs = [(machine, seed) for machine in ('pc', 'q35')
               for seed in SWEEP_SEEDS[accel]]
    runs = [config + (batch,) for config in configs for batch in (0, 1)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        hashes = dict(zip(runs, pool.map(
            lambda run: sweep_hashes(accel, *run), runs)))
    for machine, seed in configs:
        plain, batched = hashes[machine, seed, 0], hashes[machine, seed, 1]
        diff = [f'{a} (plain) != {b} (batch)'
                for a, b in zip(plain, batched) if a != b]
        qrt.check(not diff, f'-M {machine} {accel} seed {seed}: '
                  'instructions and batch entries read the same bytes '
                  'in all 33 hashes', '\n'.join(diff))


def replay(path):
    """Feed one reproducer to QEMU's qtest; check every expected answer."""
    args, steps = [], []
    for line in open(path).read().splitlines():
        if line.startswith('# args:'):
            args = line[len('# args:'):].split()
        elif line.startswith('=> '):
            steps[-1][1] = line[3:]
        elif line and not line.startswith('#'):
            steps.append([line, None])
    name = os.path.basename(path)
    qrt.check(args and steps, f'{name} has "# args:" and commands')
    cmd = [qrt.qemu_binary('tcg')] + qrt.firmware_args() + [
        '-nodefaults', '-display', 'none', '-no-user-config',
        '-accel', 'qtest', '-qtest', 'stdio', '-qtest-log', '/dev/null'] + args
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        for i, (command, expected) in enumerate(steps):
            p.stdin.write(command + '\n')
            p.stdin.flush()
            answer = p.stdout.readline().strip()
            if not answer:
                p.wait(timeout=30)
                qrt.fail(f'{name}: QEMU died (status {p.returncode}) at '
                         f'command {i + 1}: {command[:60]}', p.stderr.read())
            if expected is not None and answer != expected:
                qrt.fail(f'{name}: command {i + 1} ({command[:40]}) '
                         f'answered "{answer}", expected "{expected}"')
        alive = p.poll() is None
        p.send_signal(signal.SIGTERM)
        status = p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    qrt.check(alive and status == 0, f'{name}: {len(steps)} commands '
              f'answered as recorded, QEMU alive, exit status {status}',
              p.stderr.read())


def test_reproducers():
    files = sorted(glob.glob(os.path.join(REPRODUCERS, '*.qtest')))
    qrt.check(files, f'reproducers in {REPRODUCERS}')
    for path in files:
        replay(path)


def vcpu0_stats(q, provider, names=None):
    """query-stats values of vCPU 0 from @provider, by name."""
    flt = {'provider': provider}
    if names:
        flt['names'] = names
    res = q.qmp.cmd('query-stats', target='vcpu', providers=[flt])
    return {st['name']: st['value'] for st in res[0]['stats']} if res else {}


def snapshot(q, kvm):
    """pio-batch counters of vCPU 0 (and KVM's io_exits under KVM), taken
    while the vCPU is stopped."""
    q.qmp.cmd('stop')
    stats = vcpu0_stats(q, 'pio-batch')
    io_exits = vcpu0_stats(q, 'kvm', ['io_exits']).get('io_exits') \
        if kvm else None
    q.qmp.cmd('cont')
    return stats, io_exits


def test_exits(accel):
    """Under TCG, rt-audit's mix test counts the doorbell as one exit
    (tests/rt-audit); here QEMU's own counters must agree with the loop."""
    kvm = accel == 'kvm'
    args = qrt.base_args(accel) + qrt.guest_args(
        'pio-batch-check',
        f'rounds=1 kernel={1 if kvm else 0} loop={LOOP_ENTRIES}')
    q = qrt.QemuProcess(args + device_args(), accel=accel)
    try:
        wait_loop(q)
        qrt.check('FAIL' not in q.stdout(), 'guest checks before the loop',
                  q.stdout())
        s0, k0 = snapshot(q, kvm)
        time.sleep(2)
        s1, k1 = snapshot(q, kvm)
    finally:
        q.quit()
    qrt.check(sorted(s1) == ['accesses', 'batches'],
              f'query-stats provider pio-batch gives {sorted(s1)}')
    batches = s1['batches'] - s0['batches']
    accesses = s1['accesses'] - s0['accesses']
    qrt.check(batches > 0, f'the guest ran batches ({batches})')
    qrt.check(accesses == LOOP_ENTRIES * batches,
              f'{accesses} batched accesses == {LOOP_ENTRIES} x {batches}')
    if kvm:
        if k0 is None or k1 == 0:
            # Some KVM implementations (e.g. nested software backends)
            # expose io_exits but never count: nothing to compare with.
            print(f'note: KVM io_exits is {k1}; this kernel does not '
                  'count port I/O exits, cross-check not possible')
        else:
            qrt.check(k1 - k0 == batches,
                      f'one port I/O exit per batch: KVM io_exits '
                      f'{k1 - k0} == {batches} batches')


QMP_QUERIES = 50
QMP_MAX_S = 1.0


def test_monitor(accel):
    kvm = accel == 'kvm'
    # At the largest time limit, so that the access bound is what stops a
    # batch: with the default 1 ms, a batch that the busy host preempts
    # stops early and is resumed, and accesses would often not be
    # 512 x batches; at 65 ms that is rare (see the check below).
    args = qrt.base_args(accel) + qrt.guest_args(
        'pio-batch-check', f'rounds=0 kernel={int(kvm)} loop=256 worst=1 '
        'maxtime=65535')
    q = qrt.QemuProcess(args + ['-device', 'pio-batch,max-time-us=65535',
                                '-serial', 'null'], accel=accel)
    try:
        wait_loop(q)
        s0, _ = snapshot(q, False)
        times = []
        for _ in range(QMP_QUERIES):
            t = time.monotonic()
            q.qmp.cmd('query-status')
            times.append(time.monotonic() - t)
            time.sleep(0.02)
        s1, _ = snapshot(q, False)
    finally:
        q.quit()
    batches = s1['batches'] - s0['batches']
    accesses = s1['accesses'] - s0['accesses']
    times.sort()
    # Exact unless the host preempted the vCPU past the time limit in a
    # batch: then that batch stopped early and the guest resumed it,
    # one batch more for the same 512 accesses (seen once in CI: 50272
    # batches, 512 accesses short).  Allow that for 1% of the batches.
    qrt.check(batches > 0 and
              512 * batches - 512 * (batches // 100) <= accesses <=
              512 * batches,
              f'the guest rang {batches} worst-case batches of 512 '
              f'accesses ({accesses}; {512 * batches - accesses} short of '
              f'512 per batch, at most {512 * (batches // 100)} allowed) '
              'meanwhile')
    qrt.check(times[-1] < QMP_MAX_S,
              f'{QMP_QUERIES} query-status answered, median '
              f'{times[len(times) // 2] * 1e3:.1f} ms, max '
              f'{times[-1] * 1e3:.1f} ms (< {QMP_MAX_S * 1e3:.0f} ms)')


def test_options():
    cases = [(['pio-batch,iobase=0x5c1'], 'iobase 0x5c1 is invalid'),
             (['pio-batch,iobase=0xfffc'], 'iobase 0xfffc is invalid'),
             (['pio-batch,iobase=0x10000'], 'iobase 0x10000 is invalid'),
             (['pio-batch,iobase=0x3f8'], "ports 0x3f8-0x3ff are already "
              "used by 'serial'; choose another iobase"),
             (['pio-batch', 'pio-batch,iobase=0x5c8'],
              'at most one pio-batch device is permitted'),
             (['pio-batch,max-time-us=0'], 'max-time-us 0 is invalid; '
              'use 1 to 65535 microseconds'),
             (['pio-batch,max-time-us=65536'], 'max-time-us 65536 is '
              'invalid; use 1 to 65535 microseconds')]
    for devices, what in cases:
        extra = ['-serial', 'null']
        for d in devices:
            extra += ['-device', d]
        r = qrt.run_qemu(qrt.base_args('tcg') + extra, timeout=60)
        lines = r.err.strip().splitlines()
        qrt.check(r.status == 1 and len(lines) == 1 and
                  what in lines[0],
                  f'-device {" -device ".join(devices)} refused in one '
                  f'line: "{lines[0] if lines else ""}"', r.err)


def wait_loop(q):
    deadline = time.time() + 300
    while 'LOOP' not in q.stdout():
        if q.proc.poll() is not None or time.time() > deadline:
            qrt.fail('guest never reached its batch loop: '
                     + q.stdout()[-2000:], q.stderr())
        time.sleep(0.2)


def wait_migration(q):
    deadline = time.time() + 120
    while True:
        st = q.qmp.cmd('query-migrate').get('status')
        if st in ('completed', 'failed'):
            return st
        if time.time() > deadline:
            qrt.fail(f'migration still {st} after 120s', q.stderr())
        time.sleep(0.2)


def test_migrate():
    tmp = tempfile.TemporaryDirectory(prefix='qemu-rt-pio-')
    path = os.path.join(tmp.name, 'state')
    guest = qrt.guest_args('pio-batch-check',
                           f'rounds=1 loop={LOOP_ENTRIES}')
    src = qrt.QemuProcess(qrt.base_args('tcg') + guest + device_args())
    try:
        wait_loop(src)
        src.qmp.cmd('stop')
        src.qmp.cmd('migrate', uri='file:' + path)
        qrt.check(wait_migration(src) == 'completed',
                  'migration of a VM with pio-batch completed',
                  src.stderr())
    finally:
        src.quit()

    dst = qrt.QemuProcess(qrt.base_args('tcg') + guest + device_args() +
                          ['-incoming', 'file:' + path])
    try:
        deadline = time.time() + 60
        while dst.qmp.cmd('query-status')['status'] != 'paused':
            if time.time() > deadline:
                qrt.fail('destination never loaded the state', dst.stderr())
            time.sleep(0.2)
        dst.qmp.cmd('cont')
        time.sleep(1)
        stats = vcpu0_stats(dst, 'pio-batch')
    finally:
        dst.quit()
    qrt.check(stats['batches'] > 0 and
              stats['accesses'] == LOOP_ENTRIES * stats['batches'],
              f'destination runs the guest\'s batches: {stats}')

    r = qrt.run_qemu(qrt.base_args('tcg') + guest + ['-serial', 'null',
                                                     '-incoming',
                                                     'file:' + path],
                     timeout=60)
    qrt.check(r.status != 0 and 'pio-batch' in r.err,
              'destination without -device pio-batch refuses the stream: '
              + (r.err.strip().splitlines() or [''])[-1], r.err)


def main():
    what = sys.argv[1]
    accel = sys.argv[2] if len(sys.argv) > 2 else 'tcg'
    if accel == 'kvm':
        qrt.require_kvm()
    if what == 'compare':
        test_compare(accel)
    elif what == 'exits':
        test_exits(accel)
    elif what == 'sweep':
        test_sweep(accel)
    elif what == 'reproducers':
        test_reproducers()
    elif what == 'monitor':
        test_monitor(accel)
    elif what == 'options':
        test_options()
    elif what == 'migrate':
        test_migrate()
    else:
        qrt.fail(f'unknown test {what}')


if __name__ == '__main__':
    main()
