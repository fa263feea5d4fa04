# SPDX-License-Identifier: GPL-2.0-or-later
"""Bad input to the build pipeline gets one clear line and a non-zero exit.

Each case is one meson test: python3 test_scripts.py CASE.  The scripts run
from a temporary copy of the project where a case needs a broken one, with
a temporary cache, so nothing here touches the real build.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import qrt
import qemurt  # noqa: E402  (on sys.path through qrt)

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def script(name, *args, env=None, timeout=120, cwd=None, top=TOP):
    """Run scripts/NAME (e.g. pipeline/build-qemu) of the project at top."""
    e = dict(os.environ)
    e.update(env or {})
    return qrt.run([os.path.join(top, 'scripts', name)] + list(args),
                   timeout=timeout, env=e)


def expect_error(r, status, text, what):
    lines = [l for l in r.err.splitlines() if l.strip()]
    qrt.check(r.status == status,
              f'{what}: exit status {r.status} == {status}', r.err)
    qrt.check(any(text in l for l in lines),
              f'{what}: stderr has a line with "{text}"',
              r.err + r.out)


def copy_project(tmp):
    dst = os.path.join(tmp, 'project')
    for d in ('scripts', 'patches'):
        shutil.copytree(os.path.join(TOP, d), os.path.join(dst, d))
    return dst


def fake_qemu_tree(tmp):
    """The smallest tree fetch-qemu and build-qemu accept as QEMU."""
    t = os.path.join(tmp, 'fake-qemu')
    os.makedirs(os.path.join(t, 'system'))
    os.makedirs(os.path.join(t, 'pc-bios', 'dtb'))
    with open(os.path.join(t, 'VERSION'), 'w') as f:
        f.write('10.2.2\n')
    with open(os.path.join(t, 'system', 'vl.c'), 'w') as f:
        f.write('int main(void) { return 0; }\n')
    with open(os.path.join(t, 'configure'), 'w') as f:
        f.write('#!/bin/sh\nplugins=""\n')
    with open(os.path.join(t, 'pc-bios', 'meson.build'), 'w') as f:
        f.write("if unpack_edk2_blobs\nendif\nsubdir('dtb')\n")
    return t


def case_qemu_src_missing(tmp):
    r = script('pipeline/fetch-qemu', env={'QEMU_SRC': '/nonexistent/qemu'})
    expect_error(r, 1, 'QEMU_SRC=/nonexistent/qemu does not exist',
                 'QEMU_SRC pointing at nothing')


def case_qemu_src_not_qemu(tmp):
    d = os.path.join(tmp, 'empty')
    os.mkdir(d)
    r = script('pipeline/fetch-qemu', env={'QEMU_SRC': d})
    expect_error(r, 1, 'is a directory but not a QEMU source tree',
                 'QEMU_SRC pointing at a directory that is not QEMU')


def case_checksum_mismatch(tmp):
    cache = os.path.join(tmp, 'cache')
    os.makedirs(os.path.join(cache, 'dl'))
    bad = os.path.join(cache, 'dl', 'qemu_10.2.2+ds.orig.tar.xz')
    with open(bad, 'w') as f:
        f.write('not the QEMU source\n')
    r = script('pipeline/fetch-qemu', env={'QEMU_RT_CACHE': cache,
                                           'QEMU_RT_SHARED': ''})
    expect_error(r, 1, f'checksum mismatch for {bad}',
                 'a corrupt cached tarball')


def case_missing_dependency(tmp):
    # A PATH with everything build-qemu needs except ninja.
    bindir = os.path.join(tmp, 'bin')
    os.mkdir(bindir)
    for tool in ('bash', 'dirname', 'git', 'meson', 'cc', 'make', 'python3',
                 'cat', 'cut', 'sha256sum', 'dpkg', 'env'):
        path = shutil.which(tool)
        if path:
            os.symlink(path, os.path.join(bindir, tool))
    r = script('pipeline/build-qemu', env={'PATH': bindir})
    expect_error(r, 1, "missing dependency 'ninja'; run scripts/install-deps",
                 'build without ninja')


def case_patch_fails(tmp):
    top = copy_project(tmp)
    broken = os.path.join(top, 'patches', 'broken.patch')
    with open(broken, 'w') as f:
        f.write('From 0000000000000000000000000000000000000000 Mon Sep 17 '
                '00:00:00 2001\nFrom: qemu-rt test <t@example.org>\n'
                'Date: Sun, 22 Nov 2026 00:00:00 +0000\n'
                'Subject: [PATCH] test: a patch that cannot apply\n\n'
                'Signed-off-by: qemu-rt test <t@example.org>\n---\n'
                ' system/vl.c | 2 +-\n 1 file changed, 1 insertion(+), '
                '1 deletion(-)\n\n'
                'diff --git a/system/vl.c b/system/vl.c\n'
                '--- a/system/vl.c\n+++ b/system/vl.c\n'
                '@@ -1 +1 @@\n-this line is not in the file\n'
                '+neither is this one\n--\n2.39.5\n\n')
    with open(os.path.join(top, 'patches', 'series'), 'w') as f:
        f.write('broken.patch\n')
    r = script('pipeline/build-qemu', '--variant', 'tcg', top=top,
               env={'QEMU_SRC': fake_qemu_tree(tmp),
                    'QEMU_RT_CACHE': os.path.join(tmp, 'cache')})
    expect_error(r, 1, 'patch broken.patch does not apply',
                 'a patch that fails to apply')


def case_build_lock(tmp):
    """A second build of one cache tree waits and touches nothing."""
    import fcntl
    env = dict(os.environ, QEMU_SRC=fake_qemu_tree(tmp),
               QEMU_RT_CACHE=os.path.join(tmp, 'cache'))
    r = script('pipeline/build-qemu', '--variant', 'tcg', '--print-dir',
               env=env)
    tree = os.path.dirname(r.out.strip())
    os.makedirs(os.path.dirname(tree), exist_ok=True)
    with open(tree + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = subprocess.Popen([os.path.join(TOP, 'scripts', 'pipeline',
                                           'build-qemu'), '--variant', 'tcg'],
                             env=env, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        qrt.check(p.poll() is None, 'build-qemu waits while the tree is '
                  'locked')
        qrt.check(not os.path.exists(os.path.join(tree, 'unpacked')),
                  'the waiting build has not unpacked the tree')
    err = p.communicate(timeout=120)[1]
    qrt.check(f'build-qemu: tcg: waiting for another build of {tree}' in err,
              'build-qemu says that it waits, naming the tree', err)
    qrt.check(os.path.exists(os.path.join(tree, 'unpacked')),
              'once the lock is released the build goes on', err)


def case_series_lists_missing_patch(tmp):
    top = copy_project(tmp)
    with open(os.path.join(top, 'patches', 'series'), 'a') as f:
        f.write('no-such.patch\n')
    r = script('pipeline/build-qemu', '--variant', 'tcg', top=top,
               env={'QEMU_SRC': fake_qemu_tree(tmp),
                    'QEMU_RT_CACHE': os.path.join(tmp, 'cache')})
    expect_error(r, 1, 'patches/series lists no-such.patch, which does not '
                 'exist', 'a series naming a missing patch')


def case_unsigned_patch(tmp):
    top = copy_project(tmp)
    first = [l for l in open(os.path.join(top, 'patches', 'series'))
             if l.strip() and not l.startswith('#')][0].strip()
    path = os.path.join(top, 'patches', first)
    text = open(path).read()
    with open(path, 'w') as f:
        f.write(''.join(l for l in text.splitlines(True)
                        if not l.startswith('Signed-off-by:')))
    r = script('pipeline/check-series', top=top)
    qrt.check(f'FAIL {first}: no Signed-off-by line' in r.out,
              'check-series names the unsigned patch', r.out + r.err)
    expect_error(r, 1, '1 of', 'a patch without Signed-off-by')


def case_not_root(tmp):
    if os.geteuid() != 0:
        r = script('install-deps')
    else:
        if not shutil.which('setpriv'):
            qrt.skip('setpriv (util-linux) is not installed')
        # nobody may not be able to enter the clone; it runs a copy.
        with qrt.reachable_copy([os.path.join(TOP, 'scripts',
                                              'install-deps')]) as d:
            r = qrt.run(['setpriv', f'--reuid={qrt.NOBODY}',
                         f'--regid={qrt.NOBODY}', '--clear-groups',
                         os.path.join(d, 'install-deps')], cwd=d)
    expect_error(r, 1, 'install-deps: must run as root',
                 'install-deps as an unprivileged user')


# Every test that runs something as another user, as (the file under tests/
# that switches users, the script that runs the test, its arguments);
# case_private_clone runs them from a clone that user cannot enter.
AS_OTHER_USER = [('test_scripts.py', 'test_scripts.py', ['not-root']),
                 ('rt/nonroot.py', 'rt/test_rt.py', ['nonroot']),
                 ('series/test_series.py', 'series/test_series.py',
                  ['--as-nobody', 'unit/test-thread-context'])]


def case_private_clone(tmp):
    """The tests that switch users pass from a clone under a 0700 directory,
    as in root's home, with the QEMU binary and the guests there too."""
    tests = os.path.join(TOP, 'tests')
    switching = sorted(os.path.relpath(os.path.join(d, f), tests)
                       for d, _, files in os.walk(tests) for f in files
                       if f.endswith('.py') and
                       '--reuid' in open(os.path.join(d, f)).read())
    qrt.check(switching == sorted({f for f, _, _ in AS_OTHER_USER}),
              f'AS_OTHER_USER covers every test that switches users: '
              f'{switching}')
    private = os.path.join(tmp, 'private')
    os.mkdir(private)
    os.chmod(private, 0o700)
    clone = os.path.join(private, 'qemu-rt')
    for d in ('scripts', 'tests'):
        shutil.copytree(os.path.join(TOP, d), os.path.join(clone, d),
                        ignore=shutil.ignore_patterns('__pycache__'))
    guests = os.path.join(private, 'guests')
    os.mkdir(guests)
    shutil.copy(qrt.guest_path('rt-guest'), guests)
    qemu = os.path.join(private, 'qemu-system-x86_64')
    os.symlink(os.path.realpath(qrt.qemu_binary('tcg')), qemu)
    qrt.check(not qrt.user_can_enter(clone),
              f'uid {qrt.NOBODY} cannot enter {clone}')
    env = dict(os.environ, PYTHONPATH=os.path.join(clone, 'tests'),
               QEMU_RT_QEMU=qemu, QEMU_RT_GUESTS=guests)
    ran = 0
    for _, f, args in AS_OTHER_USER:
        what = ' '.join([f] + args)
        r = qrt.run([sys.executable, os.path.join(clone, 'tests', f)] + args,
                    env=env, cwd=private, timeout=300)
        if r.status == qrt.SKIP:
            print(f'{what} skipped: {r.out.strip()}')
            continue
        qrt.check(r.status == 0, f'{what} passes from {clone}',
                  r.out + r.err)
        ran += 1
    if not ran:
        qrt.skip('every test that switches users skipped')


def case_not_debian(tmp):
    if os.getuid() != 0:
        qrt.skip('needs root to get past the root check')
    osr = os.path.join(tmp, 'os-release')
    with open(osr, 'w') as f:
        f.write('ID=fedora\nVERSION_CODENAME=\nPRETTY_NAME="Fedora 40"\n')
    r = script('install-deps', env={'QEMU_RT_OS_RELEASE': osr})
    expect_error(r, 1, "supports Debian 12 (bookworm) only, found "
                 "'Fedora 40'", 'install-deps on a non-Debian system')


def case_no_kvm(tmp):
    e = dict(os.environ, QEMU_RT_KVM_DEV='/dev/nonexistent-kvm')
    r = qrt.run([sys.executable, os.path.join(TOP, 'tests', 'test_boot.py'),
                 'kvm'], env=e)
    qrt.check(r.status == qrt.SKIP,
              f'KVM test without /dev/kvm is skipped (status {r.status})',
              r.out + r.err)
    qrt.check('SKIP: KVM test skipped: /dev/nonexistent-kvm cannot be '
              'opened (No such file or directory)' in r.out,
              'the skip prints its reason', r.out)


def case_bad_arguments(tmp):
    for name in ('pipeline/fetch-qemu', 'pipeline/build-qemu',
                 'pipeline/check-series', 'test', 'install-deps',
                 'pipeline/export-series', 'pipeline/dev-tree',
                 'pipeline/link-rt-stub', 'pipeline/check-windows',
                 'bench/fuzz-pio-batch'):
        r = script(name, '--help')
        qrt.check(r.status == 0 and 'usage:' in r.out,
                  f'{name} --help prints usage', r.err)
    for args, text, what in [
            (['pipeline/build-qemu', '--variant', 'arm'],
             "unknown variant 'arm'; use tcg, tci or all",
             'build-qemu with an unknown variant'),
            (['pipeline/link-rt-stub'],
             'give one QEMU build directory (see --help)',
             'link-rt-stub without a build directory'),
            (['pipeline/link-rt-stub', '/nonexistent'],
             '/nonexistent/qemu-system-x86_64 does not exist; build QEMU '
             'first (scripts/pipeline/build-qemu)',
             'link-rt-stub with no build'),
            (['bench/fuzz-pio-batch', '--machine', 'isapc'],
             "unknown machine 'isapc'; use pc or q35",
             'fuzz-pio-batch with an unknown machine'),
            (['bench/fuzz-pio-batch', '--runs', '0'],
             '--runs needs a positive whole number',
             'fuzz-pio-batch with zero runs'),
            (['bench/fuzz-pio-batch', '--patch', '/nonexistent.patch'],
             '--patch /nonexistent.patch: no such file',
             'fuzz-pio-batch with a missing patch')]:
        expect_error(script(*args), 1, text, what)
    r = script('pipeline/check-windows', '--target', 'win32')
    want = ("check-windows: unknown argument '--target'; check-windows takes "
            'none (see --help)')
    qrt.check(r.status == 1 and r.err.splitlines() == [want],
              f'check-windows with an argument exits 1 with "{want}" alone '
              f'(status {r.status})', r.err + r.out)


def case_qmp_tool(tmp):
    """scripts/rtcheck/qmp against a paused QEMU, and its bad input."""
    sock = os.path.join(tmp, 'qmp.sock')
    r = script('rtcheck/qmp', os.path.join(tmp, 'nosock'), 'query-status',
               '--wait', '0.2')
    expect_error(r, 1, f'qmp: cannot connect to QMP socket {tmp}/nosock '
                 '(No such file or directory); is QEMU running with '
                 '-qmp unix:PATH,server=on?', 'qmp without QEMU')
    # Over TCP (check-windows' QEMU under Wine) the hint names -qmp tcp:.
    with socket.socket() as free:
        free.bind(('127.0.0.1', 0))
        port = free.getsockname()[1]
    try:
        qemurt.QMPClient(('127.0.0.1', port), timeout=0.2)
        qrt.fail(f'QMPClient connected to 127.0.0.1:{port}, where nothing '
                 'listens')
    except qemurt.QMPError as e:
        want = (f'cannot connect to QMP socket 127.0.0.1:{port} (Connection '
                'refused); is QEMU running with -qmp '
                f'tcp:127.0.0.1:{port},server=on?')
        qrt.check(str(e) == want, f'QMPClient over TCP without QEMU: '
                  f'"{e}" == "{want}"')
    # scripts/rtcheck/qmp needs the socket to itself: QEMU serves one client.
    qemu = subprocess.Popen([qrt.qemu_binary('tcg')] + qrt.base_args('tcg') +
                            ['-S', '-qmp', f'unix:{sock},server=on,wait=off'],
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        r = script('rtcheck/qmp', sock, 'query-status')
        qrt.check(r.status == 0 and json.loads(r.out) ==
                  {'status': 'prelaunch', 'running': False},
                  f'qmp query-status prints the return value: {r.out!r}',
                  r.err)
        r = script('rtcheck/qmp', sock, 'bogus-command')
        expect_error(r, 1, 'qmp: bogus-command: The command bogus-command '
                     'has not been found', 'qmp with an unknown command')
        r = script('rtcheck/qmp', sock, 'query-status', '{')
        expect_error(r, 1, 'qmp: arguments are not JSON', 'qmp bad JSON')
        r = script('rtcheck/qmp', sock, 'query-status', '[1]')
        expect_error(r, 1, 'qmp: arguments must be a JSON object',
                     'qmp with a JSON list')
        r = script('rtcheck/qmp', sock, 'qom-get',
                   '{"path": "/machine", "property": "type"}')
        qrt.check(r.status == 0 and
                  json.loads(r.out) == 'pc-i440fx-10.2-machine',
                  f'qmp passes arguments: qom-get type = {r.out.strip()}',
                  r.err)
        r = script('rtcheck/qmp', sock, 'quit')
        qrt.check(r.status == 0 and qemu.wait(30) == 0,
                  'qmp quit: QEMU exits 0', r.err)
    finally:
        if qemu.poll() is None:
            qemu.kill()
        qemu.wait()


def case_perf_sched_summary(tmp):
    """Per-thread medians from perf sched timehist lines, exact."""
    lines = ''.join(
        f'  {100 + i}.000100 [000{cpu}]  {comm}[{tid}{pid}]  '
        f'1.000  {delay:.3f}  {run:.3f}\n'
        for i, (cpu, comm, tid, pid, delay, run) in enumerate([
            (0, 'qemu-system-x86', 500, '', 0.010, 0.030),
            (0, 'qemu-system-x86', 500, '', 0.020, 0.040),
            (0, 'qemu-system-x86', 500, '', 0.090, 0.050),
            (1, 'CPU 0/TCG', 501, '/500', 0.040, 0.060),
            (1, 'CPU 0/TCG', 501, '/500', 2.000, 0.070),
            (1, 'stress-ng-cpu', 600, '', 4.000, 1.000)]))
    lines += 'Samples do not have callchains.\n'
    r = qrt.run([os.path.join(TOP, 'scripts', 'bench', 'perf-sched-summary'),
                 '--pid', '500'], env=None, timeout=30, input=lines)
    rows = [l.split() for l in r.out.splitlines()[1:]]
    qrt.check(r.status == 0 and rows == [
        ['qemu-system-x86/500', '0', '3', '20', '90', '90', '40', '50'],
        ['CPU', '0/TCG/501', '1', '2', '1020', '2000', '2000', '65', '70']],
        f'summary of pid 500: {rows}', r.err + r.out)
    r = qrt.run([os.path.join(TOP, 'scripts', 'bench', 'perf-sched-summary')],
                timeout=30, input='nothing\n')
    expect_error(r, 1, 'perf-sched-summary: no "perf sched timehist" lines '
                 'on stdin', 'perf-sched-summary without perf lines')




def case_qmp_library_missing(tmp):
    """Without qemu.qmp installed and no unpacked QEMU tree next to the
    binaries, scripts/qemurt.py says how to get one."""
    d = os.path.join(tmp, 'project', 'scripts')
    os.makedirs(d)
    shutil.copy(os.path.join(TOP, 'scripts', 'qemurt.py'), d)
    env = {k: v for k, v in os.environ.items()
           if k not in ('QEMU_RT_QEMU', 'PYTHONPATH')}
    env['QEMU_RT_QEMU'] = os.path.join(tmp, 'nothing', 'qemu-system-x86_64')
    code = ('import sys; sys.path.insert(0, sys.argv[1]); import qemurt; '
            'qemurt.QMPClient("/nonexistent.sock")')
    r = qrt.run([sys.executable, '-c', code, d], timeout=30, env=env)
    expect_error(r, 1, 'qemu-rt: no QMP library: run '
                 "scripts/pipeline/build-qemu (it unpacks QEMU's "
                 'python/qemu/qmp) or install the qemu.qmp package',
                 'QMP client without a QMP library')

def case_thread_snapshot(tmp):
    """scripts/qemurt.py's thread snapshot of a process whose scheduling is
    known: SCHED_FIFO 3 with reset-on-fork, pinned to CPU 0."""
    if os.geteuid() != 0:
        qrt.skip('needs root for SCHED_FIFO')
    p = subprocess.Popen(['taskset', '-c', '0', 'chrt', '--reset-on-fork',
                          '--fifo', '3', 'sleep', '30'])
    try:
        deadline = time.time() + 10
        while (open(f'/proc/{p.pid}/comm').read().strip() != 'sleep' and
               time.time() < deadline):
            time.sleep(0.01)
        snap = qemurt.thread_snapshot(p.pid)
    finally:
        p.kill()
        p.wait()
    want = [{'tid': p.pid, 'comm': 'sleep', 'policy': 'fifo',
             'rt_priority': 3, 'reset_on_fork': True, 'affinity': [0],
             'processor': 0}]
    qrt.check(snap == want, f'thread snapshot {snap} == {want}')
    qrt.check(qemurt.thread_snapshot(p.pid) is None,
              'thread snapshot of an exited process is None')


def case_configure_line(tmp):
    """scripts/lib.sh's configure_qemu, the one configure line of
    build-qemu, dev-tree, check-series and fuzz-pio-batch: exactly these
    arguments, and configure's failure passed on."""
    d = os.path.join(tmp, 'tree')
    os.makedirs(os.path.join(d, 'src'))
    conf = os.path.join(d, 'src', 'configure')
    with open(conf, 'w') as f:
        f.write('#!/bin/sh\nprintf "%s\\n" "$@"\n[ -z "$FAIL" ]\n')
    os.chmod(conf, 0o755)
    fake = os.path.join(tmp, 'bin')
    os.mkdir(fake)
    with open(os.path.join(fake, 'ccache'), 'w') as f:
        f.write('#!/bin/sh\nexec "$@"\n')
    os.chmod(os.path.join(fake, 'ccache'), 0o755)
    lib = os.path.join(TOP, 'scripts', 'lib.sh')
    env = dict(os.environ, PATH=fake + ':' + os.environ['PATH'])
    sh = (f'. {lib}; configure_qemu {d} "qemu-rt test" "$(qemu_flags tci)"; '
          f'echo "status=$?"; printf "%s\\n" $QEMU_CONFIGURE_FLAGS '
          f'$QEMU_TCI_FLAGS')
    r = qrt.run(['bash', '-c', sh], timeout=30, env=env)
    flags = r.out.split('\n', 1)[1].split()
    with open(os.path.join(d, 'build', 'configure.log')) as f:
        got = f.read().split('\n')[:-1]
    want = ['--python=/usr/bin/python3', '--cc=ccache cc',
            '--cxx=ccache c++'] + flags + ['--with-pkgversion=qemu-rt test']
    qrt.check(r.out.startswith('status=0\n') and got == want and
              '--enable-tcg-interpreter' in flags,
              f'configure_qemu ran configure with {got}, want {want}',
              r.err + r.out)
    env['FAIL'] = '1'
    r = qrt.run(['bash', '-c', sh], timeout=30, env=env)
    qrt.check(r.out.startswith('status=1\n'),
              f'a failing configure: {r.out.splitlines()[:1]}', r.err)
    del env['FAIL']
    # fuzz-pio-batch's coverage build: clang, its own build directory, C
    # flags with spaces kept as one argument.
    sh = (f'. {lib}; configure_qemu --build coverage --cc clang '
          f'--cxx clang++ {d} "qemu-rt fuzzing" "$(qemu_flags fuzz-coverage)" '
          f'--extra-cflags="$QEMU_FUZZ_COVERAGE_CFLAGS"; echo "status=$?"; '
          f'printf "%s\n" $QEMU_CONFIGURE_FLAGS $QEMU_FUZZ_COVERAGE_FLAGS; '
          f'echo "$QEMU_FUZZ_COVERAGE_CFLAGS"')
    r = qrt.run(['bash', '-c', sh], timeout=30, env=env)
    out = r.out.split('\n')[1:-1]
    flags, cflags = out[:-1], out[-1]
    with open(os.path.join(d, 'coverage', 'configure.log')) as f:
        got = f.read().split('\n')[:-1]
    want = (['--python=/usr/bin/python3', '--cc=ccache clang',
             '--cxx=ccache clang++'] + flags +
            [f'--extra-cflags={cflags}', '--with-pkgversion=qemu-rt fuzzing'])
    qrt.check(r.out.startswith('status=0\n') and got == want and
              '--enable-fuzzing' in flags and ' ' in cflags,
              f'configure_qemu --build coverage ran configure with {got}, '
              f'want {want}', r.err + r.out)
    r = qrt.run(['bash', '-c', f'QRT_PROG=test; . {lib}; qemu_flags arm'],
                timeout=30, env=env)
    expect_error(r, 1, "test: qemu_flags: unknown variant 'arm'; use tcg, "
                 'tci, fuzz or fuzz-coverage', 'qemu_flags of an unknown '
                 'variant')

def main():
    case = sys.argv[1]
    fn = globals().get('case_' + case.replace('-', '_'))
    if not fn:
        qrt.fail(f'unknown case {case}')
    with tempfile.TemporaryDirectory(prefix='qemu-rt-scripts-') as tmp:
        os.chmod(tmp, 0o755)
        fn(tmp)


if __name__ == '__main__':
    main()
