"""Aruba §9: findByUsername, getByFilename and getByInvoiceId on the received box.

Received files come from POST /_sandbox/incoming-invoices, or from another sandbox account's
upload once the SDI delivers it (RC, with the metadata file to the recipient).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient

from emulator.config import Config
from emulator.sdi.signing import unwrap_p7m
from emulator.state import Sandbox
from tests.conftest import advance, make_config
from tests.providers.aruba.finding_helpers import assert_spring_error, force, get, received, row_id, sent
from tests.providers.aruba.helpers import OTHER_VAT, SANDBOX_VAT, SANDBOX_VAT_2, token

FIND = "/invoice/in/findByUsername"
PATH = "/services/invoice/in/findByUsername"
PREMIUM = {"countryReceiver": "IT", "vatcodeReceiver": SANDBOX_VAT}


@pytest.fixture
def config() -> Config:
    return make_config(aruba_sla=False)


def find(client: FlaskClient, tok: str, **query: Any) -> Any:
    return get(client, tok, FIND, **{"username": "sandbox", **PREMIUM, **query})


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["filename"] for item in response.get_json()["content"]]


def test_find_by_username_lists_received_invoices(client: FlaskClient) -> None:
    first = received(client)[0]
    advance(client, 60)
    second = received(client, signed=True)[0]
    response = find(client, token(client))
    assert names(response) == [second["file_name"], first["file_name"]]
    body = response.get_json()
    assert body["errorCode"] == "0000"
    assert body["totalElements"] == 2
    item = body["content"][0]
    assert item["docType"] == "in"
    assert item["file"] is None
    assert item["username"] == "sandbox"
    assert item["idSdi"] == str(second["sdi_id"])
    assert item["receiver"]["vatCode"] == SANDBOX_VAT
    assert item["invoices"][0]["status"] == "Inviata"
    assert item["pddAvailable"] is True
    assert item["creationDate"] == "2026-03-02T08:01:00.000+0000"


def test_premium_users_must_name_one_of_their_own_receiving_parties(client: FlaskClient) -> None:
    mine = received(client)[0]
    second = received(client, recipient=SANDBOX_VAT_2)[0]
    tok = token(client)
    mandatory = "countryReceiver and vatcodeReceiver are mandatory for a Premium user"
    assert_spring_error(get(client, tok, FIND, username="sandbox"), 400, mandatory, PATH)
    assert_spring_error(
        get(client, tok, FIND, username="sandbox", countrySender="IT", vatcodeSender=SANDBOX_VAT),
        400,
        mandatory,
        PATH,
    )
    assert_spring_error(
        get(client, tok, FIND, username="sandbox", countryReceiver="IT", vatcodeReceiver=OTHER_VAT),
        403,
        f"The VAT number IT{OTHER_VAT} does not belong to the user sandbox",
        PATH,
    )
    assert names(find(client, tok)) == [mine["file_name"]]
    assert names(find(client, tok, vatcodeReceiver=SANDBOX_VAT_2)) == [second["file_name"]]


def test_received_invoices_filter_by_sender(client: FlaskClient, sandbox: Sandbox) -> None:
    one, two = received(client, count=2)
    tok = token(client)
    item = get(client, tok, "/invoice/in/getByFilename", filename=one["file_name"]).get_json()
    supplier = item["sender"]["vatCode"]
    assert names(find(client, tok, vatcodeSender=supplier)) == [one["file_name"]]
    assert set(names(find(client, tok))) == {one["file_name"], two["file_name"]}
    assert names(find(client, tok, countrySender="FR")) == []


def test_other_accounts_receive_what_sandbox_sends(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1, pa=True, customer_vat=OTHER_VAT)
    other = token(client, "other")
    # aruba/other is not a Premium user: no party is needed.
    assert names(get(client, other, FIND, username="other")) == []
    advance(client, 120)  # RC: the SDI delivers it to the PA office UFK3RB
    response = get(client, other, FIND, username="other")
    assert names(response) == [made.filename]
    item = response.get_json()["content"][0]
    assert item["invoiceType"] == "FPA12"
    assert item["creationDate"] == "2026-03-02T08:02:00.000+0000"
    assert item["sender"]["vatCode"] == SANDBOX_VAT
    assert item["id"] != str(made.id)  # its own id in the received box
    # The sender's token does not open the recipient's box, nor the other way round.
    tok = token(client)
    assert get(client, tok, f"/invoice/in/{item['id']}").status_code == 404
    assert get(client, tok, "/invoice/in/getByFilename", filename=made.filename).status_code == 404
    assert get(client, other, f"/invoice/out/{made.id}").status_code == 404
    assert get(client, other, "/invoice/out/getByFilename", filename=made.filename).status_code == 404


def test_a_received_invoice_expires_and_the_status_shows_it(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1, pa=True, customer_vat=OTHER_VAT)
    force(client, made.filename, "DT")
    other = token(client, "other")
    received_id = row_id(sandbox, made.filename, "in", tenant="other")
    body = get(client, other, f"/invoice/in/{received_id}").get_json()
    assert body["invoices"][0]["status"] == "Decorrenza Termini"
    sender_view = get(client, token(client), f"/invoice/out/{made.id}").get_json()
    assert sender_view["invoices"][0]["status"] == "Decorrenza Termini"


def test_get_by_filename_and_by_id(client: FlaskClient, sandbox: Sandbox) -> None:
    delivered = received(client, signed=True)[0]
    tok = token(client)
    by_name = get(client, tok, "/invoice/in/getByFilename", filename=delivered["file_name"])
    assert by_name.status_code == 200
    body = by_name.get_json()
    assert body["errorCode"] is None
    assert body["docType"] == "in"
    assert body["filename"] == delivered["file_name"]
    assert unwrap_p7m(base64.b64decode(body["file"])).startswith(b"<?xml")
    by_id = get(client, tok, f"/invoice/in/{body['id']}")
    assert by_id.status_code == 200
    assert by_id.get_json() == {**body, "errorCode": "0000"}


def test_include_pdf_opens_the_signed_file(client: FlaskClient) -> None:
    delivered = received(client, signed=True)[0]
    query = {"filename": delivered["file_name"], "includePdf": "true", "includeFile": "false"}
    body = get(client, token(client), "/invoice/in/getByFilename", **query).get_json()
    assert body["file"] is None
    assert list(body)[-2:] == ["pdfFile", "pddAvailable"]
    assert base64.b64decode(body["pdfFile"]).startswith(b"%PDF")


def test_unknown_received_invoices_are_404(client: FlaskClient) -> None:
    tok = token(client)
    assert_spring_error(
        get(client, tok, "/invoice/in/getByFilename", filename="IT01234567890_00001.xml"),
        404,
        "Invoice not found: filename IT01234567890_00001.xml",
        "/services/invoice/in/getByFilename",
    )
    assert_spring_error(
        get(client, tok, "/invoice/in/42"), 404, "Invoice not found: id 42", "/services/invoice/in/42"
    )
    assert_spring_error(
        get(client, tok, "/invoice/in/4x2"),
        400,
        "Method parameter 'invoiceId': Failed to convert value of type 'java.lang.String' to required type "
        "'java.lang.Long'; For input string: \"4x2\"",
        "/services/invoice/in/4x2",
    )


def test_received_pages(client: FlaskClient) -> None:
    received(client, count=3)
    tok = token(client)
    body = find(client, tok, size=2, page=2).get_json()
    assert (body["totalElements"], body["totalPages"], body["numberOfElements"], body["last"]) == (
        3,
        2,
        1,
        True,
    )
    assert_spring_error(
        find(client, tok, size=2, page=3), 400, "page must be between 1 and totalPages (2)", PATH
    )
