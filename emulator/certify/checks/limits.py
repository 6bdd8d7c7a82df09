"""batch-maxima and pagination: batches within the documented maxima; lists read to the end."""

from __future__ import annotations

from typing import Any

from emulator.certify.checks.base import SKIP, Check, Context, Entry, Offence, verdict_of
from emulator.certify.checks.downloads import items_of

# provider -> (query parameter or body list key, maximum, what it is)
MAXIMA: dict[str, list[tuple[str, str, int]]] = {
    "easytracking": [
        ("body", "notificationIds", 100),
        ("body", "docIds", 100),
        ("body", "progressivoInvio", 100),
    ],
    "aruba": [("query", "size", 100)],
    "acube": [("query", "itemsPerPage", 100)],
    "openapi": [("query", "limit", 100)],
}


def _batch(ctx: Context) -> tuple[str, str, list[Offence]]:
    offences: list[Offence] = []
    batches = 0
    for entry in ctx.entries:
        for where, name, maximum in MAXIMA.get(ctx.provider, []):
            if where == "query" and name in entry.query:
                batches += 1
                for value in entry.query[name]:
                    if value.isdigit() and int(value) > maximum:
                        offences.append(Offence(entry, f"query {name}={value} exceeds the maximum {maximum}"))
            body = entry.request_json
            if where == "body" and isinstance(body, dict) and isinstance(body.get(name), list):
                batches += 1
                if len(body[name]) > maximum:
                    offences.append(
                        Offence(entry, f"{name} has {len(body[name])} items, the maximum is {maximum}")
                    )
    if not batches:
        return SKIP, "The client sent no batch or page size", []
    return verdict_of(offences, f"{batches} batch(es), all within the maxima", "{n} batch(es) too large")


def has_next(body: Any, entry: Entry) -> bool:
    """Whether a list answer says there is more: Spring pages, hydra views, next links, totals."""
    if not isinstance(body, dict):
        return False
    if body.get("last") is False:
        return True
    view = body.get("hydra:view")
    if isinstance(view, dict) and view.get("hydra:next"):
        return True
    links = body.get("links")
    if isinstance(links, dict) and links.get("next"):
        return True
    if body.get("next") or body.get("next_page_url"):
        return True
    total = body.get("total", body.get("totalItems", body.get("hydra:totalItems")))
    if isinstance(total, int) and not isinstance(total, bool):
        skip = entry.query.get("skip", entry.query.get("offset", ["0"]))[0]
        start = int(skip) if skip.isdigit() else 0
        return start + len(items_of(body)) < total
    return False


def _page_of(entry: Entry) -> tuple[str, ...]:
    return tuple(
        f"{k}={v}" for k, v in sorted(entry.query.items()) if k in ("page", "skip", "offset", "pageNumber")
    )


def _pagination(ctx: Context) -> tuple[str, str, list[Offence]]:
    from emulator.certify.checks.polling import poll_key

    lists = [e for e in ctx.entries if "list" in e.roles and e.ok]
    partial = [e for e in lists if has_next(e.response_json, e)]
    if not partial:
        return SKIP, "No list answer had more pages", []
    offences = []
    for entry in partial:
        key, page = poll_key(entry), _page_of(entry)
        followed = any(e.id > entry.id and poll_key(e) == key and _page_of(e) != page for e in lists)
        if not followed:
            offences.append(Offence(entry, "the answer has more pages; the client never asked for the next"))
    return verdict_of(
        offences, f"{len(partial)} partial page(s), each followed", "{n} list(s) not read to the end"
    )


BATCH = Check(
    name="batch-maxima",
    title="Batches within the documented maxima",
    explanation=(
        "Easy Tracking's jobs and acknowledgements take at most 100 ids (docIds, progressivoInvio, "
        "notificationIds); Aruba's pages at most 100 (size), A-Cube's itemsPerPage and Openapi.it's "
        "limit at most 100. Larger batches are refused by the real services."
    ),
    run=_batch,
)
PAGINATION = Check(
    name="pagination",
    title="Paginated lists read to the end",
    explanation=(
        "When a list answer says there is more (Aruba: last=false; A-Cube: hydra:next; a total beyond "
        "what was read), the client must ask for the next page (page, skip or offset) of the same list; "
        "otherwise invoices are missed."
    ),
    run=_pagination,
)
