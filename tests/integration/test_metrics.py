"""metrics.listen (issue 18): GET /metrics in the Prometheus text format and
GET /healthz of the real daemon, while it accepts mail and delivers it to
aiosmtpd and a scripted server; bad, huge and slow requests are refused or
cut off and the daemon goes on serving; /healthz turns 503 while the queue
cannot be written and 200 once it can."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import free_port, wait_until  # noqa: E402
from smtp_servers import start_aiosmtpd, start_fake_server  # noqa: E402
from test_delivery import FAST_QUEUE, SIMPLE, relay, submit  # noqa: E402
from test_store_faults import ctl_submit  # noqa: E402

SAMPLE = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{[^}]*\})? (\S+)$')


def get(port, path, method="GET", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read().decode()
    finally:
        conn.close()


def scrape(port):
    """{(name, '{labels}'): value} of one scrape, checking the format as it goes."""
    status, content_type, text = get(port, "/metrics")
    assert status == 200, (status, text)
    assert content_type.startswith("text/plain; version=0.0.4"), content_type
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in typed, f"TYPE twice: {line}"
            typed.add(name)
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name = m.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or family in typed, f"sample before its TYPE: {line}"
        assert name.startswith("mailqd_"), line
        samples[(name, m.group(2) or "")] = float(m.group(3))
    return samples


def metrics_daemon(daemon, relays, queue=None):
    port = free_port()
    sections = {"queue": dict(FAST_QUEUE, **(queue or {})), "metrics": {"listen": f"127.0.0.1:{port}"}}
    for name, section in relays.items():
        sections[f"relay.{name}"] = section
    d = daemon(sections=sections)
    return d, port


def test_scraped_values_follow_submissions_deliveries_and_failures(daemon, tmp_path):
    # The default relay (also the bounce's) refuses one recipient for good
    # and another for now; alice's mail goes to aiosmtpd.
    with start_aiosmtpd(tmp_path / "ok") as good, \
            start_fake_server(tmp_path / "picky", rcpt={"nobody@example.org": "550 5.1.1 no such user",
                                                        "later@example.org": "451 4.3.0 try later"}) as picky:
        d, port = metrics_daemon(daemon, {"default": relay(picky.port, senders="picky@*"),
                                          "good": relay(good.port, senders="alice@*")},
                                 queue={"retry_initial": "1h"})
        before = scrape(port)
        assert before[("mailqd_messages_accepted_total", '{door="socket"}')] == 0
        assert before[("mailqd_recipients_sent_total", '{relay="default"}')] == 0
        assert before[("mailqd_recipients_sent_total", '{relay="good"}')] == 0
        assert before[("mailqd_queue_messages", '{state="queued"}')] == 0
        assert before[("mailqd_store_writable", "")] == 1

        submit(d, "alice@example.com", ["bob@example.org", "carol@example.org"], SIMPLE)
        submit(d, "picky@example.com", ["nobody@example.org", "later@example.org"], SIMPLE)

        def settled():
            s = scrape(port)
            return (s[("mailqd_recipients_sent_total", '{relay="good"}')] == 2
                    and s[("mailqd_recipients_sent_total", '{relay="default"}')] == 1  # the bounce
                    and s[("mailqd_recipients_failed_total", '{relay="default"}')] == 1
                    and s[("mailqd_recipients_deferred_total", '{relay="default"}')] == 1 and s)
        try:
            s = wait_until(settled, timeout=30, what="the deliveries in the metrics")
        except AssertionError:
            print({k: v for k, v in scrape(port).items() if "recipients" in k[0] or "queue" in k[0]})
            print(d.log_text()[-3000:])
            raise
        assert s[("mailqd_messages_accepted_total", '{door="socket"}')] == 2
        assert s[("mailqd_messages_accepted_total", '{door="bounce"}')] == 1
        assert s[("mailqd_recipients_bounced_total", '{relay="default"}')] == 1
        assert s[("mailqd_recipients_bounced_total", '{relay="good"}')] == 0
        assert s[("mailqd_recipients_failed_total", '{relay="good"}')] == 0
        # The picky message waits (deferred for an hour); the others are sent.
        assert s[("mailqd_queue_messages", '{state="deferred"}')] == 1
        assert s[("mailqd_queue_messages", '{state="sent"}')] == 2
        assert s[("mailqd_queue_messages", '{state="queued"}')] == 0
        assert s[("mailqd_queue_oldest_message_age_seconds", "")] >= 0
        listed = {}
        for m in d.list():
            listed[m["state"]] = listed.get(m["state"], 0) + 1
        for state in ("queued", "deferred", "held", "sent", "failed"):
            assert s[("mailqd_queue_messages", f'{{state="{state}"}}')] == listed.get(state, 0), state
        # Histograms: one observation per socket submission, one per recipient sent.
        assert s[("mailqd_submission_duration_seconds_count", "")] == 2
        assert s[("mailqd_submission_duration_seconds_bucket", '{le="+Inf"}')] == 2
        assert s[("mailqd_submission_duration_seconds_bucket", '{le="1"}')] == 2
        assert s[("mailqd_delivery_delay_seconds_count", "")] == 3
        assert s[("mailqd_delivery_delay_seconds_bucket", '{le="432000"}')] == 3
        assert s[("mailqd_relay_recipients_in_flight", '{relay="good"}')] == 0
        assert s[("mailqd_submit_refused_total", '{reason="user"}')] == 0
        # No queue ID or address anywhere in the labels.
        _, _, text = get(port, "/metrics")
        assert "@" not in text


def test_bad_huge_and_slow_requests_are_refused_and_serving_goes_on(daemon):
    d, port = metrics_daemon(daemon, {})
    assert get(port, "/healthz")[0] == 200
    status, _, body = get(port, "/metrics", method="POST")
    assert status == 405
    assert get(port, "/nowhere")[0] == 404
    assert get(port, "/metrics?x=1")[0] == 200

    # Keep-alive: two requests over one connection.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(2):
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b"ok\n"
    conn.close()

    def raw(data, timeout=15):
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            try:
                s.sendall(data)
            except OSError:
                pass  # cut off while sending: as good as an answer
            chunks = []
            try:
                while chunk := s.recv(65536):
                    chunks.append(chunk)
            except ConnectionResetError:
                pass
            return b"".join(chunks)

    assert raw(b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400")
    huge = raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
    assert huge == b"" or huge.startswith(b"HTTP/1.1 431"), huge[:100]
    body = raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"a" * 100000)
    assert body == b"" or body.startswith(b"HTTP/1.1 413"), body[:100]

    # A slow client: half a request, then nothing. It is cut off at the read
    # deadline, and others are served meanwhile.
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    assert get(port, "/healthz")[0] == 200
    assert slow.recv(100) == b""  # closed by the server
    assert time.monotonic() - started < 25
    slow.close()

    # At most 16 clients at once: the 17th is told 503 and closed; once the
    # others leave, clients are served again.
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(16)]
    try:
        wait_until(lambda: raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5).startswith(b"HTTP/1.1 503"),
                   what="the connection cap")
    finally:
        for s in idle:
            s.close()
    wait_until(lambda: get(port, "/healthz")[0] == 200, what="serving after the cap")
    assert d.running()
    scrape(port)


def test_healthz_is_503_while_the_queue_cannot_be_written(daemon):
    d, port = metrics_daemon(daemon, {})
    assert get(port, "/healthz")[0::2] == (200, "ok\n")
    lib = d.database.parent
    moved = lib.with_name("lib.moved")
    lib.rename(moved)
    try:
        assert ctl_submit(d).returncode == 75
        status, _, body = get(port, "/healthz")
        assert status == 503, (status, body)
        assert body.startswith("queue not writable: ") and "no longer the file" in body, body
        s = scrape(port)
        assert s[("mailqd_store_writable", "")] == 0 and s[("mailqd_store_faults_total", "")] >= 1
    finally:
        moved.rename(lib)
    wait_until(lambda: ctl_submit(d).returncode == 0, what="a submission once the database is back")
    assert get(port, "/healthz")[0::2] == (200, "ok\n")
    assert scrape(port)[("mailqd_store_writable", "")] == 1


PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(not PROMTOOL, reason="promtool not installed (Debian prometheus)")
def test_promtool_finds_no_problem_in_a_scrape(daemon):
    d, port = metrics_daemon(daemon, {})
    ctl_submit(d)
    _, _, text = get(port, "/metrics")
    out = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), (out.stdout, out.stderr)


@pytest.mark.skipif(not PROMETHEUS, reason="prometheus not installed (Debian prometheus)")
def test_a_real_prometheus_scrapes_the_daemon(daemon, tmp_path):
    d, port = metrics_daemon(daemon, {})
    web = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: mailqd\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{port}']\n")
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{web}", "--log.level=warn"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def query(expr):
            url = f"http://127.0.0.1:{web}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    answer = json.load(r)
            except OSError:
                return None
            assert answer["status"] == "success", answer
            result = answer["data"]["result"]
            return float(result[0]["value"][1]) if result else None

        assert wait_until(lambda: query('up{job="mailqd"}') == 1, timeout=60, what="prometheus scraping mailqd")
        assert query('mailqd_messages_accepted_total{door="socket"}') == 0
        assert ctl_submit(d).returncode == 0
        wait_until(lambda: query('mailqd_messages_accepted_total{door="socket"}') == 1, timeout=30,
                   what="the submission in prometheus")
        wait_until(lambda: query('mailqd_queue_messages{state="queued"}') == 1, timeout=30,
                   what="the queued message in prometheus")
        assert query("mailqd_store_writable") == 1
        assert query("mailqd_submission_duration_seconds_count") == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
