"""mailqd as a process: systemd notification, --check-config, signals,
reload, and the control socket's JSON (DESIGN.md sections 1 and 5)."""

import signal
import subprocess
import time

from conftest import MAILQD_BIN, SOURCE_DIR, spool_drop, wait_until


def check_config(path, cwd=None):
    return subprocess.run([MAILQD_BIN, "--check-config", "-c", str(path)],
                          capture_output=True, text=True, timeout=30, cwd=cwd)


MESSAGE = ("From: Alice <alice@example.com>\n"
           "To: bob@example.org, Carol <carol@example.org>\n"
           "Subject: hello\n"
           "\n"
           "body\n")


def queue_one(d, name="m1", text=MESSAGE):
    spool_drop(d.spool, name, text)
    return wait_until(lambda: d.list(), what="a queued message")[0]


def test_ready_and_stopping_are_notified(daemon):
    d = daemon()
    assert any("READY=1" in n.split("\n") for n in d.notifications)
    assert d.submit_socket.exists() and d.control_socket.exists()
    d.stop()
    assert any("STOPPING=1" in n.split("\n") for n in d.drain_notifications())
    assert "ready" in d.log_text()


def test_watchdog_pings_when_asked(daemon):
    d = daemon(env={"WATCHDOG_USEC": "400000"})
    d.wait_notification("WATCHDOG=1", timeout=3)


def test_check_config_shipped_files():
    for name in ("mailqd.dev.conf", "mailqd.conf"):
        path = SOURCE_DIR / "conf" / name
        r = check_config(path, cwd=SOURCE_DIR)
        assert r.returncode == 0, r.stderr
        assert f"{path}: ok" in r.stdout


def test_check_config_bad_file(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[queue]\nlifetime = forever\n\n[relay.x]\nhost = 127.0.0.1\n")
    r = check_config(bad)
    assert r.returncode == 78
    lines = (r.stdout + r.stderr).splitlines()
    assert any(str(bad) in line and "lifetime" in line for line in lines), lines


def test_bad_config_refuses_to_start(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[queue]\nno_such_key = 1\n")
    r = subprocess.run([MAILQD_BIN, "-c", str(bad)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 78
    assert "no_such_key" in r.stderr


def test_usage_version_help():
    r = subprocess.run([MAILQD_BIN, "--bogus"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 64
    r = subprocess.run([MAILQD_BIN, "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("mailqd ")
    r = subprocess.run([MAILQD_BIN, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "--check-config" in r.stdout


def test_sigterm_exits_zero_and_keeps_the_queue(daemon):
    d = daemon()
    queued = queue_one(d)
    d.stop()
    assert not d.control_socket.exists()
    d.start()
    assert [m["id"] for m in d.list()] == [queued["id"]]
    d.stop()


def test_stale_socket_is_replaced_after_kill9(daemon):
    d = daemon()
    d.kill9()
    assert d.submit_socket.exists()
    d.start()
    assert d.list() == []


def test_second_daemon_on_the_same_socket_is_refused(daemon):
    d = daemon()
    clash = daemon(start=False)
    clash.config_path.write_text(
        d.config_path.read_text().replace(str(d.database), str(clash.database))
        .replace(str(d.spool), str(clash.spool)))
    clash.start(wait=False)
    assert clash.proc.wait(10) != 0
    assert "submit.socket" in clash.log_text()
    assert d.list() == []  # the first one still answers


def test_sighup_invalid_config_keeps_serving(daemon):
    d = daemon()
    good = d.config_path.read_text()
    d.config_path.write_text(good + "\n[queue]\nretry_factor = lots\n")
    d.signal(signal.SIGHUP)
    d.wait_log("keeping the running config")
    assert "retry_factor" in d.log_text()
    queued = queue_one(d)
    assert queued["state"] == "queued"
    d.stop()


def reload_notifications(d):
    """The notifications after the first READY=1, RELOADING=1 first, up to
    and including the READY=1 that ends the reload."""
    d.wait_notification("RELOADING=1")
    start = next(i for i, n in enumerate(d.notifications) if "RELOADING=1" in n.split("\n"))
    wait_until(lambda: any("READY=1" in n.split("\n") for n in d.drain_notifications()[start:]),
               what="READY=1 after RELOADING=1")
    return d.notifications[start:]


def test_sighup_tells_systemd_reloading_then_ready(daemon):
    """RELOADING=1 then READY=1 with the status, so that systemctl status
    shows a reload and how the last one went."""
    d = daemon()
    d.signal(signal.SIGHUP)
    sent = reload_notifications(d)
    assert "STATUS=reloading the config" in sent[0].split("\n")
    assert "STATUS=accepting mail" in sent[-1].split("\n")
    d.notifications.clear()
    d.config_path.write_text(d.config_path.read_text() + "\n[queue]\nretry_factor = lots\n")
    d.signal(signal.SIGHUP)
    sent = reload_notifications(d)
    assert any("reload failed" in line for line in sent[-1].split("\n")), sent
    d.stop()


def test_sighup_changes_log_level(daemon):
    d = daemon(sections={"log": {"level": "info"}})
    bogus = d.request({"cmd": "bogus"})
    assert bogus["ok"] is False
    time.sleep(0.2)
    assert "unknown command bogus" not in d.log_text()  # a debug line
    d.write_config({"log": {"level": "debug"}})
    d.signal(signal.SIGHUP)
    d.wait_log("reloaded")
    d.request({"cmd": "bogus"})
    d.wait_log("unknown command bogus")
    # And back to warn: the info line of an accepted message disappears.
    d.write_config({"log": {"level": "warn"}})
    d.signal(signal.SIGHUP)
    time.sleep(0.5)
    before = d.log_text()
    queued = queue_one(d)
    time.sleep(0.2)
    assert f"{queued['id']}: from=<alice@example.com>" not in d.log_text()
    assert "door=spool" not in d.log_text()[len(before):]
    d.stop()


def test_sighup_warns_about_paths_that_need_a_restart(daemon):
    d = daemon()
    d.write_config({"queue": {"spool": d.root / "elsewhere"}})
    d.signal(signal.SIGHUP)
    d.wait_log("queue.spool changed")
    d.stop()


def test_accept_log_line(daemon):
    d = daemon()
    queued = queue_one(d)
    d.wait_log(f"{queued['id']}: from=<alice@example.com> size=")
    line = next(l for l in d.log_text().splitlines() if f"{queued['id']}: from=" in l)
    assert "nrcpt=2" in line and "door=spool" in line and "submitter=" in line


def test_control_list_show_stats(daemon):
    d = daemon()
    queued = queue_one(d)
    assert set(queued) >= {"id", "state", "received_at", "size", "sender", "submitter", "recipients"}
    assert queued["sender"] == "alice@example.com"
    assert queued["state"] == "queued"
    rcpt = queued["recipients"][0]
    assert set(rcpt) >= {"address", "state", "attempts", "next_attempt_at", "last_reply"}
    assert rcpt["next_attempt_at"] is None
    assert sorted(r["address"] for r in queued["recipients"]) == ["bob@example.org", "carol@example.org"]

    shown = d.show(queued["id"])
    assert shown["id"] == queued["id"] and shown["attempts"] == []
    raw = d.show(queued["id"], raw=True)["raw"]
    assert "Subject: hello\r\n" in raw

    assert d.list("queued")[0]["id"] == queued["id"]
    assert d.list("sent") == []

    stats = d.result({"cmd": "stats"})
    assert set(stats) == {"queue", "relays", "mailboxes", "submit"}
    q = stats["queue"]
    assert {k: q[k] for k in ("queued", "deferred", "held", "sent", "failed")} == \
        {"queued": 1, "deferred": 0, "held": 0, "sent": 0, "failed": 0}
    assert "oldest_age_s" in q
    assert [r["name"] for r in stats["relays"]] == ["default"]
    assert set(stats["relays"][0]) == {"name", "in_flight", "sent", "failed", "deferred",
                                       "last_success_at", "last_error"}
    assert stats["mailboxes"] == []


def test_control_steering_and_errors(daemon):
    d = daemon()
    queued = queue_one(d)
    qid = queued["id"]
    assert d.result({"cmd": "hold", "ids": [qid]}) == {"ids": [qid]}
    assert d.show(qid)["state"] == "held"
    assert d.result({"cmd": "release", "all": True})["ids"] == [qid]
    assert d.show(qid)["state"] == "queued"

    reply = d.request({"cmd": "hold", "ids": [qid, "NOSUCHID"]})
    assert reply == {"ok": False, "kind": 67, "error": "unknown queue ID NOSUCHID"}
    assert d.show(qid)["state"] == "held"  # the known one was applied

    reply = d.request({"cmd": "show", "id": "NOSUCHID"})
    assert reply["ok"] is False and reply["kind"] == 67

    reply = d.request({"cmd": "frobnicate"})
    assert reply["ok"] is False and reply["kind"] == 64
    reply = d.request({"cmd": "list", "state": "weird"})
    assert reply["ok"] is False and reply["kind"] == 64
    reply = d.request({"cmd": "fetch"})
    assert reply["ok"] is False and reply["kind"] == 67 and "no mailboxes" in reply["error"]

    assert d.result({"cmd": "delete", "ids": [qid]}) == {"ids": [qid]}
    assert d.list() == []


def test_control_garbage_and_oversized_requests(daemon):
    import socket as pysocket
    d = daemon()
    with pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM) as s:
        s.connect(str(d.control_socket))
        s.sendall(b"this is not json\n{\"cmd\":\"list\"}\n")
        f = s.makefile("rb")
        first = f.readline()
        second = f.readline()
    assert b'"ok":false' in first and b'"kind":64' in first
    assert second.strip() == b'{"ok":true,"result":[]}'

    with pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM) as s:
        s.connect(str(d.control_socket))
        s.settimeout(10)
        try:
            s.sendall(b"x" * (1 << 20) + b"yyyy")
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    assert b'"ok":false' in data and b"larger than" in data
    assert d.list() == []  # still serving


def test_journal_stream_drops_timestamps(daemon):
    # Under systemd journald stamps each line; mailqd prefixes <N> priorities.
    d = daemon(env={"JOURNAL_STREAM": "8:12345"})
    d.wait_log("ready")  # READY=1 goes out just before the log line
    lines = d.log_text().splitlines()
    assert all(line.startswith("<") for line in lines), lines
    ready = [line for line in lines if "ready" in line]
    assert ready and ready[0].startswith("<6>mailqd "), lines
    d.request({"cmd": "bogus"})
    d.wait_log("<7>control bogus: unknown command bogus")
    d.stop()


def test_socket_modes_and_created_directories(daemon):
    import os
    import stat
    d = daemon(start=False)
    nested = d.root / "state" / "deeper" / "queue.db"
    d.write_config({"queue": {"database": nested},
                    "submit": {"socket_mode": "0666"},
                    "control": {"socket_mode": "0600"}})
    d.start()
    assert stat.S_IMODE(os.stat(d.submit_socket).st_mode) == 0o666
    assert stat.S_IMODE(os.stat(d.control_socket).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(nested.parent).st_mode) == 0o750
    assert nested.exists()
    d.stop()
