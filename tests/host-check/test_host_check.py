#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hermetic tests of rt-host-check and rt-guest-check.

Each case runs the built binaries against a fake /proc, /sys and /etc tree
under fixtures/ (--root) and asserts exit statuses and item statuses
exactly.  Usage: test_host_check.py --host BIN --guest BIN --static BIN
--fixtures DIR CASE
"""
import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile

ARGS = None

HOST_IDS = [
    'cpus', 'preempt_rt', 'isolcpus', 'nohz_full', 'rcu_nocbs',
    'irq_affinity', 'irq_default_affinity', 'ksoftirqd', 'rcuc',
    'sched_rt_runtime', 'watchdog', 'nmi_watchdog', 'timer_migration', 'ksm',
    'swap', 'thp', 'cstates', 'hugepages', 'clocksource', 'tsc_reliable',
    'smt', 'kvm_nx_huge_pages', 'kvm_halt_poll_ns', 'kvm_periodic_sync',
    'kvm_ple_gap', 'irqbalance', 'workqueue_cpumask', 'cpuset_partition',
    'cap_sys_nice', 'rlimit_rtprio', 'cap_ipc_lock', 'rlimit_memlock',
]
GUEST_IDS = [
    'cpus', 'clocksource', 'kvmclock', 'isolcpus', 'nohz_full',
    'sched_rt_runtime', 'watchdog', 'nmi_watchdog', 'timer_migration',
]

# untuned/ with --cpus 2-3 --memory 2G: every item, exactly.
UNTUNED = {
    'cpus': 'pass', 'preempt_rt': 'fail', 'isolcpus': 'fail',
    'nohz_full': 'fail', 'rcu_nocbs': 'warn', 'irq_affinity': 'fail',
    'irq_default_affinity': 'warn', 'ksoftirqd': 'warn', 'rcuc': 'pass',
    'sched_rt_runtime': 'fail', 'watchdog': 'warn', 'nmi_watchdog': 'warn',
    'timer_migration': 'warn', 'ksm': 'warn', 'swap': 'warn', 'thp': 'warn',
    'cstates': 'warn', 'hugepages': 'warn', 'clocksource': 'fail',
    'tsc_reliable': 'warn', 'smt': 'warn', 'kvm_nx_huge_pages': 'warn',
    'kvm_halt_poll_ns': 'pass', 'kvm_periodic_sync': 'warn',
    'kvm_ple_gap': 'warn', 'irqbalance': 'fail', 'workqueue_cpumask': 'warn',
    'cpuset_partition': 'warn', 'cap_sys_nice': 'fail',
    'rlimit_rtprio': 'fail', 'cap_ipc_lock': 'fail', 'rlimit_memlock': 'fail',
}

# What --apply --yes writes into a copy of untuned/ (--cpus 2-3).
APPLIED = {
    'proc/sys/kernel/sched_rt_runtime_us': '-1\n',
    'proc/sys/kernel/watchdog': '0\n',
    'proc/sys/kernel/nmi_watchdog': '0\n',
    'proc/sys/kernel/timer_migration': '0\n',
    'sys/kernel/mm/ksm/run': '0\n',
    'sys/kernel/mm/transparent_hugepage/enabled': 'never\n',
    'proc/irq/40/smp_affinity_list': '0-1\n',
    'proc/irq/default_smp_affinity': '3\n',
    'sys/devices/virtual/workqueue/cpumask': '3\n',
}


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def run(binary, *args, cwd=None):
    p = subprocess.run([binary] + list(args), capture_output=True,
                       text=True, errors='replace', cwd=cwd, timeout=60)
    check(p.returncode >= 0, '%s %s died of signal %d' %
          (binary, ' '.join(args), -p.returncode))
    return p


def fixture(name):
    return os.path.join(ARGS.fixtures, name)


def items(p, ids):
    try:
        data = json.loads(p.stdout)
    except ValueError as e:
        raise Failure('--json output is not JSON (%s):\n%s' % (e, p.stdout))
    check(isinstance(data, list), '--json output is not an array')
    for it in data:
        check(set(it) == {'id', 'status', 'message', 'fix'},
              'bad keys in %r' % it)
        check(it['status'] in ('pass', 'warn', 'fail'), 'bad status %r' % it)
        check(all(isinstance(it[k], str) for k in it), 'non-string in %r' % it)
        check((it['fix'] == '') == (it['status'] == 'pass'),
              'fix must be given exactly when not passing: %r' % it)
    if ids is not None:
        check([it['id'] for it in data] == ids,
              'item ids differ: %r' % [it['id'] for it in data])
    return {it['id']: it for it in data}


def expect_exit(p, code, what):
    check(p.returncode == code, '%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s'
          % (what, p.returncode, code, p.stdout, p.stderr))


def snapshot(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            with open(path, 'rb') as fh:
                out[os.path.relpath(path, root)] = fh.read()
    return out


def host(*args, **kw):
    return run(ARGS.host, *args, **kw)


# The cases

def case_tuned():
    p = host('--root', fixture('tuned'), '--cpus', '2-3', '--memory', '2G',
             '--json')
    expect_exit(p, 0, 'tuned')
    got = items(p, HOST_IDS)
    bad = {k: v['status'] for k, v in got.items() if v['status'] != 'pass'}
    check(not bad, 'tuned: items not passing: %r' % bad)
    check(p.stderr == '', 'tuned: stderr not empty: %r' % p.stderr)
    p = host('--root', fixture('tuned'), '--cpus', '2-3', '--memory', '2G')
    expect_exit(p, 0, 'tuned (text)')
    check('32 pass, 0 warn, 0 fail' in p.stdout, 'tuned: text summary:\n' +
          p.stdout)
    # A vCPU CPU whose SMT sibling is outside --cpus is only a warning.
    p = host('--root', fixture('tuned'), '--cpus', '3', '--memory', '2G',
             '--json')
    expect_exit(p, 1, 'tuned --cpus 3')
    got = items(p, HOST_IDS)
    check(got['smt']['status'] == 'warn', 'tuned --cpus 3: smt %r' %
          got['smt'])
    check('shares its core with 2' in got['smt']['message'],
          'smt message: %r' % got['smt'])


def case_untuned():
    p = host('--root', fixture('untuned'), '--cpus', '2-3', '--memory', '2G',
             '--json')
    expect_exit(p, 2, 'untuned')
    got = items(p, HOST_IDS)
    status = {k: v['status'] for k, v in got.items()}
    diff = {k: (status[k], v) for k, v in UNTUNED.items() if status[k] != v}
    check(not diff, 'untuned: (got, want) %r' % diff)
    fixes = {
        'sched_rt_runtime': 'sysctl -w kernel.sched_rt_runtime_us=-1',
        'watchdog': 'sysctl -w kernel.watchdog=0',
        'timer_migration': 'sysctl -w kernel.timer_migration=0',
        'ksm': 'echo 0 > /sys/kernel/mm/ksm/run',
        'isolcpus': 'add isolcpus=2-3 to the kernel command line and reboot',
        'workqueue_cpumask': 'echo 3 > /sys/devices/virtual/workqueue/cpumask',
        'ksoftirqd': 'chrt -f -p 2 102; chrt -f -p 2 103',
    }
    for k, v in fixes.items():
        check(got[k]['fix'] == v, 'untuned %s fix: %r, want %r' %
              (k, got[k]['fix'], v))
    check('(IRQ 40)' in got['irq_affinity']['message'],
          'irq_affinity message: %r' % got['irq_affinity'])
    check('hpet' in got['clocksource']['message'], 'clocksource message')
    check('/dev/sda3' in got['swap']['message'], 'swap message')
    p = host('--root', fixture('untuned'), '--cpus', '2-3')
    expect_exit(p, 2, 'untuned (text)')
    check('FAIL sched_rt_runtime' in p.stdout and
          'fix: sysctl -w kernel.sched_rt_runtime_us=-1' in p.stdout,
          'untuned text output:\n' + p.stdout)


def case_broken():
    # Whatever the junk, the same exit status and statuses every time.
    want = {
        'cpus': 'warn', 'preempt_rt': 'fail', 'isolcpus': 'fail',
        'nohz_full': 'fail', 'irq_affinity': 'fail', 'clocksource': 'warn',
        'sched_rt_runtime': 'warn', 'watchdog': 'warn', 'nmi_watchdog': 'warn',
        'timer_migration': 'warn', 'ksm': 'warn', 'thp': 'warn',
        'smt': 'warn', 'kvm_halt_poll_ns': 'warn', 'cap_sys_nice': 'warn',
        'rlimit_memlock': 'warn', 'irqbalance': 'fail',
        'workqueue_cpumask': 'warn',
    }
    for args in (['--cpus', '2-3', '--memory', '2G'], ['--cpus', '0-4095'],
                 []):
        p = host('--root', fixture('broken'), '--json', *args)
        expect_exit(p, 2, 'broken %r' % args)
        got = items(p, HOST_IDS)
        check(p.stderr == '', 'broken: stderr: %r' % p.stderr)
        if args[:2] == ['--cpus', '2-3']:
            diff = {k: (got[k]['status'], v) for k, v in want.items()
                    if got[k]['status'] != v}
            check(not diff, 'broken: (got, want) %r' % diff)
            for k in ('sched_rt_runtime', 'ksm', 'thp', 'watchdog'):
                check(got[k]['message'].startswith('unknown: '),
                      'broken %s: %r' % (k, got[k]['message']))
        p = host('--root', fixture('broken'), *args)
        expect_exit(p, 2, 'broken (text) %r' % args)
    # Nothing readable at all: nothing can fail, everything is unknown.
    with tempfile.TemporaryDirectory() as empty:
        p = host('--root', empty, '--cpus', '1', '--memory', '1G', '--json')
        expect_exit(p, 1, 'empty root')
        got = items(p, HOST_IDS)
        check(all(v['status'] == 'warn' for v in got.values()),
              'empty root: %r' % got)
    g = run(ARGS.guest, '--root', fixture('broken'), '--cpus', '2-3',
            '--json')
    expect_exit(g, 2, 'rt-guest-check on broken')
    items(g, GUEST_IDS)


# tuned/ with one KVM module parameter set as an untuned host has it: the
# item, the message it must contain and its fix, exactly.
KVM_PARAMS = [
    ('nx_huge_pages', 'Y', 'kvm_nx_huge_pages',
     'kvm.nx_huge_pages=Y: executable guest huge pages are split',
     "add kvm.nx_huge_pages=off to the kernel command line if "
     "/sys/devices/system/cpu/vulnerabilities/itlb_multihit says "
     "'Not affected' (or the guest is trusted)"),
    ('halt_poll_ns', '0', 'kvm_halt_poll_ns',
     'kvm.halt_poll_ns=0: a halted vCPU sleeps at once',
     'echo 200000 > /sys/module/kvm/parameters/halt_poll_ns (or boot the '
     'guest with idle=poll)'),
    ('kvmclock_periodic_sync', 'Y', 'kvm_periodic_sync',
     'kvm.kvmclock_periodic_sync=Y: KVM updates every vCPU',
     'add kvm.kvmclock_periodic_sync=N to the kernel command line (or '
     'options kvm kvmclock_periodic_sync=N in /etc/modprobe.d)'),
]


def case_kvm_params():
    for param, value, item, msg, fix in KVM_PARAMS:
        with tempfile.TemporaryDirectory() as tmp:
            root = os.path.join(tmp, 'root')
            shutil.copytree(fixture('tuned'), root, symlinks=True)
            with open(os.path.join(root, 'sys/module/kvm/parameters',
                                   param), 'w') as f:
                f.write(value + '\n')
            p = host('--root', root, '--cpus', '2-3', '--memory', '2G',
                     '--json')
            what = 'tuned with %s=%s' % (param, value)
            expect_exit(p, 1, what)
            got = items(p, HOST_IDS)
            bad = {k: v['status'] for k, v in got.items()
                   if v['status'] != 'pass'}
            check(bad == {item: 'warn'}, '%s: not passing %r, want only '
                  '%s warn' % (what, bad, item))
            check(msg in got[item]['message'], '%s: message %r lacks %r' %
                  (what, got[item]['message'], msg))
            check(got[item]['fix'] == fix, '%s: fix %r, want %r' %
                  (what, got[item]['fix'], fix))


def case_apply_dry():
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, 'root')
        shutil.copytree(fixture('untuned'), root, symlinks=True)
        before = snapshot(root)
        p = host('--root', root, '--cpus', '2-3', '--apply', cwd=tmp)
        expect_exit(p, 2, 'apply without --yes')
        check(snapshot(root) == before, 'apply without --yes changed files')
        check(os.listdir(tmp) == ['root'], 'apply without --yes wrote %r' %
              os.listdir(tmp))
        check("would write '-1' to /proc/sys/kernel/sched_rt_runtime_us "
              "(now '950000')" in p.stdout, 'dry run output:\n' + p.stdout)
        check('add --yes' in p.stdout, 'dry run does not say how to apply')
        check('isolcpus=managed_irq,domain,2-3' in p.stdout and
              'tsc=reliable' in p.stdout, 'boot parameters not printed')
        # JSON stays clean: the plan goes to stderr.
        p = host('--root', root, '--cpus', '2-3', '--apply', '--json',
                 cwd=tmp)
        expect_exit(p, 2, 'apply --json without --yes')
        items(p, HOST_IDS)
        check('would write' in p.stderr, 'plan not on stderr')
        check(snapshot(root) == before, 'apply --json changed files')


def case_apply():
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, 'root')
        undo = os.path.join(tmp, 'undo.sh')
        shutil.copytree(fixture('untuned'), root, symlinks=True)
        before = snapshot(root)
        p = host('--root', root, '--cpus', '2-3', '--memory', '2G',
                 '--apply', '--yes', '--undo-file', undo, '--json', cwd=tmp)
        expect_exit(p, 2, 'apply --yes (boot items still fail)')
        after = snapshot(root)
        changed = {k for k in before if before[k] != after[k]}
        check(set(after) == set(before), 'apply created or removed files')
        check(changed == set(APPLIED), 'apply changed %r, want %r' %
              (sorted(changed), sorted(APPLIED)))
        for k, v in APPLIED.items():
            check(after[k] == v.encode(), '%s is %r, want %r' %
                  (k, after[k], v))
        got = items(p, HOST_IDS)
        for k in ('sched_rt_runtime', 'watchdog', 'nmi_watchdog',
                  'timer_migration', 'ksm', 'thp', 'irq_affinity',
                  'irq_default_affinity', 'workqueue_cpumask'):
            check(got[k]['status'] == 'pass', 'after apply %s: %r' %
                  (k, got[k]))
        check(got['preempt_rt']['status'] == 'fail', 'apply fixed a boot item')
        check(os.access(undo, os.X_OK), 'undo script not executable')
        # A second run must not overwrite the undo script.
        with open(os.path.join(root, 'proc/sys/kernel/watchdog'), 'w') as f:
            f.write('1\n')
        again = snapshot(root)
        with open(undo, 'rb') as f:
            script = f.read()
        p = host('--root', root, '--cpus', '2-3', '--apply', '--yes',
                 '--undo-file', undo, cwd=tmp)
        expect_exit(p, 64, 'apply --yes with an existing undo file')
        check(p.stderr.startswith('rt-host-check: %s exists;' % undo),
              'existing undo file: %r' % p.stderr)
        check(snapshot(root) == again, 'refused apply changed files')
        with open(undo, 'rb') as f:
            check(f.read() == script, 'refused apply rewrote the undo file')
        u = subprocess.run(['sh', undo], capture_output=True, text=True)
        check(u.returncode == 0, 'undo script failed: %s' % u.stderr)
        restored = snapshot(root)
        diff = [k for k in before if before[k] != restored.get(k)]
        check(not diff, 'undo left differences in %r' % diff)


USAGE = [
    (['--cpus', '1-'], "bad --cpus '1-'"),
    (['--cpus', 'a'], "bad --cpus 'a'"),
    (['--cpus', '3-1'], 'the range 3-1 is reversed'),
    (['--cpus', ''], 'the CPU list is empty'),
    (['--cpus', '1,,2'], "bad --cpus '1,,2'"),
    (['--cpus', '1 2'], "unexpected ' '"),
    (['--cpus', '99999'], 'above the highest CPU number'),
    (['--cpus'], '--cpus needs a value'),
    (['--bogus'], "unknown option '--bogus'"),
    (['--memory', 'garbage'], "bad --memory 'garbage'"),
    (['--memory', '0'], "bad --memory '0'"),
    (['--memory', '12Q'], "bad --memory '12Q'"),
    (['--memory', '99999999999T'], "bad --memory"),
    (['--yes'], '--yes and --undo-file need --apply'),
    (['--root', '/nonexistent/rt-host-check'], 'is not a directory'),
    (['extra'], "unexpected argument 'extra'"),
]


def case_usage():
    for args, msg in USAGE:
        p = host(*args)
        expect_exit(p, 64, 'usage %r' % args)
        lines = p.stderr.splitlines()
        check(len(lines) == 1 and lines[0].startswith('rt-host-check: ') and
              msg in lines[0], 'usage %r: stderr %r' % (args, p.stderr))
        check('; ' in lines[0], 'usage %r: no fix in %r' % (args, lines[0]))
        check(p.stdout == '', 'usage %r: stdout %r' % (args, p.stdout))
    p = host('--help')
    expect_exit(p, 0, '--help')
    check('Exit status: 0 all items pass' in p.stdout and '64 usage' in
          p.stdout, '--help does not document the exit status')
    p = run(ARGS.guest, '--cpus', '2-1')
    expect_exit(p, 64, 'rt-guest-check bad --cpus')
    check(p.stderr.startswith("rt-guest-check: bad --cpus '2-1'"),
          'guest usage: %r' % p.stderr)


def case_real_host():
    # The host's state is not ours to assert; only the form of the output.
    p = host('--cpus', '1', '--memory', '256M', '--json')
    check(p.returncode in (0, 1, 2), 'real host: exit %d, stderr %r' %
          (p.returncode, p.stderr))
    got = items(p, HOST_IDS)
    worst = max(('pass', 'warn', 'fail').index(v['status'])
                for v in got.values())
    check(worst == p.returncode, 'real host: exit %d but worst item %d' %
          (p.returncode, worst))
    p = run(ARGS.guest, '--json')
    check(p.returncode in (0, 1, 2), 'guest check on the host: exit %d' %
          p.returncode)
    items(p, GUEST_IDS)


def case_guest():
    p = run(ARGS.guest, '--root', fixture('guest-tuned'), '--cpus', '1',
            '--json')
    expect_exit(p, 0, 'guest-tuned')
    got = items(p, GUEST_IDS)
    check(all(v['status'] == 'pass' for v in got.values()),
          'guest-tuned: %r' % got)
    p = run(ARGS.guest, '--root', fixture('guest-kvmclock'), '--cpus', '1',
            '--json')
    expect_exit(p, 2, 'guest-kvmclock')
    got = items(p, GUEST_IDS)
    want = {'cpus': 'pass', 'clocksource': 'fail', 'kvmclock': 'warn',
            'isolcpus': 'fail', 'nohz_full': 'warn',
            'sched_rt_runtime': 'fail', 'watchdog': 'warn',
            'nmi_watchdog': 'pass', 'timer_migration': 'warn'}
    status = {k: v['status'] for k, v in got.items()}
    check(status == want, 'guest-kvmclock: %r' % status)
    check('kvm-clock' in got['clocksource']['message'], 'clocksource msg')


def case_guest_static():
    with open(ARGS.static, 'rb') as f:
        elf = f.read()
    check(elf[:4] == b'\x7fELF' and elf[4] == 2, 'not a 64-bit ELF')
    phoff = int.from_bytes(elf[32:40], 'little')
    phentsize = int.from_bytes(elf[54:56], 'little')
    phnum = int.from_bytes(elf[56:58], 'little')
    types = [int.from_bytes(elf[phoff + i * phentsize:][:4], 'little')
             for i in range(phnum)]
    check(3 not in types and 2 not in types,
          'rt-guest-check-static has an interpreter or a dynamic section')
    p = run(ARGS.static, '--root', fixture('guest-tuned'), '--cpus', '1')
    expect_exit(p, 0, 'static guest-tuned')


CASES = {name[5:].replace('_', '-'): fn for name, fn in globals().items()
         if name.startswith('case_')}


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', required=True)
    ap.add_argument('--guest', required=True)
    ap.add_argument('--static', required=True)
    ap.add_argument('--fixtures', required=True)
    ap.add_argument('case', choices=sorted(CASES))
    ARGS = ap.parse_args()
    # meson passes paths relative to the build directory; some cases run
    # the binaries from a temporary directory.
    for k in ('host', 'guest', 'static', 'fixtures'):
        setattr(ARGS, k, os.path.abspath(getattr(ARGS, k)))
    try:
        CASES[ARGS.case]()
    except Failure as e:
        print('FAIL %s: %s' % (ARGS.case, e))
        return 1
    print('PASS %s' % ARGS.case)
    return 0


if __name__ == '__main__':
    sys.exit(main())
