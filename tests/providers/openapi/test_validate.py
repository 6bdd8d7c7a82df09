"""POST /IT-invoices_validate: official-schema validation, 200 valid / 422 errors / 400 empty."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from emulator.providers.openapi.models import OpenapiInvoice
from emulator.state import Sandbox
from tests.providers.openapi.test_import import document, invoice_xml

TOKEN = "0605df661073c2a58bb2908a3537beb624c1dfe9"
VALIDATE = "/openapi/IT-invoices_validate"


def validate(client: FlaskClient, body: bytes, content_type: str = "application/xml") -> tuple[int, Any]:
    response = client.post(
        VALIDATE, data=body, headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type}
    )
    return response.status_code, response.get_json()


def test_a_valid_invoice_is_200(client: FlaskClient, sandbox: Sandbox) -> None:
    assert validate(client, invoice_xml()) == (
        200,
        {
            "data": {"valid": True, "message": "XML structure is valid."},
            "success": True,
            "message": "",
            "error": None,
        },
    )
    with sandbox.transaction() as session:
        assert session.execute(select(func.count(OpenapiInvoice.id))).scalar_one() == 0


def test_schema_errors_are_422_with_lines(client: FlaskClient) -> None:
    xml = invoice_xml().replace(
        b"<TipoDocumento>TD01</TipoDocumento>", b"<TipoDocumento>TD99</TipoDocumento>"
    )
    xml = xml.replace(b"<Divisa>EUR</Divisa>", b"<Divisa>EUR</Divisa><Extra>1</Extra>", 1)
    status, body = validate(client, xml)
    assert status == 422, body
    assert body["success"] is False and body["data"] is None and body["error"] == 422
    errors = body["errors"]
    assert len(errors) >= 2
    lines = xml.decode().splitlines()
    type_line = next(i for i, line in enumerate(lines, 1) if "TD99" in line)
    assert errors[0]["line"] == type_line and "TipoDocumento" in errors[0]["message"]
    assert any("Extra" in e["message"] for e in errors)
    assert body["message"].startswith(f"XML Validation Failed: line {type_line}: ")
    assert all(f"line {e['line']}: {e['message']}" in body["message"] for e in errors)


def test_the_documents_own_example_reports_its_placeholder_ids(client: FlaskClient) -> None:
    example = document()["paths"]["/IT-invoices_validate"]["post"]["requestBody"]["content"][
        "application/xml"
    ]
    xml = example["examples"]["FatturaEsempio"]["value"].encode()
    status, body = validate(client, xml)
    assert status == 422
    assert "CodiceFiscale" in body["message"]


def test_not_well_formed_is_422_with_its_line(client: FlaskClient) -> None:
    status, body = validate(client, b"<?xml version='1.0'?>\n<a>\n<b>\n</a>\n")
    assert status == 422
    assert body["errors"][0]["line"] == 4
    assert body["message"].startswith("XML Validation Failed: line 4: XML not well-formed")


def test_not_an_invoice_is_422(client: FlaskClient) -> None:
    status, body = validate(client, b"<Note>hi</Note>")
    assert (status, body["errors"]) == (
        422,
        [{"line": 0, "message": "the root element is Note, not FatturaElettronica"}],
    )
    assert body["message"] == "XML Validation Failed: the root element is Note, not FatturaElettronica"


def test_an_empty_body_is_400(client: FlaskClient) -> None:
    for empty in (b"", b"  \n"):
        assert validate(client, empty) == (
            400,
            {"data": None, "success": False, "message": "Request body is empty", "error": 400},
        )


def test_validate_needs_a_token(client: FlaskClient) -> None:
    response = client.post(VALIDATE, data=invoice_xml(), headers={"Content-Type": "application/xml"})
    assert response.status_code == 401
    assert json.loads(response.data)["success"] is False
