"""Aruba §8.4/§9.3 getZipByFilename and §8.6/§9.6 pdd: an invoice and its notifications as zips."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile

import pytest
from flask.testing import FlaskClient
from lxml import etree

from emulator.config import Config
from emulator.providers.aruba import records
from emulator.state import Sandbox
from tests.conftest import advance, make_config
from tests.providers.aruba.finding_helpers import (
    Sent,
    assert_spring_error,
    force,
    get,
    open_zip,
    received,
    row_id,
    sent,
)
from tests.providers.aruba.helpers import OTHER_VAT, token

SINCRO = {"sincro": "http://www.uni.com/U3011/sincro/"}


@pytest.fixture
def config() -> Config:
    return make_config(aruba_sla=False)


def stem(made: Sent) -> str:
    return made.filename.removesuffix(".p7m").removesuffix(".xml")


def file_of(client: FlaskClient, tok: str, direction: str, invoice_id: str | int) -> bytes:
    body = get(client, tok, f"/invoice/{direction}/{invoice_id}").get_json()
    return base64.b64decode(body["file"])


def notification_files(
    client: FlaskClient, tok: str, direction: str, invoice_id: str | int
) -> dict[str, bytes]:
    body = get(client, tok, f"/notification/{direction}/{invoice_id}").get_json()
    return {n["filename"]: base64.b64decode(n["file"]) for n in body["notifications"]}


def test_zip_of_a_sent_invoice_and_its_notifications(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1, signed=True)
    advance(client, 120)
    tok = token(client)
    response = get(client, tok, "/invoice/out/getZipByFilename", filename=made.filename)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{made.filename}.zip"'
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == str(len(response.data))
    entries = open_zip(response.data)
    assert list(entries) == [made.filename, f"{stem(made)}_RC_001.xml"]
    assert entries[made.filename] == file_of(client, tok, "out", made.id)
    assert {name: entries[name] for name in list(entries)[1:]} == notification_files(
        client, tok, "out", made.id
    )
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        # Each file carries the instant it was stored, in Rome.
        assert [info.date_time for info in archive.infolist()] == [
            (2026, 3, 2, 9, 0, 0),
            (2026, 3, 2, 9, 2, 0),
        ]


def test_zip_of_a_received_invoice_has_its_metadata(client: FlaskClient, sandbox: Sandbox) -> None:
    delivered = received(client, signed=True)[0]
    tok = token(client)
    response = get(client, tok, "/invoice/in/getZipByFilename", filename=delivered["file_name"])
    assert response.status_code == 200
    entries = open_zip(response.data)
    assert list(entries) == [delivered["file_name"], delivered["metadata_file_name"]]
    assert b"FileMetadati" in entries[delivered["metadata_file_name"]]
    received_id = row_id(sandbox, delivered["file_name"], "in")
    assert entries[delivered["file_name"]] == file_of(client, tok, "in", received_id)


def test_zip_of_a_file_aruba_still_holds(client: FlaskClient, sandbox: Sandbox) -> None:
    waiting = sent(sandbox, seed=1, handed=False, status=records.TAKEN_IN_CHARGE)
    response = get(client, token(client), "/invoice/out/getZipByFilename", filename=waiting.filename)
    assert list(open_zip(response.data)) == [waiting.filename]


def test_a_range_of_the_zip(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1)
    tok = token(client)
    whole = get(client, tok, "/invoice/out/getZipByFilename", filename=made.filename).data
    response = client.get(
        "/aruba/services/invoice/out/getZipByFilename",
        query_string={"filename": made.filename},
        headers={"Authorization": f"Bearer {tok}", "Range": "bytes=0-9"},
    )
    assert response.status_code == 206
    assert response.data == whole[:10]
    assert response.headers["Content-Range"] == f"bytes 0-9/{len(whole)}"


@pytest.mark.parametrize("asked", ["bytes=abc", "bytes=999999-"])
def test_a_range_it_cannot_give_is_416_with_the_length(
    client: FlaskClient, sandbox: Sandbox, asked: str
) -> None:
    made = sent(sandbox, seed=1)
    tok = token(client)
    whole = get(client, tok, "/invoice/out/getZipByFilename", filename=made.filename).data
    response = client.get(
        "/aruba/services/invoice/out/getZipByFilename",
        query_string={"filename": made.filename},
        headers={"Authorization": f"Bearer {tok}", "Range": asked},
    )
    assert response.status_code == 416
    assert response.get_json()["error"] == "Requested Range Not Satisfiable"
    assert response.headers["Content-Range"] == f"bytes */{len(whole)}"


@pytest.mark.parametrize("direction", ["out", "in"])
def test_zip_errors(client: FlaskClient, sandbox: Sandbox, direction: str) -> None:
    theirs = sent(sandbox, tenant="other", seed=1, supplier_vat=OTHER_VAT)
    tok = token(client)
    path = f"/services/invoice/{direction}/getZipByFilename"
    assert_spring_error(
        get(client, tok, f"/invoice/{direction}/getZipByFilename"),
        400,
        "Required request parameter 'filename' for method parameter type String is not present",
        path,
    )
    assert_spring_error(
        get(client, tok, f"/invoice/{direction}/getZipByFilename", filename=theirs.filename),
        404,
        f"Invoice not found: filename {theirs.filename}",
        path,
    )
    assert client.get(f"/aruba{path}?filename={theirs.filename}").status_code == 401


# -- pdd -------------------------------------------------------------------------------------------


def index_of(entries: dict[str, bytes], name: str) -> etree._Element:
    root = etree.fromstring(entries[name])
    assert etree.QName(root).localname == "IdC"
    return root


def test_preservation_package_of_a_sent_invoice(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1, signed=True, pa=True, customer_vat=OTHER_VAT)
    advance(client, 120)
    force(client, made.filename, "NE_EC01")
    tok = token(client)
    response = get(client, tok, "/invoice/out/pdd", invoiceFilename=made.filename)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{stem(made)}.conservazione.zip"'
    assert response.headers["Accept-Ranges"] == "bytes"
    assert made.filename.endswith(".xml.p7m")
    entries = open_zip(response.data)
    index_name = f"IdC_{stem(made)}.xml"
    assert list(entries) == [
        made.filename,
        f"{stem(made)}_RC_001.xml",
        f"{stem(made)}_NE_001.xml",
        index_name,
    ]
    assert entries[made.filename] == file_of(client, tok, "out", made.id)
    root = index_of(entries, index_name)
    files = root.findall("sincro:FileGroup/sincro:File", SINCRO)
    assert [f.findtext("sincro:Path", namespaces=SINCRO) for f in files] == list(entries)[:-1]
    for item in files:
        path = item.findtext("sincro:Path", namespaces=SINCRO)
        assert path is not None
        hash_element = item.find("sincro:Hash", SINCRO)
        assert hash_element is not None
        assert hash_element.get(f"{{{SINCRO['sincro']}}}function") == "SHA-256"
        assert hash_element.text == base64.b64encode(hashlib.sha256(entries[path]).digest()).decode()
    assert files[0].get(f"{{{SINCRO['sincro']}}}format") == "application/pkcs7-mime"
    # Preserved when its latest file (the NE, forced at 09:02) was stored.
    stamp = root.findtext("sincro:Process/sincro:TimeReference/sincro:AttachedTimeStamp", namespaces=SINCRO)
    assert stamp == "2026-03-02T09:02:00+01:00"
    assert root.findtext(
        "sincro:Process/sincro:Agent/sincro:AgentName/sincro:FormalName", namespaces=SINCRO
    ) == ("Aruba PEC S.p.A.")
    # By id: the same package, byte for byte, even later.
    advance(client, 3600)
    tok = token(client)
    assert get(client, tok, "/invoice/out/pdd", invoiceId=str(made.id)).data == response.data
    both = get(client, tok, "/invoice/out/pdd", invoiceId=str(made.id), invoiceFilename=made.filename)
    assert both.data == response.data


def test_preservation_package_of_a_received_invoice(client: FlaskClient, sandbox: Sandbox) -> None:
    delivered = received(client, signed=True)[0]
    received_id = row_id(sandbox, delivered["file_name"], "in")
    response = get(client, token(client), "/invoice/in/pdd", invoiceId=str(received_id))
    assert response.status_code == 200
    name = delivered["file_name"].removesuffix(".xml.p7m")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}.conservazione.zip"'
    assert list(open_zip(response.data)) == [
        delivered["file_name"],
        delivered["metadata_file_name"],
        f"IdC_{name}.xml",
    ]


def test_no_preservation_package_before_the_sdi_has_the_file(client: FlaskClient, sandbox: Sandbox) -> None:
    waiting = sent(sandbox, seed=1, handed=False, status=records.TAKEN_IN_CHARGE)
    tok = token(client)
    assert get(client, tok, f"/invoice/out/{waiting.id}").get_json()["pddAvailable"] is False
    assert_spring_error(
        get(client, tok, "/invoice/out/pdd", invoiceId=str(waiting.id)),
        404,
        f"The preservation package of the invoice {waiting.filename} is not available",
        "/services/invoice/out/pdd",
    )


@pytest.mark.parametrize("direction", ["out", "in"])
def test_pdd_parameters(client: FlaskClient, sandbox: Sandbox, direction: str) -> None:
    made = sent(sandbox, seed=1)
    theirs = sent(sandbox, tenant="other", seed=2, supplier_vat=OTHER_VAT)
    tok = token(client)
    path = f"/services/invoice/{direction}/pdd"
    assert_spring_error(
        get(client, tok, f"/invoice/{direction}/pdd"),
        400,
        "One of the request parameters 'invoiceFilename' and 'invoiceId' is mandatory",
        path,
    )
    assert_spring_error(
        get(client, tok, f"/invoice/{direction}/pdd", invoiceId="x"),
        400,
        "Method parameter 'invoiceId': Failed to convert value of type 'java.lang.String' to required type "
        "'java.lang.Long'; For input string: \"x\"",
        path,
    )
    assert_spring_error(
        get(client, tok, f"/invoice/{direction}/pdd", invoiceId=str(theirs.id)),
        404,
        f"Invoice not found: id {theirs.id}",
        path,
    )
    wrong_pair = {"invoiceFilename": made.filename, "invoiceId": str(theirs.id)}
    assert_spring_error(
        get(client, tok, f"/invoice/{direction}/pdd", **wrong_pair),
        404,
        f"Invoice not found: filename {made.filename}, id {theirs.id}",
        path,
    )
