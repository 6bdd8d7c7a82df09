"""A-Cube invoices: POST /invoices → 202 {uuid}; marking follows the SDI; GET one and the collection."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from emulator.providers.acube.convert import xml_to_json
from emulator.providers.acube.service import ACUBE_VAT, SENDING_SECONDS
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from tests.conftest import advance

SANDBOX_VAT = "26174950589"  # acube/sandbox
OTHER_VAT = "13950270341"  # acube/other
CUSTOMER_VAT = "01879020517"  # outside the sandbox
PROBLEM_TYPE = "https://tools.ietf.org/html/rfc2616#section-10"
INVOICES = "/acube/invoices"


def token_of(client: FlaskClient, email: str = "sandbox@example.com", password: str = "sandbox") -> str:
    response = client.post("/acube/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_data(as_text=True)
    value: str = response.get_json()["token"]
    return value


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def invoice(
    *, seed: int = 1, supplier_vat: str = SANDBOX_VAT, causale: str | None = None, number: str | None = None
) -> bytes:
    return InvoiceGenerator(seed).generate(
        supplier=PartySpec(vat=supplier_vat, fiscal_code=supplier_vat, name="Sandbox S.r.l."),
        customer=PartySpec(vat=CUSTOMER_VAT, name="Cliente Prova S.p.A."),
        document_type="TD01",
        issue_date=dt.date(2026, 3, 1),
        number=number,
        transmitter=("IT", ACUBE_VAT),
        recipient_code="M5UXCR1",
        causale=causale,
    ).xml


def create(client: FlaskClient, token: str, body: bytes, content_type: str = "application/xml") -> Any:
    return client.post(INVOICES, data=body, headers=auth(token, **{"Content-Type": content_type}))


def created_uuid(client: FlaskClient, token: str, body: bytes) -> str:
    response = create(client, token, body)
    assert response.status_code == 202, response.get_data(as_text=True)
    value: str = response.get_json()["uuid"]
    return value


def get(client: FlaskClient, token: str, uuid: str, **headers: str) -> Any:
    return client.get(f"{INVOICES}/{uuid}", headers=auth(token, **headers))


def marking(client: FlaskClient, token: str, uuid: str) -> str:
    response = get(client, token, uuid)
    assert response.status_code == 200, response.get_data(as_text=True)
    value: str = response.get_json()["marking"]
    return value


def listing(client: FlaskClient, token: str, query: str = "") -> Any:
    return client.get(f"{INVOICES}{query}", headers=auth(token))


def assert_problem(response: Any, status: int, detail: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["type"] == PROBLEM_TYPE
    assert body["title"] == "An error occurred"
    assert body["status"] == status
    assert body["detail"] == detail
    return body


@pytest.fixture
def token(client: FlaskClient) -> str:
    return token_of(client)


# -- create and marking ---------------------------------------------------------------------------


def test_create_answers_202_uuid_and_waits_then_is_sent(client: FlaskClient, token: str) -> None:
    response = create(client, token, invoice())
    assert response.status_code == 202
    body = response.get_json()
    assert list(body) == ["uuid"]
    view = get(client, token, body["uuid"]).get_json()
    assert view["marking"] == "waiting"
    assert view["type"] == 0
    assert view["sdi_file_name"] is None and view["sdi_file_id"] is None
    advance(client, SENDING_SECONDS)
    view = get(client, token, body["uuid"]).get_json()
    assert view["marking"] == "sent"
    assert view["sdi_file_name"].startswith(f"IT{ACUBE_VAT}_")
    assert view["sdi_file_name"].endswith(".xml") and len(view["sdi_file_name"]) == len("IT") + 11 + 1 + 5 + 4
    assert view["sdi_file_id"].isdigit()
    assert view["sender"]["business_vat_number_code"] == SANDBOX_VAT
    assert view["recipient"]["business_vat_number_code"] == CUSTOMER_VAT
    assert view["transmission_format"] == "FPR12" and view["document_type"] == "TD01"
    assert view["to_pa"] is False and view["signed"] is False and view["downloaded"] is False
    assert view["notifications"] == []


def test_marking_becomes_delivered_after_the_sdi_rc(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    advance(client, SENDING_SECONDS + 120)
    view = get(client, token, uuid).get_json()
    assert view["marking"] == "delivered"
    assert [n["type"] for n in view["notifications"]] == ["RC"]
    assert len(view["notifications"][0]["uuid"]) == 36


def test_marking_becomes_rejected_on_ns_with_notice(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice(causale="SANDBOX:NS:00305"))
    advance(client, SENDING_SECONDS + 299)
    assert marking(client, token, uuid) == "sent"
    advance(client, 1)  # the SDI's NS comes 300 s after reception
    view = get(client, token, uuid).get_json()
    assert view["marking"] == "rejected"
    assert [n["type"] for n in view["notifications"]] == ["NS"]
    assert "00305" in view["notice"]


@pytest.mark.parametrize(
    ("kind", "expected"), [("NS", "rejected"), ("MC", "not-delivered"), ("RC", "delivered")]
)
def test_marking_follows_forced_notifications(
    client: FlaskClient, token: str, kind: str, expected: str
) -> None:
    uuid = created_uuid(client, token, invoice())
    advance(client, SENDING_SECONDS)
    response = client.post("/_sandbox/sdi/notifications", json={"invoice": uuid, "type": kind})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    assert marking(client, token, uuid) == expected


def test_forcing_before_the_sdi_has_it_is_refused(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    response = client.post("/_sandbox/sdi/notifications", json={"invoice": uuid, "type": "RC"})
    assert response.status_code == 404


def test_get_as_xml_returns_the_stored_file(client: FlaskClient, token: str) -> None:
    body = invoice()
    uuid = created_uuid(client, token, body)
    response = get(client, token, uuid, Accept="application/xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.data == body


def test_get_with_an_accept_it_cannot_produce_is_406(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    response = get(client, token, uuid, Accept="image/png")
    assert_problem(
        response,
        406,
        'Requested format "image/png" is not supported. Supported MIME types are '
        '"application/json, application/ld+json, application/xml, text/xml, text/html, application/pdf, '
        'application/octet-stream".',
    )


# -- errors of POST /invoices ---------------------------------------------------------------------


def test_supplier_of_another_account_is_400_with_violation(client: FlaskClient, token: str) -> None:
    response = create(client, token, invoice(supplier_vat=OTHER_VAT))
    body = assert_problem(
        response,
        400,
        "fattura_elettronica_header.cedente_prestatore: "
        f"The sender {OTHER_VAT} is not one of the fiscal ids of your account.",
    )
    assert body["violations"] == [
        {
            "propertyPath": "fattura_elettronica_header.cedente_prestatore",
            "message": f"The sender {OTHER_VAT} is not one of the fiscal ids of your account.",
            "code": None,
        }
    ]


def test_malformed_xml_is_400(client: FlaskClient, token: str) -> None:
    response = create(client, token, b"<not-closed>")
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("The XML cannot be read: ")


def test_empty_body_is_400(client: FlaskClient, token: str) -> None:
    assert_problem(
        create(client, token, b""), 400, "The request body is empty: a FatturaPA XML invoice is expected."
    )


def test_xml_that_is_not_an_invoice_is_400(client: FlaskClient, token: str) -> None:
    response = create(client, token, b"<?xml version='1.0'?><Order/>")
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("Not a FatturaPA invoice: ")


def test_unsupported_content_type_is_415(client: FlaskClient, token: str) -> None:
    assert_problem(
        create(client, token, invoice(), "text/plain"),
        415,
        'The content-type "text/plain" is not supported. '
        'Supported MIME types are "application/json", "application/xml", "text/xml".',
    )


def test_text_xml_is_accepted(client: FlaskClient, token: str) -> None:
    assert create(client, token, invoice(), "text/xml").status_code == 202


def test_json_body_goes_through_the_converter(client: FlaskClient, token: str) -> None:
    response = client.post(INVOICES, json={"fattura_elettronica_header": {}}, headers=auth(token))
    # Whatever the converter makes of an empty header, it is not a valid invoice.
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_invalid_json_is_400(client: FlaskClient, token: str) -> None:
    response = create(client, token, b"{", "application/json")
    assert_problem(response, 400, "Invalid JSON.")


def test_without_a_token_is_401(client: FlaskClient) -> None:
    response = client.post(INVOICES, data=invoice(), content_type="application/xml")
    assert response.status_code == 401
    assert response.get_json() == {"code": 401, "message": "JWT Token not found"}
    assert client.get(INVOICES).get_json() == {"code": 401, "message": "JWT Token not found"}
    assert client.get(f"{INVOICES}/x").status_code == 401


# -- isolation, 404 -------------------------------------------------------------------------------


def test_unknown_uuid_is_404(client: FlaskClient, token: str) -> None:
    assert_problem(get(client, token, "00000000-0000-4000-8000-000000000000"), 404, "Not Found")


def test_another_accounts_invoice_is_404_and_not_listed(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    other = token_of(client, "other@example.com", "other")
    assert_problem(get(client, other, uuid), 404, "Not Found")
    assert listing(client, other).get_json() == []
    assert [i["uuid"] for i in listing(client, token).get_json()] == [uuid]


def test_not_found_in_json_ld_when_asked(client: FlaskClient, token: str) -> None:
    response = get(client, token, "nope", Accept="application/ld+json")
    assert response.status_code == 404
    assert response.mimetype == "application/ld+json"
    assert response.get_json()["hydra:description"] == "Not Found"


# -- received invoices ----------------------------------------------------------------------------


def test_received_invoice_appears_with_type_1(client: FlaskClient, token: str) -> None:
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    received = listing(client, token, "?type=1").get_json()
    assert len(received) == 1
    view = received[0]
    assert view["type"] == 1 and view["marking"] == "delivered"
    assert view["recipient"]["business_vat_number_code"] == SANDBOX_VAT
    assert view["sdi_file_name"] and view["sdi_file_id"]
    assert listing(client, token, "?type=0").get_json() == []
    xml = get(client, token, view["uuid"], Accept="application/xml")
    assert xml.status_code == 200 and b"FatturaElettronica" in xml.data
    other = token_of(client, "other@example.com", "other")
    assert listing(client, other).get_json() == []


# -- the collection -------------------------------------------------------------------------------


def test_list_filters(client: FlaskClient, token: str) -> None:
    first = created_uuid(client, token, invoice(seed=1, number="A1"))
    advance(client, SENDING_SECONDS + 120)  # first: delivered
    second = created_uuid(client, token, invoice(seed=2, number="A2", supplier_vat="26174960638"))

    def uuids(query: str) -> list[str]:
        response = listing(client, token, query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [i["uuid"] for i in response.get_json()]

    assert uuids("") == [first, second]
    assert uuids("?marking=delivered") == [first]
    assert uuids("?marking=waiting") == [second]
    assert uuids("?marking[]=waiting&marking[]=delivered") == [first, second]
    assert uuids("?marking=sent") == []
    assert uuids("?invoice_number=A2") == [second]
    assert uuids(f"?sender={SANDBOX_VAT}") == [first]
    assert uuids(f"?sender={SANDBOX_VAT},26174960638") == [first, second]
    assert uuids(f"?recipient={CUSTOMER_VAT}") == [first, second]
    assert uuids(f"?recipient={SANDBOX_VAT}") == []
    assert uuids("?type=0") == [first, second]
    created = [i["created_at"] for i in listing(client, token).get_json()]
    assert uuids(f"?created_at[strictly_after]={created[0].replace('+', '%2B')}") == [second]
    assert uuids(f"?created_at[after]={created[0].replace('+', '%2B')}") == [first, second]
    assert uuids(f"?created_at[strictly_before]={created[1].replace('+', '%2B')}") == [first]
    assert uuids(f"?created_at[before]={created[0].replace('+', '%2B')}") == [first]
    assert uuids("?created_at[before]=2000-01-01") == []


def test_list_pages_of_30(client: FlaskClient, token: str) -> None:
    for seed in range(31):
        created_uuid(client, token, invoice(seed=seed, number=f"P{seed}"))
    assert len(listing(client, token).get_json()) == 30
    assert len(listing(client, token, "?page=2").get_json()) == 1
    assert listing(client, token, "?page=3").get_json() == []


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("?page=0", 'The value "0" of "page" is not valid: use an integer from 1.'),
        ("?type=2", 'The value "2" of "type" is not valid: use 0 or 1.'),
        (
            "?created_at[after]=yesterday",
            'The value "yesterday" of "created_at[after]" is not a date or date-time.',
        ),
    ],
)
def test_list_bad_filters_are_400(client: FlaskClient, token: str, query: str, detail: str) -> None:
    assert_problem(listing(client, token, query), 400, detail)


def test_resolve_maps_uuid_to_the_sdi_invoice(client: FlaskClient, token: str) -> None:
    from emulator.providers.acube import _resolve

    uuid = created_uuid(client, token, invoice())
    app = client.application
    sandbox = app.extensions["fattura_sandbox"]
    with sandbox.transaction() as session:
        assert _resolve(session, uuid) == []
    advance(client, SENDING_SECONDS)
    with sandbox.transaction() as session:
        found = _resolve(session, uuid.upper())
        assert len(found) == 1 and found[0].file_name.startswith(f"IT{ACUBE_VAT}_")


def test_an_invoice_sent_as_json_is_the_same_invoice(client: FlaskClient, token: str, sandbox: Any) -> None:
    xml = invoice(seed=5)
    as_json = xml_to_json(xml, xsd_dir=sandbox.config.xsd_dir)
    response = client.post(INVOICES, json=as_json, headers=auth(token))
    assert response.status_code == 202, response.get_data(as_text=True)
    uuid = response.get_json()["uuid"]
    view = get(client, token, uuid).get_json()
    assert json.loads(view["payload"]) == as_json
    stored = get(client, token, uuid, Accept="application/xml").data
    assert xml_to_json(stored, xsd_dir=sandbox.config.xsd_dir) == as_json
