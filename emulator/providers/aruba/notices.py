"""Find notifications, on sent invoices (§11) and on received ones (§12): one implementation for both.

A notification is an SDI file the account has for one of its invoices: on a sent invoice the SDI's
messages to the supplier (RC, NS, MC, NE, AT, DT); on a received invoice the messages of the
customer's side (DT, SE, and the customer's own esito EC when kept as a recipient-side file).
``file`` is the SDI file itself, base64.

Decisions where the document is silent:

- The metadata file (MT) of a received invoice is not listed as a notification: it comes with the
  invoice rather than about it (the push callbacks announce it with createInvoice, not
  createNotification). It is in the invoice's zip and preservation package.
- getByInvoiceFilename / getByInvoiceId of an invoice the account does not have in that box is a
  404; an invoice with no notification yet answers ``count`` 0.
- Oldest first. A DT goes to both parties with the same file name: each box sees its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.errors import NotFound
from emulator.core.tenancy import Account
from emulator.providers.aruba.finding import find_invoice
from emulator.providers.aruba.models import ArubaInvoice
from emulator.providers.aruba.records import AUDIENCE, IN, notifications_of
from emulator.providers.aruba.views import notification_list_view, notification_view
from emulator.sdi.models import SdiNotification
from emulator.sdi.notifications import MessageType


def listed(row: ArubaInvoice) -> list[SdiNotification]:
    """The notifications the finds show for an invoice, oldest first."""
    return [n for n in notifications_of(row) if not (row.direction == IN and n.type == MessageType.MT.value)]


def get_by_filename(session: Session, account: Account, direction: str, filename: str) -> dict[str, Any]:
    """getByFilename (§11.1, §12.1): one notification by its own file name."""
    query = (
        select(SdiNotification, ArubaInvoice)
        .join(ArubaInvoice, ArubaInvoice.invoice_id == SdiNotification.invoice_id)
        .where(
            ArubaInvoice.account_id == account.id,
            ArubaInvoice.direction == direction,
            SdiNotification.audience == AUDIENCE[direction],
            SdiNotification.file_name == filename,
        )
        .order_by(SdiNotification.id)
        .limit(1)
    )
    if direction == IN:
        query = query.where(SdiNotification.type != MessageType.MT.value)
    found = session.execute(query).first()
    if found is None:
        raise NotFound(f"Notification not found: filename {filename}")
    notification, row = found
    return notification_view(notification, row)


def get_by_invoice_filename(
    session: Session, account: Account, direction: str, invoice_filename: str
) -> dict[str, Any]:
    """getByInvoiceFilename (§11.2, §12.2): every notification of one invoice."""
    row = find_invoice(session, account, direction, filename=invoice_filename)
    return notification_list_view([notification_view(n, row) for n in listed(row)])


def get_by_invoice_id(session: Session, account: Account, direction: str, invoice_id: int) -> dict[str, Any]:
    """getByInvoiceId (§11.3, §12.3): every notification of one invoice, by the invoice's id."""
    row = find_invoice(session, account, direction, invoice_id=invoice_id)
    return notification_list_view([notification_view(n, row) for n in listed(row)])
