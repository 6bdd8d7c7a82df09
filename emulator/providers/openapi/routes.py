"""Openapi.it HTTP routes: the OAuth token call; each area's module ``install``s its own routes.

Parse, call one service function, serialise. API routes run through ``OpenapiApi.authenticated``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.openapi import (
    auth,
    configurations_routes,
    invoices_routes,
    receipts_routes,
    webhooks,
)
from emulator.providers.openapi.errors import OpenapiError
from emulator.state import Sandbox


@dataclass(frozen=True)
class OpenapiApi:
    """What every route needs: the sandbox, and a way to run a call as the token's account."""

    sandbox: Sandbox

    def authenticated(self, call: Callable[[Session, Account], Response]) -> Response:
        path = "/" + request.path.split("/", 2)[2] if request.path.count("/") >= 2 else request.path
        with self.sandbox.transaction() as session:
            account = auth.authenticate(
                session, request.headers.get("Authorization"), request.method, path, self.sandbox.clock.now()
            )
            return call(session, account)


def json_payload() -> object:
    """The body of a JSON request: 400 in Openapi's envelope when it is not JSON or does not parse."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        shown = request.content_type or "none"
        raise OpenapiError(f"Unsupported Content-Type {shown}: application/json expected", status=415)
    try:
        return json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise OpenapiError("Invalid JSON body", status=400) from None


def openapi_blueprint(sandbox: Sandbox) -> Blueprint:
    bp = Blueprint("openapi", __name__)
    api = OpenapiApi(sandbox)
    # Each area adds its routes, tasks and listeners (webhooks last: they listen after the others).
    for area in (configurations_routes, invoices_routes, receipts_routes, webhooks):
        area.install(bp, api)

    @bp.post("/oauth/tokens")
    def create_token() -> Response:
        payload = json_payload()
        with sandbox.transaction() as session:
            body = auth.create_token(
                session, sandbox.ids, request.headers.get("Authorization"), payload, sandbox.clock.now()
            )
        return json_response(body)

    return bp
