#!/usr/bin/python3
"""Crash-consistency harness (issue 7): mixed load against the real mailqd,
killed with SIGKILL at random moments and started again, N times.

Load while it runs: 4 submitters over the submit socket (LMTP; a client
resends its message until it gets a 250), a spool dropper (tmp/ then rename
into incoming/), delivery to an aiosmtpd relay that saves every message, and
a POP3 pull from Dovecot (keep = no, interval 1s) into a Maildir while new
messages keep arriving on the server. Every message carries an X-Crash-Id.

Checked:
- at every kill (daemon dead): no POP3 message is gone from the server
  unless it is in the Maildir (DELE only after the message was safe);
- after every restart: `mailqctl list --json` holds no impossible state
  (valid recipient states, message state derived from its recipients, no
  sent/deferred/failed recipient without an attempt, next_attempt_at only
  when deferred), and every ID acknowledged so far is still listed;
- after a final drain (daemon running until the queue is empty): every
  acknowledged message (250 or spool file consumed) reached the relay at
  least once; duplicates at most kills x (relay connections + submitters);
  every POP3 message is in the Maildir exactly once and gone from the server.

Prints one summary line: kills, acknowledged, received, lost, duplicates.
Exit 0 when every check holds, 1 otherwise.

    /usr/bin/python3 tests/crash/crash_harness.py --kills 300
Needs MAILQD_BIN / MAILQCTL_BIN (or --mailqd / --mailqctl) and root for
Dovecot (it runs its mail user as nobody).
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

import conftest  # noqa: E402  (the Daemon class; importing it needs pytest, which Debian's python3 has)
from pop3_servers import TEST_PASSWORD, TEST_USER, Dovecot  # noqa: E402
from smtp_servers import start_aiosmtpd  # noqa: E402

SUBMITTERS = 4
RELAY_CONNECTIONS = 4
RECIPIENT_STATES = {"queued", "deferred", "held", "sent", "failed"}
STATE_ORDER = ["held", "deferred", "queued", "failed", "sent"]
CRASH_ID = re.compile(rb"(?im)^X-Crash-Id: *(\S+?)\r?$")


def crash_id_of(data):
    m = CRASH_ID.search(data)
    return m.group(1).decode() if m else None


def message(crash_id, line_end="\r\n"):
    lines = [f"From: crash@example.com", "To: rcpt@example.org", f"X-Crash-Id: {crash_id}",
             f"Message-ID: <{crash_id}@crash.test>", f"Subject: {crash_id}", "",
             f"body of {crash_id}", *["x" * random.randint(10, 900)] * random.randint(1, 3), ""]
    return line_end.join(lines).encode()


class Ledger:
    """What the load generators were promised, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}        # crash id -> queue id (socket) or None (spool)
        self.dropped = []      # spool file names (= crash ids)
        self.pop_added = {}    # Dovecot file base name -> crash id
        self.submit_failures = 0


class Submitter(threading.Thread):
    """Submits messages one after another over LMTP; on any failure it
    reconnects and resends the same message, as a real client would."""

    def __init__(self, number, socket_path, ledger, stop):
        super().__init__(daemon=True)
        self.number, self.socket_path, self.ledger, self.stop = number, str(socket_path), ledger, stop

    def run(self):
        conn, i = None, 0
        while not self.stop.is_set():
            crash_id = f"sock-{self.number}-{i}"
            try:
                if conn is None:
                    conn = smtplib.LMTP(self.socket_path, timeout=10)
                    conn.ehlo_or_helo_if_needed()
                queue_id = self.submit(conn, crash_id)
                with self.ledger.lock:
                    self.ledger.acked[crash_id] = queue_id
                i += 1
                self.stop.wait(random.uniform(0, 0.03))
            except (OSError, smtplib.SMTPException, AttributeError):
                with self.ledger.lock:
                    self.ledger.submit_failures += 1
                conn = self.close(conn)
                time.sleep(0.02)
        self.close(conn)

    @staticmethod
    def submit(conn, crash_id):
        code, reply = conn.mail("crash@example.com")
        if code != 250:
            raise smtplib.SMTPException(f"MAIL {code} {reply!r}")
        code, reply = conn.rcpt("rcpt@example.org")
        if code != 250:
            raise smtplib.SMTPException(f"RCPT {code} {reply!r}")
        code, reply = conn.data(message(crash_id))
        if code != 250:
            raise smtplib.SMTPException(f"DATA {code} {reply!r}")
        return re.search(rb"queued as (\S+)", reply).group(1).decode()

    @staticmethod
    def close(conn):
        try:
            if conn is not None:
                conn.close()
        except OSError:
            pass
        return None


def spool_dropper(spool, ledger, stop):
    i = 0
    while not stop.is_set():
        name = f"spool-{i}"
        conftest.spool_drop(spool, name, message(name, "\n"))
        with ledger.lock:
            ledger.dropped.append(name)
        i += 1
        stop.wait(random.uniform(0.02, 0.08))


def pop3_feeder(dovecot, ledger, stop):
    """Delivers messages into Dovecot's Maildir (tmp, rename), in small
    bursts, remembering each file's base name."""
    i = 0
    while not stop.is_set():
        for _ in range(random.randint(1, 5)):
            crash_id = f"pop-{i}"
            data = message(crash_id, "\n")
            name = f"{int(time.time())}.M{i}P{os.getpid()}.crash,S={len(data)}"
            tmp = dovecot.maildir / "tmp" / name
            tmp.write_bytes(data)
            os.chown(tmp, dovecot.uid, dovecot.gid)
            os.rename(tmp, dovecot.maildir / "new" / name)
            with ledger.lock:  # after the rename: a message in the ledger is on the server
                ledger.pop_added[name] = crash_id
            i += 1
        stop.wait(random.uniform(0.1, 0.4))


def server_pop_ids(dovecot, ledger):
    """Crash ids of the messages still on the POP3 server. new/ is listed
    before cur/, so a file Dovecot moves from new/ to cur/ meanwhile is
    seen in one of them."""
    names = []
    for sub in ("new", "cur"):
        names += os.listdir(dovecot.maildir / sub)
    with ledger.lock:
        return {ledger.pop_added[n.split(":")[0]] for n in names if n.split(":")[0] in ledger.pop_added}


def maildir_ids(maildir):
    """Crash id -> number of copies in our Maildir (new/ and cur/)."""
    counts = {}
    for sub in ("new", "cur"):
        path = maildir / sub
        if not path.exists():
            continue
        for entry in path.iterdir():
            crash_id = crash_id_of(entry.read_bytes())
            counts[crash_id] = counts.get(crash_id, 0) + 1
    return counts


def relay_ids(relay):
    counts = {}
    for eml in relay.out.glob("msg-*.eml"):
        crash_id = crash_id_of(eml.read_bytes())
        counts[crash_id] = counts.get(crash_id, 0) + 1
    return counts


def list_json(d):
    out = subprocess.run([conftest.MAILQCTL_BIN, "-c", str(d.config_path), "list", "--json"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"mailqctl list --json exited {out.returncode}: {out.stderr}")
    return json.loads(out.stdout)


def impossible_states(messages):
    """Problems with the queue as `mailqctl list --json` shows it."""
    problems = []
    for m in messages:
        rcpts = m.get("recipients") or []
        if not rcpts:
            problems.append(f"{m['id']}: no recipients")
            continue
        for r in rcpts:
            where = f"{m['id']} {r.get('address')}"
            if r.get("state") not in RECIPIENT_STATES:
                problems.append(f"{where}: state {r.get('state')!r}")
            if r.get("state") in ("sent", "deferred") and not r.get("attempts"):
                problems.append(f"{where}: {r['state']} with attempts {r.get('attempts')}")
            if (r.get("next_attempt_at") is None) != (r.get("state") != "deferred"):
                problems.append(f"{where}: {r.get('state')} with next_attempt_at {r.get('next_attempt_at')}")
        expected = next((s for s in STATE_ORDER if any(r.get("state") == s for r in rcpts)), None)
        if m.get("state") != expected:
            problems.append(f"{m['id']}: message state {m.get('state')} but recipients say {expected}")
    return problems


def acked_queue_ids(ledger):
    with ledger.lock:
        return {q for q in ledger.acked.values() if q}


def consumed_spool_files(spool, ledger):
    """Spool files gone from incoming/ (and not in bad/): acknowledged."""
    with ledger.lock:
        dropped = list(ledger.dropped)
    waiting = set(os.listdir(spool / "incoming")) | set(os.listdir(spool / "bad"))
    return [n for n in dropped if n not in waiting]


class Harness:
    def __init__(self, args, root):
        self.args, self.root = args, root
        self.failures = []
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.relay = start_aiosmtpd(root / "relay")
        self.dovecot = Dovecot().start()
        self.maildir = root / "maildir"
        secret = root / "pop3-secret"
        secret.write_text(TEST_PASSWORD + "\n")
        os.chmod(secret, 0o600)
        self.daemon = conftest.Daemon(root / "daemon", sections={
            "queue": {"retry_initial": "1s", "retry_max": "2s", "retry_jitter": "0"},
            "log": {"level": "info"},
            "relay.default": {"host": "127.0.0.1", "port": self.relay.port, "timeout": "10s",
                              "connections": RELAY_CONNECTIONS, "messages_per_connection": 20},
            "mailbox.crash": {"host": "127.0.0.1", "port": self.dovecot.pop3_port, "tls": "none",
                              "username": TEST_USER, "password_file": secret,
                              "maildir": self.maildir, "interval": "1s", "keep": "no"},
        })

    def fail(self, text):
        if len(self.failures) < 50:
            print("FAIL:", text, file=sys.stderr, flush=True)
        self.failures.append(text)

    def cleanup(self):
        self.stop.set()
        self.daemon.cleanup()
        self.relay.stop()
        self.dovecot.cleanup()

    def start_load(self):
        d = self.daemon
        self.threads = [Submitter(n, d.submit_socket, self.ledger, self.stop) for n in range(SUBMITTERS)]
        self.threads.append(threading.Thread(target=spool_dropper, args=(d.spool, self.ledger, self.stop),
                                             daemon=True))
        self.threads.append(threading.Thread(target=pop3_feeder, args=(self.dovecot, self.ledger, self.stop),
                                             daemon=True))
        for t in self.threads:
            t.start()

    def stop_load(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def check_pop3_safety(self):
        """Daemon dead: a message gone from the server must be in the Maildir.
        The ledger is read first: the feeder keeps adding meanwhile."""
        with self.ledger.lock:
            added = set(self.ledger.pop_added.values())
        on_server = server_pop_ids(self.dovecot, self.ledger)
        in_maildir = maildir_ids(self.maildir)
        for crash_id in sorted(added - on_server - set(in_maildir)):
            self.fail(f"{crash_id} deleted on the POP3 server but not in the Maildir")

    def check_queue(self):
        acked = acked_queue_ids(self.ledger)  # before listing: later acks are not in the list
        listed = list_json(self.daemon)
        for problem in impossible_states(listed):
            self.fail(problem)
        ids = {m["id"] for m in listed}
        for queue_id in sorted(acked - ids):
            self.fail(f"acknowledged {queue_id} is not in the queue")
        return listed

    def kill_loop(self):
        d = self.daemon
        for kill in range(1, self.args.kills + 1):
            time.sleep(random.uniform(self.args.min_run, self.args.max_run))
            d.kill9()
            self.check_pop3_safety()
            d.start()
            self.check_queue()
            if kill % 10 == 0 or kill == self.args.kills:
                with self.ledger.lock:
                    acked = len(self.ledger.acked)
                print(f"kill {kill}: acked {acked} over the socket", flush=True)

    def drain(self):
        """Daemon running, no load: wait until the queue, incoming/ and the
        POP3 server are empty."""
        d = self.daemon
        deadline = time.monotonic() + self.args.drain_timeout
        while time.monotonic() < deadline:
            listed = list_json(d)
            busy = [m for m in listed if m["state"] not in ("sent", "failed")]
            if (not busy and not os.listdir(d.spool / "incoming")
                    and not server_pop_ids(self.dovecot, self.ledger)):
                return True
            time.sleep(0.5)
        self.fail(f"not drained within {self.args.drain_timeout}s: {len(busy)} messages not done")
        return False

    def final_checks(self):
        listed = self.check_queue()
        for m in listed:
            if m["state"] != "sent":
                self.fail(f"{m['id']} ended {m['state']}: {m['recipients']}")
        with self.ledger.lock:
            acked = {c for c, q in self.ledger.acked.items()}
            dropped = list(self.ledger.dropped)
            pop_added = set(self.ledger.pop_added.values())
        consumed = consumed_spool_files(self.daemon.spool, self.ledger)
        for name in sorted(set(dropped) - set(consumed)):
            self.fail(f"spool file {name} never consumed (incoming/ or bad/)")
        acked |= set(consumed)
        received = relay_ids(self.relay)
        lost = sorted(acked - set(received))
        for crash_id in lost[:20]:
            self.fail(f"{crash_id} acknowledged but never received by the relay")
        duplicates = sum(n - 1 for n in received.values())
        bound = self.args.kills * (RELAY_CONNECTIONS + SUBMITTERS)
        if duplicates > bound:
            self.fail(f"{duplicates} duplicates > kills x connections = {bound}")
        dup = self.split_duplicates(listed, received)
        in_maildir = maildir_ids(self.maildir)
        pop_dups = {c: n for c, n in in_maildir.items() if n > 1}
        pop_missing = sorted(pop_added - set(in_maildir))
        if pop_dups:
            self.fail(f"POP3 messages in the Maildir more than once: {sorted(pop_dups.items())[:20]}")
        if pop_missing:
            self.fail(f"POP3 messages not in the Maildir: {pop_missing[:20]}")
        summary = {"kills": self.args.kills, "acknowledged": len(acked), "received": len(received),
                   "received_copies": sum(received.values()), "lost": len(lost),
                   "duplicates": duplicates, "duplicate_bound": bound,
                   "pop3_added": len(pop_added), "pop3_in_maildir": len(in_maildir),
                   "pop3_duplicates": sum(n - 1 for n in pop_dups.values()),
                   "submit_failures": self.ledger.submit_failures, "queued": len(listed), **dup,
                   "failures": len(self.failures)}
        return summary

    def split_duplicates(self, listed, received):
        """Where the duplicates come from: a socket message queued twice (the
        client resent after a kill ate its 250), a spool file queued twice (a
        defect: DESIGN.md section 3), or one queue entry relayed twice (a
        kill between the relay's 250 and the recorded outcome)."""
        entries = {}
        for m in listed:
            reply = self.daemon.show(m["id"], raw=True)
            for r in reply["recipients"]:
                records = sum(1 for a in reply.get("attempts", []) if a.get("recipient") == r["address"])
                if records != r["attempts"]:
                    self.fail(f"{m['id']} {r['address']}: attempts {r['attempts']} but {records} recorded")
            entries.setdefault(crash_id_of(reply["raw"].encode()), []).append(m["id"])
        resubmitted = sum(len(ids) - 1 for c, ids in entries.items() if c and c.startswith("sock-"))
        spool_twice = {c: ids for c, ids in entries.items() if c and c.startswith("spool-") and len(ids) > 1}
        for crash_id, ids in sorted(spool_twice.items())[:20]:
            self.fail(f"spool file {crash_id} queued {len(ids)} times: {ids}")
        redelivered = sum(max(0, n - len(entries.get(c, []))) for c, n in received.items())
        if resubmitted > self.args.kills * SUBMITTERS:
            self.fail(f"{resubmitted} resubmitted copies > kills x submitters")
        if redelivered > self.args.kills * RELAY_CONNECTIONS:
            self.fail(f"{redelivered} relayed twice > kills x relay connections")
        return {"resubmitted": resubmitted, "spool_queued_twice": len(spool_twice),
                "relayed_twice": redelivered}

    def run(self):
        self.daemon.start()
        self.start_load()
        self.kill_loop()
        self.stop_load()
        self.drain()
        summary = self.final_checks()
        self.daemon.stop()
        return summary


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--min-run", type=float, default=0.2, help="seconds between a start and the next kill")
    p.add_argument("--max-run", type=float, default=2.0)
    p.add_argument("--drain-timeout", type=float, default=120)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--mailqd", default=os.environ.get("MAILQD_BIN"))
    p.add_argument("--mailqctl", default=os.environ.get("MAILQCTL_BIN"))
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    if args.mailqd:
        conftest.MAILQD_BIN = args.mailqd
    if args.mailqctl:
        conftest.MAILQCTL_BIN = args.mailqctl
    root = Path(tempfile.mkdtemp(prefix="mailqd-crash-"))
    # SIGTERM/SIGINT end the run through the finally below, which stops
    # every process the harness started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(2))
    harness = Harness(args, root)
    started = time.monotonic()
    try:
        summary = harness.run()
    finally:
        harness.cleanup()
        if not args.keep and not harness.failures:
            shutil.rmtree(root, ignore_errors=True)
    summary.update(seed=seed, seconds=round(time.monotonic() - started, 1))
    print("SUMMARY " + json.dumps(summary), flush=True)
    if harness.failures:
        print(f"{len(harness.failures)} failures; work directory kept in {root}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
