# SPDX-License-Identifier: GPL-2.0-or-later
"""Run README's first command's demo (scripts/demo) as a user would.

Passes when it exits 0, says the guest passed, shows the vCPU thread at
SCHED_FIFO in query-rt's table, and prints no Python traceback (the QMP
tool once printed one when the guest powered off right after cont)."""

import os
import re
import subprocess

import qrt

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    r = subprocess.run([os.path.join(TOP, 'scripts', 'demo')], cwd=TOP,
                       capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    qrt.check(r.returncode == 0, f'scripts/demo exited {r.returncode}', out)
    qrt.check('demo: the guest ran as a real-time guest and passed' in out,
              'the demo says the guest passed', out)
    qrt.check(re.search(r'^\s+\d+\s+CPU 0/TCG\s+vCPU 0\s+fifo\s+1\s+\S+$',
                        out, re.M) is not None,
              'query-rt shows vCPU 0 at fifo 1', out)
    qrt.check(re.search(r'^  host CPUs from \S+: vCPU \d+, emulator [\d,-]+$',
                        out, re.M) is not None,
              'query-rt says where the CPUs came from', out)
    qrt.check('Traceback' not in out, 'no Python traceback', out)


if __name__ == '__main__':
    main()
