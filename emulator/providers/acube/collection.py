"""A-Cube's invoice collection: ``GET /invoices`` and the filters it shares with drafts and the report.

The collection is a plain JSON array, 30 invoices a page, oldest first; ``page`` from 1.
``created_at[...]`` take a date (midnight, Rome time) or an ISO date-time (Rome time when it has no
offset); ``before``/``after`` include the instant, ``strictly_*`` do not. ``sender`` and
``recipient`` match a VAT number or a fiscal code, several comma-separated.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import Session

from emulator.core.clock import ROME
from emulator.core.errors import BadRequest
from emulator.core.tenancy import Account
from emulator.providers.acube import records
from emulator.providers.acube.models import AcubeInvoice
from emulator.providers.acube.service import invoice_view
from emulator.sdi.models import SdiInvoice

PAGE_SIZE = 30

DATE_FILTERS: dict[str, Callable[[Any, datetime], ColumnElement[bool]]] = {
    "before": operator.le,
    "strictly_before": operator.lt,
    "after": operator.ge,
    "strictly_after": operator.gt,
}


def list_invoices(
    session: Session, account: Account, args: Any, xsd_dir: Path | None = None
) -> list[dict[str, Any]]:
    page = _page(args.get("page"))
    query = records.owned_by(account).outerjoin(SdiInvoice, AcubeInvoice.invoice_id == SdiInvoice.id)
    kind = args.get("type")
    if kind is not None:
        if kind not in ("0", "1"):
            raise BadRequest(f'The value "{kind}" of "type" is not valid: use 0 or 1.')
        query = query.where(AcubeInvoice.type == int(kind))
    markings = [*args.getlist("marking"), *args.getlist("marking[]")]
    if markings:
        query = query.where(or_(*(records.marking_condition(m) for m in markings)))
    for name, vat, cf in (
        ("sender", AcubeInvoice.sender_vat, AcubeInvoice.sender_cf),
        ("recipient", AcubeInvoice.recipient_vat, AcubeInvoice.recipient_cf),
    ):
        value = args.get(name)
        if value:
            ids = [v.strip().upper() for v in value.split(",") if v.strip()]
            query = query.where(or_(vat.in_(ids), cf.in_(ids)))
    number = args.get("invoice_number")
    if number:
        query = query.where(AcubeInvoice.invoice_number == number)
    for key, compare in DATE_FILTERS.items():
        value = args.get(f"created_at[{key}]")
        if value is not None:
            query = query.where(compare(AcubeInvoice.created_at, _instant(f"created_at[{key}]", value)))
    query = query.order_by(AcubeInvoice.id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return [invoice_view(row, xsd_dir) for row in session.execute(query).scalars()]


def _page(value: str | None) -> int:
    if value is None:
        return 1
    if not (value.isascii() and value.isdigit()) or int(value) < 1 or len(value) > 9:
        raise BadRequest(f'The value "{value}" of "page" is not valid: use an integer from 1.')
    return int(value)


def _instant(name: str, value: str) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(), tzinfo=ROME)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ROME)
    except ValueError:
        raise BadRequest(f'The value "{value}" of "{name}" is not a date or date-time.') from None
    return moment
