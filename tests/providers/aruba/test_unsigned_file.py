"""§9.5 getInvoiceWithUnsignedFile: a received invoice with its content without the digital signature."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select

from emulator.providers.aruba.received_routes import unsigned_content
from emulator.sdi.models import SdiInvoice
from emulator.sdi.signing import DS_NS
from emulator.state import Sandbox
from tests.providers.aruba.helpers import SANDBOX_VAT, bearer, invoice, token

URL = "/aruba/services/invoice/in/getInvoiceWithUnsignedFile"
KEYS = [
    "errorCode",
    "errorDescription",
    "id",
    "sender",
    "receiver",
    "invoiceType",
    "docType",
    "file",
    "filename",
    "invoices",
    "username",
    "lastUpdate",
    "creationDate",
    "idSdi",
    "pddAvailable",
    "unsignedFile",
    "signed",
]


def incoming(client: FlaskClient, recipient: str = SANDBOX_VAT, **options: Any) -> dict[str, Any]:
    response = client.post(
        "/_sandbox/incoming-invoices", json={"recipient": recipient, "count": 1, **options}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    created: dict[str, Any] = response.get_json()["invoices"][0]
    return created


def stored(sandbox: Sandbox, file_name: str) -> bytes:
    with sandbox.transaction() as session:
        row = session.execute(select(SdiInvoice).where(SdiInvoice.file_name == file_name)).scalar_one()
        return row.content


def get(client: FlaskClient, tok: str, **query: str) -> Any:
    return client.get(URL, query_string=query, headers=bearer(tok))


def b64decode(value: str) -> bytes:
    return base64.b64decode(value)


def spring_error(response: Any, status: int, message: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert body["status"] == status
    assert body["message"] == message
    assert body["path"] == "/services/invoice/in/getInvoiceWithUnsignedFile"


# -- the documented object -----------------------------------------------------------------------


def test_an_unsigned_invoice_is_its_own_unsigned_file(client: FlaskClient, sandbox: Sandbox) -> None:
    created = incoming(client)
    response = get(client, token(client), filename=created["file_name"])
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == KEYS
    assert body["errorCode"] is None and body["errorDescription"] is None
    assert body["docType"] == "in"
    assert body["filename"] == created["file_name"]
    assert body["idSdi"] == str(created["sdi_id"])
    assert body["username"] == "sandbox"
    assert body["file"] is None  # includeFile is false by default (§9.5)
    assert body["signed"] is False
    assert b64decode(body["unsignedFile"]) == stored(sandbox, created["file_name"])
    assert body["receiver"]["vatCode"] == SANDBOX_VAT
    assert body["invoices"][0]["status"] == "Inviata"
    assert "pdfFile" not in body


@pytest.mark.parametrize("encoding", ["der", "ber", "base64", "base64x2"])
def test_a_signed_invoice_gives_the_xml_inside_whatever_the_p7m_encoding(
    client: FlaskClient, sandbox: Sandbox, encoding: str
) -> None:
    created = incoming(client, signed=True, encoding=encoding)
    assert created["file_name"].endswith(".xml.p7m")
    body = get(client, token(client), filename=created["file_name"], includeFile="true").get_json()
    assert body["signed"] is True
    original = stored(sandbox, created["file_name"])
    assert b64decode(body["file"]) == original  # the file as received, still signed
    xml = b64decode(body["unsignedFile"])
    assert xml.lstrip().startswith(b"<?xml")
    assert etree.QName(etree.fromstring(xml)).localname == "FatturaElettronica"
    assert xml != original


def test_an_xades_signed_xml_is_signed_and_loses_its_signature(client: FlaskClient, sandbox: Sandbox) -> None:
    signed = sandbox.signer.sign_xml(
        etree.fromstring(invoice(customer_vat=SANDBOX_VAT, recipient_code="KRRH6B9"))
    )
    text = etree.tostring(signed, xml_declaration=True, encoding="UTF-8").decode()
    created = incoming(client, xml=text)
    body = get(client, token(client), filename=created["file_name"]).get_json()
    assert body["signed"] is True
    root = etree.fromstring(b64decode(body["unsignedFile"]))
    assert root.find(f"{{{DS_NS}}}Signature") is None
    assert etree.QName(root).localname == "FatturaElettronica"
    assert root.find("FatturaElettronicaBody") is not None


def test_by_invoice_id_and_with_the_file(client: FlaskClient, sandbox: Sandbox) -> None:
    created = incoming(client)
    tok = token(client)
    invoice_id = get(client, tok, filename=created["file_name"]).get_json()["id"]
    body = get(client, tok, invoiceId=invoice_id, includeFile="TRUE").get_json()
    assert body["filename"] == created["file_name"]
    assert b64decode(body["file"]) == stored(sandbox, created["file_name"])
    both = get(client, tok, invoiceId=invoice_id, filename=created["file_name"], includeFile="0")
    assert both.status_code == 200 and both.get_json()["file"] is None


def test_unsigned_content_of_an_unreadable_p7m() -> None:
    assert unsigned_content("IT01879020517_abcde.xml.p7m", b"not a p7m") == (True, None)
    assert unsigned_content("IT01879020517_abcde.xml", b"not xml") == (False, b"not xml")


# -- errors ----------------------------------------------------------------------------------------


def test_one_of_filename_and_invoice_id_is_mandatory(client: FlaskClient) -> None:
    spring_error(
        get(client, token(client), includeFile="true"),
        400,
        "Required request parameter 'filename' or 'invoiceId' is not present: one of the two is mandatory",
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"invoiceId": "abc"},
            "Method parameter 'invoiceId': Failed to convert value of type 'java.lang.String' to required "
            "type 'java.lang.Long'; For input string: \"abc\"",
        ),
        (
            {"invoiceId": "99999999999999999999"},
            "Method parameter 'invoiceId': Failed to convert value of type 'java.lang.String' to required "
            "type 'java.lang.Long'; For input string: \"99999999999999999999\"",
        ),
        (
            {"filename": "x.xml", "includeFile": "maybe"},
            "Method parameter 'includeFile': Failed to convert value of type 'java.lang.String' to required "
            "type 'java.lang.Boolean'; Invalid boolean value 'maybe'",
        ),
    ],
)
def test_parameters_that_spring_cannot_convert_are_400(
    client: FlaskClient, query: dict[str, str], message: str
) -> None:
    spring_error(get(client, token(client), **query), 400, message)


def test_unknown_invoices_and_other_accounts_invoices_are_404(client: FlaskClient) -> None:
    mine = incoming(client)
    theirs = incoming(client, recipient="18302640505")
    tok = token(client)
    spring_error(
        get(client, tok, filename="IT01879020517_nope0.xml"),
        404,
        "No received invoice with filename IT01879020517_nope0.xml",
    )
    spring_error(
        get(client, tok, filename=theirs["file_name"]),
        404,
        f"No received invoice with filename {theirs['file_name']}",
    )
    their_id = get(client, token(client, "other"), filename=theirs["file_name"]).get_json()["id"]
    spring_error(get(client, tok, invoiceId=their_id), 404, f"No received invoice with id {their_id}")
    my_id = get(client, tok, filename=mine["file_name"]).get_json()["id"]
    spring_error(
        get(client, tok, invoiceId=my_id, filename=theirs["file_name"]),
        404,
        f"No received invoice with filename {theirs['file_name']} and id {my_id}",
    )


def test_a_token_is_required(client: FlaskClient) -> None:
    response = client.get(URL, query_string={"filename": "x.xml"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
