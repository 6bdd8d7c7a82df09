"""Openapi.it IT-invoices routes: list, get, create/send, import, validate.

The services are ``invoices`` (list, get, send) and ``intake`` (import, validate).

``install`` also registers the send task and the SDI listener that moves sent invoices and files
received ones.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.openapi import invoices
from emulator.providers.openapi.errors import OpenapiError

if TYPE_CHECKING:
    from emulator.providers.openapi.routes import OpenapiApi


def _ok(data: Any) -> Response:
    return json_response({"data": data, "success": True, "message": "", "error": None})


def _intake(name: str) -> Any:
    """A function of the intake module (import / validate), 404 while it is not there."""
    try:
        module = importlib.import_module("emulator.providers.openapi.intake")
    except ImportError:
        module = None
    function = getattr(module, name, None)
    if function is None:
        raise OpenapiError("Not found", status=404)
    return function


def install(bp: Blueprint, api: OpenapiApi) -> None:
    """Add this area's routes, task handlers and SDI listeners."""
    sandbox = api.sandbox
    sandbox.tasks.register(invoices.SEND_INVOICE, invoices.send_invoice_handler(sandbox))
    sandbox.engine.subscribe(invoices.on_sdi_notification(sandbox))

    @bp.get("/IT-invoices")
    def list_invoices() -> Response:
        def call(session: Session, account: Account) -> Response:
            rows = invoices.list_invoices(session, account, request.args)
            return _ok([invoices.invoice_view(row) for row in rows])

        return api.authenticated(call)

    @bp.get("/IT-invoices/<invoice_id>")
    def get_invoice(invoice_id: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            return _ok(invoices.invoice_view(invoices.get_invoice(session, account, invoice_id)))

        return api.authenticated(call)

    @bp.post("/IT-invoices")
    def create_invoice() -> Response:
        def call(session: Session, account: Account) -> Response:
            row = invoices.create_invoice(
                sandbox,
                session,
                account,
                request.get_data(cache=True),
                request.content_type,
                request.headers.get("X-Signature-User"),
                request.headers.get("X-Signature-Password"),
            )
            return _ok(invoices.invoice_view(row))

        return api.authenticated(call)

    @bp.post("/IT-invoices_import")
    def import_invoice() -> Response:
        def call(session: Session, account: Account) -> Response:
            function = _intake("import_invoice")
            data = request.get_data(cache=True)
            body = function(sandbox, session, account, data, request.content_type or "")
            return json_response(body)

        return api.authenticated(call)

    @bp.post("/IT-invoices_validate")
    def validate_invoice() -> Response:
        def call(session: Session, account: Account) -> Response:
            function = _intake("validate_invoice")
            data = request.get_data(cache=True)
            status, body = function(sandbox, session, account, data, request.content_type or "")
            return json_response(body, status=status)

        return api.authenticated(call)
