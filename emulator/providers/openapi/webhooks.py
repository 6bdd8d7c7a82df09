"""Openapi.it webhooks: the callbacks of an IT-configuration's ``api_configurations``.

The invoice and receipt modules call ``invoice_changed`` / ``receipt_changed`` at every change;
this module finds the configuration of the row's company (``fiscal_id``), the ``callback`` set for
the event, and enqueues one delivery through the core outbox (``emulator.core.webhooks``,
provider ``openapi``; ``GET /_sandbox/callbacks?provider=openapi`` shows them).

Events: ``customer-invoice`` for an outgoing invoice (every ``state`` / ``details.sdi_status``
change: NEW/BOOKED, SENT/SENT, then DONE or ERROR), ``supplier-invoice`` for an incoming one (its
arrival, RECEIVED); ``receipt``, ``receipt-retry``, ``receipt-error``, ``receipt-credentials`` as
the receipts module reports them (the configurations module stores the underscore spellings of the
document's own example, ``customer_invoice`` / ``supplier_invoice``, hyphenated).

The payload (decided from the receipt callbacks' examples, whose value is
``{"data": <receipt>, "custom": ...}``): ``{"data": <the resource as GET shows it>, "custom":
<callback.custom or null>}``; for invoices the resource is ``InvoiceResponse`` (with ``state`` and
``details.sdi_status``), for receipts the receipt (``ResponseCallbackReceipts`` /
``ResponseReturnReceiptCallback`` / ``ResponseVoidReceiptCallback``). The resource is fixed when the
change happens: retries send the same body. A ``callback.data`` object (not in the document's
Callback schema, accepted all the same) is merged into the payload's top level without replacing
``data`` or ``custom``.

Callback options:
- ``method`` ``JSON`` (default): the payload as ``application/json``; ``POST``: an
  ``application/x-www-form-urlencoded`` body whose one field (``field``, default ``data``) holds the
  payload as JSON (the core outbox encodes form bodies by the delivery's Content-Type);
- ``headers``: sent as given (names and values as strings); they cannot replace Content-Type;
- ``retry``: how many more attempts after a failed one (the document says ``maximum 5`` and
  ``default 0``; values are clamped to 0..5, anything not an integer counts as 0), 60 virtual
  seconds apart — the webhook tick.

Timing: "webhooks are triggered every 60 seconds": a change at instant ``t`` is delivered at the
first tick strictly after ``t``, ticks being the whole minutes of the virtual clock (UTC). With the
booking → SENT step within 60 s, the first notification comes within ~120 s of the booking, as the
document says. Changes within one tick are delivered in the order they happened.

Limitations:
- Any non-2xx answer, refused connection or timeout counts as a failure (the document retries
  only "specific status codes"); the endpoint has the outbox's 5 s, not the document's 30 s.
- A delivery keeps the URL, headers and retries it was created with: a later PATCH of the
  configuration affects later changes only.
- Imported invoices fire no event (the client already holds them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core import webhooks
from emulator.core.tenancy import Account
from emulator.providers.openapi import configurations, invoices
from emulator.providers.openapi.models import OpenapiConfiguration, OpenapiInvoice, OpenapiReceipt

if TYPE_CHECKING:
    from emulator.providers.openapi.routes import OpenapiApi
    from emulator.state import Sandbox

PROVIDER = "openapi"
CUSTOMER_INVOICE = "customer-invoice"
SUPPLIER_INVOICE = "supplier-invoice"
RECEIPT_EVENTS = ("receipt", "receipt-retry", "receipt-error", "receipt-credentials")
EVENTS = (CUSTOMER_INVOICE, SUPPLIER_INVOICE, *RECEIPT_EVENTS)
TICK = timedelta(seconds=60)
MAX_RETRY = 5
FORM_CONTENT_TYPE = webhooks.FORM_CONTENT_TYPE
JSON_CONTENT_TYPE = webhooks.JSON_CONTENT_TYPE


def install(bp: Blueprint, api: OpenapiApi) -> None:
    """Nothing to add: deliveries run on the core outbox's task."""


def invoice_changed(sandbox: Sandbox, session: Session, row: OpenapiInvoice, at: datetime) -> None:
    """An invoice got a new ``state`` / ``details.sdi_status`` (or arrived) at ``at``."""
    if row.imported:
        return
    event = CUSTOMER_INVOICE if row.direction == "outgoing" else SUPPLIER_INVOICE
    _enqueue(sandbox, session, row.account_id, row.fiscal_id, event, invoices.invoice_view(row), at)


def receipt_changed(
    sandbox: Sandbox, session: Session, row: OpenapiReceipt, event: str, at: datetime
) -> None:
    """A receipt event (``receipt``, ``receipt-retry``, ``receipt-error``, ...) at ``at``."""
    _enqueue(sandbox, session, row.account_id, row.fiscal_id, event, receipt_view(session, row), at)


def next_tick(at: datetime) -> datetime:
    """The first whole virtual minute strictly after ``at``."""
    instant = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    seconds = int(instant.timestamp()) // 60 * 60 + 60
    return datetime.fromtimestamp(seconds, tz=UTC)


def callback_of(config: OpenapiConfiguration, event: str) -> dict[str, Any] | None:
    """The callback configured for ``event``, when it has a URL."""
    callback = configurations.callbacks_for(config, event)
    if callback is not None and isinstance(callback.get("url"), str):
        return callback
    return None


def delivery_parts(
    callback: dict[str, Any], resource: dict[str, Any]
) -> tuple[dict[str, str], dict[str, Any], webhooks.RetryPolicy]:
    """Headers, body (before encoding) and retry policy of one delivery of ``resource``."""
    payload: dict[str, Any] = {"data": resource, "custom": callback.get("custom")}
    extra = callback.get("data")
    if isinstance(extra, dict):
        for key, value in extra.items():
            payload.setdefault(str(key), value)
    form = str(callback.get("method") or "JSON").upper() == "POST"
    headers: dict[str, str] = {"Content-Type": FORM_CONTENT_TYPE if form else JSON_CONTENT_TYPE}
    given = callback.get("headers")
    if isinstance(given, dict):
        for name, value in given.items():
            if str(name).lower() != "content-type" and value is not None:
                headers[str(name)] = str(value)
    if form:
        field = callback.get("field")
        body: dict[str, Any] = {field if isinstance(field, str) and field else "data": payload}
    else:
        body = payload
    return headers, body, webhooks.RetryPolicy(retries=_retries(callback.get("retry")), interval=TICK)


def _retries(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(0, min(MAX_RETRY, value))


def _enqueue(
    sandbox: Sandbox,
    session: Session,
    account_id: int,
    fiscal_id: str,
    event: str,
    resource: dict[str, Any],
    at: datetime,
) -> None:
    account = session.get(Account, account_id)
    config = session.execute(
        select(OpenapiConfiguration).where(
            OpenapiConfiguration.fiscal_id == fiscal_id, OpenapiConfiguration.account_id == account_id
        )
    ).scalar_one_or_none()
    if account is None or config is None:
        return
    callback = callback_of(config, event)
    if callback is None:
        return
    try:
        url = webhooks.check_callback_url(callback["url"])
    except ValueError:
        return
    headers, body, policy = delivery_parts(callback, resource)
    webhooks.enqueue(
        session,
        sandbox.tasks,
        provider=PROVIDER,
        tenant=account.tenant,
        account_id=account.id,
        event=event,
        url=url,
        headers=headers,
        body=body,
        at=next_tick(at),
        policy=policy,
    )


# -- the resources -------------------------------------------------------------------------------


def receipt_view(session: Session, row: OpenapiReceipt) -> dict[str, Any]:
    """The receipt as ``GET /IT-receipts/{id}`` shows it."""
    # Imported here: the receipts module imports this one.
    from emulator.providers.openapi import receipts

    return receipts.show(session, row)
