"""Aruba HTTP routes, both hosts under one prefix: ``/auth/...`` (authentication) and ``/services/...``.

Parse, call one service function, serialise. Calls on the services host authenticate first. Each
area of the document has its own module with an ``install(bp, api)`` that adds its routes, the
tasks it schedules and the SDI listeners it needs; this module wires them in a fixed order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.aruba import (
    auth,
    callbacks,
    financial_routes,
    finding_routes,
    received_routes,
    records,
    simulator_routes,
    sla,
    upload_routes,
)
from emulator.providers.aruba.errors import OAuthError
from emulator.state import Sandbox

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class ArubaApi:
    """What every area's routes need: the sandbox, and a way to run a call as a signed-in account."""

    sandbox: Sandbox

    def authenticated(self, call: Callable[[Session, Account], Response]) -> Response:
        with self.sandbox.transaction() as session:
            account = auth.authenticate(
                session, request.headers.get("Authorization"), self.sandbox.clock.now()
            )
            return call(session, account)


def aruba_blueprint(sandbox: Sandbox) -> Blueprint:
    bp = Blueprint("aruba", __name__)
    api = ArubaApi(sandbox)
    # The received box is filled first, so that later listeners (callbacks) find the row.
    sandbox.engine.subscribe(records.on_sdi_notification(sandbox.ids))

    @bp.post("/auth/signin")
    def signin() -> Response:
        if request.mimetype != FORM:
            raise OAuthError(f"The request body must be {FORM} with UTF-8 encoding", code="invalid_request")
        with sandbox.transaction() as session:
            token = auth.sign_in(session, sandbox.ids, request.form, request.args, sandbox.clock.now())
        return json_response(token, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @bp.get("/auth/userInfo")
    def user_info() -> Response:
        return api.authenticated(
            lambda s, a: json_response(auth.user_info(a, sandbox.clock.now(), records.used_bytes(s, a)))
        )

    for area in (
        sla,
        upload_routes,
        finding_routes,
        received_routes,
        financial_routes,
        simulator_routes,
        callbacks,
    ):
        area.install(bp, api)
    return bp
