"""A-Cube webhooks (contract ``webhooks:``): supplier-invoice, customer-invoice, customer-notification.

An A-Cube account that registered a callback URL (``PATCH /_sandbox/accounts/acube/<tenant>`` with
``callback_url`` and ``callback_api_key``, or the accounts file) gets a JSON POST
(``application/json; charset=UTF-8``; ``Authorization: <api key>`` exactly as registered, when one
is) for:

- ``supplier-invoice``: an invoice received from a supplier (type 1) landed in the account, with
  the SDI's MT; the body is the invoice as ``GET /invoices/{uuid}`` answers it in JSON;
- ``customer-invoice``: an invoice the account sent (type 0) changed: A-Cube handed it to the SDI
  (``invoice_sent``, marking "sent") and on each SDI notification of it (its new marking and the
  notification in its ``notifications``); the body is the invoice as ``GET /invoices/{uuid}``;
- ``customer-notification``: each SDI notification (NS, RC, MC, NE, DT, AT) on an invoice the
  account sent, as ``GET /notifications/{uuid}`` answers it (``notifications.notification_view``,
  with ``invoice_uuid``).

``POST /invoices/{uuid}/notify`` and ``POST /invoices/{uuid}/notifications/notify`` enqueue them
again, at the current virtual instant. Deliveries go through the core outbox
(``emulator.core.webhooks``): each is due at the virtual instant of what it reports; one that does
not get a 2xx is tried again, 15 attempts in all, with back-off: 300 virtual seconds after the
first attempt, then each wait doubles up to one hour (300, 600, 1200, 2400, 3600, ... s;
``RETRY_POLICIES["acube"]``). ``GET /_sandbox/callbacks?provider=acube`` shows them.

Decisions where the contract leaves a choice:
- "A-Cube calls the URL configured for each event": one URL is registered per account and each
  event goes to ``<callback_url>/<event>`` (``.../supplier-invoice``; a query string is kept), as
  Aruba's methods do.
- customer-invoice is sent on every SDI notification of a sent invoice, also when the marking stays
  the same (an AT after an MC is "not-delivered" both times): the resource changed all the same (its
  ``notifications``). customer-invoice goes before the customer-notification of the same notification.
- The body is the resource at the instant of the event, fixed when it is enqueued: retries send
  the same body, ``notify`` sends the resource as it is then.
- ``notify`` with no callback URL registered answers 200 and sends nothing (the real service has
  nowhere to send either); notifications/notify of a received invoice sends nothing (contract).

- A 2xx answer to a supplier-invoice delivery marks the invoice ``downloaded``, ``downloaded_at``
  the virtual instant of that attempt (``mark_downloaded``, run by the outbox as it records the
  answer); an invoice already downloaded keeps its first ``downloaded_at``. customer-invoice and
  customer-notification deliveries change nothing.

Limitations:
- The authentication header is always ``Authorization`` (A-Cube lets the user choose its name).
- The back-off is the sandbox's choice (A-Cube does not document its schedule): see
  ``RETRY_POLICIES["acube"]``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core import webhooks
from emulator.core.tenancy import Account
from emulator.providers.acube import notifications, records, service
from emulator.providers.acube.models import AcubeInvoice
from emulator.sdi.models import SdiNotification

if TYPE_CHECKING:
    from emulator.state import Sandbox

SUPPLIER_INVOICE = "supplier-invoice"
CUSTOMER_INVOICE = "customer-invoice"
CUSTOMER_NOTIFICATION = "customer-notification"
EVENTS = (SUPPLIER_INVOICE, CUSTOMER_INVOICE, CUSTOMER_NOTIFICATION)


# -- triggers ------------------------------------------------------------------------------------


def on_sdi_notification(sandbox: Sandbox, session: Session, notification: SdiNotification) -> None:
    """Engine listener (after records', which files received invoices): the events it causes."""
    invoice = notification.invoice
    if notification.audience == "recipient" and notification.type == "MT":
        row = _row(session, invoice.recipient_account_id, records.RECEIVED, invoice.id)
        if row is not None:
            supplier_invoice(sandbox, session, row, notification.emitted_at)
    elif notification.audience == "sender":
        row = _row(session, invoice.sender_account_id, records.SENT, invoice.id)
        if row is not None:
            customer_invoice(sandbox, session, row, notification.emitted_at)
            customer_notification(sandbox, session, row, notification, notification.emitted_at)


def invoice_sent(sandbox: Sandbox, session: Session, row: AcubeInvoice, at: datetime) -> None:
    """customer-invoice when A-Cube handed a sent invoice to the SDI (call it once ``row.invoice`` is set)."""
    if row.type == records.SENT and row.invoice is not None:
        customer_invoice(sandbox, session, row, at)


def notify_invoice(sandbox: Sandbox, session: Session, row: AcubeInvoice) -> None:
    """``POST /invoices/{uuid}/notify``: the invoice's event again, now."""
    now = sandbox.clock.now()
    if row.type == records.RECEIVED:
        supplier_invoice(sandbox, session, row, now)
    else:
        customer_invoice(sandbox, session, row, now)


def notify_notifications(sandbox: Sandbox, session: Session, row: AcubeInvoice) -> None:
    """``POST /invoices/{uuid}/notifications/notify``: customer-notification again for each, in order."""
    if row.type != records.SENT:
        return
    now = sandbox.clock.now()
    for notification in sorted(records.notifications_of(row), key=lambda n: (n.emitted_at, n.id)):
        customer_notification(sandbox, session, row, notification, now)


# -- the three events ----------------------------------------------------------------------------


def supplier_invoice(sandbox: Sandbox, session: Session, row: AcubeInvoice, at: datetime) -> None:
    body = service.invoice_view(row, sandbox.config.xsd_dir)
    _enqueue(sandbox, session, row.account_id, SUPPLIER_INVOICE, body, at)


def customer_invoice(sandbox: Sandbox, session: Session, row: AcubeInvoice, at: datetime) -> None:
    body = service.invoice_view(row, sandbox.config.xsd_dir)
    _enqueue(sandbox, session, row.account_id, CUSTOMER_INVOICE, body, at)


def customer_notification(
    sandbox: Sandbox, session: Session, row: AcubeInvoice, notification: SdiNotification, at: datetime
) -> None:
    body = notifications.notification_view(row, notification)
    _enqueue(sandbox, session, row.account_id, CUSTOMER_NOTIFICATION, body, at)


def mark_downloaded(session: Session, delivery: webhooks.WebhookDelivery, at: datetime) -> None:
    """Outbox callback: a supplier-invoice delivery got a 2xx, so the client has the invoice."""
    uuid = delivery.body.get("uuid")
    if delivery.account_id is None or not isinstance(uuid, str):
        return
    query = select(AcubeInvoice).where(
        AcubeInvoice.account_id == delivery.account_id,
        AcubeInvoice.uuid == uuid,
        AcubeInvoice.type == records.RECEIVED,
    )
    row = session.execute(query).scalars().first()
    if row is not None and not row.downloaded:
        row.downloaded, row.downloaded_at = True, at


# -- helpers -------------------------------------------------------------------------------------


def _row(session: Session, account_id: int | None, kind: int, invoice_id: int) -> AcubeInvoice | None:
    """The A-Cube invoice of this kind over this SDI invoice, in that account, when it is A-Cube's."""
    account = session.get(Account, account_id) if account_id is not None else None
    if account is None or account.provider != records.PROVIDER:
        return None
    query = records.owned_by(account).where(AcubeInvoice.type == kind, AcubeInvoice.invoice_id == invoice_id)
    row: AcubeInvoice | None = session.execute(query).scalars().first()
    return row


def _enqueue(
    sandbox: Sandbox, session: Session, account_id: int, event: str, body: dict[str, Any], at: datetime
) -> None:
    account = session.get(Account, account_id)
    if account is not None and account.provider == records.PROVIDER:
        webhooks.enqueue_to_account(session, sandbox.tasks, account, event, body, at)
