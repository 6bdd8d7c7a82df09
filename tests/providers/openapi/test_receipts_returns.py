"""Openapi.it IT-receipts: partial returns (PATCH) and voids within 24 hours (DELETE)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from emulator.providers.openapi import webhooks
from emulator.providers.openapi.models import OpenapiReceipt
from emulator.state import Sandbox
from tests.conftest import advance
from tests.providers.openapi.test_receipts import (
    OTHER_TOKEN,
    READY_AFTER,
    RECEIPTS,
    auth,
    configure,
    create,
    error,
    get,
    sale,
)

ITEMS = [
    {"quantity": 3, "description": "Tazza", "unit_price": 10, "vat_rate_code": "22", "sku": "TZ"},
    {"quantity": 1, "description": "Libro", "unit_price": 5, "vat_rate_code": "4"},
]


@pytest.fixture
def configured(sandbox: Sandbox) -> Sandbox:
    configure(sandbox)
    return sandbox


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str, str]]]:
    """Every ``receipt_changed`` call: (public id, event, status, ISO instant)."""
    seen: list[tuple[str, str, str, str]] = []

    def record(sandbox: Sandbox, session: Any, row: OpenapiReceipt, event: str, at: dt.datetime) -> None:
        seen.append((row.public_id, event, row.status, at.isoformat()))

    monkeypatch.setattr(webhooks, "receipt_changed", record)
    yield seen


def ready_sale(client: FlaskClient, **overrides: Any) -> dict[str, Any]:
    data = create(client, **{"items": ITEMS, "cash_payment_amount": 35, **overrides})
    advance(client, READY_AFTER)
    receipt = get(client, data["id"])
    assert receipt["status"] == "ready"
    return receipt


def patch(client: FlaskClient, receipt_id: str, body: object, token: str | None = None) -> tuple[int, Any]:
    headers = auth(token) if token else auth()
    response = client.patch(f"{RECEIPTS}/{receipt_id}", json=body, headers=headers)
    return response.status_code, response.get_json()


def delete(client: FlaskClient, receipt_id: str, token: str | None = None) -> tuple[int, Any]:
    response = client.delete(f"{RECEIPTS}/{receipt_id}", headers=auth(token) if token else auth())
    return response.status_code, response.get_json()


# -- returns ----------------------------------------------------------------------------------------


def test_partial_return_full_body_and_flow(
    client: FlaskClient, configured: Sandbox, events: list[tuple[str, str, str, str]]
) -> None:
    original = ready_sale(client)
    cup = original["items"][0]["id"]
    status, body = patch(client, original["id"], {"items": [{"id": cup, "quantity": 1}]})
    assert status == 200
    data = body["data"]
    assert body == {
        "data": {
            "fiscal_id": "31847260010",
            "items": [
                {
                    "id": cup,
                    "quantity": 1,
                    "description": "Tazza",
                    "gross_price": 10,
                    "vat_rate": "22",
                    "gross_discount": 0,
                    "complimentary": False,
                    "unit_price": 8.19672131,
                    "return": 1,
                    "taxable_amount": 8.19672131,
                    "net_taxable_amount": 8.19672131,
                    "vat_amount": 1.80327869,
                    "total_amount": 10,
                    "unit_discount": 0,
                    "sku": "TZ",
                }
            ],
            "cash_payment_amount": 10,
            "invoice_issuing": False,
            "services_uncollected_amount": 0,
            "goods_uncollected_amount": 0,
            "electronic_payment_amount": 0,
            "ticket_restaurant_payment_amount": 0,
            "ticket_restaurant_quantity": 0,
            "discount": 0,
            "linked_receipt": None,
            "lottery_code": None,
            "created_at": "2026-03-02T08:00:15.000Z",
            "error_message": None,
            "error_code": None,
            "total_amount": 10,
            "document_number": "",
            "document_date": None,
            "transaction_id": None,
            "create_timestamp": 1772438415,
            "parent_receipt_id": original["id"],
            "status": "new",
            "type": "return",
            "deductible_amount": 0,
            "total_discount": 0,
            "total_gross_discount": 0,
            "total_taxable_amount": 8.19672131,
            "total_uncollected_amount": 0,
            "total_vat_amount": 1.80327869,
            "update_timestamp": 1772438415,
            "id": data["id"],
            "tags": [],
        },
        "success": True,
        "message": "",
        "error": None,
    }
    after = get(client, original["id"])
    assert [item["return"] for item in after["items"]] == [1, 0]
    assert after["status"] == "ready"
    advance(client, READY_AFTER)
    returned = get(client, data["id"])
    assert returned["status"] == "ready" and returned["document_number"] == "OPENAPI2026/0000-0002"
    assert [(rid, event, status) for rid, event, status, _ in events[-2:]] == [
        (data["id"], "receipt", "submitted"),
        (data["id"], "receipt", "ready"),
    ]
    listed = client.get(f"{RECEIPTS}?parent_receipt_id={original['id']}", headers=auth()).get_json()["data"]
    assert [row["id"] for row in listed] == [data["id"]]
    listed = client.get(f"{RECEIPTS}?type=return", headers=auth()).get_json()["data"]
    assert [row["id"] for row in listed] == [data["id"]]


def test_returns_cannot_exceed_what_is_left(client: FlaskClient, configured: Sandbox) -> None:
    original = ready_sale(client)
    cup, book = (item["id"] for item in original["items"])
    assert patch(client, original["id"], {"items": [{"id": cup, "quantity": 4}]}) == (
        400,
        error(f"Item {cup}: cannot return 4, only 3 left to return", 428),
    )
    assert patch(client, original["id"], {"items": [{"id": cup, "quantity": 2}]})[0] == 200
    assert patch(client, original["id"], {"items": [{"id": cup, "quantity": 1.5}]}) == (
        400,
        error(f"Item {cup}: cannot return 1.5, only 1 left to return", 428),
    )
    status, body = patch(
        client, original["id"], {"items": [{"id": cup, "quantity": 1}, {"id": book, "quantity": 1}]}
    )
    assert status == 200
    assert body["data"]["total_amount"] == 15 and body["data"]["cash_payment_amount"] == 15
    assert patch(client, original["id"], {"items": [{"id": book, "quantity": 1}]}) == (
        400,
        error(f"Item {book}: cannot return 1, only 0 left to return", 428),
    )
    assert [item["return"] for item in get(client, original["id"])["items"]] == [3, 1]


def test_refund_follows_the_sale_payments(client: FlaskClient, configured: Sandbox) -> None:
    original = ready_sale(client, cash_payment_amount=10, electronic_payment_amount=25)
    cup, book = (item["id"] for item in original["items"])
    first = patch(client, original["id"], {"items": [{"id": cup, "quantity": 2}]})[1]["data"]
    assert (first["cash_payment_amount"], first["electronic_payment_amount"]) == (10, 10)
    second = patch(
        client, original["id"], {"items": [{"id": cup, "quantity": 1}, {"id": book, "quantity": 1}]}
    )[1]
    assert (second["data"]["cash_payment_amount"], second["data"]["electronic_payment_amount"]) == (0, 15)


def test_return_with_global_discount_and_item_discount(client: FlaskClient, configured: Sandbox) -> None:
    items = [{"quantity": 4, "description": "Penna", "unit_price": 2.5, "vat_rate_code": "22", "discount": 1}]
    original = ready_sale(client, items=items, discount=1, cash_payment_amount=8)
    pen = original["items"][0]["id"]
    first = patch(client, original["id"], {"items": [{"id": pen, "quantity": 2}]})[1]["data"]
    # 2 × 2.50 − 0.50 (half the item discount) = 4.50, all refunded in cash
    assert first["items"][0]["gross_discount"] == 0.5 and first["total_amount"] == 4.5
    assert (first["cash_payment_amount"], first["discount"]) == (4.5, 0)
    second = patch(client, original["id"], {"items": [{"id": pen, "quantity": 2}]})[1]["data"]
    # 4.50 more, but only 3.50 cash is left: the sale's 1.00 global discount is the return's discount
    assert (second["total_amount"], second["cash_payment_amount"], second["discount"]) == (4.5, 3.5, 1)


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        ({}, "Missing items", 423),
        ([], "The request body must be a JSON object", 424),
        ({"items": []}, "Invalid items: at least 1 item is required", 424),
        ({"items": [5]}, "Invalid items[0]: an object is expected", 424),
        ({"items": [{"quantity": 1}]}, "Missing items[0].id", 423),
        ({"items": [{"id": "1"}]}, "Missing items[0].quantity", 423),
        ({"items": [{"id": ["1"], "quantity": 1}]}, "Invalid items[0].id: a string is expected", 424),
        ({"items": [{"id": "1", "quantity": 0}]}, "Invalid items[0].quantity: must be greater than 0", 424),
        ({"items": [{"id": "1", "quantity": "1"}]}, "Invalid items[0].quantity: a number is expected", 424),
        (
            {"items": [{"id": "1", "quantity": 1}, {"id": "1", "quantity": 1}]},
            "Invalid items[1].id: item 1 is listed twice",
            424,
        ),
    ],
)
def test_return_body_refused(
    client: FlaskClient, configured: Sandbox, body: object, message: str, code: int
) -> None:
    original = ready_sale(client)
    assert patch(client, original["id"], body) == (400, error(message, code))


def test_return_refused_by_state(client: FlaskClient, configured: Sandbox) -> None:
    pending = create(client)
    item = pending["items"][0]["id"]
    assert patch(client, pending["id"], {"items": [{"id": item, "quantity": 1}]}) == (
        400,
        error("Only a ready receipt can be returned: this receipt is new", 428),
    )
    advance(client, READY_AFTER)
    assert patch(client, pending["id"], {"items": [{"id": "999999", "quantity": 1}]}) == (
        400,
        error(f"Item 999999 is not in receipt {pending['id']}", 428),
    )
    status, body = patch(client, pending["id"], {"items": [{"id": item, "quantity": 1}]})
    assert status == 200
    returned = body["data"]
    advance(client, READY_AFTER)
    assert patch(client, returned["id"], {"items": [{"id": item, "quantity": 1}]}) == (
        400,
        error("Only a sale receipt can be returned: this receipt is a return", 428),
    )
    assert patch(client, "0" * 24, {"items": [{"id": item, "quantity": 1}]}) == (
        404,
        error("Receipt not found", 404),
    )
    assert patch(client, pending["id"], {"items": [{"id": item, "quantity": 1}]}, OTHER_TOKEN) == (
        404,
        error("Receipt not found", 404),
    )


# -- voids ------------------------------------------------------------------------------------------


def test_void_full_flow(
    client: FlaskClient, configured: Sandbox, events: list[tuple[str, str, str, str]]
) -> None:
    original = ready_sale(client, cash_payment_amount=5, electronic_payment_amount=30, tags=["keep"])
    events.clear()
    status, body = delete(client, original["id"])
    assert status == 200
    assert body["message"] == f"voided receipt: {original['id']}"
    assert body["success"] is True and body["error"] is None
    void = body["data"]
    expected = {
        **original,
        "items": [{**item, "return": item["quantity"]} for item in original["items"]],
        "id": void["id"],
        "type": "void",
        "status": "new",
        "parent_receipt_id": original["id"],
        "document_number": "",
        "document_date": None,
        "transaction_id": None,
        "tags": [],
        "created_at": "2026-03-02T08:00:15.000Z",
        "create_timestamp": 1772438415,
        "update_timestamp": 1772438415,
    }
    assert void == expected
    voided = get(client, original["id"])
    assert voided["status"] == "voided" and voided["update_timestamp"] == 1772438415
    assert events == [(original["id"], "receipt", "voided", "2026-03-02T08:00:15+00:00")]
    advance(client, READY_AFTER)
    assert get(client, void["id"])["status"] == "ready"
    assert get(client, void["id"])["document_number"] == "OPENAPI2026/0000-0002"
    assert delete(client, original["id"]) == (400, error(f"Receipt {original['id']} is already voided", 429))
    item = original["items"][0]["id"]
    assert patch(client, original["id"], {"items": [{"id": item, "quantity": 1}]}) == (
        400,
        error("Only a ready receipt can be returned: this receipt is voided", 428),
    )
    assert delete(client, void["id"]) == (
        400,
        error("Only a sale receipt can be voided: this receipt is a void", 429),
    )
    listed = client.get(f"{RECEIPTS}?type=void&status=ready", headers=auth()).get_json()["data"]
    assert [row["id"] for row in listed] == [void["id"]]
    assert [
        row["id"] for row in client.get(f"{RECEIPTS}?status=voided", headers=auth()).get_json()["data"]
    ] == [original["id"]]


def test_void_within_24_hours_of_submission(client: FlaskClient, configured: Sandbox) -> None:
    first = ready_sale(client)  # submitted at 08:00:05, ready at 08:00:15
    second = ready_sale(client)  # submitted at 08:00:20, ready at 08:00:30
    advance(client, 24 * 3600 - 25)  # 08:00:05 next day: exactly 24 h after the first's submission
    assert delete(client, first["id"])[0] == 200
    advance(client, 16)  # 24 h + 1 s after the second's submission
    assert delete(client, second["id"]) == (
        400,
        error("A receipt can only be voided within 24 hours of its submission", 429),
    )
    assert get(client, second["id"])["status"] == "ready"


def test_void_refused(client: FlaskClient, configured: Sandbox) -> None:
    pending = create(client)
    assert delete(client, pending["id"]) == (
        400,
        error("Only a ready receipt can be voided: this receipt is new", 429),
    )
    failed = create(client, tags=["SANDBOX:ERROR"])
    advance(client, READY_AFTER)
    assert delete(client, failed["id"]) == (
        400,
        error("Only a ready receipt can be voided: this receipt is failed", 429),
    )
    item = pending["items"][0]["id"]
    returned = patch(client, pending["id"], {"items": [{"id": item, "quantity": 1}]})[1]["data"]
    assert delete(client, pending["id"]) == (400, error("A receipt with returns cannot be voided", 429))
    advance(client, READY_AFTER)
    assert delete(client, returned["id"]) == (
        400,
        error("Only a sale receipt can be voided: this receipt is a return", 429),
    )
    assert delete(client, "0" * 24) == (404, error("Receipt not found", 404))
    assert delete(client, pending["id"], OTHER_TOKEN) == (404, error("Receipt not found", 404))


def test_patch_needs_json(client: FlaskClient, configured: Sandbox) -> None:
    original = ready_sale(client)
    response = client.patch(f"{RECEIPTS}/{original['id']}", data="items", headers=auth())
    assert response.status_code == 415
    assert response.get_json() == error("Unsupported Content-Type none: application/json expected", 415)
    assert sale()["fiscal_id"] == original["fiscal_id"]
