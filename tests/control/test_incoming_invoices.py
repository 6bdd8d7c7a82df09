"""POST /_sandbox/incoming-invoices: realistic invoices from the SDI, checked from the recipient's side.

Every invoice is downloaded through the Easy Tracking passive cycle (v10) and checked independently:
the official FatturaPA 1.2.3 schema, the SDI's metadata file, and the p7m read with asn1crypto.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from lxml import etree

from emulator.app import create_app
from emulator.core.accounts import DEFAULT_ACCOUNTS_FILE
from tests.conftest import advance, make_config
from tests.providers.easytracking.helpers import OTHER_VAT, SANDBOX_VAT, bearer, invoice, token
from tests.providers.easytracking.passive_helpers import (
    B2B_MSG_NS,
    ENCODINGS,
    FPA_NS,
    PA_MSG_NS,
    SELECT_FLAGS,
    assert_valid,
    book_response,
    control_message,
    fase,
    fetch,
    incoming,
    job_url,
    listed,
    load_schema,
    localname,
    namespace,
    p7m_content,
    p7m_der_or_ber,
    unwrap_fa,
)

DOCUMENT_TYPES = ("TD01", "TD02", "TD04", "TD05", "TD06", "TD24")
SUPPLIER_VAT = "01879020517"
ROME = ZoneInfo("Europe/Rome")
ALL_TYPES = dict.fromkeys(SELECT_FLAGS, True)


@dataclass
class Delivered:
    """One incoming invoice as its recipient sees it: the list item and the files of a v10 job."""

    created: dict[str, Any]
    item: dict[str, Any]
    fa_name: str
    fa: bytes
    mt: bytes
    fu: bytes
    fi: bytes

    @property
    def content(self) -> bytes:
        """The invoice XML inside FA (the p7m opened with asn1crypto when signed)."""
        encoding = self.created["encoding"] if self.created["signed"] else None
        return unwrap_fa(self.fa_name, self.fa, encoding)


def receive(client: FlaskClient, created: list[dict[str, Any]], tenant: str = "sandbox") -> list[Delivered]:
    tok = token(client, tenant)
    items = {i["sdiId"]: i for i in listed(client, tok)}
    chosen = [items[str(c["sdi_id"])] for c in created]
    archive = fetch(client, tok, [i["id"] for i in chosen], "v10", **ALL_TYPES)
    result = []
    for made, item in zip(created, chosen, strict=True):
        fa_name, fa = archive.of(item["id"], "FA")
        result.append(
            Delivered(
                made,
                item,
                fa_name,
                fa,
                archive.of(item["id"], "MT")[1],
                archive.of(item["id"], "FU")[1],
                archive.of(item["id"], "FI")[1],
            )
        )
    return result


@pytest.fixture(scope="module")
def fatturapa() -> etree.XMLSchema:
    return load_schema("Schema_del_file_xml_FatturaPA_v1.2.3.xsd")


@pytest.fixture(scope="module")
def messaggi() -> etree.XMLSchema:
    return load_schema("MessaggiTypes_v1.1.xsd")


def given(seed: int, number: str, **kwargs: Any) -> bytes:
    defaults: dict[str, Any] = {
        "supplier_vat": SUPPLIER_VAT,
        "customer_vat": SANDBOX_VAT,
        "recipient_code": "DTI1I04",
        "progressive": f"G{seed:04d}",
    }
    return invoice(seed=seed, number=number, **{**defaults, **kwargs})


# -- generated invoices -----------------------------------------------------------------------------


def test_generated_invoices_of_every_document_type_are_schema_valid(
    client: FlaskClient, fatturapa: etree.XMLSchema
) -> None:
    created = []
    for kind in DOCUMENT_TYPES:
        batch = incoming(client, SANDBOX_VAT, count=2, document_type=kind)
        assert len(batch) == 2
        created += batch
    created += incoming(client, SANDBOX_VAT, count=6)  # types of the generator's choice
    seen = set()
    for position, got in enumerate(receive(client, created)):
        root = assert_valid(fatturapa, got.fu)
        assert got.content == got.fu == got.fa  # unsigned: the file as delivered is the invoice
        assert localname(root) == "FatturaElettronica" and namespace(root) == FPA_NS
        assert root.get("versione") == "FPR12"
        assert root.findtext("FatturaElettronicaHeader/DatiTrasmissione/FormatoTrasmissione") == "FPR12"
        assert root.findtext("FatturaElettronicaHeader/DatiTrasmissione/CodiceDestinatario") == "DTI1I04"
        tipo = root.findtext("FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/TipoDocumento")
        if position < 2 * len(DOCUMENT_TYPES):
            assert tipo == DOCUMENT_TYPES[position // 2], position
        assert got.item["documentType"] == tipo
        assert (
            root.findtext(
                "FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici/IdFiscaleIVA/IdCodice"
            )
            == SANDBOX_VAT
        )
        assert got.item["receiverPIVA"] == SANDBOX_VAT
        seen.add(got.created["file_name"])
        assert_valid(fatturapa, got.fi)
    assert len(seen) == len(created)


def test_pa_invoice_to_an_account_with_an_office_code(
    client: FlaskClient, fatturapa: etree.XMLSchema, messaggi: etree.XMLSchema
) -> None:
    created = incoming(client, OTHER_VAT, pa=True, count=2) + incoming(
        client, OTHER_VAT, pa=True, signed=True, encoding="ber", document_type="TD04"
    )
    assert {c["recipient"]["tenant"] for c in created} == {"other"}
    for got in receive(client, created, "other"):
        assert got.content == got.fu
        root = assert_valid(fatturapa, got.fu)
        assert root.get("versione") == "FPA12"
        header = root.find("FatturaElettronicaHeader/DatiTrasmissione")
        assert header is not None
        assert header.findtext("FormatoTrasmissione") == "FPA12"
        assert header.findtext("CodiceDestinatario") == "UFE7T2"
        mt = assert_valid(messaggi, got.mt)
        assert localname(mt) == "MetadatiInvioFile" and namespace(mt) == PA_MSG_NS
        assert mt.findtext("IdentificativoSdI") == got.item["sdiId"] == str(got.created["sdi_id"])
        assert mt.findtext("NomeFile") == got.item["fileName"] == got.created["file_name"]
        assert mt.findtext("CodiceDestinatario") == "UFE7T2"
        assert mt.findtext("Formato") == "FPA12"
    kind = etree.fromstring(receive(client, created[2:], "other")[0].fu).findtext(
        "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/TipoDocumento"
    )
    assert kind == "TD04"


def test_pa_needs_an_account_with_an_office_code(client: FlaskClient) -> None:
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT, "pa": True})
    assert response.status_code == 400
    assert re.search(r"pa_office_code|office code", control_message(response), re.IGNORECASE), (
        control_message(response)
    )
    assert listed(client, token(client)) == []


def test_b2b_metadata_and_reception_timestamp(client: FlaskClient) -> None:
    now = dt.datetime.fromisoformat(client.get("/_sandbox/clock").get_json()["now"])
    first = incoming(client, SANDBOX_VAT)[0]
    advance(client, 5400)
    second = incoming(client, SANDBOX_VAT, signed=True)[0]
    assert dt.datetime.fromisoformat(first["received_at"]) == now
    assert dt.datetime.fromisoformat(second["received_at"]) == now + dt.timedelta(seconds=5400)
    for made in (first, second):
        stem = made["file_name"].removesuffix(".p7m").removesuffix(".xml")
        assert made["metadata_file_name"] == stem + "_MT_001.xml"
        assert isinstance(made["sdi_id"], int) and made["sdi_id"] > 0
    assert first["signed"] is False and second["signed"] is True and second["encoding"] == "der"
    for got in receive(client, [first, second]):
        mt = etree.fromstring(got.mt)
        assert localname(mt) == "FileMetadati" and namespace(mt) == B2B_MSG_NS
        assert mt.findtext("IdentificativoSdI") == str(got.created["sdi_id"]) == got.item["sdiId"]
        assert mt.findtext("NomeFile") == got.created["file_name"]
        assert mt.findtext("MessageId")
        received = dt.datetime.fromisoformat(got.created["received_at"]).astimezone(ROME)
        assert got.item["dataRicezione"] == received.strftime("%Y-%m-%d %H:%M:%S")
    assert first["sdi_id"] != second["sdi_id"]


# -- given XML, signed ----------------------------------------------------------------------------


def test_given_xml_is_delivered_byte_for_byte(client: FlaskClient, fatturapa: etree.XMLSchema) -> None:
    xml = given(1, "77/C", issue_date=dt.date(2026, 2, 20))
    created = incoming(client, SANDBOX_VAT, xml=xml.decode())
    assert len(created) == 1
    assert created[0]["file_name"] == "IT01879020517_G0001.xml"
    got = receive(client, created)[0]
    assert got.fa == got.fu == xml
    assert_valid(fatturapa, got.fu)
    assert {k: got.item[k] for k in ("senderPIVA", "receiverPIVA", "data", "number", "documentType")} == {
        "senderPIVA": SUPPLIER_VAT,
        "receiverPIVA": SANDBOX_VAT,
        "data": "2026-02-20",
        "number": "77/C",
        "documentType": "TD01",
    }


def test_given_xml_that_is_not_an_invoice_is_400(client: FlaskClient) -> None:
    for xml, fragment in [
        ("<not-closed", "xml"),
        ("<Foo/>", "xml"),
        ("", "xml"),
    ]:
        response = client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT, "xml": xml})
        assert response.status_code == 400, xml
        assert fragment in control_message(response).lower(), control_message(response)
    rejected = given(2, "R1", customer_vat="01100220307")  # wrong check digit: the SDI discards it
    response = client.post(
        "/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT, "xml": rejected.decode()}
    )
    assert response.status_code == 400
    assert "00305" in control_message(response) or "reject" in control_message(response)
    assert listed(client, token(client)) == []


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_signed_in_every_encoding_unwraps_to_the_invoice(
    client: FlaskClient, fatturapa: etree.XMLSchema, encoding: str
) -> None:
    xml = given(3, "S-1")
    created = incoming(client, SANDBOX_VAT, xml=xml.decode(), signed=True, encoding=encoding)
    created += incoming(client, SANDBOX_VAT, signed=True, encoding=encoding, document_type="TD24")
    for made in created:
        assert made["signed"] is True and made["encoding"] == encoding
        assert made["file_name"].endswith(".xml.p7m")
    given_one, generated = receive(client, created)
    for got in (given_one, generated):
        assert got.fa_name.endswith("_" + got.created["file_name"])
        assert got.item["fileName"] == got.created["file_name"]
        content = p7m_content(got.fa, encoding)  # asn1crypto, not the emulator's reader
        assert content == got.fu
        assert_valid(fatturapa, content)
        if encoding == "base64x2":
            once = base64.b64decode(got.fa)
            assert once[:1] != b"\x30" and base64.b64decode(once)[:1] == b"\x30"
        if encoding in {"base64", "base64x2"}:
            assert got.fa.isascii()
        raw = p7m_der_or_ber(got.fa, encoding)
        assert (raw[1] == 0x80) is (encoding == "ber")
    assert given_one.fu == xml
    assert p7m_content(given_one.fa, encoding) == xml


def test_account_default_encoding(client: FlaskClient) -> None:
    accounts = client.get("/_sandbox/accounts").get_json()["accounts"]
    defaults = {(a["provider"], a["tenant"]): a["p7m_encoding"] for a in accounts}
    assert defaults[("easytracking", "sandbox")] == "der"
    patched = client.patch("/_sandbox/accounts/easytracking/sandbox", json={"p7m_encoding": "ber"})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    view = patched.get_json()
    assert (
        view["p7m_encoding"] == "ber" and view["tenant"] == "sandbox" and view["provider"] == "easytracking"
    )
    accounts = client.get("/_sandbox/accounts").get_json()["accounts"]
    after = {(a["provider"], a["tenant"]): a["p7m_encoding"] for a in accounts}
    assert after[("easytracking", "sandbox")] == "ber"
    assert after[("easytracking", "other")] == "der"
    by_default = incoming(client, SANDBOX_VAT, signed=True)[0]
    explicit = incoming(client, SANDBOX_VAT, signed=True, encoding="base64")[0]
    theirs = incoming(client, OTHER_VAT, signed=True)[0]
    assert (by_default["encoding"], explicit["encoding"], theirs["encoding"]) == ("ber", "base64", "der")
    mine = receive(client, [by_default, explicit])
    assert mine[0].fa[:2] == b"\x30\x80"
    assert p7m_content(mine[0].fa, "ber") == mine[0].fu
    assert p7m_content(mine[1].fa, "base64") == mine[1].fu
    other = receive(client, [theirs], "other")[0]
    assert other.fa[:1] == b"\x30" and other.fa[1] != 0x80
    for payload, status in [({"p7m_encoding": "pem"}, 400), ({"p7m_encoding": 1}, 400), ({}, 400)]:
        response = client.patch("/_sandbox/accounts/easytracking/sandbox", json=payload)
        assert response.status_code == status, payload
        assert "p7m_encoding" in control_message(response) or "encoding" in control_message(response)
    missing = client.patch("/_sandbox/accounts/easytracking/nobody", json={"p7m_encoding": "der"})
    assert missing.status_code == 404
    assert "nobody" in control_message(missing)


def test_accounts_file_sets_the_default_encoding(tmp_path: Path) -> None:
    accounts = json.loads(DEFAULT_ACCOUNTS_FILE.read_text())
    for account in accounts:
        if (account["provider"], account["tenant"]) == ("easytracking", "sandbox"):
            account["p7m_encoding"] = "base64x2"
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(accounts))
    app = create_app(make_config(accounts_file=path))
    try:
        client = app.test_client()
        views = client.get("/_sandbox/accounts").get_json()["accounts"]
        assert {(a["provider"], a["tenant"]): a["p7m_encoding"] for a in views}[
            ("easytracking", "sandbox")
        ] == ("base64x2")
        created = incoming(client, SANDBOX_VAT, signed=True)
        assert created[0]["encoding"] == "base64x2"
        got = receive(client, created)[0]
        assert p7m_content(got.fa, "base64x2") == got.fu
    finally:
        app.extensions["fattura_sandbox"].close()
    for bad in ("pem", 1):
        accounts[0]["p7m_encoding"] = bad
        path.write_text(json.dumps(accounts))
        with pytest.raises(ValueError, match="p7m_encoding"):
            create_app(make_config(accounts_file=path))


# -- tenancy and input errors ---------------------------------------------------------------------


def test_invoice_to_another_tenant_is_invisible_and_forbidden(client: FlaskClient) -> None:
    theirs = incoming(client, OTHER_VAT, signed=True)[0]
    assert theirs["recipient"] == {"provider": "easytracking", "tenant": "other"}
    tok, other = token(client), token(client, "other")
    their_ids = [i["id"] for i in listed(client, other)]
    assert len(their_ids) == 1
    for route in ("v2", "v3", "v9", "v10"):
        assert listed(client, tok, route) == [], route
    assert listed(client, tok, receiverPIVA=OTHER_VAT) == []
    for response in (
        book_response(client, tok, their_ids),
        book_response(client, tok, their_ids, fatturaNonFirmata=True),
        fase(client, tok, "set-fase-1", their_ids),
        fase(client, tok, "clear-fase-2", their_ids),
    ):
        assert response.status_code == 403
        assert str(their_ids[0]) in response.get_json()["message"]
    # the owner, of course, gets it
    booked = book_response(client, other, their_ids)
    assert booked.status_code == 202
    advance(client, 5)
    assert client.get(job_url(booked.get_json()["jobId"]), headers=bearer(tok)).status_code == 403


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({"recipient": SANDBOX_VAT, "count": 0}, 400, "count"),
        ({"recipient": SANDBOX_VAT, "count": 101}, 400, "count"),
        ({"recipient": SANDBOX_VAT, "count": "2"}, 400, "count"),
        ({"recipient": SANDBOX_VAT, "count": True}, 400, "count"),
        ({"recipient": SANDBOX_VAT, "signed": "yes"}, 400, "signed"),
        ({"recipient": SANDBOX_VAT, "signed": True, "encoding": "pem"}, 400, "encoding"),
        ({"recipient": SANDBOX_VAT, "document_type": "TD99"}, 400, "document_type"),
        ({"recipient": SANDBOX_VAT, "document_type": 1}, 400, "document_type"),
        ({"recipient": OTHER_VAT, "pa": "yes"}, 400, "pa"),
        ({"recipient": "01879020517"}, 404, "01879020517"),
        ({"count": 1}, 400, "recipient"),
        ([SANDBOX_VAT], 400, "recipient"),
    ],
)
def test_incoming_input_errors(client: FlaskClient, payload: Any, status: int, fragment: str) -> None:
    response = client.post("/_sandbox/incoming-invoices", json=payload)
    assert response.status_code == status, response.get_data(as_text=True)
    assert fragment in control_message(response), control_message(response)
    assert listed(client, token(client)) == []
