"""A-Cube's single invoice: ``GET /invoices/{id}`` (JSON, XML, HTML, PDF, the raw file), its attachments
and ``PUT /invoices/{id}/archive-rejected``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.acube import documents, preservation_routes, service

if TYPE_CHECKING:
    from emulator.providers.acube.routes import AcubeApi

PRINTED_TYPES = [documents.HTML, documents.PDF]


def install(bp: Blueprint, api: AcubeApi) -> None:
    """Add this area's routes, and legal storage's (``preservation_routes``) with them."""
    from emulator.providers.acube.routes import JSON_TYPES, RAW_TYPES, XML_TYPES, accept_one_of

    sandbox = api.sandbox
    preservation_routes.install(bp, api)

    @bp.get("/invoices/<reference>")
    def get_invoice(reference: str) -> Response:
        return api.authenticated(lambda session, account: invoice_response(session, account, reference))

    def invoice_response(session: Session, account: Account, reference: str) -> Response:
        wanted = accept_one_of(JSON_TYPES + XML_TYPES + PRINTED_TYPES + RAW_TYPES)
        row = service.get_invoice(session, account, reference)
        if wanted in XML_TYPES:
            return Response(row.xml, mimetype="application/xml")
        if wanted in RAW_TYPES:
            return Response(documents.raw_file(row), mimetype="application/octet-stream")
        if wanted in PRINTED_TYPES:
            printed = documents.printed(
                row,
                wanted,
                request.headers.get("X-PrintTheme"),
                request.args.get("dynamic[head-notes]"),
                request.args.get("dynamic[foot-notes]"),
            )
            response = Response(printed.content, mimetype=printed.mimetype)
            response.headers["Content-Disposition"] = documents.content_disposition(
                "inline", printed.file_name
            )
            return response
        return json_response(service.invoice_view(row, sandbox.config.xsd_dir))

    @bp.get("/invoices/<reference>/attachments/<index>")
    def get_attachment(reference: str, index: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            found = documents.attachment(session, account, reference, index)
            response = Response(found.content, mimetype=found.mimetype)
            response.headers["Content-Disposition"] = documents.content_disposition(
                "attachment", found.file_name
            )
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response

        return api.authenticated(call)

    @bp.put("/invoices/<reference>/archive-rejected")
    def archive_rejected(reference: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            documents.archive_rejected(session, account, reference, sandbox.clock.now())
            return Response(status=204)

        return api.authenticated(call)
