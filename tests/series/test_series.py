#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Build one of the series' QEMU tests in the project's QEMU build, run it.

usage: test_series.py [--as-nobody] DIR/NAME
                      (qtest/pio-batch-test, unit/test-..., ...)

The test binary is the ninja target tests/DIR/NAME of the QEMU build that
build/qemu-system-x86_64 belongs to, built here if it is missing or out
of date.  QEMU's tests find firmware only in the build tree, which the
Debian source lacks, so QTEST_QEMU_BINARY is a wrapper that adds the
firmware directories the other tests use.  Passes when the qtest exits 0
and its TAP output has as many "ok" lines as its plan announces.

With --as-nobody (unit tests), the test runs as user nobody without
capabilities, from a copy that nobody can reach: what the series does
to threads must also work unprivileged, as in a make check of a user.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import qrt


def run_qtest(build, name):
    """Run tests/@name of @build with QTEST_QEMU_BINARY set."""
    with tempfile.TemporaryDirectory(prefix='qemu-rt-qtest-') as tmp:
        # libqtest wants the binary's name to end in -system-x86_64.
        wrapper = os.path.join(tmp, 'qemu-system-x86_64')
        with open(wrapper, 'w') as f:
            f.write('#!/bin/sh\nexec %s %s "$@"\n' % (
                os.path.join(build, 'qemu-system-x86_64'),
                ' '.join(qrt.firmware_args())))
        os.chmod(wrapper, 0o755)
        env = dict(os.environ, QTEST_QEMU_BINARY=wrapper)
        return subprocess.run([os.path.join(build, 'tests', name),
                               '--tap'], capture_output=True, text=True,
                              env=env, timeout=840)


def run_as_nobody(binary):
    """Run the unit test @binary as nobody, without capabilities."""
    if os.geteuid() != 0 or not shutil.which('setpriv'):
        qrt.skip('running a test as nobody needs root and setpriv')
    with qrt.reachable_copy([binary]) as d:
        return subprocess.run(
            ['setpriv', f'--reuid={qrt.NOBODY}', f'--regid={qrt.NOBODY}',
             '--clear-groups', '--inh-caps=-all',
             os.path.join(d, os.path.basename(binary)), '--tap'],
            capture_output=True, text=True, cwd=d, timeout=840)


def main():
    args = sys.argv[1:]
    as_nobody = args[:1] == ['--as-nobody']
    args = args[1:] if as_nobody else args
    if len(args) != 1 or not re.fullmatch(r'(qtest|unit)/[a-z0-9-]+',
                                          args[0]) or (
            as_nobody and not args[0].startswith('unit/')):
        qrt.fail('usage: test_series.py qtest/NAME | [--as-nobody] '
                 'unit/NAME')
    name = args[0]
    build = os.path.dirname(os.path.realpath(qrt.qemu_binary('tcg')))
    r = subprocess.run(['ninja', '-C', build, 'tests/' + name],
                       capture_output=True, text=True)
    qrt.check(r.returncode == 0, f'built tests/{name} in {build}',
              r.stdout[-3000:] + r.stderr[-2000:])
    if as_nobody:
        r = run_as_nobody(os.path.join(build, 'tests', name))
    else:
        r = run_qtest(build, name)
    out = r.stdout
    plan = re.search(r'^1\.\.(\d+)$', out, re.M)
    oks = re.findall(r'^ok \d+ (\S+)', out, re.M)
    bad = re.findall(r'^not ok \d+ .*$', out, re.M)
    for case in oks:
        print('ok: ' + case)
    qrt.check(r.returncode == 0 and not bad and plan and
              len(oks) == int(plan.group(1)),
              f'{name}: {len(oks)} of {plan.group(1) if plan else "?"} '
              f'cases passed, exit status {r.returncode}'
              + (f', failed: {bad}' if bad else ''),
              out[-4000:] + r.stderr[-4000:])


if __name__ == '__main__':
    main()
