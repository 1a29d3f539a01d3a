"""The spool directory door (DESIGN.md section 3.2): files renamed into
SPOOL/incoming are queued at once, files already there at start-up too,
bad ones land in bad/ with a reason, dot-files are ignored, and a file
committed before a crash is not queued twice."""

import os
import pwd
import signal
import subprocess

import pytest

from conftest import spool_drop, wait_until

GOOD = ("From: Alice <alice@example.com>\n"
        "To: Bob <bob@example.org>\n"
        "Cc: carol@example.org\n"
        "Bcc: secret@example.net\n"
        "Subject: spool test\n"
        "\n"
        "Hello from the spool.\n")


def incoming(d):
    return sorted(os.listdir(d.spool / "incoming"))


def bad(d):
    return sorted(os.listdir(d.spool / "bad"))


def test_renamed_file_is_queued_and_removed(daemon):
    d = daemon()
    path = spool_drop(d.spool, "msg1", GOOD)
    messages = wait_until(lambda: d.list(), what="the spool file to be queued")
    wait_until(lambda: not path.exists(), what="the spool file to be removed")
    assert len(messages) == 1
    m = messages[0]
    assert m["sender"] == "alice@example.com"
    assert sorted(r["address"] for r in m["recipients"]) == \
        ["bob@example.org", "carol@example.org", "secret@example.net"]
    assert m["submitter"] == pwd.getpwuid(os.getuid()).pw_name
    raw = d.show(m["id"], raw=True)["raw"]
    headers = raw.split("\r\n\r\n", 1)[0].lower()
    assert "\nbcc:" not in "\n" + headers
    assert "secret@example.net" not in raw
    assert "\ndate:" in "\n" + headers
    assert "\nmessage-id:" in "\n" + headers
    assert raw.endswith("Hello from the spool.\r\n")
    assert "\n" not in raw.replace("\r\n", "")  # CRLF-normalised
    assert m["size"] == len(raw.encode())
    d.wait_log(f"{m['id']}: from=<alice@example.com>")
    assert "door=spool" in d.log_text()
    assert incoming(d) == [] and bad(d) == []


def test_sender_header_wins_over_from(daemon):
    d = daemon()
    spool_drop(d.spool, "msg", "From: a@example.com\nSender: list@example.com\nTo: b@example.org\n\nx\n")
    m = wait_until(lambda: d.list(), what="queued")[0]
    assert m["sender"] == "list@example.com"


def test_files_present_before_start_are_queued(daemon):
    d = daemon(start=False)
    for sub in ("tmp", "incoming", "bad"):
        (d.spool / sub).mkdir(parents=True, exist_ok=True)
    for i in range(5):
        spool_drop(d.spool, f"early{i}", GOOD.replace("spool test", f"early {i}"))
    d.start()
    wait_until(lambda: len(d.list()) == 5, what="five queued messages")
    wait_until(lambda: incoming(d) == [], what="incoming/ to be empty")
    d.stop()


def test_bad_files_are_quarantined_with_a_reason(daemon):
    d = daemon(sections={"queue": {"max_message_size": "2K"}})
    spool_drop(d.spool, "norcpt", "From: a@example.com\nSubject: nobody\n\nbody\n")
    spool_drop(d.spool, "garbage", "From: a@example.com\nTo: b@example.org\nthis is no header line\n\nbody\n")
    spool_drop(d.spool, "huge", GOOD + "x" * 5000 + "\n")
    expected = ["garbage", "garbage.reason", "huge", "huge.reason", "norcpt", "norcpt.reason"]
    wait_until(lambda: bad(d) == expected, what="three files in bad/")
    assert incoming(d) == []
    for name in ("norcpt", "garbage", "huge"):
        reason = (d.spool / "bad" / f"{name}.reason").read_text().strip()
        assert reason, name
        d.wait_log(f"spool file {name}: moved to bad/")
    assert "recipient" in (d.spool / "bad" / "norcpt.reason").read_text().lower()
    assert d.list() == []
    # The daemon is still fine: a good file after the bad ones is queued.
    spool_drop(d.spool, "good", GOOD)
    wait_until(lambda: len(d.list()) == 1, what="the good file")


def test_file_name_cannot_forge_a_log_line(daemon):
    """Issue 12 item 9: a spool file's name is outside text; a newline in it
    must not start a log line of its own."""
    d = daemon()
    name = "evil\nmailqd: FORGED line"
    spool_drop(d.spool, name, "From: a@example.com\nSubject: nobody\n\nbody\n")
    d.wait_log("spool file evil?mailqd: FORGED line: moved to bad/")
    assert "\nmailqd: FORGED" not in d.log_text()


def test_dot_files_are_ignored(daemon):
    d = daemon()
    spool_drop(d.spool, ".hidden", GOOD)
    spool_drop(d.spool, "visible", GOOD)
    wait_until(lambda: len(d.list()) == 1, what="the visible file")
    wait_until(lambda: incoming(d) == [".hidden"], what="only the dot-file left")
    d.restart()  # nor at start-up
    assert len(d.list()) == 1
    assert incoming(d) == [".hidden"]


def test_file_written_in_place_is_taken_on_close(daemon):
    # Not the documented protocol, but IN_CLOSE_WRITE covers it.
    d = daemon()
    with open(d.spool / "incoming" / "direct", "w") as f:
        f.write(GOOD)
    wait_until(lambda: len(d.list()) == 1, what="the file written in place")


def set_immutable(path, on):
    r = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True)
    return r.returncode == 0


def test_file_left_after_commit_is_not_queued_twice(daemon):
    # A crash between commit and unlink leaves the very same file (name,
    # inode, size, mtime) in incoming/. Reproduce that state exactly: make
    # the file immutable so the unlink after the commit fails, kill -9,
    # lift the flag and start again.
    d = daemon(start=False)
    for sub in ("tmp", "incoming", "bad"):
        (d.spool / sub).mkdir(parents=True, exist_ok=True)
    path = spool_drop(d.spool, "once", GOOD)
    if not set_immutable(path, True):
        pytest.skip("chattr +i is not available here")
    try:
        d.start()
        d.wait_log("spool file once: queued but not removed")
        first = d.list()
        assert len(first) == 1
        d.kill9()
    finally:
        set_immutable(path, False)
    assert path.exists()
    d.start()
    wait_until(lambda: not path.exists(), what="the left-over file to be removed")
    assert [m["id"] for m in d.list()] == [first[0]["id"]]
    d.wait_log(f"{first[0]['id']}: spool file once was queued already")
    assert bad(d) == []

    # A different file with the same name is a new message.
    spool_drop(d.spool, "once", GOOD.replace("spool test", "another"))
    wait_until(lambda: len(d.list()) == 2, what="the new file with the old name")
    d.stop()


def test_hard_linked_file_is_refused(daemon):
    # A second link could be a file the submitter does not own. (link()
    # raises no event the watcher follows; the start-up scan finds it.)
    d = daemon(start=False)
    for sub in ("tmp", "incoming", "bad"):
        (d.spool / sub).mkdir(parents=True, exist_ok=True)
    other = d.root / "elsewhere"
    other.write_text(GOOD)
    os.link(other, d.spool / "incoming" / "linked")
    d.start()
    wait_until(lambda: "linked" in bad(d), what="the linked file in bad/")
    assert d.list() == []


def test_many_files_at_once(daemon):
    d = daemon()
    for i in range(200):
        spool_drop(d.spool, f"bulk{i:03}", GOOD.replace("spool test", f"bulk {i}"))
    wait_until(lambda: len(d.list()) == 200, timeout=30, what="200 queued messages")
    wait_until(lambda: incoming(d) == [], what="incoming/ to be empty")
    d.signal(signal.SIGTERM)
    assert d.proc.wait(15) == 0


def test_reload_applies_the_size_limit(daemon):
    d = daemon()
    big = GOOD + "y" * 3000 + "\n"
    spool_drop(d.spool, "before", big)
    wait_until(lambda: len(d.list()) == 1, what="the file under the old limit")
    d.write_config({"queue": {"max_message_size": "1K"}})
    d.signal(signal.SIGHUP)
    d.wait_log("reloaded")
    spool_drop(d.spool, "after", big)
    wait_until(lambda: "after.reason" in bad(d), what="the file over the new limit in bad/")
    assert len(d.list()) == 1


def test_eight_bit_message_comes_back_exactly(daemon):
    import base64
    d = daemon()
    spool_drop(d.spool, "latin1", b"From: a@example.com\nTo: b@example.org\nSubject: caf\xe9\n\nna\xefve\n")
    m = wait_until(lambda: d.list(), what="queued")[0]
    shown = d.show(m["id"], raw=True)
    data = base64.b64decode(shown["raw_base64"])
    assert data.endswith(b"Subject: caf\xe9\r\n\r\nna\xefve\r\n")
    assert len(data) == m["size"]
    assert "raw_base64" not in d.show(queue_one_ascii(d), raw=True)


def queue_one_ascii(d):
    spool_drop(d.spool, "ascii", GOOD)
    wait_until(lambda: len(d.list()) == 2, what="the second message")
    return next(m["id"] for m in d.list() if m["sender"] == "alice@example.com")
