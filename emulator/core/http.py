"""Small HTTP helpers shared by every blueprint (the only core module that knows Flask)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request
from flask.json.provider import DefaultJSONProvider

from emulator.core.errors import BadRequest


def sandbox_of_app() -> Any:
    return current_app.extensions["fattura_sandbox"]


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(", ", ": "))
    return Response(body, status=status, mimetype="application/json", headers=headers)


def json_body(*, required: bool = True) -> Any:
    """The request's JSON body; a BadRequest with a readable message when it is not JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise BadRequest("The request body is empty: a JSON document is required")
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from exc
    except RecursionError:
        raise BadRequest("The request body is not valid JSON: it is nested too deeply") from None


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a document nested too deeply for the parser is invalid JSON (a
    ``ValueError``, which ``request.get_json`` answers 400 or, with ``silent``, None) and not a
    ``RecursionError`` that would end as a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON document nested too deeply") from None
