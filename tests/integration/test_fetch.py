"""POP3 fetch through the real daemon: [mailbox.NAME] sections pulled at
start-up, `mailqctl fetch [NAME...]` (waits, prints "NAME: N new"),
`mailqctl stats` per mailbox, against Dovecot on loopback (pop3_servers.py).
"""

import json
import os
import signal

from conftest import wait_until
from pop3_servers import TEST_PASSWORD, TEST_USER, sample_message


def secret_file(directory, secret):
    path = directory / f"secret-{abs(hash(secret))}"
    path.write_text(secret + "\n")
    os.chmod(path, 0o600)
    return path


def mailbox_section(dovecot, maildir, password_file, **extra):
    section = {"host": "127.0.0.1", "port": dovecot.pop3_port, "tls": "none", "username": TEST_USER,
               "password_file": password_file, "maildir": maildir, "interval": "1h", "keep": "no"}
    section.update(extra)
    return section


def stats_for(d, name):
    out = d.ctl("stats", "--json")
    assert out.returncode == 0, out.stderr
    return next(m for m in json.loads(out.stdout)["mailboxes"] if m["name"] == name)


def new_files(maildir):
    path = maildir / "new"
    return sorted(path.iterdir()) if path.exists() else []


def test_pulls_at_start_and_on_mailqctl_fetch(daemon, dovecot, tmp_path):
    messages = [sample_message(i) for i in range(40)]
    dovecot.add_messages(messages)
    maildir = tmp_path / "mail" / "qq"
    d = daemon({"mailbox.qq": mailbox_section(dovecot, maildir, secret_file(tmp_path, TEST_PASSWORD))})
    # The start-up pull.
    wait_until(lambda: stats_for(d, "qq")["fetched"] == 40, timeout=30, what="start-up pull")
    assert sorted(p.read_bytes() for p in new_files(maildir)) == sorted(messages)
    assert dovecot.server_messages() == []
    qq = stats_for(d, "qq")
    assert qq["last_error"] is None and qq["last_fetch_at"]
    d.wait_log("mailbox=qq server=127.0.0.1")

    out = d.ctl("fetch", "qq")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "qq: 0 new\n"

    dovecot.add_messages([sample_message(100), sample_message(101), sample_message(102)])
    out = d.ctl("fetch")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "qq: 3 new\n"
    assert len(new_files(maildir)) == 43
    assert stats_for(d, "qq")["fetched"] == 43
    d.stop()


def test_failing_mailbox_reports_and_does_not_hold_up_others(daemon, dovecot, tmp_path):
    dovecot.add_messages([sample_message(i) for i in range(5)])
    good_dir, bad_dir = tmp_path / "good", tmp_path / "bad"
    d = daemon({
        "mailbox.bad": mailbox_section(dovecot, bad_dir, secret_file(tmp_path, "wrong-password"), keep="yes"),
        "mailbox.good": mailbox_section(dovecot, good_dir, secret_file(tmp_path, TEST_PASSWORD), keep="yes"),
    })
    wait_until(lambda: stats_for(d, "good")["fetched"] == 5, timeout=30, what="good mailbox pulled")
    wait_until(lambda: stats_for(d, "bad")["last_error"], timeout=30, what="bad mailbox error")
    assert "login failed" in stats_for(d, "bad")["last_error"]
    assert new_files(bad_dir) == []
    assert len(dovecot.server_messages()) == 5  # keep = yes, and the bad login deleted nothing

    out = d.ctl("fetch", "bad", "good")
    assert out.returncode == 75, (out.returncode, out.stdout, out.stderr)
    assert "good: 0 new" in out.stdout
    assert "bad" in out.stderr and "login failed" in out.stderr
    assert "wrong-password" not in d.log_text()

    out = d.ctl("fetch", "nosuch")
    assert out.returncode == 67, out.stderr
    d.stop()


def test_stls_mailbox_with_test_ca(daemon, dovecot, pki, tmp_path):
    dovecot.add_messages([sample_message(i) for i in range(3)])
    maildir = tmp_path / "tls"
    d = daemon({"mailbox.tls": mailbox_section(dovecot, maildir, secret_file(tmp_path, TEST_PASSWORD),
                                               tls="starttls", ca_file=pki.ca_cert)})
    wait_until(lambda: stats_for(d, "tls")["fetched"] == 3, timeout=30, what="STLS pull")
    assert stats_for(d, "tls")["last_error"] is None
    d.stop()


def test_mailbox_added_on_reload_is_pulled(daemon, dovecot, tmp_path):
    dovecot.add_messages([sample_message(i) for i in range(3)])
    d = daemon()
    out = d.ctl("fetch")
    assert out.returncode == 67, (out.stdout, out.stderr)  # no mailboxes configured
    maildir = tmp_path / "later"
    d.write_config({"mailbox.later": mailbox_section(dovecot, maildir, secret_file(tmp_path, TEST_PASSWORD))})
    d.signal(signal.SIGHUP)
    d.wait_log("1 mailboxes")
    wait_until(lambda: len(new_files(maildir)) == 3, timeout=30, what="pull after reload")
    out = d.ctl("fetch", "later")
    assert out.returncode == 0 and out.stdout == "later: 0 new\n", (out.stdout, out.stderr)
    d.stop()


def test_symlinked_maildir_is_refused_and_nothing_reaches_the_spool(daemon, dovecot, tmp_path):
    """Issue 12 item 2: the owner of a home Maildir links its new/ to mailqd's
    spool incoming/ and its tmp/ to the spool's tmp/. Fetched mail would be
    taken in as submissions and relayed to whatever its headers say. The
    Maildir is refused with one error line per pull, the server is not
    touched (nothing DELEd), and nothing reaches the spool or the queue."""
    messages = [sample_message(i) for i in range(3)]
    dovecot.add_messages(messages)
    d = daemon()
    maildir = tmp_path / "home" / "Maildir"
    (maildir / "cur").mkdir(parents=True)
    os.symlink(d.spool / "incoming", maildir / "new")
    os.symlink(d.spool / "tmp", maildir / "tmp")
    d.write_config({"mailbox.qq": mailbox_section(dovecot, maildir, secret_file(tmp_path, TEST_PASSWORD))})
    d.signal(signal.SIGHUP)
    d.wait_log("1 mailboxes")

    refusal = f"maildir {maildir}: new is a symbolic link, refusing"
    out = d.ctl("fetch", "qq")  # waits for a whole pull
    assert out.returncode == 75, (out.returncode, out.stdout, out.stderr)
    assert refusal in out.stderr
    qq = stats_for(d, "qq")
    assert qq["last_error"] == refusal and qq["fetched"] == 0
    assert len(dovecot.server_messages()) == 3
    assert sorted(os.listdir(d.spool / "incoming")) == [] and sorted(os.listdir(d.spool / "tmp")) == []
    assert d.list() == []
    lines = [line for line in d.log_text().splitlines() if "mailbox=qq" in line]
    assert lines and all(" error: " in line and refusal in line for line in lines), lines
    d.stop()
