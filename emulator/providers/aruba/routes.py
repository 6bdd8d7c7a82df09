"""Aruba HTTP routes, both hosts under one prefix: ``/auth/...`` (authentication) and ``/services/...``.

Parse, call one service function, serialise. Calls on the services host authenticate first.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.aruba import auth
from emulator.providers.aruba.errors import OAuthError
from emulator.sdi.models import SdiInvoice
from emulator.state import Sandbox

FORM = "application/x-www-form-urlencoded"


def aruba_blueprint(sandbox: Sandbox) -> Blueprint:
    bp = Blueprint("aruba", __name__)

    def authenticated(call: Callable[[Session, Account], Response]) -> Response:
        with sandbox.transaction() as session:
            account = auth.authenticate(session, request.headers.get("Authorization"), sandbox.clock.now())
            return call(session, account)

    @bp.post("/auth/signin")
    def signin() -> Response:
        if request.mimetype != FORM:
            raise OAuthError(f"The request body must be {FORM} with UTF-8 encoding", code="invalid_request")
        with sandbox.transaction() as session:
            token = auth.sign_in(session, sandbox.ids, request.form, request.args, sandbox.clock.now())
        return json_response(token, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @bp.get("/auth/userInfo")
    def user_info() -> Response:
        return authenticated(
            lambda s, a: json_response(auth.user_info(a, sandbox.clock.now(), _stored_bytes(s, a)))
        )

    return bp


def _stored_bytes(session: Session, account: Account) -> int:
    """The size of every invoice file the account sent or received (userInfo.usedSpaceKB)."""
    total = session.execute(
        select(func.coalesce(func.sum(func.length(SdiInvoice.content)), 0)).where(
            or_(SdiInvoice.sender_account_id == account.id, SdiInvoice.recipient_account_id == account.id)
        )
    ).scalar_one()
    return int(total)
