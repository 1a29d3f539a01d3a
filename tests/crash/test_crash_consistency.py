"""pytest wrapper for crash_harness.py (issue 7): 20 kill -9 of mailqd under
mixed load (socket submitters, spool drops, relay delivery, POP3 pull), then
the harness's checks. It runs as its own process with Debian's python3, so
a failure shows the harness's own report."""

import json
import os
import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parent / "crash_harness.py"
KILLS = int(os.environ.get("MAILQD_CRASH_KILLS", "20"))


def test_kill9_under_mixed_load():
    out = subprocess.run(["/usr/bin/python3", str(HARNESS), "--kills", str(KILLS)],
                         capture_output=True, text=True, timeout=420)
    sys.stdout.write(out.stdout)
    sys.stderr.write(out.stderr[-20000:])
    summary_lines = [line for line in out.stdout.splitlines() if line.startswith("SUMMARY ")]
    assert summary_lines, f"no summary (exit {out.returncode}):\n{out.stderr[-5000:]}"
    summary = json.loads(summary_lines[-1][len("SUMMARY "):])
    assert out.returncode == 0, f"harness failed: {summary}\n{out.stderr[-5000:]}"
    assert summary["kills"] == KILLS
    assert summary["lost"] == 0
    assert summary["duplicates"] <= summary["duplicate_bound"]
    assert summary["pop3_duplicates"] == 0
    assert summary["spool_queued_twice"] == 0
    assert summary["acknowledged"] > KILLS, "too little load to test anything"
    assert summary["pop3_in_maildir"] == summary["pop3_added"] > 0
