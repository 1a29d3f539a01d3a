"""Bad input at every door of the real mailqd (issue 7): NUL bytes in an SMTP
command and in DATA, a 10 MB header line through SMTP and through the spool
directory, 100,000 recipients in one transaction, non-UTF-8 bytes in an
SMTPUTF8 address, a control request that is not JSON and one of 100 MB.
Each gets a clear error (or a clean acceptance where the bytes are legal
mail), the daemon keeps serving others (a normal submission succeeds right
after), and its peak RSS (VmHWM) stays bounded."""

import json
import socket
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import SANITIZED, spool_drop, wait_until  # noqa: E402
from test_delivery import FAST_QUEUE, SIMPLE, submit  # noqa: E402

# Under ASan (MAILQD_SANITIZE=1, set by the test registration of a
# -DMAILQD_SANITIZE=ON build) the peak also counts shadow memory (an eighth
# of the heap), redzones around every block and the quarantine of freed
# blocks (up to 256 MB), hence a looser bound there: 205 to 277 MB measured.
PEAK_RSS_LIMIT_KB = (400 if SANITIZED else 200) * 1024
PEAKS = {}


def vm_hwm_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def d(daemon):
    return daemon(sections={"queue": dict(FAST_QUEUE)})


def still_serving(d, what):
    """A normal submission succeeds, the control socket answers, and the
    peak RSS so far is bounded."""
    assert d.running(), d.log_text()[-3000:]
    qid = submit(d, "alice@example.com", ["bob@example.org"], SIMPLE)
    assert d.show(qid)["id"] == qid
    peak = vm_hwm_kb(d.pid)
    PEAKS[what] = peak
    print(f"\n{what}: daemon VmHWM {peak / 1024:.1f} MB")
    assert peak < PEAK_RSS_LIMIT_KB, f"{what}: VmHWM {peak} kB"


class Smtp:
    """A raw ESMTP client on the submit socket: bytes in, replies out."""

    def __init__(self, d, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(d.submit_socket))
        self.buf = b""
        self.reply()  # greeting

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        """One (possibly multi-line) reply: (code, text); (0, "") at EOF."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return 0, "\n".join(lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return int(text[:3]), "\n".join(lines)

    def command(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def close(self):
        self.sock.close()


def test_nul_in_smtp_command_is_refused_and_daemon_serves(d):
    c = Smtp(d)
    assert c.command(b"EHLO client.test")[0] == 250
    code, text = c.command(b"MAIL FROM:<ali\x00ce@example.com>")
    assert 500 <= code < 600, text
    # The session is still usable after the refusal.
    assert c.command(b"MAIL FROM:<alice@example.com>")[0] == 250
    c.command(b"QUIT")
    c.close()
    still_serving(d, "nul-command")


def test_nul_in_data_gets_a_clear_answer(d):
    c = Smtp(d)
    c.command(b"EHLO client.test")
    assert c.command(b"MAIL FROM:<alice@example.com>")[0] == 250
    assert c.command(b"RCPT TO:<bob@example.org>")[0] == 250
    assert c.command(b"DATA")[0] == 354
    code, text = c.command(b"Subject: nul\r\n\r\nbefore\x00after\r\n.")
    print(f"\nNUL in DATA: {text}")
    # Either refused with a 5xx that says why, or accepted and stored as sent.
    if code == 250:
        qid = text.rsplit("queued as ", 1)[1].strip()
        raw = d.show(qid, raw=True)
        assert "before" in json.dumps(raw)
    else:
        assert 550 <= code < 600 and text[4:].strip(), text
    c.command(b"QUIT")
    c.close()
    still_serving(d, "nul-data")


def test_10mb_header_line_via_smtp(d):
    c = Smtp(d, timeout=60)
    c.command(b"EHLO client.test")
    assert c.command(b"MAIL FROM:<alice@example.com>")[0] == 250
    assert c.command(b"RCPT TO:<bob@example.org>")[0] == 250
    assert c.command(b"DATA")[0] == 354
    c.send(b"X-Huge: " + b"a" * (10 * 1024 * 1024) + b"\r\nSubject: huge\r\n\r\nbody\r\n")
    code, text = c.command(b".")
    print(f"\n10 MB header line via SMTP: {text}")
    assert code == 554 and "longer than 998" in text, text
    c.close()
    still_serving(d, "10mb-header-smtp")


def test_10mb_header_line_via_spool_file(d):
    data = (b"From: alice@example.com\nTo: bob@example.org\nX-Huge: " + b"a" * (10 * 1024 * 1024)
            + b"\nSubject: huge\n\nbody\n")
    spool_drop(d.spool, "huge", data)
    # Taken (queued) or put aside in bad/ with a log line: never left in incoming.
    wait_until(lambda: not (d.spool / "incoming" / "huge").exists(), 30, "spool file handled")
    queued = [m for m in d.list() if m["sender"] == "alice@example.com"]
    bad = list((d.spool / "bad").glob("huge*"))
    assert bad and not queued, d.log_text()[-2000:]
    print(f"\n10 MB header line via spool: {'queued' if queued else 'moved to bad/'}")
    still_serving(d, "10mb-header-spool")


def test_100000_recipients_capped_and_daemon_responsive(d):
    c = Smtp(d, timeout=120)
    c.command(b"EHLO client.test")
    assert c.command(b"MAIL FROM:<alice@example.com>")[0] == 250
    total = 100_000
    batch = 1000
    codes = []
    for start in range(0, total, batch):
        c.send(b"".join(b"RCPT TO:<r%d@example.org>\r\n" % i for i in range(start, start + batch)))
        codes.extend(c.reply() for _ in range(batch))
        if start == 50_000:
            # Others are served while the flood goes on.
            assert d.request({"cmd": "stats"})["ok"] is True
    accepted = sum(1 for code, _ in codes if code == 250)
    refused = [t for code, t in codes if code != 250]
    assert 0 < accepted < total
    assert refused and all(t.startswith("452 4.5.3") for t in refused), refused[:3]
    print(f"\n100000 recipients: {accepted} accepted, {len(refused)} refused with 452 4.5.3")
    c.command(b"RSET")
    c.command(b"QUIT")
    c.close()
    still_serving(d, "100k-recipients")


def test_non_utf8_in_smtputf8_address_is_refused(d):
    c = Smtp(d)
    code, text = c.command(b"EHLO client.test")
    assert code == 250
    code, text = c.command(b"MAIL FROM:<al\xff\xfeice@example.com> SMTPUTF8")
    assert 500 <= code < 600, text
    assert c.command(b"MAIL FROM:<alice@example.com> SMTPUTF8")[0] == 250
    code, text = c.command(b"RCPT TO:<b\xc3\x28ob@example.org>")
    assert 500 <= code < 600, text
    c.command(b"QUIT")
    c.close()
    still_serving(d, "non-utf8-address")


def control_raw(d, data, timeout=60):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(d.control_socket))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon may stop reading once it has seen too much
        got = b""
        try:
            while not got.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
    return got


def test_control_request_not_json(d):
    got = control_raw(d, b"this is not json\n")
    reply = json.loads(got)
    assert reply["ok"] is False and reply["error"], reply
    got = control_raw(d, b"\xff\xfe{\"cmd\":\x00}\n")
    reply = json.loads(got)
    assert reply["ok"] is False and reply["error"], reply
    still_serving(d, "control-not-json")


# Issue 12 item 9: a member of the wrong JSON type is a usage error with an
# answer, not an exception that drops the session unanswered.
@pytest.mark.parametrize("request_", [
    {"cmd": 1},
    {"cmd": None},
    {"cmd": "show", "id": "X", "raw": "yes"},
    {"cmd": "hold", "all": "yes"},
    {"cmd": "list", "state": 5},
    {"cmd": "hold", "ids": [1, 2]},
    {"cmd": "fetch", "mailboxes": "one"},
], ids=["cmd-number", "cmd-null", "raw-string", "all-string", "state-number", "ids-numbers",
        "mailboxes-string"])
def test_control_request_with_wrong_types_is_answered(d, request_):
    got = control_raw(d, json.dumps(request_).encode() + b"\n")
    assert got, f"no answer to {request_}"
    reply = json.loads(got)
    assert reply["ok"] is False and reply["error"], reply
    assert d.request({"cmd": "stats"})["ok"] is True


@pytest.mark.parametrize("newline", [True, False], ids=["line", "no-newline"])
def test_control_request_of_100mb(d, newline):
    data = b'{"cmd":"list","x":"' + b"a" * (100 * 1024 * 1024) + b'"}' + (b"\n" if newline else b"")
    started = time.monotonic()
    got = control_raw(d, data)
    if got:
        reply = json.loads(got)
        assert reply["ok"] is False and "larger" in str(reply["error"]), reply
    assert time.monotonic() - started < 60
    assert d.request({"cmd": "stats"})["ok"] is True
    still_serving(d, f"control-100mb-{'line' if newline else 'no-newline'}")
