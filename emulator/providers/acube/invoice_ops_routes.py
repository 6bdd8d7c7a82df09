"""A-Cube routes of ``invoice_ops``: ``POST /invoices/convert``, ``/validate`` and ``/downloaded``.

The caller is authenticated before its body is read (a request without a token is 401 whatever it
carries). convert answers the other format with 200; validate 202 with no body; downloaded 200 with
no body (the page shows none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.errors import UnsupportedMediaType
from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.acube import invoice_ops, service

if TYPE_CHECKING:
    from emulator.providers.acube.routes import AcubeApi


def install(bp: Blueprint, api: AcubeApi) -> None:
    """Add this area's routes."""
    # routes imports this module: its helpers are looked up once it is loaded.
    from emulator.providers.acube import routes

    sandbox = api.sandbox
    xsd_dir = sandbox.config.xsd_dir

    @bp.post("/invoices/convert")
    def convert_invoice() -> Response:
        def call(_session: Session, _account: Account) -> Response:
            if request.mimetype in routes.XML_TYPES:
                converted = invoice_ops.json_of_xml(request.get_data(cache=True), xsd_dir)
                return json_response(converted)
            if request.mimetype == "application/json" or request.mimetype.endswith("+json"):
                xml = service.invoice_xml_of_json(routes.json_payload(), xsd_dir)
                return Response(xml, status=200, mimetype="application/xml")
            shown = request.content_type or "none"
            raise UnsupportedMediaType(
                f'The content-type "{shown}" is not supported. '
                'Supported MIME types are "application/json", "application/xml", "text/xml".'
            )

        return api.authenticated(call)

    @bp.post("/invoices/validate")
    def validate_invoice() -> Response:
        def call(_session: Session, account: Account) -> Response:
            invoice_ops.validate_invoice(sandbox, account, routes.invoice_body(xsd_dir))
            return Response(status=202)

        return api.authenticated(call)

    @bp.post("/invoices/downloaded")
    def set_downloaded() -> Response:
        def call(session: Session, account: Account) -> Response:
            invoice_ops.set_downloaded(sandbox, session, account, routes.json_payload())
            return Response(status=200)

        return api.authenticated(call)

