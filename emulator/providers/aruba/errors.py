"""Aruba's error formats: OAuth errors on the authentication host, Spring's on the services host.

- ``/auth/signin`` answers ``400 {"error": "invalid_grant", "error_description": ...}`` (§5.1).
- A call without a valid token answers 401 with "Full authentication is required to access this
  resource" (§5.1), the message of Spring Security, in Spring Security OAuth's body.
- Any other error is Spring Boot's default body (timestamp, status, error, message, path): the
  document does not show one, and it is what the services host's stack answers with.
"""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus

from flask import Response, request

from emulator.core.errors import SandboxError
from emulator.core.http import json_response, sandbox_of_app

FULL_AUTHENTICATION = "Full authentication is required to access this resource"


class OAuthError(SandboxError):
    """An OAuth 2 token-endpoint error: ``code`` is the ``error`` field (RFC 6749 §5.2)."""

    status = 400
    code = "invalid_request"


def render_error(error: SandboxError) -> Response:
    if isinstance(error, OAuthError):
        return json_response({"error": error.code, "error_description": error.message}, status=error.status)
    if error.status == 401:
        return json_response(
            {"error": "unauthorized", "error_description": FULL_AUTHENTICATION},
            status=401,
            headers={
                "WWW-Authenticate": f'Bearer realm="oauth", error="unauthorized", '
                f'error_description="{FULL_AUTHENTICATION}"'
            },
        )
    return json_response(
        {
            "timestamp": _now().isoformat(timespec="milliseconds").replace("+00:00", "+0000"),
            "status": error.status,
            "error": _reason(error.status),
            "message": error.message,
            "path": request.path.removeprefix("/aruba"),
        },
        status=error.status,
    )


def _now() -> datetime:
    """Virtual time when a sandbox serves the request (always, except in isolated unit tests)."""
    try:
        now: datetime = sandbox_of_app().clock.now()
    except (RuntimeError, KeyError):
        now = datetime.now(UTC)
    return now.astimezone(UTC)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
