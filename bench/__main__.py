"""python -m bench [--quick] [--only NAME ...] [--scale N] [--no-prism] [--no-scale] [--output PATH]"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from bench import runner
from bench.harness import NO_JOURNAL_STATUS, median, render_results

BENCH_DIR = Path(__file__).resolve().parent


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="1 run of 3 s per endpoint, 2 000 invoices at scale"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        default=[],
        help="only the endpoints whose name contains one of these words (e.g. status upload)",
    )
    parser.add_argument(
        "--scale", type=int, default=None, metavar="N", help="invoices seeded (default 100000)"
    )
    parser.add_argument("--no-prism", action="store_true", help="skip the Prism comparison")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale section")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="RESULTS.md path (default bench/RESULTS.md, bench/out/RESULTS.md with --quick)",
    )
    return parser.parse_args(argv)


def selected(name: str, only: list[str]) -> bool:
    return not only or any(word.lower() in name.lower() for word in only)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    runs, seconds, warmup = (1, 3.0, 1.0) if args.quick else (3, 8.0, 2.0)
    samples = 5 if args.quick else 21
    scale_n = args.scale or (2000 if args.quick else 100_000)
    output = args.output or runner.BENCH / ("out/RESULTS.md" if args.quick else "RESULTS.md")
    wrk = runner.ensure_wrk()
    prism_version = None if args.no_prism else runner.ensure_prism()
    work = runner.workdir()
    results: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m bench", *argv]),
        "quick": args.quick,
        "machine": runner.machine(wrk, prism_version),
    }
    try:
        runner.log(f"work directory {work}")
        healthy = runner.time_to_healthy(work, 5)
        throughput: dict[str, Any] = {
            "setup": {
                "threads": runner.THREADS,
                "runs": runs,
                "duration_s": seconds,
                "warmup_s": warmup,
                "wrk": "taskset -c 1 wrk -t2 -c64 --latency",
            },
            "healthy_s": median(healthy),
            "healthy_samples": len(healthy),
            "healthy_all_s": healthy,
        }
        with runner.sandbox(work, "throughput") as server:
            loads, sequences = runner.throughput_loads(server, work, 600 if args.quick else 3000, samples)
            throughput["endpoints"] = [
                runner.measure(load, runs, seconds, warmup, "/_sandbox/health")
                for load in loads
                if selected(load.name, args.only)
            ]
            throughput["sequences"] = [s for s in sequences if selected(s["name"], args.only)]
            throughput["server_peak_rss_mb"] = runner.rss_mb(server.process.pid)
        if selected(NO_JOURNAL_STATUS, args.only):
            # The same poll with the journal off: what per-request journalling costs.
            with runner.sandbox(work, "no-journal", journal=False) as server:
                load = runner.status_load(server)
                measured = runner.measure(load, runs, seconds, warmup, "/_sandbox/health")
                throughput["endpoints"].append(measured)
        hello = runner.hello_server(work)
        try:
            hello_load = runner.Load("bare Flask hello", hello.base + "/hello")
            throughput["hello"] = runner.measure(hello_load, runs, seconds, warmup, "/hello")
            throughput["hello"]["peak_rss_mb"] = runner.rss_mb(hello.process.pid)
        finally:
            hello.stop()
        if not args.no_prism:
            prism = runner.prism_server(work)
            try:
                throughput["prism"] = runner.measure(
                    runner.prism_load(prism), runs, seconds, warmup, "/IT-invoices"
                )
                throughput["prism"]["peak_rss_mb"] = runner.rss_mb(prism.process.pid)
            finally:
                prism.stop()
        results["throughput"] = throughput
        if not args.no_scale:
            results["scale"] = runner.scale(work, scale_n, samples)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    profile = BENCH_DIR / "PROFILE.md"
    output.write_text(render_results(results, profile.read_text() if profile.is_file() else ""))
    (output.parent / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    runner.log(f"wrote {output} and {output.parent / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
