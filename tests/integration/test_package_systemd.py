"""The .deb under a real systemd (issue 20): the package is built with
cpack, installed with `apt-get install ./mailqd_*.deb` into a minimal
Debian 12 (debootstrap --variant=minbase, cached under the build directory)
booted with `systemd-nspawn -b`, and checked through systemctl and
journalctl inside, as an admin would:

  install      sysusers' users, the config 0644, nothing started yet, and
               no /bin/kill on the system (the reload must not need one)
  enable       `systemctl enable --now` reaches active after READY=1, with
               the status "accepting mail" and the watchdog set
  sendmail     root and an ordinary user (in no group) send with
               `sendmail -t`; the relay (aiosmtpd on the host loopback)
               receives both; an unreadable config gets one clear line
  tcp door     submit.listen identifies its loopback peer (NETLINK_SOCK_DIAG
               under RestrictAddressFamilies)
  reload       `systemctl reload` applies a changed relay; a config the
               daemon would refuse makes it fail and keeps the daemon as it was
  restart      `systemctl restart` with deferred mail loses none of it
  watchdog     a daemon frozen with SIGSTOP is killed and restarted
  hardening    POP3 fetching into /var/mail/NAME (Dovecot on the host),
               a bounce and the spool door work under the unit's sandbox
  purge        `apt-get purge` removes the units; /var/lib/mailqd stays
               while it holds undelivered mail, and goes once it does not

The tests share one machine and run in file order, each starting from the
state the one before left. Needs root, debootstrap and systemd-nspawn
(scripts/setup installs them); where containers cannot run, every test
skips with the reason, which ctest marks as skipped and scripts/test
prints in CI's log.
"""

import json
import os
import shutil
import smtplib
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, free_port, wait_until
from pop3_servers import TEST_PASSWORD, TEST_USER, Dovecot, sample_message
from smtp_servers import start_aiosmtpd, start_fake_server
from systemd_machine import CannotRun, Machine, build_tree, deb_dependencies, make_workdir

BUILD_DIR = Path(os.environ.get("MAILQD_BUILD_DIR", SOURCE_DIR / "build"))
CACHE_DIR = BUILD_DIR / "package-test"
UNIT = "mailqd.service"
CONF = "/etc/mailqd/mailqd.conf"
SENDMAIL = "/usr/libexec/mailqd/sendmail"
PLAIN_USER = "plainuser"
HOSTNAME = "mailqd-test.example"
BOUNCED_SENDER = "bounce-me@example.com"
WAIT = 30.0  # the deadline of every wait for a state


def skip_line(reason):
    """Skips with a line that ctest's SKIP_REGULAR_EXPRESSION knows (the
    ctest runs pytest with -rs) and scripts/test prints from ctest's log."""
    pytest.skip(f"mailqd package test skipped: {reason}")


def run(*args, timeout=600, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)


# ---- the package, the tree, the machine ----

@pytest.fixture(scope="module")
def deb():
    if os.geteuid() != 0:
        skip_line("booting a container needs root")
    for tool in ("debootstrap", "systemd-nspawn", "nsenter", "cpack", "dpkg-deb"):
        if not shutil.which(tool):
            skip_line(f"{tool} is not installed (scripts/setup installs debootstrap and systemd-container)")
    out = CACHE_DIR / "deb"
    shutil.rmtree(out, ignore_errors=True)
    r = run("cpack", "-G", "DEB", "--config", BUILD_DIR / "CPackConfig.cmake", "-B", out)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = list(out.glob("mailqd_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


@pytest.fixture(scope="module")
def tree(deb):
    try:
        return build_tree(CACHE_DIR, deb_dependencies(deb))
    except CannotRun as e:
        skip_line(str(e))


@pytest.fixture(scope="module")
def relays(tmp_path_factory):
    """Two aiosmtpd relays (the second one is what a reload switches to), a
    scripted relay that refuses every recipient with 550 (mail from
    BOUNCED_SENDER is routed there), and a port where nothing listens (a
    relay that is down)."""
    base = tmp_path_factory.mktemp("relays")
    first = start_aiosmtpd(base / "first")
    second = start_aiosmtpd(base / "second")
    bouncer = start_fake_server(base / "bouncer", rcpt={"*": "550 5.1.1 no such user here"})
    try:
        yield {"first": first, "second": second, "bouncer": bouncer, "dead": free_port()}
    finally:
        for server in (first, second, bouncer):
            server.stop()


@pytest.fixture(scope="module")
def dovecot():
    server = Dovecot().start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def machine(tree):
    m = Machine(tree, make_workdir(), f"mailqd-test-{os.getpid()}")
    try:
        m.start()
    except BaseException as e:
        m.stop()  # whatever went wrong, no machine or mount is left behind
        if isinstance(e, CannotRun):
            skip_line(str(e))
        raise
    try:
        yield m
    finally:
        if os.environ.get("MAILQD_KEEP_MACHINE_LOG"):
            print(m.run("journalctl", "--no-pager", "-b", check=False).stdout[-20000:])
        m.stop()


class Setup:
    """What the tests share: the machine, the servers, the config's knobs."""

    def __init__(self, machine, deb, relays, dovecot):
        self.m, self.deb, self.relays, self.dovecot = machine, deb, relays, dovecot
        self.relay_port = relays["first"].port
        self.tcp_port = free_port()

    @property
    def relay(self):
        """The aiosmtpd that the config's main relay names, if any."""
        for name in ("first", "second"):
            if self.relays[name].port == self.relay_port:
                return self.relays[name]
        return None

    def config(self, relay_port=None, broken=False):
        if relay_port is not None:
            self.relay_port = relay_port
        text = f"""\
# Written by tests/integration/test_package_systemd.py
[queue]
hostname = {HOSTNAME}
retry_initial = 1h

[submit]
listen = 127.0.0.1:{self.tcp_port}

# A relay takes mail from the senders it names, the first match in file
# order: the one that bounces everything comes before the catch-all.
[relay.bouncer]
host = 127.0.0.1
port = {self.relays["bouncer"].port}
tls = none
senders = {BOUNCED_SENDER}

[relay.main]
host = 127.0.0.1
port = {self.relay_port}
tls = none

[mailbox.{TEST_USER}]
host = 127.0.0.1
port = {self.dovecot.pop3_port}
tls = none
username = {TEST_USER}
password_file = /etc/mailqd/{TEST_USER}.secret
maildir = /var/mail/{TEST_USER}
interval = 1h
"""
        if broken:
            text += "\n[relay.broken]\nhost = 127.0.0.1\nport = not-a-port\n"
        # Written in place, as an editor would: the file keeps its mode.
        with open(self.m.path(CONF), "w") as f:
            f.write(text)

    def send(self, subject, user=None, to="rcpt@example.org", sender=None, check=True):
        message = f"From: {sender or 'someone@example.com'}\nTo: {to}\nSubject: {subject}\n\nbody of {subject}\n"
        args = [SENDMAIL, "-t"] + (["-f", sender] if sender else [])
        return self.m.run(*args, user=user, input=message, check=check)

    def queue(self):
        return json.loads(self.m.run("mailqctl", "list", "--json").stdout)

    def active(self):
        return self.m.show(UNIT, "ActiveState", "SubState", "MainPID", "StatusText", "NRestarts")

    def retry_until(self, condition, what):
        """`mailqctl retry --all` (the reload may not have been applied yet
        the first time) until condition holds."""
        def retried():
            self.m.run("mailqctl", "retry", "--all")
            return condition()
        return wait_until(retried, WAIT, what, interval=0.5)

    def wait_running(self, what, not_pid=None):
        def ready():
            s = self.active()
            return (s["ActiveState"] == "active" and s["StatusText"] == "accepting mail"
                    and (not_pid is None or s["MainPID"] not in ("0", not_pid))) and s
        return wait_until(ready, WAIT, what, interval=0.2)


def received(server, subject):
    return [m for m in server.messages() if f"Subject: {subject}".encode() in m["data"]]


def wait_received(server, subject, count=1):
    return wait_until(lambda: len(received(server, subject)) >= count and received(server, subject),
                      WAIT, f"{count} message(s) '{subject}' at the relay on port {server.port}")


@pytest.fixture(scope="module")
def s(machine, deb, relays, dovecot):
    return Setup(machine, deb, relays, dovecot)


# ---- the checks, in order ----

def test_install_from_the_deb(s):
    m = s.m
    assert not m.path("/bin/kill").exists() and not m.path("/usr/bin/kill").exists(), \
        "the minimal system has a kill binary: the reload check proves nothing"
    shutil.copy(s.deb, m.path("/root") / s.deb.name)
    r = m.run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
              "--no-install-recommends", f"/root/{s.deb.name}", timeout=300)
    assert "Setting up mailqd" in r.stdout, r.stdout
    for entry in (["passwd", "mailqd"], ["group", "mailqd"], ["group", "mailqd-admin"]):
        m.run("getent", *entry)
    assert "mailqd-admin" in m.run("id", "-nG", "mailqd").stdout
    # Readable by every user's sendmail, as Postfix's main.cf: no secrets in it.
    assert m.run("stat", "-c", "%a %U %G", CONF).stdout.split() == ["644", "root", "root"]
    # An upgrade from a version that made it 0640 root:mailqd opens it up.
    m.run("chown", "root:mailqd", CONF)
    m.run("chmod", "0640", CONF)
    m.run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--reinstall",
          f"/root/{s.deb.name}", timeout=300)
    assert m.run("stat", "-c", "%a %U %G", CONF).stdout.split() == ["644", "root", "root"]
    # A first install leaves starting to the admin, who must configure a relay.
    assert m.run("systemctl", "is-enabled", UNIT, check=False).stdout.strip() == "disabled"
    assert m.run("systemctl", "is-active", UNIT, check=False).stdout.strip() == "inactive"
    m.run("systemd-analyze", "verify", "--man=no", UNIT)


def test_enable_now_reaches_ready(s):
    m = s.m
    secret = f"/etc/mailqd/{TEST_USER}.secret"
    m.run("install", "-m", "0600", "-o", "mailqd", "-g", "mailqd", "/dev/null", secret)
    m.path(secret).write_text(TEST_PASSWORD + "\n")
    # As the README says: a Maildir under /var/mail belongs to mailqd.
    m.run("install", "-d", "-o", "mailqd", "-g", "mailqd", "-m", "0700", f"/var/mail/{TEST_USER}")
    s.config()
    m.run("mailqd", "--check-config", CONF)
    # Type=notify: enable --now returns once READY=1 came (or fails).
    m.run("systemctl", "enable", "--now", UNIT, timeout=120)
    state = s.active()
    assert (state["ActiveState"], state["SubState"]) == ("active", "running"), state
    assert state["StatusText"] == "accepting mail", state
    assert m.run("stat", "-c", "%U", f"/proc/{state['MainPID']}").stdout.strip() == "mailqd"
    props = m.show(UNIT, "WatchdogUSec", "User", "NotifyAccess", "Type", "UnitFileState")
    assert props == {"WatchdogUSec": "30s", "User": "mailqd", "NotifyAccess": "main",
                     "Type": "notify", "UnitFileState": "enabled"}, props


def test_root_and_an_ordinary_user_send_with_sendmail(s):
    m = s.m
    m.run("useradd", "-M", "-s", "/bin/sh", PLAIN_USER)
    assert m.run("id", "-nG", PLAIN_USER).stdout.split() == [PLAIN_USER]  # in no other group
    s.send("from root")
    r = s.send("from a user", user=PLAIN_USER, check=False)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    root_mail = wait_received(s.relay, "from root")[0]
    user_mail = wait_received(s.relay, "from a user")[0]
    assert root_mail["rcpt_tos"] == user_mail["rcpt_tos"] == ["rcpt@example.org"]
    submitters = {e["submitter"] for e in s.queue()}
    assert {"root", PLAIN_USER} <= submitters, submitters
    # The user's mailq works too (it shows the user's own message).
    r = m.run("/usr/libexec/mailqd/mailq", user=PLAIN_USER, check=False)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)


def test_an_unreadable_config_is_one_clear_line(s):
    m = s.m
    m.run("chmod", "0600", CONF)
    try:
        r = m.run("mailqctl", "-c", CONF, "list", user=PLAIN_USER, check=False)
        assert r.returncode == 78, (r.returncode, r.stdout, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and CONF in lines[0] and "Permission denied" in lines[0], r.stderr
        # sendmail does not need it: it falls back to the default sockets.
        r = s.send("config unreadable", user=PLAIN_USER, check=False)
        assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stdout, r.stderr)
        wait_received(s.relay, "config unreadable")
    finally:
        m.run("chmod", "0644", CONF)


def test_tcp_door_knows_its_loopback_peer(s):
    """submit.listen asks the kernel (NETLINK_SOCK_DIAG) who owns a loopback
    client's socket: the unit's RestrictAddressFamilies must allow it."""
    with smtplib.SMTP("127.0.0.1", s.tcp_port, timeout=10) as smtp:
        smtp.sendmail("tcp@example.com", ["rcpt@example.org"],
                      b"From: tcp@example.com\r\nTo: rcpt@example.org\r\nSubject: over tcp\r\n\r\nbody\r\n")
    wait_received(s.relay, "over tcp")
    assert any(e["submitter"] == "root" and e["sender"] == "tcp@example.com" for e in s.queue())


def test_reload_applies_a_changed_relay(s):
    m = s.m
    pid = s.active()["MainPID"]
    cursor = m.journal_cursor()
    s.config(relay_port=s.relays["second"].port)
    m.run("systemctl", "reload", UNIT, timeout=60)
    wait_until(lambda: f"reloaded {CONF}" in m.journal(UNIT, cursor), WAIT, "the reload in the journal")
    s.send("after reload")
    wait_received(s.relays["second"], "after reload")
    assert received(s.relays["first"], "after reload") == []
    assert s.active()["MainPID"] == pid


def test_reload_of_a_refused_config_fails_and_keeps_the_daemon(s):
    m = s.m
    pid = s.active()["MainPID"]
    cursor = m.journal_cursor()
    s.config(broken=True)
    r = m.run("systemctl", "reload", UNIT, check=False, timeout=60)
    assert r.returncode != 0, r.stdout + r.stderr
    log = m.journal(UNIT, cursor)
    assert "not-a-port" in log and "reloaded" not in log, log
    state = s.active()
    assert state["ActiveState"] == "active" and state["MainPID"] == pid, state
    s.config()  # the good one back; the daemon never saw the broken one
    s.send("after refused reload")
    wait_received(s.relays["second"], "after refused reload")


def test_restart_with_mail_queued_loses_none(s):
    m = s.m
    cursor = m.journal_cursor()
    s.config(relay_port=s.relays["dead"])
    m.run("systemctl", "reload", UNIT)
    wait_until(lambda: "reloaded" in m.journal(UNIT, cursor), WAIT, "the reload in the journal")
    subjects = [f"queued {i}" for i in range(5)]
    for subject in subjects:
        s.send(subject)

    def deferred():
        return [e for e in s.queue() if e["state"] == "deferred" and e["recipients"][0]["attempts"] > 0]
    ids = {e["id"] for e in wait_until(lambda: len(deferred()) == 5 and deferred(), WAIT, "5 deferred")}
    pid = s.active()["MainPID"]
    m.run("systemctl", "restart", UNIT, timeout=120)
    s.wait_running("the restarted daemon", not_pid=pid)
    assert ids <= {e["id"] for e in s.queue() if e["state"] == "deferred"}
    s.config(relay_port=s.relays["second"].port)
    m.run("systemctl", "reload", UNIT)
    s.retry_until(lambda: all(received(s.relays["second"], x) for x in subjects),
                  "the 5 queued messages at the relay")
    assert all(len(received(s.relays["second"], x)) == 1 for x in subjects)


def test_watchdog_restarts_a_frozen_daemon(s):
    m = s.m
    dropin = m.path("/etc/systemd/system/mailqd.service.d/test-watchdog.conf")
    dropin.parent.mkdir(parents=True, exist_ok=True)
    # 30 s is the unit's; the test lowers it to keep the run short.
    dropin.write_text("[Service]\nWatchdogSec=3s\nRestartSec=1s\n")
    try:
        m.run("systemctl", "daemon-reload")
        pid = s.active()["MainPID"]
        m.run("systemctl", "restart", UNIT, timeout=120)
        state = s.wait_running("the daemon with a 3 s watchdog", not_pid=pid)
        assert m.show(UNIT, "WatchdogUSec")["WatchdogUSec"] == "3s"
        frozen = state["MainPID"]
        restarts = int(state["NRestarts"])
        cursor = m.journal_cursor()
        m.run("/bin/sh", "-c", f"kill -STOP {frozen}")
        s.wait_running("a new daemon after the watchdog fired", not_pid=frozen)
        assert int(s.active()["NRestarts"]) == restarts + 1
        assert "Watchdog timeout" in m.journal(UNIT, cursor)
        assert m.run("/bin/sh", "-c", f"kill -0 {frozen}", check=False).returncode != 0
    finally:
        dropin.unlink(missing_ok=True)
        m.run("systemctl", "daemon-reload")
    s.send("after the watchdog")
    wait_received(s.relays["second"], "after the watchdog")


def test_hardening_lets_pop3_fetch_into_var_mail(s):
    m = s.m
    s.dovecot.add_messages([sample_message(1), sample_message(2)])
    r = m.run("mailqctl", "fetch", TEST_USER, timeout=60)
    assert r.stdout.strip() == f"{TEST_USER}: 2 new", r.stdout + r.stderr
    new = m.path(f"/var/mail/{TEST_USER}/new")
    files = sorted(new.iterdir())
    assert len(files) == 2
    assert {f.read_bytes().count(b"Subject: message ") for f in files} == {1}
    assert {f.stat().st_uid for f in files} == {int(m.run("id", "-u", "mailqd").stdout)}
    wait_until(lambda: s.dovecot.server_messages() == [], WAIT, "the fetched messages deleted on the server")


def test_hardening_lets_a_bounce_through(s):
    s.send("to bounce", to="nobody@example.net", sender=BOUNCED_SENDER)

    def dsn():
        return [x for x in s.relays["second"].messages()
                if x["rcpt_tos"] == [BOUNCED_SENDER] and b"multipart/report" in x["data"]]
    found = wait_until(dsn, WAIT, "the DSN at the relay")
    assert b"nobody@example.net" in found[0]["data"]
    assert found[0]["mail_from"] in ("", "<>")  # the null sender


def test_hardening_lets_the_spool_door_take_a_file(s):
    m = s.m
    name = f"drop-{uuid.uuid4().hex[:8]}"
    text = "From: spool@example.com\nTo: rcpt@example.org\nSubject: through the spool\n\nbody\n"
    m.run("/bin/sh", "-c", f"cat > /var/spool/mailqd/tmp/{name} && "
          f"mv /var/spool/mailqd/tmp/{name} /var/spool/mailqd/incoming/{name}", input=text)
    wait_received(s.relays["second"], "through the spool")
    assert not m.path(f"/var/spool/mailqd/incoming/{name}").exists()


def test_purge_keeps_a_queue_with_mail_then_removes_an_empty_one(s):
    m = s.m
    cursor = m.journal_cursor()
    s.config(relay_port=s.relays["dead"])
    m.run("systemctl", "reload", UNIT)
    wait_until(lambda: "reloaded" in m.journal(UNIT, cursor), WAIT, "the reload in the journal")
    s.send("left behind")
    wait_until(lambda: any(e["state"] == "deferred" for e in s.queue()), WAIT, "a deferred message")

    def purge():
        return m.run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "purge", "-y", "-q", "mailqd",
                     timeout=300)

    def gone():
        for path in ("/usr/lib/systemd/system/mailqd.service",
                     "/etc/systemd/system/multi-user.target.wants/mailqd.service", "/usr/sbin/mailqd"):
            assert not m.path(path).exists(), path
        assert m.show(UNIT, "LoadState")["LoadState"] == "not-found"
        assert not m.path(CONF).exists()  # a conffile: purge removes it

    r = purge()
    gone()
    assert "kept /var/lib/mailqd" in r.stdout + r.stderr, r.stdout + r.stderr
    assert m.path("/var/lib/mailqd/queue.db").exists()

    # Installed again, the queue is there and its mail goes out; then purge
    # finds nothing undelivered and removes the queue and the spool.
    r = m.run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
              f"/root/{s.deb.name}", timeout=300)
    s.config(relay_port=s.relays["second"].port)
    m.run("systemctl", "enable", "--now", UNIT, timeout=120)
    s.wait_running("the reinstalled daemon")
    s.retry_until(lambda: received(s.relays["second"], "left behind"), "the message left behind, delivered")
    wait_until(lambda: all(e["state"] in ("sent", "failed") for e in s.queue()), WAIT, "nothing undelivered")
    r = purge()
    gone()
    assert not m.path("/var/lib/mailqd").exists(), r.stdout + r.stderr
    assert not m.path("/var/spool/mailqd").exists()
