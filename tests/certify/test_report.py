"""The reports: JSON, JUnit XML (parsed with lxml), self-contained HTML with the checks' names."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from emulator.certify import report as reports
from emulator.certify.checks import CHECK_NAMES
from emulator.certify.scenario import load
from tests.certify.journal import Journal


def _report() -> dict:  # type: ignore[type-arg]
    journal = Journal()
    journal.add("getAccessToken", t=0, method="POST", auth=None, response='"' + "x" * 40 + '"')
    journal.add(
        "readElectronicInvoiceStatusV4",
        t=1,
        path="/api/v4/InvoiceNotifications",
        query={"progressivoInvio": ["A<1>"]},
        violations=[{"where": "query.progressivoInvio", "why": "does not match <pattern>"}],
    )
    journal.add(
        "readElectronicInvoiceStatusV4",
        t=1.1,
        path="/api/v4/InvoiceNotifications",
        query={"progressivoInvio": ["A<1>"]},
    )
    return reports.build(
        "easytracking",
        load("happy-path"),
        journal.entries,
        steps=[{"step": "1 s: incoming", "at_seconds": 1.0, "ok": True, "detail": "201"}],
        client={"command": "python client.py", "exit_code": 0},
    )


def test_report_files(tmp_path: Path) -> None:
    report = _report()
    assert report["passed"] is False
    assert reports.blocking(report) == ["contract", "polling-interval", "invoices-sent"]
    paths = reports.write(report, tmp_path / "out")
    assert [p.name for p in paths] == ["report.json", "report.junit.xml", "report.html"]

    data = json.loads(paths[0].read_text())
    assert data["provider"] == "easytracking" and data["scenario"]["name"] == "happy-path"
    assert [c["name"] for c in data["checks"]] == list(CHECK_NAMES)
    contract = next(c for c in data["checks"] if c["name"] == "contract")
    assert contract["verdict"] == "fail" and contract["required"] is True
    assert contract["offending"][0]["id"] == 2
    assert contract["offending"][0]["path"] == "/api/v4/InvoiceNotifications"
    assert contract["offending"][0]["violations"][0]["where"] == "query.progressivoInvio"
    assert {"operation", "method", "path", "count", "statuses"} <= set(data["coverage"][0])

    suite = etree.parse(str(paths[1])).getroot()
    assert suite.tag == "testsuite"
    assert suite.get("tests") == str(len(CHECK_NAMES)) and suite.get("failures") == "3"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == set(CHECK_NAMES)
    assert cases["contract"].find("failure") is not None
    assert "does not match" in cases["contract"].find("failure").text
    assert cases["jobs"].find("skipped") is not None

    page = paths[2].read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "<script" not in page
    for name in CHECK_NAMES:
        assert f"check-{name}" in page
    assert "NOT CERTIFIED" in page
    assert "A&lt;1&gt;" in page and "does not match &lt;pattern&gt;" in page  # escaped
    assert "sendElectronicInvoiceV4" in page  # the coverage table lists unused operations


def test_advisory_failures_do_not_block(tmp_path: Path) -> None:
    journal = Journal()
    for t in (0, 0.1):
        journal.add("listNewNotificationsV4", t=t, response=[{"id": 1}])
    report = reports.build("easytracking", load("network-faults"), journal.entries)
    double = next(c for c in report["checks"] if c["name"] == "no-double-download")
    assert double["verdict"] == "fail" and double["required"] is False
    assert "no-double-download" not in reports.blocking(report)
    suite = etree.fromstring(reports.junit(report))
    case = next(c for c in suite.findall("testcase") if c.get("name") == "no-double-download")
    assert case.find("skipped").get("message").startswith("advisory check failed")
    assert "FAIL (advisory)" in reports.render_html(report)
