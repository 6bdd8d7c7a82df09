"""A-Cube's invoice collection: the filters of ``GET /invoices``, ``GET /invoices/draft`` and
``GET /invoices/report``, the JSON page, the zip of a page and the report.

The query is parsed once (``parse_filter``) into an ``InvoiceFilter``: a list of predicates, an
order and a page. Each predicate is one description read two ways: as a SQL condition on
``AcubeInvoice`` (``sql()``; the invoice collection and the report filter, order and page in SQL)
and as a test of an ``AcubeInvoice`` row in memory (``test()``; the drafts, whose rows are
transient). In both readings a comparison with a missing value (NULL / None) is false.

The collection is a plain JSON array, 30 invoices a page, oldest first (by id) unless ordered;
``page`` from 1.

- ``created_at[...]`` take a date (midnight, Rome time) or an ISO date-time (Rome time when it has
  no offset); ``before``/``after`` include the instant, ``strictly_*`` do not.
- ``invoice_date[...]`` compare the invoice's date (DatiGeneraliDocumento.Data) with the same
  kind of value: a date-time that is not midnight stands between its day and the next.
- ``sender`` and ``recipient`` match a VAT number or a fiscal code, several comma-separated;
  ``sender|recipient.business_vat_number_code`` and ``.business_fiscal_code`` (and their ``[]``
  forms) match one of the values exactly (case aside); ``sender|recipient.business_name`` is a
  case-insensitive "contains" on the name (the Denominazione, or "Nome Cognome").
- ``signed`` (file name ending ``.p7m``), ``downloaded``, ``stamp`` and ``toPa`` are booleans:
  ``true``/``false``/``1``/``0``, anything else is 400 (API Platform's boolean filter).
- ``rejectedToFix=true``: marking "rejected" and not archived with archive-rejected; ``false``: not so.
- ``marking``/``marking[]``, ``document_type``/``document_type[]``: one of the values; a marking
  that is none of the contract's (``records.MARKINGS``) is 400.
- ``order[invoice_date]``/``order[invoice_number]``: ``asc``/``desc``, in the order of the query,
  then by id; a missing value comes first ascending, last descending (SQLite's order).

A query parameter the collection does not know is ignored, as API Platform does.

Zip (``Accept: application/zip``): the page's invoices, one file each, named by its SDI file name
(the A-Cube file name while the SDI does not have it yet), its content the file as sent to or
received from the SDI (``GET /invoices/{uuid}`` as ``application/octet-stream``). Should two
invoices of a page share a name (an invoice the account sent to itself), the second is prefixed
with its uuid.

Report: one row per invoice of the page (contract's InvoiceReport): uuid, type, marking, number,
date, document type, the parties' VAT numbers and names, the total (ImportoTotaleDocumento of the
first body, as written) and created_at.
"""

from __future__ import annotations

import io
import operator
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import Boolean, ColumnElement, Select, and_, false, func, not_, or_, true
from sqlalchemy.orm import Session

from emulator.core.clock import ROME
from emulator.core.errors import BadRequest
from emulator.core.tenancy import Account
from emulator.providers.acube import records
from emulator.providers.acube.models import AcubeInvoice
from emulator.providers.acube.service import invoice_view
from emulator.sdi.fatturapa import parse_invoice_or_none
from emulator.sdi.models import SdiInvoice

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

    QueryArgs = MultiDict[str, str]

T = TypeVar("T")

PAGE_SIZE = 30
REJECTED = "rejected"

Comparison = Callable[[Any, Any], Any]
DATE_FILTERS: dict[str, Comparison] = {
    "before": operator.le,
    "strictly_before": operator.lt,
    "after": operator.ge,
    "strictly_after": operator.gt,
}
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
DIRECTIONS = ("asc", "desc")


# -- predicates: one description, read as SQL and in memory ---------------------------------------


@dataclass(frozen=True)
class Field:
    """A property of an invoice: its SQL expression and how to read it from a row."""

    sql: ColumnElement[Any]
    read: Callable[[AcubeInvoice], Any]


def column(attribute: Any) -> Field:
    key: str = attribute.key
    return Field(attribute, lambda row: getattr(row, key))


SIGNED = Field(
    func.lower(AcubeInvoice.file_name).like("%.p7m"),
    lambda row: (row.file_name or "").lower().endswith(".p7m"),
)
FIELDS: dict[str, Field] = {
    "created_at": column(AcubeInvoice.created_at),
    "invoice_date": column(AcubeInvoice.invoice_date),
    "invoice_number": column(AcubeInvoice.invoice_number),
    "type": column(AcubeInvoice.type),
    "signed": SIGNED,
    "downloaded": column(AcubeInvoice.downloaded),
    "stamp": column(AcubeInvoice.stamp),
    "toPa": column(AcubeInvoice.to_pa),
    "document_type": column(AcubeInvoice.document_type),
    "archived_at": column(AcubeInvoice.archived_at),
    "sender.business_name": column(AcubeInvoice.sender_name),
    "sender.business_vat_number_code": column(AcubeInvoice.sender_vat),
    "sender.business_fiscal_code": column(AcubeInvoice.sender_cf),
    "recipient.business_name": column(AcubeInvoice.recipient_name),
    "recipient.business_vat_number_code": column(AcubeInvoice.recipient_vat),
    "recipient.business_fiscal_code": column(AcubeInvoice.recipient_cf),
}


class Predicate(Protocol):
    def sql(self) -> ColumnElement[bool]:
        """The condition on ``AcubeInvoice`` (the query joins ``SdiInvoice`` outer)."""

    def test(self, row: AcubeInvoice, marking: str) -> bool:
        """Whether the row (whose marking is given) matches."""


@dataclass(frozen=True)
class Compare:
    field: Field
    compare: Comparison
    value: Any

    def sql(self) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = self.compare(self.field.sql, self.value)
        return condition

    def test(self, row: AcubeInvoice, marking: str) -> bool:
        value = self.field.read(row)
        return value is not None and bool(self.compare(value, self.value))


@dataclass(frozen=True)
class OneOf:
    field: Field
    values: tuple[Any, ...]

    def sql(self) -> ColumnElement[bool]:
        return self.field.sql.in_(self.values)

    def test(self, row: AcubeInvoice, marking: str) -> bool:
        value = self.field.read(row)
        return value is not None and value in self.values


@dataclass(frozen=True)
class Contains:
    """Case-insensitive: the field's text contains ``term``."""

    field: Field
    term: str

    def sql(self) -> ColumnElement[bool]:
        return func.lower(self.field.sql).contains(self.term.lower(), autoescape=True)

    def test(self, row: AcubeInvoice, marking: str) -> bool:
        value = self.field.read(row)
        return value is not None and self.term.lower() in str(value).lower()


@dataclass(frozen=True)
class IsNull:
    field: Field

    def sql(self) -> ColumnElement[bool]:
        return self.field.sql.is_(None)

    def test(self, row: AcubeInvoice, marking: str) -> bool:
        return self.field.read(row) is None


@dataclass(frozen=True)
class MarkingIn:
    values: tuple[str, ...]

    def sql(self) -> ColumnElement[bool]:
        return or_(false(), *(records.marking_condition(m) for m in self.values))

    def test(self, row: AcubeInvoice, marking: str) -> bool:
        return marking in self.values


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Predicate, ...]

    def sql(self) -> ColumnElement[bool]:
        return or_(false(), *(p.sql() for p in self.parts))

    def test(self, row: AcubeInvoice, marking: str) -> bool:
        return any(p.test(row, marking) for p in self.parts)


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Predicate, ...]

    def sql(self) -> ColumnElement[bool]:
        return and_(true(), *(p.sql() for p in self.parts))

    def test(self, row: AcubeInvoice, marking: str) -> bool:
        return all(p.test(row, marking) for p in self.parts)


@dataclass(frozen=True)
class Not:
    """NULL counts as false before negating, as a missing value does in ``test``."""

    part: Predicate

    def sql(self) -> ColumnElement[bool]:
        return not_(func.coalesce(self.part.sql(), false(), type_=Boolean))

    def test(self, row: AcubeInvoice, marking: str) -> bool:
        return not self.part.test(row, marking)


# -- the filter -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceFilter:
    predicates: tuple[Predicate, ...]
    order: tuple[tuple[Field, bool], ...]  # (field, descending), most significant first
    page: int

    def sql(self) -> ColumnElement[bool]:
        return AllOf(self.predicates).sql()

    def test(self, row: AcubeInvoice, marking: str) -> bool:
        return AllOf(self.predicates).test(row, marking)

    def select(self, account: Account) -> Select[AcubeInvoice]:
        """The account's invoices of the page, in SQL."""
        query: Select[AcubeInvoice] = records.owned_by(account).outerjoin(
            SdiInvoice, AcubeInvoice.invoice_id == SdiInvoice.id
        )
        order = [field.sql.desc() if descending else field.sql.asc() for field, descending in self.order]
        return (
            query.where(self.sql())
            .order_by(*order, AcubeInvoice.id)
            .offset((self.page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )

    def page_of(
        self,
        items: Iterable[T],
        row_of: Callable[[T], AcubeInvoice],
        marking_of: Callable[[AcubeInvoice], str],
    ) -> list[T]:
        """The page of ``items`` (already in id order) that match, in memory."""
        selected = [item for item in items if self.test(row_of(item), marking_of(row_of(item)))]
        for field, descending in reversed(self.order):  # stable sorts, least significant first
            selected.sort(key=lambda item: _sort_key(field.read(row_of(item))), reverse=descending)
        start = (self.page - 1) * PAGE_SIZE
        return selected[start : start + PAGE_SIZE]


def _sort_key(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else "")


def parse_filter(args: QueryArgs) -> InvoiceFilter:
    """The query of the collection → its filter; BadRequest (400) naming a parameter and its value."""
    predicates: list[Predicate] = []
    for key, compare in DATE_FILTERS.items():
        name = f"created_at[{key}]"
        if (value := _single(args, name)) is not None:
            predicates.append(Compare(FIELDS["created_at"], compare, _instant(name, value)))
        name = f"invoice_date[{key}]"
        if (value := _single(args, name)) is not None:
            predicates.append(_invoice_date(key, _instant(name, value)))
    if number := _single(args, "invoice_number"):
        predicates.append(Compare(FIELDS["invoice_number"], operator.eq, number))
    for name in ("signed", "downloaded", "stamp", "toPa"):
        if (value := _single(args, name)) is not None:
            predicates.append(Compare(FIELDS[name], operator.eq, _boolean(name, value)))
    if (value := _single(args, "type")) is not None:
        if value not in ("0", "1"):
            raise BadRequest(f'The value "{value}" of "type" is not valid: use 0 or 1.')
        predicates.append(Compare(FIELDS["type"], operator.eq, int(value)))
    for party in ("sender", "recipient"):
        predicates.extend(_party_filters(args, party))
    if (value := _single(args, "rejectedToFix")) is not None:
        to_fix = AllOf((MarkingIn((REJECTED,)), IsNull(FIELDS["archived_at"])))
        predicates.append(to_fix if _boolean("rejectedToFix", value) else Not(to_fix))
    if markings := _markings(args):
        predicates.append(MarkingIn(markings))
    if document_types := _values(args, "document_type"):
        predicates.append(OneOf(FIELDS["document_type"], document_types))
    return InvoiceFilter(tuple(predicates), _order(args), _page(_single(args, "page")))


def _party_filters(args: QueryArgs, party: str) -> list[Predicate]:
    found: list[Predicate] = []
    vat, cf = FIELDS[f"{party}.business_vat_number_code"], FIELDS[f"{party}.business_fiscal_code"]
    if value := _single(args, party):
        ids = tuple(v.strip().upper() for v in value.split(",") if v.strip())
        if ids:
            found.append(AnyOf((OneOf(vat, ids), OneOf(cf, ids))))
    if term := _single(args, f"{party}.business_name"):
        found.append(Contains(FIELDS[f"{party}.business_name"], term))
    for suffix in ("business_vat_number_code", "business_fiscal_code"):
        if codes := _values(args, f"{party}.{suffix}", upper=True):
            found.append(OneOf(FIELDS[f"{party}.{suffix}"], codes))
    return found


def _markings(args: QueryArgs) -> tuple[str, ...]:
    """``marking`` and ``marking[]``: each a value of the contract's enum (400 otherwise)."""
    found: list[str] = []
    for name in ("marking", "marking[]"):
        for value in args.getlist(name):
            if value not in records.MARKINGS:
                raise BadRequest(
                    f'The value "{value}" of "{name}" is not valid: use one of {", ".join(records.MARKINGS)}.'
                )
            found.append(value)
    return tuple(found)


def _invoice_date(key: str, moment: datetime) -> Predicate:
    """The invoice's date (a day: its midnight) against an instant, as ISO strings compare."""
    local = moment.astimezone(ROME)
    day = local.date().isoformat()
    if local.time() == time():
        return Compare(FIELDS["invoice_date"], DATE_FILTERS[key], day)
    # Between ``day`` and the next: before it means on ``day`` or earlier, after it means later.
    compare = operator.le if key.endswith("before") else operator.gt
    return Compare(FIELDS["invoice_date"], compare, day)


def _order(args: QueryArgs) -> tuple[tuple[Field, bool], ...]:
    order: list[tuple[Field, bool]] = []
    for name in args:  # in the order of the query, as API Platform's order filter
        if name in ("order[invoice_date]", "order[invoice_number]"):
            value = _single(args, name) or ""
            direction = value.lower()
            if direction not in DIRECTIONS:
                raise BadRequest(f'The value "{value}" of "{name}" is not valid: use asc or desc.')
            order.append((FIELDS[name[len("order[") : -1]], direction == "desc"))
    return tuple(order)


def _single(args: QueryArgs, name: str) -> str | None:
    """A single-valued parameter: the last one given (PHP's reading of a repeated parameter)."""
    values = args.getlist(name)
    return values[-1] if values else None


def _values(args: QueryArgs, name: str, *, upper: bool = False) -> tuple[str, ...]:
    """``name`` and ``name[]`` together, blanks left out."""
    found = [v.strip() for v in (*args.getlist(name), *args.getlist(f"{name}[]")) if v.strip()]
    return tuple(v.upper() if upper else v for v in found)


def _boolean(name: str, value: str) -> bool:
    flag = BOOLEANS.get(value.strip().lower())
    if flag is None:
        raise BadRequest(f'The value "{value}" of "{name}" is not valid: use true, false, 1 or 0.')
    return flag


def _page(value: str | None) -> int:
    if value is None:
        return 1
    if not (value.isascii() and value.isdigit()) or len(value) > 9 or int(value) < 1:
        raise BadRequest(f'The value "{value}" of "page" is not valid: use an integer from 1.')
    return int(value)


def _instant(name: str, value: str) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(), tzinfo=ROME)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ROME)
    except ValueError:
        raise BadRequest(f'The value "{value}" of "{name}" is not a date or date-time.') from None
    return moment


# -- the operations -------------------------------------------------------------------------------


def select_invoices(session: Session, account: Account, args: QueryArgs) -> Sequence[AcubeInvoice]:
    """The account's invoices of the page the query selects (filters, order and paging in SQL)."""
    return session.execute(parse_filter(args).select(account)).scalars().all()


def list_invoices(
    session: Session, account: Account, args: QueryArgs, xsd_dir: Path | None = None
) -> list[dict[str, Any]]:
    return [invoice_view(row, xsd_dir) for row in select_invoices(session, account, args)]


def zip_invoices(session: Session, account: Account, args: QueryArgs) -> bytes:
    """A zip of the page: each invoice's file as sent to or received from the SDI."""
    buffer = io.BytesIO()
    names: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for row in select_invoices(session, account, args):
            name = file_name(row)
            if name in names:
                name = f"{row.uuid}_{name}"
            names.add(name)
            stamp = row.created_at.astimezone(ROME).timetuple()[:6]
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), raw_file(row))
    return buffer.getvalue()


def file_name(row: AcubeInvoice) -> str:
    return row.invoice.file_name if row.invoice is not None else row.file_name


def raw_file(row: AcubeInvoice) -> bytes:
    """The file as the SDI has it (signed, when it was), or the XML while it does not."""
    return row.invoice.content if row.invoice is not None else row.xml


def report(session: Session, account: Account, args: QueryArgs) -> list[dict[str, Any]]:
    return [report_row(row) for row in select_invoices(session, account, args)]


def report_row(row: AcubeInvoice) -> dict[str, Any]:
    parsed = parse_invoice_or_none(row.xml)
    body = parsed.first_body if parsed is not None else None
    total = body.total if body is not None else None
    return {
        "uuid": row.uuid,
        "type": row.type,
        "marking": records.marking_of(row),
        "invoice_number": row.invoice_number,
        "invoice_date": row.invoice_date,
        "document_type": row.document_type,
        "sender_vat_number": row.sender_vat,
        "sender_business_name": row.sender_name,
        "recipient_vat_number": row.recipient_vat,
        "recipient_business_name": row.recipient_name,
        "total_amount": str(total) if total is not None else None,
        "created_at": records.rome(row.created_at),
    }
