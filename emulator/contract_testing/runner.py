"""Run ``contracts/<provider>.yaml`` with Schemathesis' own CLI against a base URL, with a JUnit report.

Schemathesis runs in a child process (``python -m schemathesis.cli run``): its hooks module
(:mod:`emulator.contract_testing.hooks`) authenticates every call, and the credentials reach it
through environment variables, never the command line. The checks are those of the in-process
suites (tests/contracts); a temporary ``schemathesis.toml`` carries what the CLI has no flag for
(the statuses a document uses to reject invalid input, no inferred links, no example database).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from emulator.contract_testing.checks import checks_for
from emulator.contract_testing.login import (
    ENV_PREFIX,
    PROVIDERS,
    Credentials,
    LoginError,
    obtain_token,
)

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
INSTALL_HINT = "pip install 'fattura-sandbox[contract]'"
# Schemathesis' own list of statuses that reject invalid data, and what a document adds to it
# (Easy Tracking answers top > 100000 with 413).
REJECTIONS = ("400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx")
EXTRA_REJECTIONS = {"easytracking": ("413",)}
DEFAULT_MAX_EXAMPLES = 30
STANDALONE_PHASES = "examples,coverage,fuzzing"
DEFAULT_REFRESH_SECONDS = 600
PROBE_SECONDS = 10.0


class ContractTestError(Exception):
    """Why the run could not start (one line, printed as is)."""


@dataclass(frozen=True)
class ContractTestOptions:
    provider: str
    base_url: str
    credentials: Credentials = field(default_factory=Credentials)
    auth_url: str | None = None
    junit: Path | None = None
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int | None = None
    operations: str | None = None
    workers: int = 1
    phases: str | None = None
    contract: Path | None = None
    refresh_seconds: int = DEFAULT_REFRESH_SECONDS
    request_timeout: float = 30.0

    @property
    def junit_path(self) -> Path:
        return (self.junit or Path(f"contract-test-{self.provider}.xml")).resolve()

    @property
    def contract_path(self) -> Path:
        return self.contract or CONTRACTS / f"{self.provider}.yaml"


def _answers(url: str) -> int:
    """The status ``url`` answers a GET with (any status is an answer); ContractTestError if none."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=PROBE_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ContractTestError(f"the base URL {url} does not answer: {reason}") from None


def resolve_base_url(provider: str, base_url: str) -> str:
    """The URL the contract's paths are appended to. A sandbox's root (``http://host:port``, which
    answers ``/_sandbox/health``) becomes its provider's mount, ``http://host:port/<provider>``."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ContractTestError(f"the base URL {base_url!r} is not an http(s) URL")
    base = base_url.rstrip("/")
    if parts.path in ("", "/") and _answers(f"{base}/_sandbox/health") == 200:
        return f"{base}/{provider}"
    _answers(base)
    return base


def _toml_config(provider: str) -> str:
    statuses = json.dumps([*REJECTIONS, *EXTRA_REJECTIONS.get(provider, ())])
    return "\n".join(
        [
            "[generation]",
            'database = "none"',
            "[checks.negative_data_rejection]",
            f"expected-statuses = {statuses}",
            "[phases.stateful.inference]",
            "algorithms = []",
            "",
        ]
    )


def schemathesis_command(options: ContractTestOptions, base_url: str, config_file: Path) -> list[str]:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config_file), "--no-color",
        "run", str(options.contract_path),
        "--url", base_url,
        "--checks", ",".join(checks_for(options.provider)),
        "--mode", "all",
        "--max-examples", str(options.max_examples),
        "--workers", str(options.workers),
        "--request-timeout", str(options.request_timeout),
        "--report", "junit",
        "--report-junit-path", str(options.junit_path),
    ]  # fmt: skip
    if options.seed is not None:
        command += ["--seed", str(options.seed)]
    phases = options.phases
    if phases is None and options.operations:
        # A few operations seldom carry the links a stateful run follows, and Schemathesis reports
        # an operation set without links as an error: the stateful phase only when asked for.
        phases = STANDALONE_PHASES
    if phases:
        command += ["--phases", phases]
    if options.operations:
        command += ["--include-operation-id-regex", options.operations]
    return command


def _environment(options: ContractTestOptions, base_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(ENV_PREFIX)}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env["SCHEMATHESIS_HOOKS"] = "emulator.contract_testing.hooks"
    env[f"{ENV_PREFIX}PROVIDER"] = options.provider
    env[f"{ENV_PREFIX}BASE_URL"] = base_url
    env[f"{ENV_PREFIX}AUTH_URL"] = (options.auth_url or base_url).rstrip("/")
    env[f"{ENV_PREFIX}REFRESH_SECONDS"] = str(options.refresh_seconds)
    env.update(options.credentials.to_env())
    return env


def run_contract_test(options: ContractTestOptions, *, extra_args: Sequence[str] = ()) -> int:
    """0 when every check passed on every operation, 1 otherwise; ContractTestError when it cannot run."""
    if options.provider not in PROVIDERS:
        raise ContractTestError(f"unknown provider {options.provider!r} (one of {', '.join(PROVIDERS)})")
    if importlib.util.find_spec("schemathesis") is None:
        raise ContractTestError(f"schemathesis is not installed: {INSTALL_HINT}")
    if not options.contract_path.is_file():
        raise ContractTestError(f"no contract at {options.contract_path} (give one with --contract)")
    base_url = resolve_base_url(options.provider, options.base_url)
    auth_url = (options.auth_url or base_url).rstrip("/")
    if options.auth_url:
        _answers(auth_url)
    try:  # Fail fast, in one line, on wrong credentials: the run would otherwise be all 401s.
        obtain_token(options.provider, auth_url, options.credentials, base_url=base_url)
    except LoginError as exc:
        raise ContractTestError(f"no {options.provider} token: {exc}") from None
    options.junit_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"contract-test: {options.contract_path.name} against {base_url}", flush=True)
    with tempfile.TemporaryDirectory(prefix="fattura-contract-") as scratch:
        config_file = Path(scratch) / "schemathesis.toml"
        config_file.write_text(_toml_config(options.provider), encoding="utf-8")
        command = [*schemathesis_command(options, base_url, config_file), *extra_args]
        completed = subprocess.run(command, env=_environment(options, base_url), check=False)
    print(f"contract-test: JUnit report written to {options.junit_path}", flush=True)
    return 0 if completed.returncode == 0 else 1
