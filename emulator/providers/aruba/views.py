"""The JSON an Aruba client reads: the invoice object of §8–§9 and the page envelope of findByUsername.

Dates: ``invoiceDate`` is the invoice's own date (a day) shown at midnight Europe/Rome with its
offset, ``2020-11-12T00:00:00.000+01:00``; ``creationDate`` and ``lastUpdate`` are instants in UTC
with a ``+0000`` offset and milliseconds, as the document's examples.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from emulator.core.clock import ROME
from emulator.providers.aruba.models import ArubaInvoice
from emulator.providers.aruba.records import PROCESSING_ERROR, last_update, status_of


def utc_stamp(moment: datetime) -> str:
    """``2020-11-12T16:39:58.899+0000``"""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def rome_stamp(moment: datetime) -> str:
    """``2020-11-12T17:39:58.899+01:00``"""
    local = moment.astimezone(ROME)
    return local.isoformat(timespec="milliseconds")


def invoice_date(day: str | None) -> str | None:
    try:
        parsed = date.fromisoformat(day or "")
    except ValueError:
        return day
    return rome_stamp(datetime.combine(parsed, time(), tzinfo=ROME))


def b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def invoice_view(
    row: ArubaInvoice,
    *,
    username: str,
    include_file: bool,
    pdf: bytes | None = None,
    error_code: str | None = None,
) -> dict[str, Any]:
    """The invoice object, keys in the document's order; ``pdfFile`` only when a PDF is given."""
    status = status_of(row)
    description = (row.status_description or "") if status == PROCESSING_ERROR else ""
    view: dict[str, Any] = {
        "errorCode": error_code,
        "errorDescription": None,
        "id": str(row.id),
        "sender": dict(row.sender) if row.sender else None,
        "receiver": dict(row.receiver) if row.receiver else None,
        "invoiceType": row.invoice_type,
        "docType": row.direction,
        "file": b64(row.content) if include_file else None,
        "filename": row.filename,
        "invoices": [
            {
                "invoiceDate": invoice_date(body.get("date")),
                "number": body.get("number"),
                "status": status,
                "statusDescription": description,
            }
            for body in row.bodies
        ],
        "username": username,
        "lastUpdate": utc_stamp(last_update(row)),
        "creationDate": utc_stamp(row.created_at),
        "idSdi": str(row.invoice.sdi_id) if row.invoice is not None else None,
    }
    if pdf is not None:
        view["pdfFile"] = b64(pdf)
    view["pddAvailable"] = pdd_available(row)
    return view


def pdd_available(row: ArubaInvoice) -> bool:
    """The preservation package exists once the SDI has the file (sent) or delivered it (received)."""
    return row.invoice is not None


def page_view(items: Sequence[dict[str, Any]], *, total: int, page: int, size: int) -> dict[str, Any]:
    total_pages = max(1, math.ceil(total / size))
    return {
        "errorCode": "0000",
        "errorDescription": None,
        "content": list(items),
        "last": page >= total_pages,
        "totalElements": total,
        "totalPages": total_pages,
        "size": size,
        "number": page,
        "first": page == 1,
        "numberOfElements": len(items),
    }
