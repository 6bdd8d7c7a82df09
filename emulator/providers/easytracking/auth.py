"""Easy Tracking authentication: POST <authBaseUrl>/api/Token/AccessToken and Bearer JWTs.

Limitations: the real token's lifetime is not documented; the sandbox issues HS256 JWTs valid for
``easytracking_token_seconds`` (default 3600) of virtual time, signed with a per-instance secret
that a reset replaces (so a reset invalidates every token, as a new environment would).
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt
from flask import Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from emulator.core.errors import Unauthorized
from emulator.core.store import instance_secret
from emulator.core.tenancy import Account
from emulator.core.versions import TableVersions, VersionedCache, VersionedValue

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
    return jwt.encode(claims, signing_secret(session), algorithm="HS256")


def signing_secret(session: Session) -> str:
    """The instance's secret the tokens are signed with (made on first use, replaced by a reset)."""
    return instance_secret(session, SECRET_KEY)


class Gate:
    """The Bearer check, with what it reads from the store (the signing secret, account ids) kept
    in memory while the tables it came from are unchanged (``emulator.core.versions``)."""

    def __init__(self, versions: TableVersions) -> None:
        self._secret: VersionedValue[str] = VersionedValue(versions, "meta")
        self._account_ids: VersionedCache[str, int | None] = VersionedCache(versions, "accounts")

    def authenticate(self, session: Session, authorization: str | None, *, now: datetime) -> Account:
        """The account of a valid, unexpired Bearer token (expiry checked against virtual time)."""
        claims = _claims(authorization, self._secret.get(lambda: signing_secret(session)), now)
        username = claims["sub"]
        account_id = self._account_ids.get(username, lambda: _account_id(session, username))
        account = None if account_id is None else session.get(Account, account_id)
        if account is None:
            raise Unauthorized("Authorization has been denied for this request: unknown user")
        return account

    def known_account_id(self, authorization: str | None, *, now: datetime) -> int | None:
        """The account id ``authenticate`` would find, from memory alone; None when something is not
        in memory or the token is refused (``authenticate`` then says why)."""
        valid, secret = self._secret.peek()
        if not valid or secret is None:
            return None
        try:
            claims = _claims(authorization, secret, now)
        except Unauthorized:
            return None
        return self._account_ids.peek(claims["sub"])


def _claims(authorization: str | None, secret: str, now: datetime) -> dict[str, Any]:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("Authorization has been denied for this request: Bearer token missing")
    claims = _verified_claims(authorization[7:].strip(), secret)
    if claims is None:
        raise Unauthorized("Authorization has been denied for this request: invalid token")
    if int(claims["exp"]) <= now.timestamp():
        raise Unauthorized("Authorization has been denied for this request: token expired")
    return claims


def _account_id(session: Session, username: str) -> int | None:
    return session.execute(_ACCOUNT_ID_BY_USERNAME, {"username": username}).scalar_one_or_none()


_ACCOUNT_ID_BY_USERNAME = select(Account.id).where(
    Account.provider == PROVIDER, Account.username == bindparam("username")
)


# A client sends the same token for an hour: its signature is checked once (per secret). Only the
# verdict is kept; expiry is checked against virtual time on every call.
@functools.lru_cache(maxsize=1024)
def _verified_claims(token: str, secret: str) -> dict[str, Any] | None:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
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
        return None
    return claims


@functools.lru_cache(maxsize=1024)
def _token_tenant(token: str) -> str | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    if claims.get("iss") != ISSUER:
        return None
    tenant = claims.get("tenant")
    return tenant if isinstance(tenant, str) and tenant else None


def tenant_of(session: Session, request: Request) -> str | None:
    """The tenant of the request's Bearer token (expired or not), or of the username of a token call.

    The token's claims are read without checking its signature (no store access: this runs on every
    request, for the journal); a token the sandbox did not sign names no tenant it does not know of.
    """
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return _token_tenant(authorization[7:].strip())
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
