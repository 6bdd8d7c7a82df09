"""token-reuse: a token is reused until it expires; renewed after expiry or a 401; Aruba refreshes.

Rules (virtual time, the sandbox's clock, which is what tokens expire by):

- A new token (sign-in, login, token request, Aruba refresh) while an earlier token is still valid
  for more than ``RENEW_MARGIN`` seconds and has not been refused (401) is an offence: the client
  signs in too often (a "sign-in storm" when it happens on every call).
- A request carrying a token the server refused (401) earlier is an offence: renew after a 401.
- Aruba: a password sign-in while the refresh token of the last sign-in is still valid and the access
  token has expired (or been refused) is an offence: use ``grant_type=refresh_token``.
A token's expiry is read from its answer (``expires_in``, a JWT's ``exp``, ``expire``), else the
provider's documented lifetime.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta
from typing import Any

from emulator.certify.checks.base import (
    ARUBA_REFRESH_LIFETIME,
    SKIP,
    TOKEN_LIFETIME,
    Check,
    Context,
    Entry,
    Offence,
    verdict_of,
)

RENEW_MARGIN = 120
JWT = re.compile(r"^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$")


def _jwt_exp(token: str) -> float | None:
    match = JWT.match(token)
    if match is None:
        return None
    payload = match.group(1)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    exp = data.get("exp") if isinstance(data, dict) else None
    return float(exp) if isinstance(exp, int | float) else None


def _tokens(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node] if len(node) >= 16 else []
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and key.lower() in ("token", "access_token", "accesstoken", "jwt"):
                found.append(value)
            elif isinstance(value, dict | list):
                found.extend(_tokens(value))
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict):
                found.extend(_tokens(item))
    return found


def _expiry(entry: Entry, provider: str, token: str) -> datetime:
    body = entry.response_json
    if isinstance(body, dict):
        expires_in = body.get("expires_in")
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            return entry.at + timedelta(seconds=float(expires_in))
        data = body.get("data") if isinstance(body.get("data"), dict) else body
        expire = data.get("expire") if isinstance(data, dict) else None
        if isinstance(expire, int | float) and not isinstance(expire, bool):
            return datetime.fromtimestamp(float(expire), entry.at.tzinfo)
    exp = _jwt_exp(token)
    if exp is not None:
        return datetime.fromtimestamp(exp, entry.at.tzinfo)
    return entry.at + timedelta(seconds=TOKEN_LIFETIME.get(provider, 3600))


def fingerprint(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:12]


REFRESH_GRANT = re.compile(r"grant_type\W+refresh_token")


def _is_refresh(entry: Entry) -> bool:
    return REFRESH_GRANT.search(entry.body_text("request") or "") is not None


def _run(ctx: Context) -> tuple[str, str, list[Offence]]:
    token_calls = [e for e in ctx.entries if "token" in e.roles]
    refused = [e for e in ctx.entries if e.status == 401]
    if not token_calls and not refused:
        return SKIP, "The client asked for no token and got no 401 (a ready-made token?)", []
    valid: dict[str, datetime] = {}  # fingerprint -> expiry, tokens not refused
    refused_fps: set[str] = set()
    refresh_until: datetime | None = None
    offences: list[Offence] = []
    for entry in ctx.entries:
        if "token" in entry.roles:
            now = entry.at
            live = {fp: exp for fp, exp in valid.items() if (exp - now).total_seconds() > RENEW_MARGIN}
            refresh = ctx.provider == "aruba" and _is_refresh(entry)
            if live:
                fp, exp = max(live.items(), key=lambda item: item[1])
                offences.append(
                    Offence(entry, f"new token requested while token #{fp} is valid until {exp.isoformat()}")
                )
            elif (
                ctx.provider == "aruba"
                and not refresh
                and refresh_until is not None
                and now < refresh_until
                and valid.keys() | refused_fps
            ):
                offences.append(
                    Offence(
                        entry,
                        "signed in with the password while the refresh token was valid: "
                        "use grant_type=refresh_token",
                    )
                )
            if entry.ok:
                answer = entry.response_json
                if answer is None:  # a bare token, not JSON
                    answer = (entry.body_text("response") or "").strip().strip('"')
                for token in _tokens(answer):
                    valid[fingerprint(token)] = _expiry(entry, ctx.provider, token)
                    break
                if ctx.provider == "aruba":
                    refresh_until = entry.at + timedelta(seconds=ARUBA_REFRESH_LIFETIME)
            continue
        used = entry.auth
        if used is None:
            continue
        fp = used
        if fp in refused_fps:
            offences.append(Offence(entry, f"token #{fp} used again after the server refused it (401)"))
        if entry.status == 401:
            refused_fps.add(fp)
            valid.pop(fp, None)
    return verdict_of(
        offences,
        f"{len(token_calls)} token request(s), each when no valid token was at hand",
        "{n} token misuse(s)",
    )


CHECK = Check(
    name="token-reuse",
    title="Tokens are reused until they expire",
    explanation=(
        "A client should sign in once and reuse its token until it expires (renewing at most "
        f"{RENEW_MARGIN} s before), or until a 401 says it is no longer good; then renew once. A new "
        "token while one is valid, or the same refused token sent again, is an offence. Aruba: once "
        "the access token expires, use the refresh grant (grant_type=refresh_token) while the refresh "
        "token lives (60 min) rather than the password: no sign-in storm."
    ),
    run=_run,
)
