"""mailqctl send (issue 5): the composed message read back by an
independent parser, Python's email package with policy.default. Names and
subjects decode to the exact UTF-8 given, the part tree is as specified,
attachment bytes and file names are identical, inline images are referenced
by the HTML, line limits hold. Bad input is one error line, exit 64/65, and
nothing is queued; through a running mailqd the message reaches the
aiosmtpd relay with Bcc only in the envelope."""

import email
import email.policy
import os
import re
import subprocess

import pytest

from conftest import MAILQCTL_BIN, wait_until
from smtp_servers import start_aiosmtpd

SUBJECT = ("Grüße aus Köln — 你好，世界 — a subject long enough to be folded over "
           "more than one line of the header")
FROM = "Jürgen Müller <juergen@example.com>"
TO = "张三 <zhang@example.cn>, plain@example.org"
CC = '"Doe, John" <john@example.org>'
BCC = "hidden@example.net"
TEXT = ("Hallo Jürgen,\n\nthis line is long enough that quoted-printable has to break it "
        "somewhere in the middle, and it ends in spaces   \n-- \nmailqd\n")
HTML = ('<html><body><p>Hello <b>world</b></p>\n'
        '<img src="cid:logo.png"> <img src="cid:chart.gif"></body></html>\n')


def ctl(config, *args, input=None):
    env = dict(os.environ)
    env.pop("MAILQD_CONFIG", None)
    return subprocess.run([MAILQCTL_BIN, "-c", str(config), *map(str, args)], input=input,
                          capture_output=True, timeout=30, env=env)


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def tree(part):
    if part.is_multipart():
        return (part.get_content_type(), [tree(p) for p in part.iter_parts()])
    return part.get_content_type()


def check_lines(data):
    assert data.count(b"\n") == data.count(b"\r\n"), "bare LF in the message"
    assert b"\r" not in data.replace(b"\r\n", b""), "bare CR in the message"
    header, _, body = data.partition(b"\r\n\r\n")
    for line in data.split(b"\r\n"):
        assert len(line) <= 78, line
    assert all(b < 0x80 for b in header), "raw 8-bit header"


@pytest.fixture
def files(tmp_path):
    f = tmp_path / "files"
    f.mkdir()
    paths = {
        "text": f / "body.txt", "html": f / "page.html",
        "logo": f / "logo.png", "chart": f / "chart.gif",
        "random": f / "random.bin", "chinese": f / "报告 2026年.pdf", "notes": f / "notes.txt",
    }
    paths["text"].write_text(TEXT, encoding="utf-8")
    paths["html"].write_text(HTML, encoding="utf-8")
    paths["logo"].write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500))
    paths["chart"].write_bytes(b"GIF89a" + os.urandom(300))
    paths["random"].write_bytes(os.urandom(10000))
    paths["chinese"].write_bytes(os.urandom(3000))
    paths["notes"].write_bytes(b"line one\nline two\r\nno final newline")
    return paths


def full_args(files):
    return ["--from", FROM, "--to", TO, "--cc", CC, "--bcc", BCC, "--subject", SUBJECT,
            "--text-file", files["text"], "--html-file", files["html"],
            "--inline", files["logo"], files["chart"],
            "--attach", files["random"], files["chinese"], "--attach", files["notes"],
            "--header", "X-Mailer-Test: mailqd", "--header", "Reply-To: Zoë <zoe@example.com>"]


def check_full_message(data, files, hostname):
    check_lines(data)
    msg = parse(data)
    assert msg["subject"] == SUBJECT
    assert msg["mime-version"] == "1.0"
    sender = msg["from"].addresses
    assert [(a.display_name, a.addr_spec) for a in sender] == [("Jürgen Müller", "juergen@example.com")]
    assert [(a.display_name, a.addr_spec) for a in msg["to"].addresses] == [
        ("张三", "zhang@example.cn"), ("", "plain@example.org")]
    assert [(a.display_name, a.addr_spec) for a in msg["cc"].addresses] == [("Doe, John", "john@example.org")]
    assert [(a.display_name, a.addr_spec) for a in msg["reply-to"].addresses] == [("Zoë", "zoe@example.com")]
    assert msg["x-mailer-test"] == "mailqd"
    assert msg["bcc"] is None and b"hidden@" not in data
    assert msg["message-id"].endswith("@" + hostname + ">")
    assert msg["date"].datetime is not None
    assert not msg.defects

    assert tree(msg) == ("multipart/mixed", [
        ("multipart/alternative", [
            "text/plain",
            ("multipart/related", ["text/html", "image/png", "image/gif"])]),
        "application/octet-stream", "application/pdf", "text/plain"])

    plain = msg.get_body(("plain",))
    assert plain.get_content().replace("\r\n", "\n") == TEXT
    html = msg.get_body(("html",))
    html_text = html.get_content().replace("\r\n", "\n")
    assert html_text == HTML

    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    images = list(related.iter_parts())[1:]
    assert [p.get_filename() for p in images] == ["logo.png", "chart.gif"]
    for image, key in zip(images, ["logo", "chart"]):
        cid = image["content-id"].strip().strip("<>")
        assert "cid:" + cid in html_text
        assert image.get_content_disposition() == "inline"
        assert image.get_payload(decode=True) == files[key].read_bytes()

    attachments = [(p.get_filename(), p.get_payload(decode=True)) for p in msg.iter_attachments()]
    assert attachments == [(files[k].name, files[k].read_bytes()) for k in ("random", "chinese", "notes")]
    for part in msg.walk():
        if part.get("content-transfer-encoding") == "base64":
            payload = part.get_payload()
            assert all(len(line) <= 76 for line in payload.splitlines())
    return msg


def test_dry_run_round_trip(daemon, files):
    d = daemon(start=False)
    r = ctl(d.config_path, "send", *full_args(files), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    check_full_message(r.stdout, files, "mailqd.test")


@pytest.mark.parametrize("opts,expected", [
    (["--text", "hi"], "text/plain"),
    (["--html-file", "HTML"], "text/html"),
    (["--text", "hi", "--html-file", "HTML"], ("multipart/alternative", ["text/plain", "text/html"])),
    (["--html-file", "HTML", "--inline", "LOGO"], ("multipart/related", ["text/html", "image/png"])),
    (["--text", "hi", "--attach", "RANDOM"],
     ("multipart/mixed", ["text/plain", "application/octet-stream"])),
    (["--html-file", "HTML", "--inline", "LOGO", "--attach", "RANDOM"],
     ("multipart/mixed", [("multipart/related", ["text/html", "image/png"]), "application/octet-stream"])),
    (["--attach", "RANDOM"], ("multipart/mixed", ["application/octet-stream"])),
])
def test_structure_follows_options(daemon, files, opts, expected):
    d = daemon(start=False)
    names = {"HTML": files["html"], "LOGO": files["logo"], "RANDOM": files["random"]}
    args = [names.get(o, o) for o in opts]
    r = ctl(d.config_path, "send", "--from", "a@example.com", "--to", "b@example.org",
            "--subject", "s", *args, "--dry-run")
    assert r.returncode == 0, r.stderr
    check_lines(r.stdout)
    msg = parse(r.stdout)
    assert tree(msg) == expected
    assert not msg.defects


def test_body_from_stdin_and_encodings(daemon, tmp_path):
    d = daemon(start=False)
    chinese = "你好，世界。这是一封测试邮件。\n" * 20
    r = ctl(d.config_path, "send", "--from", "a@example.com", "--to", "b@example.org",
            "--subject", "stdin", "--text-file", "-", "--dry-run", input=chinese.encode())
    assert r.returncode == 0, r.stderr
    check_lines(r.stdout)
    msg = parse(r.stdout)
    assert msg["content-transfer-encoding"] == "base64"
    assert msg.get_content().replace("\r\n", "\n") == chinese

    r = ctl(d.config_path, "send", "--from", "a@example.com", "--to", "b@example.org",
            "--text", "plain ascii", "--dry-run")
    assert parse(r.stdout)["content-transfer-encoding"] == "7bit"


def one_error_line(r):
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("mailqctl: send: "), r.stderr
    return lines[0]


def test_bad_input_is_refused_and_nothing_is_queued(daemon, files, tmp_path):
    d = daemon()
    base = ["--from", "a@example.com", "--to", "b@example.org", "--text", "x"]
    cases = [
        (["--attach", tmp_path / "missing.pdf"], 64, "No such file or directory"),
        (["--attach", tmp_path], 64, "Is a directory"),
        (["--text-file", tmp_path / "nope.txt"], 64, "nope.txt"),
        (["--inline", files["logo"]], 64, "inline images need an HTML part"),
        (["--cc", "not an address"], 65, "Cc: cannot parse"),
        (["--subject", "x\r\nBcc: evil@example.com"], 65, "Subject contains a line break"),
        (["--subject", "x\nBcc: evil@example.com"], 65, "Subject contains a line break"),
        (["--header", "X-Tag: a\r\nBcc: evil@example.com"], 65, "X-Tag contains a line break"),
        (["--header", "Bcc: evil@example.com"], 64, "written by mailqctl send itself"),
        (["--bogus"], 64, "unknown option --bogus"),
    ]
    for extra, code, text in cases:
        args = base + extra if extra[0] != "--text-file" else base[:4] + extra
        r = ctl(d.config_path, "send", *args)
        assert r.returncode == code, (extra, r.returncode, r.stderr)
        assert text in one_error_line(r), (extra, r.stderr)
        assert r.stdout == b""
    r = ctl(d.config_path, "send", "--from", "Evil\r\n <e@example.com>", "--to", "b@example.org")
    assert r.returncode == 65 and "From contains a line break" in one_error_line(r)
    assert d.list() == []


def test_send_queues_with_bcc_only_in_the_envelope(daemon, files):
    d = daemon()
    r = ctl(d.config_path, "send", *full_args(files))
    assert r.returncode == 0, r.stderr
    queue_id = r.stdout.decode().strip()
    assert re.fullmatch(r"[0-9A-Za-z]+", queue_id), r.stdout
    shown = d.show(queue_id)
    assert shown["sender"] == "juergen@example.com"
    assert [x["address"] for x in shown["recipients"]] == [
        "zhang@example.cn", "plain@example.org", "john@example.org", "hidden@example.net"]
    raw = d.ctl("show", queue_id, "--raw").stdout
    # No Bcc header in any part ("Bcc" alone may turn up in an attachment's base64).
    assert "hidden@" not in raw and not re.search(r"(?im)^bcc:", raw)


def test_end_to_end_through_the_relay(daemon, files, tmp_path):
    with start_aiosmtpd(tmp_path / "relay") as relay:
        d = daemon(sections={"relay.default": {"port": relay.port}})
        r = ctl(d.config_path, "send", *full_args(files))
        assert r.returncode == 0, r.stderr
        got = wait_until(relay.messages, timeout=20, what="the message at the relay")
        assert len(got) == 1
        assert got[0]["mail_from"] == "juergen@example.com"
        assert sorted(got[0]["rcpt_tos"]) == sorted([
            "zhang@example.cn", "plain@example.org", "john@example.org", "hidden@example.net"])
        check_full_message(got[0]["data"], files, "mailqd.test")
