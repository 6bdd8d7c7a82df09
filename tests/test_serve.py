"""`fattura-sandbox serve`: a real WSGI server, ready within 3 s, state surviving a restart."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.providers.easytracking.helpers import CREDENTIALS, SANDBOX_VAT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(db: Path, port: int) -> Iterator[tuple[str, float]]:
    env = {**os.environ, "FATTURA_SANDBOX_CLOCK_FROZEN": "1"}
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--db", str(db)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        ready_after = None
        while time.monotonic() - started < 10:
            try:
                if requests.get(f"{base}/_sandbox/health", timeout=0.5).status_code == 200:
                    ready_after = time.monotonic() - started
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert ready_after is not None, process.stdout.read() if process.stdout else ""
        yield base, ready_after
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_is_ready_fast_and_keeps_state_across_restart(tmp_path: Path) -> None:
    db, port = tmp_path / "state.db", _free_port()
    with serving(db, port) as (base, ready_after):
        assert ready_after < 3.0
        assert requests.get(base + "/_sandbox/health").headers["Server"] == "fattura-sandbox"
        created = requests.post(f"{base}/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT}).json()
        moved = requests.post(f"{base}/_sandbox/clock", json={"advance_seconds": 3600}).json()["now"]
        token = requests.post(f"{base}/easytracking/api/Token/AccessToken", json=CREDENTIALS).json()
    with serving(db, port) as (base, ready_after):
        assert ready_after < 3.0
        assert requests.get(f"{base}/_sandbox/clock").json()["now"] == moved
        again = requests.post(f"{base}/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT}).json()
        assert again["invoices"][0]["sdi_id"] == created["invoices"][0]["sdi_id"] + 1
        listed = requests.get(
            f"{base}/easytracking/api/v4/InvoiceNotifications/new-active-notifications",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert listed.status_code == 200, listed.text
