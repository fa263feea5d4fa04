# SPDX-License-Identifier: GPL-2.0-or-later
"""What qemu-rt's Python scripts and tests share: the cache directory,
scheduling policy names, CPU lists, a process's threads and their
scheduling as the kernel reports them, and a QMP client.

The QMP client is QEMU's own (python/qemu/qmp): the packaged qemu.qmp if it
is installed, else the copy in the QEMU source tree that
scripts/pipeline/build-qemu unpacks, found from $QEMU_RT_QEMU or the
build/qemu-system-x86_64 link.
"""

import os
import socket
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
CACHE = os.environ.get('QEMU_RT_CACHE') or os.path.join(
    os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'),
    'qemu-rt')

# os.sched_getscheduler() values, named as chrt and query-rt name them.
POLICY_NAMES = {os.SCHED_OTHER: 'other', os.SCHED_FIFO: 'fifo',
                os.SCHED_RR: 'rr', os.SCHED_BATCH: 'batch',
                os.SCHED_IDLE: 'idle', 6: 'deadline'}
SCHED_RESET_ON_FORK = 0x40000000


def cpu_list(text):
    """'0-2,4' -> [0, 1, 2, 4]; ValueError if it is not a CPU list."""
    cpus = set()
    for part in text.split(','):
        lo, _, hi = part.partition('-')
        if not lo.isdigit() or not (hi or lo).isdigit() or int(hi or lo) < \
                int(lo):
            raise ValueError(f'"{text}" is not a CPU list such as 0 or '
                             '0-2,4')
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return sorted(cpus)


def thread_sched(tid):
    """The scheduling of thread @tid: (policy name, rt priority,
    reset-on-fork), or None if it is gone."""
    try:
        policy = os.sched_getscheduler(tid)
        prio = os.sched_getparam(tid).sched_priority
    except OSError:
        return None
    base = policy & ~SCHED_RESET_ON_FORK
    return (POLICY_NAMES.get(base, str(base)), prio,
            bool(policy & SCHED_RESET_ON_FORK))


def thread_snapshot(pid):
    """Every thread of process @pid as the kernel reports it, by tid: dicts
    of tid, comm, policy (named as in POLICY_NAMES), rt_priority,
    reset_on_fork, affinity (sorted CPUs) and processor (the CPU it last
    ran on).  Threads that exit meanwhile are left out; None if the process
    is gone."""
    task = f'/proc/{pid}/task'
    try:
        tids = sorted(int(t) for t in os.listdir(task))
    except OSError:
        return None
    threads = []
    for tid in tids:
        try:
            affinity = sorted(os.sched_getaffinity(tid))
            with open(f'{task}/{tid}/comm') as f:
                comm = f.read().strip()
            # No system call tells the CPU a thread last ran on: field 39
            # of stat, counted from the ")" that ends comm (field 3).
            with open(f'{task}/{tid}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        sched = thread_sched(tid)
        if sched is None:
            continue
        threads.append({'tid': tid, 'comm': comm, 'policy': sched[0],
                        'rt_priority': sched[1], 'reset_on_fork': sched[2],
                        'affinity': affinity,
                        'processor': int(stat[stat.rindex(')') + 2:]
                                         .split()[39 - 3])})
    return threads


def _qemu_python_dirs():
    """python/ of the QEMU source trees next to the builds in use."""
    binaries = [os.environ.get('QEMU_RT_QEMU'),
                os.path.join(TOP, 'build', 'qemu-system-x86_64')]
    for binary in binaries:
        if binary and os.path.exists(binary):
            build = os.path.dirname(os.path.realpath(binary))
            yield os.path.join(os.path.dirname(build), 'src', 'python')


def _import_qmp():
    try:
        from qemu.qmp import legacy
        return legacy
    except ImportError:
        pass
    for d in _qemu_python_dirs():
        if os.path.isdir(os.path.join(d, 'qemu', 'qmp')):
            sys.path.insert(0, d)
            from qemu.qmp import legacy
            return legacy
    sys.exit('qemu-rt: no QMP library: run scripts/pipeline/build-qemu (it '
             'unpacks QEMU\'s python/qemu/qmp) or install the qemu.qmp '
             'package')


class QMPError(RuntimeError):
    """The connection failed, or a command returned an error."""

    def __init__(self, msg, error=None):
        super().__init__(msg)
        self.error = error      # QMP's {"class": ..., "desc": ...}


class QMPClient:
    """A synchronous client on QEMU's qemu.qmp: connect to the Unix socket
    at @path (or to a (host, port) tuple over TCP, for a QEMU under Wine,
    which has no Unix sockets), retrying for @timeout seconds while QEMU
    comes up (@alive, if given, ends the wait when it returns False),
    negotiate, run commands.
    """

    def __init__(self, path, timeout=30, alive=None):
        legacy = _import_qmp()
        self._errors = (legacy.QMPError, OSError, EOFError)
        deadline = time.time() + timeout
        tcp = isinstance(path, tuple)
        if tcp:
            where = f'{path[0]}:{path[1]}'
            option = f'-qmp tcp:{where},server=on'
        else:
            where, option = path, '-qmp unix:PATH,server=on'
        while True:
            # Connect the socket here: qemu.qmp's connect() does not retry.
            sock = socket.socket(socket.AF_INET if tcp else socket.AF_UNIX)
            try:
                sock.connect(path)
                break
            except OSError as e:
                sock.close()
                if alive is not None and not alive():
                    raise QMPError('QEMU exited before opening its QMP '
                                   f'socket {where}') from None
                if time.time() > deadline:
                    raise QMPError(f'cannot connect to QMP socket {where} '
                                   f'({e.strerror}); is QEMU running with '
                                   f'{option}?') from None
                time.sleep(0.05)
        self._qmp = legacy.QEMUMonitorProtocol(sock)
        self._qmp.settimeout(timeout)
        try:
            self._qmp.connect()
        except self._errors as e:
            self._qmp.close()
            raise QMPError(f'QMP negotiation on {where} failed: {e}') \
                from None

    def raw(self, name, **args):
        """Run @name; return the whole response, error or not."""
        try:
            return self._qmp.cmd_raw(name, args)
        except self._errors as e:
            raise QMPError(f'QMP {name}: {e or type(e).__name__}') from None

    def cmd(self, name, **args):
        """Run @name; return its "return" value, raise QMPError on error."""
        resp = self.raw(name, **args)
        if 'error' in resp:
            raise QMPError(f'{name}: {resp["error"]["desc"]}', resp['error'])
        return resp['return']

    def close(self):
        try:
            self._qmp.close()
        except self._errors:
            pass                # QEMU is gone already
