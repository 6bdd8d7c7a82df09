"""The named checks, and ``judge``: a scenario's verdicts over journal entries."""

from __future__ import annotations

from typing import Any

from emulator.certify.checks import contract, coverage, downloads, limits, polling, retries, tokens
from emulator.certify.checks.base import FAIL, SKIP, Check, CheckResult, Context, Offence, entries_of

CHECKS: tuple[Check, ...] = (
    contract.CHECK,
    tokens.CHECK,
    polling.POLLING,
    polling.JOBS,
    downloads.NO_DOUBLE,
    downloads.ACKNOWLEDGEMENT,
    limits.BATCH,
    retries.CHECK,
    limits.PAGINATION,
    coverage.INVOICES,
    coverage.COVERAGE,
)
CHECK_NAMES: tuple[str, ...] = tuple(c.name for c in CHECKS)


def judge(
    provider: str,
    journal: list[dict[str, Any]],
    *,
    required: tuple[str, ...] | list[str] = (),
    invoices: int = 0,
    retry_after: float | None = None,
) -> list[CheckResult]:
    ctx = Context(provider, entries_of(provider, journal), invoices=invoices, retry_after=retry_after)
    results = []
    for check in CHECKS:
        try:
            verdict, summary, offences = check.run(ctx)
        except Exception as exc:  # a check's own bug must not hide the others' verdicts
            verdict, summary, offences = FAIL, f"the check itself failed: {exc!r}", [Offence(None, repr(exc))]
        results.append(
            CheckResult(
                name=check.name,
                title=check.title,
                explanation=check.explanation,
                required=check.name in required,
                verdict=verdict,
                summary=summary,
                offences=offences,
            )
        )
    return results


__all__ = ["CHECKS", "CHECK_NAMES", "SKIP", "CheckResult", "judge"]
