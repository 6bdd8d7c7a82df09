"""Routes of the finds, both boxes: invoices sent (§8) and received (§9), their notifications (§11, §12).

``/services/invoice/{out,in}/...`` and ``/services/notification/{out,in}/...``: the same handlers
serve both directions. Parameters are bound as Spring binds them (``params``), then one service
call (``finding``, ``notices``, ``packages``) answers. Zips are ``application/zip`` attachments with
``Accept-Ranges: bytes``, and a ``Range`` request gets its part (206), as a static resource would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.aruba import finding, notices, packages, params
from emulator.providers.aruba.records import IN, OUT

if TYPE_CHECKING:
    from emulator.providers.aruba.routes import ArubaApi

Handler = Callable[..., Response]


def install(bp: Blueprint, api: ArubaApi) -> None:
    """Add the find routes of both boxes."""
    for direction in (OUT, IN):
        _install_box(bp, api, direction)


def _route(bp: Blueprint, api: ArubaApi, rule: str, name: str, handler: Handler) -> None:
    """A GET route: authenticate first (401 before any 400), then bind and answer."""

    def view(**path: str) -> Response:
        return api.authenticated(lambda session, account: handler(session, account, **path))

    bp.add_url_rule(rule, endpoint=name, view_func=view, methods=["GET"])


def _install_box(bp: Blueprint, api: ArubaApi, direction: str) -> None:
    invoices, notifications = f"/services/invoice/{direction}", f"/services/notification/{direction}"

    def find_by_username(s: Session, a: Account) -> Response:
        return json_response(finding.find_by_username(s, a, direction, find_query()))

    def get_by_filename(s: Session, a: Account) -> Response:
        filename = params.required_text(request.args, "filename")
        pdf, file = include_flags()
        return json_response(
            finding.get_by_filename(s, a, direction, filename, include_pdf=pdf, include_file=file)
        )

    def get_by_invoice_id(s: Session, a: Account, invoice_id: str) -> Response:
        number = params.path_long("invoiceId", invoice_id)
        pdf, file = include_flags()
        return json_response(
            finding.get_by_invoice_id(s, a, direction, number, include_pdf=pdf, include_file=file)
        )

    def get_zip_by_filename(s: Session, a: Account) -> Response:
        filename = params.required_text(request.args, "filename")
        return download(packages.get_zip_by_filename(s, a, direction, filename))

    def pdd(s: Session, a: Account) -> Response:
        name = params.optional_text(request.args, "invoiceFilename")
        number = params.optional_long(request.args, "invoiceId")
        return download(packages.pdd(s, a, direction, invoice_filename=name, invoice_id=number))

    def notification_by_filename(s: Session, a: Account) -> Response:
        filename = params.required_text(request.args, "filename")
        return json_response(notices.get_by_filename(s, a, direction, filename))

    def notifications_by_invoice_filename(s: Session, a: Account) -> Response:
        filename = params.required_text(request.args, "invoiceFilename")
        return json_response(notices.get_by_invoice_filename(s, a, direction, filename))

    def notifications_by_invoice_id(s: Session, a: Account, invoice_id: str) -> Response:
        number = params.path_long("invoiceId", invoice_id)
        return json_response(notices.get_by_invoice_id(s, a, direction, number))

    for rule, handler in (
        (f"{invoices}/findByUsername", find_by_username),
        (f"{invoices}/getByFilename", get_by_filename),
        (f"{invoices}/getZipByFilename", get_zip_by_filename),
        (f"{invoices}/pdd", pdd),
        (f"{invoices}/<invoice_id>", get_by_invoice_id),
        (f"{notifications}/getByFilename", notification_by_filename),
        (f"{notifications}/getByInvoiceFilename", notifications_by_invoice_filename),
        (f"{notifications}/<invoice_id>", notifications_by_invoice_id),
    ):
        _route(bp, api, rule, f"{direction}_{handler.__name__}", handler)


def find_query() -> finding.FindQuery:
    query = request.args
    return finding.FindQuery(
        username=params.required_text(query, "username"),
        page=params.optional_int(query, "page", 1),
        size=params.optional_int(query, "size", 10),
        start=params.optional_moment(query, "startDate"),
        end=params.optional_moment(query, "endDate"),
        parties={
            name: value
            for name in finding.PARTY_FILTERS
            if (value := params.optional_text(query, name)) is not None
        },
    )


def include_flags() -> tuple[bool, bool]:
    """(includePdf, includeFile) with the documented defaults, false and true."""
    return (
        params.optional_bool(request.args, "includePdf", False),
        params.optional_bool(request.args, "includeFile", True),
    )


def download(package: packages.Download) -> Response:
    response = Response(
        package.content,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{package.filename}"'},
    )
    response.make_conditional(request, accept_ranges=True, complete_length=len(package.content))
    # Werkzeug stamps the wall-clock time here; the server adds its own Date as on every answer.
    response.headers.pop("Date", None)
    return response
