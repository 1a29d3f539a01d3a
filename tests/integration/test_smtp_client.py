"""The SMTP client (daemon/smtp_*.cpp) against real and scripted servers on
loopback, driven by the test-only tests/tools/smtp_send_probe, which prints
the per-recipient outcomes as JSON. Servers come from smtp_servers.py."""

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import smtp_servers  # noqa: E402
from smtp_servers import (TEST_PASSWORD, TEST_USER, normalize_crlf, start_aiosmtpd,  # noqa: E402
                          start_fake_server, unstuff)


def probe_path():
    if os.environ.get("SMTP_SEND_PROBE"):
        return os.environ["SMTP_SEND_PROBE"]
    mailqd = os.environ.get("MAILQD_BIN")
    if mailqd:  # build/daemon/mailqd -> build/tests/smtp_send_probe
        return str(Path(mailqd).resolve().parent.parent / "tests" / "smtp_send_probe")
    pytest.skip("set MAILQD_BIN or SMTP_SEND_PROBE")


def run_probe(port, files, *options, host="127.0.0.1", to=("rcpt@example.org",),
              sender="sender@example.com", timeout=60):
    args = [probe_path(), "--host", host, "--port", str(port), "--from", sender]
    for rcpt in to:
        args += ["--to", rcpt]
    args += list(options) + [str(f) for f in files]
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, timeout=timeout)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    result["elapsed"] = time.monotonic() - started
    result["stderr"] = done.stderr.decode("utf-8", "replace")
    return result


def recipients(result):
    return [r for s in result["sessions"] for m in s["messages"] for r in m["recipients"]]


def write_messages(directory, bodies):
    paths = []
    for i, body in enumerate(bodies):
        path = Path(directory) / f"m{i:03}.eml"
        path.write_bytes(body)
        paths.append(path)
    return paths


SIMPLE = (b"From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: hello\r\n"
          b"Message-ID: <1@example.com>\r\n\r\nHello there.\r\n")


# ---------------------------------------------------------------- delivery


def test_plain_delivery_arrives_byte_for_byte(tmp_path):
    with start_aiosmtpd(tmp_path / "srv") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none",
                           to=("a@example.org", "b@example.org"))
        got = srv.messages()
    session = result["sessions"][0]
    assert session["error"] is None
    assert [r["state"] for r in recipients(result)] == ["sent", "sent"]
    assert recipients(result)[0]["reply"].startswith("250 2.0.0 Ok: queued as 1")
    assert len(got) == 1
    assert got[0]["data"] == SIMPLE
    assert got[0]["mail_from"] == "sender@example.com"
    assert got[0]["rcpt_tos"] == ["a@example.org", "b@example.org"]


def test_starttls_auth_plain_with_ca_file(tmp_path, pki):
    with start_aiosmtpd(tmp_path / "srv", tls="starttls", pki=pki, auth=True) as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "starttls", "--ca-file", str(pki.ca_cert),
                           "--auth", "plain", "--user", TEST_USER, "--secret", TEST_PASSWORD,
                           host="localhost")
        got = srv.messages()
        auths = [e for e in srv.events() if e["event"] == "auth"]
    assert result["sessions"][0]["error"] is None, result
    assert [r["state"] for r in recipients(result)] == ["sent"]
    assert got[0]["data"] == SIMPLE
    assert got[0]["tls"] and got[0]["authenticated"]
    assert auths == [{"event": "auth", "mechanism": "PLAIN", "success": True}]


def test_implicit_tls_auth_login(tmp_path, pki):
    with start_aiosmtpd(tmp_path / "srv", tls="implicit", pki=pki, auth=True) as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "implicit", "--ca-file", str(pki.ca_cert),
                           "--auth", "login", "--user", TEST_USER, "--secret", TEST_PASSWORD)
        got = srv.messages()
        auths = [e for e in srv.events() if e["event"] == "auth"]
    assert result["sessions"][0]["error"] is None, result
    assert [r["state"] for r in recipients(result)] == ["sent"]
    assert got[0]["data"] == SIMPLE
    assert auths == [{"event": "auth", "mechanism": "LOGIN", "success": True}]


def test_auth_auto_prefers_plain_and_bad_password_defers(tmp_path, pki):
    with start_aiosmtpd(tmp_path / "srv", tls="starttls", pki=pki, auth=True) as srv:
        files = write_messages(tmp_path, [SIMPLE])
        ok = run_probe(srv.port, files, "--tls", "starttls", "--ca-file", str(pki.ca_cert),
                       "--user", TEST_USER, "--secret", TEST_PASSWORD)
        bad = run_probe(srv.port, files, "--tls", "starttls", "--ca-file", str(pki.ca_cert),
                        "--user", TEST_USER, "--secret", "wrong-password")
        auths = [e for e in srv.events() if e["event"] == "auth"]
        got = srv.messages()
    assert [r["state"] for r in recipients(ok)] == ["sent"]
    assert auths[0]["mechanism"] == "PLAIN"
    error = bad["sessions"][0]["error"]
    assert bad["sessions"][0]["relay_failed"]
    assert error["stage"] == "auth" and error["state"] == "deferred" and error["code"] == 535
    assert len(got) == 1


AUTH_EHLO = "250-fake.test\n250-AUTH PLAIN LOGIN XOAUTH2\n250 8BITMIME"


def test_xoauth2_sends_bearer_token(tmp_path):
    token = "ya29.test-token"
    with start_fake_server(tmp_path / "srv", ehlo=AUTH_EHLO, auth="235 2.7.0 Accepted") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        # Loopback: AUTH over a plain connection is allowed.
        result = run_probe(srv.port, files, "--tls", "none", "--auth", "xoauth2",
                           "--user", "someone@example.com", "--secret", token)
        commands = srv.commands()
    assert [r["state"] for r in recipients(result)] == ["sent"]
    [auth] = [c for c in commands if c.startswith("AUTH")]
    mechanism, payload = auth.split(" ")[1:]
    assert mechanism == "XOAUTH2"
    assert base64.b64decode(payload) == b"user=someone@example.com\x01auth=Bearer " + token.encode() + b"\x01\x01"


def test_xoauth2_error_challenge_is_answered_and_defers(tmp_path):
    with start_fake_server(tmp_path / "srv", ehlo=AUTH_EHLO,
                           auth="334 eyJzdGF0dXMiOiI0MDEifQ==",
                           auth_continue="535 5.7.8 Username and Password not accepted") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none", "--auth", "xoauth2",
                           "--user", "someone@example.com", "--secret", "expired-token")
        commands = srv.commands()
    error = result["sessions"][0]["error"]
    assert (error["stage"], error["code"], error["state"]) == ("auth", 535, "deferred")
    assert commands[-2:] == ["", "QUIT"]
    assert not any(c.startswith("MAIL") for c in commands)


def test_auto_auth_without_xoauth2_config_never_picks_it(tmp_path):
    with start_fake_server(tmp_path / "srv", ehlo="250-fake.test\n250 AUTH XOAUTH2") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none", "--user", "u", "--secret", "p")
        commands = srv.commands()
    error = result["sessions"][0]["error"]
    assert error["stage"] == "auth" and error["failure"] == "policy"
    assert "no usable AUTH mechanism" in error["reply"]
    assert not any(c.startswith("AUTH") for c in commands)


def test_size_limit_and_smtputf8(tmp_path):
    big = SIMPLE + b"x" * 2000 + b"\r\n"
    with start_fake_server(tmp_path / "srv", ehlo="250-fake.test\n250-PIPELINING\n250 SIZE 1000") as srv:
        files = write_messages(tmp_path, [big, SIMPLE])
        too_big = run_probe(srv.port, files, "--tls", "none")
        utf8 = run_probe(srv.port, files[1:], "--tls", "none", to=("j\u00f6rg@example.org",))
        commands = srv.commands()
    first, second = recipients(too_big)
    assert first["state"] == "failed" and first["failure"] == "unsendable"
    assert "exceeds the relay's limit of 1000" in first["reply"]
    assert second["state"] == "sent"
    assert "MAIL FROM:<sender@example.com> SIZE=%d" % len(SIMPLE) in commands
    [r] = recipients(utf8)
    assert r["state"] == "failed" and "SMTPUTF8" in r["reply"]

    with start_aiosmtpd(tmp_path / "real", smtputf8=True) as srv:
        result = run_probe(srv.port, files[1:], "--tls", "none", to=("j\u00f6rg@example.org",))
        [got] = srv.messages()
    assert [r["state"] for r in recipients(result)] == ["sent"]
    assert got["rcpt_tos"] == ["j\u00f6rg@example.org"] and "SMTPUTF8" in got["mail_options"]


def varied_messages():
    bodies = []
    for i in range(25):
        lines = [b"From: sender@example.com", b"To: rcpt@example.org",
                 f"Subject: message {i} \u00e9t\u00e9".encode(), b""]
        lines.append(b".starts with a dot")
        lines.append(b"..two dots")
        lines.append(b".")
        lines.append("8-bit UTF-8: gr\u00fc\u00dfe, \u65e5\u672c, \U0001F600".encode())
        lines.append(b"x" * 990 if i % 2 else b"." + b"y" * 989)
        lines.append(f"message number {i}".encode())
        ending = [b"\r\n", b"\n", b"\r\n"][i % 3]
        bodies.append(ending.join(lines) + (ending if i % 4 else b""))
    return bodies


def test_25_varied_messages_one_connection_pipelined(tmp_path):
    bodies = varied_messages()
    with start_aiosmtpd(tmp_path / "srv") as srv:
        files = write_messages(tmp_path, bodies)
        result = run_probe(srv.port, files, "--tls", "none", "--per-connection", "100")
        got = srv.messages()
    assert len(result["sessions"]) == 1
    assert result["sessions"][0]["error"] is None
    assert [r["state"] for r in recipients(result)] == ["sent"] * 25
    assert len(got) == 25
    assert len({tuple(m["peer"]) for m in got}) == 1, "all over one connection"
    for body, message in zip(bodies, got):
        assert message["data"] == normalize_crlf(body)
        assert "BODY=8BITMIME" in message["mail_options"]


def test_large_message_over_tls_byte_for_byte(tmp_path, pki):
    line = b".dot-led line of a large message, with 8-bit \xc3\xa9 text\n"
    body = SIMPLE + line * (3 * 1024 * 1024 // len(line))  # ~3 MB, LF endings
    with start_aiosmtpd(tmp_path / "srv", tls="starttls", pki=pki) as srv:
        files = write_messages(tmp_path, [body])
        result = run_probe(srv.port, files, "--tls", "starttls", "--ca-file", str(pki.ca_cert))
        [got] = srv.messages()
    assert [r["state"] for r in recipients(result)] == ["sent"]
    assert got["data"] == normalize_crlf(body)


def test_no_delayed_ack_stall_per_message(tmp_path):
    """aiosmtpd writes each reply separately with Nagle on (its listening
    socket has proto 0, so asyncio skips TCP_NODELAY): without quick ACKs the
    client waits ~40 ms per message, 20 messages/s at most."""
    body = SIMPLE + b"line of text\r\n" * 40
    with start_aiosmtpd(tmp_path / "srv") as srv:
        files = write_messages(tmp_path, [body] * 100)
        result = run_probe(srv.port, files, "--tls", "none", "--per-connection", "100")
        got = srv.messages()
    assert [r["state"] for r in recipients(result)] == ["sent"] * 100
    assert len(got) == 100
    assert result["elapsed"] < 3.5, f"100 messages took {result['elapsed']:.2f}s"


def test_pipelining_sends_the_next_envelope_with_the_data(tmp_path):
    with start_fake_server(tmp_path / "srv") as srv:
        files = write_messages(tmp_path, [SIMPLE, SIMPLE, SIMPLE])
        result = run_probe(srv.port, files, "--per-connection", "2", "--tls", "none",
                           to=("a@example.org", "b@example.org"))
        events = [e for e in srv.events() if e["event"] in ("line", "data") and e["conn"] == 1]
    assert [r["state"] for r in recipients(result)] == ["sent"] * 6
    assert len(result["sessions"]) == 2  # 2 messages per connection, then a new one
    envelope = ["MAIL FROM:<sender@example.com>", "RCPT TO:<a@example.org>", "RCPT TO:<b@example.org>", "DATA"]
    # No RSET after a completed transaction; MAIL, both RCPTs and DATA in
    # one write; the second envelope in the write of the first message's
    # data (behind its "."), the last message's "." followed by nothing.
    assert [(e.get("line", "<data>"), e["pipelined"]) for e in events] == (
        [("EHLO localhost", False)]
        + [(line, True) for line in envelope[:-1]] + [("DATA", False), ("<data>", True)]
        + [(line, True) for line in envelope[:-1]] + [("DATA", False), ("<data>", False)]
        + [("QUIT", False)])


def test_without_pipelining_commands_go_one_by_one(tmp_path):
    with start_fake_server(tmp_path / "srv", ehlo="250-fake.test\n250 8BITMIME") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none", to=("a@example.org", "b@example.org"))
        events = [e for e in srv.events() if e["event"] == "line"]
    assert [r["state"] for r in recipients(result)] == ["sent", "sent"]
    assert not any(e["pipelined"] for e in events)


def test_multiline_replies_trickled_byte_by_byte(tmp_path):
    with start_fake_server(tmp_path / "srv", trickle=True,
                           greeting="220-fake.test\n220-welcome\n220 ready",
                           end_of_data="250-2.0.0 queued\n250 2.0.0 as ABC") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none")
    [r] = recipients(result)
    assert r["state"] == "sent"
    assert r["reply"] == "250 2.0.0 queued as ABC"


# ---------------------------------------------------------------- TLS failures


def test_starttls_not_offered_defers_and_sends_no_mail(tmp_path):
    with start_fake_server(tmp_path / "srv") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "starttls")
        commands = srv.commands()
    session = result["sessions"][0]
    assert session["relay_failed"]
    assert session["error"]["state"] == "deferred"
    assert session["error"]["stage"] == "starttls"
    assert session["error"]["reply"] == "STARTTLS not offered"
    assert not any(c.startswith("MAIL") for c in commands)
    assert not any(c.startswith("STARTTLS") for c in commands)
    assert commands[-1] == "QUIT"


def test_wrong_host_certificate_defers_with_reason(tmp_path, pki):
    with start_aiosmtpd(tmp_path / "srv", tls="starttls", pki=pki, cert="wrong") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        by_name = run_probe(srv.port, files, "--tls", "starttls", "--ca-file", str(pki.ca_cert),
                            host="localhost")
        by_ip = run_probe(srv.port, files, "--tls", "starttls", "--ca-file", str(pki.ca_cert))
        got = srv.messages()
        mails = [c for c in srv.commands() if c.startswith("MAIL")]
    for result, why in ((by_name, "hostname mismatch"), (by_ip, "IP address mismatch")):
        error = result["sessions"][0]["error"]
        assert error["state"] == "deferred"
        assert error["stage"] == "starttls" and error["failure"] == "tls"
        assert error["reply"] == "TLS handshake failed: certificate verify failed: " + why
    assert got == [] and mails == []


def test_expired_certificate_defers(tmp_path, pki):
    with start_aiosmtpd(tmp_path / "srv", tls="implicit", pki=pki, cert="expired") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "implicit", "--ca-file", str(pki.ca_cert))
        got = srv.messages()
    error = result["sessions"][0]["error"]
    assert error["state"] == "deferred" and error["failure"] == "tls"
    assert error["reply"] == "TLS handshake failed: certificate verify failed: certificate has expired"
    assert got == []


def test_sni_sent_for_names_not_for_ip_literals(tmp_path, pki):
    with start_aiosmtpd(tmp_path / "srv", tls="implicit", pki=pki) as srv:
        files = write_messages(tmp_path, [SIMPLE])
        by_name = run_probe(srv.port, files, "--tls", "implicit", "--ca-file", str(pki.ca_cert),
                            host="localhost")
        by_ip = run_probe(srv.port, files, "--tls", "implicit", "--ca-file", str(pki.ca_cert))
        sni = [e["name"] for e in srv.events() if e["event"] == "sni"]
    assert [r["state"] for r in recipients(by_name) + recipients(by_ip)] == ["sent", "sent"]
    assert sni == ["localhost", None]


def test_unknown_ca_defers_and_verify_no_delivers(tmp_path, pki):
    with start_aiosmtpd(tmp_path / "srv", tls="implicit", pki=pki) as srv:
        files = write_messages(tmp_path, [SIMPLE])
        system_store = run_probe(srv.port, files, "--tls", "implicit")
        unverified = run_probe(srv.port, files, "--tls", "implicit", "--verify", "no")
        got = srv.messages()
    error = system_store["sessions"][0]["error"]
    assert error["stage"] == "connect" and error["state"] == "deferred"
    assert "unable to get local issuer certificate" in error["reply"]
    assert [r["state"] for r in recipients(unverified)] == ["sent"]
    assert len(got) == 1


# ---------------------------------------------------------------- safety


SMUGGLING = (b"From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: smuggle\r\n\r\n"
             b"innocent\n.\nMAIL FROM:<evil@example.net>\nRCPT TO:<victim@example.net>\nDATA\n"
             b"smuggled\r.\r\nRSET\r\n.\rQUIT\n.\r\nafter\r\n")


def test_bare_lf_dot_cannot_end_data_or_inject(tmp_path):
    with start_aiosmtpd(tmp_path / "real") as real:
        files = write_messages(tmp_path, [SMUGGLING])
        result = run_probe(real.port, files, "--tls", "none")
        got = real.messages()
        real_commands = real.commands()
    assert [r["state"] for r in recipients(result)] == ["sent"]
    assert len(got) == 1
    assert got[0]["data"] == normalize_crlf(SMUGGLING)
    assert real_commands == ["MAIL FROM:<sender@example.com> SIZE=%d" % len(SMUGGLING),
                             "RCPT TO:<rcpt@example.org>"]

    with start_fake_server(tmp_path / "fake") as fake:
        run_probe(fake.port, files, "--tls", "none")
        commands = fake.commands()
        [message] = fake.messages()
    assert commands == ["EHLO localhost", "MAIL FROM:<sender@example.com>",
                        "RCPT TO:<rcpt@example.org>", "DATA", "QUIT"]
    assert not message["bare_dot_sequence"]
    assert unstuff(message["data"]) == normalize_crlf(SMUGGLING)


def test_password_never_in_trace(tmp_path, pki):
    with start_aiosmtpd(tmp_path / "srv", tls="starttls", pki=pki, auth=True) as srv:
        files = write_messages(tmp_path, [SIMPLE])
        traces = [run_probe(srv.port, files, "--tls", "starttls", "--ca-file", str(pki.ca_cert),
                            "--auth", method, "--user", TEST_USER, "--secret", TEST_PASSWORD,
                            "--trace")["stderr"] for method in ("plain", "login")]
    plain, login = traces
    assert "smtp C: AUTH PLAIN ***" in plain
    assert "smtp C: AUTH LOGIN" in login and "smtp C: ***" in login
    secrets = [TEST_PASSWORD, base64.b64encode(TEST_PASSWORD.encode()).decode(),
               base64.b64encode(b"\0" + TEST_USER.encode() + b"\0" + TEST_PASSWORD.encode()).decode()]
    for trace in traces:
        assert "smtp S: 235" in trace
        for secret in secrets:
            assert secret not in trace


# ---------------------------------------------------------------- faults


STAGE_CASES = [
    # (script, expected state, expected stage, expected code)
    ({"greeting": "421 4.3.2 busy"}, "deferred", "greeting", 421),
    ({"greeting": "554 5.3.2 no service"}, "deferred", "greeting", 554),
    ({"ehlo": "421 4.3.2 closing"}, "deferred", "ehlo", 421),
    ({"ehlo": "502 5.5.1 no EHLO", "helo": "550 5.7.1 go away"}, "deferred", "ehlo", 550),
    ({"mail": "451 4.3.0 try later"}, "deferred", "mail", 451),
    ({"mail": "553 5.1.8 bad sender"}, "failed", "mail", 553),
    ({"rcpt": "450 4.2.1 mailbox busy"}, "deferred", "rcpt", 450),
    ({"rcpt": "550 5.1.1 no such user"}, "failed", "rcpt", 550),
    ({"data": "451 4.3.0 no data now"}, "deferred", "data", 451),
    ({"data": "554 5.5.1 no valid recipients"}, "failed", "data", 554),
    ({"end_of_data": "452 4.3.1 disk full"}, "deferred", "end-of-data", 452),
    ({"end_of_data": "552 5.3.4 too big"}, "failed", "end-of-data", 552),
]


@pytest.mark.parametrize("script,state,stage,code", STAGE_CASES,
                         ids=[f"{c[2]}-{c[3]}" for c in STAGE_CASES])
def test_replies_per_stage_classified(tmp_path, script, state, stage, code):
    with start_fake_server(tmp_path / "srv", **script) as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none")
        commands = srv.commands()
    session = result["sessions"][0]
    if stage in ("greeting", "ehlo"):
        outcome = session["error"]
        assert session["relay_failed"]
    else:
        [outcome] = recipients(result)
    assert (outcome["state"], outcome["stage"], outcome["code"]) == (state, stage, code), outcome
    if stage == "ehlo" and code == 550:
        assert commands[:2] == ["EHLO localhost", "HELO localhost"]


def test_mixed_recipients(tmp_path):
    with start_fake_server(tmp_path / "srv", rcpt={"bad@example.org": "550 5.1.1 unknown",
                                                   "later@example.org": "452 4.2.2 full"}) as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none",
                           to=("good@example.org", "bad@example.org", "later@example.org"))
        [message] = srv.messages()
    states = [(r["address"], r["state"], r["stage"]) for r in recipients(result)]
    assert states == [("good@example.org", "sent", "end-of-data"),
                      ("bad@example.org", "failed", "rcpt"),
                      ("later@example.org", "deferred", "rcpt")]
    assert unstuff(message["data"]) == SIMPLE


def test_all_recipients_refused_sends_no_data(tmp_path):
    with start_fake_server(tmp_path / "srv", rcpt="550 5.1.1 unknown",
                           data="554 5.5.1 no valid recipients") as srv:
        files = write_messages(tmp_path, [SIMPLE, SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none")
        got = srv.messages()
        commands = srv.commands()
    assert [r["state"] for r in recipients(result)] == ["failed", "failed"]
    assert got == []
    assert commands.count("RSET") == 1 and commands[-1] == "QUIT"


def test_drop_after_final_dot_may_have_been_delivered(tmp_path):
    with start_fake_server(tmp_path / "srv", end_of_data="drop") as srv:
        files = write_messages(tmp_path, [SIMPLE, SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none")
    session = result["sessions"][0]
    # The second message's envelope went with the first one's data: no "."
    # for it, so it is deferred where its transaction stood.
    r, second = recipients(result)
    assert r["state"] == "deferred" and r["stage"] == "end-of-data"
    assert r["reply"] == "connection lost after end of data: may have been delivered"
    assert second["state"] == "deferred" and second["stage"] == "mail"
    assert session["error"]["failure"] == "connection-lost"
    assert not session["relay_failed"]


def test_drop_after_354_defers(tmp_path):
    with start_fake_server(tmp_path / "srv", data="354 go ahead\ndrop") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none")
        got = srv.messages()
    [r] = recipients(result)
    assert r["state"] == "deferred" and r["failure"] == "connection-lost"
    assert r["stage"] in ("data", "end-of-data")  # the write may still fit the socket buffer
    assert got == []


def test_stall_times_out_deferred(tmp_path):
    with start_fake_server(tmp_path / "srv", rcpt="stall") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none", "--timeout-ms", "500")
    [r] = recipients(result)
    assert r["state"] == "deferred" and r["stage"] == "rcpt" and r["failure"] == "timeout"
    assert r["reply"] == "timeout in rcpt: no progress for 500ms"
    assert result["elapsed"] < 5


def test_stalled_greeting_and_session_limit(tmp_path):
    with start_fake_server(tmp_path / "srv", greeting="stall") as srv:
        files = write_messages(tmp_path, [SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none", "--timeout-ms", "30000",
                           "--session-limit-ms", "700")
    error = result["sessions"][0]["error"]
    assert error["stage"] == "greeting" and error["failure"] == "timeout"
    assert "session time limit reached" in error["reply"]
    assert result["elapsed"] < 10


def test_abort_ends_a_stalled_session_at_once(tmp_path):
    with start_fake_server(tmp_path / "srv", end_of_data="stall") as srv:
        files = write_messages(tmp_path, [SIMPLE, SIMPLE])
        result = run_probe(srv.port, files, "--tls", "none", "--timeout-ms", "30000",
                           "--abort-after-ms", "500")
    r, second = recipients(result)  # the second one's envelope went with the data
    assert r["state"] == "deferred" and r["stage"] == "end-of-data"
    assert r["reply"] == "connection lost after end of data: may have been delivered"
    assert second["state"] == "deferred" and second["stage"] == "mail"
    assert result["sessions"][0]["error"]["detail"] == "aborted: mailqd is stopping"
    assert result["elapsed"] < 10


def test_connection_refused_and_dns_failure_defer(tmp_path):
    with start_fake_server(tmp_path / "srv") as srv:
        port = srv.port
    files = write_messages(tmp_path, [SIMPLE])
    refused = run_probe(port, files, "--tls", "none")
    error = refused["sessions"][0]["error"]
    assert refused["sessions"][0]["relay_failed"]
    assert error["stage"] == "connect" and error["failure"] == "connect"
    assert "Connection refused" in error["reply"] and error["state"] == "deferred"

    unknown = run_probe(25, files, "--tls", "none", "--timeout-ms", "3000",
                        host="no-such-host.invalid")
    error = unknown["sessions"][0]["error"]
    assert error["stage"] == "connect" and error["state"] == "deferred"
    assert error["failure"] in ("dns", "timeout")
