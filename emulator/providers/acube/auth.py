"""A-Cube authentication: ``POST /login`` with email and password, then ``Authorization: Bearer <JWT>``.

A-Cube signs users in with Symfony's ``json_login`` and LexikJWTAuthenticationBundle: the answer
is ``{"token": "<JWT>"}``, the token lasts 24 hours and there is no refresh endpoint (a client
logs in again). The sandbox does the same in virtual time, and follows ``json_login``'s checks of
the body (``Invalid JSON.``, ``The key "email" must be provided.``, ``... must be a string.``).

Limitations: the real tokens are RS256, signed with A-Cube's key; the sandbox's are HS256,
signed with a per-instance secret kept in the database (so tokens survive a restart) that a
reset replaces (so a reset invalidates every token, as a new environment would).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt
from flask import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest
from emulator.core.store import instance_secret
from emulator.core.tenancy import Account
from emulator.providers.acube.errors import (
    EXPIRED_TOKEN,
    INVALID_CREDENTIALS,
    INVALID_TOKEN,
    TOKEN_NOT_FOUND,
    AuthenticationFailure,
)

PROVIDER = "acube"
TOKEN_LIFETIME = timedelta(hours=24)
ISSUER = "fattura-sandbox/acube"
SECRET_KEY = "acube_jwt_secret"
ALGORITHM = "HS256"


def login(session: Session, payload: Any, now: datetime) -> dict[str, str]:
    """``json_login``: the body's checks are 400s, wrong credentials the 401 "Invalid credentials."."""
    if not isinstance(payload, dict):
        raise BadRequest("Invalid JSON.")
    for key in ("email", "password"):
        if key not in payload:
            raise BadRequest(f'The key "{key}" must be provided.')
        if not isinstance(payload[key], str):
            raise BadRequest(f'The key "{key}" must be a string.')
    email, password = payload["email"], payload["password"]
    account = _account_by_email(session, email) if email else None
    if account is None or not secrets.compare_digest(
        account.password.encode(), password.encode("utf-8", "surrogatepass")
    ):
        raise AuthenticationFailure(INVALID_CREDENTIALS)
    claims = {
        "iat": int(now.timestamp()),
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
        "roles": ["ROLE_USER"],
        "username": account.email,
        "iss": ISSUER,
        "jti": secrets.token_hex(8),
    }
    return {"token": jwt.encode(claims, instance_secret(session, SECRET_KEY), algorithm=ALGORITHM)}


def _account_by_email(session: Session, email: str) -> Account | None:
    rows = session.execute(select(Account).where(Account.provider == PROVIDER)).scalars()
    # Symfony's user providers compare identifiers case-insensitively for e-mail addresses.
    return next((a for a in rows if (a.email or "").lower() == email.lower()), None)


def authenticate(session: Session, header: str | None, now: datetime) -> Account:
    """The account of a valid, unexpired bearer JWT; otherwise Lexik's 401 (expiry in virtual time)."""
    parts = (header or "").split(" ")
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise AuthenticationFailure(TOKEN_NOT_FOUND)
    try:
        claims = jwt.decode(
            parts[1],
            instance_secret(session, SECRET_KEY),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "require": ["exp", "iat", "username", "iss"],
            },
        )
        expires = int(claims["exp"])
    except (jwt.PyJWTError, TypeError, ValueError, OverflowError):
        raise AuthenticationFailure(INVALID_TOKEN) from None
    if expires <= now.timestamp():
        raise AuthenticationFailure(EXPIRED_TOKEN)
    username = claims["username"]
    account = _account_by_email(session, username) if isinstance(username, str) else None
    if account is None:
        raise AuthenticationFailure(INVALID_TOKEN)
    return account


def tenant_of(session: Session, request: Request) -> str | None:
    """The tenant of the bearer JWT (expired or not), or of the e-mail of a ``POST /login``."""
    parts = request.headers.get("Authorization", "").split(" ")
    email: Any = None
    if len(parts) == 2 and parts[0].lower() == "bearer":
        # The claims are read without checking the signature: no store access for the journal.
        try:
            claims = jwt.decode(parts[1], options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        if claims.get("iss") != ISSUER:
            return None
        email = claims.get("username")
    else:
        payload = request.get_json(silent=True, cache=True)
        email = payload.get("email") if isinstance(payload, dict) else None
    if not isinstance(email, str) or not email:
        return None
    account = _account_by_email(session, email)
    return None if account is None else account.tenant
