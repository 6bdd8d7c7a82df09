"""coverage (the operation-coverage table) and invoices-sent (the scenario's invoices were sent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from emulator.certify.checks.base import PASS, SKIP, Check, Context, Entry, Offence, verdict_of

CONTRACTS_DIR = Path(__file__).resolve().parents[3] / "contracts"
METHODS = ("get", "post", "put", "patch", "delete")
_operations: dict[str, list[dict[str, str]]] = {}


def contract_operations(provider: str) -> list[dict[str, str]]:
    """Every operation of contracts/<provider>.yaml: operationId, method, path (cached)."""
    if provider not in _operations:
        path = CONTRACTS_DIR / f"{provider}.yaml"
        found: list[dict[str, str]] = []
        if path.is_file():
            spec = yaml.safe_load(path.read_text("utf-8")) or {}
            for template, item in (spec.get("paths") or {}).items():
                for method, op in (item or {}).items():
                    if method in METHODS and isinstance(op, dict):
                        name = op.get("operationId") or f"{method.upper()} {template}"
                        found.append({"operation": name, "method": method.upper(), "path": template})
        _operations[provider] = found
    return _operations[provider]


def coverage_table(provider: str, entries: list[Entry]) -> list[dict[str, Any]]:
    """One row per contract operation (then any unknown one): count and statuses seen."""
    rows: dict[str, dict[str, Any]] = {}
    for op in contract_operations(provider):
        rows[op["operation"]] = {**op, "count": 0, "statuses": {}}
    for entry in entries:
        row = rows.setdefault(
            entry.operation,
            {
                "operation": entry.operation,
                "method": entry.raw.get("method"),
                "path": entry.raw.get("path"),
                "count": 0,
                "statuses": {},
            },
        )
        row["count"] += 1
        status = str(entry.status)
        row["statuses"][status] = row["statuses"].get(status, 0) + 1
    return list(rows.values())


def _coverage(ctx: Context) -> tuple[str, str, list[Offence]]:
    table = coverage_table(ctx.provider, ctx.entries)
    used = sum(1 for row in table if row["count"])
    return PASS, f"{used} of {len(table)} operations exercised ({len(ctx.entries)} requests)", []


def _invoices(ctx: Context) -> tuple[str, str, list[Offence]]:
    if ctx.invoices <= 0:
        return SKIP, "The scenario asks for no invoice", []
    sent = [e for e in ctx.entries if "upload" in e.roles and e.ok]
    offences = []
    if len(sent) < ctx.invoices:
        failed = [e for e in ctx.entries if "upload" in e.roles and not e.ok]
        offences = [Offence(e, "upload refused") for e in failed] or [
            Offence(None, f"{len(sent)} invoice(s) sent, {ctx.invoices} expected")
        ]
    return verdict_of(
        offences,
        f"{len(sent)} invoice(s) sent ({ctx.invoices} expected)",
        f"{len(sent)} invoice(s) sent, {ctx.invoices} expected",
    )


COVERAGE = Check(
    name="coverage",
    title="Operation coverage",
    explanation=(
        "What the client exercised: every operation of the provider's contract with the number of "
        "calls and the statuses seen (the table below). Informative: it never fails."
    ),
    run=_coverage,
)
INVOICES = Check(
    name="invoices-sent",
    title="The scenario's invoices were sent",
    explanation=(
        "The scenario asks the client to send FATTURA_SANDBOX_INVOICES invoices; at least that many "
        "uploads must succeed (a client that stops at the first fault or rejection fails this)."
    ),
    run=_invoices,
)
