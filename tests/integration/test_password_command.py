"""password_command run by the real mailqd (issue 12 item 8): the command,
and anything it leaves running, gets none of the daemon's descriptors, so a
helper's background child cannot hold the listening sockets past a stop;
whatever is left of the command's process group is killed when the command
exits, or at its 30 s deadline."""

import os
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import wait_until  # noqa: E402
from smtp_servers import TEST_USER, start_aiosmtpd  # noqa: E402
from test_delivery import (SIMPLE, check_no_secret_in_log, password_file, relay, start,  # noqa: E402
                           submit, wait_state)


def alive(pid):
    """Whether pid is a live process (not gone, not a zombie waiting for
    init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def sockets_of(pid):
    """The sockets pid holds open ([] once it is gone)."""
    held = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                continue
            if target.startswith("socket:"):
                held.append(f"{fd} -> {target}")
    except (FileNotFoundError, ProcessLookupError):
        pass
    return held


def sleeper_pid(path):
    """The pid the command wrote, once it has."""
    text = wait_until(lambda: path.exists() and path.read_text().strip(), 15,
                      "the password_command to start its sleeper")
    return int(text)


def kill_if_alive(pid):
    if pid and alive(pid):
        os.kill(pid, 9)


def test_password_command_that_forks_a_sleeper_does_not_keep_the_port(daemon, tmp_path, pki):
    pid_file = tmp_path / "sleeper.pid"
    # A helper that leaves a child running, as a token agent might.
    command = f"(sleep 600 & echo $! >{pid_file}) ; cat {password_file(tmp_path)}"
    sleeper = None
    try:
        with start_aiosmtpd(tmp_path / "srv", tls="implicit", pki=pki, auth=True) as srv:
            d = daemon(sections={"relay.default": relay(srv.port, tls="implicit", ca_file=pki.ca_cert,
                                                        auth="login", username=TEST_USER,
                                                        password_command=command),
                                 "log": {"level": "debug", "protocol_trace": "yes"}},
                       listen=True)
            qid = submit(d, "alice@example.com", ["bob@example.org"], SIMPLE)
            sleeper = sleeper_pid(pid_file)
            # Whether or not it is still alive, it never had the daemon's sockets.
            assert sockets_of(sleeper) == [], "the sleeper holds the daemon's sockets"
            # Its stdout held open by the sleeper, the command still gave its
            # secret at once, and the sleeper was killed with its group.
            wait_state(d, qid, "sent")
            wait_until(lambda: not alive(sleeper), 10, "the sleeper to be killed")
        d.stop()
        check_no_secret_in_log(d)
        # The listening port is free: a new daemon binds the same address.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", d.port))
        again = daemon(listen=True, start=False)
        again.port = d.port
        again.write_config()
        again.start()
        again.stop()
    finally:
        kill_if_alive(sleeper)


def test_password_command_that_never_exits_is_killed_with_its_group(daemon, tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    command = f"sleep 600 & echo $! >{pid_file}; sleep 600"
    sleeper = None
    try:
        # One session, and no retry within the test: each would run the command again.
        d = start(daemon, {"default": relay(1, auth="login", username=TEST_USER, password_command=command,
                                            connections=1)},
                  queue={"retry_initial": "1h"})
        qid = submit(d, "alice@example.com", ["bob@example.org"], SIMPLE)
        sleeper = sleeper_pid(pid_file)
        shown = wait_state(d, qid, "deferred", timeout=90)  # the command's deadline is 30 s
        wait_until(lambda: not alive(sleeper), 10, "the sleeper to be killed with its group")
        reply = shown["recipients"][0]["last_reply"]
        assert "password_command: did not exit within 30s" in reply, reply
        d.stop()
    finally:
        kill_if_alive(sleeper)
