"""contract: every request conforms to the provider's contract (the journal's violations)."""

from __future__ import annotations

from emulator.certify.checks.base import Check, Context, Offence, verdict_of


def _run(ctx: Context) -> tuple[str, str, list[Offence]]:
    offences = []
    for entry in ctx.entries:
        for violation in entry.raw.get("violations") or []:
            offences.append(Offence(entry, f"{violation.get('where')}: {violation.get('why')}"))
    return verdict_of(
        offences,
        f"All {len(ctx.entries)} requests conform to contracts/{ctx.provider}.yaml",
        "{n} contract violation(s)",
    )


CHECK = Check(
    name="contract",
    title="Requests conform to the contract",
    explanation=(
        "Every request is validated against the provider's OpenAPI contract (contracts/<provider>.yaml): "
        "the operation must exist; path, query and header parameters must have the documented names, "
        "types, enums and bounds; JSON bodies must match the operation's schema; the security header "
        "must be there. Each violation says where (query.limit, body.x, header.Authorization) and why."
    ),
    run=_run,
)
