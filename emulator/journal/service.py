"""The journal's operations behind /_sandbox/journal, and its retention: no Flask here.

Order: entries are always answered oldest first (newest last), by id. Without ``since`` the answer
is the newest ``limit`` matching entries; with ``since`` (an entry id, or a virtual ISO-8601
instant) it is the first ``limit`` matching entries after it, so a reader pages forward with
``since=<id of the last entry it got>``. ``more`` says whether matching entries were left out.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Table, Text, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, NotFound
from emulator.journal.models import JournalEntry

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
FILTERS = ("provider", "tenant", "since", "violations", "limit")


class Retention:
    """Keeps at most ``max_entries`` entries, deleting the oldest in batches of about a tenth."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max(1, max_entries)
        self.batch = max(1, min(1000, self.max_entries // 10))
        self._floor: int | None = None  # every id <= floor is deleted (as far as this process knows)
        self._lock = threading.Lock()

    def start(self, session: Session) -> None:
        """Learn where the journal stands (a file database keeps it across restarts)."""
        newest = session.execute(select(func.max(JournalEntry.id))).scalar_one_or_none() or 0
        with self._lock:
            self._floor = None
        self.after_insert(session, newest)

    def after_insert(self, session: Session, newest_id: int) -> None:
        with self._lock:
            must_go = newest_id - self.max_entries  # every id up to this one must be deleted
            if self._floor is not None and self._floor >= must_go:
                return
            # Delete a batch beyond what the bound needs, so that deletions come in batches.
            floor = must_go + (self.batch if self.max_entries > self.batch else 0)
            floor = min(floor, newest_id - 1)
            if floor > 0:
                session.execute(delete(JournalEntry).where(JournalEntry.id <= floor))
            self._floor = max(floor, 0)


_TABLE = cast(Table, JournalEntry.__table__)
JSON_COLUMNS = tuple(column.name for column in _TABLE.columns if isinstance(column.type, JSON))
# The JSON columns arrive serialised (``serialised``): bound as text, not encoded a second time.
_INSERT = insert(_TABLE).values({name: bindparam(f"json_{name}", type_=Text()) for name in JSON_COLUMNS})


def serialised(**columns: Any) -> dict[str, Any]:
    """Columns of an entry for ``record_many``: the JSON ones as their text."""
    for name in JSON_COLUMNS:
        if name in columns:
            columns[f"json_{name}"] = json.dumps(columns.pop(name), ensure_ascii=False)
    return columns


def record_many(session: Session, retention: Retention, rows: list[dict[str, Any]]) -> int:
    """Store entries (``serialised`` columns of JournalEntry, in order) and keep the journal within its
    bound; the id of the newest."""
    session.execute(_INSERT, rows)  # Core: no ORM bookkeeping per row
    newest = session.execute(select(func.max(JournalEntry.id))).scalar_one()
    retention.after_insert(session, newest)
    return int(newest)


def list_entries(
    session: Session, query: Mapping[str, str], providers: list[str] | tuple[str, ...]
) -> dict[str, Any]:
    unknown = sorted(set(query) - set(FILTERS))
    if unknown:
        raise BadRequest(f"Unknown filter(s): {', '.join(unknown)}; the filters are {', '.join(FILTERS)}")
    statement = select(JournalEntry)
    provider = query.get("provider")
    if provider is not None:
        if provider not in providers:
            raise BadRequest(f"provider must be one of {', '.join(providers)}")
        statement = statement.where(JournalEntry.provider == provider)
    tenant = query.get("tenant")
    if tenant is not None:
        if not tenant:
            raise BadRequest("tenant must not be empty")
        statement = statement.where(JournalEntry.tenant == tenant)
    violations = query.get("violations")
    if violations is not None:
        if violations not in ("true", "false"):
            raise BadRequest("violations must be true or false")
        statement = statement.where(JournalEntry.has_violations.is_(violations == "true"))
    limit = _limit(query.get("limit"))
    since = query.get("since")
    if since is not None:
        statement = statement.where(_since(since)).order_by(JournalEntry.id).limit(limit + 1)
        rows = list(session.execute(statement).scalars())
    else:
        statement = statement.order_by(JournalEntry.id.desc()).limit(limit + 1)
        rows = list(reversed(list(session.execute(statement).scalars())))
    more = len(rows) > limit
    rows = rows[:limit] if since is not None else rows[-limit:]
    return {"entries": [row.view() for row in rows], "more": more}


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def _since(raw: str) -> Any:
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return JournalEntry.id > int(raw)
    try:
        # An unencoded "+" of the offset arrives as a space.
        instant = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise BadRequest("since must be an entry id or an ISO-8601 instant with its offset")
    return JournalEntry.at >= instant


def get_entry(session: Session, reference: str) -> dict[str, Any]:
    entry = (
        session.get(JournalEntry, int(reference))
        if reference.isascii() and reference.isdigit() and len(reference) <= 18
        else None
    )
    if entry is None:
        raise NotFound(f"No journal entry {reference}")
    return entry.view()


def clear(session: Session) -> None:
    session.execute(delete(JournalEntry))


def count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(JournalEntry)).scalar_one())
