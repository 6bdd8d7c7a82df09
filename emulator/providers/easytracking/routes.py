"""Easy Tracking HTTP routes: active cycle (routes v2–v4), passive cycle (routes v2–v10).

Parse, call one service function, serialise. Each call exists from the route that introduced it
(the documents' version tables); any other route is a 404.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, Unauthorized
from emulator.core.http import json_body, json_response
from emulator.core.tenancy import Account
from emulator.core.versions import VersionedCache
from emulator.providers.easytracking import auth, jobs, listing, passive, service
from emulator.providers.easytracking.queries import list_query, parse_top, passive_query
from emulator.state import Sandbox

ALL_ROUTES = "<any(v2, v3, v4):route>"
# InvoiceNotifications lists, jobs, active-invoices and the fase methods arrived with route v3.
V3_ROUTES = "<any(v3, v4):route>"
BY = "<any('doc-id', 'progressivo-invio'):by>"
# The passive document: v2 lists and jobs, v3 fase calls, v5 jobs-select-type, v9 new list fields.
PASSIVE_ROUTES = "<any(v2, v3, v4, v5, v6, v7, v8, v9, v10):route>"
PASSIVE_V3_ROUTES = "<any(v3, v4, v5, v6, v7, v8, v9, v10):route>"
PASSIVE_V5_ROUTES = "<any(v5, v6, v7, v8, v9, v10):route>"


def easytracking_blueprint(sandbox: Sandbox) -> Blueprint:
    bp = Blueprint("easytracking", __name__)
    settings = sandbox.config

    gate = auth.Gate(sandbox.versions)
    # What clients poll most: each answer is kept while nothing it shows has changed.
    statuses: VersionedCache[tuple[int, str], bytes] = VersionedCache(
        sandbox.versions, *service.STATUS_TABLES
    )

    def authenticated(call: Callable[[Session, Account], Response]) -> Response:
        """Authenticate first (401 before any 400, as ASP.NET's authorization filter does), then call."""
        with sandbox.transaction() as session:
            authorization = request.headers.get("Authorization")
            account = gate.authenticate(session, authorization, now=sandbox.clock.now())
            return call(session, account)

    def acknowledged(action: Callable[[Session, Account], None]) -> Response:
        """Calls whose success is a bare 200."""

        def call(session: Session, account: Account) -> Response:
            action(session, account)
            return Response(status=200)

        return authenticated(call)

    @bp.post("/api/Token/AccessToken")
    def access_token() -> Response:
        # The document gives this call only 200 and 401: an unreadable body is refused as a 401 too.
        try:
            payload = json_body(required=False)
        except BadRequest as exc:
            raise Unauthorized(exc.message) from None
        with sandbox.transaction() as session:
            token = auth.access_token(
                session, payload, now=sandbox.clock.now(), lifetime=settings.easytracking_token_seconds
            )
        return json_response(token)

    @bp.post(f"/api/{ALL_ROUTES}/ActiveInvoices")
    def upload(route: str) -> Response:
        return authenticated(
            lambda s, a: json_response(
                {"progressivoInvio": service.upload_invoice(s, sandbox.engine, a, route, request.get_data())}
            )
        )

    @bp.get(f"/api/{ALL_ROUTES}/InvoiceNotifications")
    def invoice_notifications(route: str) -> Response:
        progressivo = request.args.get("progressivoInvio") or ""
        account_id = gate.known_account_id(request.headers.get("Authorization"), now=sandbox.clock.now())
        known = None if account_id is None else statuses.peek((account_id, progressivo))
        if known is not None:  # nothing to mark as taken: a new notification would have changed it
            return Response(known, mimetype="application/xml")

        def read(session: Session, account: Account) -> Response:
            key = (account.id, progressivo)
            answer = statuses.get(key, lambda: service.invoice_notifications(session, account, progressivo))
            return Response(answer, mimetype="application/xml")

        return authenticated(read)

    @bp.get(f"/api/{V3_ROUTES}/InvoiceNotifications/new-active-notifications")
    def new_active_notifications(route: str) -> Response:
        args = request.args
        return authenticated(
            lambda s, a: json_response(
                service.new_active_notifications(
                    s,
                    a,
                    owner_vat=args.get("ownerPIVA") or None,
                    owner_cf=args.get("ownerCF") or None,
                    top=parse_top(args),
                )
            )
        )

    @bp.post(f"/api/{V3_ROUTES}/InvoiceNotifications/jobs")
    def book_notifications(route: str) -> Response:
        return authenticated(
            lambda s, a: job_booked(
                service.book_notifications(
                    s, sandbox.engine, a, json_body(), settings.easytracking_job_seconds
                )
            )
        )

    @bp.get(f"/api/{V3_ROUTES}/InvoiceNotifications/jobs/<job_id>")
    def download_notifications(route: str, job_id: str) -> Response:
        return authenticated(
            lambda s, a: job_download(
                service.download_job(s, sandbox.engine, a, job_id, service.NOTIFICATIONS_JOB)
            )
        )

    @bp.post(f"/api/{V3_ROUTES}/InvoiceNotifications/set-notifications-as-got")
    def set_notifications_as_got(route: str) -> Response:
        return acknowledged(lambda s, a: service.set_notifications_as_got(s, a, json_body()))

    @bp.get(f"/api/{V3_ROUTES}/DownloadInvoices/active-invoices")
    def active_invoices(route: str) -> Response:
        return authenticated(
            lambda s, a: json_pieces(listing.active_invoices(s, a, list_query(request.args)))
        )

    @bp.post(f"/api/{V3_ROUTES}/DownloadInvoices/active/{BY}/jobs")
    def book_invoices(route: str, by: str) -> Response:
        delay = settings.easytracking_job_seconds
        return authenticated(
            lambda s, a: job_booked(
                service.book_invoices(s, sandbox.engine, a, json_body(), by=by, delay=delay)
            )
        )

    @bp.get(f"/api/{V3_ROUTES}/DownloadInvoices/active/jobs/<job_id>")
    def download_invoices(route: str, job_id: str) -> Response:
        return authenticated(
            lambda s, a: job_download(
                service.download_job(s, sandbox.engine, a, job_id, service.INVOICES_JOB)
            )
        )

    @bp.post(f"/api/{V3_ROUTES}/ActiveInvoices/{BY}/<any(set, clear):action>-fase-<any('1', '2'):fase>")
    def fase(route: str, by: str, action: str, fase: str) -> Response:
        return acknowledged(
            lambda s, a: service.set_fase(s, a, json_body(), by=by, fase=int(fase), value=action == "set")
        )

    # -- passive cycle ----------------------------------------------------------------------------

    @bp.get(f"/api/{PASSIVE_ROUTES}/DownloadInvoices/passive-invoices")
    def passive_invoices(route: str) -> Response:
        return authenticated(
            lambda s, a: json_pieces(
                passive.passive_invoices(s, a, route, passive_query(request.args, route))
            )
        )

    @bp.post(f"/api/{PASSIVE_ROUTES}/DownloadInvoices/jobs")
    def book_passive_invoices(route: str) -> Response:
        delay = settings.easytracking_job_seconds
        return authenticated(
            lambda s, a: job_booked(passive.book(s, sandbox.engine, a, route, json_body(), delay))
        )

    @bp.post(f"/api/{PASSIVE_V5_ROUTES}/DownloadInvoices/jobs-select-type")
    def book_passive_invoices_by_type(route: str) -> Response:
        delay = settings.easytracking_job_seconds
        return authenticated(
            lambda s, a: job_booked(passive.book_select_type(s, sandbox.engine, a, json_body(), delay))
        )

    @bp.get(f"/api/{PASSIVE_ROUTES}/DownloadInvoices/jobs/<job_id>")
    def download_passive_invoices(route: str, job_id: str) -> Response:
        return authenticated(lambda s, a: job_download(passive.download(s, sandbox.engine, a, job_id)))

    @bp.post(f"/api/{PASSIVE_V3_ROUTES}/PassiveInvoices/<any(set, clear):action>-fase-<any('1', '2'):fase>")
    def passive_fase(route: str, action: str, fase: str) -> Response:
        return acknowledged(
            lambda s, a: passive.set_fase(s, a, json_body(), fase=int(fase), value=action == "set")
        )

    return bp


def json_pieces(pieces: list[bytes]) -> Response:
    """A JSON body built in pieces (the large lists), sent without joining them."""
    return Response(pieces, status=200, mimetype="application/json")


def job_booked(job_id: str) -> Response:
    return json_response({"jobId": job_id}, status=202)


def job_download(download: jobs.JobDownload) -> Response:
    if not download.ready:
        return json_response({"message": "Job in progress"}, status=202)
    return Response(download.content, status=200, mimetype="application/octet-stream")
