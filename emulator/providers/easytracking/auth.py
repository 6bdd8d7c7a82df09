"""Easy Tracking authentication: POST <authBaseUrl>/api/Token/AccessToken and Bearer JWTs.

Limitations: the real token's lifetime is not documented; the sandbox issues HS256 JWTs valid for
``easytracking_token_seconds`` (default 3600) of virtual time, signed with a per-instance secret
that a reset replaces (so a reset invalidates every token, as a new environment would).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt
from flask import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.errors import Unauthorized
from emulator.core.store import instance_secret
from emulator.core.tenancy import Account

PROVIDER = "easytracking"
# The client identity the provider documents (§3); the sandbox accepts exactly these values.
API_NAME = "openBusiness.scope.serviziweb.api"
CLIENT_NAME = "openBusiness.client.serviziweb.api"
CLIENT_SECRET = "uKNtPmq49yjLkaYv"
ISSUER = "fattura-sandbox/easytracking"
SECRET_KEY = "easytracking_jwt_secret"


def access_token(session: Session, payload: Any, *, now: datetime, lifetime: int) -> str:
    """Check the five documented fields and issue a token; anything wrong is a 401."""
    if not isinstance(payload, dict):
        raise Unauthorized(
            "The request body must be a JSON object with apiName, clientName, clientSecret, "
            "username and password"
        )
    expected = {"apiName": API_NAME, "clientName": CLIENT_NAME, "clientSecret": CLIENT_SECRET}
    for field, value in expected.items():
        if payload.get(field) != value:
            raise Unauthorized(f"Invalid {field}")
    username, password = payload.get("username"), payload.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise Unauthorized("Invalid username or password")
    account = session.execute(
        select(Account).where(Account.provider == PROVIDER, Account.username == username)
    ).scalar_one_or_none()
    if (
        account is None
        or not isinstance(password, str)
        or not secrets.compare_digest(account.password, password)
    ):
        raise Unauthorized("Invalid username or password")
    claims = {
        "iss": ISSUER,
        "sub": account.username,
        "tenant": account.tenant,
        "scope": API_NAME,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, instance_secret(session, SECRET_KEY), algorithm="HS256")


def authenticate(session: Session, authorization: str | None, *, now: datetime) -> Account:
    """The account of a valid, unexpired Bearer token (expiry checked against virtual time)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("Authorization has been denied for this request: Bearer token missing")
    token = authorization[7:].strip()
    try:
        claims = jwt.decode(
            token,
            instance_secret(session, SECRET_KEY),
            algorithms=["HS256"],
            issuer=ISSUER,
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "require": ["exp", "sub", "iss"],
            },
        )
    except jwt.PyJWTError:
        raise Unauthorized("Authorization has been denied for this request: invalid token") from None
    if int(claims["exp"]) <= now.timestamp():
        raise Unauthorized("Authorization has been denied for this request: token expired")
    account = session.execute(
        select(Account).where(Account.provider == PROVIDER, Account.username == claims["sub"])
    ).scalar_one_or_none()
    if account is None:
        raise Unauthorized("Authorization has been denied for this request: unknown user")
    return account


def tenant_of(session: Session, request: Request) -> str | None:
    """The tenant of the request's Bearer token (expired or not), or of the username of a token call.

    The token's claims are read without checking its signature (no store access: this runs on every
    request, for the journal); a token the sandbox did not sign names no tenant it does not know of.
    """
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        try:
            claims = jwt.decode(authorization[7:].strip(), options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        if claims.get("iss") != ISSUER:
            return None
        tenant = claims.get("tenant")
        return tenant if isinstance(tenant, str) and tenant else None
    username = _json_field(request, "username")
    if username is None:
        return None
    return session.execute(
        select(Account.tenant).where(Account.provider == PROVIDER, Account.username == username)
    ).scalar_one_or_none()


def _json_field(request: Request, key: str) -> str | None:
    payload = request.get_json(silent=True, cache=True)
    value = payload.get(key) if isinstance(payload, dict) else None
    return value if isinstance(value, str) and value else None
