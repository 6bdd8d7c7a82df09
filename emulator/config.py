"""Settings of one sandbox instance, from flags and ``FATTURA_SANDBOX_*`` environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from emulator.core.accounts import DEFAULT_ACCOUNTS_FILE

ENV_PREFIX = "FATTURA_SANDBOX_"


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str = "fattura-sandbox.db"
    xsd_dir: Path | None = None
    accounts_file: Path = DEFAULT_ACCOUNTS_FILE
    # Virtual seconds. Keys are the names used by emulator.sdi.outcomes.Delays.
    sdi_delays: Mapping[str, int] = field(default_factory=dict)
    # Easy Tracking: lifetime of an access token and time a job takes to be prepared.
    easytracking_token_seconds: int = 3600
    easytracking_job_seconds: int = 5
    # Aruba: virtual seconds between an upload and its hand-over to the SDI (asynchronous checks);
    # the SLA of §3 (5 MB files, requests per minute per IP), on unless switched off.
    aruba_processing_seconds: int = 60
    aruba_sla: bool = True
    # Start of virtual time (ISO-8601); None = the wall clock at first start.
    clock_start: str | None = None
    # Frozen: virtual time moves only through POST /_sandbox/clock (tests, certification runs).
    clock_frozen: bool = False
    seed: int | None = None
    # Request journal: off, nothing is recorded (load tests that want the last requests per second);
    # bodies kept up to this many bytes each; at most this many entries (oldest go).
    journal: bool = True
    journal_body_limit: int = 65536
    journal_max_entries: int = 10000

    @property
    def database_url(self) -> str:
        if "://" in self.db:
            return self.db
        if self.db == ":memory:":
            return "sqlite+pysqlite:///:memory:"
        return f"sqlite+pysqlite:///{Path(self.db).expanduser().resolve()}"

    def with_overrides(self, **overrides: Any) -> Config:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _convert(name: str, raw: str) -> Any:
    if name in {
        "port",
        "easytracking_token_seconds",
        "easytracking_job_seconds",
        "aruba_processing_seconds",
        "seed",
        "journal_body_limit",
        "journal_max_entries",
    }:
        return int(raw)
    if name in {"xsd_dir", "accounts_file"}:
        return Path(raw)
    if name in {"clock_frozen", "aruba_sla", "journal"}:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if name == "sdi_delays":
        value = json.loads(raw)
        if not isinstance(value, dict):
            raise ValueError(f"{ENV_PREFIX}SDI_DELAYS must be a JSON object")
        return {str(k): int(v) for k, v in value.items()}
    return raw


def config_from_env(environ: Mapping[str, str] | None = None) -> Config:
    """Read every field of Config from its ``FATTURA_SANDBOX_<NAME>`` variable, when set."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Config):
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw not in (None, ""):
            values[f.name] = _convert(f.name, raw)
    return Config(**values)
