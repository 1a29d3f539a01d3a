"""SMTP servers for integration tests, each in its own process on a free
loopback port, started and stopped by the test (by PID).

- start_aiosmtpd(): a real server (Debian's python3-aiosmtpd): plain,
  STARTTLS or implicit TLS, optional AUTH PLAIN/LOGIN with a fixed user,
  PIPELINING advertised. Every message is saved byte for byte
  (envelope.original_content) with its envelope, see ServerProcess.messages().
- start_fake_server(): a scripted asyncio server whose reply at each stage
  (greeting, ehlo, helo, mail, rcpt, data, end_of_data, rset, quit, auth) is
  set by the test: a reply ("451 4.3.0 later", multi-line with "\\n"), a list
  of replies used in turn, "drop" (close the connection) or "stall" (never
  answer), or a reply then one of those ("354 go ahead\\ndrop"). It logs every command line it reads (and whether more input was
  already waiting: pipelining), and saves each DATA payload as received on
  the wire (still dot-stuffed).

TLS certificates come from the test CA in pki.py (make_test_pki).

Run as a script, this file is the server process itself:
    python3 smtp_servers.py aiosmtpd|fake CONFIG.json
It prints "READY <port>" on stdout once it listens.
"""

import asyncio
import json
import os
import signal
import socket
import ssl
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from child_server import ChildServer  # noqa: E402

TEST_USER = "mailer"
TEST_PASSWORD = "S3cret-Pa55word!"


# --------------------------------------------------------------------------
# The test's side: start, inspect, stop


class ServerProcess(ChildServer):
    """A server subprocess. Use as a context manager or call stop()."""

    def __init__(self, kind, config, workdir):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.out = self.workdir / "out"
        self.out.mkdir(exist_ok=True)
        config = dict(config, out=str(self.out))
        config_path = self.workdir / "server.json"
        config_path.write_text(json.dumps(config))
        self._start(__file__, [kind, config_path], self.workdir / "server.err")

    def messages(self):
        """Saved messages in arrival order: dicts with mail_from, rcpt_tos,
        mail_options, peer, and data (bytes, as the server received them)."""
        found = []
        for meta in sorted(self.out.glob("msg-*.json"), key=lambda p: int(p.stem.split("-")[1])):
            entry = json.loads(meta.read_text())
            entry["data"] = meta.with_suffix(".eml").read_bytes()
            found.append(entry)
        return found

    def events(self):
        """The server's log: dicts with an "event" key ("line", "data", ...)."""
        path = self.out / "events.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def commands(self):
        """Command lines received (fake server; aiosmtpd logs MAIL and RCPT)."""
        return [e["line"] for e in self.events() if e["event"] == "line"]

    def wait_for_events(self, predicate, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.events()):
                return True
            time.sleep(0.05)
        return False


def start_aiosmtpd(workdir, tls="none", pki=None, cert="good", auth=False,
                   pipelining=True, smtputf8=False, size_limit=33554432):
    """tls: none | starttls | implicit; cert: good | wrong (host name) |
    expired. auth: require AUTH PLAIN/LOGIN as TEST_USER/TEST_PASSWORD (over
    TLS only, except with implicit TLS, where the connection is TLS from the
    start). The server name a client sends (SNI) is logged as an "sni" event."""
    config = {"tls": tls, "auth": auth, "pipelining": pipelining, "smtputf8": smtputf8,
              "size_limit": size_limit}
    if tls != "none":
        pair = {"good": (pki.server_cert, pki.server_key), "wrong": (pki.wrong_cert, pki.wrong_key),
                "expired": (pki.expired_cert, pki.expired_key)}[cert]
        config.update(cert=str(pair[0]), key=str(pair[1]))
    return ServerProcess("aiosmtpd", config, workdir)


FAKE_DEFAULTS = {
    "greeting": "220 fake.test ESMTP",
    "ehlo": "250-fake.test\n250-PIPELINING\n250-8BITMIME\n250 ENHANCEDSTATUSCODES",
    "helo": "250 fake.test",
    "starttls": "454 4.7.0 TLS not available",
    "auth": "535 5.7.8 authentication failed",
    "auth_continue": "535 5.7.8 authentication failed",  # a client line after a 334
    "mail": "250 2.1.0 Ok",
    "rcpt": "250 2.1.5 Ok",
    "data": "354 End data with <CR><LF>.<CR><LF>",
    "end_of_data": "250 2.0.0 Ok: queued",
    "rset": "250 2.0.0 Ok",
    "noop": "250 2.0.0 Ok",
    "quit": "221 2.0.0 Bye",
}


def start_fake_server(workdir, **script):
    """Stage replies as keyword arguments (see FAKE_DEFAULTS); rcpt may also
    be a dict address -> reply with a "*" default. trickle=True sends replies
    a byte at a time."""
    return ServerProcess("fake", dict(FAKE_DEFAULTS, **script), workdir)


def unstuff(wire):
    """The message a DATA payload (without its final ".\\r\\n") carries."""
    lines = wire.split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


def normalize_crlf(data):
    """What the client must send for a stored message: CRLF line ends, a
    final CRLF (the same rule as spool/smtp_data.cpp, written in Python)."""
    out = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if out and not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out


# --------------------------------------------------------------------------
# The server's side (runs in the child process)


class _EventLog:
    def __init__(self, out):
        self.path = Path(out) / "events.jsonl"
        self.out = Path(out)
        self.count = 0

    def write(self, **event):
        with open(self.path, "a") as f:
            f.write(json.dumps(event) + "\n")

    def save_message(self, data, **meta):
        self.count += 1
        base = self.out / f"msg-{self.count}"
        base.with_suffix(".eml").write_bytes(data)
        base.with_suffix(".json").write_text(json.dumps(meta))
        return self.count


def _listen_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def _server_tls_context(config, log):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(config["cert"], config["key"])
    ctx.sni_callback = lambda sslobj, name, context: log.write(event="sni", name=name)
    return ctx


def _run_aiosmtpd(config):
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    log = _EventLog(config["out"])

    class Handler:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            if config["pipelining"]:
                responses.insert(1, "250-PIPELINING")
            return responses

        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            log.write(event="line", line=f"MAIL FROM:<{address}> {' '.join(mail_options)}".strip(),
                      peer=list(session.peer))
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            return "250 2.1.0 OK"

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            log.write(event="line", line=f"RCPT TO:<{address}>", peer=list(session.peer))
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

        async def handle_DATA(self, server, session, envelope):
            n = log.save_message(envelope.original_content, mail_from=envelope.mail_from,
                                 rcpt_tos=envelope.rcpt_tos, mail_options=envelope.mail_options,
                                 peer=list(session.peer), tls=session.ssl is not None,
                                 authenticated=bool(session.authenticated))
            return f"250 2.0.0 Ok: queued as {n}"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == TEST_USER.encode()
              and auth_data.password == TEST_PASSWORD.encode())
        log.write(event="auth", mechanism=mechanism, success=ok)
        return AuthResult(success=ok, handled=False)

    tls = config["tls"]
    tls_context = _server_tls_context(config, log) if tls != "none" else None
    kwargs = dict(data_size_limit=config["size_limit"], enable_SMTPUTF8=config["smtputf8"],
                  hostname="aiosmtpd.test", timeout=30)
    if tls == "starttls":
        kwargs.update(tls_context=tls_context, require_starttls=True)
    if config["auth"]:
        kwargs.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=(tls == "starttls"))
    else:
        kwargs.update(auth_require_tls=True)

    async def main():
        sock = _listen_socket()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(Handler(), loop=loop, **kwargs), sock=sock,
                                          ssl=tls_context if tls == "implicit" else None)
        print(f"READY {sock.getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class _FakeSession:
    """One connection to the scripted server."""

    uses = {}  # stage -> replies given so far, across connections (reply lists)
    connections = 0

    def __init__(self, config, log, reader, writer):
        self.config, self.log, self.reader, self.writer = config, log, reader, writer
        _FakeSession.connections += 1
        self.conn = _FakeSession.connections
        self.in_auth = False

    def script(self, stage, key=None):
        value = self.config[stage]
        if isinstance(value, dict):
            value = value.get(key, value.get("*", FAKE_DEFAULTS.get(stage)))
        if isinstance(value, list):
            n = _FakeSession.uses.get(stage, 0)
            _FakeSession.uses[stage] = n + 1
            value = value[min(n, len(value) - 1)]
        return value

    async def respond(self, action, stage):
        """Sends a scripted reply; False when the connection is over."""
        self.log.write(event="reply", stage=stage, reply=action, conn=self.conn)
        lines = action.split("\n")
        then = lines.pop() if lines[-1] in ("drop", "stall") else None  # "354 go\ndrop"
        payload = "".join(line + "\r\n" for line in lines).encode()
        chunks = [payload[i:i + 1] for i in range(len(payload))] if self.config.get("trickle") else [payload]
        for chunk in chunks:
            if chunk:
                self.writer.write(chunk)
                await self.writer.drain()
        if then == "drop":
            self.writer.close()
            return False
        if then == "stall":
            await asyncio.sleep(3600)
            return False
        return True

    async def read_data(self):
        """DATA payload as received, without the final ".\\r\\n"."""
        raw = b""
        while True:
            line = await self.reader.readline()
            if not line:
                return None
            if line == b".\r\n":
                return raw
            raw += line

    async def receive_message(self):
        raw = await self.read_data()
        if raw is None:
            return False
        # A server that also took "\n.\n" or "\r.\r" as the end would be
        # open to smuggling: record whether such a sequence came.
        bare = any(s in raw for s in (b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\n"))
        n = self.log.save_message(raw, conn=self.conn, bare_dot_sequence=bare)
        # pipelined: commands came behind the final "." before its reply.
        self.log.write(event="data", message=n, bare_dot_sequence=bare, conn=self.conn,
                       pipelined=len(self.reader._buffer) > 0)
        return await self.respond(self.script("end_of_data"), "end_of_data")

    async def run(self):
        if not await self.respond(self.script("greeting"), "greeting"):
            return
        while True:
            line = await self.reader.readline()
            if not line:
                return
            pipelined = len(self.reader._buffer) > 0  # more input already waiting
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            self.log.write(event="line", line=text, pipelined=pipelined, conn=self.conn)
            verb = text.split(" ", 1)[0].upper()
            if self.in_auth:  # a SASL continuation line, not a command
                verb = "AUTH-CONTINUE"
            stage = {"AUTH-CONTINUE": "auth_continue","EHLO": "ehlo", "HELO": "helo", "STARTTLS": "starttls", "AUTH": "auth",
                     "MAIL": "mail", "RCPT": "rcpt", "DATA": "data", "RSET": "rset",
                     "NOOP": "noop", "QUIT": "quit"}.get(verb)
            if stage is None:
                self.writer.write(b"500 5.5.2 unknown command\r\n")
                continue
            key = text[text.find("<") + 1:text.rfind(">")] if stage == "rcpt" else None
            action = self.script(stage, key)
            self.in_auth = stage.startswith("auth") and action.startswith("334")
            if not await self.respond(action, stage):
                return
            if stage == "quit":
                return
            if stage == "data" and action.startswith("354") and not await self.receive_message():
                return


def _run_fake(config):
    log = _EventLog(config["out"])

    async def handle(reader, writer):
        try:
            await _FakeSession(config, log, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main():
        sock = _listen_socket()
        server = await asyncio.start_server(handle, sock=sock, limit=1 << 20)
        print(f"READY {sock.getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    kind, config_file = sys.argv[1], sys.argv[2]
    cfg = json.loads(Path(config_file).read_text())
    {"aiosmtpd": _run_aiosmtpd, "fake": _run_fake}[kind](cfg)
