"""Building blocks for the Easy Tracking passive cycle tests: incoming invoices, lists, jobs, zips, p7m.

The p7m content is read back with asn1crypto directly, independently of emulator.sdi.signing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import pytest
from asn1crypto import cms
from flask.testing import FlaskClient
from lxml import etree
from werkzeug.test import TestResponse

from tests.conftest import XSD_DIR, advance
from tests.providers.easytracking.helpers import bearer

BASE = "/easytracking/api"
ROUTES = [f"v{n}" for n in range(2, 11)]
ENCODINGS = ("der", "ber", "base64", "base64x2")
SELECT_FLAGS = {
    "fatturaOriginale": "FA",
    "metadatoSDI": "MT",
    "fatturaNonFirmata": "FU",
    "fatturaIntermediario": "FI",
}
XMLDSIG_URL = "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd"
FPA_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
B2B_MSG_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fattura/messaggi/v1.0"
PA_MSG_NS = "http://www.fatturapa.gov.it/sdi/messaggi/v1.0"

# The SDI file name (IT01234567890_a1B2c.xml[.p7m]) and the shapes of the files in a job's zip.
SDI_NAME = r"[A-Z]{2}[A-Za-z0-9]{1,28}_[A-Za-z0-9]{1,5}\.xml(?:\.p7m)?"
FA_RE = re.compile(rf"^(?P<stamp>\d{{8}}_\d{{9}})\.(?P<hex>[0-9a-f]{{2}})_(?P<sdi>{SDI_NAME})$")
FU_RE = re.compile(r"^IT02470300373_(?P<n>\d{7})\.xml$")
FI_RE = re.compile(r"^IT02470300373_(?P<n>\d{7})_FI\.xml$")
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# -- control API ------------------------------------------------------------------------------------


def incoming(client: FlaskClient, recipient: str, **fields: Any) -> list[dict[str, Any]]:
    """POST /_sandbox/incoming-invoices; the created invoices."""
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": recipient, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    invoices: list[dict[str, Any]] = response.get_json()["invoices"]
    return invoices


def control_message(response: TestResponse) -> str:
    """The control API's error text ({"error": {"code", "message"}})."""
    body = response.get_json()
    assert isinstance(body, dict) and "error" in body, response.get_data(as_text=True)
    message: str = body["error"]["message"]
    return message


# -- Easy Tracking calls ----------------------------------------------------------------------------


def message(response: TestResponse) -> str:
    """Easy Tracking's documented error text ({"message": <errore>})."""
    body = response.get_json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str), response.get_data(as_text=True)
    text: str = body["message"]
    return text


def passive(client: FlaskClient, tok: str, route: str = "v10", **query: str) -> TestResponse:
    return client.get(
        f"{BASE}/{route}/DownloadInvoices/passive-invoices", query_string=query, headers=bearer(tok)
    )


def listed(client: FlaskClient, tok: str, route: str = "v10", **query: str) -> list[dict[str, Any]]:
    response = passive(client, tok, route, **query)
    assert response.status_code == 200, (query, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"invoices", "total"}
    assert body["total"] == len(body["invoices"])
    items: list[dict[str, Any]] = body["invoices"]
    return items


def ids_of(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


def book_response(
    client: FlaskClient, tok: str, doc_ids: list[Any], route: str = "v10", **select: Any
) -> TestResponse:
    kind = "jobs-select-type" if select else "jobs"
    return client.post(
        f"{BASE}/{route}/DownloadInvoices/{kind}", json={"docIds": doc_ids, **select}, headers=bearer(tok)
    )


def book(client: FlaskClient, tok: str, doc_ids: list[int], route: str = "v10", **select: Any) -> str:
    response = book_response(client, tok, doc_ids, route, **select)
    assert response.status_code == 202, response.get_data(as_text=True)
    job: str = response.get_json()["jobId"]
    assert GUID_RE.fullmatch(job), job
    return job


def job_url(job: str, route: str = "v10") -> str:
    return f"{BASE}/{route}/DownloadInvoices/jobs/{job}"


def fase(client: FlaskClient, tok: str, action: str, doc_ids: list[Any], route: str = "v10") -> TestResponse:
    """``action`` is e.g. "set-fase-1" or "clear-fase-2"."""
    return client.post(
        f"{BASE}/{route}/PassiveInvoices/{action}", json={"docIds": doc_ids}, headers=bearer(tok)
    )


@dataclass
class Archive:
    """A downloaded job: indice.json's entries and the files by name."""

    index: list[dict[str, Any]]
    files: dict[str, bytes] = field(default_factory=dict)

    def of(self, doc_id: int, file_type: str) -> tuple[str, bytes]:
        names = [e["fileName"] for e in self.index if e["id"] == doc_id and e["fileType"] == file_type]
        assert len(names) == 1, (doc_id, file_type, self.index)
        return names[0], self.files[names[0]]

    def types(self, doc_id: int) -> list[str]:
        return [e["fileType"] for e in self.index if e["id"] == doc_id]


def open_zip(data: bytes) -> Archive:
    """The zip's files; indice.json lists every other file (id, fileName, fileType) and nothing else."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert len(names) == len(set(names)), names
        assert "indice.json" in names, names
        index = json.loads(archive.read("indice.json"))
        files = {name: archive.read(name) for name in names if name != "indice.json"}
    assert set(index) == {"files"}, index
    entries: list[dict[str, Any]] = index["files"]
    for entry in entries:
        assert set(entry) == {"id", "fileName", "fileType"}, entry
        assert isinstance(entry["id"], int) and not isinstance(entry["id"], bool)
        assert entry["fileType"] in {"FA", "MT", "FU", "FI"}
    listed_names = [e["fileName"] for e in entries]
    assert len(listed_names) == len(set(listed_names)), listed_names
    assert set(listed_names) == set(files), (listed_names, sorted(files))
    return Archive(entries, files)


def download(client: FlaskClient, tok: str, job: str, route: str = "v10", wait: int = 5) -> Archive:
    if wait:
        advance(client, wait)
    response = client.get(job_url(job, route), headers=bearer(tok))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/octet-stream"
    return open_zip(response.data)


def fetch(client: FlaskClient, tok: str, doc_ids: list[int], route: str = "v10", **select: Any) -> Archive:
    return download(client, tok, book(client, tok, doc_ids, route, **select), route)


# -- p7m, read independently ------------------------------------------------------------------------


def p7m_der_or_ber(data: bytes, encoding: str) -> bytes:
    """The binary CMS of a p7m delivered in ``encoding`` (base64 undone the given number of times)."""
    raw = data
    if encoding in {"base64", "base64x2"}:
        for _ in range(2 if encoding == "base64x2" else 1):
            assert raw[:1] != b"\x30", "expected base64 text"
            raw = base64.b64decode(raw, validate=False)
    assert raw[:1] == b"\x30", raw[:16]
    return raw


def p7m_content(data: bytes, encoding: str) -> bytes:
    """The attached content of a CAdES p7m, read with asn1crypto; checks the messageDigest too."""
    raw = p7m_der_or_ber(data, encoding)
    if encoding == "ber":
        assert raw[1] == 0x80, f"BER p7m should use the indefinite length form, got {raw[:4].hex()}"
    else:
        assert raw[1] != 0x80, f"{encoding} p7m should be DER (definite lengths), got {raw[:4].hex()}"
    info = cms.ContentInfo.load(raw)
    assert info["content_type"].native == "signed_data"
    signed = info["content"]
    encapsulated = signed["encap_content_info"]
    assert encapsulated["content_type"].native == "data"
    content: bytes = encapsulated["content"].native
    assert isinstance(content, bytes) and content
    digests = [
        attr["values"][0].native
        for signer in signed["signer_infos"]
        for attr in signer["signed_attrs"]
        if attr["type"].native == "message_digest"
    ]
    assert digests == [hashlib.sha256(content).digest()]
    return content


def unwrap_fa(name: str, data: bytes, encoding: str | None) -> bytes:
    """The invoice XML inside an FA file: itself when plain, else the p7m content."""
    if name.endswith(".xml"):
        return data
    assert name.endswith(".xml.p7m"), name
    assert encoding is not None
    return p7m_content(data, encoding)


# -- schemas --------------------------------------------------------------------------------------


class _LocalXmldsig(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        if system_url == XMLDSIG_URL:
            return self.resolve_filename(str(XSD_DIR / "xmldsig-core-schema.xsd"), context)  # type: ignore[attr-defined]
        return None


def load_schema(name: str) -> etree.XMLSchema:
    path = XSD_DIR / name
    if not path.is_file():
        pytest.skip(f"reference material not available: {path}")
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalXmldsig())
    return etree.XMLSchema(etree.parse(str(path), parser))


def assert_valid(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    root = etree.fromstring(xml)
    assert schema.validate(root), str(schema.error_log)[:2000]
    return root


def localname(element: etree._Element) -> str:
    return etree.QName(element).localname


def namespace(element: etree._Element) -> str | None:
    return etree.QName(element).namespace
