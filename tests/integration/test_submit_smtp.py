"""The submit door (DESIGN.md section 3.1) against the real mailqd: LMTP on
the Unix socket, SMTP on the TCP listener, PIPELINING, SIZE, garbage and
stalled clients, dot-stuffing round trips."""

import os
import pwd
import random
import smtplib
import socket
import subprocess
import time

from conftest import MAILQD_BIN, wait_until

MESSAGE = ("From: Alice <alice@example.com>\r\n"
           "To: bob@example.org\r\n"
           "Subject: submit door\r\n"
           "\r\n"
           "body\r\n")


class RawClient:
    """A line-oriented client that sends bytes exactly as given."""

    def __init__(self, address, timeout=10.0):
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(address)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        """One reply line without CRLF; None at EOF."""
        while b"\r\n" not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def reply(self):
        """A whole reply (multi-line replies joined with newlines)."""
        lines = []
        while True:
            line = self.line()
            if line is None:
                return "\n".join(lines) if lines else None
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "\n".join(lines)

    def until_eof(self, limit=1000):
        """Reads replies until the server hangs up; returns them."""
        seen = []
        for _ in range(limit):
            line = self.line()
            if line is None:
                return seen
            seen.append(line)
        raise AssertionError(f"server never hung up; last replies {seen[-5:]}")


def queued_id(reply_text):
    assert "queued as " in reply_text, reply_text
    return reply_text.rsplit("queued as ", 1)[1].strip()


def test_lmtp_two_recipients_get_two_replies(daemon):
    d = daemon()
    lmtp = smtplib.LMTP(str(d.submit_socket))
    try:
        code, _ = lmtp.ehlo()  # LMTP's ehlo() sends LHLO
        assert code == 250
        assert lmtp.has_extn("pipelining") and lmtp.has_extn("enhancedstatuscodes")
        assert lmtp.mail("alice@example.com")[0] == 250
        assert lmtp.rcpt("bob@example.org")[0] == 250
        assert lmtp.rcpt("carol@example.org")[0] == 250
        first = lmtp.data(MESSAGE.encode())
        second = lmtp.getreply()
        lmtp.quit()
    finally:
        lmtp.close()
    assert first[0] == 250 and second[0] == 250
    assert b"<bob@example.org>" in first[1] and b"<carol@example.org>" in second[1]
    qid = queued_id(first[1].decode())
    assert qid == queued_id(second[1].decode())

    shown = d.show(qid)
    assert sorted(r["address"] for r in shown["recipients"]) == ["bob@example.org", "carol@example.org"]
    assert shown["sender"] == "alice@example.com"
    assert shown["submitter"] == pwd.getpwuid(os.getuid()).pw_name
    d.wait_log(f"{qid}: from=<alice@example.com>")
    assert "door=socket" in next(l for l in d.log_text().splitlines() if f"{qid}: from=" in l)


def test_smtp_over_tcp(daemon):
    d = daemon(listen=True)
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as smtp:
        code, banner = smtp.ehlo("client.test")
        assert code == 250
        for ext in ("pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes"):
            assert smtp.has_extn(ext), ext
        assert smtp.mail("alice@example.com", ["BODY=8BITMIME", "SIZE=200"])[0] == 250
        assert smtp.rcpt("bob@example.org")[0] == 250
        code, text = smtp.data("Subject: tcp\r\n\r\nh\xe9llo\r\n".encode())
    assert code == 250 and text.startswith(b"2.0.0 Ok: queued as ")
    qid = queued_id(text.decode())
    shown = d.show(qid)
    assert shown["submitter"] == pwd.getpwuid(os.getuid()).pw_name  # the client socket's owner
    raw = d.show(qid, raw=True)["raw"]
    assert "Subject: tcp\r\n" in raw and "Date: " in raw and "Message-ID: " in raw
    assert "h\xe9llo" in raw

    # sendmail() as a library would use it; HELO-only clients work too.
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as smtp:
        smtp.helo("old.client")
        assert smtp.sendmail("alice@example.com", ["bob@example.org"], MESSAGE) == {}
    assert len(d.list()) == 2


def test_pipelining_in_one_write(daemon):
    d = daemon()
    c = RawClient(str(d.submit_socket))
    assert c.reply().startswith("220 mailqd.test ESMTP")
    c.send("EHLO pipe\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
           "RCPT TO:<c@example.org>\r\nDATA\r\n")
    assert "250-PIPELINING" in c.reply()
    assert c.reply() == "250 2.1.0 Ok"
    assert c.reply() == "250 2.1.5 Ok"
    assert c.reply() == "250 2.1.5 Ok"
    assert c.reply().startswith("354 ")
    # The message, its end, and the next transaction in one more write.
    c.send("Subject: pipelined\r\n\r\none\r\n.\r\n"
           "MAIL FROM:<>\r\nRCPT TO:<d@example.org>\r\nDATA\r\n")
    first = c.reply()
    assert c.reply() == "250 2.1.0 Ok"
    assert c.reply() == "250 2.1.5 Ok"
    assert c.reply().startswith("354 ")
    c.send("Subject: second\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
    second = c.reply()
    assert c.reply() == "221 2.0.0 Bye"
    assert c.line() is None
    c.close()
    ids = {queued_id(first), queued_id(second)}
    assert len(ids) == 2
    by_id = {m["id"]: m for m in d.list()}
    assert sorted(r["address"] for r in by_id[queued_id(first)]["recipients"]) == \
        ["b@example.org", "c@example.org"]
    assert by_id[queued_id(second)]["sender"] == ""


def test_size_limit_declared_and_actual(daemon):
    d = daemon({"queue": {"max_message_size": "10K"}})
    c = RawClient(str(d.submit_socket))
    c.reply()
    c.send("EHLO size\r\n")
    assert "250-SIZE 10240" in c.reply()
    c.send("MAIL FROM:<a@example.com> SIZE=20000\r\n")
    assert c.reply() == "552 5.3.4 Message size exceeds fixed limit"
    c.send("MAIL FROM:<a@example.com> SIZE=100\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
    assert c.reply() == "250 2.1.0 Ok"
    assert c.reply() == "250 2.1.5 Ok"
    assert c.reply().startswith("354 ")
    body = "Subject: big\r\n\r\n" + ("x" * 76 + "\r\n") * 400  # about 31K, as declared it was 100
    c.send(body + ".\r\n")
    assert c.reply() == "552 5.3.4 Message size exceeds fixed limit"
    # The rest of the message was read and dropped: the session goes on.
    c.send("NOOP\r\n")
    assert c.reply() == "250 2.0.0 Ok"
    c.close()
    assert d.list() == []


def test_garbage_is_disconnected(daemon):
    d = daemon()
    # A very long line without an end.
    c = RawClient(str(d.submit_socket))
    c.reply()
    try:
        c.send(b"A" * 100000)
    except (BrokenPipeError, ConnectionResetError):
        pass
    replies = c.until_eof()
    assert replies and replies[-1].startswith("421 4.7.0"), replies
    c.close()

    # Random binary: command errors pile up until the server hangs up.
    c = RawClient(str(d.submit_socket))
    c.reply()
    rng = random.Random(1234)
    junk = bytes(rng.randrange(256) for _ in range(3000)).replace(b"\n", b"\r\n")
    junk += b"\r\n" * 20
    try:
        c.send(junk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    replies = c.until_eof()
    assert replies and replies[-1].startswith("421 4.7.0"), replies
    assert any(r.startswith("500 5.5.2") for r in replies)
    c.close()

    # The daemon is still there for well-behaved clients, and queued nothing.
    lmtp = smtplib.LMTP(str(d.submit_socket))
    assert lmtp.noop()[0] == 250
    lmtp.close()
    assert d.list() == []


def test_stalled_clients_are_disconnected(daemon):
    d = daemon({"submit": {"timeout": "2s"}})
    idle = RawClient(str(d.submit_socket))
    assert idle.reply().startswith("220 ")
    mid_data = RawClient(str(d.submit_socket))
    mid_data.reply()
    mid_data.send("EHLO stall\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
    for _ in range(4):
        mid_data.reply()
    mid_data.send("Subject: half\r\n\r\nthis message never ends")
    start = time.monotonic()
    assert idle.reply().startswith("421 4.4.2")
    assert idle.line() is None
    assert mid_data.reply().startswith("421 4.4.2")
    assert mid_data.line() is None
    assert time.monotonic() - start < 5
    idle.close()
    mid_data.close()
    assert d.list() == []  # nothing half-received is queued


def test_dot_lines_round_trip(daemon):
    d = daemon()
    body_lines = [".hidden", "..two dots", ".", " . ", "last"]
    # LF line endings and client-side dot-stuffing, sent raw.
    c = RawClient(str(d.submit_socket))
    c.reply()
    c.send("HELO dots\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\n")
    assert c.reply().startswith("250 ")
    assert c.reply() == "250 2.1.0 Ok"
    assert c.reply() == "250 2.1.5 Ok"
    assert c.reply().startswith("354 ")
    stuffed = "\n".join("." + l if l.startswith(".") else l for l in body_lines)
    c.send("Subject: dots\n\n" + stuffed + "\n.\n")
    qid = queued_id(c.reply())
    c.send("QUIT\n")
    assert c.reply() == "221 2.0.0 Bye"
    c.close()

    out = d.ctl("show", qid, "--raw")
    assert out.returncode == 0, out.stderr
    text = out.stdout.replace("\r\n", "\n")
    assert "Subject: dots\n\n" + "\n".join(body_lines) + "\n" in text
    stored = d.show(qid, raw=True)["raw"]
    assert stored.endswith("\r\n" + "\r\n".join(body_lines) + "\r\n")
    assert "\n" not in stored.replace("\r\n", "")  # CRLF throughout


def test_max_clients(daemon):
    d = daemon({"submit": {"max_clients": "2"}})
    a = RawClient(str(d.submit_socket))
    b = RawClient(str(d.submit_socket))
    assert a.reply().startswith("220 ") and b.reply().startswith("220 ")
    refused = RawClient(str(d.submit_socket))
    assert refused.reply() == "421 4.3.2 Too many connections"
    assert refused.line() is None
    refused.close()
    a.send("QUIT\r\n")
    assert a.reply() == "221 2.0.0 Bye"
    a.close()

    def third_gets_in():
        c = RawClient(str(d.submit_socket))
        try:
            return c.reply().startswith("220 ")
        finally:
            c.close()
    wait_until(third_gets_in, timeout=5, what="a free client slot")
    b.close()


def test_bad_commands_get_clear_replies(daemon):
    d = daemon()
    c = RawClient(str(d.submit_socket))
    c.reply()
    c.send("MAIL FROM:<a@example.com>\r\n")
    assert c.reply().startswith("503 5.5.1")
    c.send("EHLO x\r\n")
    c.reply()
    c.send("RCPT TO:<b@example.org>\r\n")
    assert c.reply().startswith("503 5.5.1")
    c.send("MAIL FROM:<a@example.com> FROB=1\r\n")
    assert c.reply().startswith("501 5.5.4")
    c.send("MAIL FROM:<not an address>\r\n")
    assert c.reply().startswith("501 ")
    c.send("STARTTLS\r\n")
    assert c.reply() == "500 5.5.2 Syntax error, command unrecognized"
    c.send("VRFY bob\r\n")
    assert c.reply().startswith("252 ")
    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
    c.reply()
    c.reply()
    assert c.reply().startswith("354 ")
    c.send("this is not a header line\r\n\r\nbody\r\n.\r\n")
    assert c.reply().startswith("554 5.6.0")
    c.send("QUIT\r\n")
    assert c.reply() == "221 2.0.0 Bye"
    c.close()
    assert d.list() == []


def test_bare_lf_smuggling_stays_inside_one_message(daemon):
    """SMTP smuggling, inbound: an application relays untrusted text whose
    bare LFs frame a "." and new commands. The client speaks CRLF, so only
    CRLF.CRLF ends DATA: one message is queued, holding the text."""
    d = daemon()
    c = RawClient(str(d.submit_socket))
    assert c.reply().startswith("220 ")
    c.send("EHLO app\r\nMAIL FROM:<app@example.com>\r\nRCPT TO:<user@example.org>\r\nDATA\r\n")
    for _ in range(4):
        c.reply()
    payload = ("Subject: reset\r\n\r\nHello\n.\nMAIL FROM:<ceo@example.com>\nRCPT TO:<victim@example.net>\n"
               "DATA\nSubject: forged\n\nsend money\n.\n")
    c.send(payload + "\r\n.\r\nQUIT\r\n")
    qid = queued_id(c.reply())
    assert c.reply() == "221 2.0.0 Bye"
    c.close()
    queued = d.list()
    assert [m["id"] for m in queued] == [qid]
    assert queued[0]["recipients"][0]["address"] == "user@example.org"
    raw = d.show(qid, raw=True)["raw"]
    assert "Hello\r\n.\r\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<victim@example.net>\r\n" in raw
    assert "\n" not in raw.replace("\r\n", "")  # normalised to CRLF


def test_tcp_listen_must_be_loopback(daemon):
    """The TCP door has no authentication: any other address is a config
    error that names the key."""
    for address in ("0.0.0.0:2525", "[::]:2525", "192.0.2.1:2525"):
        d = daemon(sections={"submit": {"listen": address}}, start=False)
        r = subprocess.run([MAILQD_BIN, "--check-config", "-c", str(d.config_path)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 78, (address, r.stdout, r.stderr)
        assert f'[submit] listen: "{address}" is not a loopback host:port' in r.stderr + r.stdout
