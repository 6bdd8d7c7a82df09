"""The inspector UI blueprint under /_sandbox/ui: server-rendered pages and POST-redirect-GET forms.

Thin: parse, call emulator.ui.service or emulator.control.service, render. Every error a user can
cause (a bad parameter, an unknown id, a transition the SDI does not make) is a 4xx page or a
message on the page it came from, never a 5xx.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from emulator.control import service as control
from emulator.core.errors import SandboxError
from emulator.core.http import json_response
from emulator.state import Sandbox
from emulator.ui import service

UI_PREFIX = "/_sandbox/ui"
CLOCK_PRESETS = (("1 h", 3600), ("1 d", 86400), ("15 d", 15 * 86400))
_MAX_NOTICES = 200


class _Notices:
    """Messages for the page a form redirects to (``?notice=<key>``): no session, no cookie needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def add(self, level: str, text: str) -> str:
        key = secrets.token_urlsafe(8)
        with self._lock:
            self._items[key] = (level, text[:2000])
            while len(self._items) > _MAX_NOTICES:
                self._items.popitem(last=False)
        return key

    def get(self, key: str | None) -> tuple[str, str] | None:
        if not key:
            return None
        with self._lock:
            return self._items.get(key)


def _form_str(name: str, *, default: str = "") -> str:
    value = request.form.get(name, default)
    return value.strip()


def ui_blueprint(sandbox: Sandbox) -> Blueprint:
    bp = Blueprint(
        "sandbox_ui",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    notices = _Notices()

    def page(template: str, *, status: int = 200, **context: Any) -> Response:
        with sandbox.transaction() as session:
            token = service.change_token(sandbox, session)
        notice = notices.get(request.args.get("notice"))
        base = {"now": service.fmt(sandbox.clock.now()), "frozen": sandbox.clock.frozen}
        body = render_template(template, **{**base, **context, "token": token, "notice": notice})
        response = Response(body, status=status, mimetype="text/html")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def back(endpoint: str, level: str | None = None, text: str = "", **values: Any) -> Response:
        if level is not None:
            values["notice"] = notices.add(level, text)
        response: Response = redirect(url_for(endpoint, **values), code=303)  # type: ignore[assignment]
        return response

    @bp.before_request
    def _same_origin_posts() -> None:
        # Forms change state: a POST from another site's page (CSRF) is refused.
        if request.method != "POST":
            return
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            raise SandboxError("Cross-site form posts are refused", status=403, code="forbidden")
        if request.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none"):
            raise SandboxError("Cross-site form posts are refused", status=403, code="forbidden")

    @bp.errorhandler(SandboxError)
    def _error(error: SandboxError) -> Response:
        return page("ui_error.html", status=error.status, error=error)

    @bp.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        mapped = SandboxError(error.description or error.name, status=error.code or 400, code=error.name)
        response = page("ui_error.html", status=mapped.status, error=mapped)
        for name, value in error.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        return response

    # -- home and clock ----------------------------------------------------------------------------

    @bp.get("/")
    def home() -> Response:
        with sandbox.transaction() as session:
            data = service.home(sandbox, session)
        return page("ui_home.html", presets=CLOCK_PRESETS, **data)

    @bp.post("/clock")
    def advance_clock() -> Response:
        raw = _form_str("seconds")
        try:
            seconds = float(raw)
        except ValueError:
            return back(".home", "error", f"Seconds must be a number, not {raw[:40]!r}")
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return back(".home", "error", "Seconds must be a finite number")
        try:
            amount = int(seconds) if seconds.is_integer() else seconds
            result = control.advance_clock(sandbox, {"advance_seconds": amount})
        except SandboxError as exc:
            return back(".home", "error", exc.message)
        return back(
            ".home",
            "ok",
            f"Virtual clock advanced by {raw} s: {result['events_processed']} due event(s) processed",
        )

    @bp.get("/reset")
    def confirm_reset() -> Response:
        return page("ui_reset.html")

    @bp.post("/reset")
    def reset() -> Response:
        if request.form.get("confirm") != "yes":
            return back(".confirm_reset", "error", "Tick the confirmation box to reset the sandbox")
        sandbox.reset()
        return back(".home", "ok", "Sandbox reset: all state is gone, the default accounts are back")

    # -- tenant ------------------------------------------------------------------------------------

    @bp.get("/tenants/<provider>/<tenant>")
    def tenant(provider: str, tenant: str) -> Response:
        query = service.TenantQuery.parse(request.args.to_dict())
        with sandbox.transaction() as session:
            account = service.find_account(session, provider, tenant)
            data = service.tenant_page(session, account, query)
        now = sandbox.clock.now()
        for job in data["jobs"]:
            job["state"] = service.job_state(job, now)
        return page("ui_tenant.html", states=service.STATES, directions=service.DIRECTIONS, **data)

    @bp.post("/tenants/<provider>/<tenant>/incoming")
    def incoming(provider: str, tenant: str) -> Response:
        with sandbox.transaction() as session:
            account = service.find_account(session, provider, tenant)
            recipient = (account.vat_numbers or account.fiscal_codes or [""])[0]
        raw_count = _form_str("count", default="1") or "1"
        target = {"provider": provider, "tenant": tenant}
        if not (raw_count.isascii() and raw_count.isdigit()) or len(raw_count) > 4:
            return back(".tenant", "error", "count must be a whole number", **target)
        payload = {
            "recipient": recipient,
            "count": int(raw_count),
            "signed": request.form.get("signed") in ("1", "on", "true"),
            "pa": request.form.get("pa") in ("1", "on", "true"),
        }
        try:
            with sandbox.transaction() as session:
                result = control.create_incoming(sandbox, session, payload)
        except SandboxError as exc:
            return back(".tenant", "error", exc.message, **target)
        names = ", ".join(i["file_name"] for i in result["invoices"][:5])
        more = "…" if len(result["invoices"]) > 5 else ""
        text = f"Delivered {len(result['invoices'])} incoming invoice(s): {names}{more}"
        return back(".tenant", "ok", text, **target)

    # -- invoice -----------------------------------------------------------------------------------

    @bp.get("/invoices/<int:sdi_id>")
    def invoice(sdi_id: int) -> Response:
        with sandbox.transaction() as session:
            data = service.invoice_page(session, service.find_invoice(session, sdi_id))
        return page("ui_invoice.html", forcible=service.FORCIBLE, **data)

    @bp.get("/invoices/<int:sdi_id>/rendered")
    def rendered(sdi_id: int) -> Response:
        with sandbox.transaction() as session:
            html = service.rendered_invoice(service.find_invoice(session, sdi_id))
        response = Response(html, mimetype="text/html")
        # Attacker-controlled text: no script, no network, an opaque origin even if opened directly.
        response.headers["Content-Security-Policy"] = (
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @bp.get("/invoices/<int:sdi_id>/xml")
    def invoice_xml(sdi_id: int) -> Response:
        with sandbox.transaction() as session:
            invoice = service.find_invoice(session, sdi_id)
            content, name = invoice.xml or invoice.content, invoice.file_name
        return _download(content, name.removesuffix(".p7m"))

    @bp.post("/invoices/<int:sdi_id>/force")
    def force(sdi_id: int) -> Response:
        kind = _form_str("type").upper()
        code = _form_str("code")
        payload: dict[str, Any] = {"invoice": str(sdi_id), "type": kind}
        if kind == "NS" and code:
            payload["errors"] = [{"code": code}]
        try:
            with sandbox.transaction() as session:
                service.find_invoice(session, sdi_id)
                result = control.force_notification(sandbox, session, payload, sandbox.invoice_resolvers)
        except SandboxError as exc:
            if exc.status == 404:
                raise
            return back(".invoice", "error", f"Cannot force {kind or '?'}: {exc.message}", sdi_id=sdi_id)
        return back(
            ".invoice",
            "ok",
            f"Forced {result['type']} ({result['file_name']}): the invoice is now {result['state']}",
            sdi_id=sdi_id,
        )

    @bp.get("/notifications/<int:notification_id>")
    def notification(notification_id: int) -> Response:
        with sandbox.transaction() as session:
            found = service.find_notification(session, notification_id)
            data: dict[str, Any] = {
                "notification": service.notification_view(found),
                "xml": service.pretty_xml(found.content),
                "invoice": service.invoice_summary(found.invoice),
            }
        return page("ui_notification.html", **data)

    @bp.get("/notifications/<int:notification_id>/xml")
    def notification_xml(notification_id: int) -> Response:
        with sandbox.transaction() as session:
            found = service.find_notification(session, notification_id)
            content, name = found.content, found.file_name
        return _download(content, name)

    # -- journal -----------------------------------------------------------------------------------

    @bp.get("/journal")
    def journal() -> Response:
        query = service.JournalQuery.parse(request.args.to_dict(), sandbox.provider_names)
        with sandbox.transaction() as session:
            data = service.journal_page(session, query)
        return page("ui_journal.html", providers=sandbox.provider_names, **data)

    @bp.get("/journal/<int:entry_id>")
    def journal_entry(entry_id: int) -> Response:
        with sandbox.transaction() as session:
            entry = service.find_journal_entry(session, entry_id)
        return page("ui_journal_entry.html", entry=entry)

    # -- live updates ------------------------------------------------------------------------------

    @bp.get("/changes")
    def changes() -> Response:
        since = request.args.get("since", "")
        with sandbox.transaction() as session:
            token = service.change_token(sandbox, session)
        response = json_response({"token": token, "changed": token != since})
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.route("/<path:_rest>", methods=["GET", "POST"])
    def not_found(_rest: str) -> Response:
        raise SandboxError("No such page in the sandbox inspector", status=404, code="not_found")

    return bp


def _download(content: bytes, name: str) -> Response:
    # Plain text, never sniffed: an XML file with a script in it is only ever shown as text.
    response = Response(content, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    safe = "".join(c for c in name if c.isalnum() or c in "._-")[:150] or "file.xml"
    response.headers["Content-Disposition"] = f'inline; filename="{safe}"'
    return response


__all__ = ["UI_PREFIX", "ui_blueprint"]
