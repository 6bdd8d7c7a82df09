"""The rows of an account's boxes: how a file becomes an ``ArubaInvoice`` and what status it shows.

Statuses of sent files (§8.1): Aruba's own three before and at hand-over to the SDI, then the SDI's
lifecycle. Received files have no documented status list; the document's examples always show
"Inviata", so that is what a received file shows until the account sends its esito (EC01 →
"Accettata", EC02 → "Rifiutata") or the SDI's terms run out ("Decorrenza Termini").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from emulator.core.ids import IdFactory
from emulator.core.store import next_value
from emulator.core.tenancy import Account
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.engine import delivered_to
from emulator.sdi.fatturapa import (
    ParsedInvoice,
    Party,
    parse_invoice_or_none,
)
from emulator.sdi.lifecycle import State
from emulator.sdi.models import SdiInvoice, SdiNotification

PROVIDER = "aruba"
OUT, IN = "out", "in"
TAKEN_IN_CHARGE = "Presa in carico"
PROCESSING_ERROR = "Errore Elaborazione"
SENT = "Inviata"
# The storage a sandbox account has bought (userInfo.usageStatus.maxSpaceKB): 1 GB, as the example.
MAX_SPACE_KB = 1_048_576
# §8.1: status -> status code.
STATUS_CODES: dict[str, int] = {
    TAKEN_IN_CHARGE: 1,
    PROCESSING_ERROR: 2,
    SENT: 3,
    "Scartata": 4,
    "Non Consegnata": 5,
    "Recapito Impossibile": 6,
    "Consegnata": 7,
    "Accettata": 8,
    "Rifiutata": 9,
    "Decorrenza Termini": 10,
}
SENT_STATUS_BY_STATE: dict[State, str] = {
    State.RECEIVED: SENT,
    State.REJECTED: "Scartata",
    State.NOT_DELIVERED: "Non Consegnata",
    State.UNDELIVERABLE: "Recapito Impossibile",
    State.DELIVERED: "Consegnata",
    State.ACCEPTED: "Accettata",
    State.REFUSED: "Rifiutata",
    State.EXPIRED: "Decorrenza Termini",
}
ESITO_STATUS = {"EC01": "Accettata", "EC02": "Rifiutata"}
# Received files: the SDI states that end the wait for an esito.
RECEIVED_STATUS_BY_STATE: dict[str, str] = {
    State.ACCEPTED.value: "Accettata",
    State.REFUSED.value: "Rifiutata",
    State.EXPIRED.value: "Decorrenza Termini",
}
# Sent files are audience "sender" at the SDI, received ones "recipient".
AUDIENCE = {OUT: "sender", IN: "recipient"}


def status_of(row: ArubaInvoice) -> str:
    if row.direction == OUT:
        if row.invoice is None:
            return row.status
        return SENT_STATUS_BY_STATE[State(row.invoice.state)]
    if row.esito in ESITO_STATUS:
        return ESITO_STATUS[row.esito]
    if row.invoice is not None and row.invoice.state in RECEIVED_STATUS_BY_STATE:
        # The SDI's outcome also when the esito did not come through this box (a forced NE).
        return RECEIVED_STATUS_BY_STATE[row.invoice.state]
    return row.status


def notifications_of(row: ArubaInvoice) -> list[SdiNotification]:
    """The SDI files the account has for this invoice, oldest first (the MT of a received one too)."""
    if row.invoice is None:
        return []
    return [n for n in row.invoice.notifications if n.audience == AUDIENCE[row.direction]]


def last_update(row: ArubaInvoice) -> datetime:
    moments = [row.updated_at, *(n.emitted_at for n in notifications_of(row))]
    if row.esito_at is not None:
        moments.append(row.esito_at)
    return max(moments)


def used_bytes(session: Session, account: Account) -> int:
    """The size of every file in the account's boxes, sent and received (userInfo, 0097, updateUsage)."""
    total = session.execute(
        select(func.coalesce(func.sum(func.length(ArubaInvoice.content)), 0)).where(
            ArubaInvoice.account_id == account.id
        )
    ).scalar_one()
    return int(total)


def max_space_kb(account: Account) -> int:
    """The storage the account has bought: 1 GB as userInfo's example, unless its profile says otherwise."""
    try:
        return int(account.profile.get("max_space_kb", MAX_SPACE_KB))
    except (TypeError, ValueError):
        return MAX_SPACE_KB


def next_invoice_id(session: Session, ids: IdFactory) -> int:
    return next_value(session, "aruba_invoice_id", start=ids.randint(3_000_000, 4_000_000))


def company(party: Party) -> dict[str, Any]:
    """The document's ``Company`` object."""
    return {
        "description": party.name,
        "countryCode": party.country,
        "vatCode": party.vat,
        "fiscalCode": party.fiscal_code,
    }


def bodies_of(parsed: ParsedInvoice) -> list[dict[str, Any]]:
    return [{"number": body.number, "date": body.date} for body in parsed.bodies]


def describe_file(row: ArubaInvoice, parsed: ParsedInvoice) -> None:
    """Copy what the lists show (parties, format, number and date of each body) onto the row."""
    row.invoice_type = parsed.versione.upper()
    row.sender = company(parsed.supplier)
    row.receiver = company(parsed.customer)
    row.bodies = bodies_of(parsed)


def owned_by(account: Account, direction: str) -> Select[ArubaInvoice]:
    return select(ArubaInvoice).where(
        ArubaInvoice.account_id == account.id, ArubaInvoice.direction == direction
    )


# -- received files ------------------------------------------------------------------------------


def on_sdi_notification(ids: IdFactory) -> Any:
    """Engine listener: the MT that goes with a delivery puts the file in the recipient's box."""

    def listener(session: Session, notification: SdiNotification) -> None:
        account = delivered_to(session, notification, PROVIDER)
        if account is None or received_row(session, account, notification.invoice) is not None:
            return
        record_received(session, ids, account, notification.invoice, notification.emitted_at)

    return listener


def received_row(session: Session, account: Account, invoice: SdiInvoice) -> ArubaInvoice | None:
    query = owned_by(account, IN).where(ArubaInvoice.invoice_id == invoice.id)
    row: ArubaInvoice | None = session.execute(query).scalar_one_or_none()
    return row


def record_received(
    session: Session, ids: IdFactory, account: Account, invoice: SdiInvoice, at: datetime
) -> ArubaInvoice:
    row = ArubaInvoice(
        id=next_invoice_id(session, ids),
        account_id=account.id,
        direction=IN,
        filename=invoice.file_name,
        content=invoice.content,
        invoice_id=invoice.id,
        status=SENT,
        created_at=at,
        updated_at=at,
        invoice=invoice,
    )
    parsed = parse_invoice_or_none(invoice.xml)
    if parsed is not None:
        describe_file(row, parsed)
    session.add(row)
    session.flush()
    return row

