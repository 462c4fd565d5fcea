"""`flask gantong credentials conformance` over the copied dgc-testdata and SHC examples."""

import json
from pathlib import Path

import pytest

from gantong.core import intl_conformance

DATA = Path(__file__).parents[2] / "data" / "credentials"

# Reads files only; its database session stays untouched.
pytestmark = pytest.mark.nodb


def test_every_file_agrees_with_its_expected_results_flag_by_flag(app):
    result = app.test_cli_runner().invoke(
        args=[
            "gantong",
            "credentials",
            "conformance",
            str(DATA / "dgc-testdata"),
            str(DATA / "smart-health-cards" / "examples"),
        ]
    )
    lines = [json.loads(line) for line in result.output.splitlines()]
    files, summary = lines[:-1], lines[-1]["summary"]
    dcc = [f for f in files if f["format"] == "eu-dcc"]
    shc = {Path(f["file"]).name: f for f in files if f["format"] == "shc"}
    assert len(dcc) == 173 and len(shc) == 4
    # Every expected flag of the seven is computed and compared (838 in all); none differs,
    # none needs a known issue.
    assert all(set(f["expected"]) <= set(f["flags"]) for f in dcc)
    assert sum(len(f["expected"]) for f in dcc) == 838
    assert [f["file"] for f in dcc if f["disagree"] or f["known_issue"]] == []
    assert all(
        f["flags"][flag] == value
        for f in dcc
        for flag, value in f["expected"].items()
        if flag in f["flags"]
    )
    assert summary == {"files": 177, "agree": 177, "disagree": 0, "known_issue_files": 0}
    assert result.exit_code == 0
    # A failing flag is computed, not assumed: the set expects 20 failures, of every flag,
    # and each is found.
    false_flags = [
        (flag, f["flags"][flag])
        for f in dcc
        for flag, v in f["expected"].items()
        if not v and flag in f["flags"]
    ]
    assert len(false_flags) == 20 and not any(value for _, value in false_flags)
    assert {flag for flag, _ in false_flags} == set(intl_conformance.DCC_FLAGS)
    assert all(
        f["flags"] == {"NUMERIC": True, "DECODE": True, "VERIFY": True, "REVOKED": False}
        for name, f in shc.items()
        if not name.startswith("example-03")
    )
    assert shc["example-03-d-jws.txt"]["flags"]["REVOKED"] is True


def test_a_wrong_expectation_is_reported_and_fails(app, tmp_path):
    source = DATA / "dgc-testdata" / "DE" / "2DCode" / "raw" / "2.json"
    data = json.loads(source.read_text())
    data["EXPECTEDRESULTS"]["EXPECTEDVERIFY"] = False
    target = tmp_path / "XX" / "2DCode" / "raw" / "1.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(data))
    known = tmp_path / "known.csv"
    known.write_text("test_name,country,test_set,reason\n")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["gantong", "credentials", "conformance", str(target)])
    assert json.loads(result.output.splitlines()[0])["disagree"] == ["VERIFY"]
    assert result.exit_code == 1
    known.write_text("test_name,country,test_set,reason\ntest_verification_check,XX,1,why\n")
    args = ["gantong", "credentials", "conformance", "--known-issues", str(known), str(target)]
    result = runner.invoke(args=args)
    line = json.loads(result.output.splitlines()[0])
    assert line["known_issue"] == ["VERIFY"] and line["agree"] and result.exit_code == 0
