"""The JSON an Aruba client reads: the invoice object of §8–§9, the page envelope of findByUsername,
and the notification object and list of §11–§12.

Dates: ``invoiceDate`` is the invoice's own date (a day) shown at midnight Europe/Rome with its
offset, ``2020-11-12T00:00:00.000+01:00``; ``creationDate`` and ``lastUpdate`` are instants in UTC
with a ``+0000`` offset and milliseconds, as the document's examples. A notification's ``date`` and
``notificationDate`` are Europe/Rome with the offset (``2020-11-12T17:39:59.415+01:00``).

Decisions where the document's examples disagree with each other:

- ``statusDescription`` is ``""`` unless the status is "Errore Elaborazione" (every example but
  §8.5's, which shows null once).
- A notification's ``errorCode`` is always ``"0000"`` (one item of §11.3's example shows null, in
  the same example whose ``result`` is the placeholder "esito").
- A notification's ``number`` (the invoice reference) and ``result`` (EC01/EC02) are given for the
  esito files only, NE to the supplier and EC from the customer; null for every other type, as the
  RC/NS examples.
- An empty page has ``totalPages`` 0, as a Spring Data ``Page`` of no elements (``number`` 1,
  ``first`` and ``last`` true).
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
from emulator.sdi.models import SdiNotification
from emulator.sdi.notifications import MessageType, parse_notification
from emulator.sdi.signing import unwrap_p7m

ESITO_TYPES = frozenset({MessageType.NE.value, MessageType.EC.value})


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
    include_pdf: bool = False,
) -> dict[str, Any]:
    """The invoice object, keys in the document's order.

    ``pdfFile`` is there when a PDF is given, or when ``include_pdf`` asks for it (null when the
    file could not be rendered).
    """
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
    if include_pdf or pdf is not None:
        view["pdfFile"] = b64(pdf)
    view["pddAvailable"] = pdd_available(row)
    return view


def pdd_available(row: ArubaInvoice) -> bool:
    """The preservation package exists once the SDI has the file (sent) or delivered it (received)."""
    return row.invoice is not None


def total_pages(total: int, size: int) -> int:
    return math.ceil(total / size)


def page_view(items: Sequence[dict[str, Any]], *, total: int, page: int, size: int) -> dict[str, Any]:
    pages = total_pages(total, size)
    return {
        "errorCode": "0000",
        "errorDescription": None,
        "content": list(items),
        "last": page >= pages,
        "totalElements": total,
        "totalPages": pages,
        "size": size,
        "number": page,
        "first": page == 1,
        "numberOfElements": len(items),
    }


def notification_view(notification: SdiNotification, row: ArubaInvoice) -> dict[str, Any]:
    """One notification (§11.1, §12.1), keys in the document's order; ``file`` is the SDI's file."""
    number, result = esito_reference(notification, row)
    stamp = rome_stamp(notification.emitted_at)
    return {
        "date": stamp,
        "docType": notification.type,
        "file": b64(notification.content),
        "filename": notification.file_name,
        "invoiceId": str(row.id),
        "notificationDate": stamp,
        "number": number,
        "result": result,
        "errorCode": "0000",
        "errorDescription": None,
    }


def notification_list_view(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The notifications of one invoice (§11.2, §11.3, §12.2, §12.3)."""
    return {"count": len(items), "notifications": list(items), "errorCode": "0000", "errorDescription": None}


def esito_reference(notification: SdiNotification, row: ArubaInvoice) -> tuple[str | None, str | None]:
    """``number`` and ``result`` of an esito file (NE, EC): the invoice number it answers, EC01/EC02."""
    if notification.type not in ESITO_TYPES:
        return None, None
    number, result = None, notification.esito
    content = notification.content
    try:
        # The customer's EC travels signed (.xml.p7m); the SDI's NE is signed XML.
        xml = content if content.lstrip().startswith(b"<") else unwrap_p7m(content)
        parsed = parse_notification(xml)
    except ValueError:
        parsed = None
    if parsed is not None:
        number = parsed.invoice_number
        result = result or parsed.esito
    if number is None and len(row.bodies) == 1:
        # An esito on the whole file of a single invoice answers that invoice.
        number = row.bodies[0].get("number")
    return number, result
