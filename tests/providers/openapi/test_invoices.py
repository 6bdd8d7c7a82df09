"""Openapi.it IT-invoices: POST (checks, DatiTrasmissione rewrite, signatures), list filters, get."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from emulator.core.xmlsafe import parse_xml
from emulator.providers.openapi.invoices import OPENAPI_VAT, SENDING_SECONDS
from emulator.providers.openapi.models import OpenapiInvoice
from emulator.sdi.fatturapa import text
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from emulator.state import Sandbox
from tests.conftest import advance
from tests.providers.openapi.test_invoice_states import (
    CUSTOMER_VAT,
    HEADERS,
    INVOICES,
    SANDBOX_VAT,
    SECOND_VAT,
    configure,
)

OTHER_TOKEN = "f5d4c497810ec9a7c565826b9be96e720a260dd9"
OTHER_VAT = "27609130722"
OTHER_HEADERS = {"Authorization": f"Bearer {OTHER_TOKEN}", "Content-Type": "application/xml"}
UNKNOWN_VAT = "01234567890"


def xml(
    *,
    seed: int = 1,
    supplier_vat: str = SANDBOX_VAT,
    number: str | None = None,
    issue_date: dt.date = dt.date(2026, 3, 1),
    document_type: str = "TD01",
) -> bytes:
    return (
        InvoiceGenerator(seed)
        .generate(
            supplier=PartySpec(vat=supplier_vat, fiscal_code=supplier_vat, name="Sandbox S.r.l."),
            customer=PartySpec(vat=CUSTOMER_VAT, name="Cliente Prova S.p.A."),
            document_type=document_type,
            issue_date=issue_date,
            number=number,
            transmitter=("IT", "01234567890"),
            progressive="AAAAA",
            recipient_code="M5UXCR1",
        )
        .xml
    )


def post(client: FlaskClient, body: bytes, **headers: str) -> Any:
    return client.post(INVOICES, data=body, headers={**HEADERS, **headers})


def assert_error(response: Any, status: int, message: str, error: int | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json() == {
        "data": None,
        "success": False,
        "message": message,
        "error": error if error is not None else status,
    }


def listing(client: FlaskClient, query: str = "", headers: dict[str, str] = HEADERS) -> list[dict[str, Any]]:
    response = client.get(f"{INVOICES}{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is True and body["error"] is None
    data: list[dict[str, Any]] = body["data"]
    return data


@pytest.fixture
def configured(sandbox: Sandbox) -> Sandbox:
    configure(sandbox, SANDBOX_VAT)
    return sandbox


# -- create ----------------------------------------------------------------------------------------


def test_create_answers_the_invoice(client: FlaskClient, configured: Sandbox) -> None:
    response = post(client, xml(number="FT-7"))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["success"], body["error"], body["message"]) == (True, None, "")
    data = body["data"]
    assert len(data["id"]) == 24
    assert (data["state"], data["direction"], data["fiscal_id"]) == ("NEW", "outgoing", SANDBOX_VAT)
    assert (data["type"], data["document_number"], data["issue_date"]) == ("TD01", "FT-7", "2026-03-01")
    assert data["currency"] == "EUR"
    lines = data["invoice_lines"]
    assert lines and all(isinstance(line["total_net_amount"], float) for line in lines)
    assert data["total_amount_including_tax"] == pytest.approx(
        data["total_amount_excluding_tax"] + data["total_tax_amount"]
    )
    assert data["total_amount_excluding_tax"] == pytest.approx(
        sum(line["total_net_amount"] for line in lines)
    )
    assert data["sender"]["vat_id"] == f"IT{SANDBOX_VAT}"
    assert data["recipient"]["vat_id"] == f"IT{CUSTOMER_VAT}"
    assert data["sender"]["name"] == "Sandbox S.r.l."
    assert isinstance(data["payment_means"], list)
    details = data["details"]
    assert details["sdi_status"] == "BOOKED"
    assert details["sdi_filename"] == f"IT{OPENAPI_VAT}_{data['transmission_id']}.xml"
    assert details["invoice_date"] == "2026-03-01"
    assert data["create_at"] == "2026-03-02 08:00:00 +00:00"
    assert data["updated_at"] == data["create_at"]


def test_dati_trasmissione_is_rewritten(client: FlaskClient, configured: Sandbox) -> None:
    data = post(client, xml()).get_json()["data"]
    with configured.transaction() as session:
        row = session.execute(
            select(OpenapiInvoice).where(OpenapiInvoice.public_id == data["id"])
        ).scalar_one()
        root = parse_xml(row.xml)
    transmission = root.find("FatturaElettronicaHeader/DatiTrasmissione")
    assert text(transmission, "IdTrasmittente", "IdPaese") == "IT"
    assert text(transmission, "IdTrasmittente", "IdCodice") == OPENAPI_VAT
    assert text(transmission, "ProgressivoInvio") == data["transmission_id"] != "AAAAA"
    assert text(transmission, "FormatoTrasmissione") == "FPR12"
    assert text(transmission, "CodiceDestinatario") == "M5UXCR1"


def test_custom_signature_headers_sign_a_b2b_invoice(client: FlaskClient, configured: Sandbox) -> None:
    response = post(client, xml(), **{"X-Signature-User": "me", "X-Signature-Password": "secret"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["data"]["details"]["sdi_filename"].endswith(".xml.p7m")
    advance(client, SENDING_SECONDS)
    invoice_id = response.get_json()["data"]["id"]
    state = client.get(f"{INVOICES}/{invoice_id}", headers=HEADERS).get_json()["data"]["state"]
    assert state == "SENT"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Signature-User": "me"},
        {"X-Signature-Password": "secret"},
        {"X-Signature-User": "", "X-Signature-Password": "x"},
    ],
)
def test_signature_headers_come_together(
    client: FlaskClient, configured: Sandbox, headers: dict[str, str]
) -> None:
    assert_error(
        post(client, xml(), **headers),
        400,
        "X-Signature-User and X-Signature-Password must be given together, neither empty",
    )


def test_wrong_signature_credentials(client: FlaskClient, configured: Sandbox) -> None:
    response = post(client, xml(), **{"X-Signature-User": "me", "X-Signature-Password": "SANDBOX:WRONG"})
    assert_error(response, 422, "Digital signature failed: invalid signature credentials")
    assert listing(client) == []


def test_body_errors(client: FlaskClient, configured: Sandbox) -> None:
    assert_error(post(client, b"  "), 400, "Request body is empty")
    assert_error(post(client, b"<not-xml"), 400, "Invalid XML structure")
    assert_error(post(client, b"<a/>"), 400, "Invalid XML structure")
    response = post(client, xml(), **{"Content-Type": "application/json"})
    assert_error(response, 415, "Unsupported Content-Type application/json: application/xml expected")


def test_structural_error_is_422(client: FlaskClient, configured: Sandbox) -> None:
    body = xml().replace(b"<Divisa>EUR</Divisa>", b"")
    response = post(client, body)
    assert response.status_code == 422, response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["message"].startswith("Validation Error: ") and "Divisa" in payload["message"]
    assert (payload["success"], payload["error"], payload["data"]) == (False, 422, None)


def test_supplier_without_configuration_is_404(client: FlaskClient, sandbox: Sandbox) -> None:
    assert_error(post(client, xml()), 404, "Fiscal ID not found or not registered", 111)


def test_supplier_of_another_tenant_is_403(client: FlaskClient, configured: Sandbox) -> None:
    assert_error(post(client, xml(supplier_vat=OTHER_VAT)), 403, "Unauthorized access")


def test_customer_invoice_off_is_403(client: FlaskClient, sandbox: Sandbox) -> None:
    configure(sandbox, SANDBOX_VAT, customer=False)
    assert_error(post(client, xml()), 403, f"customer_invoice is not enabled for fiscal_id {SANDBOX_VAT}")


def test_no_token_is_401(client: FlaskClient, configured: Sandbox) -> None:
    response = client.post(INVOICES, data=xml(), headers={"Content-Type": "application/xml"})
    assert response.status_code == 401


# -- list and get ----------------------------------------------------------------------------------


@pytest.fixture
def three(client: FlaskClient, sandbox: Sandbox) -> list[str]:
    configure(sandbox, SANDBOX_VAT)
    configure(sandbox, SECOND_VAT)
    ids = [
        post(client, xml(seed=1, number="A-1", issue_date=dt.date(2026, 1, 10))).get_json()["data"]["id"],
        post(
            client, xml(seed=2, number="A-2", issue_date=dt.date(2026, 2, 10), document_type="TD04")
        ).get_json()["data"]["id"],
        post(
            client, xml(seed=3, number="B-1", supplier_vat=SECOND_VAT, issue_date=dt.date(2026, 3, 1))
        ).get_json()["data"]["id"],
    ]
    advance(client, 1)
    return ids


def test_list_is_newest_first(client: FlaskClient, three: list[str]) -> None:
    assert [row["id"] for row in listing(client)] == list(reversed(three))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"?fiscal_id={SANDBOX_VAT}", [1, 0]),
        (f"?fiscal_id={SANDBOX_VAT},{SECOND_VAT}", [2, 1, 0]),
        ("?type=TD04", [1]),
        ("?document_number=B-1", [2]),
        ("?issue_date=2026-02-10", [1]),
        ("?issue_date[before]=2026-02-10", [0]),
        ("?issue_date[after]=2026-01-10", [2, 1]),
        ("?issue_date[after]=2026-01-01&issue_date[before]=2026-03-01", [1, 0]),
        ("?state=NEW", [2, 1, 0]),
        ("?state=SENT,DONE", []),
        ("?direction=outgoing", [2, 1, 0]),
        ("?direction=incoming", []),
        ("?skip=1", [1, 0]),
        ("?limit=1", [2]),
        ("?skip=1&limit=1", [1]),
        ("?skip=5", []),
    ],
)
def test_list_filters(client: FlaskClient, three: list[str], query: str, expected: list[int]) -> None:
    assert [row["id"] for row in listing(client, query)] == [three[i] for i in expected]


def test_list_state_follows_the_sdi(client: FlaskClient, three: list[str]) -> None:
    advance(client, SENDING_SECONDS)
    assert len(listing(client, "?state=SENT")) == 3
    assert listing(client, "?state=NEW") == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?limit=0", "Invalid value for limit: an integer from 1 to 100"),
        ("?limit=101", "Invalid value for limit: an integer from 1 to 100"),
        ("?limit=ten", "Invalid value for limit: an integer from 1 to 100"),
        ("?skip=-1", "Invalid value for skip: an integer >= 0"),
        ("?state=LOST", "Invalid value for state: 'LOST' is not one of NEW, SENT, RECEIVED, DONE, ERROR"),
        ("?direction=sideways", "Invalid value for direction: 'sideways' is not one of outgoing, incoming"),
        ("?issue_date=01/03/2026", "Invalid value for issue_date: a date YYYY-MM-DD expected"),
        (
            "?issue_date[before]=2026-02-30",
            "Invalid value for issue_date[before]: a date YYYY-MM-DD expected",
        ),
    ],
)
def test_list_bad_parameters(client: FlaskClient, configured: Sandbox, query: str, message: str) -> None:
    assert_error(client.get(f"{INVOICES}{query}", headers=HEADERS), 400, message)


def test_list_fiscal_id_of_another_tenant_or_nobody(client: FlaskClient, configured: Sandbox) -> None:
    assert_error(client.get(f"{INVOICES}?fiscal_id={OTHER_VAT}", headers=HEADERS), 403, "Unauthorized access")
    response = client.get(f"{INVOICES}?fiscal_id={UNKNOWN_VAT}", headers=HEADERS)
    assert_error(response, 404, "Fiscal ID not found or not registered", 111)


def test_tenants_do_not_see_each_other(client: FlaskClient, three: list[str]) -> None:
    assert listing(client, headers=OTHER_HEADERS) == []
    response = client.get(f"{INVOICES}/{three[0]}", headers=OTHER_HEADERS)
    assert_error(response, 404, "Invoice not found.")


def test_get_one(client: FlaskClient, three: list[str]) -> None:
    response = client.get(f"{INVOICES}/{three[1]}", headers=HEADERS)
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert (body["data"]["id"], body["data"]["document_number"], body["data"]["type"]) == (
        three[1],
        "A-2",
        "TD04",
    )


def test_get_unknown_is_404(client: FlaskClient, configured: Sandbox) -> None:
    assert_error(client.get(f"{INVOICES}/{'0' * 24}", headers=HEADERS), 404, "Invoice not found.")


# -- import / validate are wired -------------------------------------------------------------------


def test_validate_route_is_wired(client: FlaskClient, configured: Sandbox) -> None:
    response = client.post("/openapi/IT-invoices_validate", data=xml(), headers=HEADERS)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["data"]["valid"] is True
    response = client.post("/openapi/IT-invoices_validate", data=b"", headers=HEADERS)
    assert response.status_code == 400


def test_import_route_is_wired(client: FlaskClient, configured: Sandbox) -> None:
    response = client.post("/openapi/IT-invoices_import", data=xml(number="IMP-1"), headers=HEADERS)
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()["data"]
    assert data["document_number"] == "IMP-1"
    assert [row["id"] for row in listing(client, "?document_number=IMP-1")] == [data["id"]]
