# SPDX-License-Identifier: GPL-2.0-or-later
"""The timer-latency guest's own arithmetic, with exact expected values.

Under -icount shift=0,sleep=off the guest's clock is its instruction count
and a halted CPU jumps straight to the next timer deadline, so every
latency is 0 and the number of ticks is known in advance:

  periodic   1000 periods of 100 us: 1000 delivered, 0 lost, max 0
  lost       the handler spins 250 us with interrupts off each tick: the
             APIC latches one pending tick and drops the rest, so 100/250 of
             the periods deliver (400 of 1000, +-1 for the last period) and
             the rest are counted lost
  one-shot   300 one-shot wake-ups, all on time
  bad-mode   mode=4 and interval=0: one FAIL line naming the fix, guest fails
"""

import sys

import qrt

ICOUNT = ['-icount', 'shift=0,sleep=off']


def run_ok(append, what):
    """Run the guest under -icount; it must pass and print its RESULT."""
    r = qrt.run_guest('timer-latency', extra=ICOUNT, append=append)
    qrt.expect_guest_pass(r, what)
    return r, qrt.guest_result(r, what)


def expect(res, key, want, what):
    qrt.check(res.get(key) == want, f'{what}: {key}={res.get(key)} == {want}')


def case_periodic():
    r, res = run_ok('samples=1000 interval=100 mode=3', 'periodic')
    for key, want in [('mode', 'periodic'), ('periods', 1000),
                      ('samples', 1000), ('lost', 0), ('min', 0), ('max', 0),
                      ('overflows', 0)]:
        expect(res, key, want, 'periodic')
    qrt.check('# Ticks: 1000 periods, 1000 delivered, 0 lost' in r.out,
              'periodic: the "# Ticks:" summary line')


def case_lost():
    r, res = run_ok('samples=1000 interval=100 mode=3 irqoff=250', 'lost')
    periods, delivered = res['periods'], res['samples']
    # A handler spans 2.5 periods, so the last tick closes 2 or 3 of them
    # and the run can end up to 2 periods past 1000.
    qrt.check(1000 <= periods <= 1002, f'lost: periods {periods} in '
              '1000..1002')
    want = periods * 100 // 250
    qrt.check(abs(delivered - want) <= 1, f'lost: {delivered} ticks '
              f'delivered, periods * 100/250 = {want} (+-1)')
    expect(res, 'lost', periods - delivered, 'lost')
    qrt.check(f'# Ticks: {periods} periods, {delivered} delivered, '
              f'{periods - delivered} lost' in r.out,
              'lost: the "# Ticks:" summary line agrees')
    # Latency is measured from the latest period start, so below a period.
    qrt.check(res['max'] < 100, f'lost: max {res["max"]} us < the 100 us '
              'period')


def case_oneshot():
    r, res = run_ok('samples=300 interval=1000 mode=1', 'one-shot')
    for key, want in [('mode', 'one-shot'), ('samples', 300), ('max', 0),
                      ('p99', 0), ('overflows', 0)]:
        expect(res, key, want, 'one-shot')
    qrt.check('periods' not in res and '# Ticks' not in r.out,
              'one-shot: no tick accounting outside periodic mode')


def case_bad_mode():
    for append, msg in [
            ('mode=4', 'FAIL: mode=4: use 0 (best one-shot kind), '
             '1 (one-shot), 2 (TSC deadline) or 3 (periodic)'),
            ('mode=3 interval=0',
             'FAIL: samples and interval must be at least 1')]:
        r = qrt.run_guest('timer-latency', extra=ICOUNT, append=append)
        qrt.check(r.status == qrt.GUEST_FAIL_STATUS,
                  f'{append}: QEMU exit status {r.status} == '
                  f'{qrt.GUEST_FAIL_STATUS} (guest failed)', r.err + r.out)
        qrt.check(msg in r.out, f'{append}: prints "{msg}"', r.out)
        qrt.check('RESULT' not in r.out, f'{append}: no RESULT line')


CASES = {'periodic': case_periodic, 'lost': case_lost,
         'one-shot': case_oneshot, 'bad-mode': case_bad_mode}

if __name__ == '__main__':
    qrt.check_patched('tcg')
    CASES[sys.argv[1]]()
    print('PASS')
