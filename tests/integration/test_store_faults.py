"""Store faults that are not the message's own (issue 12 item 1): a queue
database the daemon can only read, one moved away under the running
daemon, and one with a corrupted page. Each must answer 451 4.3.0 over
SMTP and exit 75 from `mailqctl submit` (never a 5xx: cron and PHP drop
mail on one), be counted in `stats`, and, where the fault can be cured,
be taken again without a restart (the writer re-opens the database).

The read-only case uses chattr +i (the tests run as root, which file modes
do not stop); it is skipped where the file system has no such flag."""

import os
import smtplib
import stat
import subprocess

import pytest

from conftest import free_port, wait_until
from smtp_servers import start_aiosmtpd

MESSAGE = "From: a@example.org\r\nTo: b@example.org\r\nSubject: fault\r\n\r\nhello\r\n"


def smtp_submit(d):
    """(code, reply) of the end of data over the submit socket (SMTP)."""
    client = smtplib.LMTP(str(d.submit_socket))
    try:
        client.ehlo_or_helo_if_needed()
        client.mail("a@example.org")
        client.rcpt("b@example.org")
        code, reply = client.data(MESSAGE.encode())
        return code, reply
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error
    finally:
        client.close()


def ctl_submit(d):
    return d.ctl("submit", "-f", "a@example.org", "b@example.org", input=MESSAGE.encode())


def assert_temporary(d, what):
    code, reply = smtp_submit(d)
    assert code == 451 and b"4.3.0" in reply, (what, code, reply)
    out = ctl_submit(d)
    assert out.returncode == 75, (what, out.returncode, out.stdout, out.stderr)
    assert b"451 4.3.0" in out.stderr, out.stderr
    store = d.result({"cmd": "stats"})["store"]
    assert store["errors"] >= 2 and store["last_error"] and store["last_error_at"], store
    return store


def queued_ids(d):
    return {m["id"] for m in d.list()}


def submitted_id(out):
    assert out.returncode == 0, (out.returncode, out.stdout, out.stderr)
    return out.stdout.decode().strip()


def test_read_only_database_is_temporary_and_recovers(daemon):
    d = daemon()
    before = submitted_id(ctl_submit(d))
    d.stop()
    flag = subprocess.run(["chattr", "+i", str(d.database)], capture_output=True, text=True)
    if flag.returncode != 0:
        pytest.skip(f"chattr +i not supported here: {flag.stderr.strip()}")
    try:
        d.start()
        store = assert_temporary(d, "read-only database")
        assert "read-only" in store["last_error"], store
        assert before in queued_ids(d)
    finally:
        subprocess.run(["chattr", "-i", str(d.database)], check=True)
    # Writable again: the writer re-opens it by itself.
    after = wait_until(lambda: (out := ctl_submit(d)).returncode == 0 and out,
                       what="a submission after the database became writable")
    assert {before, submitted_id(after)} <= queued_ids(d)
    assert d.result({"cmd": "stats"})["store"]["reopens"] >= 1


def test_moved_database_is_temporary_until_it_is_back(daemon):
    d = daemon()
    before = submitted_id(ctl_submit(d))
    lib = d.database.parent
    moved = lib.with_name("lib.moved")
    lib.rename(moved)
    try:
        store = assert_temporary(d, "moved database")
        assert "no longer the file" in store["last_error"], store
        assert not lib.exists(), "a re-open must not create an empty queue in its place"
    finally:
        moved.rename(lib)
    after = wait_until(lambda: (out := ctl_submit(d)).returncode == 0 and out,
                       what="a submission after the database came back")
    assert {before, submitted_id(after)} <= queued_ids(d)
    d.stop()
    d.start()
    assert {before, submitted_id(after)} <= queued_ids(d), "what was acknowledged is in the database"


def corrupt_pages_after_the_first(path):
    """Every page but the schema's page 1 overwritten: the tables' b-trees
    are garbage, the header still says SQLite."""
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big") or 65536
    assert len(data) > page_size, "the database has more than one page"
    data[page_size:] = b"\xa5" * (len(data) - page_size)
    path.write_bytes(bytes(data))


def test_corrupted_page_is_temporary(daemon):
    d = daemon()
    submitted_id(ctl_submit(d))
    d.stop()  # the WAL is checkpointed into the file and removed
    corrupt_pages_after_the_first(d.database)
    d.start()
    store = assert_temporary(d, "corrupted database")
    assert "malformed" in store["read_error"], store
    out = d.ctl("stats")
    assert out.returncode == 0 and "cannot be read" in out.stdout and "errors since start" in out.stdout, out


def test_second_daemon_on_one_queue_is_refused_and_leaves_the_first_alone(daemon):
    """Issue 12 item 9: two daemons on one queue.db would each deliver the
    other's mail; and a second daemon whose start fails must not unlink the
    first one's control socket."""
    first = daemon()
    queued = submitted_id(ctl_submit(first))
    second = daemon(start=False)
    second.write_config({"queue": {"database": first.database},
                         "control": {"socket": first.control_socket}})
    second.start(wait=False)
    rc = second.proc.wait(15)
    assert rc == 69, rc  # EX_UNAVAILABLE
    log = second.log_text()
    assert "in use by another mailqd" in log and str(first.database) in log, log
    assert first.control_socket.exists(), "the live daemon's control socket was removed"
    assert queued in queued_ids(first)
    # A second daemon on another queue but the same control socket path.
    third = daemon(start=False)
    third.write_config({"control": {"socket": first.control_socket}})
    third.start(wait=False)
    assert third.proc.wait(15) == 69
    assert "in use by another process" in third.log_text()
    assert first.control_socket.exists(), "the live daemon's control socket was removed"
    assert queued in queued_ids(first)


def test_queue_files_are_private_whatever_the_umask(daemon):
    """Issue 12 item 9: run by hand under umask 022, the database and its
    -wal and -shm files must still be the daemon's alone."""
    old = os.umask(0o022)
    try:
        d = daemon()
    finally:
        os.umask(old)
    submitted_id(ctl_submit(d))
    for name in ("queue.db", "queue.db-wal", "queue.db-shm", "queue.db.lock"):
        path = d.database.parent / name
        assert path.exists(), path
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (name, oct(path.stat().st_mode))


def test_unreadable_message_is_deferred_not_retried_at_once(daemon, tmp_path):
    """A queued message whose text cannot be read (damaged overflow pages)
    is deferred with the backoff and the reason, not handed back to be read
    again on the scheduler's next pass (every 25 ms)."""
    closed = free_port()
    d = daemon(sections={"relay.default": {"port": closed, "timeout": "5s"}})
    marker = b"UNREADABLE-BODY-"
    body = ((marker * 4).decode() + "\r\n") * 5000  # 330 KB: on overflow pages of its own
    out = d.ctl("submit", "-f", "a@example.org", "b@example.org",
                input=f"From: a@example.org\r\nSubject: big\r\n\r\n{body}".encode())
    qid = submitted_id(out)
    wait_until(lambda: d.show(qid)["recipients"][0]["state"] == "deferred", what="the first attempt")
    d.stop()  # the WAL is checkpointed into the file and removed
    data = bytearray(d.database.read_bytes())
    page_size = int.from_bytes(data[16:18], "big") or 65536
    # Every overflow page of the text (nothing but text after its 4-byte
    # next-page number) gets a next-page number past the end of the file.
    line = (marker * 4) + b"\r\n"
    windows = {(line * 4)[i:i + 64] for i in range(len(line))}
    overflow = [p for p in range(page_size, len(data), page_size) if bytes(data[p + 4:p + 68]) in windows]
    assert len(overflow) > 10, len(overflow)
    for p in overflow:
        data[p:p + 4] = b"\xff\xff\xff\xff"
    d.database.write_bytes(bytes(data))
    with start_aiosmtpd(tmp_path / "srv") as srv:
        d.write_config({"relay.default": {"port": srv.port, "timeout": "5s"}})
        d.start()
        assert d.ctl("retry", qid).returncode == 0
        wait_until(lambda: "cannot be read" in d.show(qid)["recipients"][0]["last_reply"],
                   what="the unreadable message deferred")
        recipient = d.show(qid)["recipients"][0]
        assert recipient["state"] == "deferred", recipient
        assert "the queued message cannot be read" in recipient["last_reply"], recipient
        log = d.log_text()
        assert log.count(f"{qid}: the queued message cannot be read") == 1, log[-2000:]
        assert srv.messages() == []  # nothing half-read was sent
        d.stop()  # before its relay goes
