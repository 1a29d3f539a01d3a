"""Running mailqd as a service (issue 6): the systemd unit, sysusers and
tmpfiles files, the man pages, the shipped configs, the install tree, the
Debian package, and access control on the sockets by SO_PEERCRED.

Needs the build directory (MAILQD_BUILD_DIR, else the one above MAILQD_BIN)
for `cmake --install` and `cpack`. The access tests create throwaway users
and groups, so they need root (CI runs as root); they skip otherwise.
"""

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from conftest import MAILQCTL_BIN, MAILQD_BIN, SOURCE_DIR, Daemon

BUILD_DIR = Path(os.environ.get("MAILQD_BUILD_DIR", Path(MAILQD_BIN).resolve().parents[1]))
PAGES = ["mailqd.8", "mailqctl.1", "mailqd.conf.5"]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="creating throwaway users needs root")


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def destdir():
    """`DESTDIR=... cmake --install BUILD --prefix /usr`, once for the module."""
    root = Path(tempfile.mkdtemp(prefix="mailqd-destdir-"))
    env = dict(os.environ, DESTDIR=str(root))
    r = run("cmake", "--install", BUILD_DIR, "--prefix", "/usr", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    yield root
    shutil.rmtree(root, ignore_errors=True)


# ---- install tree ----

def test_install_tree(destdir):
    usr = destdir / "usr"
    for path in ["sbin/mailqd", "bin/mailqctl"]:
        assert os.access(usr / path, os.X_OK), path
    for name in ["sendmail", "mailq"]:
        link = usr / "libexec/mailqd" / name
        assert link.is_symlink(), link
        assert (link.parent / os.readlink(link)).resolve() == (usr / "bin/mailqctl").resolve()
    # Never taken over unless MAILQD_SENDMAIL_LINKS=ON.
    assert not (usr / "sbin/sendmail").exists()
    assert not (usr / "bin/mailq").exists()
    unit = (usr / "lib/systemd/system/mailqd.service").read_text()
    # @SBINDIR@ is filled in at install time, so it follows --prefix.
    assert "ExecStart=/usr/sbin/mailqd " in unit
    assert (usr / "lib/sysusers.d/mailqd.conf").read_text() == (SOURCE_DIR / "systemd/mailqd.sysusers").read_text()
    assert (usr / "lib/tmpfiles.d/mailqd.conf").read_text() == (SOURCE_DIR / "systemd/mailqd.tmpfiles").read_text()
    assert (usr / "share/man/man8/mailqd.8").exists()
    assert (usr / "share/man/man1/mailqctl.1").exists()
    assert (usr / "share/man/man5/mailqd.conf.5").exists()
    # /etc stays /etc under a /usr prefix (GNUInstallDirs).
    assert (destdir / "etc/mailqd/mailqd.conf").read_text() == (SOURCE_DIR / "conf/mailqd.conf").read_text()


def test_installed_sendmail_link_is_mailqctl(destdir):
    """The link runs mailqctl in its sendmail personality (prints the queue
    with -bp); with no daemon that is 'daemon unavailable', exit 69."""
    sendmail = destdir / "usr/libexec/mailqd/sendmail"
    r = run(sendmail, "-bp", env=dict(os.environ, MAILQD_CONFIG="/nonexistent/mailqd.conf"))
    assert r.returncode in (69, 78), r.stdout + r.stderr


# ---- systemd files ----

def unit_for_verify(destdir):
    """The installed unit with ExecStart and ExecReload pointing into the
    DESTDIR, since systemd-analyze verify insists that the binary exists."""
    text = (destdir / "usr/lib/systemd/system/mailqd.service").read_text()
    text = text.replace("=/usr/sbin/mailqd ", f"={destdir}/usr/sbin/mailqd ")
    unit = destdir / "verify" / "mailqd.service"
    unit.parent.mkdir(exist_ok=True)
    unit.write_text(text)
    return unit


def test_unit_verifies(destdir):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (package systemd, see scripts/setup)")
    unit = unit_for_verify(destdir)
    # --man=no: the man pages are not installed on this machine. Messages
    # about other units or the container (no D-Bus, no running systemd) are
    # not ours: only lines naming our unit count.
    r = run("systemd-analyze", "verify", "--man=no", unit)
    ours = [line for line in (r.stdout + r.stderr).splitlines() if "mailqd" in line]
    assert ours == [], "\n".join(ours)


def test_unit_contents():
    text = (SOURCE_DIR / "systemd/mailqd.service").read_text()
    keys = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            keys.setdefault(key, []).append(value)
    assert keys["Type"] == ["notify"]
    assert keys["User"] == ["mailqd"]
    # No /bin/kill (procps) on a minimal system: the shell's builtin, after
    # the config has been checked.
    assert keys["ExecReload"] == ["@SBINDIR@/mailqd --check-config /etc/mailqd/mailqd.conf",
                                  """/bin/sh -c 'kill -HUP "$$MAINPID"'"""]
    assert keys["WatchdogSec"]
    assert keys["CapabilityBoundingSet"] == [""]
    assert keys["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6 AF_NETLINK"]
    assert keys["UMask"] == ["0077"]
    for key in ["NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"]:
        assert keys[key] == ["yes"], key
    assert keys["ProtectSystem"] == ["strict"]
    for path in ["/var/lib/mailqd", "/var/spool/mailqd"]:
        assert path in keys["ReadWritePaths"][0]
    # The daemon chgrps its sockets: @chown must survive ~@privileged.
    assert keys["SystemCallFilter"][0] == "@system-service"
    assert "@chown" in keys["SystemCallFilter"][-1]


def test_unit_security_exposure(destdir):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    r = run("systemd-analyze", "security", "--offline=yes", "--threshold=30", unit_for_verify(destdir))
    assert r.returncode == 0, r.stdout + r.stderr
    level = re.search(r"Overall exposure level for mailqd.service: ([0-9.]+)", r.stdout)
    assert level and float(level.group(1)) < 2.5, r.stdout[-400:]


def test_sysusers_and_tmpfiles_in_a_scratch_root(tmp_path):
    """systemd-sysusers and systemd-tmpfiles applied to an empty root: the
    users, groups and directories with their modes."""
    if not shutil.which("systemd-sysusers") or not shutil.which("systemd-tmpfiles"):
        pytest.skip("systemd-sysusers/systemd-tmpfiles not installed")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    r = run("systemd-sysusers", f"--root={root}", SOURCE_DIR / "systemd/mailqd.sysusers")
    assert r.returncode == 0, r.stderr
    groups = {line.split(":")[0]: line.split(":") for line in (root / "etc/group").read_text().splitlines()}
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    assert "mailqd" in passwd and passwd["mailqd"][6] == "/usr/sbin/nologin"
    assert passwd["mailqd"][3] == groups["mailqd"][2]
    assert "mailqd" in groups["mailqd-admin"][3].split(",")
    r = run("systemd-tmpfiles", f"--root={root}", "--create", SOURCE_DIR / "systemd/mailqd.tmpfiles")
    assert r.returncode == 0, r.stderr
    modes = {
        "var/lib/mailqd": 0o750, "var/spool/mailqd": 0o755,
        # drop files (w+x) but not list others' (no r); setgid + sticky
        "var/spool/mailqd/tmp": 0o3730, "var/spool/mailqd/incoming": 0o3730,
        "var/spool/mailqd/bad": 0o750,
    }
    for path, mode in modes.items():
        st = os.stat(root / path)
        assert stat.S_IMODE(st.st_mode) == mode, (path, oct(st.st_mode))


# ---- man pages and configs ----

@pytest.mark.parametrize("page", PAGES)
def test_man_page_lint_clean(page):
    if not shutil.which("mandoc"):
        pytest.skip("mandoc is not installed (package mandoc, see scripts/setup)")
    r = run("mandoc", "-T", "lint", "-W", "warning", SOURCE_DIR / "man" / page)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


def test_man_pages_cover_every_config_key():
    """mailqd.conf(5) names every key of the shipped example config."""
    page = (SOURCE_DIR / "man/mailqd.conf.5").read_text()
    for line in (SOURCE_DIR / "conf/mailqd.conf").read_text().splitlines():
        line = line.lstrip("#; ").strip()
        if "=" in line and not line.startswith("["):
            key = line.split("=", 1)[0].strip()
            if key.isidentifier():
                assert key in page, key


@pytest.mark.parametrize("conf", sorted(p.name for p in (SOURCE_DIR / "conf").glob("*.conf")))
def test_shipped_config_checks(conf):
    r = run(MAILQD_BIN, "--check-config", SOURCE_DIR / "conf" / conf, cwd=SOURCE_DIR)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- the Debian package ----

def test_deb_package(tmp_path):
    if not shutil.which("cpack") or not shutil.which("dpkg-deb"):
        pytest.skip("cpack or dpkg-deb not installed")
    r = run("cpack", "-G", "DEB", "--config", BUILD_DIR / "CPackConfig.cmake", "-B", tmp_path / "pkg")
    assert r.returncode == 0, r.stdout + r.stderr
    debs = list((tmp_path / "pkg").glob("mailqd_*.deb"))
    assert len(debs) == 1, list((tmp_path / "pkg").iterdir())
    deb = debs[0]
    listing = run("dpkg-deb", "-c", deb).stdout
    for path in ["./usr/sbin/mailqd", "./usr/bin/mailqctl", "./usr/libexec/mailqd/sendmail",
                 "./usr/lib/systemd/system/mailqd.service", "./usr/lib/sysusers.d/mailqd.conf",
                 "./usr/lib/tmpfiles.d/mailqd.conf", "./etc/mailqd/mailqd.conf",
                 "./usr/share/man/man8/mailqd.8", "./usr/share/man/man1/mailqctl.1",
                 "./usr/share/man/man5/mailqd.conf.5"]:
        assert path in listing, (path, listing)
    assert "./usr/sbin/sendmail" not in listing
    # The config is readable by every user's sendmail (no secrets in it).
    conf = next(line for line in listing.splitlines() if line.endswith("./etc/mailqd/mailqd.conf"))
    assert conf.split()[:2] == ["-rw-r--r--", "root/root"], conf
    info = run("dpkg-deb", "-I", deb).stdout
    for script in ["postinst", "prerm", "postrm", "conffiles"]:
        assert script in info, info
    control = tmp_path / "control"
    assert run("dpkg-deb", "-e", deb, control).returncode == 0
    postinst = (control / "postinst").read_text()
    assert "systemd-sysusers" in postinst and "systemd-tmpfiles --create" in postinst
    assert "/etc/mailqd/mailqd.conf" in (control / "conffiles").read_text()
    unpacked = tmp_path / "unpacked"
    assert run("dpkg-deb", "-x", deb, unpacked).returncode == 0
    assert "ExecStart=/usr/sbin/mailqd " in (unpacked / "usr/lib/systemd/system/mailqd.service").read_text()
    assert (unpacked / "usr/libexec/mailqd/sendmail").is_symlink()


# ---- access control (SO_PEERCRED) ----

@pytest.fixture(scope="module")
def accounts():
    """A throwaway group, a member of it and an outsider; removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("creating throwaway users needs root")
    tag = uuid.uuid4().hex[:6]
    group, member, outsider = f"mqg{tag}", f"mqin{tag}", f"mqout{tag}"
    made_users = []
    try:
        assert run("groupadd", group).returncode == 0
        for user, extra in [(member, ["-G", group]), (outsider, [])]:
            r = run("useradd", "-M", "-s", "/usr/sbin/nologin", *extra, user)
            assert r.returncode == 0, r.stderr
            made_users.append(user)
        yield {"group": group, "member": member, "outsider": outsider}
    finally:
        for user in made_users:
            run("userdel", user)
        run("groupdel", group)


def reachable_daemon(sections):
    """A daemon in directories everyone can reach, its sockets mode 0666 (the
    default), with copies of mailqctl and sendmail every user can run."""
    root = Path(tempfile.mkdtemp(prefix="mq-acl-", dir="/tmp"))
    os.chmod(root, 0o755)
    d = Daemon(root / "d", listen=True, sections=sections)
    os.chmod(d.root, 0o755)
    os.chmod(d.sockdir, 0o755)
    os.chmod(d.config_path, 0o644)
    ctl = root / "mailqctl"
    shutil.copy(MAILQCTL_BIN, ctl)
    os.chmod(ctl, 0o755)
    (root / "sendmail").symlink_to(ctl)
    (root / "mailq").symlink_to(ctl)
    d.ctl_path = ctl
    d.sendmail_path = root / "sendmail"
    d.mailq_path = root / "mailq"
    d.start()
    return d, root


@pytest.fixture
def guarded(accounts):
    """Only members of the throwaway group may submit, and they are the
    admins too."""
    d, root = reachable_daemon({"submit": {"users": "@" + accounts["group"]},
                                "control": {"socket_group": accounts["group"]}})
    yield d
    try:
        d.stop()
    finally:
        d.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def open_door(request):
    """The defaults: every local user may submit, nobody but root is an
    admin. Marked sections are merged in (@pytest.mark.sections(...))."""
    marker = request.node.get_closest_marker("sections")
    sections = {"control": {"socket_group": "root"}}
    for section, keys in (marker.args[0] if marker else {}).items():
        sections.setdefault(section, {}).update(keys)
    d, root = reachable_daemon(sections)
    yield d
    try:
        d.stop()
    finally:
        d.cleanup()
        shutil.rmtree(root, ignore_errors=True)


RUNUSER = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"


def as_user(user, *args, input=None):
    return subprocess.run([RUNUSER, "-u", user, "--", *map(str, args)], input=input,
                          capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})


GREETING_PROBE = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
print(s.makefile("rb").readline().decode().strip())
"""


def test_control_socket_refuses_outsider(guarded, accounts):
    """Anyone may connect; a user who is not an admin may not steer the queue."""
    for command in (["stats"], ["hold", "--all"], ["retry", "--all"], ["fetch"]):
        r = as_user(accounts["outsider"], guarded.ctl_path, "--socket", guarded.control_socket, *command)
        assert r.returncode == 77, (command, r.returncode, r.stdout, r.stderr)
        assert (f"only admins may {command[0]} (root and members of group {accounts['group']}); "
                f"you are {accounts['outsider']}") in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    guarded.wait_log(f"refused to {accounts['outsider']} (not an admin)")


def test_control_socket_serves_member(guarded, accounts):
    r = as_user(accounts["member"], guarded.ctl_path, "--socket", guarded.control_socket, "stats")
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)


def test_submit_socket_refuses_outsider(guarded, accounts):
    r = as_user(accounts["outsider"], "/usr/bin/python3", "-c", GREETING_PROBE, guarded.submit_socket)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"554 5.7.1 user {accounts['outsider']} may not submit"
    guarded.wait_log(f"submit: refused {accounts['outsider']}: user {accounts['outsider']} "
                     f"is not in group {accounts['group']} (submit.users)")
    message = "From: x@example.com\nTo: y@example.org\nSubject: t\n\nbody\n"
    r = as_user(accounts["outsider"], guarded.ctl_path, "-c", guarded.config_path, "submit", input=message)
    assert r.returncode == 77, (r.returncode, r.stdout, r.stderr)
    r = as_user(accounts["outsider"], guarded.sendmail_path, "-C", guarded.config_path, "-t", input=message)
    assert r.returncode == 77, (r.returncode, r.stdout, r.stderr)
    assert f"user {accounts['outsider']} may not submit" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert guarded.list() == []
    assert guarded.result({"cmd": "stats"})["submit"]["refused"]["user"] == 3


def test_submit_socket_accepts_member(guarded, accounts):
    message = "From: x@example.com\nTo: y@example.org\nSubject: t\n\nbody\n"
    r = as_user(accounts["member"], guarded.ctl_path, "-c", guarded.config_path, "submit", input=message)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    queued = guarded.list()
    assert len(queued) == 1 and queued[0]["submitter"] == accounts["member"]


SETPRIV = shutil.which("setpriv", path="/usr/bin:/bin") or "setpriv"


def with_extra_group(user, group, *args, input=None):
    """As `sg GROUP` or a unit's SupplementaryGroups= would run it: the
    process holds a group the user database does not list the user in."""
    return subprocess.run([SETPRIV, f"--reuid={user}", f"--regid={user}", f"--groups={group}", "--",
                           *map(str, args)], input=input, capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin"})


def test_sockets_accept_a_process_holding_the_group(guarded, accounts):
    message = "From: x@example.com\nTo: y@example.org\nSubject: sg\n\nbody\n"
    r = with_extra_group(accounts["outsider"], accounts["group"], guarded.ctl_path, "-c",
                         guarded.config_path, "submit", input=message)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    queued = guarded.list()
    assert len(queued) == 1 and queued[0]["submitter"] == accounts["outsider"]
    r = with_extra_group(accounts["outsider"], accounts["group"], guarded.ctl_path, "--socket",
                         guarded.control_socket, "stats")
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)


TCP_PROBE = """
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as smtp:
    print(smtp.sendmail("x@example.com", ["y@example.org"], b"Subject: tcp\\r\\n\\r\\nbody\\r\\n"))
"""


def test_tcp_door_knows_and_checks_the_local_user(guarded, accounts):
    """A loopback TCP client is the user who owns its socket: checked
    against the group like a socket client, and recorded as the submitter."""
    r = as_user(accounts["outsider"], "/usr/bin/python3", "-c", TCP_PROBE, guarded.port)
    assert r.returncode != 0
    assert f"554, b'5.7.1 user {accounts['outsider']} may not submit'" in r.stderr, r.stderr
    assert guarded.list() == []
    r = as_user(accounts["member"], "/usr/bin/python3", "-c", TCP_PROBE, guarded.port)
    assert r.returncode == 0, r.stderr
    queued = guarded.list()
    assert len(queued) == 1 and queued[0]["submitter"] == accounts["member"]


def test_root_may_use_both_sockets(guarded):
    """Root (and the daemon's own user, here the same) is never refused."""
    assert guarded.result({"cmd": "stats"})["queue"]["queued"] == 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(guarded.submit_socket))
        assert s.recv(4096).startswith(b"220 ")


# ---- every local user may send (submit.users = *, the default) ----

def sendmail_as(user, d, message, *flags):
    return as_user(user, d.sendmail_path, "-C", d.config_path, *(flags or ("-t",)), input=message)


def test_any_user_may_send_with_sendmail(open_door, accounts):
    """A cron job or mailx of an account in no mailqd group: queued, and
    recorded as that user's."""
    message = f"To: y@example.org\nSubject: from {accounts['outsider']}\n\nbody\n"
    r = sendmail_as(accounts["outsider"], open_door, message)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    queued = open_door.list()
    assert len(queued) == 1
    assert queued[0]["submitter"] == accounts["outsider"]
    assert queued[0]["sender"] == f"{accounts['outsider']}@mailqd.test"


@pytest.mark.sections({"submit": {"user_rate": "5"}})
def test_user_rate_stops_one_user_only(open_door, accounts):
    for i in range(5):
        r = sendmail_as(accounts["outsider"], open_door, f"To: y@example.org\nSubject: {i}\n\nb\n")
        assert r.returncode == 0, (i, r.returncode, r.stderr)
    r = sendmail_as(accounts["outsider"], open_door, "To: y@example.org\nSubject: sixth\n\nb\n")
    assert r.returncode == 75, (r.returncode, r.stdout, r.stderr)
    assert "451 4.7.1" in r.stderr and "submit.user_rate" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    # Another user (and root) are not affected.
    r = sendmail_as(accounts["member"], open_door, "To: y@example.org\nSubject: other\n\nb\n")
    assert r.returncode == 0, (r.returncode, r.stderr)
    r = open_door.ctl("submit", input="From: r@example.com\nTo: y@example.org\nSubject: root\n\nb\n")
    assert r.returncode == 0, r.stderr
    queued = open_door.list()
    by_user = {}
    for m in queued:
        by_user[m["submitter"]] = by_user.get(m["submitter"], 0) + 1
    assert by_user == {accounts["outsider"]: 5, accounts["member"]: 1, "root": 1}, by_user
    assert open_door.result({"cmd": "stats"})["submit"]["refused"]["rate"] == 1


def test_users_see_their_own_mail_only(open_door, accounts):
    r = open_door.ctl("submit", input="From: r@example.com\nTo: secret@example.org\nSubject: root's\n\nb\n")
    assert r.returncode == 0, r.stderr
    root_id = r.stdout.strip()
    r = sendmail_as(accounts["outsider"], open_door, "To: mine@example.org\nSubject: mine\n\nb\n")
    assert r.returncode == 0, r.stderr
    mine = [m for m in open_door.list() if m["submitter"] == accounts["outsider"]]
    assert len(mine) == 1

    r = as_user(accounts["outsider"], open_door.mailq_path, "-c", open_door.config_path)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert mine[0]["id"] in r.stdout and "mine@example.org" in r.stdout
    assert root_id not in r.stdout and "secret@example.org" not in r.stdout
    r = as_user(accounts["outsider"], open_door.ctl_path, "-c", open_door.config_path, "list", "--json")
    assert r.returncode == 0, r.stderr
    assert [m["id"] for m in json.loads(r.stdout)] == [mine[0]["id"]]

    r = as_user(accounts["outsider"], open_door.ctl_path, "-c", open_door.config_path, "show", mine[0]["id"])
    assert r.returncode == 0, r.stderr
    # Another's message does not exist for them, exactly like an unknown ID.
    r = as_user(accounts["outsider"], open_door.ctl_path, "-c", open_door.config_path, "show", root_id)
    assert r.returncode == 67, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip().endswith(f"unknown queue ID {root_id}"), r.stderr
    # Their own message is still the admin's to steer.
    r = as_user(accounts["outsider"], open_door.ctl_path, "-c", open_door.config_path, "delete", mine[0]["id"])
    assert r.returncode == 77, (r.returncode, r.stderr)
    assert len(open_door.list()) == 2
    # The admins (root here) see both.
    r = open_door.ctl("list")
    assert root_id in r.stdout and mine[0]["id"] in r.stdout
