#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""usage: qmp-checks.py EXE MESSAGE

Starts the Windows QEMU EXE under Wine (-M none, QMP on TCP) and checks
that query-rt fails with GenericError MESSAGE, that HMP info rt answers
"Error: MESSAGE", and that quit ends QEMU with status 0.  Prints one
"ok: ..." or "FAIL: ..." line per check; exits 1 if any failed.  Run by
scripts/pipeline/check-windows, with WINEPREFIX set.

Wine 8 has no AF_UNIX sockets, so QEMU listens on TCP, where the
project's QMP client (scripts/qemurt.py) connects too.
"""
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__)))))
import qemurt  # noqa: E402

failed = 0


def check(cond, what, got):
    global failed
    if cond:
        print(f'ok: {what}')
    else:
        failed += 1
        print(f'FAIL: {what}; got {got!r}')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    exe, msg = sys.argv[1:]
    # qemurt finds QEMU's python/qemu/qmp beside the build of EXE.
    os.environ['QEMU_RT_QEMU'] = exe
    port = free_port()
    proc = subprocess.Popen(
        ['wine', exe, '-M', 'none', '-display', 'none', '-qmp',
         f'tcp:127.0.0.1:{port},server=on,wait=off'],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        qmp = qemurt.QMPClient(('127.0.0.1', port), timeout=60,
                               alive=lambda: proc.poll() is None)
        r = qmp.raw('query-rt')
        check(r.get('error') == {'class': 'GenericError', 'desc': msg},
              f'QMP query-rt fails with GenericError "{msg}"', r)
        r = qmp.raw('human-monitor-command', **{'command-line': 'info rt'})
        want = f'Error: {msg}\r\n'
        check(r.get('return') == want,
              f'HMP info rt answers {want!r}', r)
        r = qmp.raw('quit')
        check(r == {'return': {}}, 'QMP quit is accepted', r)
        qmp.close()
    except qemurt.QMPError as e:
        check(False, 'QMP session', str(e))
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    check(proc.returncode == 0 and err == '',
          'QEMU exits 0 after quit, stderr empty',
          (proc.returncode, err))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
