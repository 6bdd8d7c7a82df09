"""The certification report: a JSON document, a JUnit XML and a self-contained HTML page.

JUnit: one testsuite, one testcase per check. A failed required check is a ``<failure>``; a skipped
check (not applicable) is ``<skipped>``; a failed advisory check is ``<skipped>`` with a message
starting "advisory check failed", so that CI shows it without failing the build.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from emulator.certify.checks import judge
from emulator.certify.checks.base import entries_of
from emulator.certify.checks.coverage import coverage_table
from emulator.certify.scenario import Scenario

REPORT_FILES = ("report.json", "report.junit.xml", "report.html")


def build(
    provider: str,
    scenario: Scenario,
    journal: list[dict[str, Any]],
    *,
    steps: list[dict[str, Any]] | None = None,
    client: dict[str, Any] | None = None,
    retry_after: float | None = None,
    mode: str = "wrapped",
) -> dict[str, Any]:
    results = judge(
        provider, journal, required=scenario.required, invoices=scenario.invoices, retry_after=retry_after
    )
    entries = entries_of(provider, journal)
    return {
        "tool": "fattura-sandbox certify",
        "mode": mode,
        "provider": provider,
        "generated_at": datetime.now(UTC).isoformat(),
        "passed": not any(r.blocking for r in results),
        "scenario": scenario.view(),
        "client": client or {},
        "steps": steps or [],
        "requests": len(entries),
        "checks": [r.view() for r in results],
        "coverage": coverage_table(provider, entries),
    }


def blocking(report: dict[str, Any]) -> list[str]:
    return [c["name"] for c in report["checks"] if c["required"] and c["verdict"] == "fail"]


def write(report: dict[str, Any], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / name for name in REPORT_FILES]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
    paths[1].write_bytes(junit(report))
    paths[2].write_text(render_html(report), "utf-8")
    return paths


def offence_line(offence: dict[str, Any]) -> str:
    where = f"#{offence.get('id')} {offence.get('method')} {offence.get('path')} → {offence.get('status')} "
    where += f"at {offence.get('at')}: " if offence.get("id") is not None else ""
    return (where if offence.get("id") is not None else "") + str(offence.get("why"))


def junit(report: dict[str, Any]) -> bytes:
    checks = report["checks"]
    suite = etree.Element(
        "testsuite",
        name=f"fattura-sandbox certify {report['provider']} {report['scenario']['name']}",
        tests=str(len(checks)),
        failures=str(sum(1 for c in checks if c["required"] and c["verdict"] == "fail")),
        errors="0",
        skipped=str(
            sum(1 for c in checks if c["verdict"] == "skip" or (c["verdict"] == "fail" and not c["required"]))
        ),
        timestamp=report["generated_at"],
    )
    for check in checks:
        case = etree.SubElement(
            suite, "testcase", classname=f"certify.{report['provider']}", name=check["name"]
        )
        details = "\n".join(offence_line(o) for o in check["offending"])
        if check["verdict"] == "fail" and check["required"]:
            failure = etree.SubElement(case, "failure", message=check["summary"], type="certification")
            failure.text = f"{check['explanation']}\n\n{details}"
        elif check["verdict"] == "fail":
            skipped = etree.SubElement(case, "skipped", message=f"advisory check failed: {check['summary']}")
            skipped.text = details
        elif check["verdict"] == "skip":
            etree.SubElement(case, "skipped", message=check["summary"])
        else:
            etree.SubElement(case, "system-out").text = check["summary"]
    return bytes(etree.tostring(suite, xml_declaration=True, encoding="UTF-8", pretty_print=True))


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2330;
max-width:1200px}
h1{margin-bottom:.2rem}.muted{color:#667}.badge{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;
font-weight:600;font-size:.85rem;color:#fff}.pass{background:#1f883d}.fail{background:#cf222e}
.skip{background:#8c959f}.advisory{background:#bf8700}section.check{border:1px solid #d0d7de;
border-radius:.4rem;padding:.6rem 1rem;margin:.8rem 0}table{border-collapse:collapse;width:100%;
font-size:.85rem}th,td{border:1px solid #d0d7de;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem}
pre{white-space:pre-wrap;word-break:break-all;margin:0}tr.unused td{color:#8c959f}
.verdict{font-size:1.2rem}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _badge(check: dict[str, Any]) -> str:
    verdict = check["verdict"]
    if verdict == "fail" and not check["required"]:
        return '<span class="badge advisory">FAIL (advisory)</span>'
    return f'<span class="badge {verdict}">{verdict.upper()}</span>'


def _check_html(check: dict[str, Any]) -> str:
    kind = "required" if check["required"] else "advisory"
    parts = [
        f'<section class="check" id="check-{_e(check["name"])}">',
        f"<h3>{_badge(check)} <code>{_e(check['name'])}</code> — {_e(check['title'])} "
        f'<span class="muted">({kind})</span></h3>',
        f"<p>{_e(check['summary'])}</p>",
        f'<p class="muted">{_e(check["explanation"])}</p>',
    ]
    if check["offending"]:
        rows = []
        for o in check["offending"]:
            violations = "; ".join(f"{v.get('where')}: {v.get('why')}" for v in o.get("violations") or [])
            query = "&".join(f"{k}={v}" for k, vs in (o.get("query") or {}).items() for v in vs)
            rows.append(
                "<tr>"
                f"<td>{_e(o.get('id'))}</td><td>{_e(o.get('method'))}</td>"
                f"<td><code>{_e(o.get('path'))}{'?' + _e(query) if query else ''}</code></td>"
                f"<td>{_e(o.get('status'))}</td><td>{_e(o.get('at'))}<br>"
                f"<span class='muted'>{_e(o.get('real_at'))}</span></td>"
                f"<td>{_e(o.get('why'))}{'<br>' + _e(violations) if violations else ''}</td>"
                f"<td><pre>{_e(o.get('request_excerpt'))}</pre></td>"
                "</tr>"
            )
        more = check["offending_total"] - len(check["offending"])
        parts.append(
            "<table><tr><th>#</th><th>method</th><th>path</th><th>status</th><th>time (virtual / real)"
            "</th><th>what is wrong</th><th>request excerpt</th></tr>" + "".join(rows) + "</table>"
        )
        if more > 0:
            parts.append(f'<p class="muted">… and {more} more (see report.json)</p>')
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: dict[str, Any]) -> str:
    scenario = report["scenario"]
    verdict = (
        '<span class="badge pass">CERTIFIED</span>'
        if report["passed"]
        else '<span class="badge fail">NOT CERTIFIED</span>'
    )
    failing = blocking(report)
    summary_rows = "".join(
        f"<tr><td><a href='#check-{_e(c['name'])}'><code>{_e(c['name'])}</code></a></td>"
        f"<td>{_e(c['title'])}</td><td>{'required' if c['required'] else 'advisory'}</td>"
        f"<td>{_badge(c)}</td><td>{_e(c['summary'])}</td></tr>"
        for c in report["checks"]
    )
    coverage_rows = "".join(
        f"<tr class='{'' if row['count'] else 'unused'}'><td><code>{_e(row['operation'])}</code></td>"
        f"<td>{_e(row['method'])}</td><td><code>{_e(row['path'])}</code></td><td>{row['count']}</td>"
        f"<td>{_e(', '.join(f'{s}×{n}' for s, n in sorted(row['statuses'].items())))}</td></tr>"
        for row in sorted(report["coverage"], key=lambda r: (-r["count"], str(r["operation"])))
    )
    steps = "".join(
        f"<tr><td>{_e(s['step'])}</td><td>{_e(s['at_seconds'])}</td>"
        f"<td>{'ok' if s['ok'] else ('—' if s['ok'] is None else 'failed')}</td>"
        f"<td>{_e(s['detail'])}</td></tr>"
        for s in report["steps"]
    )
    client = report.get("client") or {}
    client_html = "".join(f"<tr><th>{_e(k)}</th><td><pre>{_e(v)}</pre></td></tr>" for k, v in client.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>fattura-sandbox certification — {_e(report["provider"])} / {_e(scenario["name"])}</title>
<style>{CSS}</style></head><body>
<h1>Certification: {_e(report["provider"])} — {_e(scenario["name"])}</h1>
<p class="verdict">{verdict}
{"" if report["passed"] else "required checks failing: " + _e(", ".join(failing))}</p>
<p class="muted">{_e(report["generated_at"])} · {report["requests"]} requests journalled ·
mode {_e(report["mode"])}</p>
<h2>Scenario</h2><p>{_e(scenario["description"])}</p>
<p class="muted">run {scenario["run_seconds"]:g} s · {scenario["invoices"]} invoice(s) expected ·
source {_e(scenario["source"])}</p>
<table><tr><th>step</th><th>ran at (s)</th><th>result</th><th>detail</th></tr>{steps}</table>
<h2>Checks</h2>
<table><tr><th>check</th><th>title</th><th>kind</th><th>verdict</th><th>summary</th></tr>{summary_rows}</table>
{"".join(_check_html(c) for c in report["checks"])}
<h2>Operation coverage</h2>
<table><tr><th>operation</th><th>method</th><th>path</th><th>calls</th><th>statuses</th></tr>{coverage_rows}</table>
<h2>Client</h2><table>{client_html}</table>
</body></html>
"""
