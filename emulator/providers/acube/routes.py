"""A-Cube HTTP routes: ``POST /login`` for now; the invoice operations follow.

Parse, call one service function, serialise. Later routes run through ``AcubeApi.authenticated``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, UnsupportedMediaType
from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.acube import auth
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

    @bp.post("/login")
    def login() -> Response:
        payload = json_payload()
        with sandbox.transaction() as session:
            token = auth.login(session, payload, sandbox.clock.now())
        return json_response(token)

    return bp
