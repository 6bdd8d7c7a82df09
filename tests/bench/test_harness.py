"""The benchmark's pure functions: wrk output parsing, medians, targets, RESULTS.md (no load here)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.harness import (
    WrkRun,
    evaluate_targets,
    median_run,
    parse_duration_ms,
    parse_wrk,
    render_results,
)

WRK = """Running 8s test @ http://127.0.0.1:40000/_sandbox/health
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    28.01ms    4.10ms  61.22ms   90.12%
    Req/Sec     1.15k   110.23     1.31k    81.25%
  Latency Distribution
     50%   27.54ms
     75%   29.10ms
     90%   31.77ms
     99%    1.02s
  18342 requests in 8.01s, 3.20MB read
  Socket errors: connect 0, read 2, write 0, timeout 5
  Non-2xx or 3xx responses: 12
Requests/sec:   2289.85
Transfer/sec:    409.14KB
"""


def test_parse_wrk_reads_throughput_percentiles_and_failures() -> None:
    run = parse_wrk(WRK)
    assert run == WrkRun(
        requests_per_second=2289.85, p50_ms=27.54, p99_ms=1020.0, requests=18342, non_2xx=12, socket_errors=7
    )
    assert run.errors == 19


def test_parse_wrk_clean_run_has_no_errors() -> None:
    clean = WRK.replace("  Socket errors: connect 0, read 2, write 0, timeout 5\n", "").replace(
        "  Non-2xx or 3xx responses: 12\n", ""
    )
    run = parse_wrk(clean)
    assert (run.non_2xx, run.socket_errors, run.errors) == (0, 0, 0)


@pytest.mark.parametrize(
    ("value", "unit", "ms"),
    [("812.00", "us", 0.812), ("3.41", "ms", 3.41), ("1.50", "s", 1500.0), ("2", "m", 120000)],
)
def test_durations_in_every_unit_wrk_prints(value: str, unit: str, ms: float) -> None:
    assert parse_duration_ms(value, unit) == pytest.approx(ms)


def test_parse_wrk_refuses_what_is_not_a_report() -> None:
    with pytest.raises(ValueError, match="not a wrk report"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")
    without_latency = "\n".join(line for line in WRK.splitlines() if "%   " not in line or "Latency " in line)
    with pytest.raises(ValueError, match="--latency"):
        parse_wrk(without_latency)


def run(rps: float, p99: float, non_2xx: int = 0) -> WrkRun:
    return WrkRun(rps, p99 / 2, p99, int(rps * 8), non_2xx, 0)


def test_median_run_keeps_the_median_runs_latencies_and_sums_errors() -> None:
    best = median_run([run(300, 90), run(100, 10, non_2xx=1), run(200, 40, non_2xx=2)])
    assert (best.requests_per_second, best.p99_ms, best.errors, best.requests) == (200, 40, 3, 4800)
    assert median_run([run(100, 1), run(200, 2)]).requests_per_second == 100
    with pytest.raises(ValueError, match="no runs"):
        median_run([])


def results(status_rps: float = 1000.0, p99: float = 20.0, rss: float = 80.0) -> dict[str, Any]:
    return {
        "date": "2026-03-02T09:00:00+01:00",
        "command": ".venv/bin/python -m bench",
        "machine": {"cpu": "Test CPU", "cores": 2, "wrk": "4.1.0", "prism": "5.0.0"},
        "throughput": {
            "setup": {"threads": 8, "runs": 3, "duration_s": 8, "warmup_s": 2, "wrk": "wrk -t2 -c64"},
            "endpoints": [
                {
                    "name": "easytracking status",
                    "requests_per_second": status_rps,
                    "p50_ms": 5.0,
                    "p99_ms": p99,
                    "errors": 0,
                    "requests": 8000,
                },
                {
                    "name": "easytracking upload",
                    "requests_per_second": 50.0,
                    "p50_ms": 30.0,
                    "p99_ms": 45.0,
                    "errors": 4,
                    "requests": 400,
                },
            ],
            "hello": {"requests_per_second": 1500.0, "p50_ms": 1.0, "p99_ms": 3.0, "errors": 0},
            "prism": {"requests_per_second": 400.0, "p50_ms": 9.0, "p99_ms": 30.0, "errors": 0},
            "server_peak_rss_mb": rss,
            "healthy_s": 0.4,
            "healthy_samples": 5,
        },
        "scale": {
            "invoices": 100000,
            "seed_s": 42.0,
            "job_ms": 250.0,
            "active-invoices": {"seconds": 1.2, "peak_rss_mb": 200.0, "count": 50000, "bytes": 9_000_000},
            "passive-invoices": {"seconds": 2.5, "peak_rss_mb": 310.0, "count": 50000, "bytes": 9_000_000},
        },
    }


def met(data: dict[str, Any]) -> dict[str, bool | None]:
    return {t.name: t.met for t in evaluate_targets(data)}


def test_targets_met_and_missed() -> None:
    targets = met(results())
    assert targets["GET status vs bare Flask"] is True  # 1000 / 1500 = 0.67
    assert targets["GET status vs Prism"] is True  # 2.5 ×
    assert targets["p99, every endpoint"] is True
    assert targets["server peak RSS"] is True
    assert targets["first healthy response"] is True
    assert targets["seed 100,000 invoices"] is True
    assert targets["active-invoices top=100000"] is True
    assert targets["passive-invoices top=100000"] is False
    assert targets["passive-invoices peak RSS"] is False
    assert targets["100-document job zip, create → downloaded"] is False


def test_targets_at_their_thresholds() -> None:
    targets = met(results(status_rps=800.0, p99=50.0, rss=120.0))
    assert targets["GET status vs Prism"] is True  # ≥: exactly 2 × (800 / 400) is met
    assert targets["GET status vs bare Flask"] is False  # 0.53
    assert targets["p99, every endpoint"] is False
    assert targets["server peak RSS"] is False
    assert met(results(status_rps=900.0))["GET status vs bare Flask"] is True  # exactly 0.6


def test_targets_not_measured_are_neither_met_nor_missed() -> None:
    data = results()
    del data["throughput"]["prism"]
    del data["scale"]
    targets = met(data)
    assert targets["GET status vs Prism"] is None
    assert "seed 100,000 invoices" not in targets


def test_results_md_tables_marks_and_placeholder() -> None:
    text = render_results(results())
    assert text.startswith("# fattura-sandbox benchmark results\n")
    assert "- Command: `.venv/bin/python -m bench`" in text
    assert "| easytracking status | 1,000.0 | 0.67 | 5.00 ms | 20.00 ms | — | — | 0 |" in text
    assert "| easytracking upload | 50.0 | 0.03 | 30.00 ms | 45.00 ms | — | — | **4** ⚠ |" in text
    assert "| bare Flask hello (ceiling) | 1,500.0 | 1.00 |" in text
    assert "| passive-invoices top=100000 | < 2 s | 2.50 s (50000 items) | ❌ |" in text
    assert "| GET status vs Prism | ≥ 2.0 × | 2.50 × | ✅ |" in text
    assert "## How to read" in text and "## Profile" in text
    assert "_No profile written (bench/PROFILE.md)._" in text
    assert render_results(results(), "Journal: 40 µs per request.\n").endswith(
        "## Profile\n\nJournal: 40 µs per request.\n"
    )
    assert "Quick run" not in text
    assert render_results(results()) == text  # a pure function


def test_results_md_flags_an_endpoint_that_never_answered_and_a_quick_run() -> None:
    data = results()
    data["quick"] = True
    data["throughput"]["endpoints"][1].update(requests_per_second=0.0, requests=0, errors=0)
    text = render_results(data)
    assert "| easytracking upload | 0.0 | 0.00 |" in text and "**no answer** ⚠" in text
    assert "> **Quick run**" in text


def test_the_journal_off_row_gets_its_own_targets_and_only_when_measured() -> None:
    data = results()
    assert "GET status vs bare Flask, --no-journal" not in met(data)
    data["throughput"]["endpoints"].append(
        {"name": "easytracking status, --no-journal", "requests_per_second": 1200.0, "p99_ms": 60.0}
    )
    targets = met(data)
    assert targets["GET status vs bare Flask, --no-journal"] is True  # 1200 / 1500 = 0.8
    assert targets["GET status vs Prism, --no-journal"] is True  # 3 ×
    assert targets["p99, GET status, --no-journal"] is False
    assert targets["p99, GET status"] is True  # the journalled row's 20 ms
