"""A-Cube's error formats: LexikJWTAuthenticationBundle's on authentication, API Platform's elsewhere.

A-Cube's API is an API Platform (Symfony) application that authenticates with
LexikJWTAuthenticationBundle. The invoices document shows no error body at all (only statuses and
"Invalid input"), so the sandbox answers with what that stack answers:

- every 401 is Lexik's ``JWTAuthenticationFailureResponse``: ``{"code": 401, "message": ...}`` with
  ``WWW-Authenticate: Bearer``; the messages are Lexik's: "Invalid credentials." for a failed
  login, "JWT Token not found", "Invalid JWT Token" and "Expired JWT Token" for a call;
- any other error is API Platform's: RFC 7807 problem JSON (``application/problem+json``:
  type, title, status, detail) by default, or the Hydra error (``application/ld+json``:
  ``@context``, ``@type`` "hydra:Error", ``hydra:title``, ``hydra:description``) when the client's
  Accept header asks for JSON-LD, as API Platform negotiates its error format.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from emulator.core.errors import SandboxError, Unauthorized
from emulator.core.http import json_response

INVALID_CREDENTIALS = "Invalid credentials."
TOKEN_NOT_FOUND = "JWT Token not found"
INVALID_TOKEN = "Invalid JWT Token"
EXPIRED_TOKEN = "Expired JWT Token"

PROBLEM_TYPE = "https://tools.ietf.org/html/rfc2616#section-10"
TITLE = "An error occurred"


class AuthenticationFailure(Unauthorized):
    """A Lexik 401: ``message`` is one of the four messages above."""


def render_error(error: SandboxError) -> Response:
    if error.status == 401:
        return json_response(
            {"code": 401, "message": error.message},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    if _wants_json_ld():
        response = json_response(
            {
                "@context": "/contexts/Error",
                "@type": "hydra:Error",
                "hydra:title": TITLE,
                "hydra:description": error.message,
                **_violations(error),
            },
            status=error.status,
        )
        response.mimetype = "application/ld+json"
        return response
    response = json_response(
        {
            "type": PROBLEM_TYPE,
            "title": TITLE,
            "status": error.status,
            "detail": error.message,
            **_violations(error),
        },
        status=error.status,
    )
    response.mimetype = "application/problem+json"
    return response


def _violations(error: SandboxError) -> dict[str, Any]:
    """API Platform's validation errors list their ``violations`` (propertyPath, message, code)."""
    violations = error.details.get("violations")
    return {"violations": violations} if violations else {}


def _wants_json_ld() -> bool:
    accept = request.accept_mimetypes
    return accept.quality("application/ld+json") > max(
        accept.quality("application/json"), accept.quality("application/problem+json")
    )
