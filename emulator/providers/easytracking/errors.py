"""Easy Tracking's error format: the documented ``{"message": <errore>}`` with the status."""

from __future__ import annotations

from flask import Response

from emulator.core.errors import SandboxError
from emulator.core.http import json_response


def render_error(error: SandboxError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if error.status == 401 else None
    return json_response({"message": error.message}, status=error.status, headers=headers)
