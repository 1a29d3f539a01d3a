"""The DSN parameters of RFC 3461 end to end (DESIGN.md sections 3-5):
sendmail's -N, -R and -V (and the submit door's NOTIFY, ORCPT, RET and ENVID)
go into the queue, decide which bounces the real mailqd sends and what they
return, become a "relayed" DSN for NOTIFY=SUCCESS when the relay (aiosmtpd)
does not offer DSN, and are passed on to a relay that does (a scripted fake
server that logs every command line).

A bounce is queued in the transaction that records the failure it reports,
so once a recipient shows as failed, its bounce (or the lack of one) is in
the queue: no test waits for time."""

import email
import os
import smtplib
import subprocess
import sys
from email import policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import MAILQCTL_BIN, wait_until  # noqa: E402
from smtp_servers import start_aiosmtpd, start_fake_server, unstuff  # noqa: E402

FAST_QUEUE = {"retry_initial": "1s", "retry_max": "1h", "retry_factor": "2", "retry_jitter": "0"}
SENDMAIL = Path(MAILQCTL_BIN).parent / "sendmail"
MESSAGE = (b"From: Alice <alice@example.com>\n"
           b"To: bob@example.org\n"
           b"Subject: dsn test\n"
           b"\n"
           b"The body text.\n")
REFUSING = {"bad@example.org": "550 5.1.1 no such user", "*": "250 2.1.5 Ok"}
DSN_EHLO = "250-fake.test\n250-PIPELINING\n250-8BITMIME\n250-DSN\n250 ENHANCEDSTATUSCODES"


def start(daemon, port):
    return daemon(sections={"queue": dict(FAST_QUEUE),
                            "relay.default": {"host": "127.0.0.1", "port": port, "tls": "none",
                                              "auth": "none", "timeout": "2s"}})


def sendmail(d, *args, message=MESSAGE):
    """The real sendmail (the mailqctl binary under that name); the
    CompletedProcess."""
    return subprocess.run([str(SENDMAIL), *args], input=message, capture_output=True, timeout=30,
                          env=dict(os.environ, MAILQD_CONFIG=str(d.config_path)))


def send(d, *args):
    """sendmail -f alice@example.com ARGS; the queue ID of the message."""
    before = {m["id"] for m in d.list()}
    r = sendmail(d, "-f", "alice@example.com", *args)
    assert r.returncode == 0, r.stderr
    # Not the bounce it may already have caused.
    new = [m["id"] for m in d.list() if m["id"] not in before and m["sender"]]
    assert len(new) == 1, new
    return new[0]


def wait_state(d, queue_id, state, timeout=15):
    return wait_until(lambda: d.show(queue_id)["state"] == state and d.show(queue_id), timeout,
                      f"{queue_id} {state}:\n{d.log_text()[-3000:]}")


def bounces(d, exclude=()):
    return [m for m in d.list() if m["sender"] == "" and m["id"] not in exclude]


def saved(server):
    """server.messages(), or [] while the server is half-way through writing
    one (its files are not written atomically)."""
    try:
        return server.messages()
    except (ValueError, FileNotFoundError):
        return []


def parsed(data):
    return email.message_from_bytes(data, policy=policy.default)


def part(message, content_type):
    return next((p for p in message.walk() if p.get_content_type() == content_type), None)


def test_notify_never_gets_no_bounce(daemon, tmp_path):
    with start_fake_server(tmp_path / "srv", rcpt=REFUSING) as srv:
        d = start(daemon, srv.port)
        quiet = send(d, "-N", "never", "bad@example.org")
        wait_state(d, quiet, "failed")
        assert d.show(quiet)["recipients"][0]["last_reply"] == "550 5.1.1 no such user"
        assert bounces(d) == [], "NOTIFY=NEVER: no bounce"
        # The same without -N bounces, as before DSN.
        loud = send(d, "bad@example.org")
        wait_state(d, loud, "failed")
        assert len(bounces(d)) == 1
        assert "no such user" in d.show(bounces(d)[0]["id"], raw=True)["raw"]
    d.stop()


def test_ret_hdrs_and_envid_shape_the_bounce(daemon, tmp_path):
    with start_fake_server(tmp_path / "srv", rcpt=REFUSING) as srv:
        d = start(daemon, srv.port)
        qid = send(d, "-R", "hdrs", "-V", "abc", "bad@example.org")
        wait_state(d, qid, "failed")
        [bounce] = bounces(d)
        report = parsed(d.show(bounce["id"], raw=True)["raw"].encode())
        assert report.get_content_type() == "multipart/report"
        status = part(report, "message/delivery-status").as_string()
        assert "Original-Envelope-Id: abc" in status
        assert "Final-Recipient: rfc822; bad@example.org" in status
        returned = part(report, "text/rfc822-headers")
        assert returned is not None and part(report, "message/rfc822") is None
        text = returned.get_payload()
        assert "Subject: dsn test" in text and "The body text." not in text

        # RET=FULL returns the whole message.
        full = send(d, "-R", "full", "bad@example.org")
        wait_state(d, full, "failed")
        [second] = bounces(d, exclude={bounce["id"]})
        report = parsed(d.show(second["id"], raw=True)["raw"].encode())
        assert part(report, "text/rfc822-headers") is None
        assert "The body text." in part(report, "message/rfc822").as_string()
        assert "Original-Envelope-Id" not in part(report, "message/delivery-status").as_string()
    d.stop()


def test_notify_success_to_a_relay_without_dsn_sends_a_relayed_dsn(daemon, tmp_path):
    with start_aiosmtpd(tmp_path / "srv") as srv:
        d = start(daemon, srv.port)
        qid = send(d, "-N", "success,failure", "-V", "job-7", "bob@example.org")
        wait_state(d, qid, "sent")
        got = wait_until(lambda: len(saved(srv)) >= 2 and saved(srv), 15,
                         f"the message and its DSN at the relay:\n{d.log_text()[-3000:]}")
        commands = srv.commands()
    first, dsn = got[0], got[1]
    # aiosmtpd offers no DSN: no parameter went with the message (it would
    # have refused one with 555).
    assert first["mail_from"] == "alice@example.com" and first["rcpt_tos"] == ["bob@example.org"]
    assert not [o for o in first["mail_options"] if o.upper().startswith(("RET=", "ENVID="))]
    assert not [c for c in commands if "NOTIFY=" in c or "ENVID=" in c]
    assert dsn["mail_from"] == "<>" and dsn["rcpt_tos"] == ["alice@example.com"]  # aiosmtpd's <>
    report = parsed(dsn["data"])
    assert report["Subject"] == "Successful Mail Delivery Report"
    status = part(report, "message/delivery-status").as_string()
    assert "Action: relayed" in status and "Status: 2.0.0" in status
    assert "Final-Recipient: rfc822; bob@example.org" in status
    assert "Original-Envelope-Id: job-7" in status
    assert "The body text." not in dsn["data"].decode()
    assert f"{qid}: sender delivery status notification: " in d.log_text()
    d.stop()


def test_a_relay_that_offers_dsn_gets_the_parameters(daemon, tmp_path):
    with start_fake_server(tmp_path / "srv", ehlo=DSN_EHLO) as srv:
        d = start(daemon, srv.port)
        qid = send(d, "-N", "success,delay", "-R", "hdrs", "-V", "id+1 =x", "bob@example.org")
        wait_state(d, qid, "sent")
        # Through the submit door with ORCPT, as an SMTP library sends it.
        client = smtplib.LMTP(str(d.submit_socket))
        client.ehlo_msg = "ehlo"  # speak SMTP, not LMTP, over the Unix socket
        code, _ = client.ehlo()
        assert code == 250 and client.has_extn("dsn")
        assert client.mail("alice@example.com", ["RET=FULL"])[0] == 250
        assert client.rcpt("carol@example.org", ["NOTIFY=FAILURE", "ORCPT=rfc822;Carol+2Bx@example.org"])[0] == 250
        assert client.rcpt("dave@example.org")[0] == 250
        code, text = client.data(MESSAGE.replace(b"\n", b"\r\n"))
        client.quit()
        assert code == 250, text
        second = text.decode().rsplit("queued as ", 1)[1].strip()
        wait_state(d, second, "sent")
        commands = srv.commands()
    assert "MAIL FROM:<alice@example.com> RET=HDRS ENVID=id+2B1+20+3Dx" in commands
    assert "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,DELAY" in commands
    assert "MAIL FROM:<alice@example.com> RET=FULL" in commands
    assert "RCPT TO:<carol@example.org> NOTIFY=FAILURE ORCPT=rfc822;Carol+2Bx@example.org" in commands
    assert "RCPT TO:<dave@example.org>" in commands
    # The relay reports success itself: no DSN of ours.
    assert bounces(d) == []
    d.stop()


def test_bad_dsn_flags_are_usage_errors(daemon, tmp_path):
    d = daemon(start=False)
    for args, named in ((["-N", "sometimes"], "sometimes"), (["-R", "body"], "body"),
                        (["-V", "x" * 101], "-V"), (["-B", "BINARYMIME"], "BINARYMIME"),
                        (["-Y"], "-Y")):
        r = sendmail(d, *args, "bob@example.org")
        assert r.returncode == 64, (args, r.returncode, r.stderr)
        err = r.stderr.decode()
        assert named in err and len(err.strip().splitlines()) == 1, err
