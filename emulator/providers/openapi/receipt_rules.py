"""Openapi.it IT-receipts: the checks on a POST /IT-receipts body and the amounts it computes.

Pure functions (no database, no Flask): ``check_receipt`` turns a request body into the receipt's
document (the request's fields plus the computed ones), or raises ``ReceiptRuleError``.

Error codes. The published document shows one error for this call: 400 "Missing fiscal_id" with
Openapi code 423. The sandbox generalises it and invents the rest, all with HTTP 400 and the
``{"data": null, "success": false, "message", "error"}`` envelope:

- 423 ``Missing <field>``: a required field (``fiscal_id``, ``items``, ``cash_payment_amount``,
  ``items[i].quantity`` / ``description`` / ``unit_price`` / ``vat_rate_code``) is absent or null;
- 424 ``Invalid <field>: <reason>``: a field of the wrong type, outside its enum, pattern or range;
- 425 payments: the payments do not add up to the amount due, meal vouchers without their count,
  uncollected amounts without ``invoice_issuing`` (or the reverse), a discount larger than the total;
- 426 lottery code rules (the total is under EUR 1.00, or the payment is not fully electronic);
- 427 the IT-configuration does not have ``receipts: true`` (see ``receipts.py``);
- 428 / 429 a return (PATCH) / a void (DELETE) that is not allowed (see ``receipts.py``).

Decisions (the document is silent or contradicts itself):
- amounts are Decimal from the JSON text of each number; payment amounts and discounts are money
  (at most 2 decimals), ``unit_price`` at most 8 decimals, ``quantity`` positive with at most 2
  decimals (the document says "exactly 2 decimal places": 2 and 2.00 are the same JSON number);
- an item's ``total_amount`` is ``unit_price × quantity − discount`` rounded half-up to the cent;
  its ``net_taxable_amount`` is that total without VAT (8 decimals, half-up) and ``vat_amount`` the
  difference, so taxable + VAT is always the total; ``taxable_amount`` is the same before the item
  discount; ``unit_price`` in responses is the net unit price, ``gross_price`` the price sent;
  ``N1``–``N6`` items carry no VAT;
- a ``complimentary`` item (a gift) is charged nothing: its ``total_amount`` is 0 and it adds
  nothing to the amount due, but its taxable and VAT amounts are computed on its normal price and
  counted in ``total_taxable_amount`` / ``total_vat_amount`` ("VAT still applies"); it cannot carry
  a ``discount``;
- the receipt's ``total_amount`` is the sum of its items' totals; the global ``discount`` (which
  does not change the taxable amounts) is taken off it: cash + electronic + meal vouchers + goods
  and services uncollected must equal ``total_amount − discount`` to the cent;
  ``total_gross_discount`` is the sum of item discounts, ``total_discount`` the global discount,
  ``total_uncollected_amount`` goods + services uncollected, ``deductible_amount`` always 0;
- a lottery code needs a fully electronic payment (the whole amount due on
  ``electronic_payment_amount``, nothing else) and an amount due of at least EUR 1.00; the
  document's POSTReceipt has no customer fiscal code field, so the "not with a customer fiscal
  code" rule of the real lottery cannot arise;
- ``ticket_restaurant_payment_amount`` and ``ticket_restaurant_quantity`` must both be zero or
  both positive (the vouchers' face value is unknown, so their product is not checked);
- ``linked_receipt`` is free text up to 50 characters (its "TYPE-YEAR-NUMBER" format is only
  advice: the document's own examples send "string"); descriptions are 1–1000 characters without
  control characters; unknown fields are ignored; ``tags`` are up to 10 strings (of up to 100
  characters); a receipt has at most 500 items (the document sets no maximum).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from emulator.providers.openapi.errors import OpenapiError

MISSING = 423
INVALID = 424
PAYMENTS = 425
LOTTERY = 426
NOT_ENABLED = 427
RETURN_REFUSED = 428
VOID_REFUSED = 429

VAT_RATES: dict[str, Decimal] = {
    code: Decimal(code)
    for code in (
        *("4", "5", "10", "22", "2", "6.4", "7", "7.3", "7.5", "7.65", "7.95", "8.3", "8.5", "8.8"),
        *("9.5", "12.3"),
    )
}
NATURES = ("N1", "N2", "N3", "N4", "N5", "N6")
VAT_CODES = (*VAT_RATES, *NATURES)
LOTTERY_RE = re.compile(r"[a-zA-Z0-9]{8}")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

MAX_ITEMS = 500
CENT = Decimal("0.01")
EIGHT = Decimal("0.00000001")
ZERO = Decimal(0)

PAYMENT_FIELDS = (
    "cash_payment_amount",
    "electronic_payment_amount",
    "ticket_restaurant_payment_amount",
    "goods_uncollected_amount",
    "services_uncollected_amount",
)


class ReceiptRuleError(OpenapiError):
    """A receipt request that breaks one of the rules above (HTTP 400, Openapi code ``code``)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message, status=400, error=code)


def missing(field: str) -> ReceiptRuleError:
    return ReceiptRuleError(f"Missing {field}", MISSING)


def invalid(field: str, reason: str) -> ReceiptRuleError:
    return ReceiptRuleError(f"Invalid {field}: {reason}", INVALID)


def places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def decimal_of(value: object, field: str, *, max_places: int, positive: bool = False) -> Decimal:
    """A JSON number as a Decimal with at most ``max_places`` decimals, >= 0 (> 0 if ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(field, "a number is expected")
    try:
        number = Decimal(str(value))
    except InvalidOperation:  # pragma: no cover - str(float) always parses
        raise invalid(field, "a number is expected") from None
    if not number.is_finite():
        raise invalid(field, "a number is expected")
    if positive and number <= 0:
        raise invalid(field, "must be greater than 0")
    if number < 0:
        raise invalid(field, "must not be negative")
    if places(number) > max_places:
        raise invalid(field, f"at most {max_places} decimal digits are allowed")
    if number >= Decimal("1e9"):
        raise invalid(field, "too large")
    return number


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def eight(value: Decimal) -> Decimal:
    return value.quantize(EIGHT, rounding=ROUND_HALF_UP)


def net_of(gross: Decimal, code: str) -> Decimal:
    """``gross`` (VAT included) without its VAT at the rate of ``code`` (8 decimals)."""
    rate = VAT_RATES.get(code)
    return gross if rate is None else eight(gross * 100 / (100 + rate))


def number(value: Decimal) -> int | float:
    """A Decimal as the JSON number Openapi shows (integers without a fraction)."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class ItemAmounts:
    """The amounts of ``quantity`` units of an item (a sale line, or the part of it returned)."""

    taxable_amount: Decimal
    net_taxable_amount: Decimal
    vat_amount: Decimal
    total_amount: Decimal


def item_amounts(
    gross_price: Decimal, quantity: Decimal, discount: Decimal, code: str, complimentary: bool
) -> ItemAmounts:
    gross_total = cents(gross_price * quantity)
    after_discount = gross_total - discount
    net = net_of(after_discount, code)
    return ItemAmounts(
        taxable_amount=net_of(gross_total, code),
        net_taxable_amount=net,
        vat_amount=after_discount - net,
        total_amount=ZERO if complimentary else after_discount,
    )


def _text(value: object, field: str, *, max_length: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise invalid(field, "a string is expected")
    if required and not value.strip():
        raise invalid(field, "must not be empty")
    if len(value) > max_length:
        raise invalid(field, f"at most {max_length} characters are allowed")
    if CONTROL_RE.search(value):
        raise invalid(field, "control characters are not allowed")
    return value


def _bool(body: dict[str, Any], field: str, label: str | None = None) -> bool:
    value = body.get(field, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(label or field, "true or false expected")
    return value


def _amount(body: dict[str, Any], field: str, *, required: bool = False) -> Decimal:
    if body.get(field) is None:
        if required:
            raise missing(field)
        return ZERO
    return decimal_of(body[field], field, max_places=2)


def check_item(raw: object, index: int, item_id: str) -> dict[str, Any]:
    """One sale line as stored: the request's values plus its amounts and an ``id``."""
    where = f"items[{index}]"
    if not isinstance(raw, dict):
        raise invalid(where, "an object is expected")
    for field in ("quantity", "description", "unit_price", "vat_rate_code"):
        if raw.get(field) is None:
            raise missing(f"{where}.{field}")
    quantity = decimal_of(raw["quantity"], f"{where}.quantity", max_places=2, positive=True)
    description = _text(raw["description"], f"{where}.description", max_length=1000)
    price = decimal_of(raw["unit_price"], f"{where}.unit_price", max_places=8, positive=True)
    code = raw["vat_rate_code"]
    if not isinstance(code, str) or code not in VAT_CODES:
        raise invalid(f"{where}.vat_rate_code", "must be one of " + ", ".join(VAT_CODES))
    complimentary = _bool(raw, "complimentary", f"{where}.complimentary")
    discount = ZERO
    if raw.get("discount") is not None:
        discount = decimal_of(raw["discount"], f"{where}.discount", max_places=2)
    if complimentary and discount:
        raise invalid(f"{where}.discount", "cannot be used with complimentary")
    if discount > cents(price * quantity):
        raise ReceiptRuleError(f"{where}.discount exceeds the item's amount", PAYMENTS)
    sku = raw.get("sku")
    if sku is not None:
        sku = _text(sku, f"{where}.sku", max_length=100)
    amounts = item_amounts(price, quantity, discount, code, complimentary)
    item: dict[str, Any] = {
        "id": item_id,
        "quantity": quantity,
        "description": description,
        "gross_price": price,
        "vat_rate": code,
        "gross_discount": discount,
        "complimentary": complimentary,
        "unit_price": net_of(price, code),
        "return": ZERO,
        "taxable_amount": amounts.taxable_amount,
        "net_taxable_amount": amounts.net_taxable_amount,
        "vat_amount": amounts.vat_amount,
        "total_amount": amounts.total_amount,
        "unit_discount": eight(discount / quantity),
    }
    if sku is not None:
        item["sku"] = sku
    return item


def check_receipt(body: object, item_id: Callable[[], str]) -> dict[str, Any]:
    """The sale's document (Decimal amounts) from a POST body; ``item_id`` names each line.

    ``fiscal_id`` is checked for presence only; the caller resolves the configuration.
    """
    if not isinstance(body, dict):
        raise ReceiptRuleError("The request body must be a JSON object", INVALID)
    fiscal_id = body.get("fiscal_id")
    if fiscal_id is None or fiscal_id == "":
        raise missing("fiscal_id")
    if not isinstance(fiscal_id, str):
        raise invalid("fiscal_id", "a string is expected")
    raw_items = body.get("items")
    if raw_items is None:
        raise missing("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise invalid("items", "at least 1 item is required")
    if len(raw_items) > MAX_ITEMS:
        raise invalid("items", f"at most {MAX_ITEMS} items are allowed")
    items = [check_item(raw, index, item_id()) for index, raw in enumerate(raw_items)]
    payments = {
        field: _amount(body, field, required=field == "cash_payment_amount") for field in PAYMENT_FIELDS
    }
    vouchers = body.get("ticket_restaurant_quantity")
    if vouchers is None:
        vouchers = 0
    if isinstance(vouchers, bool) or not isinstance(vouchers, int) or vouchers < 0:
        raise invalid("ticket_restaurant_quantity", "a non-negative integer is expected")
    discount = _amount(body, "discount")
    invoice_issuing = _bool(body, "invoice_issuing")
    linked = body.get("linked_receipt")
    if linked is not None:
        linked = _text(linked, "linked_receipt", max_length=50)
    lottery = body.get("lottery_code")
    if lottery is not None and (not isinstance(lottery, str) or not LOTTERY_RE.fullmatch(lottery)):
        raise invalid("lottery_code", "8 alphanumeric characters expected")
    tags = body.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(tag, str) and len(tag) <= 100 for tag in tags):
            raise invalid("tags", "an array of strings is expected")
        if len(tags) > 10:
            raise invalid("tags", "at most 10 tags are allowed")

    total = sum((item["total_amount"] for item in items), ZERO)
    if discount > total:
        raise ReceiptRuleError("discount exceeds the receipt's total_amount", PAYMENTS)
    due = total - discount
    paid = sum(payments.values(), ZERO)
    if paid != due:
        raise ReceiptRuleError(
            f"The payments ({paid:.2f}) do not match the amount due ({due:.2f}: total_amount minus discount)",
            PAYMENTS,
        )
    if bool(payments["ticket_restaurant_payment_amount"]) != bool(vouchers):
        raise ReceiptRuleError(
            "ticket_restaurant_payment_amount and ticket_restaurant_quantity must be given together", PAYMENTS
        )
    uncollected = payments["goods_uncollected_amount"] + payments["services_uncollected_amount"]
    if uncollected and not invoice_issuing:
        raise ReceiptRuleError("Uncollected amounts require invoice_issuing=true", PAYMENTS)
    if invoice_issuing and not uncollected:
        raise ReceiptRuleError(
            "invoice_issuing requires goods_uncollected_amount or services_uncollected_amount", PAYMENTS
        )
    if lottery is not None:
        if due < 1:
            raise ReceiptRuleError("The lottery code requires a total of at least EUR 1.00", LOTTERY)
        if payments["electronic_payment_amount"] != due:
            raise ReceiptRuleError("The lottery code requires a fully electronic payment", LOTTERY)

    return {
        "fiscal_id": fiscal_id.strip().upper(),
        "items": items,
        **payments,
        "invoice_issuing": invoice_issuing,
        "ticket_restaurant_quantity": vouchers,
        "discount": discount,
        "linked_receipt": linked,
        "lottery_code": lottery,
        "total_amount": total,
        "deductible_amount": ZERO,
        "total_discount": discount,
        "total_gross_discount": sum((item["gross_discount"] for item in items), ZERO),
        "total_taxable_amount": sum((item["net_taxable_amount"] for item in items), ZERO),
        "total_uncollected_amount": uncollected,
        "total_vat_amount": sum((item["vat_amount"] for item in items), ZERO),
        "tags": list(tags) if tags is not None else [],
    }


def check_returns(body: object) -> list[tuple[str, Decimal]]:
    """The ``(item id, quantity)`` pairs of a PATCH (return) body; each id once."""
    if not isinstance(body, dict):
        raise ReceiptRuleError("The request body must be a JSON object", INVALID)
    raw = body.get("items")
    if raw is None:
        raise missing("items")
    if not isinstance(raw, list) or not raw:
        raise invalid("items", "at least 1 item is required")
    pairs: list[tuple[str, Decimal]] = []
    for index, entry in enumerate(raw):
        where = f"items[{index}]"
        if not isinstance(entry, dict):
            raise invalid(where, "an object is expected")
        if entry.get("id") is None:
            raise missing(f"{where}.id")
        if entry.get("quantity") is None:
            raise missing(f"{where}.quantity")
        item_id = entry["id"]
        if isinstance(item_id, int) and not isinstance(item_id, bool):
            item_id = str(item_id)
        if not isinstance(item_id, str):
            raise invalid(f"{where}.id", "a string is expected")
        if any(item_id == seen for seen, _ in pairs):
            raise invalid(f"{where}.id", f"item {item_id} is listed twice")
        pairs.append(
            (item_id, decimal_of(entry["quantity"], f"{where}.quantity", max_places=2, positive=True))
        )
    return pairs
