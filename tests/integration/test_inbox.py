"""mailqctl inbox: listing, showing and saving messages from a mailbox's
Maildir. Messages are built here with Python's email package (non-ASCII
names, HTML alternatives, inline images, binary attachments) and must come
back exactly through `inbox show --json` and `inbox save`; end to end,
messages fetched from Dovecot by mailqd are listed and shown.
"""

import json
import os
import time
from email import policy
from email.message import EmailMessage

import pytest

from conftest import wait_until
from pop3_servers import TEST_PASSWORD, TEST_USER, Dovecot

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63fcff9f a1000005fe02fea7d6a5a50000000049454e44ae426082".replace(" ", ""))
BINARY = bytes(range(256)) * 40 + b"\r\n\n\r\x00end"


def maildir_of(root):
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def mailbox(maildir, password_file, **extra):
    section = {"host": "127.0.0.1", "port": 110, "tls": "none", "username": "u",
               "password_file": password_file, "maildir": maildir, "interval": "1h"}
    section.update(extra)
    return section


@pytest.fixture
def box(daemon, tmp_path):
    """A config (no daemon running) with two mailboxes: qq (first) and work."""
    password = tmp_path / "pw"
    password.write_text("secret\n")
    os.chmod(password, 0o600)
    qq = maildir_of(tmp_path / "mail" / "qq")
    work = maildir_of(tmp_path / "mail" / "work")
    d = daemon({"mailbox.qq": mailbox(qq, password), "mailbox.work": mailbox(work, password)},
               start=False)
    d.qq, d.work = qq, work
    return d


def deliver(maildir, msg, name, folder="new", mtime=None, crlf=False):
    data = msg.as_bytes(policy=policy.SMTP if crlf else policy.default)
    path = maildir / folder / name
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return data


def rich_message():
    msg = EmailMessage()
    msg["From"] = "张三 <zhang@example.com>"
    msg["To"] = "Zoë Müller <zoe@example.org>"
    msg["Subject"] = "报告 – résumé attached ✓"
    msg["Date"] = "Mon, 23 Nov 2026 08:00:00 +0000"
    msg.set_content("Bonjour Zoë,\n中文正文 and a long line " + "x" * 120 + "\nbye\n")
    msg.add_alternative('<html><body><p>Bonjour <b>Zoë</b></p><img src="cid:logo"></body></html>\n',
                        subtype="html")
    html = msg.get_payload()[1]
    html.add_related(PNG, maintype="image", subtype="png", cid="<logo>", filename="logo.png")
    msg.add_attachment(BINARY, maintype="application", subtype="octet-stream",
                       filename="数据 résumé.bin")
    msg.add_attachment("Ünïcode text file\n".encode("iso-8859-1", "replace"), maintype="text",
                       subtype="plain", filename="notes.txt")
    return msg


def ctl_json(d, *args):
    out = d.ctl(*args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_show_and_save_give_back_exact_text_and_bytes(box, tmp_path):
    for crlf in (False, True):
        msg = rich_message()
        name = f"1790000000.M{int(crlf)}P1.test,S=1:2,S" if crlf else "1790000001.M1P1.test,S=1"
        deliver(box.qq, msg, name, folder="cur" if crlf else "new", crlf=crlf)
        shown = ctl_json(box, "inbox", "show", name.split(":")[0], "--json")
        assert shown["handle"] == name
        assert shown["headers"]["from"] == "张三 <zhang@example.com>"
        assert shown["headers"]["to"] == "Zoë Müller <zoe@example.org>"
        assert shown["headers"]["subject"] == "报告 – résumé attached ✓"
        assert shown["text"] == msg.get_body(("plain",)).get_content()
        assert shown["text_from_html"] is False
        assert shown["html"] == msg.get_body(("html",)).get_content()
        files = [(a["filename"], a["content_type"], a["size"]) for a in shown["attachments"]]
        assert files == [("logo.png", "image/png", len(PNG)),
                         ("数据 résumé.bin", "application/octet-stream", len(BINARY)),
                         ("notes.txt", "text/plain", len("Ünïcode text file\n"))]
        assert shown["attachments"][0]["content_id"] == "logo"
        assert shown["problems"] == []

        out_dir = tmp_path / f"saved{int(crlf)}"
        saved = ctl_json(box, "inbox", "save", name, "--dir", out_dir, "--json")
        assert [s["filename"] for s in saved] == ["logo.png", "数据 résumé.bin", "notes.txt"]
        assert (out_dir / "logo.png").read_bytes() == PNG
        assert (out_dir / "数据 résumé.bin").read_bytes() == BINARY
        assert (out_dir / "notes.txt").read_bytes() == "Ünïcode text file\n".encode("iso-8859-1")

    text = box.ctl("inbox", "show", "1790000001.M1P1.test,S=1")
    assert text.returncode == 0, text.stderr
    assert "Subject: 报告 – résumé attached ✓\n" in text.stdout
    assert "中文正文" in text.stdout and "数据 résumé.bin  application/octet-stream" in text.stdout
    html = box.ctl("inbox", "show", "1790000001.M1P1.test,S=1", "--html")
    assert "<p>Bonjour <b>Zoë</b></p>" in html.stdout


def test_html_only_message_is_shown_as_text(box):
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg["Subject"] = "=?GB2312?B?1tDOxA==?= only html"
    msg.set_content("<html><head><style>p {color: red}</style></head><body><h1>Title</h1>"
                    "<p>First &amp; second</p><ul><li>one</li><li>two</li></ul></body></html>",
                    subtype="html")
    deliver(box.qq, msg, "1790000002.M1P1.test,S=1")
    shown = ctl_json(box, "inbox", "show", "1790000002.M1P1.test,S=1", "--json")
    assert shown["text_from_html"] is True
    assert shown["text"] == "Title\n\nFirst & second\n\n- one\n- two\n"
    assert shown["headers"]["subject"] == "中文 only html"
    assert shown["attachments"] == []


def test_list_is_newest_first_with_decoded_fields(box):
    now = int(time.time())
    for i, subject in enumerate(["first", "第二", "third"]):
        msg = EmailMessage()
        msg["From"] = f"Sénder {i} <s{i}@example.com>"
        msg["Subject"] = subject
        msg.set_content(f"body {i}\n")
        if i == 1:
            msg.add_attachment(b"\x00\x01", maintype="application", subtype="x-a", filename="a.bin")
        deliver(box.qq, msg, f"{now - 100 + i}.M{i}P1.test,S=1" + (":2," if i == 0 else ""),
                folder="cur" if i == 0 else "new", mtime=now - 100 + i)
    rows = ctl_json(box, "inbox", "--json")
    assert [r["subject"] for r in rows] == ["third", "第二", "first"]
    assert [r["folder"] for r in rows] == ["new", "new", "cur"]
    assert [r["attachments"] for r in rows] == [0, 1, 0]
    assert rows[1]["from"] == "Sénder 1 <s1@example.com>"
    assert set(rows[0]) == {"handle", "folder", "received_at", "date", "from", "subject", "size",
                            "attachments"}
    assert rows[0]["size"] == (box.qq / "new" / rows[0]["handle"]).stat().st_size
    assert [r["subject"] for r in ctl_json(box, "inbox", "qq", "--new", "--json")] == ["third", "第二"]
    assert ctl_json(box, "inbox", "work", "--json") == []
    text = box.ctl("inbox")
    assert text.returncode == 0 and "第二" in text.stdout


def test_errors_and_safe_names(box, tmp_path):
    assert box.ctl("inbox", "nosuch").returncode == 67
    assert box.ctl("inbox", "show", "nosuch").returncode == 67
    assert box.ctl("inbox", "show", "../../etc/passwd").returncode == 64
    assert box.ctl("inbox", "show", "x", "--mailbox", "nosuch").returncode == 67
    assert box.ctl("inbox", "save", "x").returncode == 64  # no --dir

    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg["Subject"] = "evil names"
    msg.set_content("see attached\n")
    for name in ("../../escape.txt", "/etc/passwd", "..", "a\x01b.txt", "same.txt", "same.txt"):
        msg.add_attachment(name.encode(), maintype="application", subtype="octet-stream",
                           filename=name)
    deliver(box.work, msg, "1790000003.M1P1.test,S=1")
    out_dir = tmp_path / "out" / "inner"
    saved = ctl_json(box, "inbox", "save", "1790000003.M1P1.test,S=1", "--mailbox", "work",
                     "--dir", out_dir, "--json")
    names = [s["filename"] for s in saved]
    assert names == ["escape.txt", "passwd", "attachment-3", "ab.txt", "same.txt", "same-2.txt"]
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(names)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out" / "escape.txt").exists()
    assert (out_dir / "same-2.txt").read_bytes() == b"same.txt"

    # No overwrite without --force: nothing is written, exit 1.
    (out_dir / "escape.txt").write_bytes(b"mine")
    again = box.ctl("inbox", "save", "1790000003.M1P1.test,S=1", "--mailbox", "work", "--dir", out_dir)
    assert again.returncode == 1 and "exists" in again.stderr
    assert (out_dir / "escape.txt").read_bytes() == b"mine"
    # --force replaces a file, and a symlink is replaced, never followed.
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (out_dir / "passwd").unlink()
    (out_dir / "passwd").symlink_to(victim)
    forced = box.ctl("inbox", "save", "1790000003.M1P1.test,S=1", "--mailbox", "work",
                     "--dir", out_dir, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out_dir / "escape.txt").read_bytes() == b"../../escape.txt"
    assert not (out_dir / "passwd").is_symlink() and victim.read_bytes() == b"keep"


def test_malformed_message_is_shown_not_crashed(box):
    raw = (b"From: =?utf-8?B?broken\nSubject: =?x-unknown?Q?caf=E9?=\n"
           b"Content-Type: multipart/mixed; boundary=zz\n\n--zz\n"
           b"Content-Type: text/plain; charset=bogus\n\ncaf\xe9\n--zz\n"
           b"Content-Type: application/pdf; name=x.pdf\nContent-Transfer-Encoding: base64\n\n"
           b"JVBE*Ri0=!!\n")
    (box.qq / "new" / "1790000004.M1P1.test,S=1").write_bytes(raw)
    shown = ctl_json(box, "inbox", "show", "1790000004.M1P1.test,S=1", "--json")
    assert shown["headers"]["subject"] == "café"
    assert shown["text"] == "café"
    assert shown["attachments"][0]["filename"] == "x.pdf"
    assert shown["problems"]


def test_messages_fetched_from_dovecot_are_listed_and_shown(daemon, pki, tmp_path):
    dovecot = Dovecot(pki).start()
    try:
        msgs = []
        for i in range(3):
            m = rich_message() if i == 1 else EmailMessage()
            if i != 1:
                m["From"] = f"Ünïcode {i} <u{i}@example.com>"
                m["Subject"] = f"fetched {i} – ✓"
                m.set_content(f"text {i}\n.a dotted line\n")
            msgs.append(m)
        # Delivered a second apart so the Maildir order is the arrival order.
        dovecot.add_messages([m.as_bytes(policy=policy.default) for m in msgs])
        password = tmp_path / "dovecot-pw"
        password.write_text(TEST_PASSWORD + "\n")
        os.chmod(password, 0o600)
        maildir = tmp_path / "mail" / "fetched"
        d = daemon({"mailbox.fetched": {
            "host": "127.0.0.1", "port": dovecot.pop3_port, "tls": "none", "username": TEST_USER,
            "password_file": password, "maildir": maildir, "interval": "1h", "keep": "no"}})
        out = d.ctl("fetch", "fetched")
        assert out.returncode == 0, out.stderr
        wait_until(lambda: len(list((maildir / "new").iterdir())) == 3, timeout=30, what="fetch")
        rows = ctl_json(d, "inbox", "fetched", "--json")
        assert sorted(r["subject"] for r in rows) == sorted(str(m["Subject"]) for m in msgs)
        for row in rows:
            shown = ctl_json(d, "inbox", "show", row["handle"], "--json")
            original = next(m for m in msgs if str(m["Subject"]) == row["subject"])
            assert shown["text"] == original.get_body(("plain",)).get_content()
            assert row["size"] == (maildir / "new" / row["handle"]).stat().st_size
        rich = next(r for r in rows if r["attachments"] == 3)
        saved = ctl_json(d, "inbox", "save", rich["handle"], "--dir", tmp_path / "att", "--json")
        assert (tmp_path / "att" / "数据 résumé.bin").read_bytes() == BINARY
        assert len(saved) == 3
        d.stop()
    finally:
        dovecot.cleanup()
