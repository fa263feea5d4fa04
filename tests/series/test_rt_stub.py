#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""-rt on a host other than Linux, as system/rt-stub.c gives it.

Hosts other than Linux build system/rt-stub.c in place of system/rt*.c.
scripts/pipeline/link-rt-stub links that build from the objects of the
Linux build (so the stub has every hook the rest of QEMU calls), and this
test runs it: -rt, -rt help and an [rt] section of -readconfig are refused
with one line and exit status 1; without -rt, query-rt and info rt fail with
the same line and a guest runs as in an unpatched QEMU.
"""
import os
import tempfile
import time

import qrt

HERE = os.path.dirname(os.path.realpath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
# The stub's refusal, also expected by scripts/pipeline/check-windows.
with open(os.path.join(HERE, 'rt-stub-refusal.txt')) as f:
    UNSUPPORTED = f.read().strip()


def link_stub():
    build = os.path.dirname(os.path.realpath(qrt.qemu_binary('tcg')))
    r = qrt.run([os.path.join(TOP, 'scripts', 'pipeline', 'link-rt-stub'),
                 build], timeout=300)
    qrt.check(r.status == 0, f'linked the stub build of {build}',
              r.out + r.err)
    return r.out.strip()


def expect_refused(stub, args, what):
    r = qrt.run([stub] + qrt.base_args('tcg') + args, timeout=60)
    arg = ' '.join(args[-2:])
    want = f'{os.path.basename(stub)}: {arg}: {UNSUPPORTED}\n'
    qrt.check(r.status == 1 and r.err == want,
              f'{what}: exit status {r.status} == 1, stderr is the one line '
              f'{want.strip()!r}', r.err)


def main():
    stub = link_stub()
    expect_refused(stub, ['-rt', 'on'], '-rt on')
    expect_refused(stub, ['-rt', 'help'], '-rt help')
    expect_refused(stub, ['-rt', '{"vcpu-cpus": [1], "emulator-cpus": [0]}'],
                   '-rt as JSON')
    with tempfile.NamedTemporaryFile('w', suffix='.cfg') as cfg:
        cfg.write('[rt]\n  vcpu-cpus = "1"\n  emulator-cpus = "0"\n')
        cfg.flush()
        expect_refused(stub, ['-readconfig', cfg.name], '-readconfig [rt]')

    os.environ['QEMU_RT_QEMU'] = stub
    qemu = qrt.QemuProcess(qrt.base_args('tcg') + ['-S'] +
                           qrt.guest_args('rt-guest', 'mode=0'))
    try:
        resp = qemu.qmp.raw('query-rt')
        err = resp.get('error', {})
        qrt.check(err.get('class') == 'GenericError' and
                  err.get('desc') == UNSUPPORTED,
                  f'query-rt fails with "{UNSUPPORTED}": {resp}')
        out = qemu.qmp.cmd('human-monitor-command', **{'command-line':
                                                       'info rt'})
        qrt.check(out == f'Error: {UNSUPPORTED}\r\n',
                  f'info rt prints the error: {out!r}')
        qemu.qmp.cmd('cont')
        deadline = time.time() + 60
        while 'rt-guest: idle' not in qemu.stdout() and \
                time.time() < deadline:
            time.sleep(0.1)
        qrt.check('rt-guest: idle' in qemu.stdout(),
                  'without -rt the guest runs', qemu.stdout() + qemu.stderr())
        status = qemu.qmp.cmd('query-status')['status']
        qrt.check(status == 'running', f'the guest is {status} (running)')
    finally:
        rc = qemu.quit()
    qrt.check(rc == 0 and qemu.stderr() == '',
              f'QEMU quit with status {rc} and printed nothing',
              qemu.stderr())


if __name__ == '__main__':
    main()
