"""Request bodies as Spring MVC and Jackson read a ``@RequestBody`` on Aruba's services host.

- A content type other than JSON is 415 "Content-Type '<type>' is not supported" (Spring 6's
  wording; ``application/octet-stream`` when none is given).
- An empty body (or ``null``) is 400 "Required request body is missing"; unreadable JSON — including
  ``NaN``/``Infinity``, which Jackson refuses by default — is 400 "JSON parse error: ...".
  Decision: a lone surrogate (``"\ud800"``) is also a 400. Jackson would hand it on, but no file,
  notification or database row the sandbox writes can carry it.
- For a DTO of string fields (``request_fields``) unknown fields are ignored and scalars are turned
  into text, as Jackson does; an object or array where a string is expected is a JSON parse error.
"""

from __future__ import annotations

import json
from typing import Any

from emulator.core.errors import BadRequest, UnsupportedMediaType

PARSE_ERROR = "json_parse_error"


def read_json_body(raw: bytes, content_type: str | None) -> Any:
    """The parsed body (any JSON value but null)."""
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    if not is_json(mimetype):
        shown = content_type or "application/octet-stream"
        raise UnsupportedMediaType(f"Content-Type '{shown}' is not supported")
    if not raw.strip():
        raise BadRequest("Required request body is missing", code="missing_body")
    try:
        value = json.loads(raw, parse_constant=_non_numeric)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError) as exc:  # JSONDecodeError, bad UTF-8, lone surrogates, huge ints
        raise BadRequest(f"JSON parse error: {exc}", code=PARSE_ERROR) from None
    except RecursionError:
        raise BadRequest(
            "JSON parse error: the document is nested too deeply", code=PARSE_ERROR
        ) from None
    if value is None:
        raise BadRequest("Required request body is missing", code="missing_body")
    return value


def request_fields(
    raw: bytes, content_type: str | None, type_name: str, *names: str
) -> dict[str, str | None]:
    """The string fields ``names`` of a JSON object body, bound to the Java type ``type_name``."""
    payload = read_json_body(raw, content_type)
    if not isinstance(payload, dict):
        raise BadRequest(
            f"JSON parse error: {_cannot_deserialize(type_name, payload)}", code=PARSE_ERROR
        )
    return {name: _string(payload.get(name)) for name in names}


def is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _non_numeric(token: str) -> Any:
    raise ValueError(
        f"Non-standard token '{token}': enable JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS to allow"
    )


def _string(value: Any) -> str | None:
    """Jackson's coercion of a JSON value into a java.lang.String field."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise BadRequest(
        f"JSON parse error: {_cannot_deserialize('java.lang.String', value)}", code=PARSE_ERROR
    )


def _cannot_deserialize(type_name: str, value: Any) -> str:
    kind, token = _json_kind(value)
    return f"Cannot deserialize value of type `{type_name}` from {kind} value (token `JsonToken.{token}`)"


def _json_kind(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        return "Object", "START_OBJECT"
    if isinstance(value, list):
        return "Array", "START_ARRAY"
    if isinstance(value, str):
        return "String", "VALUE_STRING"
    if isinstance(value, bool):
        return "Boolean", "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "Integer", "VALUE_NUMBER_INT"
    return "Floating-point", "VALUE_NUMBER_FLOAT"
