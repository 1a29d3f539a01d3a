"""POP3 fetch against real servers on loopback, driven by the test-only
tests/tools/pop3_fetch_probe (the daemon's pull_mailbox with a real Maildir
writer and the real store), which prints the outcome of each pull as JSON.

Dovecot (dovecot-pop3d) with its own config: plaintext + STLS port and an
implicit-TLS port with the test CA. A scripted fake server for faults.
"""

import glob
import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from pop3_servers import TEST_PASSWORD, TEST_USER, FakePop3, sample_message

SOURCE_DIR = Path(os.environ.get("MAILQD_SOURCE_DIR", Path(__file__).resolve().parents[2]))


def probe_path():
    if os.environ.get("POP3_FETCH_PROBE"):
        return os.environ["POP3_FETCH_PROBE"]
    mailqd = os.environ.get("MAILQD_BIN")
    if mailqd:  # build/daemon/mailqd -> build/tests/pop3_fetch_probe
        return str(Path(mailqd).resolve().parent.parent / "tests" / "pop3_fetch_probe")
    found = sorted(glob.glob(str(SOURCE_DIR / "build*" / "tests" / "pop3_fetch_probe")),
                   key=os.path.getmtime)
    assert found, "pop3_fetch_probe not built"
    return found[-1]


class Probe:
    """Runs pulls into one Maildir with one UIDL database."""

    def __init__(self, root):
        self.root = Path(root)
        self.maildir = self.root / "Maildir"
        self.db = self.root / "queue.db"
        self.stderr = ""

    def pull(self, port, *options, pulls=1, password=TEST_PASSWORD, timeout=60):
        args = [probe_path(), "--host", "127.0.0.1", "--port", str(port), "--user", TEST_USER,
                "--password", password, "--maildir", str(self.maildir), "--db", str(self.db),
                "--name", "box", "--pulls", str(pulls), *map(str, options)]
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        self.stderr = done.stderr
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def files(self, sub="new"):
        d = self.maildir / sub
        return sorted(d.iterdir()) if d.exists() else []

    def contents(self):
        return sorted(p.read_bytes() for p in self.files())

    def uidls(self):
        with sqlite3.connect(self.db) as db:
            return {row[0] for row in db.execute("SELECT uidl FROM uidls WHERE mailbox = 'box'")}


@pytest.fixture
def probe(tmp_path):
    return Probe(tmp_path)


MESSAGES = [sample_message(i) for i in range(40)]


# ---------------------------------------------------------------- Dovecot


def test_dovecot_40_messages_arrive_identical_and_keep_no_empties_server(dovecot, probe):
    dovecot.add_messages(MESSAGES)
    out = probe.pull(dovecot.pop3_port, "--tls", "none", "--keep", "no")
    first = out["pulls"][0]
    assert first["error"] is None, first
    assert first["fetched"] == 40 and first["deleted"] == 40 and first["quit_ok"]
    assert probe.contents() == sorted(MESSAGES)  # byte for byte, LF endings, dots intact
    assert probe.files("tmp") == []
    # Maildir names: unique, with ,S=size that matches the file.
    for f in probe.files():
        assert f",S={f.stat().st_size}," in f.name
    assert dovecot.server_messages() == []
    # Every UIDL was forgotten again once the server no longer lists it.
    assert out["stats"]["fetched"] == 40 and out["stats"]["last_error"] is None
    assert out["stats"]["last_fetch_at"]
    assert "mailbox=box uidl=" in probe.stderr and "status=fetched" in probe.stderr
    assert probe.stderr.count("status=fetched") == 40

    again = probe.pull(dovecot.pop3_port, "--tls", "none", "--keep", "no")
    assert again["pulls"][0]["fetched"] == 0 and again["pulls"][0]["error"] is None
    assert len(probe.files()) == 40
    assert probe.uidls() == set()


def test_dovecot_reads_the_maildir_we_wrote(dovecot):
    """Names, ,S= and ,W= as Dovecot expects: it serves our files back with
    the sizes it would compute itself."""
    dovecot.add_messages(MESSAGES[:10])
    probe = Probe(dovecot.root / "bob")  # reachable by Dovecot's mail user
    out = probe.pull(dovecot.pop3_port, "--tls", "none", "--keep", "no")
    assert out["pulls"][0]["fetched"] == 10
    dovecot.add_user("bob", dovecot.root / "bob")
    pop = dovecot.login("bob")
    count, _ = pop.stat()
    assert count == 10
    listed = {int(n): int(size) for n, size in (l.split() for l in pop.list()[1])}
    served = []
    for n in range(1, count + 1):
        _, lines, _ = pop.retr(n)
        data = b"\n".join(lines) + b"\n"
        served.append(data)
        assert listed[n] == len(data) + data.count(b"\n")  # CRLF size
    pop.quit()
    assert sorted(served) == sorted(MESSAGES[:10])
    assert "Cached message size mismatch" not in dovecot.log()
    assert "Error" not in dovecot.log()


def test_dovecot_second_pull_adds_none_and_keep_yes_leaves_server(dovecot, probe):
    dovecot.add_messages(MESSAGES)
    out = probe.pull(dovecot.pop3_port, "--tls", "none", "--keep", "yes", pulls=2)
    assert [p["fetched"] for p in out["pulls"]] == [40, 0]
    assert [p["deleted"] for p in out["pulls"]] == [0, 0]
    assert len(dovecot.server_messages()) == 40
    assert len(probe.uidls()) == 40
    assert probe.contents() == sorted(MESSAGES)
    # A later pull in another process (UIDLs from SQLite) adds only new mail.
    dovecot.add_messages([sample_message(100)])
    later = probe.pull(dovecot.pop3_port, "--tls", "none", "--keep", "yes")
    assert later["pulls"][0]["fetched"] == 1
    assert len(probe.files()) == 41
    assert later["stats"]["fetched"] == 41


def test_dovecot_wrong_password_is_reported_and_deletes_nothing(dovecot, probe):
    dovecot.add_messages(MESSAGES[:5])
    out = probe.pull(dovecot.pop3_port, "--tls", "none", "--keep", "no", password="wrong")
    pull = out["pulls"][0]
    assert pull["fetched"] == 0 and pull["deleted"] == 0
    assert "login failed" in pull["error"] and "Authentication failed" in pull["error"]
    assert out["stats"]["last_error"] == pull["error"]
    assert len(dovecot.server_messages()) == 5
    assert probe.files() == []
    assert "wrong" not in probe.stderr
    # The next good pull clears the error.
    ok = probe.pull(dovecot.pop3_port, "--tls", "none", "--keep", "no")
    assert ok["pulls"][0]["fetched"] == 5 and ok["stats"]["last_error"] is None


@pytest.mark.parametrize("auth", ["user", "plain", "apop"])
def test_dovecot_stls_with_each_login(dovecot, probe, pki, auth):
    dovecot.add_messages(MESSAGES[:3])
    out = probe.pull(dovecot.pop3_port, "--tls", "starttls", "--ca-file", pki.ca_cert,
                     "--auth", auth, "--keep", "no", "--trace")
    pull = out["pulls"][0]
    assert pull["error"] is None and pull["fetched"] == 3 and pull["deleted"] == 3
    assert "C: STLS" in probe.stderr and "TLSv1." in probe.stderr
    # The trace masks every secret.
    assert TEST_PASSWORD not in probe.stderr
    assert "method=" + {"user": "PLAIN", "plain": "PLAIN", "apop": "APOP"}[auth] in dovecot.log()


def test_dovecot_implicit_tls(dovecot, probe, pki):
    dovecot.add_messages(MESSAGES[:3])
    out = probe.pull(dovecot.pop3s_port, "--tls", "implicit", "--ca-file", pki.ca_cert, "--keep", "no")
    assert out["pulls"][0]["error"] is None and out["pulls"][0]["fetched"] == 3
    assert probe.contents() == sorted(MESSAGES[:3])


def test_dovecot_untrusted_certificate_fails_and_deletes_nothing(dovecot, probe):
    dovecot.add_messages(MESSAGES[:2])
    # No --ca-file: the system store does not know the test CA.
    out = probe.pull(dovecot.pop3s_port, "--tls", "implicit", "--keep", "no")
    assert "certificate verify failed" in out["pulls"][0]["error"]
    assert out["stats"]["last_error"] == out["pulls"][0]["error"]
    assert len(dovecot.server_messages()) == 2 and probe.files() == []


def test_dovecot_too_big_stays_on_server_and_is_reported_once(dovecot, probe):
    dovecot.add_messages([sample_message(1), sample_message(2, size=20000)])
    out = probe.pull(dovecot.pop3_port, "--tls", "none", "--keep", "no", "--max-size", 10000, pulls=2)
    first, second = out["pulls"]
    assert first["fetched"] == 1 and len(first["too_big"]) == 1 and first["too_big"][0]["size"] > 10000
    assert second["fetched"] == 0 and len(second["too_big"]) == 1
    assert probe.stderr.count("too big, left on the server") == 1
    assert len(dovecot.server_messages()) == 1
    assert probe.contents() == [sample_message(1)]


# ---------------------------------------------------------------- faults


def fake_messages(n):
    return [{"uidl": f"uid-{i}", "data": sample_message(i).decode()} for i in range(1, n + 1)]


def test_fake_drop_mid_retr_leaves_no_partial_file_and_deletes_nothing(tmp_path, probe):
    msgs = fake_messages(3)
    with FakePop3(tmp_path / "srv", msgs, faults={"RETR 2": "drop"}) as srv:
        out = probe.pull(srv.port, "--tls", "none", "--keep", "no")
        pull = out["pulls"][0]
        assert "connection closed" in pull["error"]
        assert not any(c.startswith("DELE") for c in srv.commands())
        assert srv.committed_deletions() == []
    # Message 1 arrived whole before the drop and is kept; 2 left no trace.
    assert probe.contents() == [msgs[0]["data"].encode()]
    assert probe.files("tmp") == []
    assert probe.uidls() == {"uid-1"}
    # Next time: 1 is known (deleted now), 2 and 3 are fetched.
    with FakePop3(tmp_path / "srv2", msgs) as srv:
        out = probe.pull(srv.port, "--tls", "none", "--keep", "no")
        assert out["pulls"][0]["fetched"] == 2 and out["pulls"][0]["error"] is None
        assert sorted(srv.committed_deletions()) == ["uid-1", "uid-2", "uid-3"]
    assert probe.contents() == sorted(m["data"].encode() for m in msgs)


def test_fake_err_on_retr_skips_that_message_only(tmp_path, probe):
    msgs = fake_messages(3)
    with FakePop3(tmp_path / "srv", msgs, faults={"RETR 2": "err"}) as srv:
        out = probe.pull(srv.port, "--tls", "none", "--keep", "no")
        pull = out["pulls"][0]
        assert pull["fetched"] == 2
        assert "RETR 2" in pull["error"] and "-ERR" in pull["error"]
        assert sorted(srv.committed_deletions()) == ["uid-1", "uid-3"]
    assert out["stats"]["last_error"] == pull["error"]
    assert probe.uidls() == {"uid-1", "uid-3"}


@pytest.mark.parametrize("fault", ["stall", "stall_mid"])
def test_fake_stall_times_out(tmp_path, probe, fault):
    msgs = fake_messages(2)
    with FakePop3(tmp_path / "srv", msgs, faults={"RETR 1": fault}) as srv:
        started = time.monotonic()
        out = probe.pull(srv.port, "--tls", "none", "--keep", "no", "--timeout", 1)
        elapsed = time.monotonic() - started
        assert "timeout after 1s" in out["pulls"][0]["error"]
        assert elapsed < 10
        assert srv.committed_deletions() == []
    assert probe.files() == [] and probe.files("tmp") == []


def test_fake_trickle_ends_at_the_pull_limit(tmp_path, probe):
    """A server that sends a line every 0.2 s for ever never trips the
    per-read timeout; the whole pull's limit ends it."""
    msgs = fake_messages(2)
    with FakePop3(tmp_path / "srv", msgs, faults={"RETR 1": "trickle"}) as srv:
        started = time.monotonic()
        out = probe.pull(srv.port, "--tls", "none", "--keep", "no", "--timeout", 1, "--pull-limit", 2)
        elapsed = time.monotonic() - started
        assert "the pull took longer than 2s" in out["pulls"][0]["error"], out
        assert elapsed < 10
        assert srv.committed_deletions() == []
    assert probe.files() == [] and probe.files("tmp") == []


def test_fake_understated_list_size_costs_that_message_only(tmp_path, probe):
    """LIST says 100 bytes, the message is 300 KB, max_size 100 KB: the
    message is read to its end and dropped, left on the server and reported
    too big; the others are fetched and deleted, the pull ends without error."""
    msgs = fake_messages(3)
    msgs[1]["data"] = sample_message(2, size=300000).decode()
    msgs[1]["listed_size"] = 100
    with FakePop3(tmp_path / "srv", msgs) as srv:
        out = probe.pull(srv.port, "--tls", "none", "--keep", "no", "--max-size", 100000)
        pull = out["pulls"][0]
        assert pull["error"] is None, pull
        assert pull["fetched"] == 2
        assert [t["uidl"] for t in pull["too_big"]] == ["uid-2"], pull
        assert sorted(srv.committed_deletions()) == ["uid-1", "uid-3"]
    assert probe.uidls() == {"uid-1", "uid-3"}


def test_fake_dot_lines_survive(tmp_path, probe):
    tricky = ".\n..\n...\n. \n.x\nnot first .\n\n.\r\nbare cr\rinside\n" + "y" * 70000 + "\n.\n"
    msgs = [{"uidl": "dots", "data": "Subject: dots\n\n" + tricky}]
    with FakePop3(tmp_path / "srv", msgs) as srv:
        out = probe.pull(srv.port, "--tls", "none", "--keep", "yes")
        assert out["pulls"][0]["fetched"] == 1, out
        assert "RETR 1" in srv.commands()
    # Byte for byte: a CR before the line's LF (".\r\r\n" on the wire) and a
    # bare CR are content; a 70,000-byte line is not cut.
    assert probe.contents() == [("Subject: dots\n\n" + tricky).encode()]


def test_fake_without_pipelining_sends_one_command_at_a_time(tmp_path, probe):
    msgs = fake_messages(4)
    with FakePop3(tmp_path / "srv", msgs, capa=["USER", "UIDL"]) as srv:
        out = probe.pull(srv.port, "--tls", "none", "--keep", "no")
        assert out["pulls"][0]["fetched"] == 4 and out["pulls"][0]["deleted"] == 4
        assert not any(e["pipelined"] for e in srv.events() if e["event"] == "line")
        assert "USER alice" in srv.commands()


def test_fake_pipelining_batches_retr(tmp_path, probe):
    msgs = fake_messages(5)
    with FakePop3(tmp_path / "srv", msgs) as srv:
        out = probe.pull(srv.port, "--tls", "none", "--keep", "no")
        assert out["pulls"][0]["fetched"] == 5
        lines = [e for e in srv.events() if e["event"] == "line"]
        assert any(e["pipelined"] for e in lines if e["line"].startswith("RETR"))
        assert any(e["line"].startswith("AUTH PLAIN") for e in lines)


def test_fake_stls_required_but_not_offered_sends_no_password(tmp_path, probe, pki):
    msgs = fake_messages(1)
    with FakePop3(tmp_path / "srv", msgs) as srv:
        out = probe.pull(srv.port, "--tls", "starttls", "--ca-file", pki.ca_cert)
        assert "STLS not offered" in out["pulls"][0]["error"]
        assert not any(c.startswith(("USER", "PASS", "AUTH", "APOP")) for c in srv.commands())
    assert probe.files() == []


def test_fake_uidls_gone_from_server_are_forgotten(tmp_path, probe):
    msgs = fake_messages(3)
    with FakePop3(tmp_path / "srv", msgs) as srv:
        probe.pull(srv.port, "--tls", "none", "--keep", "yes")
    assert probe.uidls() == {"uid-1", "uid-2", "uid-3"}
    with FakePop3(tmp_path / "srv2", msgs[1:]) as srv:
        out = probe.pull(srv.port, "--tls", "none", "--keep", "yes")
        assert out["pulls"][0]["fetched"] == 0
    assert probe.uidls() == {"uid-2", "uid-3"}
