"""POP3 servers for integration tests and bench/fetch, on free loopback
ports, started and stopped by the caller (by PID).

- Dovecot: the real dovecot-pop3d, run as `dovecot -F -c CONF` with its own
  config, base_dir, state and log in a short temp directory: a passwd-file
  user (TEST_USER / TEST_PASSWORD), plaintext login allowed (loopback),
  a plain port with STLS and an implicit-TLS port, certificates from the
  test CA (pki.make_test_pki), APOP enabled. The user's Maildir is
  filled by writing files into it (add_messages), as a local delivery would.
- FakePop3: a scripted asyncio POP3 server, in its own process, for faults:
  RETR of a given message can "drop" (close mid-body), "err" (-ERR), "stall"
  (say nothing), "stall_mid" (stop mid-body) or "trickle" (a line every
  0.2 s without end); a message's "listed_size" is what LIST says; any other command ("USER
  alice", "UIDL", "DELE 1") can "err", "drop", "stall" or "garbage" (a line
  that is not POP3), RETR "garbage" too. Capabilities are set by the
  test. It logs every command line and, at QUIT, the deletions it commits.

Run as a script, this file is the fake server process:
    python3 pop3_servers.py fake CONFIG.json
It prints "READY <port>" on stdout once it listens.
"""

import asyncio
import hashlib
import base64
import json
import os
import poplib
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from child_server import ChildServer, terminate  # noqa: E402
from pki import make_test_pki  # noqa: E402  (one test CA for SMTP and POP3)

TEST_USER = "alice"
TEST_PASSWORD = "P0p3-Secret!"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log() if log else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s: {log() if log else ''}")


# --------------------------------------------------------------------------
# Dovecot

DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = mailqd-test-{pop3_port}
log_path = {root}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain apop
auth_failure_delay = 0
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s_port}
    ssl = yes
  }}
}}
"""


class Dovecot:
    """A private Dovecot POP3 server. Its mail user is `nobody` (Dovecot
    refuses root), so its directory lives in a short, world-traversable
    temp dir rather than pytest's 0700 tmp_path (and Unix socket paths must
    stay short)."""

    def __init__(self, pki=None):
        self.root = Path(tempfile.mkdtemp(prefix="dc", dir="/tmp"))
        os.chmod(self.root, 0o755)
        self.pki = pki or make_test_pki(self.root / "pki")
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        self.home = self.root / "home"
        self.maildir = self.home / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        self._chown_tree(self.home)
        (self.root / "passwd").write_text(
            f"{TEST_USER}:{{PLAIN}}{TEST_PASSWORD}:{self.uid}:{self.gid}::{self.home}\n")
        self.conf = self.root / "dovecot.conf"
        self.conf.write_text(DOVECOT_CONF.format(
            root=self.root, cert=self.pki.server_cert, key=self.pki.server_key,
            pop3_port=self.pop3_port, pop3s_port=self.pop3s_port))
        self.proc = None
        self._counter = 0

    def _chown_tree(self, top):
        for dirpath, dirnames, filenames in os.walk(top):
            os.chown(dirpath, self.uid, self.gid)
            for name in filenames:
                os.chown(os.path.join(dirpath, name), self.uid, self.gid)

    def log(self):
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self):
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.root / "dovecot.err", "wb"))
        wait_port(self.pop3_port, proc=self.proc, log=self.log)
        wait_port(self.pop3s_port, proc=self.proc, log=self.log)
        return self

    def stop(self):
        if self.proc is not None:
            terminate(self.proc, 10)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def add_user(self, name, home):
        """Another passwd-file user (password TEST_PASSWORD) whose Maildir is
        HOME/Maildir: lets a test read a Maildir that mailqd wrote. HOME must
        be reachable by `nobody`; its tree is handed to `nobody`."""
        self._chown_tree(home)
        passwd = self.root / "passwd"
        before = passwd.stat().st_mtime
        with open(passwd, "a") as f:
            f.write(f"{name}:{{PLAIN}}{TEST_PASSWORD}:{self.uid}:{self.gid}::{home}\n")
        # Dovecot notices a changed passwd-file by its mtime, at most once a
        # second: see login() for the wait.
        os.utime(passwd, (before + 1, before + 1))

    def login(self, user, timeout=5.0):
        """A poplib session as user, retried while Dovecot has not yet
        re-read its passwd-file."""
        deadline = time.monotonic() + timeout
        while True:
            pop = poplib.POP3("127.0.0.1", self.pop3_port, timeout=10)
            try:
                pop.user(user)
                pop.pass_(TEST_PASSWORD)
                return pop
            except poplib.error_proto:
                pop.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def add_messages(self, messages):
        """Delivers messages (bytes with LF endings, as Maildir stores them)
        into the user's Maildir/new, the way an MDA would (tmp, rename)."""
        for data in messages:
            self._counter += 1
            name = f"{int(time.time())}.M{self._counter}P{os.getpid()}.test,S={len(data)}"
            tmp = self.maildir / "tmp" / name
            tmp.write_bytes(data)
            os.chown(tmp, self.uid, self.gid)
            os.rename(tmp, self.maildir / "new" / name)

    def server_messages(self):
        """Message files left in the user's Maildir (new/ and cur/)."""
        return [p for sub in ("new", "cur") for p in (self.maildir / sub).iterdir()]


def sample_message(i, size=None):
    """A test message with lines that must survive POP3 byte-stuffing."""
    body = (f"From: sender{i}@example.com\nTo: alice@example.org\nSubject: message {i}\n"
            f"Message-ID: <{i}.test@example.com>\n\n"
            f"line one of {i}\n.a line starting with a dot\n..\n.\n...\n \nlast line\n")
    if size is not None and len(body) < size:
        filler = "".join(f"filler {i} {n:06d} abcdefghijklmnopqrstuvwxyz0123456789\n" for n in range(size // 50 + 1))
        body = body + filler
        body = body[:size - 1] + "\n"
    return body.encode()


# --------------------------------------------------------------------------
# Scripted fake POP3 server


class FakePop3(ChildServer):
    """The fake server in its own process. messages: list of dicts
    {"uidl": str, "data": str (LF endings)}; faults: {"RETR 2": "drop"}, ...;
    capa: capability lines; password: USER/PASS, APOP and AUTH PLAIN."""

    what = "fake POP3 server"

    def __init__(self, workdir, messages, faults=None, capa=None, password=TEST_PASSWORD,
                 greeting="+OK fake POP3 ready <1896.697170952@fake.test>"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.events_path = self.workdir / "events.jsonl"
        config = {"messages": messages, "faults": faults or {},
                  "capa": capa if capa is not None else ["USER", "UIDL", "PIPELINING", "SASL PLAIN"],
                  "user": TEST_USER, "password": password, "greeting": greeting,
                  "events": str(self.events_path)}
        path = self.workdir / "fake.json"
        path.write_text(json.dumps(config))
        self._start(__file__, ["fake", path], self.workdir / "fake.err")

    def events(self):
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines() if line]

    def commands(self):
        return [e["line"] for e in self.events() if e["event"] == "line"]

    def committed_deletions(self):
        return [u for e in self.events() if e["event"] == "commit" for u in e["deleted"]]


def stuff(data):
    """LF-ended message -> POP3 wire form: CRLF, dot-stuffed, terminated."""
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "".join(("." + l if l.startswith(".") else l) + "\r\n" for l in lines) + ".\r\n"


class _FakeSession:
    def __init__(self, config, reader, writer):
        self.c = config
        self.reader, self.writer = reader, writer
        self.deleted = set()
        self.user = None

    def event(self, **kw):
        with open(self.c["events"], "a") as f:
            f.write(json.dumps(kw) + "\n")

    async def send(self, text):
        self.writer.write(text.encode("utf-8", "surrogateescape"))
        await self.writer.drain()

    def message(self, arg):
        try:
            n = int(arg)
        except ValueError:
            return None, None
        msgs = self.c["messages"]
        if 1 <= n <= len(msgs) and n not in self.deleted:
            return n, msgs[n - 1]
        return None, None

    async def run(self):
        await self.send(self.c["greeting"] + "\r\n")
        while True:
            line = await self.reader.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            self.event(event="line", line=text, pipelined=len(self.reader._buffer) > 0)
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            fault = self.c["faults"].get(f"{verb} {arg}".strip())
            if fault == "stall":
                await asyncio.sleep(3600)
            if fault == "garbage" or (fault in ("err", "drop") and verb != "RETR"):
                if not await self.fault(verb, fault):
                    return
                continue
            if not await self.handle(verb, arg, fault):
                return

    async def fault(self, verb, fault):
        """Any command: "err" (-ERR), "drop" (close), "garbage" (not POP3)."""
        if fault == "drop":
            self.writer.close()
            return False
        await self.send(f"-ERR fault in {verb}\r\n" if fault == "err" else "this is not pop3 at all\r\n")
        return True

    async def handle(self, verb, arg, fault):
        c = self.c
        msgs = c["messages"]
        if verb == "CAPA":
            await self.send("+OK\r\n" + "".join(l + "\r\n" for l in c["capa"]) + ".\r\n")
        elif verb == "USER":
            self.user = arg
            await self.send("+OK\r\n")
        elif verb == "PASS":
            ok = self.user == c["user"] and arg == c["password"]
            await self.send("+OK logged in\r\n" if ok else "-ERR [AUTH] invalid login\r\n")
        elif verb == "APOP":
            user, _, digest = arg.partition(" ")
            stamp = c["greeting"][c["greeting"].find("<"):c["greeting"].find(">") + 1]
            good = hashlib.md5((stamp + c["password"]).encode()).hexdigest()
            await self.send("+OK\r\n" if (user == c["user"] and digest == good) else "-ERR [AUTH] bad\r\n")
        elif verb == "AUTH":
            mech, _, resp = arg.partition(" ")
            good = base64.b64encode(f"\0{c['user']}\0{c['password']}".encode()).decode()
            await self.send("+OK\r\n" if (mech.upper() == "PLAIN" and resp == good) else "-ERR [AUTH] bad\r\n")
        elif verb == "STAT":
            live = [m for i, m in enumerate(msgs, 1) if i not in self.deleted]
            await self.send(f"+OK {len(live)} {sum(len(stuff(m['data'])) for m in live)}\r\n")
        elif verb in ("UIDL", "LIST"):
            out = "+OK\r\n"
            for i, m in enumerate(msgs, 1):
                if i not in self.deleted:
                    size = m.get("listed_size", len(stuff(m["data"])))  # a server may understate it
                    out += f"{i} {m['uidl'] if verb == 'UIDL' else size}\r\n"
            await self.send(out + ".\r\n")
        elif verb == "RETR":
            return await self.retr(arg, fault)
        elif verb == "DELE":
            n, m = self.message(arg)
            if n is None:
                await self.send("-ERR no such message\r\n")
            else:
                self.deleted.add(n)
                await self.send("+OK deleted\r\n")
        elif verb == "QUIT":
            self.event(event="commit", deleted=[msgs[n - 1]["uidl"] for n in sorted(self.deleted)])
            await self.send("+OK bye\r\n")
            return False
        else:
            await self.send("-ERR unknown command\r\n")
        return True

    async def retr(self, arg, fault):
        n, m = self.message(arg)
        if fault == "err" or n is None:
            await self.send("-ERR message is locked\r\n")
            return True
        wire = stuff(m["data"])
        if fault == "trickle":  # a line now and then, for ever: never idle for a whole timeout
            await self.send("+OK\r\n")
            while True:
                await self.send("more\r\n")
                await asyncio.sleep(0.2)
        if fault in ("drop", "stall_mid"):
            await self.send("+OK\r\n" + wire[:len(wire) // 2])
            if fault == "stall_mid":
                await asyncio.sleep(3600)
            self.writer.close()
            return False
        await self.send("+OK message follows\r\n" + wire)
        return True


def _run_fake(config):
    async def main():
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))

        async def on_client(reader, writer):
            try:
                await _FakeSession(config, reader, writer).run()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(on_client, sock=sock)
        print(f"READY {sock.getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(main())


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "fake":
        sys.exit("usage: pop3_servers.py fake CONFIG.json")
    _run_fake(json.loads(Path(sys.argv[2]).read_text()))
