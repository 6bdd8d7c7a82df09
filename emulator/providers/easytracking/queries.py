"""Parsing and checking of Easy Tracking request parameters (query strings and id lists)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from emulator.core.errors import BadRequest, PayloadTooLarge

MAX_TOP = 100_000
MAX_IDS = 100
MAX_ID = 2**63 - 1
RANGE_DAYS = 31
RANGE_DAYS_WITH_FASE = 365
# Query values are read strictly: an empty or loosely written value is a 400, not "not given".
INTEGER_RE = re.compile(r"^-?[0-9]+$")
SHAPES = {
    "%Y-%m-%d": re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    "%Y-%m-%d %H:%M:%S": re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"),
}
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Range:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ListQuery:
    document_dates: tuple[date, date] | None
    received: Range | None
    owner_vat: str | None
    owner_cf: str | None
    fase1: bool | None
    fase2: bool | None
    top: int


def parse_top(args: Mapping[str, str]) -> int:
    raw = args.get("top")
    if raw is None:
        return MAX_TOP
    try:
        if not INTEGER_RE.fullmatch(raw):
            raise ValueError(raw)
        top = int(raw)
    except ValueError:  # also a number too long to convert
        raise BadRequest(f"The value '{raw}' is not valid for top: an integer is required") from None
    if top > MAX_TOP:
        raise PayloadTooLarge(f"top cannot be greater than {MAX_TOP} elements")
    if top < 1:
        raise BadRequest("top must be a positive integer")
    return top


def parse_bool(args: Mapping[str, str], name: str) -> bool | None:
    raw = args.get(name)
    if raw is None:
        return None
    lowered = raw.lower()
    if lowered not in {"true", "false"}:
        raise BadRequest(f"The value '{raw}' is not valid for {name}: true or false is required")
    return lowered == "true"


def _parse(raw: str, fmt: str, name: str, shown: str) -> datetime:
    try:
        if not SHAPES[fmt].fullmatch(raw):
            raise ValueError(raw)
        return datetime.strptime(raw, fmt)
    except ValueError:
        raise BadRequest(f"The value '{raw}' is not valid for {name}: the format is {shown}") from None


def _pair(
    args: Mapping[str, str], low: str, high: str, fmt: str, shown: str
) -> tuple[datetime, datetime] | None:
    raw_low, raw_high = args.get(low), args.get(high)
    if raw_low is None and raw_high is None:
        return None
    if raw_low is None or raw_high is None:
        raise BadRequest(f"{low} and {high} must be given together")
    start, end = _parse(raw_low, fmt, low, shown), _parse(raw_high, fmt, high, shown)
    if start > end:
        raise BadRequest(f"{low} must not be after {high}")
    return start, end


def date_ranges(
    args: Mapping[str, str], *, by_date: tuple[str, str], by_received: tuple[str, str], extended: bool
) -> tuple[tuple[date, date] | None, tuple[datetime, datetime] | None]:
    """The two documented kinds of range; only one at a time, at most 31 days (365 with fase filters)."""
    documents = _pair(args, *by_date, "%Y-%m-%d", "yyyy-MM-dd")
    received = _pair(args, *by_received, "%Y-%m-%d %H:%M:%S", "yyyy-MM-dd HH:mm:ss")
    if documents and received:
        raise BadRequest("Only one type of date range can be specified: document date or received date")
    limit = RANGE_DAYS_WITH_FASE if extended else RANGE_DAYS
    chosen = documents or received
    if chosen and chosen[1] - chosen[0] > timedelta(days=limit):
        extra = "" if extended else " (365 days with the fase1/fase2 filters)"
        raise BadRequest(f"The date range cannot exceed {limit} days{extra}")
    return (
        (documents[0].date(), documents[1].date()) if documents else None,
        received,
    )


def list_query(args: Mapping[str, str], *, owner_prefix: str = "owner") -> ListQuery:
    fase1, fase2 = parse_bool(args, "fase1"), parse_bool(args, "fase2")
    documents, received = date_ranges(
        args,
        by_date=("invoiceDateFrom", "invoiceDateTo"),
        by_received=("invoiceReceivedDateTimeFrom", "invoiceReceivedDateTimeTo"),
        extended=fase1 is not None or fase2 is not None,
    )
    return ListQuery(
        document_dates=documents,
        received=Range(*received) if received else None,
        owner_vat=args.get(f"{owner_prefix}PIVA") or None,
        owner_cf=args.get(f"{owner_prefix}CF") or None,
        fase1=fase1,
        fase2=fase2,
        top=parse_top(args),
    )


def id_list(payload: Any, key: str, *, integers: bool) -> list[Any]:
    """``{"<key>": [id1, ..., id100]}``: a non-empty list of at most 100 ids, duplicates dropped."""
    if not isinstance(payload, dict) or key not in payload:
        raise BadRequest(f"The request body must be a JSON object with the list '{key}'")
    values = payload[key]
    if not isinstance(values, list) or not values:
        raise BadRequest(f"'{key}' must be a non-empty list")
    if len(values) > MAX_IDS:
        raise BadRequest(f"'{key}' can contain at most {MAX_IDS} elements, {len(values)} given")
    cleaned: list[Any] = []
    for value in values:
        cleaned.append(_integer(value, key) if integers else _text(value, key))
    return list(dict.fromkeys(cleaned))


def _integer(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"The value {value!r} in '{key}' is not an integer")
    if not -MAX_ID <= value <= MAX_ID:
        raise BadRequest(f"The value {value} in '{key}' is out of range for an id")
    return value


def _text(value: Any, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise BadRequest(f"The value {value!r} in '{key}' is not a valid progressivoInvio")
    return str(value)


def guid(raw: str) -> str:
    if not GUID_RE.match(raw):
        raise BadRequest(f"'{raw}' is not a valid GUID")
    return raw.lower()


def route_number(route: str) -> int:
    """``"v10"`` → 10 (routes are matched by the URL rules, so the shape is known)."""
    return int(route[1:])


def passive_query(args: Mapping[str, str], route: str) -> ListQuery:
    """passive-invoices: v2 knows only the dates and one receiver id; fase1, fase2 and top came with v3."""
    if route_number(route) >= 3:
        return list_query(args, owner_prefix="receiver")
    if args.get("receiverPIVA") and args.get("receiverCF"):
        raise BadRequest("Only one of receiverPIVA and receiverCF can be specified")
    # On v2 fase1, fase2 and top are not parameters of the call: like any unknown field, ignored.
    documents, received = date_ranges(
        args,
        by_date=("invoiceDateFrom", "invoiceDateTo"),
        by_received=("invoiceReceivedDateTimeFrom", "invoiceReceivedDateTimeTo"),
        extended=False,
    )
    return ListQuery(
        document_dates=documents,
        received=Range(*received) if received else None,
        owner_vat=args.get("receiverPIVA") or None,
        owner_cf=args.get("receiverCF") or None,
        fase1=None,
        fase2=None,
        top=MAX_TOP,
    )
