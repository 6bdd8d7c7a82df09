"""Openapi.it's error format: ``{"data": null, "success": false, "message": ..., "error": <code>}``.

The published document's examples carry this envelope on every error, with a numeric ``error``:
the HTTP status for most (400, 403, 422), or Openapi's own code where it shows one (111 "Fiscal ID
not found or not registered", 670 "Fields fiscal_id, name, email are not editable.", 423 "Missing
fiscal_id"). An error class may carry its own code (``OpenapiError(..., error=111)``); otherwise
the status is the code.

Decisions where the document contradicts itself or is silent (also noted in contracts/openapi.yaml):
- its examples write ``"data": "null"`` (a string); the sandbox sends JSON ``null``, as its schemas
  and every other Openapi service do;
- its 404 examples say ``"success": true``; an error is ``"success": false`` here, since clients
  branch on it (the contract lets both through);
- the document shows no 401 body; the sandbox answers
  ``{"success": false, "message": "Unauthorized", "error": 401, "data": null}`` with
  ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from flask import Response

from emulator.core.errors import SandboxError
from emulator.core.http import json_response

UNAUTHORIZED = "Unauthorized"


class OpenapiError(SandboxError):
    """An error with Openapi's own numeric code (``error``) where it differs from the status."""

    def __init__(self, message: str, *, status: int, error: int | None = None) -> None:
        super().__init__(message, status=status)
        self.details["error"] = error if error is not None else status


def render_error(error: SandboxError) -> Response:
    code = error.details.get("error", error.status)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return json_response(
        {"data": None, "success": False, "message": error.message, "error": code},
        status=error.status,
        headers=headers,
    )
