# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/bench/bench-timer-cost with short settings: every configuration
gives a table row with plausible CPU shares (the numbers themselves are
the benchmark's, not asserted), and bad arguments are refused."""

import os
import re
import sys

import qrt

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__))))
BENCH = os.path.join(TOP, 'scripts', 'bench', 'bench-timer-cost')
ROW = re.compile(r'^\| (\w+) \| ([\d.]+) kHz \| (\w+) \| ([\d.]+) '
                 r'\(([\d.]+)-([\d.]+)\) \| ([\d.]+) \(([\d.]+)-([\d.]+)\) \|$')


def case_run():
    if not {0, 1} <= os.sched_getaffinity(0):
        qrt.skip('host CPUs 0 and 1 are not both available')
    qemu = qrt.qemu_binary('tcg')
    r = qrt.run([BENCH, f'a={qemu}', f'b={qemu}', '--rates', '1000',
                 '--advances', 'default,0', '--repeat', '1', '--window',
                 '0.5', '--warmup', '0.2', '--timer-guest',
                 qrt.guest_path('timer-latency')], timeout=120)
    qrt.check(r.status == 0, f'bench-timer-cost exits 0 ({r.status})', r.err)
    rows = [ROW.match(line) for line in r.out.splitlines()
            if line.startswith('| ') and 'kHz' in line]
    qrt.check(all(rows) and [m.group(1, 2, 3) for m in rows] ==
              [('a', '1', 'default'), ('a', '1', '0'),
               ('b', '1', 'default'), ('b', '1', '0')],
              'one row per binary and advance, in order', r.out)
    for m in rows:
        med, lo, hi = (float(m.group(i)) for i in (4, 5, 6))
        qrt.check(0 <= lo <= med <= hi <= 100,
                  f'{m.group(1)} {m.group(3)}: vCPU CPU % {lo} <= {med} <= '
                  f'{hi} within 0-100', r.out)
    qrt.check(re.search(r'^\d of 4 runs saw a build', r.out, re.M)
              is not None, 'the host sharing is reported', r.out)
    r = qrt.run([BENCH, f'a={qemu}', '--ap', '--rates', '1000',
                 '--advances', '0', '--repeat', '1', '--window', '0.5',
                 '--warmup', '0.2', '--timer-guest',
                 qrt.guest_path('timer-latency')], timeout=60)
    qrt.check(r.status == 0 and '| QEMU | tick | timer-advance | halted '
              'real-time AP CPU % | main thread CPU % |' in r.out and
              re.search(r'^\| a \| 1 kHz \| 0 \| ', r.out, re.M),
              '--ap measures the halted real-time AP', r.out + r.err)


def expect_error(args, text):
    r = qrt.run([BENCH] + args, timeout=30)
    lines = r.err.strip().splitlines()
    qrt.check(r.status == 1 and lines == [f'bench-timer-cost: {text}'] and
              not r.out, f'{args}: exit 1 with "{text}"',
              f'status {r.status}\n{r.out}{r.err}')


def case_bad_arguments():
    qemu = qrt.qemu_binary('tcg')
    guest = ['--timer-guest', qrt.guest_path('timer-latency')]
    q = [f'x={qemu}'] + guest
    expect_error([qemu] + guest,
                 f'{qemu}: give NAME=PATH, a label and a QEMU binary')
    expect_error(['x=/nonexistent/qemu'] + guest,
                 'x=/nonexistent/qemu: /nonexistent/qemu is not an '
                 'executable QEMU binary')
    expect_error([f'x={qemu}'] + q, 'x: the label is given twice; give each '
                 'binary its own')
    expect_error([f'x={qemu}', '--timer-guest', '/nonexistent.elf'],
                 'no timer-latency guest at /nonexistent.elf; build it '
                 'with scripts/test or pass --timer-guest PATH')
    expect_error(q + ['--rates', '1k'], "--rates: '1k' is not a rate in Hz; "
                 'give a comma list such as 1000,10000')
    expect_error(q + ['--rates', '3000'], '--rates: 3000 Hz is no whole '
                 'period in microseconds; give a divisor of 1000000')
    expect_error(q + ['--advances', 'off'], "--advances: 'off' is not a "
                 'number of nanoseconds; give a comma list such as default,0')
    expect_error(q + ['--repeat', '0'], '--repeat must be at least 1')
    expect_error(q + ['--window', '0'], '--window must be above 0 and '
                 '--warmup not below 0 seconds')


CASES = {'run': case_run, 'bad-arguments': case_bad_arguments}

if __name__ == '__main__':
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        qrt.fail(f'usage: test_timer_cost.py {"|".join(CASES)}')
    CASES[sys.argv[1]]()
