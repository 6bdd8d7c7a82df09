"""Errors raised in the domain and rendered once per provider in that provider's own format.

Each class carries its HTTP status and a stable code; a provider's error handler decides the body.
"""

from __future__ import annotations

from typing import Any


class SandboxError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class BadRequest(SandboxError):
    status = 400
    code = "bad_request"


class Unauthorized(SandboxError):
    status = 401
    code = "unauthorized"


class Forbidden(SandboxError):
    status = 403
    code = "forbidden"


class NotFound(SandboxError):
    status = 404
    code = "not_found"


class MethodNotAllowed(SandboxError):
    status = 405
    code = "method_not_allowed"


class Conflict(SandboxError):
    status = 409
    code = "conflict"


class PayloadTooLarge(SandboxError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(SandboxError):
    status = 415
    code = "unsupported_media_type"
