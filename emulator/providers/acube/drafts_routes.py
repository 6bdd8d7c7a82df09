"""A-Cube drafts: ``GET``/``POST /invoices/draft``, ``GET``/``PUT``/``DELETE /invoices/draft/{id}``,
``POST /invoices/draft/{id}/send``.

Statuses as the page: create 201 ``{"uuid"}``; PUT and send 200 with no body (the page shows none);
DELETE 204. The body of create and PUT is the JSON form or the XML, as for ``POST /invoices``.
``/invoices/draft`` is a static path, so Werkzeug prefers it to ``GET /invoices/<reference>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.errors import UnsupportedMediaType
from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.acube import drafts
from emulator.providers.acube.draft_models import JSON_FORMAT, XML_FORMAT

if TYPE_CHECKING:
    from emulator.providers.acube.routes import AcubeApi

DRAFTS = "/invoices/draft"


def install(bp: Blueprint, api: AcubeApi) -> None:
    """Add this area's routes, task handlers and SDI listeners."""
    from emulator.providers.acube.routes import JSON_TYPES, accept_one_of

    sandbox = api.sandbox

    @bp.get(DRAFTS)
    def list_drafts() -> Response:
        accept_one_of(JSON_TYPES)
        xsd_dir = sandbox.config.xsd_dir
        return api.authenticated(
            lambda session, account: json_response(
                drafts.list_drafts(session, account, request.args, xsd_dir)
            )
        )

    @bp.post(DRAFTS)
    def create_draft() -> Response:
        body = draft_body()

        def call(session: Session, account: Account) -> Response:
            return json_response(drafts.create_draft(sandbox, session, account, body), status=201)

        return api.authenticated(call)

    @bp.get(f"{DRAFTS}/<reference>")
    def get_draft(reference: str) -> Response:
        accept_one_of(JSON_TYPES)
        xsd_dir = sandbox.config.xsd_dir
        return api.authenticated(
            lambda session, account: json_response(
                drafts.draft_view(drafts.get_draft(session, account, reference), xsd_dir)
            )
        )

    @bp.put(f"{DRAFTS}/<reference>")
    def update_draft(reference: str) -> Response:
        body = draft_body()

        def call(session: Session, account: Account) -> Response:
            drafts.update_draft(sandbox, session, account, reference, body)
            return Response(status=200)

        return api.authenticated(call)

    @bp.delete(f"{DRAFTS}/<reference>")
    def delete_draft(reference: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            drafts.delete_draft(session, account, reference)
            return Response(status=204)

        return api.authenticated(call)

    @bp.post(f"{DRAFTS}/<reference>/send")
    def send_draft(reference: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            drafts.send_draft(sandbox, session, account, reference)
            return Response(status=200)

        return api.authenticated(call)


def draft_body() -> drafts.DraftBody:
    """The JSON form (parsed) or the XML as it is; 415 for any other Content-Type."""
    from emulator.providers.acube.routes import XML_TYPES, json_payload

    if request.mimetype in XML_TYPES:
        return drafts.DraftBody(XML_FORMAT, xml=request.get_data(cache=True))
    if request.mimetype == "application/json" or request.mimetype.endswith("+json"):
        return drafts.DraftBody(JSON_FORMAT, json=json_payload())
    shown = request.content_type or "none"
    raise UnsupportedMediaType(
        f'The content-type "{shown}" is not supported. '
        'Supported MIME types are "application/json", "application/xml", "text/xml".'
    )
