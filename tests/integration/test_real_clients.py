"""The programs that call sendmail or speak SMTP to mailqd in real life
(issue 14, DESIGN.md section 7), each sending through the real `sendmail`
(mailqctl under that name) or a submit door into a real mailqd that relays
to aiosmtpd. Each test checks what aiosmtpd received (envelope sender and
recipients, the From/To/Subject headers, no Bcc header, the body byte for
byte with CRLF line ends, or decoded when the client chose
quoted-printable) and what the queue recorded (sender, recipients,
submitter, and the door in the accept log line).

The clients: PHP's mail(), Symfony Mailer's SendmailTransport (-bs, as
Symfony and Laravel default to, and -oi -t), PHPMailer's isSendmail() and
isSMTP() to the TCP door, git send-email, s-nail, swaks over the Unix socket
(SMTP and LMTP) and nodemailer's sendmail and SMTP transports. The PHP and
node drivers are in tests/clients/; scripts/setup installs the programs
(Debian packages) and nodemailer (npm ci in tests/clients/)."""

import email
import json
import os
import pwd
import re
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import MAILQCTL_BIN, SOURCE_DIR, Daemon, wait_until  # noqa: E402
from smtp_servers import start_aiosmtpd  # noqa: E402
from test_delivery import wait_messages, wait_state  # noqa: E402

CLIENTS = SOURCE_DIR / "tests" / "clients"
# The link the build makes beside mailqctl (cli/CMakeLists.txt): a program
# that runs it as "sendmail" gets the sendmail personality.
SENDMAIL = Path(MAILQCTL_BIN).parent / "sendmail"
ME = pwd.getpwuid(os.getuid()).pw_name

# A line with only a dot ends sendmail's input unless -i/-oi, and must be
# dot-stuffed over SMTP; lines starting with dots must keep them.
BODY = ("Hello Bob,\n"
        "\n"
        ".\n"
        ".a line that starts with a dot\n"
        "..and one with two\n"
        "\tindented with a tab\n"
        "last line\n")
# For the libraries that MIME-encode what they are given.
UTF8_BODY = BODY + "Grüße, Zoë\n"

TO = ["bob@example.org", "carol@example.org"]
BCC = ["hidden@example.net"]


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    with start_aiosmtpd(tmp_path_factory.mktemp("aiosmtpd")) as server:
        yield server


@pytest.fixture(scope="module")
def module_daemon(tmp_path_factory, relay):
    """One mailqd for the file (the tests run one after another): relaying
    to aiosmtpd, with its TCP door on (d.port)."""
    d = Daemon(tmp_path_factory.mktemp("mailqd"), listen=True,
               sections={"relay.default": {"port": relay.port, "timeout": "10s"}})
    try:
        yield d.start()
    finally:
        d.cleanup()


@pytest.fixture
def mq(module_daemon, relay):
    """The daemon, with what the queue and aiosmtpd held before this test
    noted, so that received() looks at this test's message only."""
    module_daemon.seen_ids = {m["id"] for m in module_daemon.list()}
    relay.seen = len(relay.messages())
    return module_daemon


def client_env(d, **extra):
    """The environment a client runs in: MAILQD_CONFIG points the sendmail
    it starts at the test daemon's sockets, as the default config would."""
    env = dict(os.environ)
    env["MAILQD_CONFIG"] = str(d.config_path)
    env.update(extra)
    return env


def run_client(d, argv, env=None, input=None, cwd=None):
    r = subprocess.run([str(a) for a in argv], input=input, capture_output=True, text=True,
                       env=env or client_env(d), cwd=cwd, timeout=60)
    assert r.returncode == 0, (f"{Path(str(argv[0])).name} exited {r.returncode}\n"
                               f"stdout: {r.stdout}\nstderr: {r.stderr}\n"
                               f"mailqd log:\n{d.log_text()[-3000:]}")
    return r


def write_spec(tmp_path, **spec):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def received(d, relay, sender, recipients, door):
    """Waits for the one message of the test to be sent; checks its envelope
    in the queue and at aiosmtpd, its submitter and door; returns what
    aiosmtpd received: (parsed message, raw bytes)."""
    new = wait_until(lambda: [m for m in d.list() if m["id"] not in d.seen_ids], 10,
                     f"a new message in the queue:\n{d.log_text()[-3000:]}")
    assert len(new) == 1, new
    queue_id = new[0]["id"]
    shown = wait_state(d, queue_id, "sent")
    assert shown["sender"] == sender
    assert sorted(r["address"] for r in shown["recipients"]) == sorted(recipients)
    assert shown["submitter"] == ME
    accept = [line for line in d.log_text().splitlines() if f"{queue_id}: from=<{sender}> " in line]
    assert len(accept) == 1, d.log_text()
    assert accept[0].endswith(f" nrcpt={len(recipients)} submitter={ME} door={door}"), accept[0]

    got = wait_messages(relay, relay.seen + 1)[relay.seen:]
    assert len(got) == 1, got
    assert got[0]["mail_from"] == sender
    assert sorted(got[0]["rcpt_tos"]) == sorted(recipients)
    data = got[0]["data"]
    return email.message_from_bytes(data, policy=policy.default), data


def check_headers(msg, from_name, sender, to, subject):
    assert [(a.display_name, a.addr_spec) for a in msg["From"].addresses] == [(from_name, sender)]
    assert sorted(a.addr_spec for a in msg["To"].addresses) == sorted(to)
    assert str(msg["Subject"]) == subject
    assert "Bcc" not in msg, msg["Bcc"]


def check_body(msg, data, expected):
    """Byte for byte (CRLF line ends) when the client sent the text as it
    is; decoded when it chose quoted-printable or base64."""
    encoding = str(msg.get("Content-Transfer-Encoding", "7bit")).lower()
    if encoding in ("7bit", "8bit"):
        body = data.split(b"\r\n\r\n", 1)[1]
        assert body == expected.replace("\n", "\r\n").encode(), body
    else:
        assert not msg.is_multipart()
        assert msg.get_content().replace("\r\n", "\n") == expected


# ------------------------------------------------------------------- PHP


def test_php_mail(mq, relay, tmp_path):
    """mail() with php.ini's usual sendmail_path (-t -i) and -f as its fifth
    argument. PHP writes the body and then a line end of its own."""
    spec = write_spec(tmp_path, sender="app@example.com", from_header="The App <app@example.com>",
                      to=TO, subject="Your order 1234 has shipped", body=BODY)
    run_client(mq, ["php", "-d", f"sendmail_path={SENDMAIL} -t -i", CLIENTS / "php_mail.php", spec])
    msg, data = received(mq, relay, "app@example.com", TO, "socket")
    check_headers(msg, "The App", "app@example.com", TO, "Your order 1234 has shipped")
    check_body(msg, data, BODY + "\n")


@pytest.mark.parametrize("flags", ["-bs", "-bs -i"], ids=["symfony-default", "laravel-default"])
def test_symfony_mailer_sendmail_bs(mq, relay, tmp_path, flags):
    """SendmailTransport's default mode (/usr/sbin/sendmail -bs; Laravel's
    sendmail_path default adds -i): SMTP on the process's stdin/stdout."""
    spec = write_spec(tmp_path, command=f"{SENDMAIL} {flags}", sender="app@example.com",
                      from_name="The App", to=TO, bcc=BCC, subject="Grüße from Symfony -bs",
                      body=UTF8_BODY)
    run_client(mq, ["php", CLIENTS / "symfony_mailer.php", spec])
    msg, data = received(mq, relay, "app@example.com", TO + BCC, "socket")
    check_headers(msg, "The App", "app@example.com", TO, "Grüße from Symfony -bs")
    # Symfony's SmtpTransport ends the data with "\r\n.\r\n" after a
    # message that already ends in CRLF: one empty line more.
    check_body(msg, data, UTF8_BODY + "\n")


def test_symfony_mailer_sendmail_t(mq, relay, tmp_path):
    """SendmailTransport with the command Symfony documents for -t
    (sendmail -oi -t): it drops -t and passes -f and the recipients."""
    spec = write_spec(tmp_path, command=f"{SENDMAIL} -oi -t", sender="app@example.com",
                      from_name="The App", to=TO, bcc=BCC, subject="Grüße from Symfony -t",
                      body=UTF8_BODY)
    run_client(mq, ["php", CLIENTS / "symfony_mailer.php", spec])
    msg, data = received(mq, relay, "app@example.com", TO + BCC, "socket")
    check_headers(msg, "The App", "app@example.com", TO, "Grüße from Symfony -t")
    check_body(msg, data, UTF8_BODY)


def test_phpmailer_is_sendmail(mq, relay, tmp_path):
    """isSendmail() runs php.ini's sendmail_path with -oi -fSENDER -t and
    writes the Bcc: header into the message: sendmail -t takes it into the
    envelope and removes it."""
    spec = write_spec(tmp_path, mode="sendmail", sender="app@example.com", from_name="The App",
                      to=TO, bcc=BCC, subject="Grüße from PHPMailer", body=UTF8_BODY)
    run_client(mq, ["php", "-d", f"sendmail_path={SENDMAIL} -t -i",
                    CLIENTS / "phpmailer_send.php", spec])
    msg, data = received(mq, relay, "app@example.com", TO + BCC, "socket")
    check_headers(msg, "The App", "app@example.com", TO, "Grüße from PHPMailer")
    check_body(msg, data, UTF8_BODY)


def test_phpmailer_is_smtp_to_the_tcp_door(mq, relay, tmp_path):
    spec = write_spec(tmp_path, mode="smtp", smtp_port=mq.port, sender="app@example.com",
                      from_name="The App", to=TO, bcc=BCC, subject="Grüße from PHPMailer SMTP",
                      body=UTF8_BODY)
    run_client(mq, ["php", CLIENTS / "phpmailer_send.php", spec])
    msg, data = received(mq, relay, "app@example.com", TO + BCC, "tcp")
    check_headers(msg, "The App", "app@example.com", TO, "Grüße from PHPMailer SMTP")
    # SMTP::data() sends each piece of the message split at "\n" as a line,
    # so a message ending in a line end gets an empty line more.
    check_body(msg, data, UTF8_BODY + "\n")


# ------------------------------------------------------- git, s-nail, swaks


def test_git_send_email(mq, relay, tmp_path):
    """A patch from git format-patch in a throwaway repository, sent with
    --smtp-server= the sendmail path (git runs it as `-f SENDER -i RCPT...`)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    who = {"GIT_AUTHOR_NAME": "Dev Eloper", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev Eloper", "GIT_COMMITTER_EMAIL": "dev@example.com"}
    env = client_env(mq, HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1", **who)

    def git(*args):
        return run_client(mq, ["git", *args], env=env, cwd=repo)

    git("init", "-q", "-b", "main", ".")
    (repo / "notes.txt").write_text("one\n")
    git("add", "notes.txt")
    git("commit", "-q", "-m", "notes: start")
    (repo / "notes.txt").write_text("one\n.\n.two\n")
    git("commit", "-q", "-a", "-m", "notes: add dotted lines", "-m", "Lines that start with dots.")
    patch = Path(repo / git("format-patch", "-1", "-o", "out").stdout.strip())
    git("send-email", f"--smtp-server={SENDMAIL}", "--from=Dev Eloper <dev@example.com>",
        "--envelope-sender=dev@example.com", "--to=list@example.org",
        "--cc=reviewer@example.org", "--confirm=never", "--suppress-cc=all", patch)

    msg, data = received(mq, relay, "dev@example.com",
                         ["list@example.org", "reviewer@example.org"], "socket")
    check_headers(msg, "Dev Eloper", "dev@example.com", ["list@example.org"],
                  "[PATCH] notes: add dotted lines")
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["reviewer@example.org"]
    # The patch as format-patch wrote it, less its mbox "From " line and
    # headers: the commit message, the diff and git's signature.
    check_body(msg, data, patch.read_text().split("\n\n", 1)[1])


def test_s_nail(mq, relay, tmp_path):
    """s-nail with its mta set to the sendmail path, no resource files; it
    runs `sendmail -i -F NAME -f SENDER -- RCPT...` and waits for it."""
    env = client_env(mq, HOME=str(tmp_path), MAILRC="/dev/null")
    # sendwait: s-nail waits for sendmail and fails with it (keeping a
    # dead.letter, here in the test's directory).
    run_client(mq, ["s-nail", "-:/", "-S", f"mta={SENDMAIL}", "-S", "sendwait",
                    "-S", f"DEAD={tmp_path / 'dead.letter'}",
                    "-s", "Nightly report", "-r", "Sam Nail <sam@example.com>", *TO],
               env=env, input=BODY)
    msg, data = received(mq, relay, "sam@example.com", TO, "socket")
    check_headers(msg, "Sam Nail", "sam@example.com", TO, "Nightly report")
    check_body(msg, data, BODY)


@pytest.mark.parametrize("protocol", ["SMTP", "LMTP"])
def test_swaks_over_the_unix_socket(mq, relay, tmp_path, protocol):
    r = run_client(mq, ["swaks", "--socket", mq.submit_socket, "--protocol", protocol,
                        "--from", "app@example.com", "--to", ",".join(TO),
                        "--header", "From: Swaks Test <app@example.com>",
                        "--header", f"Subject: swaks over {protocol}",
                        "--body", BODY])
    # LMTP: one reply per recipient after the data.
    replies = re.findall(r"^<[-~] +250[ -].*queued as \w+", r.stdout, re.M)
    assert len(replies) == (len(TO) if protocol == "LMTP" else 1), r.stdout
    msg, data = received(mq, relay, "app@example.com", TO, "socket")
    check_headers(msg, "Swaks Test", "app@example.com", TO, f"swaks over {protocol}")
    # swaks's data template puts a line end after the body, and its
    # terminator a CRLF before the dot: two empty lines more.
    check_body(msg, data, BODY + "\n\n")


# -------------------------------------------------------------- nodemailer


def nodemailer_script():
    if not (CLIENTS / "node_modules" / "nodemailer").is_dir():
        pytest.skip("nodemailer is not installed in tests/clients/node_modules: scripts/setup "
                    "runs npm ci there, and said why it could not (npm registry unreachable?)")
    return CLIENTS / "nodemailer_send.js"


def test_nodemailer_sendmail_transport(mq, relay, tmp_path):
    """nodemailer runs `sendmail -i -f SENDER RCPT...` and leaves the Bcc:
    header in the message: sendmail removes it."""
    script = nodemailer_script()
    spec = write_spec(tmp_path, mode="sendmail", sendmail=str(SENDMAIL), sender="app@example.com",
                      from_name="The App", to=TO, bcc=BCC, subject="Grüße from nodemailer",
                      body=UTF8_BODY)
    run_client(mq, ["node", script, spec])
    msg, data = received(mq, relay, "app@example.com", TO + BCC, "socket")
    check_headers(msg, "The App", "app@example.com", TO, "Grüße from nodemailer")
    check_body(msg, data, UTF8_BODY)


def test_nodemailer_smtp_transport_to_the_tcp_door(mq, relay, tmp_path):
    script = nodemailer_script()
    spec = write_spec(tmp_path, mode="smtp", smtp_port=mq.port, sender="app@example.com",
                      from_name="The App", to=TO, bcc=BCC, subject="Grüße from nodemailer SMTP",
                      body=UTF8_BODY)
    r = run_client(mq, ["node", script, spec])
    assert "queued as" in json.loads(r.stdout)["response"], r.stdout
    msg, data = received(mq, relay, "app@example.com", TO + BCC, "tcp")
    check_headers(msg, "The App", "app@example.com", TO, "Grüße from nodemailer SMTP")
    check_body(msg, data, UTF8_BODY)
