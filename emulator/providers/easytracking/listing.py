"""The filters both cycles' invoice lists share, applied in SQL to whichever columns hold the values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func
from sqlalchemy.orm import InstrumentedAttribute

from emulator.core.clock import ROME
from emulator.providers.easytracking.queries import ListQuery

# Rome wall-clock bounds a query may give are kept inside the years a UTC conversion can reach.
EARLIEST_LOCAL = datetime(2, 1, 1)
LATEST_LOCAL = datetime(9998, 12, 31)


@dataclass(frozen=True)
class ListColumns:
    """Where a list finds the owner (or receiver) ids, the fase flags, the date and the reception."""

    vat: InstrumentedAttribute[Any]
    fiscal_code: InstrumentedAttribute[Any]
    fase1: InstrumentedAttribute[Any]
    fase2: InstrumentedAttribute[Any]
    date: InstrumentedAttribute[Any]
    received_at: InstrumentedAttribute[Any]


def owner_filter(
    statement: Select[*tuple[Any, ...]], columns: ListColumns, vat: str | None, fiscal_code: str | None
) -> Select[*tuple[Any, ...]]:
    """Case-insensitive match on each id given (both must match when both are given)."""
    if vat:
        statement = statement.where(func.upper(columns.vat) == vat.upper())
    if fiscal_code:
        statement = statement.where(func.upper(columns.fiscal_code) == fiscal_code.upper())
    return statement


def list_filter(
    statement: Select[*tuple[Any, ...]], columns: ListColumns, query: ListQuery
) -> Select[*tuple[Any, ...]]:
    statement = owner_filter(statement, columns, query.owner_vat, query.owner_cf)
    if query.fase1 is not None:
        statement = statement.where(columns.fase1.is_(query.fase1))
    if query.fase2 is not None:
        statement = statement.where(columns.fase2.is_(query.fase2))
    if query.document_dates:
        low, high = query.document_dates
        statement = statement.where(columns.date >= low.isoformat(), columns.date <= high.isoformat())
    if query.received:
        # The range is Rome local time, as dataRicezione is shown; stored instants are UTC.
        start = _rome(query.received.start)
        end = _rome(query.received.end.replace(microsecond=999_999))
        statement = statement.where(columns.received_at >= start, columns.received_at <= end)
    return statement


def _rome(local: datetime) -> datetime:
    return min(max(local, EARLIEST_LOCAL), LATEST_LOCAL).replace(tzinfo=ROME)
