"""The filters both cycles' invoice lists share, applied in SQL to whichever columns hold the values."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, func, literal, select, type_coerce
from sqlalchemy.orm import InstrumentedAttribute, Session

from emulator.core.clock import ROME
from emulator.core.errors import PayloadTooLarge
from emulator.core.tenancy import Account
from emulator.providers.easytracking.models import EtDocument
from emulator.providers.easytracking.queries import MAX_TOP, ListQuery
from emulator.sdi.models import SdiInvoice

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


# An OI document always has its SDI invoice: the list reads the reception from it.
ACTIVE_COLUMNS = ListColumns(
    vat=EtDocument.owner_vat,
    fiscal_code=EtDocument.owner_cf,
    fase1=EtDocument.fase1,
    fase2=EtDocument.fase2,
    date=EtDocument.date,
    received_at=SdiInvoice.received_at,
)


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


# -- list bodies --------------------------------------------------------------------------------

# Rows are read and encoded this many at a time: a 100000-invoice list never holds every row or dict.
CHUNK = 5000


def list_body(
    session: Session,
    statement: Select[*tuple[Any, ...]],
    top: int,
    item: Callable[[Sequence[Any]], dict[str, object]],
) -> list[bytes]:
    """``{"invoices": [...], "total": n}`` in pieces, byte for byte what ``json_response`` would give.

    More than ``MAX_TOP`` matches with the largest ``top`` (the default) is the documented 413
    ("greater than 100000 elements"): the answer would be cut. A smaller ``top`` only cuts the list.
    """
    if top == MAX_TOP:
        # Found before reading a single listed column: the 413 costs one index walk, not a list.
        beyond = statement.with_only_columns(literal(1)).order_by(None).offset(MAX_TOP).limit(1)
        if session.execute(beyond).first() is not None:
            raise PayloadTooLarge(f"More than {MAX_TOP} elements: narrow the date range or the filters")
    rows = session.execute(statement.limit(top), execution_options={"yield_per": CHUNK})
    pieces: list[bytes] = [b'{"invoices": [']
    total = 0
    for partition in rows.partitions():
        if total:
            pieces.append(b", ")
        encoded = json.dumps([item(row) for row in partition], ensure_ascii=False, separators=(", ", ": "))
        pieces.append(encoded[1:-1].encode())
        total += len(partition)
    pieces.append(f'], "total": {total}}}'.encode())
    return pieces


SHARED_KEYS = ("senderPIVA", "senderCF", "receiverPIVA", "receiverCF", "data", "number", "documentType")


def shared_fields(values: Sequence[str | None]) -> dict[str, object]:
    """The fields both cycles' invoice lists share (the first seven columns of both lists' selects:
    sender VAT and CF, receiver VAT and CF, date, number, document type), "" where there is no value."""
    return {key: value or "" for key, value in zip(SHARED_KEYS, values, strict=False)}


def local_time(stored: str) -> str:
    """A stored UTC instant (``received_at`` read raw) as Rome wall-clock time, to the second."""
    moment = datetime.fromisoformat(stored)
    return (moment + _rome_offset(stored[:13])).isoformat(" ", "seconds")


@functools.lru_cache(maxsize=65536)
def _rome_offset(utc_hour: str) -> timedelta:
    # Rome's offset changes only on a whole UTC hour: one zone lookup per hour of the list.
    moment = datetime.fromisoformat(utc_hour + ":00").replace(tzinfo=UTC)
    offset = moment.astimezone(ROME).utcoffset()
    assert offset is not None
    return offset


def raw(column: InstrumentedAttribute[Any]) -> Any:
    """The column as stored (no per-row conversion), labelled with its own name."""
    return type_coerce(column, String).label(column.key)


def active_invoices(session: Session, account: Account, query: ListQuery) -> list[bytes]:
    """DownloadInvoices/active-invoices: the OI documents, oldest first, only the listed columns read."""
    statement: Select[*tuple[Any, ...]] = (
        select(
            EtDocument.sender_vat,
            EtDocument.sender_cf,
            EtDocument.receiver_vat,
            EtDocument.receiver_cf,
            EtDocument.date,
            EtDocument.number,
            EtDocument.document_type,
            EtDocument.progressivo_invio,
            EtDocument.id,
            SdiInvoice.sdi_id,
            raw(SdiInvoice.received_at),
            SdiInvoice.file_name,
        )
        .join(SdiInvoice, EtDocument.invoice_id == SdiInvoice.id)
        .where(EtDocument.account_id == account.id, EtDocument.outcome == "OI")
        .order_by(EtDocument.id)
    )
    return list_body(session, list_filter(statement, ACTIVE_COLUMNS, query), query.top, _active_item)


def _active_item(row: Sequence[Any]) -> dict[str, object]:
    # The document's example shows "invoces" and "sdild": typos that the passive-cycle document
    # (v7 changelog) corrects to "invoices"; the sandbox answers with the corrected names.
    progressivo, doc_id, sdi_id, received_at, file_name = row[7:]
    return {
        "progressivoInvio": progressivo,
        "docId": doc_id,
        **shared_fields(row),
        "sdiId": str(sdi_id),
        "dataRicezione": local_time(received_at),
        "fileName": file_name,
    }
