"""no-double-download and acknowledgement: everything downloaded once, and acknowledged."""

from __future__ import annotations

import json
from typing import Any

from emulator.certify.checks.base import SKIP, Check, Context, Entry, Offence, verdict_of


def items_of(body: Any) -> list[Any]:
    """The items of a list answer: the list itself, or the first list inside an object."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("content", "data", "items", "hydra:member", "notifications"):
            if isinstance(body.get(key), list):
                return list(body[key])
        for value in body.values():
            if isinstance(value, list):
                return value
    return []


def _download_key(entry: Entry) -> str:
    return f"{entry.operation} {entry.raw.get('path')} {json.dumps(entry.query, sort_keys=True)}"


def _double(ctx: Context) -> tuple[str, str, list[Offence]]:
    offences: list[Offence] = []
    seen: dict[str, Entry] = {}
    seen_items: dict[str, Entry] = {}
    downloads = 0
    for entry in ctx.entries:
        if not entry.ok:
            continue
        if "download" in entry.roles and "job_download" not in entry.roles:
            downloads += 1
            key = _download_key(entry)
            if key in seen:
                offences.append(Offence(entry, f"already downloaded by #{seen[key].id}"))
            else:
                seen[key] = entry
        if "new_items" in entry.roles:
            for item in items_of(entry.response_json):
                downloads += 1
                key = json.dumps(item, sort_keys=True)
                if key in seen_items:
                    offences.append(
                        Offence(
                            entry,
                            f"item returned again (first by #{seen_items[key].id}): it was not "
                            "acknowledged: " + key[:160],
                        )
                    )
                else:
                    seen_items[key] = entry
    if not downloads:
        return SKIP, "The client downloaded nothing", []
    return verdict_of(offences, f"{downloads} download(s), none twice", "{n} double download(s)")


def _downloaded(entry: Entry) -> bool:
    if not entry.ok:
        return False
    if "job_download" in entry.roles:
        return entry.status == 200
    if "new_items" in entry.roles:
        return bool(items_of(entry.response_json))
    return "download" in entry.roles


def _acknowledgement(ctx: Context) -> tuple[str, str, list[Offence]]:
    from emulator.certify.checks.base import ROLES

    if "ack" not in ROLES.get(ctx.provider, {}):
        return SKIP, f"{ctx.provider} has no acknowledgement operation", []
    downloads = [e for e in ctx.entries if _downloaded(e)]
    if not downloads:
        return SKIP, "The client downloaded nothing to acknowledge", []
    acks = [e for e in ctx.entries if "ack" in e.roles and e.ok]
    last_ack = max((e.id for e in acks), default=0)
    offences = [Offence(e, "downloaded, never acknowledged afterwards") for e in downloads if e.id > last_ack]
    return verdict_of(
        offences,
        f"{len(downloads)} download(s), acknowledged ({len(acks)} acknowledgement(s))",
        "{n} download(s) not acknowledged",
    )


NO_DOUBLE = Check(
    name="no-double-download",
    title="Nothing downloaded twice",
    explanation=(
        "The same document (operation, path and query) must not be downloaded twice, and what a "
        "'new items' list returned (Easy Tracking's new-active-notifications) must not come back: "
        "once read and acknowledged, it is gone. A document downloaded twice means the client lost "
        "track of it or did not acknowledge it."
    ),
    run=_double,
)
ACKNOWLEDGEMENT = Check(
    name="acknowledgement",
    title="Everything downloaded is acknowledged",
    explanation=(
        "After downloading, a client acknowledges what it took, so that the intermediary does not "
        "offer it again: Easy Tracking's set-fase-1/set-fase-2 and set-notifications-as-got, A-Cube's "
        "POST /invoices/downloaded. Each download must be followed by an acknowledgement."
    ),
    run=_acknowledgement,
)
