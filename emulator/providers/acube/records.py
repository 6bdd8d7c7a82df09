"""How a file becomes an ``AcubeInvoice``, what ``marking`` it shows, and how the collection filters.

``marking`` is derived from the SDI's state whenever it is read (DOMAIN.md's mapping): a sent
invoice is "waiting" until A-Cube hands it to the SDI, then "sent", then "rejected" (NS),
"delivered" / "delivered-pa" (RC, B2B / PA), "not-delivered" (MC, and AT after it), "accepted-pa" /
"rejected-pa" (NE EC01 / EC02) or "deadline-terms" (DT). A received invoice (type 1) is "delivered".

Limitations: "quarantena" and "invoice-error" are never shown: the sandbox refuses invalid input
with a 400 at ``POST /invoices`` and hands everything else to the SDI, which decides with an NS.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from emulator.core.clock import ROME
from emulator.core.ids import IdFactory
from emulator.core.tenancy import Account
from emulator.providers.acube.models import AcubeInvoice
from emulator.sdi.engine import delivered_to
from emulator.sdi.fatturapa import ParsedInvoice, parse_invoice_or_none
from emulator.sdi.lifecycle import Flow, State
from emulator.sdi.models import SdiInvoice, SdiNotification

PROVIDER = "acube"
SENT, RECEIVED = 0, 1
WAITING = "waiting"
DELIVERED = "delivered"
# (SDI state, flow or None for both) -> marking of a sent invoice.
MARKING_BY_STATE: dict[tuple[State, Flow | None], str] = {
    (State.RECEIVED, None): "sent",
    (State.REJECTED, None): "rejected",
    (State.DELIVERED, Flow.B2B): DELIVERED,
    (State.DELIVERED, Flow.PA): "delivered-pa",
    (State.NOT_DELIVERED, None): "not-delivered",
    (State.UNDELIVERABLE, None): "not-delivered",
    (State.ACCEPTED, None): "accepted-pa",
    (State.REFUSED, None): "rejected-pa",
    (State.EXPIRED, None): "deadline-terms",
}
MARKINGS = (
    "draft", WAITING, "sent", "rejected", DELIVERED, "delivered-pa", "not-delivered",
    "accepted-pa", "rejected-pa", "deadline-terms", "quarantena", "invoice-error",
)  # fmt: skip
# A sent invoice's notifications are the supplier's ("sender"), a received one's the recipient's.
AUDIENCE = {SENT: "sender", RECEIVED: "recipient"}
NOTIFICATION_NAMESPACE = uuid.UUID("6f6b1d8e-55a3-4c1e-9d0a-acbe00000001")


def marking_of(row: AcubeInvoice) -> str:
    if row.type == RECEIVED:
        return DELIVERED
    if row.invoice is None:
        return WAITING
    state, flow = State(row.invoice.state), Flow(row.invoice.flow)
    return MARKING_BY_STATE.get((state, flow)) or MARKING_BY_STATE[(state, None)]


def marking_condition(marking: str) -> ColumnElement[bool]:
    """The SQL form of ``marking_of(row) == marking`` (the query joins ``SdiInvoice`` outer)."""
    options: list[ColumnElement[bool]] = []
    if marking == WAITING:
        options.append(and_(AcubeInvoice.type == SENT, AcubeInvoice.invoice_id.is_(None)))
    if marking == DELIVERED:
        options.append(AcubeInvoice.type == RECEIVED)
    for (state, flow), value in MARKING_BY_STATE.items():
        if value != marking:
            continue
        condition = and_(AcubeInvoice.type == SENT, SdiInvoice.state == state.value)
        if flow is not None:
            condition = and_(condition, SdiInvoice.flow == flow.value)
        options.append(condition)
    return or_(*options) if options else false()


def notifications_of(row: AcubeInvoice) -> list[SdiNotification]:
    if row.invoice is None:
        return []
    return [n for n in row.invoice.notifications if n.audience == AUDIENCE[row.type]]


def notification_uuid(notification: SdiNotification) -> str:
    """A stable uuid for an SDI notification (A-Cube names notifications by uuid)."""
    return str(uuid.uuid5(NOTIFICATION_NAMESPACE, f"{notification.id}/{notification.message_id}"))


def owned_by(account: Account) -> Any:
    return select(AcubeInvoice).where(AcubeInvoice.account_id == account.id)


def find(session: Session, account: Account, reference: str) -> AcubeInvoice | None:
    query = owned_by(account).where(AcubeInvoice.uuid == reference)
    row: AcubeInvoice | None = session.execute(query).scalar_one_or_none()
    return row


def rome(moment: datetime | None) -> str | None:
    return moment.astimezone(ROME).isoformat(timespec="seconds") if moment is not None else None


def describe(row: AcubeInvoice, parsed: ParsedInvoice) -> None:
    """Copy parties, number, date, type and format onto the row (the filters run on these)."""
    supplier, customer = parsed.supplier, parsed.customer
    row.sender_name, row.sender_country = supplier.name, supplier.country
    row.sender_vat = _upper(supplier.vat)
    row.sender_cf = _upper(supplier.fiscal_code)
    row.recipient_name, row.recipient_country = customer.name, customer.country
    row.recipient_vat = _upper(customer.vat)
    row.recipient_cf = _upper(customer.fiscal_code)
    body = parsed.first_body
    if body is not None:
        row.invoice_number = body.number[:20] if body.number else None
        row.invoice_date = body.date
        row.document_type = body.document_type
        row.stamp = body.stamp
    row.transmission_format = parsed.transmission_format
    row.to_pa = parsed.is_pa


def _upper(value: str | None) -> str | None:
    return value.upper() if value else None


# -- received invoices ---------------------------------------------------------------------------


def on_sdi_notification(ids: IdFactory) -> Any:
    """Engine listener: the MT that goes with a delivery files the invoice as received (type 1)."""

    def listener(session: Session, notification: SdiNotification) -> None:
        account = delivered_to(session, notification, PROVIDER)
        if account is None:
            return
        invoice = notification.invoice
        existing = session.execute(
            owned_by(account).where(AcubeInvoice.type == RECEIVED, AcubeInvoice.invoice_id == invoice.id)
        ).scalar_one_or_none()
        if existing is None:
            record_received(session, ids, account, invoice, notification.emitted_at)

    return listener


def record_received(
    session: Session, ids: IdFactory, account: Account, invoice: SdiInvoice, at: datetime
) -> AcubeInvoice:
    row = AcubeInvoice(
        uuid=ids.guid(),
        account_id=account.id,
        type=RECEIVED,
        invoice=invoice,
        file_name=invoice.file_name,
        xml=invoice.xml or invoice.content,
        created_at=at,
        downloaded=False,
    )
    parsed = parse_invoice_or_none(invoice.xml)
    if parsed is not None:
        describe(row, parsed)
    session.add(row)
    session.flush()
    return row

