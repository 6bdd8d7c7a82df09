"""A-Cube webhook routes: ``POST /invoices/{uuid}/notify`` and ``POST /invoices/{uuid}/notifications/notify``.

Both answer 200 with no body (the page shows none) and enqueue the events again (see ``webhooks``);
an invoice the account does not have is 404. ``install`` also subscribes the webhooks' SDI listener,
after records' (which files received invoices first), and registers with the outbox what a
delivered supplier-invoice does (``webhooks.mark_downloaded``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from emulator.core import webhooks as core_webhooks
from emulator.core.tenancy import Account
from emulator.providers.acube import records, service, webhooks
from emulator.sdi.models import SdiNotification

if TYPE_CHECKING:
    from emulator.providers.acube.routes import AcubeApi


def install(bp: Blueprint, api: AcubeApi) -> None:
    """Add this area's routes and the SDI listener of the webhooks."""
    sandbox = api.sandbox

    def listener(session: Session, notification: SdiNotification) -> None:
        webhooks.on_sdi_notification(sandbox, session, notification)

    sandbox.engine.subscribe(listener)
    core_webhooks.on_delivered(sandbox, records.PROVIDER, webhooks.SUPPLIER_INVOICE, webhooks.mark_downloaded)

    @bp.post("/invoices/<reference>/notify")
    def notify_invoice(reference: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            webhooks.notify_invoice(sandbox, session, service.get_invoice(session, account, reference))
            return Response(status=200)

        return api.authenticated(call)

    @bp.post("/invoices/<reference>/notifications/notify")
    def notify_notifications(reference: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            webhooks.notify_notifications(sandbox, session, service.get_invoice(session, account, reference))
            return Response(status=200)

        return api.authenticated(call)
