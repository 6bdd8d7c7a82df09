"""A-Cube notification routes and the sandbox simulation calls (service: ``notifications.py``).

``GET /invoices/{uuid}/notifications`` (JSON), ``GET /notifications/{uuid}`` (JSON, or the SDI
XML file with ``Accept: application/xml``), ``POST /simulate/invoices/{uuid}/notifications`` and
``POST /simulate/supplier-invoices`` (201).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.acube import notifications

if TYPE_CHECKING:
    from emulator.providers.acube.routes import AcubeApi


def install(bp: Blueprint, api: AcubeApi) -> None:
    """Add this area's routes, task handlers and SDI listeners."""
    # routes imports this module: its helpers are read once it is loaded.
    from emulator.providers.acube.routes import JSON_TYPES, XML_TYPES, accept_one_of, json_payload

    sandbox = api.sandbox

    @bp.get("/invoices/<reference>/notifications")
    def list_invoice_notifications(reference: str) -> Response:
        accept_one_of(JSON_TYPES)
        return api.authenticated(
            lambda session, account: json_response(
                notifications.list_notifications(session, account, reference)
            )
        )

    @bp.get("/notifications/<reference>")
    def get_notification(reference: str) -> Response:
        wanted = accept_one_of(JSON_TYPES + XML_TYPES)

        def call(session: Session, account: Account) -> Response:
            row, notification = notifications.find_notification(session, account, reference)
            if wanted in XML_TYPES:
                return Response(notifications.notification_xml(notification), mimetype="application/xml")
            return json_response(notifications.notification_view(row, notification))

        return api.authenticated(call)

    @bp.post("/simulate/invoices/<reference>/notifications")
    def simulate_notification(reference: str) -> Response:
        # As API Platform: authentication (401), then the invoice (404), then the body (415, 400).
        return api.authenticated(
            lambda session, account: json_response(
                notifications.simulate_notification(sandbox, session, account, reference, json_payload),
                status=201,
            )
        )

    @bp.post("/simulate/supplier-invoices")
    def simulate_supplier_invoice() -> Response:
        return api.authenticated(
            lambda session, account: json_response(
                notifications.simulate_supplier_invoice(sandbox, session, account, json_payload()),
                status=201,
            )
        )
