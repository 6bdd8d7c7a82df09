"""Aruba authentication (§5): ``POST /auth/signin`` (password and refresh_token grants), userInfo.

Tokens are opaque random strings kept in the database: the access token lasts 30 minutes and the
refresh token 60 minutes from issue (§5.1, §5.2), both in virtual time. A refresh token is spent
by its first use (the pair it belonged to stays valid until it expires), as OAuth servers that
rotate refresh tokens do; a client that refreshes twice with the same token gets invalid_grant.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from flask import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.errors import Unauthorized
from emulator.core.ids import IdFactory
from emulator.core.tenancy import Account
from emulator.providers.aruba.errors import FULL_AUTHENTICATION, OAuthError
from emulator.providers.aruba.models import ArubaToken
from emulator.providers.aruba.records import max_space_kb

PROVIDER = "aruba"
ACCESS_LIFETIME = timedelta(minutes=30)
REFRESH_LIFETIME = timedelta(minutes=60)
CLIENT_ID = "Auth"
SENSITIVE_FIELDS = frozenset({"username", "password", "refresh_token", "grant_type"})


def sign_in(
    session: Session, ids: IdFactory, form: Mapping[str, str], query: Mapping[str, str], now: datetime
) -> dict[str, Any]:
    """Both grants of §5.1/§5.2; every failure is a 400 OAuth error."""
    leaked = sorted(SENSITIVE_FIELDS & set(query))
    if leaked:
        raise OAuthError(
            "Sensitive information must not be sent in the query string: " + ", ".join(leaked),
            code="invalid_request",
        )
    grant = form.get("grant_type")
    if not grant:
        raise OAuthError("grant_type is mandatory", code="unsupported_grant_type")
    if grant == "password":
        account = _account_by_credentials(session, form.get("username"), form.get("password"))
    elif grant == "refresh_token":
        account = _account_by_refresh_token(session, form.get("refresh_token"), now)
    else:
        raise OAuthError(f"The grant type {grant!r} is not supported", code="unsupported_grant_type")
    return _issue(session, ids, account, now)


def _account_by_credentials(session: Session, username: str | None, password: str | None) -> Account:
    if not username or not password:
        raise OAuthError("The user name or password is incorrect.", code="invalid_grant")
    account = session.execute(
        select(Account).where(Account.provider == PROVIDER, Account.username == username)
    ).scalar_one_or_none()
    if account is None or not secrets.compare_digest(account.password.encode(), password.encode()):
        raise OAuthError("The user name or password is incorrect.", code="invalid_grant")
    return account


def _account_by_refresh_token(session: Session, refresh_token: str | None, now: datetime) -> Account:
    query = select(ArubaToken).where(ArubaToken.refresh_token == refresh_token)
    token = session.execute(query).scalar_one_or_none() if refresh_token else None
    if token is None or token.refresh_used or token.refresh_expires_at <= now:
        raise OAuthError("The refresh token is invalid or expired.", code="invalid_grant")
    token.refresh_used = True
    account = session.get(Account, token.account_id)
    if account is None:
        raise OAuthError("The refresh token is invalid or expired.", code="invalid_grant")
    return account


def _issue(session: Session, ids: IdFactory, account: Account, now: datetime) -> dict[str, Any]:
    token = ArubaToken(
        account_id=account.id,
        access_token=ids.token(44),
        refresh_token=ids.token(32).lower(),
        issued_at=now,
        expires_at=now + ACCESS_LIFETIME,
        refresh_expires_at=now + REFRESH_LIFETIME,
    )
    session.add(token)
    return {
        "access_token": token.access_token,
        "token_type": "bearer",
        "expires_in": int(ACCESS_LIFETIME.total_seconds()),
        "refresh_token": token.refresh_token,
        "userName": account.username,
        "as:client_id": CLIENT_ID,
        ".issued": _http_date(now),
        ".expires": _http_date(token.expires_at),
    }


def _http_date(moment: datetime) -> str:
    """``EEE, dd MMM yyyy HH:mm:ss z`` in GMT, as the document's example."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def authenticate(session: Session, header: str | None, now: datetime) -> Account:
    """The account of a valid, unexpired ``Authorization: Bearer`` token; otherwise 401."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized(FULL_AUTHENTICATION)
    token = session.execute(
        select(ArubaToken).where(ArubaToken.access_token == value.strip())
    ).scalar_one_or_none()
    if token is None or token.expires_at <= now:
        raise Unauthorized(FULL_AUTHENTICATION)
    account = session.get(Account, token.account_id)
    if account is None:
        raise Unauthorized(FULL_AUTHENTICATION)
    return account


def user_info(account: Account, now: datetime, used_bytes: int) -> dict[str, Any]:
    """§5.3. The account never expires: its expiry is shown one year after the current virtual day."""
    vat = account.vat_numbers[0] if account.vat_numbers else ""
    fiscal = account.fiscal_codes[0] if account.fiscal_codes else vat
    return {
        "username": account.username,
        "pec": account.profile.get("pec") or "",
        "userDescription": account.profile.get("name") or "",
        "countryCode": "IT",
        "vatCode": vat,
        "fiscalCode": fiscal,
        "accountStatus": {
            "expired": False,
            "expirationDate": (now + timedelta(days=365)).date().isoformat(),
        },
        "usageStatus": {"usedSpaceKB": (used_bytes + 1023) // 1024, "maxSpaceKB": max_space_kb(account)},
    }


def tenant_of(session: Session, request: Request) -> str | None:
    """The tenant of the Bearer access token (expired or not), or of a sign-in's username/refresh token."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    query = select(Account.tenant).join(ArubaToken, ArubaToken.account_id == Account.id)
    if scheme.lower() == "bearer" and value.strip():
        return session.execute(query.where(ArubaToken.access_token == value.strip())).scalar_one_or_none()
    if request.mimetype != "application/x-www-form-urlencoded":
        return None
    form = request.form
    if form.get("grant_type") == "refresh_token" and form.get("refresh_token"):
        by_refresh = query.where(ArubaToken.refresh_token == form["refresh_token"])
        return session.execute(by_refresh).scalar_one_or_none()
    if form.get("username"):
        by_username = select(Account.tenant).where(
            Account.provider == PROVIDER, Account.username == form["username"]
        )
        return session.execute(by_username).scalar_one_or_none()
    return None
