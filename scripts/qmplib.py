# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal synchronous QMP client over a Unix socket.

One client for scripts/qmp, scripts/bench-latency and the tests
(tests/qrt.py): connect, skip events (QEMU can send RESUME before its
greeting), negotiate capabilities, run commands.  Events are kept in
.events for whoever wants them.
"""

import json
import socket
import time


class QMPError(RuntimeError):
    """The connection failed, or a command returned an error."""

    def __init__(self, msg, error=None):
        super().__init__(msg)
        self.error = error      # QMP's {"class": ..., "desc": ...}


class QMPClient:
    def __init__(self, path, timeout=30, alive=None):
        """Connect to QEMU's socket at @path, retrying for @timeout
        seconds while it comes up; @alive, if given, is called between
        tries and ends the wait when it returns False (QEMU exited)."""
        deadline = time.time() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX)
            try:
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if alive is not None and not alive():
                    raise QMPError('QEMU exited before opening its QMP '
                                   f'socket {path}') from None
                if time.time() > deadline:
                    raise QMPError(f'cannot connect to QMP socket {path} '
                                   f'({e.strerror}); is QEMU running with '
                                   '-qmp unix:PATH,server=on?') from None
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile('rw')
        self.events = []
        while True:
            greeting = self._read('the greeting')
            if 'event' in greeting:
                self.events.append(greeting)
                continue
            if 'QMP' not in greeting:
                raise QMPError(f'bad QMP greeting {greeting}')
            break
        self.cmd('qmp_capabilities')

    def _read(self, what):
        line = self.file.readline()
        if not line:
            raise QMPError(f'QMP connection closed before {what}')
        return json.loads(line)

    def raw(self, name, **args):
        """Run @name; return the whole response, error or not."""
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        self.file.write(json.dumps(msg) + '\n')
        self.file.flush()
        while True:
            resp = self._read(f'the reply to {name}')
            if 'event' in resp:
                self.events.append(resp)
                continue
            return resp

    def cmd(self, name, **args):
        """Run @name; return its "return" value, raise QMPError on error."""
        resp = self.raw(name, **args)
        if 'error' in resp:
            raise QMPError(f'{name}: {resp["error"]["desc"]}', resp['error'])
        return resp['return']

    def close(self):
        self.sock.close()
