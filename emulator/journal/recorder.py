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
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask, Request, Response, g, request
from sqlalchemy.orm import Session

from emulator.core.clock import WallClock
from emulator.journal import service
from emulator.journal.batching import BatchWriter
from emulator.journal.validation import Contract, RequestFacts, validate_request
from emulator.providers.base import Provider, provider_for, tenant_of
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


@dataclass
class _Answered:
    """What a request and its answer were, kept until the entry is built and written (batching)."""

    pending: _Pending
    request: Request
    duration_ms: float
    status: int
    content_type: str | None
    mimetype: str | None
    headers: list[tuple[str, str]]
    data: bytes | None  # None: a streamed answer (its size only)
    size: int | None
    fault: dict[str, Any] | None


def install(app: Flask, sandbox: Sandbox, providers: tuple[Provider, ...], *, wall_clock: WallClock) -> None:
    """Register the journal's hooks on ``app`` (call it before any other before_request hook)."""
    retention = service.Retention(sandbox.config.journal_max_entries)
    # The contracts are read by the writer thread when it builds the first entries (once per
    # process): not at start, where reading them would delay the first healthy answer.
    with sandbox.transaction() as session:
        retention.start(session)
    limit = sandbox.config.journal_body_limit

    def write(batch: list[_Answered]) -> None:
        with sandbox.transaction() as session:
            rows = [_entry(session, limit, answered) for answered in batch]
            service.record_many(session, retention, rows)

    writer: BatchWriter[_Answered] = BatchWriter(write)
    sandbox.deferred_writers.append(writer.flush)
    sandbox.on_close.append(writer.stop)

    @app.before_request
    def _journal_start() -> None:
        provider = provider_for(request.path, providers)
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
                writer.add(_answered(pending, response))
            except Exception:
                log.exception("journalling %s %s failed", request.method, request.path)
        return response


def _read_request_body(req: Request) -> tuple[bytes | None, int | None]:
    length = req.content_length
    if length is not None and length > READ_LIMIT:
        return None, length
    try:
        data = req.get_data(cache=True)
    except Exception:  # too large, a broken stream: the view will say so
        return None, length
    return data, len(data)


def captured_body(response: Response) -> tuple[bytes | None, int | None]:
    """(the body, its size); a streamed answer (``send_file``, zips) by its size only, never read."""
    if response.is_streamed or response.direct_passthrough:
        return None, response.content_length
    data = response.get_data()
    return data, len(data)


def response_view(data: bytes | None, size: int | None, mimetype: str | None, limit: int) -> dict[str, Any]:
    if data is None:
        return {**body_view(None, size, limit, None, mask=False), "streamed": True}
    return body_view(data, size, limit, mimetype, mask=False)


def _answered(pending: _Pending, response: Response) -> _Answered:
    data, size = captured_body(response)
    return _Answered(
        pending=pending,
        # The request object itself: its body is cached (read by _journal_start), its form and JSON
        # parse from that cache, so the entry can be built after the answer has gone.
        request=request._get_current_object(),  # type: ignore[attr-defined]
        duration_ms=round((time.perf_counter() - pending.started) * 1000, 3),
        status=response.status_code,
        content_type=response.content_type or None,
        mimetype=response.mimetype,
        headers=list(response.headers.items()),
        data=data,
        size=size,
        fault=_fault(),
    )


def _entry(session: Session, limit: int, answered: _Answered) -> dict[str, Any]:
    """The columns of the JournalEntry of one answered request (JSON columns serialised)."""
    pending = answered.pending
    return {
        **_described(limit, answered),
        "at": pending.at,
        "real_at": pending.real_at,
        "duration_ms": answered.duration_ms,
        "tenant": tenant_of(pending.provider, session, answered.request),
    }


def _described(limit: int, answered: _Answered) -> dict[str, Any]:
    """The columns that depend only on what was asked and answered: the same for every repeat of a
    request a client polls, so they are built and serialised once for it."""
    pending, req = answered.pending, answered.request
    small = all(b is None or len(b) <= _MEMO_BODY_LIMIT for b in (pending.body, answered.data))
    key: Hashable = None
    if small:
        key = (
            limit,
            pending.provider.name,
            req.method,
            req.path,
            req.query_string,
            tuple(req.headers.items()),
            pending.body,
            pending.body_size,
            answered.status,
            answered.content_type,
            tuple(answered.headers),
            answered.data,
            answered.size,
            repr(answered.fault),
        )
        with _memo_lock:
            known = _described_memo.get(key)
            if known is not None:
                _described_memo.move_to_end(key)
                return known
    described = _describe(limit, answered)
    if small:
        with _memo_lock:
            _described_memo[key] = described
            while len(_described_memo) > _MEMO_SIZE:
                _described_memo.popitem(last=False)
    return described


def _describe(limit: int, answered: _Answered) -> dict[str, Any]:
    pending, req = answered.pending, answered.request
    provider = pending.provider
    path = req.path[len(provider.prefix) :] or "/"
    query = {key: req.args.getlist(key) for key in req.args}
    request_type = req.mimetype or None
    operation, violations = _validated(
        provider.name,
        RequestFacts(
            method=req.method,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in req.headers.items()},
            content_type=request_type,
            body=pending.body,
        ),
    )
    return service.serialised(
        provider=provider.name,
        method=req.method,
        path=path,
        full_path=req.path,
        query=query,
        status=answered.status,
        request_headers=mask_headers(req.headers.items()),
        request_content_type=req.content_type or None,
        request_body=body_view(pending.body, pending.body_size, limit, request_type, mask=True),
        response_content_type=answered.content_type,
        response_headers=mask_headers(answered.headers),
        fault=answered.fault,
        response_body=response_view(answered.data, answered.size, answered.mimetype, limit),
        operation=operation,
        violations=violations,
        has_violations=bool(violations),
    )


# Requests a client repeats (its polling) are validated once: the verdict depends on nothing else.
_MEMO_BODY_LIMIT = 4096
_MEMO_SIZE = 2048
_memo: OrderedDict[Hashable, tuple[str | None, list[dict[str, str]]]] = OrderedDict()
_described_memo: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
_memo_lock = threading.Lock()


def _validated(provider: str, facts: RequestFacts) -> tuple[str | None, list[dict[str, str]]]:
    contract = Contract.load(provider)
    if contract is None:
        return None, []
    if facts.body is not None and len(facts.body) > _MEMO_BODY_LIMIT:
        return validate_request(contract, facts)
    key = (
        provider,
        facts.method,
        facts.path,
        tuple((name, tuple(values)) for name, values in facts.query.items()),
        tuple(facts.headers.items()),
        facts.content_type,
        facts.body,
    )
    with _memo_lock:
        known = _memo.get(key)
        if known is not None:
            _memo.move_to_end(key)
            return known[0], list(known[1])
    verdict = validate_request(contract, facts)
    with _memo_lock:
        _memo[key] = verdict
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return verdict[0], list(verdict[1])


def _fault() -> dict[str, Any] | None:
    """What emulator.faults' hook says answered this request (it sets ``g.fault``)."""
    rule = g.get("fault")
    return None if rule is None else {"rule": rule, "effect": g.get("fault_effect")}


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
