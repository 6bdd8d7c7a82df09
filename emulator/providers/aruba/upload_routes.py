"""§7 routes: ``POST /services/invoice/upload`` and ``POST /services/invoice/uploadSigned``.

Authentication comes first (401), then the body is read as Spring MVC reads a ``@RequestBody``
(``bodies.py``: 415, 400). Everything the synchronous checks refuse is an HTTP 200 with its
errorCode (``upload.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.aruba import bodies, upload

if TYPE_CHECKING:
    from emulator.providers.aruba.routes import ArubaApi


def install(bp: Blueprint, api: ArubaApi) -> None:
    """Add this area's routes, task handlers and SDI listeners."""
    sandbox = api.sandbox
    sandbox.tasks.register(upload.PROCESS_UPLOAD, upload.process_upload_handler(sandbox))

    @bp.post("/services/invoice/upload")
    def upload_invoice() -> Response:
        def call(session: Session, account: Account) -> Response:
            fields = body_fields("UploadRequest", "dataFile", "credential", "domain")
            result = upload.upload_invoice(
                sandbox,
                session,
                account,
                data_file=fields["dataFile"],
                credential=fields["credential"],
                domain=fields["domain"],
            )
            return json_response(result)

        return api.authenticated(call)

    @bp.post("/services/invoice/uploadSigned")
    def upload_signed_invoice() -> Response:
        def call(session: Session, account: Account) -> Response:
            fields = body_fields("UploadSignedRequest", "dataFile")
            return json_response(
                upload.upload_signed_invoice(sandbox, session, account, data_file=fields["dataFile"])
            )

        return api.authenticated(call)


def body_fields(type_name: str, *names: str) -> dict[str, str | None]:
    return bodies.request_fields(request.get_data(cache=True), request.content_type, type_name, *names)
