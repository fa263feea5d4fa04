# SPDX-License-Identifier: GPL-2.0-or-later
"""Run every command of docs/howto.md.

Each ```sh block runs in bash from the top of the checkout with the patched
QEMU, rt-host-check and the scripts on PATH and KERNEL set by the first
block.  A comment line before a block changes how it runs:
  <!-- howto-test: exit 0,1,2 -->     the exit statuses it may end with
  <!-- howto-test: needs-cpus N -->   skipped, with the reason, on fewer CPUs
  <!-- howto-test: skip REASON -->    never run here; REASON is printed
  <!-- howto-test: expect TEXT -->     its output must contain TEXT
argv: the project's meson build directory."""

import os
import re
import subprocess
import sys

import qrt

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blocks(text):
    """(directive, code, line) for every ```sh block."""
    pattern = re.compile(r'(?:<!-- howto-test: (.*?) -->\n)?```sh\n(.*?)```',
                         re.S)
    for m in pattern.finditer(text):
        yield m.group(1) or '', m.group(2), text[:m.start()].count('\n') + 1


def main():
    build = os.path.abspath(sys.argv[1])
    qemu_dir = os.path.dirname(qrt.qemu_binary('tcg'))
    env = dict(os.environ)
    env['PATH'] = ':'.join([qemu_dir,
                            os.path.join(build, 'scripts', 'rtcheck',
                                         'rt-host-check'),
                            os.path.join(TOP, 'scripts', 'rtcheck'),
                            env['PATH']])
    text = open(os.path.join(TOP, 'docs', 'howto.md')).read()
    prelude = ''
    ran = 0
    for directive, code, line in blocks(text):
        where = f'docs/howto.md:{line}'
        if directive.startswith('skip'):
            print(f'not run: {where}: {directive[5:]}')
            continue
        if directive.startswith('needs-cpus'):
            need = int(directive.split()[1])
            have = len(os.sched_getaffinity(0))
            if have < need:
                print(f'not run: {where}: needs {need} host CPUs, this '
                      f'machine has {have}')
                continue
        ok = [0]
        if directive.startswith('exit'):
            ok = [int(s) for s in directive.split()[1].split(',')]
        # Paths in the how-to are relative to the checkout; the guests and
        # the plugin are in this build directory.
        script = code.replace('_build/', build + '/')
        if script.lstrip().startswith('KERNEL='):
            prelude += script
            continue
        p = subprocess.run(['bash', '-c', 'set -euo pipefail\n' + prelude +
                            script], cwd=TOP, env=env, capture_output=True,
                           text=True, timeout=300, stdin=subprocess.DEVNULL)
        qrt.check(p.returncode in ok,
                  f'{where}: exit status {p.returncode} in {ok}',
                  p.stdout + p.stderr)
        if directive.startswith('expect '):
            qrt.check(directive[7:] in p.stdout,
                      f'{where}: output has {directive[7:]}',
                      p.stdout + p.stderr)
        ran += 1
    qrt.check(ran > 0, f'ran {ran} blocks of the how-to')


if __name__ == '__main__':
    main()
