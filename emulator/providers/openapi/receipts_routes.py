"""Openapi.it IT-receipts routes: create, list, get (JSON or PDF), return (PATCH), void (DELETE).

Parse, call ``receipts``, wrap in Openapi's envelope. GET /IT-receipts/{id} answers a PDF when the
request's ``Content-Type`` is ``application/pdf`` (as the document says) or when its ``Accept``
prefers ``application/pdf`` over JSON (what HTTP clients usually send for a download).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.openapi import receipts as service
from emulator.providers.openapi.models import OpenapiConfiguration
from emulator.providers.openapi.receipt_pdf import render_receipt_pdf

if TYPE_CHECKING:
    from emulator.providers.openapi.routes import OpenapiApi

PDF = "application/pdf"


def ok(data: Any, message: str = "") -> Response:
    return json_response({"data": data, "success": True, "message": message, "error": None})


def wants_pdf() -> bool:
    if request.mimetype == PDF:
        return True
    accept = request.accept_mimetypes
    return PDF in accept.values() and accept.best_match(["application/json", PDF]) == PDF


def install(bp: Blueprint, api: OpenapiApi) -> None:
    """Add this area's routes and task handler."""
    from emulator.providers.openapi.routes import json_payload

    sandbox = api.sandbox
    sandbox.tasks.register(service.RECEIPT_STEP, service.step_handler(sandbox))

    @bp.post("/IT-receipts")
    def create_receipt() -> Response:
        def call(session: Session, account: Account) -> Response:
            row = service.create_receipt(sandbox, session, account, json_payload())
            return ok(service.show(session, row))

        return api.authenticated(call)

    @bp.get("/IT-receipts")
    def list_receipts() -> Response:
        return api.authenticated(
            lambda session, account: ok(service.list_receipts(session, account, request.args))
        )

    @bp.get("/IT-receipts/<receipt_id>")
    def get_receipt(receipt_id: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            row = service.get_receipt(session, account, receipt_id)
            shown = service.show(session, row)
            if not wants_pdf():
                return ok(shown)
            config = session.query(OpenapiConfiguration).filter_by(fiscal_id=row.fiscal_id).one_or_none()
            merchant = (
                str(config.document.get("name") or row.fiscal_id) if config is not None else row.fiscal_id
            )
            content = render_receipt_pdf(shown, merchant)
            disposition = f'attachment; filename="receipt-{row.public_id}.pdf"'
            return Response(content, mimetype=PDF, headers={"Content-Disposition": disposition})

        return api.authenticated(call)

    @bp.patch("/IT-receipts/<receipt_id>")
    def return_items(receipt_id: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            row = service.return_items(sandbox, session, account, receipt_id, json_payload())
            return ok(service.show(session, row))

        return api.authenticated(call)

    @bp.delete("/IT-receipts/<receipt_id>")
    def void_receipt(receipt_id: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            row = service.void_receipt(sandbox, session, account, receipt_id)
            return ok(service.show(session, row), f"voided receipt: {receipt_id}")

        return api.authenticated(call)
