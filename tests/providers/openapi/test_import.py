"""POST /IT-invoices_import as a service: decoding, direction, duplicates, tenant rules, errors."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from emulator.core.errors import SandboxError
from emulator.core.tenancy import Account
from emulator.providers.openapi import intake
from emulator.providers.openapi.errors import render_error
from emulator.providers.openapi.models import OpenapiConfiguration, OpenapiInvoice
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from emulator.state import Sandbox

DOCUMENT = (
    Path(__file__).resolve().parents[4] / "shared" / "reference" / "seeds" / "openapi-it-invoice.openapi.json"
)
SANDBOX_VAT, SANDBOX_VAT_2, OTHER_VAT = "31847260010", "31847270100", "27609130722"
STRANGER_VAT = "01234567897"
JSON_TYPE = "application/json"


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return loaded


def schema_validator(name: str) -> Any:
    """A validator of one of the published document's component schemas."""
    raw = document()
    return jsonschema_rs.Draft4Validator(
        {"$ref": f"#/components/schemas/{name}", "components": raw["components"]}
    )


def without_nulls(value: Any) -> Any:
    """The value with null members dropped: the views send null for what the XML lacks (absent)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def assert_schema(name: str, value: Any) -> None:
    errors = [str(error) for error in schema_validator(name).iter_errors(without_nulls(value))]
    assert errors == [], errors


def invoice_xml(
    *, supplier: str = SANDBOX_VAT, customer: str = STRANGER_VAT, number: str = "7/2026", seed: int = 1
) -> bytes:
    return (
        InvoiceGenerator(seed)
        .generate(
            supplier=PartySpec(vat=supplier, fiscal_code=supplier, name="Fornitore S.r.l."),
            customer=PartySpec(vat=customer, name="Cliente S.p.A."),
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            number=number,
            recipient_code="PIC7CPS",
        )
        .xml
    )


def account_of(session: Any, tenant: str = "sandbox") -> Account:
    query = select(Account).where(Account.provider == "openapi", Account.tenant == tenant)
    account: Account = session.execute(query).scalar_one()
    return account


def configure(
    sandbox: Sandbox, fiscal_id: str = SANDBOX_VAT, tenant: str = "sandbox", **document: Any
) -> None:
    """A configuration row, as O1's service stores it (``document`` is its JSON)."""
    with sandbox.transaction() as session:
        account = account_of(session, tenant)
        now = sandbox.clock.now()
        session.add(
            OpenapiConfiguration(
                public_id=f"{len(fiscal_id):02d}{fiscal_id}".ljust(24, "0")[:24],
                account_id=account.id,
                fiscal_id=fiscal_id,
                document={"fiscal_id": fiscal_id, "name": "Company", "email": "a@example.com", **document},
                created_at=now,
                updated_at=now,
            )
        )


def outcome(app: Flask, call: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    """(status, body) as the route would answer: errors rendered in Openapi's envelope."""
    try:
        result = call()
    except SandboxError as error:
        with app.app_context():
            response = render_error(error)
            return response.status_code, response.get_json()
    if isinstance(result, tuple):
        return result[0], result[1]
    return 200, result


def do_import(
    app: Flask,
    sandbox: Sandbox,
    body: bytes | dict[str, Any],
    tenant: str = "sandbox",
    content_type: str = JSON_TYPE,
) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body

    def call() -> Any:
        with sandbox.transaction() as session:
            return intake.import_invoice(sandbox, session, account_of(session, tenant), raw, content_type)

    return outcome(app, call)


def count(sandbox: Sandbox) -> int:
    with sandbox.transaction() as session:
        return int(session.execute(select(func.count(OpenapiInvoice.id))).scalar_one())


# -- success -------------------------------------------------------------------------------------


def test_raw_xml_of_the_accounts_supplier_is_an_outgoing_done_invoice(app: Flask, sandbox: Sandbox) -> None:
    configure(sandbox)
    status, body = do_import(app, sandbox, {"invoice": invoice_xml().decode()})
    assert status == 200, body
    data = body["data"]
    assert body["success"] is True and body["error"] is None
    assert data["direction"] == "outgoing" and data["state"] == "DONE"
    assert data["fiscal_id"] == SANDBOX_VAT
    assert data["document_number"] == "7/2026" and data["issue_date"] == "2026-03-01"
    assert data["type"] == "TD01" and len(data["id"]) == 24
    assert data["details"]["invoice_date"] == "2026-03-01"
    assert data["details"]["sdi_status"] is None and data["details"]["sdi_id"] is None
    assert data["recipient"]["vat_id"] == f"IT{STRANGER_VAT}"
    assert_schema("InvoiceResponse", data)
    with sandbox.transaction() as session:
        row = session.execute(select(OpenapiInvoice)).scalar_one()
        assert row.imported is True and row.invoice_id is None and row.sdi_status is None
        assert row.counterparty_fiscal_id == STRANGER_VAT
        assert row.xml == invoice_xml()


def test_base64_xml_of_the_accounts_customer_is_an_incoming_received_invoice(
    app: Flask, sandbox: Sandbox
) -> None:
    configure(sandbox, SANDBOX_VAT_2)
    encoded = base64.b64encode(invoice_xml(supplier=STRANGER_VAT, customer=SANDBOX_VAT_2)).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    details = {"sdi_id": "123456789", "sdi_filename": "IT01234567897_00001.xml", "sdi_status": "DELIVERED"}
    status, body = do_import(app, sandbox, {"invoice": wrapped, "details": details})
    assert status == 200, body
    data = body["data"]
    assert (data["direction"], data["state"], data["fiscal_id"]) == ("incoming", "RECEIVED", SANDBOX_VAT_2)
    assert data["details"]["sdi_status"] == "RECEIVED"
    assert data["details"]["sdi_id"] == "123456789"
    assert data["details"]["sdi_filename"] == "IT01234567897_00001.xml"
    assert_schema("InvoiceResponse", data)


@pytest.mark.parametrize(
    ("sdi_status", "state"),
    [("DELIVERED", "DONE"), ("ACCEPTED", "DONE"), ("NOT_DELIVERED", "DONE"), ("REJECTED", "ERROR")],
)
def test_outgoing_state_follows_the_given_sdi_status(
    app: Flask, sandbox: Sandbox, sdi_status: str, state: str
) -> None:
    configure(sandbox)
    details = {
        "sdi_status": sdi_status,
        "sdi_message": "ok",
        "sdi_update_date": "2026-03-01T10:00:00Z",
        "invoice_date": "2026-03-01",
    }
    status, body = do_import(app, sandbox, {"invoice": invoice_xml().decode(), "details": details})
    assert status == 200, body
    assert body["data"]["state"] == state
    assert body["data"]["details"]["sdi_status"] == sdi_status
    assert body["data"]["details"]["sdi_message"] == "ok"
    assert body["data"]["details"]["sdi_update_date"] == "2026-03-01T10:00:00+00:00"


def test_supplier_wins_when_both_parties_are_configured(app: Flask, sandbox: Sandbox) -> None:
    configure(sandbox)
    configure(sandbox, SANDBOX_VAT_2)
    status, body = do_import(app, sandbox, {"invoice": invoice_xml(customer=SANDBOX_VAT_2).decode()})
    assert status == 200, body
    assert (body["data"]["direction"], body["data"]["fiscal_id"]) == ("outgoing", SANDBOX_VAT)


def test_an_xml_body_is_the_raw_invoice(app: Flask, sandbox: Sandbox) -> None:
    configure(sandbox)
    status, body = do_import(app, sandbox, invoice_xml(), content_type="application/xml")
    assert status == 200, body
    assert body["data"]["direction"] == "outgoing"


# -- duplicates ----------------------------------------------------------------------------------


def test_a_known_sdi_id_is_a_duplicate(app: Flask, sandbox: Sandbox) -> None:
    configure(sandbox)
    first = {"invoice": invoice_xml().decode(), "details": {"sdi_id": "555"}}
    assert do_import(app, sandbox, first)[0] == 200
    again = {"invoice": invoice_xml(number="8/2026").decode(), "details": {"sdi_id": "555"}}
    assert do_import(app, sandbox, again) == (
        400,
        {
            "data": None,
            "success": False,
            "message": "Invalid input data: an invoice with SDI ID 555 already exists",
            "error": 400,
        },
    )
    assert count(sandbox) == 1


def test_same_business_keys_are_a_duplicate_but_the_other_direction_is_not(
    app: Flask, sandbox: Sandbox
) -> None:
    configure(sandbox)
    assert do_import(app, sandbox, {"invoice": invoice_xml().decode()})[0] == 200
    status, body = do_import(app, sandbox, {"invoice": invoice_xml(seed=2).decode()})
    assert status == 400
    assert body["message"] == (
        "Invalid input data: duplicate invoice: outgoing invoice 7/2026 of 2026-03-01 already exists "
        f"for {SANDBOX_VAT}"
    )
    assert body["error"] == 400 and body["success"] is False
    incoming = invoice_xml(supplier=STRANGER_VAT, customer=SANDBOX_VAT)
    assert do_import(app, sandbox, {"invoice": incoming.decode()})[0] == 200
    assert do_import(app, sandbox, {"invoice": invoice_xml(number="8/2026").decode()})[0] == 200
    assert count(sandbox) == 3


# -- tenants -------------------------------------------------------------------------------------


def test_no_configured_party_is_404_111(app: Flask, sandbox: Sandbox) -> None:
    status, body = do_import(app, sandbox, {"invoice": invoice_xml(supplier="00743110157").decode()})
    assert (status, body) == (
        404,
        {"data": None, "success": False, "message": "Fiscal ID not found or not registered", "error": 111},
    )


def test_own_fiscal_id_without_configuration_is_404(app: Flask, sandbox: Sandbox) -> None:
    status, body = do_import(app, sandbox, {"invoice": invoice_xml(customer=OTHER_VAT).decode()})
    assert (status, body["error"]) == (404, 111)


def test_another_tenants_company_is_403(app: Flask, sandbox: Sandbox) -> None:
    configure(sandbox, OTHER_VAT, tenant="other")
    status, body = do_import(app, sandbox, {"invoice": invoice_xml(supplier=OTHER_VAT).decode()})
    assert (status, body) == (
        403,
        {"data": None, "success": False, "message": "Unauthorized access", "error": 403},
    )
    assert count(sandbox) == 0


# -- invalid input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"", "the request body is empty"),
        (b"{not json", "the body is not valid JSON (InvoiceImportRequest expected)"),
        (b"[1]", "the body must be a JSON object with an 'invoice' string"),
        ({"details": {}}, "'invoice' is required: the XML, raw or Base64-encoded, as a string"),
        ({"invoice": 12}, "'invoice' is required: the XML, raw or Base64-encoded, as a string"),
        ({"invoice": "%%% not base64 %%%"}, "'invoice' is neither XML nor Base64-encoded XML"),
        (
            {"invoice": base64.b64encode(b"hello world").decode()},
            "'invoice' is Base64 but does not encode an XML document",
        ),
        ({"invoice": "<a><b></a>"}, None),
        ({"invoice": "<Note>hi</Note>"}, None),
        ({"invoice": "<x/>", "details": "nope"}, "'details' must be an object"),
        (
            {"invoice": "<x/>", "details": {"sdi_status": "SENT"}},
            "'details.sdi_status' must be one of DELIVERED, ACCEPTED, REJECTED, TERMS_EXPIRED, NOT_DELIVERED",
        ),
        ({"invoice": "<x/>", "details": {"sdi_id": ""}}, "'details.sdi_id' must be a non-empty string"),
        (
            {"invoice": "<x/>", "details": {"invoice_date": 20260301}},
            "'details.invoice_date' must be a date (YYYY-MM-DD)",
        ),
        (
            {"invoice": "<x/>", "details": {"sdi_update_date": "yesterday"}},
            "'details.sdi_update_date' must be a date-time (e.g. 2026-03-02T10:00:00Z)",
        ),
    ],
)
def test_invalid_input_is_400(
    app: Flask, sandbox: Sandbox, payload: bytes | dict[str, Any], why: str | None
) -> None:
    configure(sandbox)
    status, body = do_import(app, sandbox, payload)
    assert status == 400, body
    assert body["success"] is False and body["data"] is None and body["error"] == 400
    if why is not None:
        assert body["message"] == f"Invalid input data: {why}"
    else:
        assert body["message"].startswith("Invalid input data: the ")
    assert count(sandbox) == 0


def test_not_well_formed_and_not_fatturapa_say_why(app: Flask, sandbox: Sandbox) -> None:
    status, body = do_import(app, sandbox, {"invoice": "<a><b></a>"})
    assert status == 400 and "not a valid XML document (XML not well-formed" in body["message"]
    status, body = do_import(app, sandbox, {"invoice": "<Note>hi</Note>"})
    assert status == 400
    assert body["message"] == (
        "Invalid input data: the document is not a FatturaPA invoice: the root element is Note, "
        "not FatturaElettronica"
    )


def test_the_route_imports_json_and_raw_xml(client: FlaskClient, sandbox: Sandbox) -> None:
    configure(sandbox)
    headers = {"Authorization": "Bearer 0605df661073c2a58bb2908a3537beb624c1dfe9"}
    encoded = base64.b64encode(invoice_xml()).decode()
    response = client.post("/openapi/IT-invoices_import", json={"invoice": encoded}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    imported = response.get_json()["data"]
    listed = client.get(f"/openapi/IT-invoices/{imported['id']}", headers=headers)
    assert listed.status_code == 200 and listed.get_json()["data"]["state"] == "DONE"
    raw = client.post(
        "/openapi/IT-invoices_import",
        data=invoice_xml(number="9/2026"),
        headers={**headers, "Content-Type": "application/xml"},
    )
    assert raw.status_code == 200 and raw.get_json()["data"]["document_number"] == "9/2026"
    again = client.post("/openapi/IT-invoices_import", json={"invoice": encoded}, headers=headers)
    assert again.status_code == 400
    assert again.get_json()["message"].startswith("Invalid input data: duplicate")
