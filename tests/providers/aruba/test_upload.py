"""Aruba §7.3–7.4: upload and uploadSigned, the request they take, the file they make, its processing."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree

from emulator.config import Config
from emulator.core.ids import IdFactory
from emulator.core.xmlsafe import parse_xml
from emulator.providers.aruba import PROVIDER as ARUBA
from emulator.providers.aruba import callbacks
from emulator.providers.aruba import upload as upload_service
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.models import SdiInvoice
from emulator.sdi.signing import unwrap_p7m, verify_p7m
from emulator.state import Sandbox
from tests.conftest import START, advance, make_config
from tests.providers.aruba.helpers import (
    OTHER_VAT,
    SANDBOX_VAT,
    bearer,
    invoice,
    sent_file,
    token,
    upload,
    uploaded_name,
)

UPLOAD = "/aruba/services/invoice/upload"
UPLOAD_SIGNED = "/aruba/services/invoice/uploadSigned"
FULL_AUTHENTICATION = "Full authentication is required to access this resource"
REQUEST_ID = re.compile(r"^Operazione effettuata - [0-9a-f]{32}$")
P7M_NAME = re.compile(r"^IT01879020517_[a-z0-9]{5}\.xml\.p7m$")
XML_NAME = re.compile(r"^IT01879020517_[a-z0-9]{5}\.xml$")
STARTED = datetime.fromisoformat(START)


@pytest.fixture
def config() -> Config:
    return make_config(aruba_sla=False)


def force(client: FlaskClient, reference: str, kind: str) -> Any:
    return client.post("/_sandbox/sdi/notifications", json={"invoice": reference, "type": kind})


# -- upload ---------------------------------------------------------------------------------------


def test_upload_answers_the_documented_fields(client: FlaskClient) -> None:
    response = upload(client, token(client), invoice(), credential="", domain="")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["errorCode", "errorDescription", "uploadFileName"]
    assert body["errorCode"] == "0000"
    assert REQUEST_ID.match(body["errorDescription"])
    assert P7M_NAME.match(body["uploadFileName"])


def test_upload_records_the_file_as_taken_in_charge(client: FlaskClient, sandbox: Sandbox) -> None:
    response = upload(client, token(client), invoice(number="FV-77"))
    name = uploaded_name(response)
    row = sent_file(sandbox, name)
    assert row["status"] == "Presa in carico"
    assert row["description"] is None
    assert row["request_id"] == response.get_json()["errorDescription"].rsplit(" ", 1)[1]
    assert row["created_at"] == STARTED
    assert row["bodies"] == [{"number": "FV-77", "date": "2026-03-01"}]
    assert row["sender"]["vatCode"] == SANDBOX_VAT
    assert row["receiver"]["vatCode"] == "01879020517"
    assert row["invoice_type"] == "FPR12"
    assert row["sdi_file_name"] is None


def test_upload_signs_the_xml_with_a_cades_p7m(client: FlaskClient, sandbox: Sandbox) -> None:
    xml = invoice()
    name = uploaded_name(upload(client, token(client), xml))
    content = sent_file(sandbox, name)["content"]
    assert content[:1] == b"\x30"  # DER
    assert verify_p7m(content) == xml
    assert unwrap_p7m(content) == xml


def test_uploads_with_automatic_signature_credentials(client: FlaskClient, sandbox: Sandbox) -> None:
    tok = token(client)
    response = upload(client, tok, invoice(), credential="sandbox", domain="sandbox")
    name = uploaded_name(response)
    assert verify_p7m(sent_file(sandbox, name)["content"]) == invoice()


def test_file_names_are_unique(client: FlaskClient) -> None:
    tok = token(client)
    names = {uploaded_name(upload(client, tok, invoice(seed=n, number=f"U-{n}"))) for n in range(12)}
    assert len(names) == 12
    assert all(P7M_NAME.match(name) for name in names)


class _ScriptedIds(IdFactory):
    """Random indexes from a script: the names it makes are known in advance."""

    def __init__(self, letters: str) -> None:
        super().__init__(1)
        self._indexes = [upload_service.NAME_ALPHABET.index(c) for c in letters]

    def randint(self, low: int, high: int) -> int:
        return self._indexes.pop(0)


def test_a_file_name_taken_by_any_sdi_or_aruba_file_is_not_given_again(sandbox: Sandbox) -> None:
    with sandbox.transaction() as session:
        session.add(
            ArubaInvoice(
                id=1,
                account_id=1,
                direction="out",
                filename="IT01879020517_aaaaa.xml",
                content=b"x",
                status="Presa in carico",
                created_at=STARTED,
                updated_at=STARTED,
            )
        )
        session.add(
            SdiInvoice(
                sdi_id=1,
                file_name="IT01879020517_BBBBB.xml.p7m",
                content=b"x",
                hash="0",
                flow="B2B",
                state="RECEIVED",
                received_at=STARTED,
                channel="test",
                errors=[],
            )
        )
        session.flush()
        ids = _ScriptedIds("aaaaa" + "bbbbb" + "ccccc")
        assert upload_service.new_file_name(session, ids, ".xml.p7m") == "IT01879020517_ccccc.xml.p7m"


# -- uploadSigned ---------------------------------------------------------------------------------


def test_upload_signed_p7m_keeps_the_file_and_answers_an_empty_code(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    xml = invoice()
    p7m = sandbox.signer.make_p7m(xml)
    response = upload(client, token(client), p7m, signed=True)
    body = response.get_json()
    assert list(body) == ["errorCode", "errorDescription", "uploadFileName"]
    assert body["errorCode"] == ""
    assert REQUEST_ID.match(body["errorDescription"])
    assert P7M_NAME.match(body["uploadFileName"])
    assert sent_file(sandbox, body["uploadFileName"])["content"] == p7m
    advance(client, 60)
    row = sent_file(sandbox, body["uploadFileName"])
    assert row["status"] == "Inviata"
    assert row["sdi_file_name"] == body["uploadFileName"]
    assert row["sdi_xml"] == xml


def test_upload_signed_base64_p7m_is_stored_as_sent(client: FlaskClient, sandbox: Sandbox) -> None:
    p7m = sandbox.signer.make_p7m(invoice(), encoding="base64")
    name = uploaded_name(upload(client, token(client), p7m, signed=True))
    assert P7M_NAME.match(name)
    assert sent_file(sandbox, name)["content"] == p7m
    advance(client, 60)
    assert sent_file(sandbox, name)["status"] == "Inviata"


def _xades(sandbox: Sandbox, xml: bytes) -> bytes:
    signed = sandbox.signer.sign_xml(parse_xml(xml))
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def test_upload_signed_xades_xml_is_sent_as_xml(client: FlaskClient, sandbox: Sandbox) -> None:
    signed = _xades(sandbox, invoice())
    name = uploaded_name(upload(client, token(client), signed, signed=True))
    assert XML_NAME.match(name)
    assert sent_file(sandbox, name)["content"] == signed
    advance(client, 60)
    row = sent_file(sandbox, name)
    assert row["status"] == "Inviata"
    assert row["sdi_xml"] == signed


@pytest.mark.parametrize("kind", ["unsigned xml", "tampered xades", "tampered p7m"])
def test_upload_signed_without_a_valid_signature_fails_with_fatrsm302(
    client: FlaskClient, sandbox: Sandbox, kind: str
) -> None:
    xml = invoice()
    if kind == "unsigned xml":
        data = xml
    elif kind == "tampered xades":
        data = _xades(sandbox, xml).replace(b"Cliente Prova", b"Cliente Provb")
    else:
        data = sandbox.signer.make_p7m(xml).replace(b"Cliente Prova", b"Cliente Provb")
    response = upload(client, token(client), data, signed=True)
    assert response.get_json()["errorCode"] == ""
    name = response.get_json()["uploadFileName"]
    assert name.endswith(".xml" if kind != "tampered p7m" else ".xml.p7m")
    advance(client, 60)
    row = sent_file(sandbox, name)
    assert row["status"] == "Errore Elaborazione"
    assert row["description"] == "FATRSM302 - Verifica della firma o firma errata in fattura"
    assert row["sdi_file_name"] is None


def test_upload_signed_p7m_with_empty_content_fails_with_fatrsm401(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    name = uploaded_name(upload(client, token(client), sandbox.signer.make_p7m(b""), signed=True))
    row = sent_file(sandbox, name)
    assert row["status"] == "Presa in carico"
    assert row["bodies"] == [{"number": None, "date": None}]
    advance(client, 60)
    row = sent_file(sandbox, name)
    assert row["status"] == "Errore Elaborazione"
    assert row["description"] == "FATRSM401 - File xml vuoto, contattare l’assistenza"


def test_upload_refuses_an_already_signed_file(client: FlaskClient, sandbox: Sandbox) -> None:
    response = upload(client, token(client), sandbox.signer.make_p7m(invoice()))
    assert response.get_json() == {
        "errorCode": "0002",
        "errorDescription": "Errore parametri in input: dataFile, formato fattura errato o non presente",
        "uploadFileName": None,
    }


# -- processing -----------------------------------------------------------------------------------


def test_the_file_is_processed_after_sixty_virtual_seconds(client: FlaskClient, sandbox: Sandbox) -> None:
    name = uploaded_name(upload(client, token(client), invoice()))
    advance(client, 59)
    assert sent_file(sandbox, name)["status"] == "Presa in carico"
    assert force(client, name, "RC").status_code == 404  # the SDI does not have it yet
    advance(client, 1)
    row = sent_file(sandbox, name)
    assert row["status"] == "Inviata"
    assert row["sdi_file_name"] == name
    assert row["sdi_received_at"] == STARTED + timedelta(seconds=60)
    assert row["updated_at"] == STARTED + timedelta(seconds=60)
    assert row["created_at"] == STARTED


@pytest.mark.parametrize("config", [make_config(aruba_sla=False, aruba_processing_seconds=5)])
def test_the_processing_delay_comes_from_the_configuration(client: FlaskClient, sandbox: Sandbox) -> None:
    name = uploaded_name(upload(client, token(client), invoice()))
    advance(client, 4)
    assert sent_file(sandbox, name)["status"] == "Presa in carico"
    advance(client, 1)
    assert sent_file(sandbox, name)["status"] == "Inviata"


def test_processing_reports_the_new_status_to_the_callbacks(
    client: FlaskClient, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str, datetime]] = []

    def record(_sandbox: Sandbox, _session: Any, row: ArubaInvoice, at: datetime) -> None:
        seen.append((row.filename, row.status, at))

    monkeypatch.setattr(callbacks, "invoice_status_changed", record)
    tok = token(client)
    good = uploaded_name(upload(client, tok, invoice()))
    bad = uploaded_name(upload(client, tok, invoice(seed=2, supplier_vat="09382170158")))
    advance(client, 100)
    due = STARTED + timedelta(seconds=60)
    assert sorted(seen) == sorted([(good, "Inviata", due), (bad, "Errore Elaborazione", due)])


@pytest.mark.parametrize(
    ("pa", "kind", "status"),
    [
        (False, "RC", "Consegnata"),
        (False, "NS", "Scartata"),
        (False, "MC", "Non Consegnata"),
        (True, "AT", "Recapito Impossibile"),
        (True, "NE_EC01", "Accettata"),
        (True, "NE_EC02", "Rifiutata"),
        (True, "DT", "Decorrenza Termini"),
    ],
)
def test_from_inviata_the_status_follows_the_sdi(
    client: FlaskClient, sandbox: Sandbox, pa: bool, kind: str, status: str
) -> None:
    name = uploaded_name(upload(client, token(client), invoice(pa=pa)))
    advance(client, 60)
    assert sent_file(sandbox, name)["status"] == "Inviata"
    response = force(client, name, kind)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert sent_file(sandbox, name)["status"] == status


def test_the_sdi_delivers_on_its_own_schedule(client: FlaskClient, sandbox: Sandbox) -> None:
    name = uploaded_name(upload(client, token(client), invoice()))
    advance(client, 60 + 120)
    assert sent_file(sandbox, name)["status"] == "Consegnata"


def test_the_control_api_finds_a_sent_file_by_its_aruba_id(client: FlaskClient, sandbox: Sandbox) -> None:
    name = uploaded_name(upload(client, token(client), invoice()))
    aruba_id = str(sent_file(sandbox, name)["id"])
    assert force(client, aruba_id, "RC").status_code == 404  # not at the SDI yet
    advance(client, 60)
    response = force(client, aruba_id, "RC")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["invoice_file_name"] == name
    assert sent_file(sandbox, name)["status"] == "Consegnata"


def test_the_resolver_takes_ids_and_names_and_nothing_else(client: FlaskClient, sandbox: Sandbox) -> None:
    name = uploaded_name(upload(client, token(client), invoice()))
    advance(client, 60)
    aruba_id = sent_file(sandbox, name)["id"]
    with sandbox.transaction() as session:
        assert [i.file_name for i in ARUBA.resolve_invoice(session, str(aruba_id))] == [name]
        assert [i.file_name for i in ARUBA.resolve_invoice(session, name.upper())] == [name]
        for other in ("nope", "²", "9" * 40, "-1", ""):
            assert ARUBA.resolve_invoice(session, other) == []


def test_another_accounts_vat_is_kept_apart(client: FlaskClient, sandbox: Sandbox) -> None:
    """The other account uploads its own invoice; each sent box holds only its own file."""
    mine = uploaded_name(upload(client, token(client), invoice()))
    theirs = uploaded_name(upload(client, token(client, "other"), invoice(seed=3, supplier_vat=OTHER_VAT)))
    assert sent_file(sandbox, mine)["account_id"] != sent_file(sandbox, theirs)["account_id"]


# -- the request ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [UPLOAD, UPLOAD_SIGNED])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}])
def test_a_call_without_a_valid_token_is_401_before_anything_else(
    client: FlaskClient, path: str, headers: dict[str, str]
) -> None:
    response = client.post(path, data="not json", content_type="text/plain", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized", "error_description": FULL_AUTHENTICATION}


def test_an_expired_token_is_401(client: FlaskClient) -> None:
    tok = token(client)
    advance(client, 1800)
    response = upload(client, tok, invoice())
    assert response.status_code == 401


def _spring(response: Any, status: int, error: str, message: str, path: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert body["status"] == status
    assert body["error"] == error
    assert body["message"] == message
    assert body["path"] == path


@pytest.mark.parametrize("path", [UPLOAD, UPLOAD_SIGNED])
@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        ("text/plain", "text/plain"),
        ("application/xml;charset=UTF-8", "application/xml;charset=UTF-8"),
        (None, "application/octet-stream"),
    ],
)
def test_a_body_that_is_not_json_is_415(
    client: FlaskClient, path: str, content_type: str | None, shown: str
) -> None:
    headers = bearer(token(client))
    if content_type is None:
        response = client.post(path, data=b'{"dataFile": "x"}', headers=headers)
    else:
        response = client.post(path, data=b'{"dataFile": "x"}', content_type=content_type, headers=headers)
    _spring(
        response,
        415,
        "Unsupported Media Type",
        f"Content-Type '{shown}' is not supported",
        path[len("/aruba") :],
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Required request body is missing"),
        (b"null", "Required request body is missing"),
        (b'{"dataFile": ', "JSON parse error: Expecting value: line 1 column 14 (char 13)"),
        (b"\xff\xfe\x00", None),
        (b"1" * 5000, None),
        (b"[" * 100_000, "JSON parse error: the document is nested too deeply"),
        (
            b'{"dataFile": NaN}',
            "JSON parse error: Non-standard token 'NaN': enable JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS "
            "to allow",
        ),
        (b'{"dataFile": "\\ud800"}', None),
        (b'{"dataFile": Infinity}', None),
        (
            b"[]",
            "JSON parse error: Cannot deserialize value of type `UploadRequest` from Array value "
            "(token `JsonToken.START_ARRAY`)",
        ),
        (
            b'"x"',
            "JSON parse error: Cannot deserialize value of type `UploadRequest` from String value "
            "(token `JsonToken.VALUE_STRING`)",
        ),
        (
            b'{"dataFile": {"a": 1}}',
            "JSON parse error: Cannot deserialize value of type `java.lang.String` from Object value "
            "(token `JsonToken.START_OBJECT`)",
        ),
        (
            b'{"dataFile": "x", "domain": [1]}',
            "JSON parse error: Cannot deserialize value of type `java.lang.String` from Array value "
            "(token `JsonToken.START_ARRAY`)",
        ),
    ],
)
def test_an_unreadable_body_is_400(client: FlaskClient, data: bytes, message: str | None) -> None:
    response = client.post(UPLOAD, data=data, content_type="application/json", headers=bearer(token(client)))
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "Bad Request"
    assert body["path"] == "/services/invoice/upload"
    if message is None:
        assert body["message"].startswith("JSON parse error: ")
    else:
        assert body["message"] == message


def test_upload_signed_names_its_own_request_type(client: FlaskClient) -> None:
    response = client.post(
        UPLOAD_SIGNED, data=b"[1]", content_type="application/json", headers=bearer(token(client))
    )
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "JSON parse error: Cannot deserialize value of type `UploadSignedRequest` from Array value "
        "(token `JsonToken.START_ARRAY`)"
    )


@pytest.mark.parametrize("value", [12345, 1.5, 10**400, True, None])
def test_scalars_are_read_as_strings_and_unknown_fields_ignored(client: FlaskClient, value: Any) -> None:
    response = client.post(UPLOAD, json={"dataFile": value, "other": {"x": 1}}, headers=bearer(token(client)))
    assert response.status_code == 200
    assert response.get_json()["errorCode"] == "0002"


def test_a_json_subtype_and_a_charset_are_accepted(client: FlaskClient) -> None:
    payload = b'{"dataFile": "' + base64.b64encode(invoice()) + b'"}'
    response = client.post(
        UPLOAD, data=payload, content_type="application/json;charset=UTF-8", headers=bearer(token(client))
    )
    assert response.get_json()["errorCode"] == "0000"
    response = client.post(
        UPLOAD_SIGNED,
        data=b'{"dataFile": "dGVzdA=="}',
        content_type="application/vnd.aruba+json",
        headers=bearer(token(client)),
    )
    assert response.get_json()["errorCode"] == "0002"
