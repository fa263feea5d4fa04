# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for qemu-rt's tests: find the patched QEMU binaries and the
test guests, start QEMU with a time limit, talk QMP, skip with a reason.

Tests are run by meson (scripts/test); they get their paths from the
environment that tests/meson.build sets:
  QEMU_RT_QEMU       native TCG + KVM build of qemu-system-x86_64
  QEMU_RT_QEMU_TCI   TCI build of qemu-system-x86_64
  QEMU_RT_GUESTS     directory holding the test guests (NAME.elf)
A test exits 0 on success, 77 when skipped (with the reason printed), any
other status on failure after printing what it expected and what it got,
QEMU's stderr included.
"""

import contextlib
import fcntl
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__))), 'scripts'))
import qemurt  # noqa: E402  (scripts/qemurt.py, shared with the scripts)

SKIP = 77
NOBODY = 65534
FIRMWARE_DIRS = ['/usr/share/seabios', '/usr/share/qemu']
VERSION_TAG = 'qemu-rt series'
# Under KVM the test guests boot through qboot (qemu-system-data), not
# SeaBIOS: SeaBIOS's port I/O takes ~4 s per boot under a software KVM
# backend, qboot's 0.2 s (measured on this project's CI machine).  qboot
# enables no PCI I/O BAR: boot-kvm and pio-batch-sweep-kvm, which sweeps
# the ports firmware enables, boot SeaBIOS, QEMU's default.
KVM_BIOS = 'qboot.rom'

# isa-debug-exit turns the guest's code into QEMU's exit status.
GUEST_PASS_STATUS = (0 << 1) | 1
GUEST_FAIL_STATUS = (1 << 1) | 1


class TestFailure(Exception):
    pass


def skip(reason):
    print('SKIP: ' + reason)
    sys.exit(SKIP)


def fail(msg, stderr=None):
    print('FAIL: ' + msg)
    if stderr:
        print('--- QEMU stderr ---')
        print(stderr.rstrip())
        print('-------------------')
    sys.exit(1)


def check(cond, msg, stderr=None):
    if not cond:
        fail(msg, stderr)
    print('ok: ' + msg)


def qemu_binary(accel):
    var = 'QEMU_RT_QEMU_TCI' if accel == 'tci' else 'QEMU_RT_QEMU'
    path = os.environ.get(var, '')
    if not path or not os.access(path, os.X_OK):
        fail(f'{var}={path!r} is not an executable QEMU; run scripts/test, '
             'which builds it')
    return path


def guest_path(name):
    path = os.path.join(os.environ.get('QEMU_RT_GUESTS', ''), name + '.elf')
    if not os.path.exists(path):
        fail(f'test guest {path} is missing; run scripts/test')
    return path


KVM_CREATE_VM = 0xae01


def kvm_unusable_reason():
    """None when KVM can create a VM here, else why not."""
    dev = os.environ.get('QEMU_RT_KVM_DEV', '/dev/kvm')
    try:
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f'{dev} cannot be opened ({e.strerror})'
    try:
        vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        os.close(vm)
    except OSError as e:
        return f'KVM_CREATE_VM failed ({e.strerror})'
    finally:
        os.close(fd)
    return None


def require_kvm():
    reason = kvm_unusable_reason()
    if reason:
        skip('KVM test skipped: ' + reason)


def accel_args(accel):
    if accel == 'kvm':
        return ['-accel', 'kvm']
    return ['-accel', 'tcg']


def firmware_args():
    args = []
    for d in FIRMWARE_DIRS:
        args += ['-L', d]
    return args


def base_args(accel, machine='pc', seabios=False):
    """QEMU's arguments for a test guest; seabios=True keeps SeaBIOS
    under KVM too (see KVM_BIOS)."""
    args = firmware_args()
    args += ['-M', machine, '-nodefaults', '-display', 'none',
             '-no-user-config', '-m', '128M']
    args += accel_args(accel)
    if accel == 'kvm' and not seabios:
        args += ['-bios', KVM_BIOS]
    args += ['-device', 'isa-debug-exit,iobase=0xf4,iosize=4']
    return args


def guest_args(guest, append=None):
    args = ['-kernel', guest_path(guest), '-debugcon', 'stdio']
    if append:
        args += ['-append', append]
    return args


class Result:
    def __init__(self, cmd, status, out, err):
        self.cmd, self.status, self.out, self.err = cmd, status, out, err

    def __repr__(self):
        return f'<exit {self.status}>'


def run(args, timeout=120, env=None, input=None, cwd=None):
    """Run a command (with @input on stdin, else none); a time-out is a
    failure that shows what was printed."""
    try:
        p = subprocess.run(args, input=input,
                           stdin=None if input is not None else
                           subprocess.DEVNULL,
                           capture_output=True, text=True,
                           errors='replace', timeout=timeout, env=env,
                           cwd=cwd)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode(errors='replace')
        err = (e.stderr or b'').decode(errors='replace')
        fail(f'timed out after {timeout}s: {" ".join(args)}\n'
             f'--- stdout ---\n{out}', err)
    return Result(args, p.returncode, p.stdout, p.stderr)


def user_can_enter(path, uid=NOBODY, gid=NOBODY):
    """Whether @uid, with @gid as its only group, can search every
    directory from / down to @path (ACLs aside)."""
    if uid == 0:
        return True
    p = os.path.realpath(path)
    while True:
        st = os.stat(p)
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
        if p == '/':
            return True
        p = os.path.dirname(p)


@contextlib.contextmanager
def reachable_copy(paths, uid=NOBODY, gid=NOBODY):
    """A fresh directory holding copies of @paths (files or trees, under
    their base names), owned by @uid and closed to everyone else, in a
    temporary directory @uid can enter; removed afterwards.

    A test that runs something as another user runs it from here: the
    clone, the QEMU cache and the guests may be under a directory that
    user cannot enter (root's home is 0700)."""
    bases = [tempfile.gettempdir(), '/tmp']
    base = next((b for b in bases if user_can_enter(b, uid, gid)), None)
    if base is None:
        fail(f'uid {uid} can enter none of {bases}; set TMPDIR to a '
             'directory it can enter')
    d = tempfile.mkdtemp(prefix=f'qemu-rt-uid{uid}-', dir=base)
    try:
        for src in paths:
            dst = os.path.join(d, os.path.basename(src))
            if os.path.isdir(src):
                shutil.copytree(src, dst)
            else:
                shutil.copy2(src, dst)
        os.chown(d, uid, gid)
        for top, dirs, files in os.walk(d):
            for n in dirs + files:
                os.chown(os.path.join(top, n), uid, gid, follow_symlinks=False)
        yield d
    finally:
        shutil.rmtree(d)


def run_qemu(extra, accel='tcg', timeout=120, env=None):
    return run([qemu_binary(accel)] + extra, timeout=timeout, env=env)


def run_guest(guest, accel='tcg', machine='pc', extra=(), append=None,
              timeout=120, seabios=False):
    args = base_args(accel, machine, seabios) + guest_args(guest, append) + \
        list(extra)
    return run_qemu(args, accel=accel, timeout=timeout)


def expect_guest_pass(r, what):
    check(r.status == GUEST_PASS_STATUS,
          f'{what}: QEMU exit status {r.status} == {GUEST_PASS_STATUS} '
          '(guest passed)', r.err + '\n--- guest output ---\n' + r.out)


def guest_result(r, what):
    """The key=value pairs of the guest's "RESULT ..." line, numbers as int."""
    m = re.search(r'^RESULT (.*)$', r.out, re.M)
    check(m is not None, f'{what}: the guest printed its RESULT line',
          r.err + '\n--- guest output ---\n' + r.out)
    res = {}
    for kv in m.group(1).split():
        k, _, v = kv.partition('=')
        res[k] = int(v) if v.isdigit() else v
    print(f'{what}: {m.group(0)}')
    return res


def check_patched(accel):
    r = run_qemu(['--version'], accel=accel, timeout=30)
    first = r.out.splitlines()[0] if r.out else ''
    check(VERSION_TAG in first,
          f'{accel} binary is the patched one: "{first}"', r.err)


class QMP(qemurt.QMPClient):
    """scripts/qemurt.py's client; its errors are test failures."""

    def __init__(self, path, timeout=30):
        try:
            super().__init__(path, timeout)
        except qemurt.QMPError as e:
            raise TestFailure(str(e)) from None

    def raw(self, name, **args):
        try:
            return super().raw(name, **args)
        except qemurt.QMPError as e:
            raise TestFailure(str(e)) from None

    def cmd(self, name, **args):
        resp = self.raw(name, **args)
        if 'error' in resp:
            raise TestFailure(f'QMP {name} failed: {resp["error"]}')
        return resp['return']


class QemuProcess:
    """QEMU running in the background with a QMP socket."""

    def __init__(self, args, accel='tcg'):
        self.tmp = tempfile.TemporaryDirectory(prefix='qemu-rt-test-')
        self.qmp_path = os.path.join(self.tmp.name, 'qmp.sock')
        self.err_path = os.path.join(self.tmp.name, 'stderr')
        self.out_path = os.path.join(self.tmp.name, 'stdout')
        cmd = [qemu_binary(accel)] + args + \
            ['-qmp', f'unix:{self.qmp_path},server=on,wait=off']
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=open(self.out_path, 'w'),
                                     stderr=open(self.err_path, 'w'))
        try:
            self.qmp = QMP(self.qmp_path)
        except (TestFailure, OSError) as e:
            self.proc.kill()
            self.proc.wait()
            fail(f'QEMU did not start: {e}', self.stderr())

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def stdout(self):
        with open(self.out_path) as f:
            return f.read()

    def quit(self, timeout=30):
        try:
            self.qmp.cmd('quit')
        except (TestFailure, OSError):
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.qmp.close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
