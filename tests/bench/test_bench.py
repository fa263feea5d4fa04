# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/bench/bench-latency + scripts/bench/bench-report, short settings.

  timer          timer-latency guest one-shot (timer) and periodic (tick),
                 50 samples / periods, plain and libvirt-style (and -rt when
                 the binary has it), host idle: every run has its 50
                 samples, or its 50 periods split into delivered and lost
                 ticks, the JSON records and the report have the expected
                 structure, the tuning was in effect
  linux          the cyclictest guest, plain, idle (scripts/test builds it;
                 skipped, with the reason, when it could not)
  bad-arguments  bad input: one clear line, exit status 1
"""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

import qrt
import qemurt  # noqa: E402  (on sys.path through qrt)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__))))
BENCH = os.path.join(TOP, 'scripts', 'bench', 'bench-latency')
REPORT = os.path.join(TOP, 'scripts', 'bench', 'bench-report')
BUILD_GUEST = os.path.join(TOP, 'scripts', 'pipeline', 'build-rt-guest')
CACHE = qemurt.CACHE


def run(cmd, timeout=500):
    r = qrt.run(cmd, timeout=timeout)
    print('$ ' + ' '.join(cmd))
    print(r.out.rstrip())
    return r


def need_two_cpus():
    if len(os.sched_getaffinity(0)) < 2:
        qrt.skip('the benchmark needs two host CPUs; this process may use '
                 f'{sorted(os.sched_getaffinity(0))}')


def rt_supported(qemu):
    r = subprocess.run([qemu, '-help'], capture_output=True, text=True)
    return re.search(r'^-rt ', r.stdout, re.M) is not None


def load(path):
    qrt.check(os.path.exists(path), f'{os.path.basename(path)} written')
    with open(path) as f:
        return json.load(f)


def check_run(rec, guest, config, samples, stderr):
    tag = f'{guest}/{config}'
    qrt.check(not rec.get('error'), f'{tag}: no error (got '
              f'{rec.get("error")!r})', stderr + rec.get('qemu_stderr', ''))
    res = rec['result']
    if guest == 'tick':
        # The last tick closes every period since the one before it, so
        # the run can end past @samples when ticks were lost at the end.
        qrt.check(res['periods'] >= samples,
                  f'{tag}: periods {res["periods"]} >= {samples}')
        qrt.check(res['samples'] + res['lost'] == res['periods'],
                  f'{tag}: {res["samples"]} delivered + {res["lost"]} lost '
                  f'== {res["periods"]} periods')
        qrt.check(res['max'] < rec['interval_us'],
                  f'{tag}: max {res["max"]} below the period '
                  f'{rec["interval_us"]} us')
        samples = res['samples']
    qrt.check(res['samples'] == samples,
              f'{tag}: samples {res["samples"]} == {samples}')
    in_hist = sum(rec['histogram'].values())
    qrt.check(in_hist + res['overflows'] == samples,
              f'{tag}: histogram {in_hist} + overflows {res["overflows"]} '
              f'== {samples}')
    qrt.check(res['min'] <= res['avg'] <= res['max'] and
              res['p99'] <= res['max'],
              f'{tag}: min {res["min"]} <= avg {res["avg"]} <= max '
              f'{res["max"]}, p99 {res["p99"]} <= max')
    host = rec['host']
    qrt.check(host['kernel'] == platform.release(),
              f'{tag}: host kernel recorded ({host["kernel"]})')
    with open('/proc/sys/kernel/sched_rt_runtime_us') as f:
        rt_runtime = int(f.read())
    qrt.check(host['sched_rt_runtime_us'] == rt_runtime,
              f'{tag}: sched_rt_runtime_us {host["sched_rt_runtime_us"]} '
              f'== {rt_runtime}')
    cmd = rec['qemu_cmdline']
    qrt.check(cmd[0] == rec['qemu_binary'] or
              os.path.realpath(cmd[0]) == rec['qemu_binary'],
              f'{tag}: QEMU command line recorded, starting with the binary')
    qrt.check('-S' in cmd, f'{tag}: QEMU started paused (-S)')
    # The running snapshot races with a short guest's exit (its QMP part
    # then fails, recorded as qmp_error); the paused one cannot.
    snaps = [rec.get('snapshot'), rec.get('snapshot_paused')]
    snap = next((x for x in snaps if x and 'query-cpus-fast' in x),
                snaps[0] or snaps[1])
    qrt.check(snap and snap['threads'] and all(
        {'tid', 'comm', 'policy', 'rt_priority', 'processor', 'affinity'}
        <= set(t) for t in snap['threads']),
        f'{tag}: thread snapshot with policy, priority, processor and '
        'affinity of every thread')
    return snap


def check_tuned(snap, rec, tag, vcpu_cpu, emu_cpus, emu_fifo,
                all_fifo=False):
    vcpus = [c['thread-id'] for c in snap['query-cpus-fast']]
    threads = {t['tid']: t for t in snap['threads']}
    qrt.check(len(vcpus) == 1 and vcpus[0] in threads,
              f'{tag}: one vCPU thread, found in /proc')
    v = threads[vcpus[0]]
    qrt.check(v['policy'] == 'fifo' and v['rt_priority'] == 2 and
              v['affinity'] == [vcpu_cpu],
              f'{tag}: vCPU fifo 2 on [{vcpu_cpu}] (got {v["policy"]} '
              f'{v["rt_priority"]} on {v["affinity"]})')
    others = [t for t in snap['threads'] if t['tid'] not in vcpus]
    qrt.check(all(t['affinity'] == emu_cpus for t in others),
              f'{tag}: every other thread on {emu_cpus} (got '
              f'{[t["affinity"] for t in others]})')
    main = threads[rec['qemu_pid']]
    if all_fifo:
        qrt.check(all(t['policy'] == 'fifo' and t['rt_priority'] == 1
                      for t in others),
                  f'{tag}: every other thread fifo 1 (got '
                  f'{[(t["policy"], t["rt_priority"]) for t in others]})')
    if emu_fifo:
        qrt.check(main['policy'] == 'fifo' and main['rt_priority'] == 1,
                  f'{tag}: main thread fifo 1 (got {main["policy"]} '
                  f'{main["rt_priority"]})')


def check_report(report, img_dir, configs, guests, rt_skipped):
    qrt.check(os.path.exists(report), 'report written')
    with open(report) as f:
        text = f.read()
    for needle in ('| config | load | runs | samples | overflows | min | '
                   'avg | p99 | max |',
                   'NOT a measure of KVM guest latency',
                   '`sched_rt_runtime_us`', '## Machine',
                   'scripts/bench/bench-latency ',
                   'scripts/bench/bench-report ',
                   '## Reproducing on a tuned RT host',
                   '## -rt against libvirt-style tuning'):
        qrt.check(needle in text, f'report contains "{needle}"')
    rows = re.findall(r'^\| (\S+) \| idle \| 1/1 \|', text, re.M)
    want = [c for g in guests for c in configs]
    qrt.check(rows == want, f'report rows (config, idle, 1 of 1 runs) '
              f'{rows} == {want}')
    if 'tick' in guests:
        qrt.check('p99 | max | ticks lost |' in text and
                  re.search(r'^\| plain \| idle \| 1/1 \|.* \| \d+ \(\d',
                            text, re.M) is not None,
                  'report has the ticks lost column, filled for the tick '
                  'guest')
    if rt_skipped:
        qrt.check('**Not measured:**' in text and 'no -rt option' in text,
                  'report says the -rt configurations were not measured')
    for guest in guests:
        png = os.path.join(img_dir, f'latency-short-{guest}-idle.png')
        qrt.check(os.path.exists(png), f'histogram {os.path.basename(png)}')
        with open(png, 'rb') as f:
            qrt.check(f.read(8) == b'\x89PNG\r\n\x1a\n', 'it is a PNG')
        rel = os.path.relpath(png, os.path.dirname(report))
        qrt.check(f']({rel})' in text, f'report links {rel}')


def case_timer():
    need_two_cpus()
    qemu = qrt.qemu_binary('tcg')
    guest = qrt.guest_path('timer-latency')
    have_rt = rt_supported(qemu)
    configs = ['plain']
    if os.geteuid() == 0:
        configs += ['libvirt', 'hand']
    else:
        print('libvirt-style configuration left out: it needs root '
              '(SCHED_FIFO, mlock) and this test runs as uid '
              f'{os.geteuid()}')
    if have_rt and os.geteuid() == 0:
        configs += ['rt', 'rt-emu']
    all_cpus = sorted(os.sched_getaffinity(0))
    vcpu_cpu, emu_cpus = all_cpus[-1], all_cpus[:-1]
    with tempfile.TemporaryDirectory(prefix='bench-test-') as tmp:
        out = os.path.join(tmp, 'results')
        report = os.path.join(tmp, 'docs', 'benchmarks.md')
        os.makedirs(os.path.dirname(report))
        r = run([BENCH, '--qemu', qemu, '--timer-guest', guest,
                 '--guests', 'timer,tick', '--configs',
                 'plain,libvirt,hand,rt,rt-emu' if os.geteuid() == 0
                 else 'plain',
                 '--rt-options', 'timer-advance=20000',
                 '--loads', 'idle', '--repeat', '1', '--samples', '50',
                 '--out', out, '--report', report])
        qrt.check(r.status == 0, f'bench-latency exit status {r.status} == 0',
                  r.err)
        if not have_rt:
            qrt.check('has no -rt option' in r.err and 'skipped' in r.err,
                      'the missing -rt option is reported: '
                      + r.err.splitlines()[0], r.err)
        meta = load(os.path.join(out, 'bench.json'))
        names = [f'short-{g}-{c}-idle-1.json' for g in ('timer', 'tick')
                 for c in configs]
        qrt.check(meta['runs'] == names,
                  f'bench.json lists {meta["runs"]} == {names}')
        for g, c in [(g, c) for g in ('timer', 'tick') for c in configs]:
            rec = load(os.path.join(out, f'short-{g}-{c}-idle-1.json'))
            snap = check_run(rec, g, c, 50, r.err)
            qrt.check(rec['result']['mode'] == ('periodic' if g == 'tick'
                                                else 'one-shot'),
                      f'{g}/{c}: guest mode {rec["result"]["mode"]}')
            if c == 'plain':
                qrt.check(all(t['policy'] == 'other' for t in
                              snap['threads']),
                          'plain: every thread SCHED_OTHER')
            else:
                check_tuned(snap, rec, c, vcpu_cpu, emu_cpus,
                            c in ('libvirt', 'hand', 'rt-emu'),
                            all_fifo=c in ('hand', 'rt-emu'))
            if c == 'libvirt':
                cmd = rec['qemu_cmdline']
                qrt.check('-overcommit' in cmd and 'mem-lock=on' in cmd,
                          'libvirt: -overcommit mem-lock=on')
                qrt.check(not any('balloon' in x for x in cmd),
                          'libvirt: no balloon device')
            if c == 'hand':
                cmd = rec['qemu_cmdline']
                qrt.check('-rt' not in cmd and '-overcommit' not in cmd,
                          'hand: tuned from outside only (no -rt, no '
                          '-overcommit)')
                qrt.check(rec['hand_tuning']['vcpu_threads'] ==
                          [x['thread-id'] for x in snap['query-cpus-fast']],
                          'hand: tuned the vCPU threads QMP names')
            if c.startswith('rt'):
                qrt.check('-rt' in rec['qemu_cmdline'],
                          f'{c}: -rt on the command line')
                qrt.check('query-rt' in snap and snap['query-rt']['active'],
                          f'{c}: query-rt snapshot says active')
                adv = [t.get('timer-advance-ns') for t in
                       snap['query-rt']['threads'] if 'cpu-index' in t]
                qrt.check(adv == [20000], f'{c}: --rt-options reached '
                          f'QEMU: vCPU timer-advance-ns {adv} == [20000]')
        check_report(report, os.path.join(tmp, 'docs', 'img'), configs,
                     ['timer', 'tick'], not have_rt)

        # Results of two different builds: the report names both.
        other = os.path.join(tmp, 'other')
        shutil.copytree(out, other)
        meta['qemu_version'] = 'QEMU emulator version 0.0 (other build)'
        meta['command'] = 'scripts/bench/bench-latency --out other'
        with open(os.path.join(other, 'bench.json'), 'w') as f:
            json.dump(meta, f)
        mixed = os.path.join(tmp, 'mixed.md')
        r = run([REPORT, out, other, '--output', mixed])
        qrt.check(r.status == 0, f'bench-report of two builds: exit status '
                  f'{r.status}', r.err)
        with open(mixed) as f:
            text = f.read()
        first = load(os.path.join(out, 'bench.json'))
        for needle in ('not the same build for every result directory',
                       f'  - `{first["qemu_version"]}` for '
                       f'`{first["command"]}`',
                       '  - `QEMU emulator version 0.0 (other build)` for '
                       '`scripts/bench/bench-latency --out other`'):
            qrt.check(needle in text, f'mixed report names "{needle}"',
                      text[:2000])
        if have_rt and os.geteuid() == 0:
            with open(report) as f:
                qrt.check('- rt and rt-emu add `timer-advance=20000` to '
                          '`-rt`' in f.read(), 'report names --rt-options')
            # -rt runs with other options are not merged into one row.
            meta['rt_options'] = 'timer-advance=0'
            with open(os.path.join(other, 'bench.json'), 'w') as f:
                json.dump(meta, f)
            r = run([REPORT, out, other, '--output', mixed])
            qrt.check(r.status == 1 and 'report them separately' in r.err
                      and '"timer-advance=0"' in r.err
                      and '"timer-advance=20000"' in r.err,
                      'bench-report refuses -rt runs of different '
                      f'--rt-options: {r.err.strip()!r}', r.err)


def case_linux():
    need_two_cpus()
    # scripts/test builds the guest and names it, or says why it could not.
    if os.environ.get('QEMU_RT_LINUX_SKIP'):
        qrt.skip(os.environ['QEMU_RT_LINUX_SKIP'])
    d = os.path.join(CACHE, 'rt-guest')
    kernel = os.environ.get('QEMU_RT_LINUX_KERNEL') or \
        os.path.join(d, 'vmlinuz')
    initrd = os.environ.get('QEMU_RT_LINUX_INITRD') or \
        os.path.join(d, 'initramfs.cpio.gz')
    if not (os.path.exists(kernel) and os.path.exists(initrd)):
        qrt.skip(f'no Linux RT guest in {d}; run '
                 'scripts/pipeline/build-rt-guest (it downloads ~75 MB of '
                 'Debian packages once)')
    qemu = qrt.qemu_binary('tcg')
    with tempfile.TemporaryDirectory(prefix='bench-test-') as tmp:
        out = os.path.join(tmp, 'results')
        report = os.path.join(tmp, 'benchmarks.md')
        r = run([BENCH, '--qemu', qemu, '--guests', 'linux',
                 '--configs', 'plain', '--loads', 'idle', '--repeat', '1',
                 '--samples', '200', '--rt-kernel', kernel,
                 '--rt-initrd', initrd, '--out', out, '--report', report])
        qrt.check(r.status == 0, f'bench-latency exit status {r.status} == 0',
                  r.err)
        rec = load(os.path.join(out, 'short-linux-plain-idle-1.json'))
        check_run(rec, 'linux', 'plain', 200, r.err)
        qrt.check(rec['result']['mode'] == 'cyclictest',
                  'the result comes from cyclictest')
        qrt.check('-l 200' in rec['guest_args'],
                  f'cyclictest ran 200 loops ({rec["guest_args"]})')
        check_report(report, os.path.join(tmp, 'img'), ['plain'], ['linux'],
                     False)


def expect_error(cmd, needle):
    r = qrt.run(cmd, timeout=60)
    lines = r.err.strip().splitlines()
    qrt.check(r.status == 1 and len(lines) == 1 and needle in r.err,
              f'{" ".join(os.path.basename(c) if c.startswith("/") else c for c in cmd)}: '
              f'exit {r.status} == 1, one line containing "{needle}": '
              f'{r.err.strip()!r}')


def case_bad_arguments():
    qemu = qrt.qemu_binary('tcg')
    guest = qrt.guest_path('timer-latency')
    b = [BENCH, '--qemu', qemu, '--timer-guest', guest, '--guests', 'timer']
    expect_error(b + ['--configs', 'plain,bogus'], 'unknown "bogus"')
    expect_error(b + ['--loads', 'busy'], 'unknown "busy"')
    expect_error(b + ['--samples', '10', '--duration', '1'], 'not both')
    expect_error(b + ['--repeat', '0'], '--repeat must be at least 1')
    expect_error(b + ['--buckets', '20000'], '--buckets must be between')
    expect_error(b + ['--vcpu-cpus', '0', '--emulator-cpus', '0'], 'overlap')
    expect_error(b + ['--vcpu-cpus', 'x'], 'is not a CPU list')
    expect_error(b + ['--vcpu-cpus', '4095'], 'not one this process may use')
    expect_error(b + ['--emulator-priority', '5', '--vcpu-priority', '2'],
                 'must be below --vcpu-priority')
    expect_error(b + ['--rt-options', 'timer-advance=0,priority=5'],
                 '--rt-options: priority is set by bench-latency; use '
                 '--vcpu-priority instead')
    expect_error(b + ['--long-only'], '--long-only needs --long')
    expect_error(b + ['--tick-interval', '20'],
                 '--tick-interval must be at least 50 us')
    expect_error(b + ['--duration', '0'], '--duration must be above 0')
    expect_error([BENCH, '--qemu', '/nonexistent/qemu'], 'is not executable')
    expect_error(b[:3] + ['--guests', 'timer', '--timer-guest',
                          '/nonexistent.elf'], 'no timer-latency guest')
    expect_error(b[:3] + ['--guests', 'linux', '--rt-kernel',
                          '/nonexistent/vmlinuz'],
                 'scripts/pipeline/build-rt-guest')
    with tempfile.TemporaryDirectory() as tmp:
        expect_error([REPORT, tmp], 'has no bench.json')
        expect_error([REPORT, tmp, '--notes', '/nonexistent.md'],
                     '--notes /nonexistent.md: No such file')
    expect_error([BUILD_GUEST, '--bogus'], "unknown argument '--bogus'")
    expect_error([BUILD_GUEST, '--with-guest-check', '/nonexistent'],
                 'no such file')


CASES = {'timer': case_timer, 'linux': case_linux,
         'bad-arguments': case_bad_arguments}

if __name__ == '__main__':
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        qrt.fail(f'usage: test_bench.py {"|".join(CASES)}')
    CASES[sys.argv[1]]()
