# SPDX-License-Identifier: GPL-2.0-or-later
"""pio-batch with several vCPUs ringing the doorbell at once.

  ACCEL (tcg or kvm)  the pio-batch-smp guest on -M pc and -M q35 with
                      -smp 2 and -smp 4: every vCPU rings its own tables
                      in a loop over the shared CMOS and PCI index/data
                      ports; each batch must read back only its own values
                      (a batch is atomic), every header status must be
                      right, bad tables mixed in must be refused with
                      nothing performed.  The vCPUs are checked to be one
                      host thread each (multi-threaded TCG under TCG) and
                      to have really rung at once.
  Under TCG, the same sequences as plain IN/OUT instructions must fail
  the guest's checks: its checks can see other vCPUs coming between an
  index and its data.
"""

import subprocess
import sys
import time

import qrt
import qemurt  # noqa: E402  (on sys.path through qrt)

ACCEL = {'tcg': 'tcg,thread=multi', 'kvm': 'kvm'}
THREAD = {'tcg': 'TCG', 'kvm': 'KVM'}
# Tables per vCPU, and rounds during which other vCPUs must have completed
# tables; /dev/kvm here is a slow software backend (~10 ms a doorbell).
APPEND = {'tcg': 'rounds=2000 overlap=20', 'kvm': 'rounds=100 overlap=10'}
TIMEOUT = {'tcg': 120, 'kvm': 600}


def vcpu_threads(pid):
    return sorted(t['comm'] for t in qemurt.thread_snapshot(pid) or []
                  if t['comm'].startswith(('CPU ', 'ALL CPUs')))


def run_smp(accel, machine, cpus, append):
    """Start the guest paused, check the vCPU threads, run it to its exit."""
    args = qrt.base_args(accel, machine)
    args[args.index('-accel') + 1] = ACCEL[accel]
    args += qrt.guest_args('pio-batch-smp', append)
    args += ['-smp', str(cpus), '-name', 'debug-threads=on', '-S',
             '-device', 'pio-batch', '-serial', 'null']
    what = f'pio-batch-smp -M {machine} -smp {cpus} {accel} {append}'
    q = qrt.QemuProcess(args, accel=accel)
    try:
        want = [f'CPU {i}/{THREAD[accel]}' for i in range(cpus)]
        threads = vcpu_threads(q.pid)
        qrt.check(threads == want, f'{what}: one host thread per vCPU '
                  f'({", ".join(threads)})', q.stderr())
        t0 = time.monotonic()
        q.qmp.cmd('cont')
        try:
            status = q.proc.wait(TIMEOUT[accel])
        except subprocess.TimeoutExpired:
            q.kill()
            qrt.fail(f'{what}: no exit within {TIMEOUT[accel]} s; guest '
                     f'output:\n{q.stdout()}', q.stderr())
        elapsed = time.monotonic() - t0
    finally:
        q.kill()
        q.qmp.close()
    r = qrt.Result(q.cmd, status, q.stdout(), q.stderr())
    print(f'{what}: {elapsed:.1f} s')
    return r, what


def test_batches(accel):
    for machine in ('pc', 'q35'):
        for cpus in (2, 4):
            r, what = run_smp(accel, machine, cpus, APPEND[accel])
            qrt.expect_guest_pass(r, what)
            res = qrt.guest_result(r, what)
            qrt.check(res.get('cpus') == cpus and 'FAIL' not in r.out,
                      f'{what}: {cpus} vCPUs, {res.get("total")} tables, '
                      'no failed check', r.out)


def test_plain_fails():
    # Four vCPUs on fewer host CPUs and many hand-overs: interleavings
    # inside a sequence are then seen in every run, loaded host or not.
    r, what = run_smp('tcg', 'pc', 4, 'rounds=2000 overlap=200 plain=1')
    wrong = [line for line in r.out.splitlines()
             if line.startswith('FAIL: cpu') and ' round ' in line]
    qrt.check(r.status == qrt.GUEST_FAIL_STATUS and wrong,
              f'{what}: plain IN/OUT interleave between vCPUs and the '
              f'guest sees it: {wrong[0] if wrong else "no failure"}',
              r.err + '\n--- guest output ---\n' + r.out)


def main():
    accel = sys.argv[1]
    if accel == 'kvm':
        qrt.require_kvm()
    test_batches(accel)
    if accel == 'tcg':
        test_plain_fails()


if __name__ == '__main__':
    main()
