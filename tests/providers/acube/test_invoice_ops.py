"""A-Cube POST /invoices/convert, /invoices/validate and /invoices/downloaded."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import func, select

from emulator.providers.acube.convert import xml_to_json
from emulator.providers.acube.service import SENDING_SECONDS
from emulator.sdi.models import SdiInvoice
from emulator.sdi.validation import describe
from emulator.state import Sandbox
from tests.conftest import XSD_DIR, advance
from tests.providers.acube.test_invoices import (
    INVOICES,
    OTHER_VAT,
    SANDBOX_VAT,
    assert_problem,
    auth,
    created_uuid,
    get,
    invoice,
    listing,
    token_of,
)

CONVERT = f"{INVOICES}/convert"
VALIDATE = f"{INVOICES}/validate"
DOWNLOADED = f"{INVOICES}/downloaded"
FATTURA = "{http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2}FatturaElettronica"
UNSUPPORTED = (
    'The content-type "text/plain" is not supported. '
    'Supported MIME types are "application/json", "application/xml", "text/xml".'
)

pytestmark = pytest.mark.skipif(not XSD_DIR.is_dir(), reason="the FatturaPA schemas are not available")


@pytest.fixture
def token(client: FlaskClient) -> str:
    return token_of(client)


def post(client: FlaskClient, path: str, token: str, body: bytes, content_type: str) -> Any:
    return client.post(path, data=body, headers=auth(token, **{"Content-Type": content_type}))


def violations(response: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = response.get_json()["violations"]
    return found


def nothing_filed(client: FlaskClient, token: str, sandbox: Sandbox) -> None:
    advance(client, SENDING_SECONDS)
    assert listing(client, token).get_json() == []
    with sandbox.transaction() as session:
        assert session.execute(select(func.count()).select_from(SdiInvoice)).scalar_one() == 0


# -- convert ---------------------------------------------------------------------------------------


def test_convert_xml_gives_the_json_form(client: FlaskClient, token: str, sandbox: Sandbox) -> None:
    xml = invoice()
    response = post(client, CONVERT, token, xml, "application/xml")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body == xml_to_json(xml, xsd_dir=XSD_DIR)
    assert body["fattura_elettronica_header"]["cedente_prestatore"]["dati_anagrafici"]["id_fiscale_iva"] == {
        "id_paese": "IT",
        "id_codice": SANDBOX_VAT,
    }
    nothing_filed(client, token, sandbox)


def test_convert_json_gives_the_xml_and_the_round_trip_is_lossless(client: FlaskClient, token: str) -> None:
    form = post(client, CONVERT, token, invoice(seed=4), "text/xml").get_json()
    response = client.post(CONVERT, json=form, headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    root = etree.fromstring(response.get_data())
    assert root.tag == FATTURA and root.get("versione") == "FPR12"
    again = post(client, CONVERT, token, response.get_data(), "application/xml")
    assert again.status_code == 200
    assert again.get_json() == form


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "The request body is empty: a FatturaPA XML invoice is expected."),
        (b"<not-closed>", "The invoice cannot be converted to JSON: "),
        (
            b"<?xml version='1.0'?><Order/>",
            "The invoice cannot be converted to JSON: not a FatturaPA 1.2 invoice",
        ),
    ],
)
def test_convert_xml_that_cannot_be_converted_is_400(
    client: FlaskClient, token: str, body: bytes, detail: str
) -> None:
    response = post(client, CONVERT, token, body, "application/xml")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["detail"].startswith(detail)
    assert violations(response) == [{"propertyPath": "", "message": problem["detail"], "code": None}]


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"nope": 1}, 'unknown key "nope"'),
        ([], "the invoice must be an object, not an array"),
        ({"fattura_elettronica_body": {}}, "fattura_elettronica_body: must be an array, not an object"),
    ],
)
def test_convert_json_that_cannot_be_converted_is_400(
    client: FlaskClient, token: str, payload: Any, detail: str
) -> None:
    response = client.post(CONVERT, json=payload, headers=auth(token))
    assert_problem(response, 400, f"The invoice cannot be converted to FatturaPA XML: {detail}")


def test_convert_invalid_json_is_400(client: FlaskClient, token: str) -> None:
    assert_problem(post(client, CONVERT, token, b"{", "application/json"), 400, "Invalid JSON.")


def test_convert_other_content_types_are_415(client: FlaskClient, token: str) -> None:
    assert_problem(post(client, CONVERT, token, invoice(), "text/plain"), 415, UNSUPPORTED)
    response = client.post(CONVERT, data=invoice(), headers=auth(token))
    assert response.status_code == 415
    assert response.get_json()["detail"].startswith('The content-type "none" is not supported.')


@pytest.mark.parametrize("path", [CONVERT, VALIDATE])
def test_convert_and_validate_without_a_token_are_401(client: FlaskClient, path: str) -> None:
    response = client.post(path, data=invoice(), content_type="application/xml")
    assert response.status_code == 401
    assert response.get_json() == {"code": 401, "message": "JWT Token not found"}


# -- validate --------------------------------------------------------------------------------------


def test_validate_a_valid_invoice_is_202_and_files_nothing(
    client: FlaskClient, token: str, sandbox: Sandbox
) -> None:
    response = post(client, VALIDATE, token, invoice(), "application/xml")
    assert (response.status_code, response.get_data()) == (202, b"")
    nothing_filed(client, token, sandbox)


def test_validate_accepts_the_json_form(client: FlaskClient, token: str) -> None:
    form = xml_to_json(invoice(seed=2), xsd_dir=XSD_DIR)
    response = client.post(VALIDATE, json=form, headers=auth(token))
    assert (response.status_code, response.get_data()) == (202, b"")


def test_validate_runs_the_checks_of_create(client: FlaskClient, token: str) -> None:
    response = post(client, VALIDATE, token, invoice(supplier_vat=OTHER_VAT), "application/xml")
    assert_problem(
        response,
        400,
        f"fattura_elettronica_header.cedente_prestatore: The sender {OTHER_VAT} is not one of the fiscal ids "
        "of your account.",
    )
    assert violations(response)[0]["propertyPath"] == "fattura_elettronica_header.cedente_prestatore"
    assert_problem(
        post(client, VALIDATE, token, b"", "application/xml"),
        400,
        "The request body is empty: a FatturaPA XML invoice is expected.",
    )
    malformed = post(client, VALIDATE, token, b"<not-closed>", "application/xml")
    assert malformed.status_code == 400
    assert malformed.get_json()["detail"].startswith("The XML cannot be read: ")
    converted = client.post(VALIDATE, json={"nope": 1}, headers=auth(token))
    assert_problem(converted, 400, 'The invoice cannot be converted to FatturaPA XML: unknown key "nope"')
    assert_problem(post(client, VALIDATE, token, invoice(), "text/plain"), 415, UNSUPPORTED)


def faulty_invoice() -> bytes:
    """Passes create's checks; the SDI would reject it: unknown recipient code, future date, no digits."""
    return (
        invoice()
        .replace(b"<CodiceDestinatario>M5UXCR1<", b"<CodiceDestinatario>ZZZZZZZ<")
        .replace(b"<Data>2026-03-01<", b"<Data>2026-04-01<")
        .replace(b"<Numero>FV26-0005<", b"<Numero>FV-ABC<")
    )


def test_validate_lists_what_the_sdi_would_reject_it_for(
    client: FlaskClient, token: str, sandbox: Sandbox
) -> None:
    response = post(client, VALIDATE, token, faulty_invoice(), "application/xml")
    expected = [describe("00311", "ZZZZZZZ"), describe("00403", "2026-04-01"), describe("00425", "FV-ABC")]
    messages = [f"{e.code}: {e.description}" for e in expected]
    assert_problem(response, 400, "\n".join(messages))
    assert violations(response) == [
        {"propertyPath": "", "message": message, "code": e.code}
        for e, message in zip(expected, messages, strict=True)
    ]
    nothing_filed(client, token, sandbox)


def test_what_validate_refuses_create_accepts_and_the_sdi_rejects(client: FlaskClient, token: str) -> None:
    xml = invoice().replace(b"<CodiceDestinatario>M5UXCR1<", b"<CodiceDestinatario>ZZZZZZZ<")
    refused = post(client, VALIDATE, token, xml, "application/xml")
    assert refused.status_code == 400
    assert [v["code"] for v in violations(refused)] == ["00311"]
    uuid = created_uuid(client, token, xml)
    advance(client, SENDING_SECONDS + 300)  # the SDI's NS comes 300 s after reception
    resource = get(client, token, uuid).get_json()
    assert resource["marking"] == "rejected"
    assert resource["notice"].startswith("00311: ")


def test_validate_uses_the_virtual_clock(client: FlaskClient, token: str) -> None:
    xml = invoice().replace(b"<Data>2026-03-01<", b"<Data>2026-03-03<")
    assert [v["code"] for v in violations(post(client, VALIDATE, token, xml, "application/xml"))] == ["00403"]
    advance(client, 24 * 3600)
    assert post(client, VALIDATE, token_of(client), xml, "application/xml").status_code == 202


# -- downloaded ------------------------------------------------------------------------------------


def received_uuid(client: FlaskClient, token: str) -> str:
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT})
    assert response.status_code == 201, response.get_data(as_text=True)
    value: str = listing(client, token, "?type=1").get_json()[-1]["uuid"]
    return value


def set_flag(client: FlaskClient, token: str, body: Any) -> Any:
    return client.post(DOWNLOADED, json=body, headers=auth(token))


def flags(client: FlaskClient, token: str, *uuids: str) -> list[tuple[bool, str | None]]:
    found = []
    for uuid in uuids:
        resource = get(client, token, uuid).get_json()
        found.append((resource["downloaded"], resource["downloaded_at"]))
    return found


def test_downloaded_sets_and_clears_the_flag(client: FlaskClient, token: str) -> None:
    sent = created_uuid(client, token, invoice())
    received = received_uuid(client, token)
    advance(client, 60)
    assert flags(client, token, sent, received) == [(False, None), (False, None)]
    response = set_flag(client, token, {"uuids": [sent, received, sent], "downloaded": True})
    assert (response.status_code, response.get_data()) == (200, b"")
    first = "2026-03-02T09:01:00+01:00"
    assert flags(client, token, sent, received) == [(True, first), (True, first)]
    advance(client, 60)
    # Set again: the first download instant stays.
    assert set_flag(client, token, {"uuids": [received], "downloaded": True}).status_code == 200
    assert flags(client, token, received) == [(True, first)]
    assert set_flag(client, token, {"uuids": [received], "downloaded": False}).status_code == 200
    assert flags(client, token, sent, received) == [(True, first), (False, None)]
    assert set_flag(client, token, {"uuids": [received], "downloaded": True}).status_code == 200
    assert flags(client, token, received) == [(True, "2026-03-02T09:02:00+01:00")]


@pytest.mark.parametrize(
    "body", [{"downloaded": True}, {"uuids": [], "downloaded": True}, {"uuids": [], "downloaded": False}]
)
def test_downloaded_without_uuids_changes_nothing(client: FlaskClient, token: str, body: Any) -> None:
    uuid = created_uuid(client, token, invoice())
    response = set_flag(client, token, body)
    assert (response.status_code, response.get_data()) == (200, b"")
    assert flags(client, token, uuid) == [(False, None)]


def test_downloaded_with_an_unknown_or_foreign_uuid_is_404_and_changes_nothing(
    client: FlaskClient, token: str
) -> None:
    mine = created_uuid(client, token, invoice())
    other = token_of(client, "other@example.com", "other")
    foreign = created_uuid(client, other, invoice(supplier_vat=OTHER_VAT))
    for stranger in ("nope", foreign):
        response = set_flag(client, token, {"uuids": [mine, stranger], "downloaded": True})
        assert_problem(response, 404, "Not Found")
    assert flags(client, token, mine) == [(False, None)]
    assert flags(client, other, foreign) == [(False, None)]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"uuids": []}, "downloaded: This value should not be null."),
        ({"uuids": [], "downloaded": None}, "downloaded: This value should not be null."),
        ({"uuids": [], "downloaded": "true"}, "downloaded: This value should be of type bool."),
        ({"uuids": [], "downloaded": 1}, "downloaded: This value should be of type bool."),
        ({"uuids": "abc", "downloaded": True}, "uuids: This value should be of type array of strings."),
        ({"uuids": None, "downloaded": True}, "uuids: This value should be of type array of strings."),
        ({"uuids": [1], "downloaded": True}, "uuids: This value should be of type array of strings."),
        ({"uuids": {"a": "b"}, "downloaded": True}, "uuids: This value should be of type array of strings."),
        ([], "The request body must be a JSON object."),
        ("x", "The request body must be a JSON object."),
    ],
)
def test_downloaded_with_a_bad_body_is_400(client: FlaskClient, token: str, body: Any, detail: str) -> None:
    response = set_flag(client, token, body)
    assert_problem(response, 400, detail)
    path = detail.split(":", 1)[0] if ": " in detail else ""
    assert violations(response)[0]["propertyPath"] == path


def test_downloaded_bad_json_content_type_and_token(client: FlaskClient, token: str) -> None:
    assert_problem(post(client, DOWNLOADED, token, b"{", "application/json"), 400, "Invalid JSON.")
    response = post(client, DOWNLOADED, token, b"{}", "text/plain")
    assert response.status_code == 415
    assert response.get_json()["detail"] == (
        'The content-type "text/plain" is not supported. Supported MIME types are "application/json".'
    )
    unauthenticated = client.post(DOWNLOADED, json={"uuids": [], "downloaded": True})
    assert unauthenticated.status_code == 401
    assert unauthenticated.get_json() == {"code": 401, "message": "JWT Token not found"}


def test_downloaded_handles_many_uuids(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    strangers = [f"{uuid[:-4]}{i:04x}" for i in range(1200)]
    response = set_flag(client, token, {"uuids": [*strangers, uuid], "downloaded": True})
    assert_problem(response, 404, "Not Found")
    assert set_flag(client, token, {"uuids": [uuid] * 1200, "downloaded": True}).status_code == 200
    assert flags(client, token, uuid) == [(True, "2026-03-02T09:00:00+01:00")]
