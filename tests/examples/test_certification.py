"""`fattura-sandbox certify` on the example clients: each good client is certified, each naive one
fails exactly the checks its deliberate bugs deserve (examples/README.md lists them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import XSD_DIR
from tests.examples.conftest import EXAMPLES


def certify(
    tmp_path: Path, provider: str, scenario: str, client: str, **env: str
) -> tuple[int, dict[str, str]]:
    """Exit status and {check: verdict} of one certification run (its report.json)."""
    report = tmp_path / "report"
    command = [
        sys.executable, "-m", "emulator.cli", "certify", "--provider", provider, "--scenario", scenario,
        "--report", str(report), "--xsd-dir", str(XSD_DIR), "--", sys.executable, str(EXAMPLES / client),
    ]  # fmt: skip
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=180)
    assert (report / "report.junit.xml").is_file() and (report / "report.html").is_file(), done.stderr
    verdicts = json.loads((report / "report.json").read_text())["checks"]
    return done.returncode, {c["name"]: c["verdict"] for c in verdicts}


def failed(verdicts: dict[str, str]) -> set[str]:
    return {name for name, verdict in verdicts.items() if verdict == "fail"}


@pytest.mark.parametrize(
    ("provider", "scenario"),
    [("easytracking", "incoming-invoices"), ("aruba", "network-faults")],
)
def test_the_good_clients_are_certified(tmp_path: Path, provider: str, scenario: str) -> None:
    status, verdicts = certify(tmp_path, provider, scenario, f"{provider}_good.py")
    assert (status, failed(verdicts)) == (0, set()), verdicts


def test_the_naive_easytracking_client_fails_what_its_bugs_deserve(tmp_path: Path) -> None:
    status, verdicts = certify(tmp_path, "easytracking", "incoming-invoices", "easytracking_naive.py")
    # fase1=no (contract), a token per call, no pause between polls, a new job for every round's
    # downloads and the same job polled at once (jobs), downloads never set to fase 1.
    assert status == 1
    assert failed(verdicts) == {"contract", "token-reuse", "polling-interval", "jobs", "acknowledgement"}


def test_the_naive_aruba_client_fails_what_its_bugs_deserve(tmp_path: Path) -> None:
    # Aruba's SLA off: with it, the naive client's 429 storm hides its other bugs.
    status, verdicts = certify(
        tmp_path, "aruba", "incoming-invoices", "aruba_naive.py", FATTURA_SANDBOX_ARUBA_SLA="0"
    )
    # size=500 (contract and batch maximum), a sign-in per call, no pause, downloads every round.
    assert status == 1
    deserved = {"contract", "token-reuse", "polling-interval", "no-double-download", "batch-maxima"}
    assert failed(verdicts) == deserved
