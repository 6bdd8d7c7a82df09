"""Aruba §6, financial communications: the two creations, the status ladder in virtual time, pdd."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree

from emulator.state import Sandbox
from tests.conftest import advance
from tests.providers.aruba.helpers import OTHER_VAT, SANDBOX_VAT, SANDBOX_VAT_2, invoice

BASE = "/aruba/services/ClientRequest"
CREATE = f"{BASE}/CreateTransmissionRequest"
CREATE_LIST = f"{BASE}/CreateTransmissionRequestList"
INFO = f"{BASE}/GetTransmissionInfoRequest"
PDD = f"{BASE}/pdd"
LIPE_NS = "urn:www.agenziaentrate.gov.it:specificheTecniche:sco:ivp"
DF_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v2.0"
RECEIPT_NS = "urn:fattura-sandbox:aruba:comunicazioni:ricevuta:v1.0"
SINCRO_NS = "http://www.uni.com/U3011/sincro/"
VALID_CUSTOMER = "01879020517"
INVALID_CUSTOMER = "01879020518"  # wrong check digit
INFO_KEYS = [
    "result",
    "notifyResult",
    "elaboratedResult",
    "receiptTimestamp",
    "fileID",
    "fileName",
    "pddAvailable",
    "error",
]
REQUEST_ID = re.compile(r"^[A-Z0-9]{16}$")
FILE_NAME = re.compile(r"^IT01879020517_(LI|DF)_[A-Z0-9]{5}\.xml$")
MINUTE, HOUR = 60, 3600


# -- communications ----------------------------------------------------------------------------------


def lipe(*, fiscal_code: str = SANDBOX_VAT, vat: str = SANDBOX_VAT, trigger: str | None = None) -> bytes:
    """A regular VAT payment communication (LIPE) of the sandbox account."""
    comment = f"<!-- SANDBOX:{trigger} -->" if trigger else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<iv:Fornitura xmlns:iv="{LIPE_NS}">{comment}
  <iv:Intestazione><iv:CodiceFornitura>IVP18</iv:CodiceFornitura></iv:Intestazione>
  <iv:Comunicazione identificativo="00001">
    <iv:Frontespizio>
      <iv:CodiceFiscale>{fiscal_code}</iv:CodiceFiscale>
      <iv:AnnoImposta>2026</iv:AnnoImposta>
      <iv:PartitaIVA>{vat}</iv:PartitaIVA>
      <iv:CFDichiarante>RMNLCU82B11D612S</iv:CFDichiarante>
      <iv:CodiceCaricaDichiarante>1</iv:CodiceCaricaDichiarante>
      <iv:FirmaDichiarazione>1</iv:FirmaDichiarazione>
    </iv:Frontespizio>
    <iv:DatiContabili>
      <iv:Modulo>
        <iv:NumeroModulo>1</iv:NumeroModulo>
        <iv:Mese>1</iv:Mese>
        <iv:TotaleOperazioniAttive>10000,00</iv:TotaleOperazioniAttive>
        <iv:TotaleOperazioniPassive>4000,00</iv:TotaleOperazioniPassive>
        <iv:IvaEsigibile>2200,00</iv:IvaEsigibile>
        <iv:IvaDetratta>880,00</iv:IvaDetratta>
        <iv:IvaDovuta>1320,00</iv:IvaDovuta>
      </iv:Modulo>
    </iv:DatiContabili>
  </iv:Comunicazione>
</iv:Fornitura>
""".encode()


def invoice_data(
    *,
    block: str = "DTE",
    own: str = SANDBOX_VAT,
    counterparty: str = VALID_CUSTOMER,
    trigger: str | None = None,
) -> bytes:
    """An invoice data communication (DatiFattura): invoices issued (DTE) or received (DTR)."""
    comment = f"<!-- SANDBOX:{trigger} -->" if trigger else ""
    ours, theirs = ("CedentePrestatore", "CessionarioCommittente")[:: 1 if block == "DTE" else -1]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ns2:DatiFattura xmlns:ns2="{DF_NS}" versione="DAT20">{comment}
  <DatiFatturaHeader><ProgressivoInvio>1</ProgressivoInvio></DatiFatturaHeader>
  <{block}>
    <{ours}{block}>
      <IdentificativiFiscali>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{own}</IdCodice></IdFiscaleIVA>
      </IdentificativiFiscali>
    </{ours}{block}>
    <{theirs}{block}>
      <IdentificativiFiscali>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{counterparty}</IdCodice></IdFiscaleIVA>
      </IdentificativiFiscali>
      <DatiFatturaBody{block}>
        <DatiGenerali><TipoDocumento>TD01</TipoDocumento><Data>2026-01-15</Data><Numero>1</Numero></DatiGenerali>
        <DatiRiepilogo>
          <ImponibileImporto>1000.00</ImponibileImporto>
          <DatiIVA><Imposta>220.00</Imposta><Aliquota>22.00</Aliquota></DatiIVA>
        </DatiRiepilogo>
      </DatiFatturaBody{block}>
    </{theirs}{block}>
  </{block}>
</ns2:DatiFattura>
""".encode()


def zipped(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- calls -----------------------------------------------------------------------------------------------


def create(
    client: FlaskClient,
    data: bytes | None,
    *,
    type_: str | None = "LI",
    user: str = "sandbox",
    path: str = CREATE,
    **extra: Any,
) -> Any:
    body: dict[str, Any] = {"userName": user, "password": user, "userID": user}
    if type_ is not None:
        body["comunicationType"] = type_
    if data is not None:
        body["dataFile"] = b64(data)
    body.update(extra)
    return client.post(path, json=body)


def accepted(client: FlaskClient, data: bytes, **kwargs: Any) -> str:
    response = create(client, data, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["errorCode"] == "", body
    request_id: str = body["requestID"]
    return request_id


def info(client: FlaskClient, request_id: str | None, *, user: str = "sandbox") -> dict[str, Any]:
    body: dict[str, Any] = {"userName": user, "password": user}
    if request_id is not None:
        body["requestID"] = request_id
    response = client.post(INFO, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    result: dict[str, Any] = response.get_json()
    assert list(result) == INFO_KEYS
    return result


def pdd(
    client: FlaskClient, request_id: str | None, *, user: str = "sandbox", password: str | None = None
) -> Any:
    body: dict[str, Any] = {"userName": user, "password": password or user}
    if request_id is not None:
        body["requestID"] = request_id
    return client.post(PDD, json=body)


def refused(code: str, description: str, *, listing: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"errorCode": code, "errorDescription": description, "requestID": None}
    if listing:
        body["requestIDList"] = None
    return body


def receipt_of(result: dict[str, Any]) -> etree._Element:
    root: etree._Element = etree.fromstring(base64.b64decode(result["notifyResult"]))
    return root


def receipt_errors(root: etree._Element) -> list[tuple[str | None, str | None]]:
    return [(e.findtext("Codice"), e.findtext("Descrizione")) for e in root.iter("Errore")]


@pytest.fixture
def sign(sandbox: Sandbox) -> Any:
    return sandbox.signer.make_p7m


# -- CreateTransmissionRequest ---------------------------------------------------------------------


def test_create_answers_the_documented_fields(client: FlaskClient, sign: Any) -> None:
    response = create(client, sign(lipe()))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["errorCode", "errorDescription", "requestID"]
    assert body["errorCode"] == "" and body["errorDescription"] == ""
    assert REQUEST_ID.match(body["requestID"])


def test_credentials_travel_in_the_body_not_in_a_bearer_token(client: FlaskClient, sign: Any) -> None:
    response = create(client, sign(lipe()))
    assert response.get_json()["errorCode"] == ""
    assert "Authorization" not in response.request.headers


def test_user_id_may_be_left_out(client: FlaskClient, sign: Any) -> None:
    body = {
        "userName": "sandbox",
        "password": "sandbox",
        "comunicationType": "LI",
        "dataFile": b64(sign(lipe())),
    }
    assert client.post(CREATE, json=body).get_json()["errorCode"] == ""


def test_both_communication_types_are_accepted(client: FlaskClient, sign: Any) -> None:
    li = accepted(client, sign(lipe(fiscal_code="RMNLCU82B11D612S", vat=SANDBOX_VAT_2)))
    df = accepted(client, sign(invoice_data()), type_="DF")
    dtr = accepted(client, sign(invoice_data(block="DTR")), type_="DF")
    assert info(client, li)["fileName"].split("_")[1] == "LI"
    assert info(client, df)["fileName"].split("_")[1] == "DF"
    assert info(client, dtr)["fileName"].split("_")[1] == "DF"


def test_base64_with_line_breaks_and_p7m_in_base64_are_read(client: FlaskClient, sign: Any) -> None:
    text = base64.encodebytes(sign(lipe())).decode("ascii")  # MIME lines of 76 characters
    body = {"userName": "sandbox", "password": "sandbox", "comunicationType": "LI", "dataFile": text}
    assert client.post(CREATE, json=body).get_json()["errorCode"] == ""
    assert create(client, sign(lipe(), encoding="base64")).get_json()["errorCode"] == ""


def test_ids_never_repeat(client: FlaskClient, sign: Any) -> None:
    request_ids = [accepted(client, sign(lipe())) for _ in range(5)]
    advance(client, 5 * MINUTE)
    infos = [info(client, request_id) for request_id in request_ids]
    assert len(set(request_ids)) == 5
    assert len({i["fileID"] for i in infos}) == 5
    assert len({i["fileName"] for i in infos}) == 5
    assert all(FILE_NAME.match(i["fileName"]) and i["fileID"].isdigit() for i in infos)


# -- the lifecycle ----------------------------------------------------------------------------------------


def test_a_request_goes_from_sf01_to_sf02_and_is_preserved(
    client: FlaskClient, sandbox: Sandbox, sign: Any
) -> None:
    request_id = accepted(client, sign(lipe()))
    first = info(client, request_id)
    assert first["result"] == "SF01" and first["error"] == "Being processed"
    assert first["notifyResult"] is None and first["elaboratedResult"] is None
    assert first["receiptTimestamp"] is None and first["fileID"] is None
    assert FILE_NAME.match(first["fileName"]) and first["pddAvailable"] is False

    advance(client, 5 * MINUTE - 1)
    assert info(client, request_id)["fileID"] is None
    advance(client, 1)  # the SDI receives the file
    transmitted = info(client, request_id)
    assert transmitted["result"] == "SF01"
    assert transmitted["receiptTimestamp"] == "2026-03-02T08:05:00.000+0000"
    assert transmitted["fileID"].isdigit() and transmitted["notifyResult"] is None

    advance(client, 55 * MINUTE - 1)
    assert info(client, request_id)["result"] == "SF01"
    advance(client, 1)  # the SDI's outcome, one hour after the request
    processed = info(client, request_id)
    assert processed["result"] == "SF02" and processed["error"] == "Processed"
    assert processed["elaboratedResult"] == "ES01"
    assert processed["fileID"] == transmitted["fileID"] and processed["fileName"] == first["fileName"]
    assert processed["pddAvailable"] is False
    receipt = receipt_of(processed)
    assert receipt.tag == f"{{{RECEIPT_NS}}}RicevutaComunicazione"
    assert receipt.findtext("IdentificativoFile") == transmitted["fileID"]
    assert receipt.findtext("NomeFile") == first["fileName"]
    assert receipt.findtext("TipoComunicazione") == "LI"
    assert receipt.findtext("DataOraRicezione") == "2026-03-02T09:05:00.000+01:00"
    assert receipt.findtext("DataOraElaborazione") == "2026-03-02T10:00:00.000+01:00"
    assert receipt.findtext("Esito") == "ES01" and receipt_errors(receipt) == []
    assert sandbox.signer.verify_xml(base64.b64decode(processed["notifyResult"]))

    advance(client, HOUR)  # preserved one hour after the outcome
    assert info(client, request_id)["pddAvailable"] is True


def test_es02_when_a_counterparty_vat_number_is_invalid(client: FlaskClient, sign: Any) -> None:
    issued = accepted(client, sign(invoice_data(counterparty=INVALID_CUSTOMER)), type_="DF")
    received = accepted(client, sign(invoice_data(block="DTR", counterparty=INVALID_CUSTOMER)), type_="DF")
    advance(client, HOUR)
    for request_id, code, who in (
        (issued, "00305", "cessionario/committente"),
        (received, "00301", "cedente/prestatore"),
    ):
        result = info(client, request_id)
        assert (result["result"], result["elaboratedResult"]) == ("SF02", "ES02")
        assert receipt_errors(receipt_of(result)) == [
            (code, f"IdFiscaleIVA del {who} non valido : {INVALID_CUSTOMER}")
        ]


@pytest.mark.parametrize(
    ("trigger", "outcome", "errors"),
    [
        ("ES01", "ES01", []),
        ("ES02", "ES02", [("00305", "IdFiscaleIVA del cessionario/committente non valido")]),
        ("ES03", "ES03", [("00200", "File non conforme al formato")]),
        ("ES03:00301", "ES03", [("00301", "IdFiscaleIVA del cedente/prestatore non valido")]),
        ("ES03:00999", "ES03", [("00999", "Errore 00999")]),
    ],
)
def test_each_outcome_can_be_forced(
    client: FlaskClient, sign: Any, trigger: str, outcome: str, errors: list[tuple[str, str]]
) -> None:
    request_id = accepted(client, sign(lipe(trigger=trigger)))
    advance(client, HOUR)
    result = info(client, request_id)
    # A rejected file (ES03) was processed all the same: SF02, the outcome says the SDI refused it.
    assert (result["result"], result["elaboratedResult"], result["error"]) == ("SF02", outcome, "Processed")
    receipt = receipt_of(result)
    assert receipt.findtext("Esito") == outcome
    assert receipt_errors(receipt) == errors
    advance(client, HOUR)
    assert info(client, request_id)["pddAvailable"] is True


def test_ar06_the_transmission_to_the_sdi_fails(client: FlaskClient, sign: Any) -> None:
    request_id = accepted(client, sign(lipe(trigger="AR06")))
    assert info(client, request_id)["result"] == "SF01"
    advance(client, 5 * MINUTE)
    result = info(client, request_id)
    assert result["result"] == "SF03"
    assert result["error"] == "AR06 - Transmission to SDI not executed"
    assert result["fileID"] is None and result["receiptTimestamp"] is None
    advance(client, 3 * HOUR)
    later = info(client, request_id)
    assert (later["result"], later["elaboratedResult"], later["pddAvailable"]) == ("SF03", None, False)
    assert pdd(client, request_id).status_code == 404


def test_ar07_the_sdi_outcome_never_arrives(client: FlaskClient, sign: Any) -> None:
    request_id = accepted(client, sign(lipe(trigger="AR07")))
    advance(client, 5 * MINUTE)
    transmitted = info(client, request_id)
    assert transmitted["result"] == "SF01" and transmitted["fileID"] is not None
    advance(client, 55 * MINUTE)
    result = info(client, request_id)
    assert result["result"] == "SF03"
    assert result["error"] == "AR07 - SDI result response not received"
    assert result["fileID"] == transmitted["fileID"]
    assert result["notifyResult"] is None and result["elaboratedResult"] is None
    advance(client, 3 * HOUR)
    assert info(client, request_id)["pddAvailable"] is False


# -- GetTransmissionInfoRequest errors ---------------------------------------------------------------------


def test_info_with_wrong_credentials_is_ar02(client: FlaskClient, sign: Any) -> None:
    request_id = accepted(client, sign(lipe()))
    response = client.post(INFO, json={"userName": "sandbox", "password": "wrong", "requestID": request_id})
    assert response.status_code == 200
    assert response.get_json() == {
        "result": "AR02",
        "notifyResult": None,
        "elaboratedResult": None,
        "receiptTimestamp": None,
        "fileID": None,
        "fileName": None,
        "pddAvailable": False,
        "error": "Access denied",
    }


@pytest.mark.parametrize("request_id", [None, "", "NOSUCHREQUEST000"])
def test_info_without_a_known_request_id_is_ar04(client: FlaskClient, request_id: str | None) -> None:
    result = info(client, request_id)
    assert (result["result"], result["error"], result["fileName"]) == ("AR04", "Request ID missing", None)


def test_another_accounts_request_does_not_exist(client: FlaskClient, sign: Any) -> None:
    request_id = accepted(client, sign(lipe()))
    advance(client, 2 * HOUR)
    assert info(client, request_id, user="other")["result"] == "AR04"
    response = pdd(client, request_id, user="other")
    assert response.status_code == 404
    assert response.get_json()["message"] == f"Request {request_id} not found"
    assert pdd(client, request_id).status_code == 200


# -- pdd -----------------------------------------------------------------------------------------------


def test_pdd_is_404_until_the_package_is_available(client: FlaskClient, sign: Any) -> None:
    request_id = accepted(client, sign(lipe()))
    advance(client, HOUR)  # processed, not preserved yet
    response = pdd(client, request_id)
    assert response.status_code == 404
    body = response.get_json()
    assert body["status"] == 404 and body["error"] == "Not Found"
    assert body["message"] == f"The preservation package of request {request_id} is not available"
    assert body["path"] == "/services/ClientRequest/pdd"
    advance(client, HOUR)
    assert pdd(client, request_id).status_code == 200


def test_pdd_holds_the_file_its_receipt_and_an_index(client: FlaskClient, sign: Any) -> None:
    sent = sign(lipe())
    request_id = accepted(client, sent)
    advance(client, 2 * HOUR)
    result = info(client, request_id)
    stem = result["fileName"].removesuffix(".xml")
    response = pdd(client, request_id)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{stem}.conservazione.zip"'
    assert response.headers["Accept-Ranges"] == "bytes"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == [f"{stem}.xml.p7m", f"{stem}_ES_001.xml", "indice.xml"]
    assert archive.read(f"{stem}.xml.p7m") == sent
    assert archive.read(f"{stem}_ES_001.xml") == base64.b64decode(result["notifyResult"])
    index = etree.fromstring(archive.read("indice.xml"))
    assert index.tag == f"{{{SINCRO_NS}}}IdC"
    hashes = {
        f.findtext(f"{{{SINCRO_NS}}}ID"): f.findtext(f"{{{SINCRO_NS}}}Hash")
        for f in index.iter(f"{{{SINCRO_NS}}}File")
    }
    assert hashes == {
        name: base64.b64encode(hashlib.sha256(archive.read(name)).digest()).decode()
        for name in archive.namelist()[:2]
    }


def test_pdd_errors(client: FlaskClient, sign: Any) -> None:
    request_id = accepted(client, sign(lipe()))
    advance(client, 2 * HOUR)
    wrong = pdd(client, request_id, password="wrong")
    assert wrong.status_code == 401
    assert wrong.get_json()["error"] == "unauthorized"
    missing = pdd(client, None)
    assert missing.status_code == 400
    assert missing.get_json()["message"] == "Request ID missing"
    unknown = pdd(client, "NOSUCHREQUEST000")
    assert unknown.status_code == 404
    assert unknown.get_json()["message"] == "Request NOSUCHREQUEST000 not found"


# -- CreateTransmissionRequestList -----------------------------------------------------------------------


def test_list_gives_an_id_to_the_zip_and_to_each_file(client: FlaskClient, sign: Any) -> None:
    names = [
        "ITADFSREETDSD_LI_0001.xml.p7m",
        "ITADFSREETDSD_LI_0002.xml.p7m",
        "ITADFSREETDSD_LI_0003.xml.p7m",
    ]
    archive = zipped([(name, sign(lipe())) for name in names])
    response = create(client, archive, path=CREATE_LIST)
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["errorCode", "errorDescription", "requestID", "requestIDList"]
    assert (body["errorCode"], body["errorDescription"]) == ("", "")
    assert [item["fileName"] for item in body["requestIDList"]] == names
    assert all(list(item) == ["fileName", "requestID"] for item in body["requestIDList"])
    ids = [body["requestID"], *(item["requestID"] for item in body["requestIDList"])]
    assert len(set(ids)) == 4 and all(REQUEST_ID.match(i) for i in ids)
    advance(client, 5 * MINUTE)
    files = [info(client, item["requestID"]) for item in body["requestIDList"]]
    assert len({f["fileName"] for f in files}) == 3 and len({f["fileID"] for f in files}) == 3


def test_the_zip_request_sums_up_its_files(client: FlaskClient, sign: Any) -> None:
    archive = zipped(
        [
            ("a.xml.p7m", sign(invoice_data())),
            ("b.xml.p7m", sign(invoice_data(counterparty=INVALID_CUSTOMER))),
        ]
    )
    body = create(client, archive, type_="DF", path=CREATE_LIST).get_json()
    zip_id = body["requestID"]
    pending = info(client, zip_id)
    assert (pending["result"], pending["fileName"], pending["fileID"]) == ("SF01", None, None)
    advance(client, HOUR)
    done = info(client, zip_id)
    assert (done["result"], done["elaboratedResult"], done["pddAvailable"]) == ("SF02", "ES02", False)
    assert done["notifyResult"] is None and done["receiptTimestamp"] is None
    assert [info(client, i["requestID"])["elaboratedResult"] for i in body["requestIDList"]] == [
        "ES01",
        "ES02",
    ]
    assert pdd(client, zip_id).status_code == 404
    advance(client, HOUR)
    assert info(client, zip_id)["pddAvailable"] is True
    response = pdd(client, zip_id)
    assert response.headers["Content-Disposition"] == f'attachment; filename="{zip_id}.conservazione.zip"'
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert len(names) == 5 and names[-1] == "indice.xml"
    assert sum(name.endswith(".xml.p7m") for name in names) == 2
    child = pdd(client, body["requestIDList"][0]["requestID"])
    assert len(zipfile.ZipFile(io.BytesIO(child.data)).namelist()) == 3


def test_a_failed_file_makes_the_zip_request_sf03(client: FlaskClient, sign: Any) -> None:
    archive = zipped([("ok.xml.p7m", sign(lipe())), ("ko.xml.p7m", sign(lipe(trigger="AR06")))])
    zip_id = create(client, archive, path=CREATE_LIST).get_json()["requestID"]
    advance(client, 2 * HOUR)
    result = info(client, zip_id)
    assert result["result"] == "SF03"
    assert result["error"] == "AR06 - Transmission to SDI not executed (ko.xml.p7m)"
    assert result["pddAvailable"] is True  # the file that was processed is preserved
    names = zipfile.ZipFile(io.BytesIO(pdd(client, zip_id).data)).namelist()
    assert len(names) == 3


def test_a_zip_signed_as_a_whole_may_hold_plain_xml(client: FlaskClient, sign: Any) -> None:
    archive = sign(zipped([("one.xml", lipe()), ("two.xml", lipe())]))
    body = create(client, archive, path=CREATE_LIST).get_json()
    assert body["errorCode"] == "" and len(body["requestIDList"]) == 2
    advance(client, 2 * HOUR)
    first = body["requestIDList"][0]["requestID"]
    stem = info(client, first)["fileName"].removesuffix(".xml")
    package = zipfile.ZipFile(io.BytesIO(pdd(client, first).data))
    assert package.namelist()[0] == f"{stem}.xml" and package.read(f"{stem}.xml") == lipe()


# -- refusals: one per code ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CREATE, CREATE_LIST])
def test_ar01_attached_file_empty_or_missing(client: FlaskClient, path: str) -> None:
    listing = path == CREATE_LIST
    expected = refused(
        "AR01", "Attached file empty or missing: dataFile is empty or missing", listing=listing
    )
    assert create(client, None, path=path).get_json() == expected
    assert create(client, b"", path=path).get_json() == expected
    assert create(client, None, path=path, dataFile="  ").get_json() == expected


def test_ar01_a_zip_without_files(client: FlaskClient, sign: Any) -> None:
    response = create(client, sign(zipped([])), path=CREATE_LIST)
    assert response.get_json() == refused(
        "AR01", "Attached file empty or missing: the zip archive contains no files", listing=True
    )


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"user": "nobody"}, CREATE),
        ({"password": "wrong"}, CREATE),
        ({"userName": None}, CREATE),
        ({"password": None}, CREATE_LIST),
        ({"userName": 42}, CREATE_LIST),
    ],
)
def test_ar02_access_denied(client: FlaskClient, sign: Any, kwargs: dict[str, Any], path: str) -> None:
    response = create(client, sign(lipe()), path=path, **kwargs)
    assert response.status_code == 200
    assert response.get_json() == refused("AR02", "Access denied", listing=path == CREATE_LIST)


def test_ar02_another_providers_account_is_no_aruba_user(client: FlaskClient, sign: Any) -> None:
    body = {"userName": "sandbox@example.com", "password": "sandbox", "comunicationType": "LI"}
    response = client.post(CREATE, json={**body, "dataFile": b64(sign(lipe()))})
    assert response.get_json()["errorCode"] == "AR02"


def corrupted_zip() -> bytes:
    noise = b"".join(hashlib.sha256(str(n).encode()).digest() for n in range(100))  # incompressible
    data = bytearray(zipped([("a.xml.p7m", noise)]))
    data[100:120] = b"\xff" * 20  # inside the compressed data of the only entry
    return bytes(data)


def duplicated(content: bytes) -> bytes:
    data = zipped([("a.xml.p7m", content), ("b.xml.p7m", content)])
    return data.replace(b"b.xml.p7m", b"a.xml.p7m")


def bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.xml.p7m", b"\0" * (6 * 1024 * 1024))
    return buffer.getvalue()


def forged_size_bomb() -> bytes:
    """A zip whose headers claim a tiny file that expands to 6 MB."""
    data = bytearray(bomb())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature)
        data[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    return bytes(data)


@pytest.mark.parametrize(
    ("make", "description"),
    [
        (lambda sign: None, "Incorrect file: dataFile is not valid Base64"),
        (
            lambda sign: b"%PDF-1.7 not a communication",
            "Incorrect file: the file is neither signed (p7m) nor XML",
        ),
        (
            lambda sign: sign(b"hello"),
            "Incorrect file: XML not well-formed: Start tag expected, '<' not found",
        ),
        (
            lambda sign: sign(invoice()),
            "Incorrect file: the root element {http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2}"
            "FatturaElettronica is not a financial communication (Fornitura or DatiFattura)",
        ),
        (
            lambda sign: sign(lipe().replace(b"<iv:AnnoImposta>2026</iv:AnnoImposta>", b"")),
            f"Incorrect file: Element '{{{LIPE_NS}}}Frontespizio': Missing child element(s). "
            f"Expected is ( {{{LIPE_NS}}}AnnoImposta ).",
        ),
        (
            lambda sign: sign(lipe(vat="IT20493810483")),
            f"Incorrect file: Element '{{{LIPE_NS}}}PartitaIVA': [facet 'pattern'] The value 'IT20493810483' "
            "is not accepted by the pattern '[0-9]{11}'.",
        ),
        (
            lambda sign: sign(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'),
            "Incorrect file: DOCTYPE/ENTITY declarations are not allowed (no DTDs in uploaded XML)",
        ),
    ],
)
def test_ar03_incorrect_file(client: FlaskClient, sign: Any, make: Any, description: str) -> None:
    data = make(sign)
    response = create(client, data) if data is not None else create(client, None, dataFile="not*base64")
    body = response.get_json()
    assert (body["errorCode"], body["requestID"]) == ("AR03", None)
    assert body["errorDescription"].startswith(description), body["errorDescription"]


def test_ar03_invoice_data_structure(client: FlaskClient, sign: Any) -> None:
    no_version = invoice_data().replace(b' versione="DAT20"', b"")
    both = invoice_data().replace(b"</DTE>", b"</DTE><ANN><IdFile>1</IdFile><Posizione>1</Posizione></ANN>")
    no_party = re.sub(rb"<CedentePrestatoreDTE>.*?</CedentePrestatoreDTE>", b"", invoice_data(), flags=re.S)
    root = f"{{{DF_NS}}}DatiFattura"
    cases = [
        (no_version, f"Incorrect file: Element '{root}': The attribute 'versione' is required but missing."),
        (
            both,
            f"Incorrect file: Element '{root}': exactly one of the elements DTE, DTR and ANN is expected.",
        ),
        (
            no_party,
            "Incorrect file: Element 'DTE': Missing child element(s). Expected is ( CedentePrestatoreDTE ).",
        ),
    ]
    for data, description in cases:
        assert create(client, sign(data), type_="DF").get_json() == refused("AR03", description)


def test_a_cancellation_has_no_taxpayer_to_check(client: FlaskClient, sign: Any) -> None:
    cancellation = f"""<ns2:DatiFattura xmlns:ns2="{DF_NS}" versione="DAT20">
      <ANN><IdFile>123456789</IdFile><Posizione>1</Posizione></ANN></ns2:DatiFattura>""".encode()
    assert create(client, sign(cancellation), type_="DF").get_json()["errorCode"] == ""


@pytest.mark.parametrize(
    ("archive", "description"),
    [
        (lambda sign: sign(lipe()), "Incorrect file: dataFile is not a zip archive"),
        (
            lambda sign: zipped([("a.txt", sign(lipe()))]),
            "Incorrect file: a.txt: only .xml and .xml.p7m files are allowed",
        ),
        (
            lambda sign: duplicated(sign(lipe())),
            "Incorrect file: the zip archive contains a.xml.p7m more than once",
        ),
        (
            lambda sign: zipped([("a" * 252 + ".xml", b"x")]),
            "Incorrect file: a file name in the zip archive is longer than 255",
        ),
        (
            lambda sign: zipped([(f"{n}.xml.p7m", b"x") for n in range(101)]),
            "Incorrect file: the zip archive has more than 100 files",
        ),
        (
            lambda sign: bomb(),
            "Incorrect file: bomb.xml.p7m: the zip archive expands beyond the limits "
            "(5242880 bytes a file, 20971520 bytes in all)",
        ),
        (
            lambda sign: forged_size_bomb(),
            "Incorrect file: the zip archive cannot be read (Bad CRC-32 for file 'bomb.xml.p7m')",
        ),
        (lambda sign: corrupted_zip(), "Incorrect file: the zip archive cannot be read ("),
        (
            lambda sign: zipped([("a.xml.p7m", sign(lipe())), ("b.xml.p7m", sign(b"<x/>"))]),
            "Incorrect file: b.xml.p7m: the root element x is not a financial communication",
        ),
    ],
)
def test_ar03_incorrect_zip(client: FlaskClient, sign: Any, archive: Any, description: str) -> None:
    body = create(client, archive(sign), path=CREATE_LIST).get_json()
    assert (body["errorCode"], body["requestID"], body["requestIDList"]) == ("AR03", None, None)
    assert body["errorDescription"].startswith(description), body["errorDescription"]


def test_ar05_remote_signature_missing(client: FlaskClient, sign: Any) -> None:
    assert create(client, sign(lipe(trigger="AR05"))).get_json() == refused(
        "AR05", "Remote signature missing: SANDBOX trigger"
    )


def test_ar08_incorrect_signature(client: FlaskClient, sign: Any) -> None:
    tampered = sign(lipe()).replace(b"10000,00", b"90000,00")
    body = create(client, tampered).get_json()
    assert (body["errorCode"], body["requestID"]) == ("AR08", None)
    assert body["errorDescription"].startswith("Incorrect signature: the CAdES signature does not verify (")
    listing = create(client, zipped([("a.xml.p7m", tampered)]), path=CREATE_LIST).get_json()
    assert listing["errorCode"] == "AR08"
    assert listing["errorDescription"].startswith("Incorrect signature: a.xml.p7m: the CAdES signature")


def test_ar09_third_party_transmission_not_permitted(client: FlaskClient, sign: Any) -> None:
    foreign = create(client, sign(lipe(fiscal_code=OTHER_VAT, vat=OTHER_VAT))).get_json()
    assert foreign == refused(
        "AR09",
        f"Third-party transmission not permitted: the taxpayer {OTHER_VAT} of the communication is not a "
        "subject of user sandbox",
    )
    # The same file is the other account's own.
    assert (
        create(client, sign(lipe(fiscal_code=OTHER_VAT, vat=OTHER_VAT)), user="other").get_json()["errorCode"]
        == ""
    )
    as_other = create(client, sign(lipe()), userID="other").get_json()
    assert as_other == refused(
        "AR09", "Third-party transmission not permitted: userID other is not the user sandbox"
    )
    listed = create(
        client, zipped([("x.xml.p7m", sign(invoice_data(own=OTHER_VAT)))]), type_="DF", path=CREATE_LIST
    )
    assert listed.get_json()["errorDescription"] == (
        "Third-party transmission not permitted: x.xml.p7m: "
        f"the taxpayer {OTHER_VAT} of the communication is not a subject of user sandbox"
    )


def test_ar10_maximum_number_reached(client: FlaskClient, sign: Any) -> None:
    assert create(client, sign(lipe(trigger="AR10"))).get_json() == refused(
        "AR10", "Maximum number of invoices and financial communications reached: SANDBOX trigger"
    )


@pytest.mark.parametrize(
    ("type_", "data", "description"),
    [
        (None, lipe(), "Incorrect Communication Type: comunicationType is missing; expected LI or DF"),
        ("XX", lipe(), "Incorrect Communication Type: comunicationType is 'XX'; expected LI or DF"),
        ("li", lipe(), "Incorrect Communication Type: comunicationType is 'li'; expected LI or DF"),
        (
            "DF",
            lipe(),
            "Incorrect Communication Type: comunicationType is DF but the file is a communication of "
            "regular VAT payments (LI)",
        ),
        (
            "LI",
            invoice_data(),
            "Incorrect Communication Type: comunicationType is LI but the file is a communication of "
            "invoice data (DF)",
        ),
    ],
)
def test_ar20_incorrect_communication_type(
    client: FlaskClient, sign: Any, type_: str | None, data: bytes, description: str
) -> None:
    assert create(client, sign(data), type_=type_).get_json() == refused("AR20", description)


def test_ar21_file_not_signed(client: FlaskClient, sign: Any) -> None:
    assert create(client, lipe()).get_json() == refused("AR21", "File not signed")
    listing = create(client, zipped([("a.xml.p7m", sign(lipe())), ("b.xml", lipe())]), path=CREATE_LIST)
    assert listing.get_json() == refused("AR21", "File not signed: b.xml", listing=True)


def test_ar99_generic_error(client: FlaskClient, sign: Any) -> None:
    assert create(client, sign(lipe(trigger="AR99"))).get_json() == refused(
        "AR99", "Generic error: SANDBOX trigger"
    )


def test_a_refused_request_leaves_nothing_behind(client: FlaskClient, sign: Any) -> None:
    create(client, lipe())
    create(client, zipped([("a.xml.p7m", sign(lipe())), ("b.xml", lipe())]), path=CREATE_LIST)
    request_id = accepted(client, sign(lipe()))
    advance(client, 5 * MINUTE)
    assert info(client, request_id)["fileID"] is not None


# -- HTTP errors ---------------------------------------------------------------------------------------


def test_a_file_over_5_mb_is_413(client: FlaskClient) -> None:
    size = 5 * 1024 * 1024 + 1
    text = "A" * (4 * -(-size // 3))
    body = {"userName": "sandbox", "password": "sandbox", "comunicationType": "LI", "dataFile": text}
    response = client.post(CREATE, json=body)
    assert response.status_code == 413
    error = response.get_json()
    assert error["error"] == "Request Entity Too Large"
    assert error["message"] == (
        f"Maximum upload size exceeded: the file is {len(text) * 3 // 4} bytes, "
        "the SLA allows 5 MB (5242880 bytes)"
    )


def test_the_body_must_be_json(client: FlaskClient) -> None:
    response = client.post(CREATE, data="userName=sandbox", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    message = response.get_json()["message"]
    assert message == "Content-Type 'application/x-www-form-urlencoded' is not supported"
    empty = client.post(INFO, data=b"", content_type="application/json")
    assert empty.status_code == 400
    assert empty.get_json()["message"] == "Required request body is missing"
    broken = client.post(PDD, data=b"{", content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json()["message"].startswith("JSON parse error: ")


@pytest.mark.parametrize("path", [CREATE, CREATE_LIST, INFO, PDD])
def test_wrong_json_types_are_400(client: FlaskClient, path: str) -> None:
    response = client.post(path, json={"userName": {"a": 1}, "password": "sandbox"})
    assert response.status_code == 400
    assert response.get_json()["message"].startswith(
        "JSON parse error: Cannot deserialize value of type `java.lang.String` from Object value"
    )
    listed = client.post(path, json=["sandbox"])
    assert listed.status_code == 400
    assert listed.get_json()["message"].startswith("JSON parse error: Cannot deserialize value of type")


def test_scalars_are_read_as_text(client: FlaskClient, sign: Any) -> None:
    body = create(client, sign(lipe()), comunicationType=12).get_json()
    assert body == refused(
        "AR20", "Incorrect Communication Type: comunicationType is '12'; expected LI or DF"
    )
    huge = client.post(INFO, json={"userName": "sandbox", "password": "sandbox", "requestID": 10**300})
    assert huge.get_json()["result"] == "AR04"


@pytest.mark.parametrize("path", [CREATE, CREATE_LIST, INFO, PDD])
def test_only_post_is_allowed(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
