# SPDX-License-Identifier: GPL-2.0-or-later
"""The pio-batch Linux driver (tests/linux/driver) in the kernel's style:
the kernel's own scripts/checkpatch.pl --no-tree -f gives 0 errors and 0
warnings on every file of it, and scripts/kernel-doc documents the exported
pio_batch_run() without a warning.

usage: test_checkpatch.py

Both scripts come from Debian's linux-source package of the guest kernel's
series (linux-source-6.1 for 6.1.0-N-rt-amd64), downloaded once with
apt-get download (which checks it against the signed index): only the
scripts and the data files checkpatch.pl reads are kept, in
~/.cache/qemu-rt/checkpatch/linux-SERIES, and the package is deleted.
Without the registry the test skips with the reason.
"""

import fcntl
import os
import pwd
import re
import shutil
import sys
import tempfile

import qrt
import test_linux

DRIVER = os.path.join(os.path.dirname(os.path.realpath(__file__)), 'driver')
SCRIPTS = ('checkpatch.pl', 'spelling.txt', 'const_structs.checkpatch',
           'kernel-doc')


def kernel_series():
    """'6.1' for the guest's vmlinuz-6.1.0-57-rt-amd64."""
    kernel, _ = test_linux.linux_guest()
    name = os.path.basename(os.path.realpath(kernel))
    m = re.match(r'vmlinuz-(\d+\.\d+)\.', name)
    qrt.check(m is not None, f'the guest kernel {name} names its series')
    return m.group(1)


def kernel_scripts(series):
    """The directory holding SCRIPTS of linux-source-SERIES, fetched once."""
    top = os.path.join(test_linux.CACHE, 'checkpatch')
    d = os.path.join(top, f'linux-{series}')
    os.makedirs(top, exist_ok=True)
    with open(os.path.join(top, '.lock'), 'w') as lock:
        # One download when several clones run the test at once.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(os.path.exists(os.path.join(d, f)) for f in SCRIPTS):
            return d
        pkg = f'linux-source-{series}'
        with tempfile.TemporaryDirectory(prefix='dl.', dir=top) as tmp:
            # As the user running the test: _apt cannot enter the cache.
            user = pwd.getpwuid(os.getuid()).pw_name
            r = qrt.run(['apt-get', '-q', '-o', f'APT::Sandbox::User={user}',
                         'download', pkg], timeout=600, cwd=tmp)
            if r.status != 0:
                err = [ln for ln in r.err.splitlines() if ln.startswith('E:')]
                qrt.skip(f'apt-get download {pkg} failed '
                         f'({err[-1] if err else r.err.strip()}): Debian\'s '
                         'package registry is unreachable, or the package '
                         'index is old (apt-get update)')
            deb = [f for f in os.listdir(tmp) if f.endswith('.deb')]
            qrt.check(len(deb) == 1, f'apt-get download {pkg} gave one '
                      f'package ({deb})')
            out = os.path.join(tmp, 'out')
            os.mkdir(out)
            members = ' '.join(f'{pkg}/scripts/{f}' for f in SCRIPTS)
            r = qrt.run(['bash', '-o', 'pipefail', '-c',
                         f'dpkg-deb --fsys-tarfile "{deb[0]}" | '
                         f'tar -xO ./usr/src/{pkg}.tar.xz | '
                         f'tar -xJ -C out --strip-components=2 {members}'],
                        timeout=600, cwd=tmp)
            qrt.check(r.status == 0, f'{deb[0]} holds scripts/{SCRIPTS}',
                      r.err)
            with open(os.path.join(out, 'VERSION'), 'w') as f:
                f.write(deb[0] + '\n')
            shutil.rmtree(d, ignore_errors=True)
            os.rename(out, d)
        print(f'fetched {", ".join(SCRIPTS)} from {deb[0]} into {d}')
    return d


def driver_files():
    files = []
    for top, dirs, names in os.walk(DRIVER):
        dirs.sort()
        files += [os.path.join(top, n) for n in sorted(names)]
    return files


def main():
    d = kernel_scripts(kernel_series())
    with open(os.path.join(d, 'VERSION')) as f:
        print(f'the kernel scripts of {f.read().strip()}')
    files = driver_files()
    names = sorted(os.path.relpath(f, DRIVER) for f in files)
    qrt.check(names == ['Kbuild', 'Makefile', 'compat/stdint.h',
                        'pio-batch-linux.h', 'pio-batch.c'],
              f'the driver is the five files checked here ({names})')
    for f in files:
        r = qrt.run(['perl', os.path.join(d, 'checkpatch.pl'), '--no-tree',
                     '--no-color', '-f', f], timeout=120)
        rel = os.path.relpath(f, DRIVER)
        m = re.search(r'^total: (\d+) errors, (\d+) warnings, .*$', r.out,
                      re.M)
        qrt.check(r.status == 0 and m is not None and
                  m.groups() == ('0', '0'),
                  f'checkpatch.pl --no-tree -f {rel}: 0 errors, 0 warnings '
                  f'({m.group(0) if m else "no total line"})', r.out + r.err)
    c = os.path.join(DRIVER, 'pio-batch.c')
    kdoc = os.path.join(d, 'kernel-doc')
    r = qrt.run(['perl', kdoc, '-none', c], timeout=60)
    qrt.check(r.status == 0 and r.err == '' and r.out == '',
              'kernel-doc -none pio-batch.c: no warning', r.out + r.err)
    r = qrt.run(['perl', kdoc, '-rst', '-export', c], timeout=60)
    qrt.check(r.status == 0 and '.. c:function:: int pio_batch_run '
              '(struct pio_batch_entry *ent, unsigned int count)' in r.out,
              'kernel-doc -export pio-batch.c documents pio_batch_run()',
              r.out + r.err)


if __name__ == '__main__':
    if len(sys.argv) != 1:
        qrt.fail(f'usage: {sys.argv[0]}')
    main()
