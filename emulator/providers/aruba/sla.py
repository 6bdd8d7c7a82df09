"""Aruba's SLA (§3): at most so many calls per minute per client IP, and files of at most 5 MB.

| category                      | calls                                    | per minute |
|-------------------------------|------------------------------------------|------------|
| Upload invoice                | ``POST /services/invoice/upload``        | 30         |
| Upload invoice signed         | ``POST /services/invoice/uploadSigned``  | 30         |
| Find Invoices Sent            | ``GET /services/invoice/out/*``          | 12         |
| Find Invoices Received        | ``GET /services/invoice/in/*``           | 12         |
| Find Notifications (sent)     | ``GET /services/notification/out/*``     | 12         |
| Find Notifications (received) | ``GET /services/notification/in/*``      | 12         |

A call beyond its category's limit is answered 429 Too Many Requests (§4) with Spring's error body
and a ``Retry-After`` header: the whole seconds until the window ends. An upload or uploadSigned
whose request body is larger than a 5 MB file can be in base64 JSON (its base64 length plus 64 KB
for the rest of the JSON) is answered 413 Request Entity Too Large (§4).

On unless ``config.aruba_sla`` is false (``FATTURA_SANDBOX_ARUBA_SLA=0``), which switches off both
the rates and the 413: then an oversized file reaches the upload itself (its own 0033 check).

Decisions (the document gives the limits only):

- Windows are fixed minutes of virtual time (09:00:00–09:00:59.999 …), as API gateways commonly
  count, not a sliding minute: moving the clock to the next minute gives a fresh allowance.
- A limit counts one category (the rows of the SLA table), not each method: the find calls of §9 —
  getByFilename, getByInvoiceId, findByUsername, getZipByFilename, pdd, getInvoiceWithUnsignedFile —
  share the 12 calls of "Find Invoices Received".
- Every call that reaches the gateway counts, whatever the application then answers (401, 400, 404
  …); a call refused with 429 does not count.
- The limits are checked by the gateway, before authentication; the 413 too, after the rate.
- The client IP is the connection's address (``REMOTE_ADDR``); ``X-Forwarded-For`` is ignored, so
  a client cannot spoof its way out of the limits.
- Counters are rows in the database (``ArubaSlaWindow``), so they survive a restart within the same
  minute and are cleared by a reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.errors import PayloadTooLarge, SandboxError
from emulator.providers.aruba.errors import render_error
from emulator.providers.aruba.models import ArubaSlaWindow
from emulator.sdi.validation import DEFAULT_MAX_BYTES

if TYPE_CHECKING:
    from emulator.providers.aruba.routes import ArubaApi

WINDOW = timedelta(minutes=1)
MAX_FILE_BYTES = DEFAULT_MAX_BYTES  # 5 MB
# The base64 of a 5 MB file, plus room for the other JSON fields (credential, domain ...).
MAX_UPLOAD_BODY = (MAX_FILE_BYTES + 2) // 3 * 4 + 64 * 1024
SERVICES = "/services/"


@dataclass(frozen=True)
class Limit:
    category: str
    method: str
    path: str  # the whole path, or a prefix when it ends with "/"
    calls: int
    description: str  # as the SLA table names it

    def matches(self, method: str, path: str) -> bool:
        if method != self.method and not (method == "HEAD" and self.method == "GET"):
            return False
        return path.startswith(self.path) if self.path.endswith("/") else path == self.path


UPLOAD = Limit("upload", "POST", "/services/invoice/upload", 30, "send invoices (Upload invoice)")
UPLOAD_SIGNED = Limit(
    "uploadSigned",
    "POST",
    "/services/invoice/uploadSigned",
    30,
    "send invoices that have already been signed (Upload invoice signed)",
)
LIMITS = (
    UPLOAD,
    UPLOAD_SIGNED,
    Limit("invoice-out", "GET", "/services/invoice/out/", 12, "find sent invoices (Find Invoices Sent)"),
    Limit(
        "invoice-in", "GET", "/services/invoice/in/", 12, "find received invoices (Find Invoices Received)"
    ),
    Limit(
        "notification-out",
        "GET",
        "/services/notification/out/",
        12,
        "find notifications for sent invoices (Find Notifications on Invoices Sent)",
    ),
    Limit(
        "notification-in",
        "GET",
        "/services/notification/in/",
        12,
        "find notifications for received invoices (Find Notifications on Invoices Received)",
    ),
)
UPLOADS = frozenset({UPLOAD.category, UPLOAD_SIGNED.category})


class TooManyRequests(SandboxError):
    status = 429
    code = "too_many_requests"


def install(bp: Blueprint, api: ArubaApi) -> None:
    """The gateway's checks run before every call of the blueprint (and before its authentication)."""
    sandbox = api.sandbox

    @bp.before_request
    def enforce_sla() -> Response | None:
        if not sandbox.config.aruba_sla:
            return None
        limit = limit_for(request.method, request.path)
        if limit is None:
            return None
        with sandbox.transaction() as session:
            wait = count_call(session, request.remote_addr or "unknown", limit, sandbox.clock.now())
        if wait is not None:
            response = render_error(TooManyRequests(rate_message(limit, wait)))
            response.headers["Retry-After"] = str(wait)
            return response
        if limit.category in UPLOADS:
            size = request.content_length
            check_upload_size(len(request.get_data(cache=True)) if size is None else size)
        return None


def limit_for(method: str, path: str) -> Limit | None:
    """The SLA category of a call, from its path below the provider's prefix (``/aruba``)."""
    start = path.find(SERVICES)
    if start < 0:
        return None
    service_path = path[start:]
    return next((limit for limit in LIMITS if limit.matches(method, service_path)), None)


def count_call(session: Session, client_ip: str, limit: Limit, now: datetime) -> int | None:
    """Count a call in its window; over the limit, the seconds to wait instead (the call is not counted)."""
    moment = now.astimezone(UTC)
    window_start = moment.replace(second=0, microsecond=0)
    row = session.get(ArubaSlaWindow, (client_ip, limit.category))
    if row is None:
        row = ArubaSlaWindow(client_ip=client_ip, category=limit.category, window_start=window_start, calls=0)
        session.add(row)
    elif row.window_start != window_start:
        row.window_start, row.calls = window_start, 0
    if row.calls >= limit.calls:
        return max(1, math.ceil((window_start + WINDOW - moment).total_seconds()))
    row.calls += 1
    return None


def rate_message(limit: Limit, wait: int) -> str:
    return (
        f"Too many requests: at most {limit.calls} requests per minute per IP to {limit.description}; "
        f"retry in {wait} seconds"
    )


def check_upload_size(body_bytes: int) -> None:
    if body_bytes > MAX_UPLOAD_BODY:
        raise PayloadTooLarge(
            f"Maximum upload size exceeded: the request body is {body_bytes} bytes, more than a file of "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MB in base64 can be ({MAX_UPLOAD_BODY} bytes)"
        )
