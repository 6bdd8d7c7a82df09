"""Openapi.it authentication: bearer tokens, issued by the OAuth service or ready-made per account.

Openapi's APIs take ``Authorization: Bearer <token>``; tokens come from the OAuth service
(oauth.openapi.com, test.oauth.openapi.com in its sandbox), which a client calls with HTTP Basic
authentication (username the account's e-mail, password its API key) to ``POST /tokens`` with the
``scopes`` the token may use (``METHOD:host/path-prefix``, ``*`` for any method) and a ``ttl`` in
seconds (at most a year). The sandbox serves that call at ``/openapi/oauth/tokens``; the API key of
a seeded account is its password. Each seeded account also has a ready-made token
(``GET /_sandbox/accounts``) that never expires and may call every operation.

A token is checked on every call, in virtual time: unknown or expired → 401; a scope list that does
not cover the call (method and host ``invoice.openapi.com`` or ``test.invoice.openapi.com``, path
prefix) → 403.

Limitations: the OAuth service's other operations (listing, renewing, deleting tokens, scopes,
wallet, stats) are not served; the answer to ``POST /tokens`` follows the OAuth v2 document's
``TokenDetail`` as far as its public description goes (``data.token``, ``data.scopes``,
``data.expire`` as a Unix time, ``data.id``, ``data.name``).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.ids import IdFactory
from emulator.core.tenancy import Account
from emulator.providers.openapi.errors import UNAUTHORIZED, OpenapiError
from emulator.providers.openapi.models import OpenapiToken

PROVIDER = "openapi"
HOSTS = ("invoice.openapi.com", "test.invoice.openapi.com")
MAX_TTL = 365 * 24 * 3600
DEFAULT_TTL = MAX_TTL
SCOPE = re.compile(r"^(\*|GET|POST|PUT|PATCH|DELETE):([a-z0-9.-]+)(/[^\s]*)?$")


class TokenValidationError(OpenapiError):
    """The OAuth service's 422 (``missing scopes array`` 70, ``invalid scopes format`` 80, ...)."""

    def __init__(self, message: str, error: int) -> None:
        super().__init__(message, status=422, error=error)


def new_id(ids: IdFactory) -> str:
    """A 24-hex-digit id, the shape of Openapi's (MongoDB ObjectId) ids."""
    return "".join(f"{ids.randint(0, 15):x}" for _ in range(24))


# -- the OAuth service ---------------------------------------------------------------------------


def create_token(
    session: Session, ids: IdFactory, authorization: str | None, payload: Any, now: datetime
) -> dict[str, Any]:
    """``POST /oauth/tokens`` (Basic auth) → ``{"success": true, "data": {token, scopes, expire...}}``."""
    account = _basic_account(session, authorization)
    if not isinstance(payload, dict):
        raise OpenapiError("Invalid JSON body", status=400)
    scopes = payload.get("scopes")
    if not isinstance(scopes, list) or not scopes:
        raise TokenValidationError("missing scopes array", 70)
    if not all(isinstance(s, str) and SCOPE.match(s) for s in scopes):
        raise TokenValidationError("invalid scopes format", 80)
    if not all(SCOPE.match(s).group(2) in HOSTS for s in scopes):  # type: ignore[union-attr]
        raise TokenValidationError("Invalid scopes specified or API not enabled", 90)
    ttl = payload.get("ttl", DEFAULT_TTL)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= MAX_TTL:
        raise TokenValidationError(f"ttl must be an integer from 1 to {MAX_TTL} seconds", 100)
    name = payload.get("name")
    if name is not None and not isinstance(name, str):
        raise TokenValidationError("name must be a string", 110)
    row = OpenapiToken(
        public_id=new_id(ids),
        token=secrets.token_hex(20),
        account_id=account.id,
        name=name,
        scopes=list(scopes),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    session.add(row)
    session.flush()
    return {
        "success": True,
        "message": "",
        "error": None,
        "data": {
            "id": row.public_id,
            "token": row.token,
            "name": row.name,
            "scopes": row.scopes,
            "expire": int(row.expires_at.timestamp()),
        },
    }


def _basic_account(session: Session, authorization: str | None) -> Account:
    scheme, _, encoded = (authorization or "").partition(" ")
    try:
        email, _, key = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        email, key = "", ""
    if scheme.lower() == "basic" and email:
        for account in session.execute(select(Account).where(Account.provider == PROVIDER)).scalars():
            if (account.email or "").lower() == email.lower() and secrets.compare_digest(
                account.password.encode(), key.encode()
            ):
                return account
    raise OpenapiError(UNAUTHORIZED, status=401)


# -- every API call ------------------------------------------------------------------------------


def authenticate(session: Session, header: str | None, method: str, path: str, now: datetime) -> Account:
    """The account of the bearer token; 401 when unknown or expired, 403 when no scope covers the call.

    ``path`` is the path below the mount (``/IT-invoices/...``).
    """
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise OpenapiError(UNAUTHORIZED, status=401)
    account = session.execute(
        select(Account).where(Account.provider == PROVIDER, Account.token == token)
    ).scalar_one_or_none()
    if account is not None:
        return account
    issued = session.execute(select(OpenapiToken).where(OpenapiToken.token == token)).scalar_one_or_none()
    if issued is None or issued.expires_at <= now:
        raise OpenapiError(UNAUTHORIZED, status=401)
    if not any(_covers(scope, method, path) for scope in issued.scopes):
        raise OpenapiError(f"Permission denied: the token has no scope for {method} {path}", status=403)
    owner = session.get(Account, issued.account_id)
    if owner is None:
        raise OpenapiError(UNAUTHORIZED, status=401)
    return owner


def _covers(scope: str, method: str, path: str) -> bool:
    match = SCOPE.match(scope)
    if match is None:
        return False
    scope_method, host, prefix = match.groups()
    prefix = (prefix or "/").rstrip("*")
    return scope_method in ("*", method) and host in HOSTS and path.startswith(prefix)


def tenant_of(session: Session, request: Request) -> str | None:
    """The tenant of the bearer token (ready-made or issued, expired or not), or of Basic credentials."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        tenant = session.execute(
            select(Account.tenant).where(Account.provider == PROVIDER, Account.token == value)
        ).scalar_one_or_none()
        if tenant is not None:
            return tenant
        account_id = session.execute(
            select(OpenapiToken.account_id).where(OpenapiToken.token == value)
        ).scalar_one_or_none()
        account = None if account_id is None else session.get(Account, account_id)
        return None if account is None else account.tenant
    if scheme.lower() == "basic" and value:
        try:
            email = base64.b64decode(value, validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        for account in session.execute(select(Account).where(Account.provider == PROVIDER)).scalars():
            if email and (account.email or "").lower() == email.lower():
                return account.tenant
    return None
