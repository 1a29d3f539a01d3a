"""mailqctl, sendmail and mailq against the real mailqd (DESIGN.md section 5):
queue commands with and without --json, submission through the submit
socket, the sendmail flags programs use, and the exit codes. A small fake
SMTP server on a Unix socket stands in for the daemon where a test needs a
reply the daemon would not give (4xx, 5xx) or wants to see the exact
transaction."""

import json
import os
import re
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import MAILQCTL_BIN, render_config, wait_until

BIN_DIR = Path(MAILQCTL_BIN).parent
SENDMAIL = BIN_DIR / "sendmail"
MAILQ = BIN_DIR / "mailq"

QUEUE_ID = re.compile(r"^[0-9A-Za-z]+$")

MESSAGE = ("From: Alice <alice@example.com>\n"
           "To: bob@example.org, Carol <carol@example.org>\n"
           "Bcc: secret@example.net\n"
           "Subject: hello\n"
           "\n"
           "body\n")


def run(argv, input=None, env=None, timeout=30):
    full_env = dict(os.environ)
    full_env.pop("MAILQD_CONFIG", None)
    full_env.update(env or {})
    return subprocess.run([str(a) for a in argv], input=input, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def one_error_line(r, prefix):
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(prefix + ": "), r.stderr
    return lines[0]


def submit(d, text=MESSAGE, *args):
    r = d.ctl("submit", *args, input=text)
    assert r.returncode == 0, r.stderr
    queue_id = r.stdout.strip()
    assert QUEUE_ID.match(queue_id), r.stdout
    return queue_id


def sendmail(d, *args, input=MESSAGE):
    return run([SENDMAIL, *args], input=input, env={"MAILQD_CONFIG": str(d.config_path)})


def hold_all(d):
    """Held messages do not change state under a test's feet (the test relay
    never answers, so anything else moves to deferred)."""
    r = d.ctl("hold", "--all")
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------- fake submit


class FakeSubmit:
    """An SMTP server on a Unix socket, one session at a time. replies maps a
    stage (greeting, ehlo, mail, rcpt, data, end) to the reply line to send
    instead of the happy one. Records each transaction."""

    def __init__(self, path, **replies):
        self.path = str(path)
        self.replies = replies
        self.transactions = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def reply(self, stage, default):
        return (self.replies.get(stage, default) + "\r\n").encode()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self._session(conn.makefile("rb"), conn)
                except OSError:
                    pass

    def _session(self, rfile, conn):
        conn.sendall(self.reply("greeting", "220 fake ESMTP"))
        tx = {"mail": None, "rcpts": [], "data": None}
        while True:
            line = rfile.readline()
            if not line:
                return
            cmd = line.decode().rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                conn.sendall(b"250-fake\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n")
            elif verb == "MAIL":
                tx["mail"] = cmd
                conn.sendall(self.reply("mail", "250 2.1.0 Ok"))
            elif verb == "RCPT":
                tx["rcpts"].append(cmd)
                conn.sendall(self.reply("rcpt", "250 2.1.5 Ok"))
            elif verb == "DATA":
                conn.sendall(self.reply("data", "354 go on"))
                if self.replies.get("data", "354").startswith("354"):
                    data = b""
                    while True:
                        chunk = rfile.readline()
                        if chunk in (b".\r\n", b""):
                            break
                        data += chunk
                    tx["data"] = data
                    self.transactions.append(tx)
                    conn.sendall(self.reply("end", "250 2.0.0 Ok: queued as FAKE1"))
            elif verb == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 5.5.2 what\r\n")

    def close(self):
        self.sock.close()


@pytest.fixture
def fake_submit(tmp_path):
    """Factory: fake_submit(**replies) -> (FakeSubmit, config path)."""
    made = []

    def make(**replies):
        import tempfile
        sockdir = Path(tempfile.mkdtemp(prefix="mqf", dir="/tmp"))
        server = FakeSubmit(sockdir / "submit.sock", **replies)
        made.append((server, sockdir))
        config = tmp_path / f"fake{len(made)}.conf"
        config.write_text(render_config({
            "queue": {"database": tmp_path / "q.db", "spool": tmp_path / "spool",
                      "hostname": "fake.test"},
            "submit": {"socket": server.path, "socket_group": ""},
            "control": {"socket": sockdir / "control.sock", "socket_group": ""},
            "relay.default": {"host": "127.0.0.1", "port": 2, "tls": "none", "auth": "none"},
        }))
        return server, config

    yield make
    for server, sockdir in made:
        server.close()
        for p in sockdir.iterdir():
            p.unlink()
        sockdir.rmdir()


# ------------------------------------------------------------- queue commands


def test_submit_prints_id_and_list_shows_it(daemon):
    d = daemon()
    queue_id = submit(d)
    r = d.ctl("list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "AGE", "SIZE", "STATE", "SENDER"]
    row = next(line for line in lines if line.startswith(queue_id))
    assert "alice@example.com" in row
    rcpt_lines = [line for line in lines if line.startswith("    ") and "@" in line]
    addresses = {line.split()[1] for line in rcpt_lines}
    assert addresses == {"bob@example.org", "carol@example.org", "secret@example.net"}
    assert lines[-1].startswith("-- 1 message, ")


def test_list_json_is_what_the_daemon_sends(daemon):
    d = daemon()
    ids = {submit(d), submit(d, MESSAGE.replace("hello", "second"))}
    hold_all(d)
    r = d.ctl("list", "--json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1  # one line
    listed = json.loads(r.stdout)
    assert isinstance(listed, list)
    assert {m["id"] for m in listed} == ids
    assert listed == d.list()
    for m in listed:
        assert set(m) >= {"id", "state", "received_at", "size", "sender", "submitter",
                          "recipients"}
        assert "attempts" not in m


def test_list_state_filter(daemon):
    d = daemon()
    queue_id = submit(d)
    assert d.ctl("hold", queue_id).returncode == 0
    held = json.loads(d.ctl("list", "--state", "held", "--json").stdout)
    assert [m["id"] for m in held] == [queue_id]
    assert json.loads(d.ctl("list", "--state=sent", "--json").stdout) == []
    r = d.ctl("list", "--state", "lost")
    assert r.returncode == 64
    one_error_line(r, "mailqctl")


def test_show_table_json_and_raw(daemon):
    d = daemon()
    queue_id = submit(d)
    hold_all(d)
    r = d.ctl("show", queue_id)
    assert r.returncode == 0, r.stderr
    assert f"Queue ID:   {queue_id}" in r.stdout
    assert "Sender:     alice@example.com" in r.stdout
    assert "Recipients:" in r.stdout and "Attempts:" in r.stdout
    assert re.search(r"^  held\s+bob@example.org", r.stdout, re.M), r.stdout

    shown = json.loads(d.ctl("show", queue_id, "--json").stdout)
    assert shown == d.show(queue_id)
    assert "attempts" in shown and shown["id"] == queue_id

    raw = subprocess.run([MAILQCTL_BIN, "-c", d.config_path, "show", queue_id, "--raw"],
                         capture_output=True, timeout=30).stdout  # bytes: CRLF as stored
    assert raw == d.show(queue_id, raw=True)["raw"].encode()
    assert b"Subject: hello\r\n" in raw
    assert b"Bcc" not in raw and b"secret@" not in raw
    assert b"Message-ID:" in raw or b"Message-Id:" in raw


def test_hold_release_delete(daemon):
    d = daemon()
    a, b = submit(d), submit(d)
    r = d.ctl("hold", a, b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "held 2 messages\n"
    assert d.show(a)["state"] == "held"
    r = d.ctl("release", a)
    assert r.returncode == 0 and r.stdout == "released 1 message\n"
    assert d.show(a)["state"] != "held"
    assert d.show(b)["state"] == "held"
    r = d.ctl("release", "--all")
    assert r.returncode == 0, r.stderr
    assert d.show(b)["state"] != "held"
    assert d.ctl("retry", "--all").returncode == 0
    r = d.ctl("delete", a)
    assert r.returncode == 0 and r.stdout == "deleted 1 message\n"
    assert [m["id"] for m in d.list()] == [b]


def test_unknown_id_is_67(daemon):
    d = daemon()
    for args in (("show", "NOSUCHID"), ("hold", "NOSUCHID"), ("delete", "NOSUCHID"),
                 ("retry", "NOSUCHID"), ("release", "NOSUCHID")):
        r = d.ctl(*args)
        assert r.returncode == 67, (args, r.stderr)
        assert "NOSUCHID" in one_error_line(r, "mailqctl")


def test_stats_table_and_json(daemon):
    d = daemon()
    submit(d)
    hold_all(d)
    stats = json.loads(d.ctl("stats", "--json").stdout)
    assert set(stats) == {"queue", "relays", "mailboxes", "submit"}
    assert stats["submit"]["refused"] == {"user": 0, "rate": 0, "clients": 0, "unidentified": 0,
                                          "too_big": 0, "header_line": 0, "no_memory": 0}
    assert stats["queue"]["held"] == 1
    assert [r["name"] for r in stats["relays"]] == ["default"]
    r = d.ctl("stats")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Queue:  0 queued, 0 deferred, 1 held, 0 sent, 0 failed")
    assert "  default: " in r.stdout
    assert "Mailboxes: none" in r.stdout
    assert "Submit: refused none" in r.stdout


def test_mailq_and_sendmail_bp_list_the_queue(daemon):
    d = daemon()
    queue_id = submit(d)
    hold_all(d)
    env = {"MAILQD_CONFIG": str(d.config_path)}
    table = d.ctl("list").stdout
    for argv in ([MAILQ], [SENDMAIL, "-bp"]):
        r = run(argv, env=env)
        assert r.returncode == 0, r.stderr
        assert queue_id in r.stdout
        assert r.stdout.splitlines()[0] == table.splitlines()[0]
    r = run([MAILQ, "--json"], env=env)
    assert json.loads(r.stdout) == d.list()
    r = run([MAILQ, "--socket", d.control_socket, "--json"])
    assert [m["id"] for m in json.loads(r.stdout)] == [queue_id]


def test_socket_option_needs_no_config(daemon):
    d = daemon()
    queue_id = submit(d)
    r = run([MAILQCTL_BIN, "--socket", d.control_socket, "list", "--json"])
    assert r.returncode == 0, r.stderr
    assert [m["id"] for m in json.loads(r.stdout)] == [queue_id]


# ----------------------------------------------------------------- submission


def test_submit_with_recipients_and_sender(daemon):
    d = daemon()
    queue_id = submit(d, MESSAGE, "-f", "bounce@example.com", "x@example.net")
    shown = d.show(queue_id)
    assert shown["sender"] == "bounce@example.com"
    assert [r["address"] for r in shown["recipients"]] == ["x@example.net"]


def test_submit_without_recipients_anywhere_is_65(daemon):
    d = daemon()
    r = d.ctl("submit", input="From: a@example.com\nSubject: nobody\n\nbody\n")
    assert r.returncode == 65
    assert "recipient" in one_error_line(r, "mailqctl")
    assert d.list() == []


def test_sendmail_t_takes_headers_and_removes_bcc(daemon):
    d = daemon()
    r = sendmail(d, "-t", "-i")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    [m] = d.list()
    assert {x["address"] for x in m["recipients"]} == {
        "bob@example.org", "carol@example.org", "secret@example.net"}
    raw = d.show(m["id"], raw=True)["raw"]
    assert "Bcc" not in raw and "secret@" not in raw


def test_sendmail_recipient_adds_from_and_qualifies_bare_names(daemon):
    d = daemon()
    r = sendmail(d, "-FCron Daemon", "-i", "-B8BITMIME", "-oem", "root",
                 input="Subject: cron output\n\nall fine\n")
    assert r.returncode == 0, r.stderr
    [m] = d.list()
    assert [x["address"] for x in m["recipients"]] == ["root@mailqd.test"]
    user = m["sender"]
    assert user.endswith("@mailqd.test")
    raw = d.show(m["id"], raw=True)["raw"]
    assert f"From: Cron Daemon <{user}>\r\n" in raw


def test_sendmail_dot_ends_input_unless_i(daemon):
    d = daemon()
    text = "Subject: dots\n\nbefore\n.\nafter\n"
    assert sendmail(d, "-f", "app@example.com", "a@example.org", input=text).returncode == 0
    assert sendmail(d, "-oi", "-f", "app@example.com", "b@example.org", input=text).returncode == 0
    raws = {m["recipients"][0]["address"]: d.show(m["id"], raw=True)["raw"] for m in d.list()}
    assert "before" in raws["a@example.org"] and "after" not in raws["a@example.org"]
    assert "before\r\n.\r\nafter" in raws["b@example.org"]


def as_nobody():
    """preexec_fn: the child runs as nobody, in no group."""
    os.setgid(65534)
    os.setgroups([])
    os.setuid(65534)


def readable_copy(config_path):
    """A copy of a config that every user (nobody too) can read and reach."""
    readable = Path(tempfile.mkdtemp(prefix="mqp", dir="/tmp"))
    os.chmod(readable, 0o755)
    config = readable / "mailqd.conf"
    config.write_text(config_path.read_text())
    os.chmod(config, 0o644)
    return config


class SmtpOverPipes:
    """A client of `sendmail -bs`, as Symfony Mailer drives it: SMTP lines
    over the child's stdin and stdout."""

    def __init__(self, d, *flags, preexec_fn=None):
        env = dict(os.environ, MAILQD_CONFIG=str(d.config_path))
        self.proc = subprocess.Popen([str(SENDMAIL), "-bs", *flags], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                     preexec_fn=preexec_fn)

    def reply(self):
        lines = []
        while True:
            line = self.proc.stdout.readline().decode()
            assert line.endswith("\r\n"), (lines, line)
            lines.append(line)
            if line[3] == " ":
                return "".join(lines)

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\r\n")
        self.proc.stdin.flush()

    def command(self, line):
        self.send(line)
        return self.reply()

    def finish(self, timeout=30):
        self.proc.stdin.close()
        rest = self.proc.stdout.read().decode()
        err = self.proc.stderr.read().decode()
        return self.proc.wait(timeout=timeout), rest, err


def test_sendmail_bs_speaks_the_submit_door_on_pipes(daemon):
    d = daemon()
    hold_all(d)
    c = SmtpOverPipes(d, "-i")  # Laravel's "/usr/sbin/sendmail -bs -i"
    assert c.reply().startswith("220 mailqd.test ESMTP")
    ehlo = c.command("EHLO app.example")
    assert "250-PIPELINING" in ehlo and "SIZE" in ehlo
    assert c.command("MAIL FROM:<app@example.com>").startswith("250 ")
    assert c.command("RCPT TO:<bob@example.org>").startswith("250 ")
    assert c.command("DATA").startswith("354 ")
    c.send("Subject: over -bs\r\n\r\n..leading dot\r\nbody")
    done = c.command(".")
    assert done.startswith("250 2.0.0 Ok: queued as "), done
    queue_id = done.split()[-1]
    # The 250 came after the commit: the message is in the queue now.
    shown = d.show(queue_id, raw=True)
    assert shown["sender"] == "app@example.com" and shown["submitter"] == "root"
    assert [r["address"] for r in shown["recipients"]] == ["bob@example.org"]
    assert shown["raw"].endswith("\r\n.leading dot\r\nbody\r\n")
    assert c.command("QUIT").startswith("221 ")
    code, rest, err = c.finish()
    assert (code, rest, err) == (0, "", "")


def test_sendmail_bs_ends_at_eof_and_keeps_nothing_half_sent(daemon):
    d = daemon()
    hold_all(d)
    c = SmtpOverPipes(d)
    c.reply()
    c.command("HELO app")
    c.command("MAIL FROM:<app@example.com>")
    c.command("RCPT TO:<bob@example.org>")
    c.command("DATA")
    c.send("Subject: cut off\r\n\r\nhalf")
    code, rest, err = c.finish()  # the program died mid-DATA
    assert code == 0 and err == "", (code, rest, err)
    assert d.list() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_sendmail_bs_refused_user_is_77(daemon):
    d = daemon(sections={"submit": {"users": "root"}})
    os.chmod(d.sockdir, 0o755)

    config = readable_copy(d.config_path)
    readable = config.parent
    try:
        r = subprocess.run([str(SENDMAIL), "-C", str(config), "-bs"], input=b"EHLO x\r\n",
                           capture_output=True, timeout=30, preexec_fn=as_nobody)
        r.stdout, r.stderr = r.stdout.decode(), r.stderr.decode()
        assert r.returncode == 77, (r.returncode, r.stdout, r.stderr)
        assert r.stdout == "554 5.7.1 user nobody may not submit\r\n", r.stdout
        assert "user nobody may not submit" in one_error_line(r, "sendmail")
    finally:
        config.unlink()
        readable.rmdir()


def test_sendmail_bs_without_daemon_says_421(tmp_path):
    config = tmp_path / "mailqd.conf"
    config.write_text(render_config({"submit": {"socket": tmp_path / "none.sock"}}))
    r = run([SENDMAIL, "-C", config, "-bs"], input="EHLO x\r\n")
    assert r.returncode == 69, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.startswith("421 4.3.2 "), r.stdout
    one_error_line(r, "sendmail")


def test_sendmail_without_recipients_is_usage():
    r = run([SENDMAIL, "-i"], input=MESSAGE)
    assert r.returncode == 64
    one_error_line(r, "sendmail")


def test_sendmail_q_retries(daemon):
    d = daemon()
    submit(d)
    r = run([SENDMAIL, "-q"], env={"MAILQD_CONFIG": str(d.config_path)})
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------ exit codes


def test_daemon_stopped_is_69(daemon):
    d = daemon()
    d.stop()
    r = d.ctl("list")
    assert r.returncode == 69
    line = one_error_line(r, "mailqctl")
    assert line.startswith(f"mailqctl: cannot reach mailqd at {d.control_socket}: ")
    r = d.ctl("submit", input=MESSAGE)
    assert r.returncode == 69
    r = sendmail(d, "-t")
    assert r.returncode == 69
    one_error_line(r, "sendmail")


def test_connection_refused_is_69(tmp_path):
    import tempfile
    sockdir = Path(tempfile.mkdtemp(prefix="mqr", dir="/tmp"))
    path = sockdir / "dead.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # the file stays, nobody listens
    try:
        r = run([MAILQCTL_BIN, "--socket", path, "stats"])
        assert r.returncode == 69
        assert one_error_line(r, "mailqctl") == (
            f"mailqctl: cannot reach mailqd at {path}: Connection refused")
    finally:
        path.unlink()
        sockdir.rmdir()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_permission_denied_is_77(daemon):
    d = daemon()
    os.chmod(d.control_socket, 0o600)  # root only, as a mailqd-admin socket to others
    os.chmod(d.submit_socket, 0o600)

    config = readable_copy(d.config_path)
    readable = config.parent
    for argv, prefix in (([MAILQCTL_BIN, "--socket", d.control_socket, "list"], "mailqctl"),
                         ([SENDMAIL, "-C", config, "-t"], "sendmail")):
        r = subprocess.run([str(a) for a in argv], input=MESSAGE, capture_output=True,
                           text=True, timeout=30, preexec_fn=as_nobody)
        assert r.returncode == 77, (argv, r.stderr)
        assert "Permission denied" in one_error_line(r, prefix)
    # An unreadable config: sendmail falls back to the defaults and says so.
    os.chmod(config, 0o600)
    r = subprocess.run([str(SENDMAIL), "-C", str(config), "-t"], input=MESSAGE,
                       capture_output=True, text=True, timeout=30, preexec_fn=as_nobody)
    assert r.returncode == 69, r.stderr
    line = one_error_line(r, "sendmail")
    assert "/run/mailqd/submit.sock" in line and "the config did not load" in line
    config.unlink()
    readable.rmdir()


@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["list", "--bogus"],
    ["list", "extra"],
    ["show"],
    ["show", "A", "B"],
    ["hold"],
    ["delete", "--all"],
    ["stats", "--json=yes"],
    ["--socket"],
])
def test_bad_usage_is_64(argv):
    r = run([MAILQCTL_BIN, "--socket", "/nonexistent/control.sock", *argv])
    assert r.returncode == 64, (argv, r.stdout, r.stderr)
    one_error_line(r, "mailqctl")


def test_broken_config_is_78_for_mailqctl_only(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[queue]\nlifetime = forever\n")
    r = run([MAILQCTL_BIN, "-c", bad, "list"])
    assert r.returncode == 78
    assert "lifetime" in one_error_line(r, "mailqctl")
    r = run([MAILQCTL_BIN, "list"], env={"MAILQD_CONFIG": str(bad)})
    assert r.returncode == 78
    # sendmail falls back to the default sockets (not there on a test box).
    r = run([SENDMAIL, "-t"], input=MESSAGE, env={"MAILQD_CONFIG": str(bad)})
    assert r.returncode == 69, r.stderr
    line = one_error_line(r, "sendmail")
    assert "/run/mailqd/submit.sock" in line and "lifetime" in line


def test_help_and_version():
    r = run([MAILQCTL_BIN, "--help"])
    assert r.returncode == 0 and "mailqctl list" in r.stdout
    r = run([MAILQCTL_BIN, "--version"])
    assert r.returncode == 0 and r.stdout.startswith("mailqctl ")


# ------------------------------------------------- submit client, fake server


def test_submit_client_transaction(fake_submit):
    server, config = fake_submit()
    text = "To: a@example.org\nBcc: b@example.org\nSubject: s\n\n.leading dot\nlast"
    r = run([MAILQCTL_BIN, "-c", config, "submit", "-f", "s@example.com"], input=text)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "FAKE1\n"
    [tx] = server.transactions
    assert tx["mail"].startswith("MAIL FROM:<s@example.com>")
    assert tx["rcpts"] == ["RCPT TO:<a@example.org>", "RCPT TO:<b@example.org>"]
    assert b"\r\n..leading dot\r\nlast\r\n" in tx["data"]  # dot-stuffed, CRLF
    assert b"Bcc" not in tx["data"]
    assert all(not line.endswith(b"\r") for line in tx["data"].split(b"\r\n"))


def test_4xx_on_data_is_75(fake_submit):
    server, config = fake_submit(end="452 4.3.1 Insufficient system storage")
    r = run([MAILQCTL_BIN, "-c", config, "submit"], input=MESSAGE)
    assert r.returncode == 75
    assert "452 4.3.1 Insufficient system storage" in one_error_line(r, "mailqctl")
    r = run([SENDMAIL, "-C", config, "-t"], input=MESSAGE)
    assert r.returncode == 75
    one_error_line(r, "sendmail")


def test_4xx_to_data_command_is_75(fake_submit):
    server, config = fake_submit(data="451 4.3.0 try later")
    r = run([MAILQCTL_BIN, "-c", config, "submit"], input=MESSAGE)
    assert r.returncode == 75, r.stderr


def test_5xx_on_rcpt_is_65_with_server_text(fake_submit):
    server, config = fake_submit(rcpt="550 5.1.1 no such user\x1b[2J")
    r = run([MAILQCTL_BIN, "-c", config, "submit", "x@example.org"], input=MESSAGE)
    assert r.returncode == 65
    line = one_error_line(r, "mailqctl")
    assert "550 5.1.1 no such user?[2J" in line  # sanitised
    assert "x@example.org" in line


def test_greeting_421_is_75(fake_submit):
    server, config = fake_submit(greeting="421 4.3.2 shutting down")
    r = run([SENDMAIL, "-C", config, "a@example.org"], input=MESSAGE)
    assert r.returncode == 75, r.stderr


# ------------------------------------------------ control client, fake daemon


class FakeControl:
    """Answers each control request with the next canned line; records the
    requests."""

    def __init__(self, path, answers):
        self.path = str(path)
        self.answers = list(answers)
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while self.answers:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.requests.append(json.loads(conn.makefile("rb").readline()))
                conn.sendall(self.answers.pop(0).encode() + b"\n")

    def close(self):
        self.sock.close()
        os.unlink(self.path)


@pytest.fixture
def fake_control():
    import tempfile
    made = []

    def make(*answers):
        sockdir = Path(tempfile.mkdtemp(prefix="mqc", dir="/tmp"))
        server = FakeControl(sockdir / "control.sock", answers)
        made.append((server, sockdir))
        return server

    yield make
    for server, sockdir in made:
        server.close()
        sockdir.rmdir()


def test_json_output_keeps_the_daemons_bytes(fake_control):
    # Keys deliberately not sorted: --json must not re-order or re-format.
    result = '[{"state":"queued","id":"X1","size":10,"sender":"","recipients":[]}]'
    server = fake_control('{"ok":true,"result":' + result + '}')
    r = run([MAILQCTL_BIN, "--socket", server.path, "list", "--json", "--state", "queued"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == result + "\n"
    assert server.requests == [{"cmd": "list", "state": "queued"}]


def test_fetch_prints_new_counts(fake_control):
    server = fake_control(
        '{"ok":true,"result":{"mailboxes":[{"name":"qq","new":3},{"name":"work","new":0}]}}',
        '{"ok":true,"result":{"mailboxes":[{"name":"qq","new":0,"error":"-ERR [AUTH] nope"}]}}',
        '{"ok":false,"kind":67,"error":"unknown mailbox nope"}')
    r = run([MAILQCTL_BIN, "--socket", server.path, "fetch"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "qq: 3 new\nwork: 0 new\n"
    r = run([MAILQCTL_BIN, "--socket", server.path, "fetch", "qq"])
    assert r.returncode == 75
    assert "qq: -ERR [AUTH] nope" in one_error_line(r, "mailqctl")
    r = run([MAILQCTL_BIN, "--socket", server.path, "fetch", "nope"])
    assert r.returncode == 67
    assert one_error_line(r, "mailqctl") == "mailqctl: unknown mailbox nope"
    assert server.requests == [{"cmd": "fetch", "mailboxes": []},
                               {"cmd": "fetch", "mailboxes": ["qq"]},
                               {"cmd": "fetch", "mailboxes": ["nope"]}]


def test_fetch_without_mailboxes_is_67(daemon):
    d = daemon()
    r = d.ctl("fetch")
    assert r.returncode == 67
    one_error_line(r, "mailqctl")


def test_garbage_from_the_daemon_is_one_line(fake_control):
    server = fake_control("this is not json")
    r = run([MAILQCTL_BIN, "--socket", server.path, "stats"])
    assert r.returncode != 0
    one_error_line(r, "mailqctl")


def test_sendmail_with_recipient_arguments_removes_bcc(daemon):
    """Issue 12 item 9: `sendmail a@x` with a Bcc: header in the message
    (recipients from the arguments, not the header) still drops the header,
    as Postfix does; only the named recipient is in the envelope."""
    d = daemon()
    r = sendmail(d, "only@example.org")
    assert r.returncode == 0, r.stderr
    [m] = d.list()
    assert [x["address"] for x in m["recipients"]] == ["only@example.org"]
    raw = d.show(m["id"], raw=True)["raw"]
    assert "Bcc" not in raw and "secret@" not in raw, raw
    assert "Subject: hello\r\n" in raw
