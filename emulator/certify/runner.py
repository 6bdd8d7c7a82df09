"""``fattura-sandbox certify``: a fresh sandbox, the client under test, the scenario, the verdict.

1. A sandbox process (``python -m emulator.cli serve``) on a free port with a database in a
   temporary directory (and the same ``--xsd-dir`` as serve, when given); ready when
   ``/_sandbox/health`` answers.
2. The client command runs with the environment of ``client_env`` (documented in the README);
   the scenario's steps are played meanwhile (``player``).
3. The client is waited for ``run_seconds`` plus a margin, then killed.
4. The journal is read (all pages), judged, and the reports are written; the sandbox is stopped,
   always. The exit status is 0 only if every required check passes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from emulator.certify import report as reports
from emulator.certify.control import Control, ControlError, HttpControl, fetch_journal
from emulator.certify.player import Player
from emulator.certify.scenario import Scenario, ScenarioError, load

TENANT = "sandbox"
STARTUP_SECONDS = 60.0
OUTPUT_TAIL = 4000
PROVIDER_PREFIXES = {p: f"/{p}" for p in ("easytracking", "aruba", "acube", "openapi")}


class CertifyError(RuntimeError):
    """The certification could not run (not a verdict on the client)."""


@dataclass
class Options:
    provider: str
    command: list[str]
    scenario: str = "happy-path"
    report_dir: Path = Path("certification-report")
    xsd_dir: Path | None = None
    margin_seconds: float | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_env(root_url: str, provider: str, account: dict[str, Any], scenario: Scenario) -> dict[str, str]:
    """The variables the client under test gets (on top of the runner's own environment)."""
    vats = account.get("vat_numbers") or []
    return {
        "FATTURA_SANDBOX_URL": root_url,
        "FATTURA_SANDBOX_PROVIDER": provider,
        "FATTURA_SANDBOX_BASE_URL": root_url + PROVIDER_PREFIXES[provider],
        "FATTURA_SANDBOX_USERNAME": str(account.get("username") or ""),
        "FATTURA_SANDBOX_PASSWORD": str(account.get("password") or ""),
        "FATTURA_SANDBOX_EMAIL": str(account.get("email") or ""),
        "FATTURA_SANDBOX_TOKEN": str(account.get("token") or ""),
        "FATTURA_SANDBOX_VAT": str(vats[0]) if vats else "",
        "FATTURA_SANDBOX_ACCOUNT": json.dumps(account),
        "FATTURA_SANDBOX_RUN_SECONDS": f"{scenario.run_seconds:g}",
        "FATTURA_SANDBOX_INVOICES": str(scenario.invoices),
    }


def sandbox_account(control: Control, provider: str) -> dict[str, Any]:
    status, body = control.call("GET", "/accounts")
    if status != 200 or not isinstance(body, dict):
        raise CertifyError(f"GET /_sandbox/accounts answered {status}")
    for account in body.get("accounts") or []:
        if account.get("provider") == provider and account.get("tenant") == TENANT:
            return dict(account)
    raise CertifyError(f"The sandbox has no {provider}/{TENANT} account")


class SandboxProcess:
    """``fattura-sandbox serve`` in a child process, on a free port, with a throwaway database."""

    def __init__(self, workdir: Path, xsd_dir: Path | None) -> None:
        self.port = free_port()
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "sandbox.log"
        command = [
            sys.executable, "-m", "emulator.cli", "serve",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--db", str(workdir / "sandbox.db"), "--seed", "7",
        ]  # fmt: skip
        if xsd_dir is not None:
            command += ["--xsd-dir", str(xsd_dir)]
        self._log = self.log_path.open("wb")
        # Certification reads the journal: it is on whatever the caller's environment says.
        env = {**os.environ, "FATTURA_SANDBOX_JOURNAL": "1"}
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=str(Path(__file__).resolve().parents[2]),
            env=env,
        )

    def wait_ready(self, control: Control, timeout: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CertifyError(f"The sandbox exited at start:\n{self.log_tail()}")
            try:
                status, _ = control.call("GET", "/health")
                if status == 200:
                    return
            except ControlError:
                pass
            time.sleep(0.1)
        raise CertifyError(f"The sandbox did not answer /_sandbox/health within {timeout:g} s")

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-OUTPUT_TAIL:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def _run_client(command: list[str], env: dict[str, str], timeout: float, out_path: Path) -> dict[str, Any]:
    started = time.monotonic()
    with out_path.open("wb") as out:
        try:
            process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        except OSError as exc:
            raise CertifyError(f"Cannot run the client command {command}: {exc}") from exc
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                process.kill()
            process.wait(timeout=10)
    output = out_path.read_text("utf-8", "replace")
    return {
        "command": " ".join(command),
        "exit_code": process.returncode,
        "timed_out": timed_out,
        "seconds": round(time.monotonic() - started, 3),
        "output_tail": output[-OUTPUT_TAIL:],
    }


def certify(options: Options, *, out: TextIO | None = None) -> int:
    """Run one certification; 0 when every required check passes, 1 when one fails, 2 on errors."""
    out = out or sys.stdout
    try:
        scenario = load(options.scenario)
    except ScenarioError as exc:
        print(f"fattura-sandbox certify: {exc}", file=sys.stderr)
        return 2
    if options.provider not in scenario.providers:
        print(
            f"fattura-sandbox certify: the scenario {scenario.name} does not apply to {options.provider}",
            file=sys.stderr,
        )
        return 2
    if not options.command:
        print("fattura-sandbox certify: give the client command after --", file=sys.stderr)
        return 2
    margin = (
        options.margin_seconds if options.margin_seconds is not None else max(10.0, scenario.run_seconds / 2)
    )
    with tempfile.TemporaryDirectory(prefix="fattura-certify-") as tmp:
        workdir = Path(tmp)
        sandbox = SandboxProcess(workdir, options.xsd_dir)
        try:
            control = HttpControl(sandbox.root_url)
            sandbox.wait_ready(control)
            account = sandbox_account(control, options.provider)
            env = {**os.environ, **client_env(sandbox.root_url, options.provider, account, scenario)}
            player = Player(control, scenario, options.provider, account)
            print(
                f"certifying {options.provider} with scenario {scenario.name} ({scenario.run_seconds:g} s) "
                f"against {sandbox.root_url}",
                file=out,
                flush=True,
            )
            player.start()
            try:
                client = _run_client(
                    options.command, env, scenario.run_seconds + margin, workdir / "client.log"
                )
            finally:
                player.stop()
            journal = fetch_journal(control)
        except (CertifyError, ControlError) as exc:
            print(f"fattura-sandbox certify: {exc}", file=sys.stderr)
            return 2
        finally:
            sandbox.stop()
        report = reports.build(
            options.provider,
            scenario,
            journal,
            steps=[log.view() for log in player.logs],
            client=client,
            retry_after=player.retry_after,
        )
        paths = reports.write(report, options.report_dir)
    print_summary(report, paths, out)
    return 0 if report["passed"] else 1


def print_summary(report: dict[str, Any], paths: list[Path], out: TextIO) -> None:
    for check in report["checks"]:
        kind = "required" if check["required"] else "advisory"
        print(f"  {check['verdict'].upper():4}  {check['name']:20} ({kind}) {check['summary']}", file=out)
        for offence in check["offending"][:3]:
            print(f"          {reports.offence_line(offence)}", file=out)
    client = report["client"]
    if client.get("timed_out"):
        print(f"  the client was killed after {client.get('seconds')} s", file=out)
    verdict = "CERTIFIED" if report["passed"] else "NOT CERTIFIED: " + ", ".join(reports.blocking(report))
    print(f"{verdict}\nreports: {', '.join(str(p) for p in paths)}", file=out, flush=True)
