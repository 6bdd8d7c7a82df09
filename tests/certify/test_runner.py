"""The runner end to end: a real sandbox process, tiny clients, a scenario with faults, the reports.

Real time is the behaviour under test here (the client runs for a few real seconds).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from lxml import etree

from emulator.cli import main

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).with_name("clients.py")
SCENARIO = """
name: test-faults
description: One invoice, an RC, a 429 and a 503 on the status polls.
providers: [easytracking]
run_seconds: 4
invoices: 1
steps:
  - {after: upload, action: outcome, type: RC}
  - {after: upload, action: fault,
     rule: {path: "/api/v4/InvoiceNotifications", effect: {type: throttle, retry_after: 1}, count: 1}}
  - {after: upload, action: fault,
     rule: {path: "/api/v4/InvoiceNotifications", effect: {type: error, status: 503}, count: 1}}
  - {at: 0.2, action: incoming, count: 1}
checks:
  required: [contract, token-reuse, polling-interval, retries, invoices-sent]
  advisory: [coverage]
"""


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.chdir(ROOT)
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO)
    return path


def _certify(scenario: Path, report: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    status = main([
        "certify", "--provider", "easytracking", "--scenario", str(scenario), "--report", str(report),
        "--", sys.executable, str(CLIENTS), kind,
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert "reports:" in out, out
    return status, json.loads((report / "report.json").read_text())


def test_a_good_client_is_certified(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = _certify(scenario, tmp_path / "good", "good", capsys)
    checks = {c["name"]: c for c in report["checks"]}
    assert status == 0, json.dumps([c for c in report["checks"] if c["verdict"] == "fail"], indent=1)
    assert report["passed"] is True
    assert report["client"]["exit_code"] == 0 and report["client"]["timed_out"] is False
    assert checks["retries"]["verdict"] == "pass"  # the faults did fire
    assert checks["token-reuse"]["verdict"] == "pass"
    assert checks["invoices-sent"]["verdict"] == "pass"
    assert all(s["ok"] for s in report["steps"]), report["steps"]
    coverage = {row["operation"]: row for row in report["coverage"]}
    assert coverage["getAccessToken"]["count"] == 1
    assert {"429", "503"} <= set(coverage["readElectronicInvoiceStatusV4"]["statuses"])
    suite = etree.parse(str(tmp_path / "good" / "report.junit.xml")).getroot()
    assert suite.get("failures") == "0"
    assert "CERTIFIED" in (tmp_path / "good" / "report.html").read_text()


def test_a_naive_client_fails_the_checks_its_bugs_deserve(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = _certify(scenario, tmp_path / "naive", "naive", capsys)
    assert status == 1
    failing = {c["name"] for c in report["checks"] if c["verdict"] == "fail"}
    assert failing == {"token-reuse", "polling-interval", "retries"}
    checks = {c["name"]: c for c in report["checks"]}
    offence = checks["token-reuse"]["offending"][0]
    assert offence["method"] == "POST" and offence["path"] == "/api/Token/AccessToken"
    assert "while token" in offence["why"]
    html = (tmp_path / "naive" / "report.html").read_text()
    assert "NOT CERTIFIED" in html and "/api/Token/AccessToken" in html


def test_errors_before_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certify", "--provider", "aruba", "--scenario", "nope", "--", "true"]) == 2
    assert "No scenario 'nope'" in capsys.readouterr().err
    assert main(["certify", "--provider", "aruba", "--report", str(tmp_path)]) == 2
    assert "give the client command after --" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
