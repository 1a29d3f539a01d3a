"""A test server that is a Python script in its own process, run by
Debian's python3 (which sees aiosmtpd): it prints "READY <port>" on stdout
once it listens, and is stopped by PID. The common part of
smtp_servers.ServerProcess and pop3_servers.FakePop3.
"""

import os
import select
import signal
import subprocess
import time
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"


def terminate(proc, timeout):
    """SIGTERM, then SIGKILL if proc has not exited within timeout seconds."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


class ChildServer:
    """Subclasses call _start(); the test calls stop() or uses a with block."""

    what = "server"  # names it in the error when it does not start

    def _start(self, script, args, stderr_path, timeout=10):
        self.stderr_path = Path(stderr_path)
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([SYSTEM_PYTHON, str(script), *map(str, args)],
                                         stdout=subprocess.PIPE, stderr=err)
        self.port = self._wait_ready(timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 100)
                if not chunk:
                    break
                line += chunk
        if not line.startswith(b"READY "):
            self.stop()
            raise RuntimeError(f"{self.what} did not start: " + self.stderr_path.read_text())
        return int(line.split()[1])

    def stop(self):
        terminate(self.proc, 5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
