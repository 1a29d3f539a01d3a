"""Fixtures for integration tests: start the real mailqd with a generated
config in a temporary directory, wait for systemd's READY=1 on a
notification socket the fixture owns, talk to it, and stop it by PID.

Reused by every integration test file:
    daemon(sections=None, listen=False, start=True, env=None) -> Daemon
    pki -> pki.TestPki (the test CA, once per module)
    dovecot -> pop3_servers.Dovecot (started, with the test CA)
    free_port() -> int
    control_request(socket_path, obj) -> dict
    spool_drop(spool, name, text) -> Path
    wait_until(predicate, timeout=10, what="...")
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from pki import make_test_pki
from pop3_servers import Dovecot

SOURCE_DIR = Path(os.environ.get("MAILQD_SOURCE_DIR", Path(__file__).resolve().parents[2]))
MAILQD_BIN = os.environ.get("MAILQD_BIN", str(SOURCE_DIR / "build" / "daemon" / "mailqd"))
MAILQCTL_BIN = os.environ.get("MAILQCTL_BIN", str(SOURCE_DIR / "build" / "cli" / "mailqctl"))

READY_TIMEOUT = 10.0
# Set by the test registration of a -DMAILQD_SANITIZE=ON build (ASan+UBSan).
SANITIZED = os.environ.get("MAILQD_SANITIZE") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "sections(dict): config sections for a test's daemon fixture")


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def control_request(path, obj, timeout=10.0):
    """One JSON request line over the control socket; the parsed reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(json.dumps(obj).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def spool_drop(spool, name, text, mtime=None):
    """Writes a message the way a client must: tmp/NAME, then rename into
    incoming/NAME."""
    spool = Path(spool)
    tmp = spool / "tmp" / name
    data = text.encode() if isinstance(text, str) else text
    tmp.write_bytes(data)
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    target = spool / "incoming" / name
    os.rename(tmp, target)
    return target


def render_config(sections):
    lines = []
    for section, keys in sections.items():
        lines.append(f"[{section}]")
        for key, value in keys.items():
            lines.append(f"{key} = {value}")
        lines.append("")
    return "\n".join(lines)


class Daemon:
    """A mailqd process with its own config, database, spool and sockets."""

    def __init__(self, root, sections=None, listen=False, env=None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to 108 bytes; pytest's tmp_path can
        # be longer, so sockets live in a short directory of their own.
        self.sockdir = Path(tempfile.mkdtemp(prefix="mq", dir="/tmp"))
        self.submit_socket = self.sockdir / "submit.sock"
        self.control_socket = self.sockdir / "control.sock"
        self.notify_path = self.sockdir / "notify.sock"
        self.spool = self.root / "spool"
        self.database = self.root / "lib" / "queue.db"
        self.config_path = self.root / "mailqd.conf"
        self.log = self.root / "mailqd.log"
        self.port = free_port() if listen else None
        self.env = dict(env or {})
        self.proc = None
        self.notifications = []
        # The default relay listens and never answers (the kernel completes
        # the handshake, nobody greets): a delivery attempt hangs for the
        # relay's timeout, so queued mail stays "queued" while a test looks
        # at it. Tests of delivery configure relays of their own.
        self.silent_relay = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.silent_relay.bind(("127.0.0.1", 0))
        self.silent_relay.listen(64)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.write_config(sections)

    # ---- config ----
    def base_sections(self):
        return {
            "queue": {"database": self.database, "spool": self.spool, "hostname": "mailqd.test"},
            "submit": {
                "socket": self.submit_socket,
                "socket_group": "",
                "listen": f"127.0.0.1:{self.port}" if self.port else "",
            },
            "control": {"socket": self.control_socket, "socket_group": ""},
            "log": {"level": "debug"},
            "relay.default": {"host": "127.0.0.1", "port": self.silent_relay.getsockname()[1],
                              "tls": "none", "auth": "none", "timeout": "5m"},
        }

    def write_config(self, sections=None):
        """Base config with sections merged in ({"queue": {"keep_done": "1h"}};
        a value of None removes a key)."""
        merged = self.base_sections()
        for section, keys in (sections or {}).items():
            target = merged.setdefault(section, {})
            for key, value in keys.items():
                if value is None:
                    target.pop(key, None)
                else:
                    target[key] = value
        self.config_path.write_text(render_config(merged))

    # ---- process ----
    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.drain_notifications()
        self.notifications = []  # READY=1 must come from this process
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        env.pop("MAILQD_CONFIG", None)
        env.update({"NOTIFY_SOCKET": str(self.notify_path)}, **self.env)
        self.log_file = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [MAILQD_BIN, "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=self.log_file,
            env=env, cwd=self.root)
        if wait:
            self.wait_notification("READY=1")
        return self

    def wait_notification(self, word, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while not any(word in n.split("\n") for n in self.notifications):
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"mailqd exited with {self.proc.returncode} before {word}:\n{self.log_text()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {word} within {timeout}s:\n{self.log_text()}")
            self.notify.settimeout(min(left, 0.2))
            try:
                self.notifications.append(self.notify.recv(4096).decode())
            except socket.timeout:
                pass

    def drain_notifications(self):
        self.notify.setblocking(False)
        try:
            while True:
                self.notifications.append(self.notify.recv(4096).decode())
        except BlockingIOError:
            pass
        finally:
            self.notify.setblocking(True)
        return self.notifications

    def signal(self, signum):
        os.kill(self.pid, signum)

    def stop(self, timeout=15):
        """SIGTERM, wait, and insist on exit status 0."""
        self.signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"mailqd did not stop within {timeout}s:\n{self.log_text()}")
        assert rc == 0, f"mailqd exited with {rc}:\n{self.log_text()}"
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def restart(self):
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        return self.start()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        if self.running() and SANITIZED:
            # SIGTERM, so that LeakSanitizer checks the daemon's exit too; a
            # leak lands in the build's sanitizer-reports/ (tests/CMakeLists.txt).
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        if self.running():
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
        self.silent_relay.close()
        shutil.rmtree(self.sockdir, ignore_errors=True)

    # ---- talking to it ----
    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, text, timeout=10):
        return wait_until(lambda: text in self.log_text(), timeout, f"log line {text!r}")

    def request(self, obj):
        """A control request spoken directly as JSON."""
        return control_request(self.control_socket, obj)

    def result(self, obj):
        reply = self.request(obj)
        assert reply.get("ok") is True, reply
        return reply["result"]

    def list(self, state=None):
        req = {"cmd": "list"}
        if state:
            req["state"] = state
        return self.result(req)

    def show(self, queue_id, raw=False):
        return self.result({"cmd": "show", "id": queue_id, "raw": raw})

    def ctl(self, *args, input=None, timeout=30):
        return subprocess.run(
            [MAILQCTL_BIN, "-c", str(self.config_path), *map(str, args)],
            input=input, capture_output=True, timeout=timeout,
            text=not isinstance(input, bytes))


@pytest.fixture
def daemon(tmp_path):
    """Factory: daemon(sections=None, listen=False, start=True, env=None)."""
    made = []

    def make(sections=None, listen=False, start=True, env=None):
        d = Daemon(tmp_path / f"d{len(made)}", sections=sections, listen=listen, env=env)
        made.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in made:
        d.cleanup()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def dovecot(pki):
    server = Dovecot(pki).start()
    yield server
    server.cleanup()
