"""A-Cube's single invoice: ``GET /invoices/{id}`` as JSON, XML or the file sent to the SDI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.acube import service

if TYPE_CHECKING:
    from emulator.providers.acube.routes import AcubeApi


def install(bp: Blueprint, api: AcubeApi) -> None:
    """Add this area's routes."""
    from emulator.providers.acube.routes import JSON_TYPES, RAW_TYPES, XML_TYPES, accept_one_of

    sandbox = api.sandbox

    @bp.get("/invoices/<reference>")
    def get_invoice(reference: str) -> Response:
        return api.authenticated(lambda session, account: invoice_response(session, account, reference))

    def invoice_response(session: Session, account: Account, reference: str) -> Response:
        wanted = accept_one_of(JSON_TYPES + XML_TYPES + RAW_TYPES)
        row = service.get_invoice(session, account, reference)
        if wanted in XML_TYPES:
            return Response(row.xml, mimetype="application/xml")
        if wanted in RAW_TYPES:
            raw = row.invoice.content if row.invoice is not None else row.xml
            return Response(raw, mimetype="application/octet-stream")
        return json_response(service.invoice_view(row, sandbox.config.xsd_dir))
