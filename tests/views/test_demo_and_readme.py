"""The demo prints its logins as one clean table (log lines, SMS among them,
go to the log, not among the logins); the README names PORT, /login and where SMS go."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest

from gantong import demo
from gantong.holders import sms

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_prints_one_table_of_logins_and_no_log_line(app, caplog):
    # An SMS while the demo data is made: it must go to the log, never into the table.
    original = demo.registry.declare

    def declare_and_text(holder, facts, author):
        sms.send(author.phone, "【赣通码】demo")
        return original(holder, facts, author)

    demo.registry.declare = declare_and_text
    try:
        with caplog.at_level(logging.WARNING, logger="gantong.sms"):
            result = app.test_cli_runner().invoke(args=["gantong", "demo"])
    finally:
        demo.registry.declare = original
    assert result.exit_code == 0, result.output
    assert any("SMS to" in record.getMessage() for record in caplog.records)
    lines = result.output.rstrip("\n").split("\n")
    assert lines[0] == "Demo logins (password gantong-demo); every role logs in at /login:"
    table = lines[2:]
    assert re.fullmatch(r"  mobile number +role +what", table[0])
    rows = table[1:]
    assert len(rows) == len(demo.DEMO_ACCOUNTS)
    assert "SMS" not in result.output
    # One column start for each field on every row.
    starts = {(row.index(row.split()[1], 2)) for row in rows}
    assert len(starts) == 1
    for row, (phone, role, *_rest) in zip(rows, demo.DEMO_ACCOUNTS, strict=True):
        assert row.split()[:2] == [phone, role]


@pytest.mark.nodb
def test_run_demo_sends_the_commands_log_to_a_file_not_among_the_logins():
    script = (ROOT / "scripts" / "run-demo.sh").read_text()
    assert re.search(r"flask gantong demo 2>>instance/demo\.log", script)
    assert '--port "${port}"' in script and 'port="${PORT:-5000}"' in script
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "run-demo.sh")], check=True)


@pytest.mark.nodb
def test_the_readme_names_port_login_and_where_sms_go():
    readme = (ROOT / "README.md").read_text()
    intro = readme.split("## What it is")[0]
    assert "`PORT`" in intro
    assert "logs in at\n`/login`" in intro or "logs in at `/login`" in intro
    assert "SMS" in intro and "server log" in intro
