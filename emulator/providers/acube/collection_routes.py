"""A-Cube's invoice collection: ``GET /invoices`` (JSON or a zip) and ``GET /invoices/report`` (JSON).

``/invoices/report`` is a static path, so Werkzeug prefers it to ``GET /invoices/<reference>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.acube import collection

if TYPE_CHECKING:
    from emulator.providers.acube.routes import AcubeApi

ZIP = "application/zip"
ZIP_NAME = "invoices.zip"


def install(bp: Blueprint, api: AcubeApi) -> None:
    """Add this area's routes."""
    from emulator.providers.acube.routes import JSON_TYPES, accept_one_of

    sandbox = api.sandbox

    @bp.get("/invoices")
    def list_invoices() -> Response:
        wanted = accept_one_of([*JSON_TYPES, ZIP])
        xsd_dir = sandbox.config.xsd_dir

        def call(session: Session, account: Account) -> Response:
            if wanted == ZIP:
                return Response(
                    collection.zip_invoices(session, account, request.args),
                    mimetype=ZIP,
                    headers={"Content-Disposition": f'attachment; filename="{ZIP_NAME}"'},
                )
            return json_response(collection.list_invoices(session, account, request.args, xsd_dir))

        return api.authenticated(call)

    @bp.get("/invoices/report")
    def invoice_report() -> Response:
        accept_one_of(JSON_TYPES)
        return api.authenticated(
            lambda session, account: json_response(collection.report(session, account, request.args))
        )
