"""Find invoices, sent (§8) and received (§9): one implementation serves both boxes.

``direction`` is "out" (the account's uploads, §8) or "in" (the files the SDI delivered to it, §9);
an invoice of another account, or of the other box, is not found (404) as if it did not exist.

findByUsername (§8.2, §9.1) decisions where the document is silent:

- ``username`` other than the token's: 403 Forbidden ("must match" is an authorisation rule).
- Premium users (several fiscal ids under one login) must name the party: countrySender and
  vatcodeSender on the sent box, countryReceiver and vatcodeReceiver on the received box (400
  without them); that party must be one of the account's own VAT numbers (country IT), else 403.
  For other users the six party parameters are plain filters. Filters are exact matches on the
  party as it appears on the invoice; the country code is compared without regard to case.
- ``startDate``/``endDate`` filter the creation date (when Aruba took the file), both inclusive; a
  day covers the whole day in Europe/Rome.
- Newest first: creation date descending, then id descending.
- ``page`` must lie between 1 and totalPages; with nothing found only page 1 exists (totalPages 0).
  ``size`` between 1 and 100. Both are 400 outside their range. The count and the page are SQL
  (COUNT, LIMIT/OFFSET), and the listed rows are read without file contents.

getByFilename / getByInvoiceId: ``includePdf`` renders the invoice (a p7m is opened first) with the
sandbox's renderer; a file that cannot be rendered gives ``"pdfFile": null`` (the call succeeds).
The file name is matched exactly (case included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, defer, selectinload

from emulator.core.errors import BadRequest, Forbidden, NotFound
from emulator.core.tenancy import Account
from emulator.providers.aruba.models import ArubaInvoice
from emulator.providers.aruba.params import Moment
from emulator.providers.aruba.records import IN, OUT, owned_by
from emulator.providers.aruba.views import invoice_view, page_view, total_pages
from emulator.sdi.models import SdiInvoice, SdiNotification
from emulator.sdi.rendering import render_pdf
from emulator.sdi.signing import unwrap_p7m

MAX_PAGE_SIZE = 100
# Query parameter -> (party column, key of the Company object).
PARTY_FILTERS: dict[str, tuple[str, str]] = {
    "countrySender": ("sender", "countryCode"),
    "vatcodeSender": ("sender", "vatCode"),
    "fiscalcodeSender": ("sender", "fiscalCode"),
    "countryReceiver": ("receiver", "countryCode"),
    "vatcodeReceiver": ("receiver", "vatCode"),
    "fiscalcodeReceiver": ("receiver", "fiscalCode"),
}
# The party a Premium user must name, per box: (country parameter, VAT parameter).
PREMIUM_PARTY = {OUT: ("countrySender", "vatcodeSender"), IN: ("countryReceiver", "vatcodeReceiver")}
USERNAME_MISMATCH = "The username must match the one with which the security token was requested"


@dataclass(frozen=True)
class FindQuery:
    """The parameters of findByUsername, converted (``parties``: the party filters given)."""

    username: str
    page: int = 1
    size: int = 10
    start: Moment | None = None
    end: Moment | None = None
    parties: Mapping[str, str] = field(default_factory=dict)


def find_by_username(session: Session, account: Account, direction: str, query: FindQuery) -> dict[str, Any]:
    """findByUsername (§8.2, §9.1): a page of the box, newest first, without file contents."""
    if query.username != account.username:
        raise Forbidden(USERNAME_MISMATCH)
    _check_premium(account, direction, query.parties)
    if not 1 <= query.size <= MAX_PAGE_SIZE:
        raise BadRequest(f"size must be between 1 and {MAX_PAGE_SIZE}")
    if query.page < 1:
        raise BadRequest("page must be between 1 and totalPages")
    selection = _filtered(owned_by(account, direction), query)
    total = session.execute(select(func.count()).select_from(selection.subquery())).scalar_one()
    pages = total_pages(total, query.size)
    if query.page > max(pages, 1):
        raise BadRequest(f"page must be between 1 and totalPages ({pages})")
    rows = session.execute(
        selection.options(*_listing_options())
        .order_by(ArubaInvoice.created_at.desc(), ArubaInvoice.id.desc())
        .limit(query.size)
        .offset((query.page - 1) * query.size)
    ).scalars()
    items = [invoice_view(row, username=account.username, include_file=False) for row in rows]
    return page_view(items, total=total, page=query.page, size=query.size)


def _check_premium(account: Account, direction: str, parties: Mapping[str, str]) -> None:
    if not account.profile.get("premium"):
        return
    country_key, vat_key = PREMIUM_PARTY[direction]
    country, vat = parties.get(country_key), parties.get(vat_key)
    if not country or not vat:
        raise BadRequest(f"{country_key} and {vat_key} are mandatory for a Premium user")
    if country.upper() != "IT" or not account.owns(vat, None):
        raise Forbidden(f"The VAT number {country}{vat} does not belong to the user {account.username}")


def _filtered(selection: Select[ArubaInvoice], query: FindQuery) -> Select[ArubaInvoice]:
    for name, value in query.parties.items():
        column, key = PARTY_FILTERS[name]
        stored = getattr(ArubaInvoice, column)[key].as_string()
        if key == "countryCode":
            selection = selection.where(func.upper(stored) == value.upper())
        else:
            selection = selection.where(stored == value)
    if query.start is not None:
        selection = selection.where(ArubaInvoice.created_at >= query.start.instant)
    end = query.end.end if query.end is not None else None
    if end is not None:
        selection = selection.where(ArubaInvoice.created_at <= end)
    return selection


def _listing_options() -> list[Any]:
    """What a listed row needs (status, last update) without any file's bytes."""
    return [
        defer(ArubaInvoice.content),
        selectinload(ArubaInvoice.invoice).options(
            defer(SdiInvoice.content),
            defer(SdiInvoice.xml),
            selectinload(SdiInvoice.notifications).options(defer(SdiNotification.content)),
        ),
    ]


# -- one invoice ---------------------------------------------------------------------------------


def find_invoice(
    session: Session,
    account: Account,
    direction: str,
    *,
    filename: str | None = None,
    invoice_id: int | None = None,
) -> ArubaInvoice:
    """The account's invoice in this box with that file name and/or id; 404 otherwise."""
    selection = owned_by(account, direction)
    wanted = []
    if filename is not None:
        selection = selection.where(ArubaInvoice.filename == filename)
        wanted.append(f"filename {filename}")
    if invoice_id is not None:
        selection = selection.where(ArubaInvoice.id == invoice_id)
        wanted.append(f"id {invoice_id}")
    row = session.execute(selection.order_by(ArubaInvoice.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        raise NotFound("Invoice not found: " + ", ".join(wanted))
    return row


def get_by_filename(
    session: Session,
    account: Account,
    direction: str,
    filename: str,
    *,
    include_pdf: bool,
    include_file: bool,
) -> dict[str, Any]:
    """getByFilename (§8.3, §9.2)."""
    row = find_invoice(session, account, direction, filename=filename)
    return _detail(row, account, include_pdf=include_pdf, include_file=include_file, error_code=None)


def get_by_invoice_id(
    session: Session,
    account: Account,
    direction: str,
    invoice_id: int,
    *,
    include_pdf: bool,
    include_file: bool,
) -> dict[str, Any]:
    """getByInvoiceId (§8.5, §9.4): as getByFilename, with ``errorCode`` "0000" as its example."""
    row = find_invoice(session, account, direction, invoice_id=invoice_id)
    return _detail(row, account, include_pdf=include_pdf, include_file=include_file, error_code="0000")


def _detail(
    row: ArubaInvoice, account: Account, *, include_pdf: bool, include_file: bool, error_code: str | None
) -> dict[str, Any]:
    return invoice_view(
        row,
        username=account.username,
        include_file=include_file,
        pdf=pdf_of(row) if include_pdf else None,
        error_code=error_code,
        include_pdf=include_pdf,
    )


def invoice_xml(row: ArubaInvoice) -> bytes | None:
    """The invoice's XML: what the SDI read, or the stored file opened when it is a p7m."""
    if row.invoice is not None and row.invoice.xml is not None:
        return row.invoice.xml
    if row.filename.lower().endswith(".p7m"):
        try:
            return unwrap_p7m(row.content)
        except ValueError:
            return None
    return row.content


def pdf_of(row: ArubaInvoice) -> bytes | None:
    xml = invoice_xml(row)
    if xml is None:
        return None
    try:
        return render_pdf(xml)
    except ValueError:
        return None
