"""A real sandbox (`fattura-sandbox serve` in a subprocess, free port) per test module, reset per
test, and a runner that starts an example client with the environment of `fattura-sandbox certify`."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import XSD_DIR

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sandbox:
    root: str

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.root}/_sandbox{path}", timeout=10, **kwargs)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json() if response.content else None

    def account(self, provider: str, tenant: str = "sandbox") -> dict[str, Any]:
        accounts = self.control("GET", "/accounts")["accounts"]
        (account,) = [a for a in accounts if a["provider"] == provider and a["tenant"] == tenant]
        return dict(account)

    def journal(self, provider: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        since: int | None = None
        while True:
            params: dict[str, Any] = {"provider": provider, "limit": 5000}
            if since is not None:
                params["since"] = since
            page = self.control("GET", "/journal", params=params)
            entries += page["entries"]
            if not page["more"] or not page["entries"]:
                return entries
            since = page["entries"][-1]["id"]

    def run(
        self, script: str, provider: str, *, seconds: float, invoices: int
    ) -> subprocess.CompletedProcess[str]:
        account = self.account(provider)
        env = {
            **os.environ,
            "FATTURA_SANDBOX_URL": self.root,
            "FATTURA_SANDBOX_PROVIDER": provider,
            "FATTURA_SANDBOX_BASE_URL": f"{self.root}/{provider}",
            "FATTURA_SANDBOX_USERNAME": account["username"],
            "FATTURA_SANDBOX_PASSWORD": account["password"],
            "FATTURA_SANDBOX_EMAIL": account["email"],
            "FATTURA_SANDBOX_TOKEN": account["token"] or "",
            "FATTURA_SANDBOX_VAT": account["vat_numbers"][0],
            "FATTURA_SANDBOX_ACCOUNT": json.dumps(account),
            "FATTURA_SANDBOX_RUN_SECONDS": str(seconds),
            "FATTURA_SANDBOX_INVOICES": str(invoices),
        }
        return subprocess.run(
            [sys.executable, str(EXAMPLES / script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
        )


@contextmanager
def serving(tmp: Path, **settings: str) -> Iterator[Sandbox]:
    """`fattura-sandbox serve` on a free port with the FATTURA_SANDBOX_* ``settings``, until exit."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "emulator",
        "serve",
        "--port",
        str(port),
        "--db",
        str(tmp / "sandbox.db"),
    ]
    if XSD_DIR.is_dir():
        command += ["--xsd-dir", str(XSD_DIR)]
    env = {**os.environ, **{f"FATTURA_SANDBOX_{k.upper()}": v for k, v in settings.items()}}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while True:
            try:
                if requests.get(f"{root}/_sandbox/health", timeout=0.5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() - started < 20, "the sandbox did not start"
            time.sleep(0.1)
        yield Sandbox(root)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    # Easy Tracking jobs ready after 1 s so a run stays short; everything else as served by default.
    with serving(tmp_path_factory.mktemp("examples"), easytracking_job_seconds="1") as sandbox:
        yield sandbox


@pytest.fixture()
def sandbox(served: Sandbox) -> Sandbox:
    served.control("POST", "/reset")
    served.control("DELETE", "/journal")
    return served


def calls(journal: list[dict[str, Any]], method: str, suffix: str) -> list[dict[str, Any]]:
    """The journal entries of ``method`` whose path ends with ``suffix``."""
    return [e for e in journal if e["method"] == method and e["path"].endswith(suffix)]


def gaps(entries: list[dict[str, Any]]) -> list[float]:
    """Real seconds between consecutive entries."""
    times = [datetime.fromisoformat(e["real_at"]) for e in entries]
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
