"""Aruba push callbacks (§13): createInvoice, createNotification, updateInvoiceStatus, updateUsage.

An account that registered a callback URL (the "accreditation" of Aruba's web panel; in the sandbox
``PATCH /_sandbox/accounts/aruba/<tenant>`` with ``callback_url`` and ``callback_api_key``, or the
accounts file) gets a JSON POST (``application/json; charset=UTF-8``, ``Authorization: <api key>``
exactly as registered) for:

- createInvoice (§13.1): a received file lands in the account's box (with the SDI's MT), followed
  by updateUsage;
- createNotification (§13.2): each SDI notification on a file the account sent (``inOut`` "OUT":
  RC, NS, MC, NE, AT, DT) or received (``inOut`` "IN": DT, SE; the MT goes with createInvoice);
- updateInvoiceStatus (§13.3): a sent file became "Inviata" (then updateUsage) or "Errore
  Elaborazione" (``invoice_status_changed``, called by the upload processing);
- updateUsage (§13.4): after each file stored in the account's boxes, with userInfo's figures.

Deliveries go through the core outbox (``emulator.core.webhooks``): each is due at the virtual
instant of what it reports, and one that does not succeed (no 2xx) is tried 10 more times, 3
virtual hours apart. ``GET /_sandbox/callbacks`` shows them.

Decisions where the document is silent:
- The document names four methods that "a Web Service" of the user implements, and one endpoint per
  user: each method is a POST to the registered URL with the method's name appended as a path
  segment, ``<callback_url>/createInvoice`` (a query string of the URL is kept).
- ``notifyType`` is the SDI message type, the "SDI Notification Type" column of §8.1 without the
  esito in brackets: "NE" for both outcomes (the file itself says EC01 or EC02), as the ``docType``
  of the notification finders (§11). Notifications to a recipient that are not in that column (SE,
  the rejection of the account's own esito) are sent with their own SDI type. The account's own
  esito (EC, written by sendEsitoCommittente §10) is not a notification to it: no callback.
- ``invoiceXmlBase64`` is the received file as the SDI delivered it: a signed invoice is the .p7m,
  matching ``sdiInvoiceFileName``.
- username/countryCode/vatCode/fiscalCode: the account's username and the party of the invoice that
  is the account (the supplier of a sent file, the customer of a received one); what the invoice
  does not say comes from the account, as userInfo shows it. ``errorDescription`` is sent (null)
  with "Inviata" too, like ``sdiIdentification`` (null when the file never reached the SDI).
- ``maxSpaceKB`` and ``usedSpaceKB`` are strings, as §13.4 types them (userInfo has numbers).

Limitations:
- The endpoint may use any port (the document requires 80 for http and 443 for https), so that a
  client under test can listen on localhost; callbacks come from the sandbox's host, not from the
  four addresses of §13.
- Users connected by proxy to a Premium account do not exist in the sandbox: each account's own
  registration decides where its callbacks go.
- A callback is made when due work is processed: before the next request to the sandbox, when the
  clock is moved, or within a second by the ``serve`` command's ticker.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Blueprint
from sqlalchemy.orm import Session

from emulator.core import webhooks
from emulator.core.tenancy import Account
from emulator.providers.aruba import auth, records
from emulator.providers.aruba.models import ArubaInvoice
from emulator.providers.aruba.records import OUT, PROCESSING_ERROR, PROVIDER, SENT
from emulator.providers.aruba.views import b64
from emulator.sdi.models import SdiInvoice, SdiNotification
from emulator.sdi.notifications import MessageType

if TYPE_CHECKING:
    from emulator.providers.aruba.routes import ArubaApi
    from emulator.state import Sandbox

CREATE_INVOICE = "createInvoice"
CREATE_NOTIFICATION = "createNotification"
UPDATE_INVOICE_STATUS = "updateInvoiceStatus"
UPDATE_USAGE = "updateUsage"


def install(bp: Blueprint, api: ArubaApi) -> None:
    """The SDI listener (subscribed after records', which files received invoices first)."""
    sandbox = api.sandbox

    def listener(session: Session, notification: SdiNotification) -> None:
        on_sdi_notification(sandbox, session, notification)

    sandbox.engine.subscribe(listener)


# -- triggers ------------------------------------------------------------------------------------


def on_sdi_notification(sandbox: Sandbox, session: Session, notification: SdiNotification) -> None:
    """A file the SDI emitted for an invoice an Aruba account sent or received."""
    invoice = notification.invoice
    if notification.audience == "recipient":
        account = _registered(session, invoice.recipient_account_id)
        if account is None:
            return
        owner = _owner(account, invoice.customer_country, invoice.customer_vat, invoice.customer_cf)
        if notification.type == MessageType.MT.value:
            create_invoice(sandbox, session, account, owner, invoice, notification)
            update_usage(sandbox, session, account, notification.emitted_at)
        elif notification.type != MessageType.EC.value:
            create_notification(sandbox, session, account, owner, "IN", invoice, notification)
    elif notification.audience == "sender":
        account = _registered(session, invoice.sender_account_id)
        if account is None:
            return
        owner = _owner(account, invoice.supplier_country, invoice.supplier_vat, invoice.supplier_cf)
        create_notification(sandbox, session, account, owner, "OUT", invoice, notification)


def invoice_status_changed(sandbox: Sandbox, session: Session, row: ArubaInvoice, at: datetime) -> None:
    """updateInvoiceStatus (§13.3): a sent file became "Inviata" or "Errore Elaborazione" at ``at``.

    Call it once the row shows the new status (and, for "Inviata", once the SDI has the file).
    """
    account = _registered(session, row.account_id)
    if account is None or row.direction != OUT:
        return
    if row.invoice is not None or row.status == SENT:
        status = SENT
    elif row.status == PROCESSING_ERROR:
        status = PROCESSING_ERROR
    else:
        return
    sender: Mapping[str, Any] = row.sender or {}
    error = (row.status_description or PROCESSING_ERROR) if status == PROCESSING_ERROR else None
    owner = _owner(account, sender.get("countryCode"), sender.get("vatCode"), sender.get("fiscalCode"))
    body = {
        **owner,
        "invoiceFileName": row.filename,
        "sdiIdentification": str(row.invoice.sdi_id) if row.invoice is not None else None,
        "status": status,
        "errorDescription": error,
    }
    _enqueue(sandbox, session, account, UPDATE_INVOICE_STATUS, body, at)
    if status == SENT:
        update_usage(sandbox, session, account, at)


# -- the four calls ------------------------------------------------------------------------------


def create_invoice(
    sandbox: Sandbox,
    session: Session,
    account: Account,
    owner: dict[str, str],
    invoice: SdiInvoice,
    metadata: SdiNotification,
) -> None:
    """§13.1: a new received invoice, with its metadata file (MT)."""
    body = {
        **owner,
        "sdiIdentification": str(invoice.sdi_id),
        "sdiInvoiceFileName": invoice.file_name,
        "invoiceXmlBase64": b64(invoice.content),
        "sdiMetadataFileName": metadata.file_name,
        "metadataXmlBase64": b64(metadata.content),
    }
    _enqueue(sandbox, session, account, CREATE_INVOICE, body, metadata.emitted_at)


def create_notification(
    sandbox: Sandbox,
    session: Session,
    account: Account,
    owner: dict[str, str],
    in_out: str,
    invoice: SdiInvoice,
    notification: SdiNotification,
) -> None:
    """§13.2: a new notification on a sent ("OUT") or received ("IN") invoice."""
    body = {
        **owner,
        "inOut": in_out,
        "notifyType": notification.type,
        "sdiIdentification": str(invoice.sdi_id),
        "notifyFileName": notification.file_name,
        "notifyXmlBase64": b64(notification.content),
    }
    _enqueue(sandbox, session, account, CREATE_NOTIFICATION, body, notification.emitted_at)


def update_usage(sandbox: Sandbox, session: Session, account: Account, at: datetime) -> None:
    """§13.4: the storage the account uses, as userInfo counts it, in kilobytes (as strings)."""
    usage = auth.user_info(account, at, records.used_bytes(session, account))["usageStatus"]
    body = {
        "username": account.username,
        "maxSpaceKB": str(usage["maxSpaceKB"]),
        "usedSpaceKB": str(usage["usedSpaceKB"]),
    }
    _enqueue(sandbox, session, account, UPDATE_USAGE, body, at)


# -- helpers -------------------------------------------------------------------------------------


def _registered(session: Session, account_id: int | None) -> Account | None:
    """The Aruba account with this id, if it registered a callback URL."""
    account = session.get(Account, account_id) if account_id is not None else None
    if account is None or account.provider != PROVIDER or not account.profile.get("callback_url"):
        return None
    return account


def _owner(account: Account, country: str | None, vat: str | None, fiscal_code: str | None) -> dict[str, str]:
    """The user fields every call but updateUsage starts with: the account as the invoice names it."""
    own_vat = account.vat_numbers[0] if account.vat_numbers else ""
    own_fiscal = account.fiscal_codes[0] if account.fiscal_codes else own_vat
    return {
        "username": account.username,
        "countryCode": country or "IT",
        "vatCode": vat or own_vat,
        "fiscalCode": fiscal_code or vat or own_fiscal,
    }


def _enqueue(
    sandbox: Sandbox, session: Session, account: Account, method: str, body: dict[str, Any], at: datetime
) -> None:
    webhooks.enqueue_to_account(session, sandbox.tasks, account, method, body, at)
