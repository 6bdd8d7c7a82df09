"""The app hooks that journal every request to a provider (never the /_sandbox control API).

``before_request`` notes the instants (virtual and wall clock) and reads the request body once (it
stays cached for the view, form parsing included); ``after_request`` builds the entry: tenant
(``Provider.tenant_of``), masked headers, bodies (UTF-8 text, else base64; cut at
``journal_body_limit`` bytes), the operation of the contract and the request's violations, and
stores it. A streamed response (``send_file``, zips) is recorded by its size, never read.
Nothing here can fail a request: an error while journalling is logged and the response goes out.

Masking: ``Authorization`` keeps its scheme and shows a fingerprint of the credentials
(``Bearer ***#1a2b3c4d5e6f``, the first 12 hex digits of their SHA-256), so that a reader can
tell whether a client reused a token without seeing it; ``X-Signature-Password``, cookies and
headers named like a password, secret or key show ``***``. In JSON and form bodies the values of
password-like keys are masked the same way (the body is then re-serialised).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask, Request, Response, g, request
from sqlalchemy.orm import Session

from emulator.core.clock import WallClock
from emulator.journal import service
from emulator.journal.validation import Contract, RequestFacts, validate_request
from emulator.providers.base import Provider
from emulator.state import Sandbox

log = logging.getLogger("fattura_sandbox.journal")

# Request bodies larger than this are not read by the journal (size only, no body validation).
READ_LIMIT = 16 * 1024 * 1024
SECRET_HEADERS = frozenset({"x-signature-password", "cookie", "set-cookie", "proxy-authorization"})
SECRET_NAME = re.compile(r"pass|secret|pwd|api[-_]?key|token", re.IGNORECASE)
FINGERPRINTED_KEYS = re.compile(r"token", re.IGNORECASE)
SECRET_HINT = re.compile(rb"pass|secret|pwd|key|token", re.IGNORECASE)
MASK = "***"


@dataclass
class _Pending:
    provider: Provider
    started: float
    at: datetime
    real_at: datetime
    body: bytes | None
    body_size: int | None


def install(app: Flask, sandbox: Sandbox, providers: tuple[Provider, ...], *, wall_clock: WallClock) -> None:
    """Register the journal's hooks on ``app`` (call it before any other before_request hook)."""
    retention = service.Retention(sandbox.config.journal_max_entries)
    for provider in providers:  # read once per process, before the first request needs them
        Contract.load(provider.name)
    with sandbox.transaction() as session:
        retention.start(session)
    limit = sandbox.config.journal_body_limit

    @app.before_request
    def _journal_start() -> None:
        provider = _provider_for(request.path, providers)
        if provider is None:
            return
        started = time.perf_counter()
        body, size = _read_request_body(request)
        g.journal_pending = _Pending(provider, started, sandbox.clock.now(), wall_clock(), body, size)

    @app.after_request
    def _journal_finish(response: Response) -> Response:
        pending: _Pending | None = g.pop("journal_pending", None)
        if pending is not None:
            try:
                _record(sandbox, retention, limit, pending, request, response)
            except Exception:
                log.exception("journalling %s %s failed", request.method, request.path)
        return response


def _provider_for(path: str, providers: tuple[Provider, ...]) -> Provider | None:
    for provider in providers:
        if path == provider.prefix or path.startswith(provider.prefix + "/"):
            return provider
    return None


def _read_request_body(req: Request) -> tuple[bytes | None, int | None]:
    length = req.content_length
    if length is not None and length > READ_LIMIT:
        return None, length
    try:
        data = req.get_data(cache=True)
    except Exception:  # too large, a broken stream: the view will say so
        return None, length
    return data, len(data)


def _record(
    sandbox: Sandbox,
    retention: service.Retention,
    limit: int,
    pending: _Pending,
    req: Request,
    response: Response,
) -> None:
    duration_ms = round((time.perf_counter() - pending.started) * 1000, 3)
    provider = pending.provider
    path = req.path[len(provider.prefix) :] or "/"
    query = {key: req.args.getlist(key) for key in req.args}
    request_type = req.mimetype or None
    operation: str | None = None
    violations: list[dict[str, str]] = []
    contract = Contract.load(provider.name)
    if contract is not None:
        facts = RequestFacts(
            method=req.method,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in req.headers.items()},
            content_type=request_type,
            body=pending.body,
        )
        operation, violations = validate_request(contract, facts)
    values = dict(
        at=pending.at,
        real_at=pending.real_at,
        provider=provider.name,
        method=req.method,
        path=path,
        full_path=req.path,
        query=query,
        status=response.status_code,
        duration_ms=duration_ms,
        request_headers=mask_headers(req.headers.items()),
        request_content_type=req.content_type or None,
        request_body=body_view(pending.body, pending.body_size, limit, request_type, mask=True),
        response_content_type=response.content_type or None,
        response_headers=mask_headers(response.headers.items()),
        fault=_fault(),
        response_body=_response_body(response, limit),
        operation=operation,
        violations=violations,
        has_violations=bool(violations),
    )
    with sandbox.transaction() as session:
        values["tenant"] = _tenant(session, provider, req)
        service.record(session, retention, values)


def _fault() -> dict[str, Any] | None:
    """What emulator.faults' hook says answered this request (it sets ``g.fault``)."""
    rule = g.get("fault")
    return None if rule is None else {"rule": rule, "effect": g.get("fault_effect")}


def _tenant(session: Session, provider: Provider, req: Request) -> str | None:
    # Not cached: the same statements on every request keep the sandbox's query counts steady.
    if provider.tenant_of is None:
        return None
    try:
        return provider.tenant_of(session, req)
    except Exception:
        log.exception("finding the tenant of %s %s failed", req.method, req.path)
        return None


def _response_body(response: Response, limit: int) -> dict[str, Any]:
    if response.is_streamed or response.direct_passthrough:
        view = body_view(None, response.content_length, limit, None, mask=False)
        view["streamed"] = True
        return view
    data = response.get_data()
    return body_view(data, len(data), limit, response.mimetype, mask=False)


def body_view(
    data: bytes | None, size: int | None, limit: int, media_type: str | None, *, mask: bool
) -> dict[str, Any]:
    """``{size, truncated, base64, content, streamed}``: UTF-8 text, else base64; cut past ``limit``."""
    view: dict[str, Any] = {
        "size": size,
        "truncated": False,
        "base64": False,
        "content": None,
        "streamed": False,
    }
    if data is None:
        view["truncated"] = bool(size)
        return view
    if mask and data and len(data) <= limit and SECRET_HINT.search(data):
        data = _mask_body(data, media_type)
    truncated = len(data) > limit
    kept = data[:limit]
    text = _utf8(kept, cut=truncated)
    if text is None:
        view["base64"] = True
        view["content"] = base64.b64encode(kept).decode("ascii")
    else:
        view["content"] = text
    view["truncated"] = truncated
    return view


def _utf8(data: bytes, *, cut: bool) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut may split the last character: up to three bytes at the end may be a partial one.
        if cut and exc.start >= len(data) - 3:
            try:
                return data[: exc.start].decode("utf-8")
            except UnicodeDecodeError:
                return None
        return None


def _fingerprint(value: str) -> str:
    return MASK + "#" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def mask_headers(items: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in items:
        lowered = name.lower()
        if lowered == "authorization":
            scheme, _, credentials = value.strip().partition(" ")
            value = f"{scheme} {_fingerprint(credentials.strip())}" if credentials else _fingerprint(scheme)
        elif lowered in SECRET_HEADERS or SECRET_NAME.search(lowered):
            value = MASK
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _mask_value(key: str, value: Any) -> Any:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return value
    return _fingerprint(str(value)) if FINGERPRINTED_KEYS.search(key) else MASK


def _mask_entry(key: Any, value: Any) -> Any:
    if isinstance(value, dict | list) or not SECRET_NAME.search(str(key)):
        return _mask_json(value)
    return _mask_value(str(key), value)


def _mask_json(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _mask_entry(k, v) for k, v in node.items()}
    if isinstance(node, list):
        return [_mask_json(item) for item in node]
    return node


def _mask_body(data: bytes, media_type: str | None) -> bytes:
    try:
        if media_type == "application/json" or (media_type or "").endswith("+json"):
            return json.dumps(_mask_json(json.loads(data)), ensure_ascii=False).encode("utf-8")
        if media_type == "application/x-www-form-urlencoded":
            pairs = parse_qsl(data.decode("utf-8"), keep_blank_values=True)
            masked = [(k, _mask_value(k, v) if SECRET_NAME.search(k) else v) for k, v in pairs]
            return urlencode(masked, safe="*#").encode("ascii")
    except (ValueError, UnicodeDecodeError):
        return data
    return data
