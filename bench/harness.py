"""Pure functions of the benchmark: wrk output parsing, medians, target evaluation, RESULTS.md rendering.

Nothing here starts a process or touches the network, so all of it is unit-tested (tests/bench/).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import Any

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_LATENCY_RE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_REQS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.MULTILINE)
_TOTAL_RE = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_NON2XX_RE = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$", re.MULTILINE)
_SOCKET_RE = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
)


@dataclass(frozen=True)
class WrkRun:
    """One wrk run: throughput, latency percentiles in milliseconds, failures."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def parse_duration_ms(value: str, unit: str) -> float:
    """wrk prints 812.00us, 3.41ms, 1.02s or 1.50m; the value in milliseconds."""
    return float(value) * _UNIT_MS[unit]


def parse_wrk(output: str) -> WrkRun:
    """The numbers of `wrk --latency` output; ValueError when it is not wrk's report."""
    reqs = _REQS_RE.search(output)
    total = _TOTAL_RE.search(output)
    if reqs is None or total is None:
        raise ValueError("not a wrk report: no 'Requests/sec' or 'N requests in' line")
    latencies = {m.group(1): parse_duration_ms(m.group(2), m.group(3)) for m in _LATENCY_RE.finditer(output)}
    if "50" not in latencies or "99" not in latencies:
        raise ValueError("no latency distribution: run wrk with --latency")
    non_2xx = _NON2XX_RE.search(output)
    sockets = _SOCKET_RE.search(output)
    return WrkRun(
        requests_per_second=float(reqs.group(1)),
        p50_ms=latencies["50"],
        p99_ms=latencies["99"],
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def median_run(runs: list[WrkRun]) -> WrkRun:
    """The run of median throughput (its own latencies, not a mix of runs); errors summed over all runs."""
    if not runs:
        raise ValueError("no runs")
    ordered = sorted(runs, key=lambda r: r.requests_per_second)
    middle = ordered[(len(ordered) - 1) // 2]
    return WrkRun(
        requests_per_second=middle.requests_per_second,
        p50_ms=middle.p50_ms,
        p99_ms=middle.p99_ms,
        requests=sum(r.requests for r in runs),
        non_2xx=sum(r.non_2xx for r in runs),
        socket_errors=sum(r.socket_errors for r in runs),
    )


def median(values: list[float]) -> float:
    if not values:
        raise ValueError("no values")
    return float(statistics.median(values))


# -- targets ------------------------------------------------------------------------------------

STATUS_ENDPOINT = "easytracking status"
NO_JOURNAL_STATUS = "easytracking status, --no-journal"
FLASK_RATIO = 0.6
PRISM_RATIO = 2.0
P99_MS = 50.0
RSS_MB = 120.0
HEALTHY_S = 1.0
SEED_S = 60.0
LIST_S = 2.0
LIST_RSS_MB = 300.0
JOB_MS = 200.0


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run


def _fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


def evaluate_targets(results: dict[str, Any]) -> list[Target]:
    """The issue's targets against the results (the shape written to results.json)."""
    throughput: dict[str, Any] = results.get("throughput") or {}
    rows: dict[str, dict[str, Any]] = {row["name"]: row for row in throughput.get("endpoints", [])}
    hello = (throughput.get("hello") or {}).get("requests_per_second")
    prism = (throughput.get("prism") or {}).get("requests_per_second")
    targets: list[Target] = []

    def under(name: str, limit: float, value: float | None, unit: str, digits: int, note: str = "") -> None:
        measured = _fmt(value, digits, f" {unit}") + (f" ({note})" if note and value is not None else "")
        met = None if value is None else value < limit
        targets.append(Target(name, f"< {limit:g} {unit}", measured, met))

    def ratio(name: str, least: float, over: float | None, row: str) -> None:
        rps = (rows.get(row) or {}).get("requests_per_second")
        value = rps / over if rps is not None and over else None
        targets.append(
            Target(name, f"≥ {least} ×", _fmt(value, 2, " ×"), None if value is None else value >= least)
        )

    if throughput:
        ratio("GET status vs bare Flask", FLASK_RATIO, hello, STATUS_ENDPOINT)
        ratio("GET status vs Prism", PRISM_RATIO, prism, STATUS_ENDPOINT)
        under("p99, GET status", P99_MS, (rows.get(STATUS_ENDPOINT) or {}).get("p99_ms"), "ms", 1)
        if NO_JOURNAL_STATUS in rows:
            ratio("GET status vs bare Flask, --no-journal", FLASK_RATIO, hello, NO_JOURNAL_STATUS)
            ratio("GET status vs Prism, --no-journal", PRISM_RATIO, prism, NO_JOURNAL_STATUS)
            under("p99, GET status, --no-journal", P99_MS, rows[NO_JOURNAL_STATUS].get("p99_ms"), "ms", 1)
        timed = [row for row in rows.values() if row.get("p99_ms") is not None]
        slowest = max(timed, key=lambda row: row["p99_ms"]) if timed else {}
        worst = slowest.get("p99_ms")
        under("p99, every endpoint", P99_MS, worst, "ms", 1, f"worst: {slowest.get('name', '')}")
        under("server peak RSS", RSS_MB, throughput.get("server_peak_rss_mb"), "MB", 1)
        under("first healthy response", HEALTHY_S, throughput.get("healthy_s"), "s", 3)
    scale: dict[str, Any] = results.get("scale") or {}
    if scale:
        under(f"seed {scale.get('invoices', 0):,} invoices", SEED_S, scale.get("seed_s"), "s", 1)
        for key in ("active-invoices", "passive-invoices"):
            item = scale.get(key) or {}
            count = f"{item.get('count', '?')} items"
            under(f"{key} top=100000", LIST_S, item.get("seconds"), "s", 2, count)
            under(f"{key} peak RSS", LIST_RSS_MB, item.get("peak_rss_mb"), "MB", 1)
        under("100-document job zip, create → downloaded", JOB_MS, scale.get("job_ms"), "ms", 1)
    return targets


# -- RESULTS.md ---------------------------------------------------------------------------------


def _mark(met: bool | None) -> str:
    return {True: "✅", False: "❌", None: "—"}[met]


def _endpoint_table(rows: list[dict[str, Any]], hello_rps: float | None) -> list[str]:
    lines = [
        "| endpoint | req/s | × bare Flask | p50 | p99 | p50, 1 conn. | p99, 1 conn. | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        rps = row.get("requests_per_second")
        ratio = f"{rps / hello_rps:.2f}" if rps is not None and hello_rps else "—"
        errors = row.get("errors", 0)
        flag = f"**{errors:,}** ⚠" if errors else "0"
        if row.get("requests") == 0:
            flag = "**no answer** ⚠"
        lines.append(
            f"| {row['name']} | {_fmt(rps, 1)} | {ratio} | {_fmt(row.get('p50_ms'), 2, ' ms')} "
            f"| {_fmt(row.get('p99_ms'), 2, ' ms')} | {_fmt(row.get('single_p50_ms'), 2, ' ms')} "
            f"| {_fmt(row.get('single_p99_ms'), 2, ' ms')} | {flag} |"
        )
    return lines


def render_results(results: dict[str, Any], profile: str = "") -> str:
    """RESULTS.md as a pure function of results.json's content and the hand-written profile (the
    analysis of the hot path and of every target not met: bench/PROFILE.md)."""
    machine: dict[str, Any] = results.get("machine", {})
    out = ["# fattura-sandbox benchmark results", ""]
    if results.get("quick"):
        out += [
            "> **Quick run** (1 run of a few seconds per endpoint, reduced scale): for iterating, not for "
            "the record.",
            "",
        ]
    out += [
        f"- Date: {results.get('date', '—')}",
        f"- Command: `{results.get('command', '—')}`",
        f"- CPU: {machine.get('cpu', '—')} — {machine.get('cores', '—')} cores; "
        f"RAM {machine.get('ram', '—')}",
        f"- Kernel: {machine.get('kernel', '—')}; Python {machine.get('python', '—')}",
        f"- waitress {machine.get('waitress', '—')}, Flask {machine.get('flask', '—')}, "
        f"wrk {machine.get('wrk', '—')}, Prism {machine.get('prism', '—')}",
        "",
    ]
    throughput: dict[str, Any] = results.get("throughput") or {}
    if throughput:
        setup = throughput.get("setup", {})
        hello = throughput.get("hello") or {}
        hello_rps = hello.get("requests_per_second")
        out += [
            "## Throughput",
            "",
            f"Server pinned to core 0 (waitress, {setup.get('threads', '—')} threads), wrk pinned to core 1 "
            f"(`{setup.get('wrk', '—')}`); median of {setup.get('runs', '—')} runs of "
            f"{setup.get('duration_s', '—')} s after a {setup.get('warmup_s', '—')} s warm-up.",
            "",
        ]
        rows = list(throughput.get("endpoints", []))
        references = []
        if hello:
            references.append({"name": "bare Flask hello (ceiling)", **hello})
        if throughput.get("prism"):
            references.append(
                {"name": "Stoplight Prism, Openapi.it list (static mock)", **throughput["prism"]}
            )
        out += _endpoint_table(rows + references, hello_rps)
        out += [""]
        sequences = throughput.get("sequences", [])
        if sequences:
            out += ["| sequence (Python-timed) | median | p99 | samples | note |", "|---|--:|--:|--:|---|"]
            for seq in sequences:
                out.append(
                    f"| {seq['name']} | {_fmt(seq.get('median_ms'), 1, ' ms')} "
                    f"| {_fmt(seq.get('p99_ms'), 1, ' ms')} "
                    f"| {seq.get('samples', '—')} | {seq.get('note', '')} |"
                )
            out += [""]
        out += [
            "- Server peak RSS (VmHWM after all runs): "
            f"{_fmt(throughput.get('server_peak_rss_mb'), 1, ' MB')}",
            "- Time to first healthy response (median of "
            f"{throughput.get('healthy_samples', '—')} fresh starts): "
            f"{_fmt(throughput.get('healthy_s'), 3, ' s')}",
            "",
        ]
    scale: dict[str, Any] = results.get("scale") or {}
    if scale:
        out += [
            "## Scale",
            "",
            f"{scale.get('invoices', 0):,} invoices seeded (`{scale.get('seed_command', '—')}`).",
            "",
            "| measure | value | server peak RSS | note |",
            "|---|--:|--:|---|",
            f"| seed | {_fmt(scale.get('seed_s'), 1, ' s')} | — | |",
        ]
        for key in ("active-invoices", "passive-invoices"):
            item = scale.get(key) or {}
            out.append(
                f"| {key} top=100000 | {_fmt(item.get('seconds'), 3, ' s')} "
                f"| {_fmt(item.get('peak_rss_mb'), 1, ' MB')} "
                f"| {item.get('count', '?')} items, {_fmt(item.get('bytes', 0) / 1e6, 1, ' MB')}; "
                f"the same call again: {_fmt(item.get('again_seconds'), 3, ' s')} |"
            )
        out.append(
            f"| 100-document job, create → downloaded | {_fmt(scale.get('job_ms'), 1, ' ms')} | — "
            f"| {scale.get('job_note', '')} |"
        )
        out += [""]
    targets = evaluate_targets(results)
    if targets:
        out += ["## Targets", "", "| target | goal | measured | met |", "|---|---|--:|:-:|"]
        out += [f"| {t.name} | {t.goal} | {t.measured} | {_mark(t.met)} |" for t in targets]
        out += [""]
    out += [
        "## How to read",
        "",
        "req/s is wrk's throughput of the median run (by req/s) of each endpoint, with that run's p50 and"
        " p99; errors counts non-2xx answers and socket errors over every run, and a row with errors is "
        'marked ⚠ (its numbers measure something else than the happy path). "× bare Flask" divides by a'
        " hello-world Flask app on the same waitress set-up and core: the ceiling of this stack, so a "
        "ratio near 1 means the sandbox's own code costs little. Prism is the generic OpenAPI mock server"
        " answering the Openapi.it list from the contract's examples: the baseline an integrator would "
        "otherwise use. Sequences are timed from Python over keep-alive connections, one at a time. The "
        "scale section runs on a database seeded with the given number of invoices; RSS is the server's "
        "VmHWM, which includes everything it held before the call.",
        "",
        "## Profile",
        "",
        profile.strip() if profile else "_No profile written (bench/PROFILE.md)._",
        "",
    ]
    return "\n".join(out)
