"""Openapi.it IT-receipts: create (every rule), the status flow in virtual time, list, get, PDF."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from emulator.core.tenancy import Account
from emulator.providers.openapi import webhooks
from emulator.providers.openapi.models import OpenapiConfiguration, OpenapiReceipt
from emulator.state import Sandbox
from tests.conftest import advance

TOKEN = "0605df661073c2a58bb2908a3537beb624c1dfe9"
OTHER_TOKEN = "f5d4c497810ec9a7c565826b9be96e720a260dd9"
VAT = "31847260010"
VAT2 = "31847270100"
OTHER_VAT = "27609130722"
RECEIPTS = "/openapi/IT-receipts"
# Seconds from the first transmission to ready: 5 (to submitted) + 10 (the Authority's answer).
READY_AFTER = 15


def auth(token: str = TOKEN, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def error(message: str, code: int) -> dict[str, Any]:
    return {"data": None, "success": False, "message": message, "error": code}


def configure(
    sandbox: Sandbox, fiscal_id: str = VAT, *, receipts: bool = True, tenant: str = "sandbox"
) -> None:
    """A configuration row as the IT-configurations helper stores it (only the fields receipts read)."""
    with sandbox.transaction() as session:
        account = session.execute(
            select(Account).where(Account.provider == "openapi", Account.tenant == tenant)
        ).scalar_one()
        now = sandbox.clock.now()
        session.add(
            OpenapiConfiguration(
                public_id=f"{len(fiscal_id):024x}"[:12] + fiscal_id[-12:].zfill(12),
                account_id=account.id,
                fiscal_id=fiscal_id,
                document={"fiscal_id": fiscal_id, "name": "Negozio Prova S.r.l.", "receipts": receipts},
                created_at=now,
                updated_at=now,
            )
        )


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


def sale(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "fiscal_id": VAT,
        "items": [
            {"quantity": 2, "description": "Caffè in grani 1kg", "unit_price": 10, "vat_rate_code": "22"}
        ],
        "cash_payment_amount": 20,
    }
    body.update(overrides)
    return body


def post(client: FlaskClient, body: object, token: str = TOKEN) -> tuple[int, dict[str, Any]]:
    response = client.post(RECEIPTS, json=body, headers=auth(token))
    return response.status_code, response.get_json()


def create(client: FlaskClient, **overrides: Any) -> dict[str, Any]:
    status, body = post(client, sale(**overrides))
    assert status == 200, body
    data: dict[str, Any] = body["data"]
    return data


def get(client: FlaskClient, receipt_id: str) -> dict[str, Any]:
    response = client.get(f"{RECEIPTS}/{receipt_id}", headers=auth())
    assert response.status_code == 200, response.get_data(as_text=True)
    data: dict[str, Any] = response.get_json()["data"]
    return data


# -- create -------------------------------------------------------------------------------------


def test_create_full_body_then_submitted_and_ready(
    client: FlaskClient, configured: Sandbox, events: list[tuple[str, str, str, str]]
) -> None:
    status, body = post(
        client,
        sale(
            tags=["web"],
            linked_receipt="ORD-2026-1",
            items=[
                {
                    "quantity": 2,
                    "description": "Caffè in grani 1kg",
                    "unit_price": 10,
                    "vat_rate_code": "22",
                    "sku": "CAF1",
                }
            ],
        ),
    )
    assert status == 200
    data = body["data"]
    receipt_id = data["id"]
    item_id = data["items"][0]["id"]
    assert len(receipt_id) == 24 and len(item_id) == 6 and item_id.isdigit()
    assert body == {
        "data": {
            "fiscal_id": VAT,
            "items": [
                {
                    "id": item_id,
                    "quantity": 2,
                    "description": "Caffè in grani 1kg",
                    "gross_price": 10,
                    "vat_rate": "22",
                    "gross_discount": 0,
                    "complimentary": False,
                    "unit_price": 8.19672131,
                    "return": 0,
                    "taxable_amount": 16.39344262,
                    "net_taxable_amount": 16.39344262,
                    "vat_amount": 3.60655738,
                    "total_amount": 20,
                    "unit_discount": 0,
                    "sku": "CAF1",
                }
            ],
            "cash_payment_amount": 20,
            "invoice_issuing": False,
            "services_uncollected_amount": 0,
            "goods_uncollected_amount": 0,
            "electronic_payment_amount": 0,
            "ticket_restaurant_payment_amount": 0,
            "ticket_restaurant_quantity": 0,
            "discount": 0,
            "linked_receipt": "ORD-2026-1",
            "lottery_code": None,
            "created_at": "2026-03-02T08:00:00.000Z",
            "error_message": None,
            "error_code": None,
            "total_amount": 20,
            "document_number": "",
            "document_date": None,
            "transaction_id": None,
            "create_timestamp": 1772438400,
            "parent_receipt_id": None,
            "status": "new",
            "type": "sale",
            "deductible_amount": 0,
            "total_discount": 0,
            "total_gross_discount": 0,
            "total_taxable_amount": 16.39344262,
            "total_uncollected_amount": 0,
            "total_vat_amount": 3.60655738,
            "update_timestamp": 1772438400,
            "id": receipt_id,
            "tags": ["web"],
        },
        "success": True,
        "message": "",
        "error": None,
    }
    advance(client, 4)
    assert get(client, receipt_id)["status"] == "new"
    advance(client, 1)
    assert get(client, receipt_id)["status"] == "submitted"
    advance(client, 10)
    ready = get(client, receipt_id)
    assert ready["status"] == "ready"
    assert ready["document_number"] == "OPENAPI2026/0000-0001"
    assert ready["transaction_id"] == "0001"
    assert ready["document_date"] == "2026-03-02T08:00:05.000Z"
    assert ready["update_timestamp"] == 1772438400 + 15
    assert events == [
        (receipt_id, "receipt", "submitted", "2026-03-02T08:00:05+00:00"),
        (receipt_id, "receipt", "ready", "2026-03-02T08:00:15+00:00"),
    ]
    second = create(client)
    advance(client, READY_AFTER)
    assert get(client, second["id"])["document_number"] == "OPENAPI2026/0000-0002"


def test_amounts_discounts_natures_and_complimentary(client: FlaskClient, configured: Sandbox) -> None:
    items = [
        {"quantity": 3, "description": "Pane", "unit_price": 1.5, "vat_rate_code": "4", "discount": 0.5},
        {"quantity": 1, "description": "Francobollo", "unit_price": 1.25, "vat_rate_code": "N2"},
        {
            "quantity": 1,
            "description": "Omaggio",
            "unit_price": 12.2,
            "vat_rate_code": "22",
            "complimentary": True,
        },
        {"quantity": 0.5, "description": "Formaggio al kg", "unit_price": 19.99, "vat_rate_code": "10"},
    ]
    # 4.00 + 1.25 + 0 + 10.00 (0.5 × 19.99 = 9.995 → 10.00) = 15.25; minus 0.25 global discount
    data = create(client, items=items, discount=0.25, cash_payment_amount=5, electronic_payment_amount=10)
    bread, stamp, gift, cheese = data["items"]
    assert bread["total_amount"] == 4 and bread["gross_discount"] == 0.5
    assert bread["unit_discount"] == 0.16666667
    assert bread["taxable_amount"] == 4.32692308  # 4.50 / 1.04
    assert bread["net_taxable_amount"] == 3.84615385 and bread["vat_amount"] == 0.15384615
    assert stamp["unit_price"] == 1.25 and stamp["vat_amount"] == 0 and stamp["net_taxable_amount"] == 1.25
    assert gift["total_amount"] == 0 and gift["complimentary"] is True
    assert gift["net_taxable_amount"] == 10 and gift["vat_amount"] == 2.2
    assert cheese["total_amount"] == 10 and cheese["quantity"] == 0.5
    assert data["total_amount"] == 15.25 and data["discount"] == 0.25 and data["total_discount"] == 0.25
    assert data["total_gross_discount"] == 0.5
    assert data["total_taxable_amount"] == 3.84615385 + 1.25 + 10 + 9.09090909
    assert data["total_vat_amount"] == pytest.approx(0.15384615 + 2.2 + 0.90909091)


def test_meal_vouchers_and_uncollected(client: FlaskClient, configured: Sandbox) -> None:
    data = create(
        client,
        cash_payment_amount=2,
        ticket_restaurant_payment_amount=8,
        ticket_restaurant_quantity=2,
        goods_uncollected_amount=6,
        services_uncollected_amount=4,
        invoice_issuing=True,
    )
    assert data["ticket_restaurant_payment_amount"] == 8 and data["ticket_restaurant_quantity"] == 2
    assert data["total_uncollected_amount"] == 10 and data["invoice_issuing"] is True


def test_lottery_code_with_electronic_payment(client: FlaskClient, configured: Sandbox) -> None:
    data = create(client, cash_payment_amount=0, electronic_payment_amount=20, lottery_code="A1B2C3D4")
    assert data["lottery_code"] == "A1B2C3D4"


@pytest.mark.parametrize(
    ("overrides", "message", "code"),
    [
        ({"fiscal_id": None}, "Missing fiscal_id", 423),
        ({"fiscal_id": ""}, "Missing fiscal_id", 423),
        ({"fiscal_id": 31847260010}, "Invalid fiscal_id: a string is expected", 424),
        ({"items": None}, "Missing items", 423),
        ({"items": []}, "Invalid items: at least 1 item is required", 424),
        ({"items": "x"}, "Invalid items: at least 1 item is required", 424),
        ({"items": ["x"]}, "Invalid items[0]: an object is expected", 424),
        ({"cash_payment_amount": None}, "Missing cash_payment_amount", 423),
        ({"cash_payment_amount": "20"}, "Invalid cash_payment_amount: a number is expected", 424),
        ({"cash_payment_amount": True}, "Invalid cash_payment_amount: a number is expected", 424),
        ({"cash_payment_amount": -1}, "Invalid cash_payment_amount: must not be negative", 424),
        (
            {"cash_payment_amount": 20.001},
            "Invalid cash_payment_amount: at most 2 decimal digits are allowed",
            424,
        ),
        ({"electronic_payment_amount": -5}, "Invalid electronic_payment_amount: must not be negative", 424),
        (
            {"ticket_restaurant_quantity": 1.5},
            "Invalid ticket_restaurant_quantity: a non-negative integer is expected",
            424,
        ),
        ({"invoice_issuing": "yes"}, "Invalid invoice_issuing: true or false expected", 424),
        ({"linked_receipt": "x" * 51}, "Invalid linked_receipt: at most 50 characters are allowed", 424),
        ({"lottery_code": "A1B2C3"}, "Invalid lottery_code: 8 alphanumeric characters expected", 424),
        ({"lottery_code": "A1B2C3D-"}, "Invalid lottery_code: 8 alphanumeric characters expected", 424),
        ({"tags": "x"}, "Invalid tags: an array of strings is expected", 424),
        ({"tags": [str(n) for n in range(11)]}, "Invalid tags: at most 10 tags are allowed", 424),
        ({"discount": -1}, "Invalid discount: must not be negative", 424),
        ({"discount": 25, "cash_payment_amount": 0}, "discount exceeds the receipt's total_amount", 425),
    ],
)
def test_create_refused(
    client: FlaskClient, configured: Sandbox, overrides: dict[str, Any], message: str, code: int
) -> None:
    body = sale(**overrides)
    for key, value in overrides.items():
        if value is None:
            del body[key]
    assert post(client, body) == (400, error(message, code))


ITEM = {"quantity": 2, "description": "Caffè", "unit_price": 10, "vat_rate_code": "22"}


@pytest.mark.parametrize(
    ("changes", "message", "code"),
    [
        ({"quantity": None}, "Missing items[0].quantity", 423),
        ({"description": None}, "Missing items[0].description", 423),
        ({"unit_price": None}, "Missing items[0].unit_price", 423),
        ({"vat_rate_code": None}, "Missing items[0].vat_rate_code", 423),
        ({"quantity": 0}, "Invalid items[0].quantity: must be greater than 0", 424),
        ({"quantity": 1.234}, "Invalid items[0].quantity: at most 2 decimal digits are allowed", 424),
        ({"unit_price": 0}, "Invalid items[0].unit_price: must be greater than 0", 424),
        (
            {"unit_price": 1.123456789},
            "Invalid items[0].unit_price: at most 8 decimal digits are allowed",
            424,
        ),
        ({"description": "  "}, "Invalid items[0].description: must not be empty", 424),
        (
            {"description": "x" * 1001},
            "Invalid items[0].description: at most 1000 characters are allowed",
            424,
        ),
        ({"description": "a\x00b"}, "Invalid items[0].description: control characters are not allowed", 424),
        ({"description": 5}, "Invalid items[0].description: a string is expected", 424),
        (
            {"vat_rate_code": "21"},
            "Invalid items[0].vat_rate_code: must be one of 4, 5, 10, 22, 2, 6.4, 7, 7.3, 7.5, 7.65, 7.95, "
            "8.3, 8.5, 8.8, 9.5, 12.3, N1, N2, N3, N4, N5, N6",
            424,
        ),
        (
            {"vat_rate_code": 22},
            "Invalid items[0].vat_rate_code: must be one of 4, 5, 10, 22, 2, 6.4, 7, 7.3, "
            "7.5, 7.65, 7.95, 8.3, 8.5, 8.8, 9.5, 12.3, N1, N2, N3, N4, N5, N6",
            424,
        ),
        ({"discount": -1}, "Invalid items[0].discount: must not be negative", 424),
        (
            {"discount": 1, "complimentary": True},
            "Invalid items[0].discount: cannot be used with complimentary",
            424,
        ),
        ({"discount": 21}, "items[0].discount exceeds the item's amount", 425),
        ({"complimentary": "no"}, "Invalid items[0].complimentary: true or false expected", 424),
        ({"sku": 12}, "Invalid items[0].sku: a string is expected", 424),
    ],
)
def test_item_refused(
    client: FlaskClient, configured: Sandbox, changes: dict[str, Any], message: str, code: int
) -> None:
    item = {**ITEM, **changes}
    item = {key: value for key, value in item.items() if value is not None}
    assert post(client, sale(items=[item])) == (400, error(message, code))


@pytest.mark.parametrize(
    ("overrides", "message", "code"),
    [
        (
            {"cash_payment_amount": 19.99},
            "The payments (19.99) do not match the amount due (20.00: total_amount minus discount)",
            425,
        ),
        (
            {"electronic_payment_amount": 0.01},
            "The payments (20.01) do not match the amount due (20.00: total_amount minus discount)",
            425,
        ),
        (
            {"discount": 1},
            "The payments (20.00) do not match the amount due (19.00: total_amount minus discount)",
            425,
        ),
        (
            {"cash_payment_amount": 12, "ticket_restaurant_payment_amount": 8},
            "ticket_restaurant_payment_amount and ticket_restaurant_quantity must be given together",
            425,
        ),
        (
            {"ticket_restaurant_quantity": 2},
            "ticket_restaurant_payment_amount and ticket_restaurant_quantity must be given together",
            425,
        ),
        (
            {"cash_payment_amount": 10, "goods_uncollected_amount": 10},
            "Uncollected amounts require invoice_issuing=true",
            425,
        ),
        (
            {"cash_payment_amount": 10, "services_uncollected_amount": 10, "invoice_issuing": False},
            "Uncollected amounts require invoice_issuing=true",
            425,
        ),
        (
            {"invoice_issuing": True},
            "invoice_issuing requires goods_uncollected_amount or services_uncollected_amount",
            425,
        ),
        ({"lottery_code": "A1B2C3D4"}, "The lottery code requires a fully electronic payment", 426),
        (
            {"lottery_code": "A1B2C3D4", "cash_payment_amount": 1, "electronic_payment_amount": 19},
            "The lottery code requires a fully electronic payment",
            426,
        ),
        (
            {
                "lottery_code": "A1B2C3D4",
                "items": [{"quantity": 1, "description": "Gomma", "unit_price": 0.99, "vat_rate_code": "22"}],
                "cash_payment_amount": 0,
                "electronic_payment_amount": 0.99,
            },
            "The lottery code requires a total of at least EUR 1.00",
            426,
        ),
    ],
)
def test_payment_rules(
    client: FlaskClient, configured: Sandbox, overrides: dict[str, Any], message: str, code: int
) -> None:
    assert post(client, sale(**overrides)) == (400, error(message, code))


def test_rounded_total_is_cent_exact(client: FlaskClient, configured: Sandbox) -> None:
    items = [{"quantity": 3, "description": "Vite", "unit_price": 0.33333333, "vat_rate_code": "22"}]
    assert post(client, sale(items=items, cash_payment_amount=0.99))[0] == 400
    assert create(client, items=items, cash_payment_amount=1)["total_amount"] == 1


def test_configuration_required_and_receipts_enabled(client: FlaskClient, sandbox: Sandbox) -> None:
    assert post(client, sale()) == (404, error("Fiscal ID not found or not registered", 111))
    assert post(client, sale(fiscal_id="12345678901")) == (
        404,
        error("Fiscal ID not found or not registered", 111),
    )
    assert post(client, sale(fiscal_id=OTHER_VAT)) == (403, error("Unauthorized access", 403))
    configure(sandbox, receipts=False)
    assert post(client, sale()) == (
        400,
        error(
            f"Receipts are not enabled for fiscal_id {VAT}: set receipts to true in its IT-configuration", 427
        ),
    )


def test_body_not_json_or_not_an_object(client: FlaskClient, configured: Sandbox) -> None:
    response = client.post(RECEIPTS, data="{", headers=auth(**{"Content-Type": "application/json"}))
    assert (response.status_code, response.get_json()) == (400, error("Invalid JSON body", 400))
    assert post(client, [sale()]) == (400, error("The request body must be a JSON object", 424))


def test_unauthenticated(client: FlaskClient) -> None:
    response = client.get(RECEIPTS)
    assert response.status_code == 401
    assert response.get_json() == error("Unauthorized", 401)


# -- status flow ------------------------------------------------------------------------------------


def test_retry_trigger_then_ready(
    client: FlaskClient, configured: Sandbox, events: list[tuple[str, str, str, str]]
) -> None:
    receipt_id = create(client, tags=["SANDBOX:RETRY"])["id"]
    advance(client, 5)
    retry = get(client, receipt_id)
    assert retry["status"] == "retry"
    assert retry["error_code"] == "SANDBOX-503"
    assert retry["error_message"] == "The Tax Authority portal did not answer (sandbox trigger)"
    advance(client, 60)
    assert get(client, receipt_id)["status"] == "submitted"
    advance(client, 10)
    ready = get(client, receipt_id)
    assert (ready["status"], ready["error_code"], ready["error_message"]) == ("ready", None, None)
    assert [(event, status) for _, event, status, _ in events] == [
        ("receipt-retry", "retry"),
        ("receipt", "submitted"),
        ("receipt", "ready"),
    ]


def test_fail_trigger_retries_then_failed(
    client: FlaskClient, configured: Sandbox, events: list[tuple[str, str, str, str]]
) -> None:
    receipt_id = create(client, tags=["SANDBOX:FAIL"])["id"]
    advance(client, 5 + 60 + 60)
    failed = get(client, receipt_id)
    assert failed["status"] == "failed" and failed["document_number"] == ""
    assert failed["error_code"] == "SANDBOX-503"
    assert events == [
        (receipt_id, "receipt-retry", "retry", "2026-03-02T08:00:05+00:00"),
        (receipt_id, "receipt-retry", "retry", "2026-03-02T08:01:05+00:00"),
        (receipt_id, "receipt-error", "failed", "2026-03-02T08:02:05+00:00"),
    ]
    advance(client, 3600)
    assert get(client, receipt_id)["status"] == "failed"


def test_error_trigger_refused_by_authority(
    client: FlaskClient, configured: Sandbox, events: list[tuple[str, str, str, str]]
) -> None:
    receipt_id = create(client, tags=["SANDBOX:ERROR"])["id"]
    advance(client, READY_AFTER)
    failed = get(client, receipt_id)
    assert failed["status"] == "failed"
    assert failed["error_code"] == "SANDBOX-400"
    assert failed["error_message"] == "The Tax Authority refused the receipt (sandbox trigger)"
    assert [event for _, event, _, _ in events] == ["receipt", "receipt-error"]


def test_deferral_between_2355_and_midnight_rome(
    client: FlaskClient, configured: Sandbox, events: list[tuple[str, str, str, str]]
) -> None:
    # 09:00 Rome → 23:56 Rome (22:56 UTC, March: UTC+1)
    advance(client, 14 * 3600 + 56 * 60)
    receipt_id = create(client)["id"]
    advance(client, 60)
    assert get(client, receipt_id)["status"] == "new"
    advance(client, 3 * 60)  # 23:59:59 + 1 s → 00:00:00 Rome
    assert get(client, receipt_id)["status"] == "new"
    advance(client, 30)  # 00:00:30 Rome: transmitted
    assert get(client, receipt_id)["status"] == "submitted"
    advance(client, 10)
    ready = get(client, receipt_id)
    assert ready["status"] == "ready"
    assert ready["document_date"] == "2026-03-02T23:00:30.000Z"  # 3 March 00:00:30 Rome
    assert events[0] == (receipt_id, "receipt", "submitted", "2026-03-02T23:00:30+00:00")
    listed = client.get(f"{RECEIPTS}?document_date=2026-03-03", headers=auth()).get_json()["data"]
    assert [row["id"] for row in listed] == [receipt_id]


def test_just_before_2355_is_not_deferred(client: FlaskClient, configured: Sandbox) -> None:
    advance(client, 14 * 3600 + 54 * 60 + 54)  # 23:54:54 Rome: transmitted at 23:54:59
    receipt_id = create(client)["id"]
    advance(client, 5)
    assert get(client, receipt_id)["status"] == "submitted"


def test_created_just_before_window_transmission_in_window_is_deferred(
    client: FlaskClient, configured: Sandbox
) -> None:
    advance(client, 14 * 3600 + 54 * 60 + 58)  # 23:54:58 Rome: transmission would be 23:55:03
    receipt_id = create(client)["id"]
    advance(client, 5 * 60 + 2 + 29)  # 00:00:29 Rome
    assert get(client, receipt_id)["status"] == "new"
    advance(client, 1)
    assert get(client, receipt_id)["status"] == "submitted"


# -- read -------------------------------------------------------------------------------------------


def test_get_unknown_or_other_tenant_404(client: FlaskClient, configured: Sandbox) -> None:
    receipt_id = create(client)["id"]
    for token, wanted in ((OTHER_TOKEN, receipt_id), (TOKEN, "0" * 24)):
        response = client.get(f"{RECEIPTS}/{wanted}", headers=auth(token))
        assert (response.status_code, response.get_json()) == (404, error("Receipt not found", 404))


def test_get_pdf_by_content_type_or_accept(client: FlaskClient, configured: Sandbox) -> None:
    receipt_id = create(client, lottery_code="ABCD1234", cash_payment_amount=0, electronic_payment_amount=20)[
        "id"
    ]
    advance(client, READY_AFTER)
    for headers in ({"Content-Type": "application/pdf"}, {"Accept": "application/pdf"}):
        response = client.get(f"{RECEIPTS}/{receipt_id}", headers=auth(**headers))
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF-") and response.data.rstrip().endswith(b"%%EOF")
        assert response.headers["Content-Disposition"] == f'attachment; filename="receipt-{receipt_id}.pdf"'
    response = client.get(f"{RECEIPTS}/{receipt_id}", headers=auth(Accept="*/*"))
    assert response.mimetype == "application/json"


def test_list_filters(client: FlaskClient, sandbox: Sandbox) -> None:
    configure(sandbox)
    configure(sandbox, VAT2)
    configure(sandbox, OTHER_VAT, tenant="other")
    first = create(client)["id"]
    advance(client, READY_AFTER)
    second = create(client, fiscal_id=VAT2)["id"]
    advance(client, 24 * 3600)  # next day (3 March)
    third = create(client, tags=["SANDBOX:FAIL"])["id"]
    advance(client, 600)
    status, other = post(client, sale(fiscal_id=OTHER_VAT), token=OTHER_TOKEN)
    assert status == 200

    def ids(query: str) -> list[str]:
        response = client.get(f"{RECEIPTS}{query}", headers=auth())
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["success"] is True and body["message"] == "" and body["error"] is None
        return [row["id"] for row in body["data"]]

    assert ids("") == [third, second, first]
    assert ids(f"?fiscal_id={VAT2}") == [second]
    assert ids(f"?fiscal_id={VAT},{VAT2}") == [third, second, first]
    assert ids("?status=failed") == [third]
    assert ids("?status=ready,failed") == [third, second, first]
    assert ids("?type=sale") == [third, second, first]
    assert ids("?type=return,void") == []
    assert ids("?document_number=OPENAPI2026/0000-0001") == [second, first]  # numbered per company
    assert ids(f"?document_number=OPENAPI2026/0000-0001&fiscal_id={VAT}") == [first]
    assert ids("?created_at=2026-03-02") == [second, first]
    assert ids("?created_at[after]=2026-03-02") == [third]
    assert ids("?created_at[before]=2026-03-03") == [second, first]
    assert ids("?document_date=2026-03-02") == [second, first]
    assert ids("?document_date[after]=2026-03-01") == [second, first]
    assert ids("?document_date[before]=2026-03-02") == []
    assert ids("?skip=1") == [second, first]
    assert ids("?skip=1&limit=1") == [second]
    assert ids("?limit=100") == [third, second, first]
    assert ids(f"?parent_receipt_id={first}") == []
    assert other["data"]["id"] not in ids("")


def test_list_fiscal_id_of_another_tenant_or_nobody_is_refused(client: FlaskClient, sandbox: Sandbox) -> None:
    """As on the invoice list: another tenant's fiscal id is 403, one nobody holds 404 (111)."""
    configure(sandbox)
    configure(sandbox, OTHER_VAT, tenant="other")
    assert post(client, sale(fiscal_id=OTHER_VAT), token=OTHER_TOKEN)[0] == 200
    for query, expected in (
        (f"?fiscal_id={OTHER_VAT}", (403, error("Unauthorized access", 403))),
        (f"?fiscal_id={VAT},{OTHER_VAT}", (403, error("Unauthorized access", 403))),
        ("?fiscal_id=12345678901", (404, error("Fiscal ID not found or not registered", 111))),
    ):
        response = client.get(f"{RECEIPTS}{query}", headers=auth())
        assert (response.status_code, response.get_json()) == expected, query


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=sent", "Invalid status: valid values are new, retry, submitted, ready, failed, voided"),
        ("type=sale,credit", "Invalid type: valid values are sale, return, void"),
        ("created_at=02/03/2026", "Invalid created_at: YYYY-MM-DD expected"),
        ("created_at[before]=2026-13-01", "Invalid created_at[before]: YYYY-MM-DD expected"),
        ("document_date[after]=yesterday", "Invalid document_date[after]: YYYY-MM-DD expected"),
        ("skip=-1", "Invalid skip: an integer >= 0"),
        ("skip=a", "Invalid skip: an integer >= 0"),
        ("limit=0", "Invalid limit: an integer from 1 to 100"),
        ("limit=101", "Invalid limit: an integer from 1 to 100"),
    ],
)
def test_list_bad_filters(client: FlaskClient, configured: Sandbox, query: str, message: str) -> None:
    response = client.get(f"{RECEIPTS}?{query}", headers=auth())
    assert (response.status_code, response.get_json()) == (400, error(message, 424))


def test_pdf_with_text_outside_the_core_fonts(client: FlaskClient, configured: Sandbox) -> None:
    items = [{"quantity": 1, "description": "Tazza € ☕ 漢字", "unit_price": 20, "vat_rate_code": "22"}]
    receipt_id = create(client, items=items)["id"]
    response = client.get(f"{RECEIPTS}/{receipt_id}", headers=auth(Accept="application/pdf"))
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")


def test_list_huge_skip_is_an_empty_page_and_a_huge_limit_is_400(
    client: FlaskClient, configured: Sandbox
) -> None:
    create(client)
    response = client.get(f"{RECEIPTS}?skip=99999999999999999999", headers=auth())
    assert (response.status_code, response.get_json()["data"]) == (200, [])
    response = client.get(f"{RECEIPTS}?limit=99999999999999999999", headers=auth())
    expected = error("Invalid limit: an integer from 1 to 100", 424)
    assert (response.status_code, response.get_json()) == (400, expected)
