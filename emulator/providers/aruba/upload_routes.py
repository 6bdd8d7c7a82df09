"""§7 routes: ``POST /services/invoice/upload`` and ``POST /services/invoice/uploadSigned``.

Authentication comes first (401), then the body is read as Spring MVC reads a ``@RequestBody``:
a content type other than JSON is a 415 ("Content type '...' not supported", application/octet-stream
when none is given), an empty or unreadable body a 400 ("Required request body is missing",
"JSON parse error: ..."). Unknown fields are ignored and scalars are accepted for the string fields,
as Jackson does; an object or array where a string is expected is a JSON parse error. Everything
the synchronous checks refuse is an HTTP 200 with its errorCode (``upload.py``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, UnsupportedMediaType
from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.aruba import upload

if TYPE_CHECKING:
    from emulator.providers.aruba.routes import ArubaApi


def install(bp: Blueprint, api: ArubaApi) -> None:
    """Add this area's routes, task handlers and SDI listeners."""
    sandbox = api.sandbox
    sandbox.tasks.register(upload.PROCESS_UPLOAD, upload.process_upload_handler(sandbox))

    @bp.post("/services/invoice/upload")
    def upload_invoice() -> Response:
        def call(session: Session, account: Account) -> Response:
            fields = request_fields("UploadRequest", "dataFile", "credential", "domain")
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
            fields = request_fields("UploadSignedRequest", "dataFile")
            return json_response(
                upload.upload_signed_invoice(sandbox, session, account, data_file=fields["dataFile"])
            )

        return api.authenticated(call)


def request_fields(type_name: str, *names: str) -> dict[str, str | None]:
    """The JSON body's string fields, read the way Spring MVC and Jackson read a request body."""
    if not is_json(request.mimetype):
        shown = request.content_type or "application/octet-stream"
        raise UnsupportedMediaType(f"Content type '{shown}' not supported")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest("Required request body is missing")
    try:
        payload = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, integers too long to convert
        raise BadRequest(f"JSON parse error: {exc}") from None
    except RecursionError:
        raise BadRequest("JSON parse error: the document is nested too deeply") from None
    if payload is None:
        raise BadRequest("Required request body is missing")
    if not isinstance(payload, dict):
        raise BadRequest(f"JSON parse error: {_cannot_deserialize(type_name, payload)}")
    return {name: _string(payload.get(name)) for name in names}


def is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _string(value: Any) -> str | None:
    """Jackson's coercion of a JSON value into a java.lang.String field."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise BadRequest(f"JSON parse error: {_cannot_deserialize('java.lang.String', value)}")


def _cannot_deserialize(type_name: str, value: Any) -> str:
    kind, token = _json_kind(value)
    return f"Cannot deserialize value of type `{type_name}` from {kind} value (token `JsonToken.{token}`)"


def _json_kind(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        return "Object", "START_OBJECT"
    if isinstance(value, list):
        return "Array", "START_ARRAY"
    if isinstance(value, str):
        return "String", "VALUE_STRING"
    if isinstance(value, bool):
        return "Boolean", "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "Integer", "VALUE_NUMBER_INT"
    return "Floating-point", "VALUE_NUMBER_FLOAT"
