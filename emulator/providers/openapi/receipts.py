"""Openapi.it IT-receipts: smart receipts (sale), their returns (PATCH) and voids (DELETE).

A receipt is accepted as ``new`` (the checks are in ``receipt_rules``), transmitted to the Tax
Authority (``submitted``) and, once the Authority answers, ``ready`` with its simulated identifiers.
Every change calls ``webhooks.receipt_changed`` with the document's event name: ``receipt`` (the
receipt was submitted, became ready, or was voided), ``receipt-retry`` (a transmission failed and
will be retried) and ``receipt-error`` (the receipt failed).

Timings (virtual time, run by the task queue):
- transmission ``SUBMIT_SECONDS`` (5 s) after creation → ``submitted``;
- the Authority's answer ``READY_SECONDS`` (10 s) after the transmission → ``ready``, with
  ``document_number`` ``OPENAPI<year>/0000-<nnnn>`` (``transaction_id`` ``<nnnn>``, a sequence per
  fiscal id; the shape of the document's sandbox examples — the real Authority's numbers start with
  "DCW", but the document says sandbox identifiers are simulated and shows this shape) and
  ``document_date`` the transmission instant;
- a failed transmission → ``retry`` and a new attempt ``RETRY_SECONDS`` (60 s) later; after
  ``MAX_ATTEMPTS`` (3) failed attempts → ``failed`` with ``error_code``/``error_message``;
- the 23:55–00:00 (Europe/Rome) window: the Authority takes no receipts then, so a transmission
  falling in it (a first attempt or a retry) happens at the next 00:00 Rome + ``DEFERRAL_SECONDS``
  (30 s) instead.

Sandbox triggers (a sale's ``tags`` entry, exactly):
- ``SANDBOX:RETRY``: the first transmission fails (``retry``, ``receipt-retry``), the second succeeds;
- ``SANDBOX:FAIL``: every transmission fails: ``retry`` twice, then ``failed`` (``receipt-error``);
- ``SANDBOX:ERROR``: transmitted, then refused by the Authority: ``failed`` (``receipt-error``).

Decisions:
- returns (PATCH) need a ``sale`` in ``ready`` state; the quantities returned, summed over every
  return of the sale, cannot exceed the item's quantity; the sale's items show the quantity returned
  so far in ``return``; the return receipt lists the returned items (same ``id`` as the sale's,
  ``quantity`` and ``return`` the quantity returned, amounts for that quantity, the item discount
  pro rata); the refund goes back on the sale's payments in the order cash, electronic, meal
  vouchers, goods uncollected, services uncollected, each up to what the sale's earlier returns
  left of it; what none covers (a global discount of the sale) is the return's ``discount``;
- voids (DELETE) need a ``sale`` in ``ready`` state with no return, within 24 hours of its
  transmission (``submitted_at``, virtual time); the sale turns ``voided`` at once (a second DELETE
  is refused) and the ``void`` receipt copies its items (``return`` = quantity) and payments; the
  answer's ``message`` is ``voided receipt: <id>``, as in the document;
- returns and voids do not inherit the sale's ``tags`` (nor its triggers);
- ``parent_receipt_id`` is in every receipt (null on a sale);
- a receipt of another account, or an unknown id → 404 "Receipt not found" (error 404); PATCH /
  DELETE refusals are 400 with codes 428 / 429; a configuration without ``receipts: true`` → 400
  code 427;
- list: newest first; ``fiscal_id``/``status``/``type`` take comma lists (unknown status or type
  values → 400 code 424); a ``fiscal_id`` of another tenant → 403, one nobody holds → 404 (111), as
  on the invoice list; dates are ``YYYY-MM-DD`` Rome calendar days (the fiscal day);
  ``[before]``/``[after]`` are strict; ``document_date[...]`` filters only receipts that have one;
  ``skip``/``limit`` as ``listing.py`` (limit 1..100, default 100);
  ``skip``/``limit`` that are not integers, or out of range → 400 code 424;
- the configuration's stores and cash registers are not referenced: POSTReceipt has no field for
  them.

Limitations: no ``receipt-credentials`` event (the sandbox needs no Authority credentials).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.tasks import AfterCommit, ScheduledTask
from emulator.core.tenancy import Account
from emulator.providers.openapi import listing, webhooks
from emulator.providers.openapi import receipt_rules as rules
from emulator.providers.openapi.auth import new_id
from emulator.providers.openapi.configurations import check_tenant, configuration_of
from emulator.providers.openapi.errors import OpenapiError
from emulator.providers.openapi.models import OpenapiReceipt

if TYPE_CHECKING:
    from emulator.state import Sandbox

ROME = ZoneInfo("Europe/Rome")
RECEIPT_STEP = "openapi.receipt"
SUBMIT_SECONDS = 5
READY_SECONDS = 10
RETRY_SECONDS = 60
MAX_ATTEMPTS = 3
DEFERRAL_SECONDS = 30
CLOSED_FROM = time(23, 55)
VOID_WINDOW = timedelta(hours=24)

RETRY_TRIGGER = "SANDBOX:RETRY"
FAIL_TRIGGER = "SANDBOX:FAIL"
ERROR_TRIGGER = "SANDBOX:ERROR"

STATUSES = ("new", "retry", "submitted", "ready", "failed", "voided")
TYPES = ("sale", "return", "void")

RECEIPT_AMOUNTS = (
    *rules.PAYMENT_FIELDS,
    "discount",
    "total_amount",
    "deductible_amount",
    "total_discount",
    "total_gross_discount",
    "total_taxable_amount",
    "total_uncollected_amount",
    "total_vat_amount",
)
ITEM_AMOUNTS = (
    "quantity",
    "gross_price",
    "gross_discount",
    "unit_price",
    "return",
    "taxable_amount",
    "net_taxable_amount",
    "vat_amount",
    "total_amount",
    "unit_discount",
)


class ReceiptNotFound(OpenapiError):
    def __init__(self) -> None:
        super().__init__("Receipt not found", status=404)


# -- stored form ------------------------------------------------------------------------------------


def _stored(value: Any) -> Any:
    """A document with its Decimals as strings (JSON columns hold no Decimal)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _stored(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_stored(inner) for inner in value]
    return value


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def serialize(row: OpenapiReceipt, parent: OpenapiReceipt | None = None) -> dict[str, Any]:
    """The receipt as Openapi shows it (field order of the document's examples)."""
    doc = row.document
    items = []
    for item in doc["items"]:
        shown = {
            key: rules.number(_dec(value)) if key in ITEM_AMOUNTS else value for key, value in item.items()
        }
        items.append(shown)
    amounts = {key: rules.number(_dec(doc[key])) for key in RECEIPT_AMOUNTS}
    document_date = doc.get("document_date_at")
    return {
        "fiscal_id": row.fiscal_id,
        "items": items,
        "cash_payment_amount": amounts["cash_payment_amount"],
        "invoice_issuing": doc["invoice_issuing"],
        "services_uncollected_amount": amounts["services_uncollected_amount"],
        "goods_uncollected_amount": amounts["goods_uncollected_amount"],
        "electronic_payment_amount": amounts["electronic_payment_amount"],
        "ticket_restaurant_payment_amount": amounts["ticket_restaurant_payment_amount"],
        "ticket_restaurant_quantity": doc["ticket_restaurant_quantity"],
        "discount": amounts["discount"],
        "linked_receipt": doc.get("linked_receipt"),
        "lottery_code": doc.get("lottery_code"),
        "created_at": _timestamp(row.created_at),
        "error_message": doc.get("error_message"),
        "error_code": doc.get("error_code"),
        "total_amount": amounts["total_amount"],
        "document_number": row.document_number or "",
        "document_date": document_date,
        "transaction_id": doc.get("transaction_id"),
        "create_timestamp": int(row.created_at.timestamp()),
        "parent_receipt_id": parent.public_id if parent is not None else None,
        "status": row.status,
        "type": row.type,
        "deductible_amount": amounts["deductible_amount"],
        "total_discount": amounts["total_discount"],
        "total_gross_discount": amounts["total_gross_discount"],
        "total_taxable_amount": amounts["total_taxable_amount"],
        "total_uncollected_amount": amounts["total_uncollected_amount"],
        "total_vat_amount": amounts["total_vat_amount"],
        "update_timestamp": int(row.updated_at.timestamp()),
        "id": row.public_id,
        "tags": doc.get("tags") or [],
    }


def parent_of(session: Session, row: OpenapiReceipt) -> OpenapiReceipt | None:
    return session.get(OpenapiReceipt, row.parent_id) if row.parent_id is not None else None


def show(session: Session, row: OpenapiReceipt) -> dict[str, Any]:
    return serialize(row, parent_of(session, row))


# -- time -----------------------------------------------------------------------------------------


def transmission_instant(at: datetime) -> datetime:
    """``at``, or the next 00:00 Rome + ``DEFERRAL_SECONDS`` when ``at`` falls in 23:55–00:00 Rome."""
    rome = at.astimezone(ROME)
    if rome.time() < CLOSED_FROM:
        return at
    midnight = datetime.combine(rome.date() + timedelta(days=1), time(0), tzinfo=ROME)
    return (midnight + timedelta(seconds=DEFERRAL_SECONDS)).astimezone(UTC)


def _rome_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=ROME)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ROME)
    return start.astimezone(UTC), end.astimezone(UTC)


# -- create -----------------------------------------------------------------------------------------


def _item_id_factory(sandbox: Sandbox) -> Callable[[], str]:
    used: set[str] = set()

    def item_id() -> str:
        while True:
            candidate = str(sandbox.ids.randint(100000, 999999))
            if candidate not in used:
                used.add(candidate)
                return candidate

    return item_id


def _new_row(
    sandbox: Sandbox,
    session: Session,
    account: Account,
    fiscal_id: str,
    kind: str,
    document: dict[str, Any],
    parent: OpenapiReceipt | None,
) -> OpenapiReceipt:
    now = sandbox.clock.now()
    row = OpenapiReceipt(
        public_id=new_id(sandbox.ids),
        account_id=account.id,
        fiscal_id=fiscal_id,
        type=kind,
        status="new",
        parent_id=parent.id if parent is not None else None,
        document_number=None,
        document_date=None,
        document=_stored(document),
        created_at=now,
        updated_at=now,
        submitted_at=None,
        attempts=0,
    )
    session.add(row)
    session.flush()
    due = transmission_instant(now + timedelta(seconds=SUBMIT_SECONDS))
    sandbox.tasks.schedule(session, RECEIPT_STEP, due, {"receipt": row.id, "step": "submit"})
    return row


def create_receipt(sandbox: Sandbox, session: Session, account: Account, body: object) -> OpenapiReceipt:
    """POST /IT-receipts: a new sale, ``new`` until its transmission."""
    if not isinstance(body, dict):
        raise rules.ReceiptRuleError("The request body must be a JSON object", rules.INVALID)
    fiscal_id = body.get("fiscal_id")
    if fiscal_id is None or fiscal_id == "":
        raise rules.missing("fiscal_id")
    if not isinstance(fiscal_id, str):
        raise rules.invalid("fiscal_id", "a string is expected")
    config = configuration_of(session, account, fiscal_id)
    if config.document.get("receipts") is not True:
        raise rules.ReceiptRuleError(
            f"Receipts are not enabled for fiscal_id {config.fiscal_id}: "
            "set receipts to true in its IT-configuration",
            rules.NOT_ENABLED,
        )
    document = rules.check_receipt(body, _item_id_factory(sandbox))
    return _new_row(sandbox, session, account, config.fiscal_id, "sale", document, None)


# -- the transmission -------------------------------------------------------------------------------


def _touch(row: OpenapiReceipt, status: str, at: datetime) -> None:
    row.status = status
    row.updated_at = at


def _set(row: OpenapiReceipt, **fields: Any) -> None:
    row.document = {**row.document, **fields}


def _next_transaction(session: Session, fiscal_id: str) -> int:
    numbers = session.execute(
        select(OpenapiReceipt.document_number).where(
            OpenapiReceipt.fiscal_id == fiscal_id, OpenapiReceipt.document_number.is_not(None)
        )
    ).scalars()
    return sum(1 for _ in numbers) + 1


def _submit(sandbox: Sandbox, session: Session, row: OpenapiReceipt, at: datetime) -> None:
    if row.status not in ("new", "retry"):
        return
    tags = row.document.get("tags") or []
    row.attempts += 1
    fails = FAIL_TRIGGER in tags or (RETRY_TRIGGER in tags and row.attempts == 1)
    if not fails:
        row.submitted_at = at
        _touch(row, "submitted", at)
        _set(row, error_code=None, error_message=None)
        sandbox.tasks.schedule(
            session, RECEIPT_STEP, at + timedelta(seconds=READY_SECONDS), {"receipt": row.id, "step": "ready"}
        )
        webhooks.receipt_changed(sandbox, session, row, "receipt", at)
        return
    _set(
        row,
        error_code="SANDBOX-503",
        error_message="The Tax Authority portal did not answer (sandbox trigger)",
    )
    if row.attempts >= MAX_ATTEMPTS:
        _touch(row, "failed", at)
        webhooks.receipt_changed(sandbox, session, row, "receipt-error", at)
        return
    _touch(row, "retry", at)
    due = transmission_instant(at + timedelta(seconds=RETRY_SECONDS))
    sandbox.tasks.schedule(session, RECEIPT_STEP, due, {"receipt": row.id, "step": "submit"})
    webhooks.receipt_changed(sandbox, session, row, "receipt-retry", at)


def _ready(sandbox: Sandbox, session: Session, row: OpenapiReceipt, at: datetime) -> None:
    if row.status != "submitted" or row.submitted_at is None:
        return
    if ERROR_TRIGGER in (row.document.get("tags") or []):
        _set(
            row,
            error_code="SANDBOX-400",
            error_message="The Tax Authority refused the receipt (sandbox trigger)",
        )
        _touch(row, "failed", at)
        webhooks.receipt_changed(sandbox, session, row, "receipt-error", at)
        return
    number = _next_transaction(session, row.fiscal_id)
    submitted = row.submitted_at
    row.document_number = f"OPENAPI{submitted.astimezone(ROME).year}/0000-{number:04d}"
    row.document_date = submitted.astimezone(ROME).date().isoformat()
    _set(row, transaction_id=f"{number:04d}", document_date_at=_timestamp(submitted))
    _touch(row, "ready", at)
    webhooks.receipt_changed(sandbox, session, row, "receipt", at)


def step_handler(sandbox: Sandbox) -> Callable[[Session, ScheduledTask], AfterCommit | None]:
    def handle(session: Session, task: ScheduledTask) -> AfterCommit | None:
        row = session.get(OpenapiReceipt, task.payload.get("receipt"))
        if row is None:
            return None
        if task.payload.get("step") == "submit":
            _submit(sandbox, session, row, task.due_at)
        else:
            _ready(sandbox, session, row, task.due_at)
        return None

    return handle


# -- read -----------------------------------------------------------------------------------------


def get_receipt(session: Session, account: Account, public_id: str) -> OpenapiReceipt:
    row = session.execute(
        select(OpenapiReceipt).where(OpenapiReceipt.public_id == public_id)
    ).scalar_one_or_none()
    if row is None or row.account_id != account.id:
        raise ReceiptNotFound()
    return row


def _day(args: Mapping[str, str], name: str) -> date | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(name)
    except ValueError:
        return _bad_date(name)


def _bad_date(name: str) -> date:
    raise rules.invalid(name, "YYYY-MM-DD expected")


def _choices(args: Mapping[str, str], name: str, allowed: tuple[str, ...] | None) -> list[str] | None:
    value = args.get(name)
    if value is None or value.strip() == "":
        return None
    wanted = [part.strip() for part in value.split(",") if part.strip()]
    if allowed is not None:
        for part in wanted:
            if part not in allowed:
                raise rules.invalid(name, "valid values are " + ", ".join(allowed))
    return wanted


def list_receipts(session: Session, account: Account, args: Mapping[str, str]) -> list[dict[str, Any]]:
    """GET /IT-receipts: the account's receipts matching every filter given, newest first."""
    query = select(OpenapiReceipt).where(OpenapiReceipt.account_id == account.id)
    fiscal_ids = _choices(args, "fiscal_id", None)
    if fiscal_ids is not None:
        owned = [check_tenant(session, account, value) for value in fiscal_ids]
        query = query.where(OpenapiReceipt.fiscal_id.in_(owned))
    statuses = _choices(args, "status", STATUSES)
    if statuses is not None:
        query = query.where(OpenapiReceipt.status.in_(statuses))
    types = _choices(args, "type", TYPES)
    if types is not None:
        query = query.where(OpenapiReceipt.type.in_(types))
    if args.get("document_number"):
        query = query.where(OpenapiReceipt.document_number == args["document_number"])
    for suffix, compare in (("", "on"), ("[before]", "before"), ("[after]", "after")):
        created = _day(args, f"created_at{suffix}")
        if created is not None:
            start, end = _rome_day_bounds(created)
            if compare == "on":
                query = query.where(OpenapiReceipt.created_at >= start, OpenapiReceipt.created_at < end)
            elif compare == "before":
                query = query.where(OpenapiReceipt.created_at < start)
            else:
                query = query.where(OpenapiReceipt.created_at >= end)
        day = _day(args, f"document_date{suffix}")
        if day is not None:
            column = OpenapiReceipt.document_date
            text = day.isoformat()
            condition = (
                column == text if compare == "on" else column < text if compare == "before" else column > text
            )
            query = query.where(column.is_not(None), condition)
    parent_public = args.get("parent_receipt_id")
    if parent_public:
        parent = session.execute(
            select(OpenapiReceipt.id).where(
                OpenapiReceipt.public_id == parent_public, OpenapiReceipt.account_id == account.id
            )
        ).scalar_one_or_none()
        query = query.where(OpenapiReceipt.parent_id == (parent if parent is not None else -1))
    skip, limit = listing.skip_and_limit(args, rules.invalid)
    query = (
        query.order_by(OpenapiReceipt.created_at.desc(), OpenapiReceipt.id.desc()).offset(skip).limit(limit)
    )
    return [show(session, row) for row in session.execute(query).scalars()]


# -- returns and voids ------------------------------------------------------------------------------


def _children(session: Session, row: OpenapiReceipt, kind: str) -> list[OpenapiReceipt]:
    query = select(OpenapiReceipt).where(OpenapiReceipt.parent_id == row.id, OpenapiReceipt.type == kind)
    return list(session.execute(query).scalars())


def _refused(message: str, code: int) -> rules.ReceiptRuleError:
    return rules.ReceiptRuleError(message, code)


def return_items(
    sandbox: Sandbox, session: Session, account: Account, public_id: str, body: object
) -> OpenapiReceipt:
    """PATCH /IT-receipts/{id}: a ``return`` receipt for part of a ready sale."""
    sale = get_receipt(session, account, public_id)
    wanted = rules.check_returns(body)
    if sale.type != "sale":
        raise _refused(
            f"Only a sale receipt can be returned: this receipt is a {sale.type}", rules.RETURN_REFUSED
        )
    if sale.status != "ready":
        raise _refused(
            f"Only a ready receipt can be returned: this receipt is {sale.status}", rules.RETURN_REFUSED
        )
    by_id = {item["id"]: item for item in sale.document["items"]}
    returned: list[dict[str, Any]] = []
    for item_id, quantity in wanted:
        item = by_id.get(item_id)
        if item is None:
            raise _refused(f"Item {item_id} is not in receipt {sale.public_id}", rules.RETURN_REFUSED)
        left = _dec(item["quantity"]) - _dec(item["return"])
        if quantity > left:
            raise _refused(
                f"Item {item_id}: cannot return {quantity}, only {left} left to return", rules.RETURN_REFUSED
            )
        discount = rules.cents(_dec(item["gross_discount"]) * quantity / _dec(item["quantity"]))
        amounts = rules.item_amounts(
            _dec(item["gross_price"]), quantity, discount, item["vat_rate"], bool(item["complimentary"])
        )
        line = {
            **item,
            "quantity": quantity,
            "gross_discount": discount,
            "return": quantity,
            "taxable_amount": amounts.taxable_amount,
            "net_taxable_amount": amounts.net_taxable_amount,
            "vat_amount": amounts.vat_amount,
            "total_amount": amounts.total_amount,
        }
        returned.append(line)
    total = sum((line["total_amount"] for line in returned), rules.ZERO)
    payments = _refund(session, sale, total)
    uncollected = payments["goods_uncollected_amount"] + payments["services_uncollected_amount"]
    discount = total - sum(payments.values(), rules.ZERO)
    document: dict[str, Any] = {
        "items": returned,
        **payments,
        "invoice_issuing": bool(uncollected),
        "ticket_restaurant_quantity": (
            sale.document["ticket_restaurant_quantity"] if payments["ticket_restaurant_payment_amount"] else 0
        ),
        "discount": discount,
        "linked_receipt": sale.document.get("linked_receipt"),
        "lottery_code": None,
        "total_amount": total,
        "deductible_amount": rules.ZERO,
        "total_discount": discount,
        "total_gross_discount": sum((line["gross_discount"] for line in returned), rules.ZERO),
        "total_taxable_amount": sum((line["net_taxable_amount"] for line in returned), rules.ZERO),
        "total_uncollected_amount": uncollected,
        "total_vat_amount": sum((line["vat_amount"] for line in returned), rules.ZERO),
        "tags": [],
    }
    now = sandbox.clock.now()
    counts = dict(wanted)
    sale.document = {
        **sale.document,
        "items": [
            {**item, "return": str(_dec(item["return"]) + counts.get(item["id"], rules.ZERO))}
            for item in sale.document["items"]
        ],
    }
    sale.updated_at = now
    return _new_row(sandbox, session, account, sale.fiscal_id, "return", document, sale)


def _refund(session: Session, sale: OpenapiReceipt, total: Decimal) -> dict[str, Decimal]:
    """``total`` spread on the sale's payments, each up to what its earlier returns left of it."""
    earlier = _children(session, sale, "return")
    left = total
    payments: dict[str, Decimal] = {}
    for field in rules.PAYMENT_FIELDS:
        available = _dec(sale.document[field]) - sum(
            (_dec(row.document[field]) for row in earlier), rules.ZERO
        )
        share = min(max(available, rules.ZERO), left)
        payments[field] = share
        left -= share
    return payments


def void_receipt(sandbox: Sandbox, session: Session, account: Account, public_id: str) -> OpenapiReceipt:
    """DELETE /IT-receipts/{id}: a ``void`` receipt for a ready sale within 24 h of its transmission."""
    sale = get_receipt(session, account, public_id)
    now = sandbox.clock.now()
    if sale.type != "sale":
        raise _refused(
            f"Only a sale receipt can be voided: this receipt is a {sale.type}", rules.VOID_REFUSED
        )
    if sale.status == "voided":
        raise _refused(f"Receipt {sale.public_id} is already voided", rules.VOID_REFUSED)
    if sale.status != "ready" or sale.submitted_at is None:
        raise _refused(
            f"Only a ready receipt can be voided: this receipt is {sale.status}", rules.VOID_REFUSED
        )
    if now - sale.submitted_at > VOID_WINDOW:
        raise _refused("A receipt can only be voided within 24 hours of its submission", rules.VOID_REFUSED)
    if _children(session, sale, "return"):
        raise _refused("A receipt with returns cannot be voided", rules.VOID_REFUSED)
    document = {
        key: value
        for key, value in sale.document.items()
        if key not in ("transaction_id", "document_date_at", "error_code", "error_message", "fiscal_id")
    }
    document["items"] = [{**item, "return": item["quantity"]} for item in sale.document["items"]]
    document["lottery_code"] = None
    document["tags"] = []
    _touch(sale, "voided", now)
    webhooks.receipt_changed(sandbox, session, sale, "receipt", now)
    return _new_row(sandbox, session, account, sale.fiscal_id, "void", document, sale)
