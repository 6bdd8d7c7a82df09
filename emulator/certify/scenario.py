"""The scenario format (YAML) and its loader.

A scenario::

    name: sdi-rejections
    description: The SDI rejects the client's invoice (NS 00305); the client must read the outcome.
    providers: [easytracking, aruba, acube, openapi]    # or "all" (the default)
    run_seconds: 8                # real seconds the client is given (FATTURA_SANDBOX_RUN_SECONDS)
    invoices: 1                   # invoices the client should send (FATTURA_SANDBOX_INVOICES)
    steps:
      - after: upload             # condition: the client's first successful upload...
        action: outcome           # ...then force an SDI outcome on that invoice
        type: NS
        errors: [{code: "00305"}]
      - at: 1.5                   # or: real seconds after the client started
        action: incoming          # incoming invoices (POST /_sandbox/incoming-invoices)
        count: 2
    checks:
      required: [contract, token-reuse]
      advisory: [polling-interval]

Step timing: ``at`` (real seconds after the start, default 0) and/or ``after``: ``upload`` (the
client's n-th successful upload, ``upload_index``, 1 the default), ``download`` (the first
successful download), ``request`` (the client's first request). With both, ``at`` counts from the
condition. Actions:

- ``incoming``: ``count``, ``document_type``, ``pa``, ``signed``, ``recipient`` (default the
  tenant's first VAT number) — the body of POST /_sandbox/incoming-invoices.
- ``outcome``: ``type`` (RC, NS, MC, AT, NE_EC01, NE_EC02, DT), ``errors`` (NS); the invoice is the
  one the ``after: upload`` condition found (``invoice`` may name one explicitly).
- ``clock``: ``advance_seconds``.
- ``expire_token``: the clock moves past the provider's token lifetime (plus a minute).
- ``fault``: ``rule`` — a fault rule for POST /_sandbox/faults; ``provider`` defaults to the
  certified one.
- ``clear_faults``: DELETE /_sandbox/faults.

Checks not listed in ``required`` or ``advisory`` still run, as advisory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PROVIDERS = ("easytracking", "aruba", "acube", "openapi")
ACTIONS = ("incoming", "outcome", "clock", "expire_token", "fault", "clear_faults")
CONDITIONS = ("upload", "download", "request")
OUTCOMES = ("RC", "NS", "MC", "AT", "NE_EC01", "NE_EC02", "DT")
MAX_RUN_SECONDS = 3600


class ScenarioError(ValueError):
    """A scenario that cannot be loaded or does not apply: the message says why."""


@dataclass(frozen=True)
class Step:
    action: str
    at: float = 0.0
    after: str | None = None
    upload_index: int = 1
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        when = (
            f"{self.at:g} s"
            if self.after is None
            else f"after {self.after}"
            + (f" #{self.upload_index}" if self.after == "upload" and self.upload_index != 1 else "")
            + (f" + {self.at:g} s" if self.at else "")
        )
        extra = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{when}: {self.action}" + (f" ({extra})" if extra else "")


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    providers: tuple[str, ...]
    run_seconds: float
    invoices: int
    steps: tuple[Step, ...]
    required: tuple[str, ...]
    advisory: tuple[str, ...]
    source: str = "built-in"

    def is_required(self, check: str) -> bool:
        return check in self.required

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "providers": list(self.providers),
            "run_seconds": self.run_seconds,
            "invoices": self.invoices,
            "steps": [s.describe() for s in self.steps],
            "required": list(self.required),
            "advisory": list(self.advisory),
            "source": self.source,
        }


def builtin_names() -> list[str]:
    folder = resources.files("emulator.certify") / "scenarios"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load(reference: str) -> Scenario:
    """A built-in scenario by name, or a YAML file by path."""
    if reference in builtin_names():
        text = (resources.files("emulator.certify") / "scenarios" / f"{reference}.yaml").read_text("utf-8")
        return parse(text, source="built-in")
    path = Path(reference)
    if path.is_file():
        return parse(path.read_text("utf-8"), source=str(path))
    raise ScenarioError(
        f"No scenario {reference!r}: neither a built-in ({', '.join(builtin_names())}) nor a file"
    )


def parse(text: str, *, source: str = "inline") -> Scenario:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"The scenario is not valid YAML: {exc}") from None
    return from_dict(raw, source=source)


def _number(raw: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ScenarioError(f"{key} must be a number from {low:g} to {high:g}")
    return float(value)


def from_dict(raw: Any, *, source: str = "inline") -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioError("A scenario is a mapping with name, run_seconds, steps and checks")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError("name must be a non-empty string")
    providers_raw = raw.get("providers", "all")
    if providers_raw == "all":
        providers = PROVIDERS
    elif isinstance(providers_raw, list) and providers_raw and all(p in PROVIDERS for p in providers_raw):
        providers = tuple(providers_raw)
    else:
        raise ScenarioError(f'providers must be "all" or a list of {", ".join(PROVIDERS)}')
    run_seconds = _number(raw, "run_seconds", 10, 0.1, MAX_RUN_SECONDS)
    invoices = raw.get("invoices", 0)
    if isinstance(invoices, bool) or not isinstance(invoices, int) or not 0 <= invoices <= 1000:
        raise ScenarioError("invoices must be an integer from 0 to 1000")
    steps_raw = raw.get("steps") or []
    if not isinstance(steps_raw, list):
        raise ScenarioError("steps must be a list")
    steps = tuple(_step(item, n) for n, item in enumerate(steps_raw, 1))
    checks = raw.get("checks") or {}
    if not isinstance(checks, dict):
        raise ScenarioError("checks must be a mapping with required and advisory lists")
    required = _names(checks.get("required"), "checks.required")
    advisory = _names(checks.get("advisory"), "checks.advisory")
    from emulator.certify.checks import CHECK_NAMES

    unknown = sorted(set(required + advisory) - set(CHECK_NAMES))
    if unknown:
        raise ScenarioError(f"Unknown check(s) {', '.join(unknown)}; the checks are {', '.join(CHECK_NAMES)}")
    return Scenario(
        name=name,
        description=str(raw.get("description") or ""),
        providers=providers,
        run_seconds=run_seconds,
        invoices=invoices,
        steps=steps,
        required=required,
        advisory=advisory,
        source=source,
    )


def _names(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ScenarioError(f"{where} must be a list of check names")
    return tuple(raw)


def _step(item: Any, n: int) -> Step:
    if not isinstance(item, dict):
        raise ScenarioError(f"step {n} must be a mapping with an action")
    params = dict(item)
    action = params.pop("action", None)
    if action not in ACTIONS:
        raise ScenarioError(f"step {n}: action must be one of {', '.join(ACTIONS)}")
    at = params.pop("at", 0)
    if isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at <= MAX_RUN_SECONDS:
        raise ScenarioError(f"step {n}: at must be a number of seconds from 0 to {MAX_RUN_SECONDS}")
    after = params.pop("after", None)
    if after is not None and after not in CONDITIONS:
        raise ScenarioError(f"step {n}: after must be one of {', '.join(CONDITIONS)}")
    index = params.pop("upload_index", 1)
    if isinstance(index, bool) or not isinstance(index, int) or index < 1:
        raise ScenarioError(f"step {n}: upload_index must be a positive integer")
    if action == "outcome":
        kind = str(params.get("type", "")).upper()
        if kind not in OUTCOMES:
            raise ScenarioError(f"step {n}: outcome type must be one of {', '.join(OUTCOMES)}")
        params["type"] = kind
        if "invoice" not in params and after != "upload":
            raise ScenarioError(f"step {n}: an outcome needs after: upload or an explicit invoice")
    elif action == "clock":
        seconds = params.get("advance_seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ScenarioError(f"step {n}: clock needs advance_seconds >= 0")
    elif action == "fault" and not isinstance(params.get("rule"), dict):
        raise ScenarioError(f"step {n}: fault needs a rule (the body of POST /_sandbox/faults)")
    return Step(action=action, at=float(at), after=after, upload_index=index, params=params)
