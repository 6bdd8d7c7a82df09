"""A-Cube HTTP routes: ``POST /login``, ``POST /invoices``; the other areas' modules ``install`` theirs.

Parse, call one service function, serialise. Invoice routes run through ``AcubeApi.authenticated``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, SandboxError, UnsupportedMediaType
from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.acube import (
    auth,
    collection_routes,
    documents_routes,
    drafts_routes,
    invoice_ops_routes,
    notifications_routes,
    records,
    service,
    webhook_routes,
)
from emulator.state import Sandbox


@dataclass(frozen=True)
class AcubeApi:
    """What every route needs: the sandbox, and a way to run a call as the signed-in account."""

    sandbox: Sandbox

    def authenticated(self, call: Callable[[Session, Account], Response]) -> Response:
        with self.sandbox.transaction() as session:
            account = auth.authenticate(
                session, request.headers.get("Authorization"), self.sandbox.clock.now()
            )
            return call(session, account)


def json_payload() -> object:
    """The body of a JSON request: 415 when it is not declared JSON, 400 when it does not parse."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        shown = request.content_type or "none"
        raise UnsupportedMediaType(
            f'The content-type "{shown}" is not supported. Supported MIME types are "application/json".'
        )
    try:
        return json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("Invalid JSON.") from None


def acube_blueprint(sandbox: Sandbox) -> Blueprint:
    bp = Blueprint("acube", __name__)
    api = AcubeApi(sandbox)
    sandbox.engine.subscribe(records.on_sdi_notification(sandbox.ids))
    sandbox.tasks.register(service.SEND_INVOICE, service.send_invoice_handler(sandbox))
    # Each area adds its routes, tasks and listeners (webhooks last: they listen after the others).
    for area in (
        collection_routes, documents_routes, notifications_routes, drafts_routes, invoice_ops_routes,
        webhook_routes,
    ):
        area.install(bp, api)

    @bp.post("/login")
    def login() -> Response:
        payload = json_payload()
        with sandbox.transaction() as session:
            token = auth.login(session, payload, sandbox.clock.now())
        return json_response(token)

    @bp.post("/invoices")
    def create_invoice() -> Response:
        xml = invoice_body(sandbox.config.xsd_dir)

        def call(session: Session, account: Account) -> Response:
            return json_response(service.create_invoice(sandbox, session, account, xml), status=202)

        return api.authenticated(call)

    return bp


JSON_TYPES = ["application/json", "application/ld+json"]
XML_TYPES = ["application/xml", "text/xml"]
RAW_TYPES = ["application/octet-stream"]


def accept_one_of(offered: list[str]) -> str:
    """The offered type the Accept header prefers (JSON without one); API Platform's 406 otherwise."""
    if not request.headers.get("Accept"):
        return offered[0]
    best = request.accept_mimetypes.best_match(offered)
    if best is None:
        raise SandboxError(
            f'Requested format "{request.headers["Accept"]}" is not supported. '
            f'Supported MIME types are "{", ".join(offered)}".',
            status=406,
            code="not_acceptable",
        )
    return str(best)


def invoice_body(xsd_dir: Path | None) -> bytes:
    """``POST /invoices``: FatturaPA XML as it is, or A-Cube's JSON form converted to XML."""
    if request.mimetype in XML_TYPES:
        return request.get_data(cache=True)
    if request.mimetype == "application/json" or request.mimetype.endswith("+json"):
        return service.invoice_xml_of_json(json_payload(), xsd_dir)
    shown = request.content_type or "none"
    raise UnsupportedMediaType(
        f'The content-type "{shown}" is not supported. '
        'Supported MIME types are "application/json", "application/xml", "text/xml".'
    )
