"""A-Cube drafts: /invoices/draft (list, create 201) and /invoices/draft/{id} (get, put, delete, send)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient

from emulator.app import create_app
from emulator.providers.acube.convert import xml_to_json
from emulator.providers.acube.service import SENDING_SECONDS
from tests.conftest import XSD_DIR, advance, make_config
from tests.providers.acube.test_invoices import (
    CUSTOMER_VAT,
    INVOICES,
    SANDBOX_VAT,
    assert_problem,
    auth,
    created_uuid,
    get,
    invoice,
    token_of,
)

DRAFTS = f"{INVOICES}/draft"
NOT_DRAFT = "Invoice not in draft state"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
PAGE_SAMPLE = {"fattura_elettronica_header": {}, "fattura_elettronica_body": [{}]}

pytestmark = pytest.mark.skipif(not XSD_DIR.is_dir(), reason="needs the FatturaPA schemas")


@pytest.fixture
def token(client: FlaskClient) -> str:
    return token_of(client)


def full_json(**kwargs: Any) -> dict[str, Any]:
    return xml_to_json(invoice(**kwargs), xsd_dir=XSD_DIR)


def post_draft(client: FlaskClient, token: str, body: Any, content_type: str = "application/json") -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(DRAFTS, data=data, headers=auth(token, **{"Content-Type": content_type}))


def draft_uuid(client: FlaskClient, token: str, body: Any, content_type: str = "application/json") -> str:
    response = post_draft(client, token, body, content_type)
    assert response.status_code == 201, response.get_data(as_text=True)
    value: str = response.get_json()["uuid"]
    return value


def get_draft(client: FlaskClient, token: str, uuid: str, **headers: str) -> Any:
    return client.get(f"{DRAFTS}/{uuid}", headers=auth(token, **headers))


def put_draft(
    client: FlaskClient, token: str, uuid: str, body: Any, content_type: str = "application/json"
) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.put(f"{DRAFTS}/{uuid}", data=data, headers=auth(token, **{"Content-Type": content_type}))


def send(client: FlaskClient, token: str, uuid: str) -> Any:
    return client.post(f"{DRAFTS}/{uuid}/send", headers=auth(token))


def delete(client: FlaskClient, token: str, uuid: str) -> Any:
    return client.delete(f"{DRAFTS}/{uuid}", headers=auth(token))


def drafts_of(client: FlaskClient, token: str, query: str = "") -> list[str]:
    response = client.get(f"{DRAFTS}{query}", headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return [d["uuid"] for d in response.get_json()]


# -- create and read ------------------------------------------------------------------------------


def test_create_the_pages_sample_is_201_uuid_and_a_draft(client: FlaskClient, token: str) -> None:
    response = post_draft(client, token, PAGE_SAMPLE)
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["uuid"]
    view = get_draft(client, token, body["uuid"])
    assert view.status_code == 200
    assert view.get_json() == {
        "created_at": "2026-03-02T09:00:00+01:00",
        "uuid": body["uuid"],
        "type": 0,
        "payload": json.dumps(PAGE_SAMPLE, separators=(",", ":")),
        "sender": {
            "business_name": None,
            "business_vat_number_code": None,
            "business_fiscal_code": None,
            "business_country": None,
        },
        "recipient": {
            "business_name": None,
            "business_vat_number_code": None,
            "business_fiscal_code": None,
            "business_country": None,
        },
        "notifications": [],
        "sdi_file_name": None,
        "sdi_file_id": None,
        "signed": False,
        "legally_stored": False,
        "preserved_document": None,
        "downloaded": False,
        "downloaded_at": None,
        "marking": "draft",
        "notice": None,
        "retry_information": [],
        "transmission_format": None,
        "document_type": None,
        "to_pa": False,
    }


def test_an_empty_object_is_a_draft(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, {})
    assert json.loads(get_draft(client, token, uuid).get_json()["payload"]) == {}


def test_a_full_json_draft_shows_parties_and_type(client: FlaskClient, token: str) -> None:
    body = full_json(number="D1")
    uuid = draft_uuid(client, token, body)
    view = get_draft(client, token, uuid).get_json()
    assert json.loads(view["payload"]) == body
    assert view["marking"] == "draft" and view["type"] == 0
    assert view["sender"]["business_vat_number_code"] == SANDBOX_VAT
    assert view["recipient"]["business_vat_number_code"] == CUSTOMER_VAT
    assert view["document_type"] == "TD01" and view["transmission_format"] == "FPR12"


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml"])
def test_an_xml_draft_shows_its_json_payload(client: FlaskClient, token: str, content_type: str) -> None:
    xml = invoice(number="X1")
    uuid = draft_uuid(client, token, xml, content_type)
    view = get_draft(client, token, uuid).get_json()
    assert json.loads(view["payload"]) == xml_to_json(xml, xsd_dir=XSD_DIR)
    assert view["sender"]["business_vat_number_code"] == SANDBOX_VAT


def test_a_draft_is_not_sent_and_not_an_invoice(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, full_json())
    advance(client, SENDING_SECONDS + 600)
    assert get_draft(client, token, uuid).get_json()["marking"] == "draft"
    assert_problem(get(client, token, uuid), 404, "Not Found")
    assert client.get(INVOICES, headers=auth(token)).get_json() == []


def test_the_draft_path_is_not_taken_for_an_invoice_uuid(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    response = client.get(DRAFTS, headers=auth(token))
    assert response.status_code == 200
    assert response.get_json() == []
    assert get(client, token, uuid).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        ([1], "application/json", "The draft must be a JSON object, not an array."),
        ("x", "application/json", "The draft must be a JSON object, not a string."),
        (None, "application/json", "The draft must be a JSON object, not null."),
        (
            {"foo": 1},
            "application/json",
            'The invoice cannot be converted to FatturaPA XML: unknown key "foo"',
        ),
        (b"", "application/xml", "The request body is empty: a FatturaPA XML invoice is expected."),
        (b"{", "application/json", "Invalid JSON."),
    ],
)
def test_create_bad_body_is_400(
    client: FlaskClient, token: str, body: Any, content_type: str, detail: str
) -> None:
    problem = assert_problem(post_draft(client, token, body, content_type), 400, detail)
    if detail != "Invalid JSON.":
        assert problem["violations"] == [{"propertyPath": "", "message": detail, "code": None}]
    assert drafts_of(client, token) == []


def test_create_xml_that_is_not_an_invoice_or_not_xml_is_400(client: FlaskClient, token: str) -> None:
    response = post_draft(client, token, b"<?xml version='1.0'?><Order/>", "application/xml")
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("Not a FatturaPA invoice: ")
    response = post_draft(client, token, b"<not-closed>", "application/xml")
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("The XML cannot be read: ")


def test_create_with_another_content_type_is_415(client: FlaskClient, token: str) -> None:
    assert_problem(
        post_draft(client, token, b"x", "text/plain"),
        415,
        'The content-type "text/plain" is not supported. '
        'Supported MIME types are "application/json", "application/xml", "text/xml".',
    )


def test_without_a_token_every_operation_is_401(client: FlaskClient) -> None:
    missing = {"code": 401, "message": "JWT Token not found"}
    responses = [
        client.get(DRAFTS),
        client.post(DRAFTS, json={}),
        client.get(f"{DRAFTS}/{UNKNOWN}"),
        client.put(f"{DRAFTS}/{UNKNOWN}", json={}),
        client.delete(f"{DRAFTS}/{UNKNOWN}"),
        client.post(f"{DRAFTS}/{UNKNOWN}/send"),
    ]
    for response in responses:
        assert response.status_code == 401
        assert response.get_json() == missing


def test_get_with_an_accept_it_cannot_produce_is_406(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, {})
    assert_problem(
        get_draft(client, token, uuid, Accept="application/xml"),
        406,
        'Requested format "application/xml" is not supported. '
        'Supported MIME types are "application/json, application/ld+json".',
    )


# -- 404 and isolation ----------------------------------------------------------------------------


def test_unknown_id_is_404_everywhere(client: FlaskClient, token: str) -> None:
    assert_problem(get_draft(client, token, UNKNOWN), 404, "Not Found")
    assert_problem(put_draft(client, token, UNKNOWN, {}), 404, "Not Found")
    assert_problem(delete(client, token, UNKNOWN), 404, "Not Found")
    assert_problem(send(client, token, UNKNOWN), 404, "Not Found")


def test_another_accounts_draft_is_404_and_not_listed(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, full_json())
    other = token_of(client, "other@example.com", "other")
    assert_problem(get_draft(client, other, uuid), 404, "Not Found")
    assert_problem(put_draft(client, other, uuid, {}), 404, "Not Found")
    assert_problem(delete(client, other, uuid), 404, "Not Found")
    assert_problem(send(client, other, uuid), 404, "Not Found")
    assert drafts_of(client, other) == []
    assert drafts_of(client, token) == [uuid]
    assert json.loads(get_draft(client, token, uuid).get_json()["payload"]) == full_json()


def test_another_accounts_invoice_is_404_not_409(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    other = token_of(client, "other@example.com", "other")
    assert_problem(put_draft(client, other, uuid, {}), 404, "Not Found")
    assert_problem(send(client, other, uuid), 404, "Not Found")


# -- update and delete ----------------------------------------------------------------------------


def test_put_replaces_the_content_200_without_body(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, PAGE_SAMPLE)
    body = full_json(number="P1")
    response = put_draft(client, token, uuid, body)
    assert response.status_code == 200
    assert response.data == b""
    view = get_draft(client, token, uuid).get_json()
    assert json.loads(view["payload"]) == body
    assert view["sender"]["business_vat_number_code"] == SANDBOX_VAT
    xml = invoice(number="P2")
    assert put_draft(client, token, uuid, xml, "application/xml").status_code == 200
    payload = get_draft(client, token, uuid).get_json()["payload"]
    assert json.loads(payload) == xml_to_json(xml, xsd_dir=XSD_DIR)


def test_put_bad_body_is_400_and_keeps_the_draft(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, PAGE_SAMPLE)
    assert_problem(
        put_draft(client, token, uuid, {"foo": 1}),
        400,
        'The invoice cannot be converted to FatturaPA XML: unknown key "foo"',
    )
    assert_problem(
        put_draft(client, token, uuid, b"x", "text/plain"),
        415,
        'The content-type "text/plain" is not supported. '
        'Supported MIME types are "application/json", "application/xml", "text/xml".',
    )
    assert json.loads(get_draft(client, token, uuid).get_json()["payload"]) == PAGE_SAMPLE


def test_delete_is_204_and_removes_it(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, {})
    response = delete(client, token, uuid)
    assert response.status_code == 204
    assert response.data == b""
    assert_problem(get_draft(client, token, uuid), 404, "Not Found")
    assert_problem(delete(client, token, uuid), 404, "Not Found")
    assert drafts_of(client, token) == []


# -- send -----------------------------------------------------------------------------------------


def test_send_makes_it_an_invoice_with_the_same_uuid(client: FlaskClient, token: str) -> None:
    body = full_json(number="S1")
    uuid = draft_uuid(client, token, body)
    response = send(client, token, uuid)
    assert response.status_code == 200
    assert response.data == b""
    view = get(client, token, uuid).get_json()
    assert view["marking"] == "waiting" and view["type"] == 0
    assert json.loads(view["payload"]) == body
    advance(client, SENDING_SECONDS)
    view = get(client, token, uuid).get_json()
    assert view["marking"] == "sent" and view["sdi_file_id"].isdigit()
    assert drafts_of(client, token) == []
    assert_problem(get_draft(client, token, uuid), 404, "Not Found")


def test_an_xml_draft_is_sent_as_written(client: FlaskClient, token: str) -> None:
    xml = invoice(number="S2")
    uuid = draft_uuid(client, token, xml, "application/xml")
    assert send(client, token, uuid).status_code == 200
    assert get(client, token, uuid, Accept="application/xml").data == xml


def test_a_sent_draft_is_409_for_put_delete_and_send(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, full_json())
    assert send(client, token, uuid).status_code == 200
    assert_problem(send(client, token, uuid), 409, NOT_DRAFT)
    assert_problem(put_draft(client, token, uuid, {}), 409, NOT_DRAFT)
    assert_problem(delete(client, token, uuid), 409, NOT_DRAFT)
    assert get(client, token, uuid).status_code == 200


def test_an_invoice_created_directly_is_409_not_a_draft(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    assert_problem(send(client, token, uuid), 409, NOT_DRAFT)
    assert_problem(delete(client, token, uuid), 409, NOT_DRAFT)
    assert_problem(get_draft(client, token, uuid), 404, "Not Found")


def test_an_incomplete_draft_cannot_be_sent_409_and_stays(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, PAGE_SAMPLE)
    response = send(client, token, uuid)
    assert response.status_code == 409
    problem = response.get_json()
    # The page's sample has an empty header: the invoice needs one (and at least one body).
    assert problem["detail"] == "fattura_elettronica_header: This value should not be blank."
    blank = "This value should not be blank."
    header = "fattura_elettronica_header"
    assert problem["violations"] == [{"propertyPath": header, "message": blank, "code": None}]
    assert get_draft(client, token, uuid).get_json()["marking"] == "draft"
    assert client.get(INVOICES, headers=auth(token)).get_json() == []


def test_a_draft_of_another_supplier_cannot_be_sent(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, full_json(supplier_vat=CUSTOMER_VAT))
    problem = assert_problem(
        send(client, token, uuid),
        409,
        f"fattura_elettronica_header.cedente_prestatore: The sender {CUSTOMER_VAT} "
        "is not one of the fiscal ids of your account.",
    )
    assert problem["violations"][0]["propertyPath"] == "fattura_elettronica_header.cedente_prestatore"
    assert drafts_of(client, token) == [uuid]


# -- the collection -------------------------------------------------------------------------------


def test_list_filters(client: FlaskClient, token: str) -> None:
    first = draft_uuid(client, token, full_json(number="L1"))
    advance(client, 3600)
    second = draft_uuid(client, token, PAGE_SAMPLE)
    assert drafts_of(client, token) == [first, second]
    assert drafts_of(client, token, "?type=0") == [first, second]
    assert drafts_of(client, token, "?type=1") == []
    assert drafts_of(client, token, "?marking=draft") == [first, second]
    assert drafts_of(client, token, "?marking[]=waiting&marking[]=draft") == [first, second]
    assert drafts_of(client, token, "?marking=waiting") == []
    assert drafts_of(client, token, f"?sender={SANDBOX_VAT}") == [first]
    assert drafts_of(client, token, f"?recipient=X,{CUSTOMER_VAT}") == [first]
    assert drafts_of(client, token, "?recipient=00000000000") == []
    assert drafts_of(client, token, "?invoice_number=L1") == [first]
    assert drafts_of(client, token, "?created_at[after]=2026-03-02T10:00:00") == [second]
    assert drafts_of(client, token, "?created_at[strictly_after]=2026-03-02T10:00:00") == []
    assert drafts_of(client, token, "?created_at[before]=2026-03-02T09:00:00%2B01:00") == [first]
    assert drafts_of(client, token, "?created_at[strictly_before]=2026-03-02") == []
    assert drafts_of(client, token, "?signed=false&downloaded=false&rejectedToFix=false") == [first, second]
    assert drafts_of(client, token, "?signed=true") == []  # a draft is not signed
    assert drafts_of(client, token, "?page=2") == []


def test_list_pages_of_30(client: FlaskClient, token: str) -> None:
    made = [draft_uuid(client, token, {}) for _ in range(31)]
    assert drafts_of(client, token) == made[:30]
    assert drafts_of(client, token, "?page=2") == made[30:]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("?page=0", 'The value "0" of "page" is not valid: use an integer from 1.'),
        ("?type=2", 'The value "2" of "type" is not valid: use 0 or 1.'),
        ("?created_at[after]=nope", 'The value "nope" of "created_at[after]" is not a date or date-time.'),
    ],
)
def test_list_bad_filters_are_400(client: FlaskClient, token: str, query: str, detail: str) -> None:
    assert_problem(client.get(f"{DRAFTS}{query}", headers=auth(token)), 400, detail)


def test_list_with_an_accept_it_cannot_produce_is_406(client: FlaskClient, token: str) -> None:
    response = client.get(DRAFTS, headers=auth(token, Accept="application/xml"))
    assert_problem(
        response,
        406,
        'Requested format "application/xml" is not supported. '
        'Supported MIME types are "application/json, application/ld+json".',
    )


# -- without schemas ------------------------------------------------------------------------------


def test_without_schemas_json_drafts_are_kept_but_cannot_be_sent() -> None:
    app = create_app(replace(make_config(), xsd_dir=None))
    try:
        client = app.test_client()
        token = token_of(client)
        uuid = draft_uuid(client, token, {"anything": 1})
        view = get_draft(client, token, uuid).get_json()
        assert json.loads(view["payload"]) == {"anything": 1}
        assert view["sender"]["business_vat_number_code"] is None
        response = send(client, token, uuid)
        assert response.status_code == 409
        assert response.get_json()["detail"].startswith("The invoice cannot be converted to FatturaPA XML: ")
        xml_uuid = draft_uuid(client, token, invoice(), "application/xml")
        xml_view = get_draft(client, token, xml_uuid).get_json()
        assert xml_view["payload"] is None
        assert xml_view["sender"]["business_vat_number_code"] == SANDBOX_VAT
        assert send(client, token, xml_uuid).status_code == 200
    finally:
        app.extensions["fattura_sandbox"].close()
