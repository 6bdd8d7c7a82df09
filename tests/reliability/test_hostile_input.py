"""Hostile input on every endpoint that parses a body, every list filter and every file name.

The (endpoint × corpus item) matrix is generated from contracts/*.yaml: every operation with a
requestBody gets the items that fit its media types, with a valid token of its provider. Each answer
must be a 4xx in the provider's own error format with a message that says what is wrong; after it
the app still answers, peak memory grew by less than ``MEMORY_BUDGET_MB`` and no table of the store
gained or lost a row. The WSGI server's own limits (huge query strings and headers) are tested
against a real ``fattura-sandbox serve``.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from werkzeug.test import TestResponse

from emulator.app import create_app
from tests.conftest import make_config
from tests.reliability.conftest import peak_rss_mb, provider_headers, row_counts

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
PREFIXES = {
    "easytracking": "/easytracking",
    "aruba": "/aruba",
    "acube": "/acube",
    "openapi": "/openapi",
    "sandbox": "/_sandbox",
}
METHODS = ("get", "post", "put", "patch", "delete")
# Path parameters: names that must be real for the route to reach the body (else a uuid nobody has).
PATH_VALUES = {"provider": "easytracking", "tenant": "sandbox", "fiscal_id": "31847260010"}
NO_SUCH_ID = "00000000-0000-0000-0000-000000000000"
# Peak RSS growth allowed per request: 50 MB, plus 25 copies of the body (the test client, Werkzeug,
# the journal and the parsers each hold some: Aruba's JSON reading peaks at ~20 for a 5 MB body);
# an expanded entity bomb would take gigabytes.
MEMORY_BUDGET_MB = 50
BODY_COPIES = 25
# DOMAIN.md: "Maximum size 5 MB (SDI 00003; Aruba SLA, HTTP 413)" — the same for every provider.
UPLOAD_LIMIT = 5 * 1024 * 1024
SANDBOX_VAT = "09382170158"  # easytracking/sandbox: a recipient of the control API
ACUBE_VAT = "26174950589"  # acube/sandbox


# -- the endpoints, from the contracts ------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    provider: str
    method: str
    path: str
    operation: str
    media_types: tuple[str, ...]
    query: tuple[str, ...]
    body: str  # the request body's definition: its $ref, or the operation's own

    @property
    def url(self) -> str:
        filled = re.sub(r"\{([^}]+)\}", lambda match: PATH_VALUES.get(match.group(1), NO_SUCH_ID), self.path)
        return PREFIXES[self.provider] + filled

    @property
    def takes_xml(self) -> bool:
        return any(media.endswith("xml") for media in self.media_types)

    @property
    def takes_form(self) -> bool:
        return "application/x-www-form-urlencoded" in self.media_types

    def __str__(self) -> str:
        return f"{self.provider}.{self.operation}"


def _resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for key in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[key]
        node = target
    return node


def _load_endpoints() -> list[Endpoint]:
    found = []
    for provider in PREFIXES:
        document = yaml.safe_load((CONTRACTS / f"{provider}.yaml").read_text())
        for path, item in document["paths"].items():
            for method in METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                parameters = [
                    _resolve(document, p)
                    for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                ]
                declared = operation.get("requestBody") or {}
                body = _resolve(document, declared)
                found.append(
                    Endpoint(
                        provider,
                        method.upper(),
                        path,
                        operation["operationId"],
                        tuple(body["content"]) if body else (),
                        tuple(p["name"] for p in parameters if p["in"] == "query"),
                        str(declared.get("$ref", operation["operationId"])),
                    )
                )
    return found


ENDPOINTS = _load_endpoints()
BODY_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if endpoint.media_types]
# A 5 MB body costs ~0.4 s: one endpoint per request body definition (Easy Tracking's 70 operations
# share five), each reading its body through the same code.
OVERSIZE_ENDPOINTS = list({(e.provider, e.body, e.media_types): e for e in BODY_ENDPOINTS}.values())
XML_ENDPOINTS = [endpoint for endpoint in BODY_ENDPOINTS if endpoint.takes_xml]
LIST_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if endpoint.method == "GET" and endpoint.query]
FILE_NAME_PARAMETERS = [
    (endpoint, name) for endpoint in LIST_ENDPOINTS for name in endpoint.query if "filename" in name.lower()
]


def _by_operation(provider: str, operation: str) -> Endpoint:
    return next(e for e in ENDPOINTS if e.provider == provider and e.operation == operation)


# -- the corpus -----------------------------------------------------------------------------------

NETWORK_PORT = "{PORT}"  # the listening socket's port, filled in when the case runs
BIG_ENTITY = "x" * 100_000
XML_CORPUS: dict[str, str] = {
    "xxe_file": ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'),
    "xxe_network": (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:{PORT}/x">]><r>&x;</r>'
    ),
    "xxe_parameter_entity": (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:{PORT}/p.dtd"> %p;]><r/>'
    ),
    "billion_laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">' for n in range(1, 10)
        )
        + "]><lolz>&lol9;</lolz>"
    ),
    "quadratic_blowup": (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "{BIG_ENTITY}">]><r>{"&a;" * 5000}</r>'
    ),
    "internal_dtd": '<?xml version="1.0"?><!DOCTYPE r [<!ELEMENT r (#PCDATA)>]><r>x</r>',
}
DTD_WORDS = r"DOCTYPE|DTD|ENTITY|entit"
# Providers whose real API answers any bad document with one fixed message (the sandbox keeps it):
# Aruba's 0001 "formato fattura errato", Openapi's "Invalid XML structure".
FIXED_XML_MESSAGES = r"formato fattura errato|Invalid XML structure"


@dataclass(frozen=True)
class Item:
    """One hostile body: the bytes for an endpoint, the media type to send them as, and what the
    refusal's message must mention."""

    name: str
    make: Callable[[Endpoint], tuple[bytes, str]]
    says: str

    def __str__(self) -> str:
        return self.name


def _media(endpoint: Endpoint) -> str:
    return endpoint.media_types[0]


def _oversize(endpoint: Endpoint) -> tuple[bytes, str]:
    media = next((m for m in endpoint.media_types if m.endswith("xml")), _media(endpoint))
    if media.endswith("xml"):
        head = b'<?xml version="1.0"?><r>'
        return head + b"a" * (UPLOAD_LIMIT + 1 - len(head)), media
    return b'{"a":"' + b"a" * (UPLOAD_LIMIT + 1 - 8) + b'"}', media


def _deep_json(endpoint: Endpoint) -> tuple[bytes, str]:
    return b"[" * 100_000 + b"]" * 100_000, _media(endpoint)


def _invalid_utf8(endpoint: Endpoint) -> tuple[bytes, str]:
    media = _media(endpoint)
    if media.endswith("xml"):
        return b'<?xml version="1.0" encoding="UTF-8"?><r>\xff\xfe\xc3\x28</r>', media
    if endpoint.takes_form:
        return b"username=\xff\xfe&password=\xc3\x28&grant_type=password", media
    return b'{"a": "\xff\xfe\xc3\x28"}', media


def _nul_bytes(endpoint: Endpoint) -> tuple[bytes, str]:
    media = _media(endpoint)
    if media.endswith("xml"):
        return b'<?xml version="1.0"?><r>a\x00b</r>', media
    if endpoint.takes_form:
        return b"username=sand\x00box&password=\x00&grant_type=password", media
    return b'{"a": "a\x00b"}', media


GENERIC_ITEMS = [
    Item("oversize_5MB_plus_1", _oversize, r"too large|5 MB|5242880|exceed|size"),
    Item("deep_json", _deep_json, r"JSON|nest|deep|body|valid"),
    Item("invalid_utf8", _invalid_utf8, r"UTF-8|utf-8|encod|decod|valid|JSON|XML"),
    Item("nul_bytes", _nul_bytes, r"NUL|control|JSON|XML|valid|character"),
]
XML_ITEMS = [
    Item(name, lambda endpoint, text=text: (text.encode(), "application/xml"), DTD_WORDS)
    for name, text in XML_CORPUS.items()
]


# -- XML inside JSON: the fields that carry a whole document --------------------------------------


def _aruba_data_file(xml: bytes) -> dict[str, Any]:
    return {"dataFile": base64.b64encode(xml).decode()}


CARRIERS: dict[tuple[str, str], Callable[[bytes], dict[str, Any]]] = {
    ("aruba", "uploadInvoice"): _aruba_data_file,
    ("aruba", "uploadSignedInvoice"): _aruba_data_file,
    ("acube", "simulateSupplierInvoice"): lambda xml: {"recipient": ACUBE_VAT, "xml": xml.decode()},
    ("openapi", "importInvoice"): lambda xml: {"invoice": xml.decode()},
    ("sandbox", "createIncomingInvoices"): lambda xml: {"recipient": SANDBOX_VAT, "xml": xml.decode()},
}
NOT_CMS = {
    "random_bytes": bytes(range(256)) * 8,
    "truncated_der": bytes.fromhex("3082ffff06092a864886f70d010702a0820fff3082"),
    "pem_text": b"-----BEGIN PKCS7-----\nTUlJQ0FBWUpLb1pJaHZjTkFRY0Nv\n-----END PKCS7-----\n",
    "base64_of_garbage": base64.b64encode(b"\x13\x37 not a signed file at all " * 20),
}


# -- running a case -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    application = create_app(make_config())
    yield application
    application.extensions["fattura_sandbox"].close()


@pytest.fixture(scope="module")
def headers(app: Flask) -> dict[str, dict[str, str]]:
    return provider_headers(app)


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    """A listening socket on an ephemeral port: a network entity that is resolved would connect."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def error_message(provider: str, response: TestResponse) -> str:
    """The message of an error answer in the provider's own format (asserting the format)."""
    body = response.get_json(silent=True)
    shown = response.get_data(as_text=True)[:300]
    assert isinstance(body, dict), shown
    status = response.status_code
    if provider == "easytracking":
        assert set(body) == {"message"}, shown
        message = body["message"]
    elif provider == "aruba" and "error_description" in body:
        assert set(body) == {"error", "error_description"}, shown
        message = body["error_description"]
    elif provider == "aruba":
        assert set(body) == {"timestamp", "status", "error", "message", "path"}, shown
        assert body["status"] == status, shown
        message = body["message"]
    elif provider == "acube" and status == 401:
        assert body == {"code": 401, "message": body["message"]}, shown
        message = body["message"]
    elif provider == "acube":
        assert {"type", "title", "status", "detail"} <= set(body), shown
        assert body["status"] == status, shown
        message = body["detail"]
    elif provider == "openapi":
        assert body["success"] is False and body["data"] is None and "error" in body, shown
        message = body["message"]
    else:
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), shown
        message = body["error"]["message"]
    assert isinstance(message, str) and message, shown
    return message


def refusal(provider: str, response: TestResponse) -> str:
    """A 4xx in the provider's format — or, for Aruba's uploads, its HTTP 200 with an errorCode
    (how Aruba documents a refused upload) — and its message."""
    body = response.get_json(silent=True)
    if provider == "aruba" and response.status_code == 200 and isinstance(body, dict):
        assert body.get("errorCode") not in (None, "", "0000"), body
        assert body.get("uploadFileName") is None, body
        return str(body["errorDescription"])
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    return error_message(provider, response)


class Harness:
    """Sends one hostile request and checks what must hold around it."""

    def __init__(self, app: Flask, headers: dict[str, dict[str, str]], listener: socket.socket) -> None:
        self.app, self.headers, self.listener = app, headers, listener
        self.client = app.test_client()

    def send(
        self,
        endpoint: Endpoint,
        *,
        body: bytes | None = None,
        media: str | None = None,
        query: dict[str, str] | None = None,
    ) -> TestResponse:
        port = str(self.listener.getsockname()[1])
        if body is not None:
            body = body.replace(NETWORK_PORT.encode(), port.encode())
        before, memory = row_counts(self.app), peak_rss_mb()
        request_headers = dict(self.headers[endpoint.provider])
        if media is not None:
            request_headers["Content-Type"] = media
        response = self.client.open(
            endpoint.url, method=endpoint.method, data=body, headers=request_headers, query_string=query
        )
        assert peak_rss_mb() - memory < MEMORY_BUDGET_MB + BODY_COPIES * len(body or b"") / 2**20
        after = row_counts(self.app)
        changed = {table: (before[table], after[table]) for table in before if before[table] != after[table]}
        assert not changed, f"the request wrote to the store: {changed}"
        assert self.client.get("/_sandbox/health").status_code == 200
        with pytest.raises(BlockingIOError):
            self.listener.accept()  # nothing connected: no entity was fetched
        return response


@pytest.fixture(scope="module")
def harness(app: Flask, headers: dict[str, dict[str, str]], listener: socket.socket) -> Harness:
    return Harness(app, headers, listener)


def test_the_matrix_covers_every_body_endpoint() -> None:
    """Every provider and the control API have endpoints that parse bodies; XML ones exist."""
    assert {endpoint.provider for endpoint in BODY_ENDPOINTS} == set(PREFIXES)
    assert len(BODY_ENDPOINTS) >= 100
    assert {str(endpoint) for endpoint in XML_ENDPOINTS} >= {
        "easytracking.sendElectronicInvoiceV4",
        "acube.createInvoice",
        "openapi.sendInvoice",
    }
    assert len(FILE_NAME_PARAMETERS) >= 10


def expected_words(endpoint: Endpoint, item: Item) -> str:
    """What the refusal may name: the item's fault, or the first thing the endpoint checks before
    the body's content (an XML parser's verdict, a form's missing field, an unknown path id)."""
    words = [item.says]
    if endpoint.takes_xml:
        words.append("XML")
    if endpoint.takes_form:
        words.append("mandatory|incorrect")
    if "{" in endpoint.path:
        words.append("[Nn]ot [Ff]ound")
    return "|".join(words)


@pytest.mark.parametrize("item", [i for i in GENERIC_ITEMS if i.name != "oversize_5MB_plus_1"], ids=str)
@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_hostile_body(harness: Harness, endpoint: Endpoint, item: Item) -> None:
    body, media = item.make(endpoint)
    response = harness.send(endpoint, body=body, media=media)
    message = refusal(endpoint.provider, response)
    assert re.search(expected_words(endpoint, item), message), message


@pytest.mark.parametrize("endpoint", OVERSIZE_ENDPOINTS, ids=str)
def test_oversize_body(harness: Harness, endpoint: Endpoint) -> None:
    """5 MB + 1 byte. An XML document is refused for its size, before parsing (DOMAIN.md's 5 MB:
    the answer is the provider's 400 for a bad document, not 413: Flask's own request limit is
    64 MB so that Base64 uploads of a 5 MB file fit); a JSON body is refused for its content."""
    item = GENERIC_ITEMS[0]
    body, media = item.make(endpoint)
    response = harness.send(endpoint, body=body, media=media)
    message = refusal(endpoint.provider, response)
    if endpoint.takes_xml:
        assert response.status_code in (400, 422), message
        assert re.search(f"{item.says}|{FIXED_XML_MESSAGES}", message), message


@pytest.mark.parametrize("item", XML_ITEMS, ids=str)
@pytest.mark.parametrize("endpoint", XML_ENDPOINTS, ids=str)
def test_hostile_xml_body(harness: Harness, endpoint: Endpoint, item: Item) -> None:
    body, media = item.make(endpoint)
    response = harness.send(endpoint, body=body, media=media)
    message = refusal(endpoint.provider, response)
    assert re.search(f"{item.says}|{FIXED_XML_MESSAGES}", message), message
    assert "root:" not in response.get_data(as_text=True)


def test_oversize_xml_in_a_field(harness: Harness) -> None:
    """5 MB + 1 byte of XML where a field carries the document."""
    xml = b'<?xml version="1.0"?><r>' + b"a" * UPLOAD_LIMIT + b"</r>"
    for carrier, wrap in CARRIERS.items():
        endpoint = _by_operation(*carrier)
        response = harness.send(endpoint, body=json.dumps(wrap(xml)).encode(), media="application/json")
        message = refusal(endpoint.provider, response)
        assert re.search(f"too large|5 MB|5242880|size|dimensione|{FIXED_XML_MESSAGES}", message), (
            carrier,
            message,
        )


@pytest.mark.parametrize("name", list(XML_CORPUS), ids=str)
@pytest.mark.parametrize("carrier", list(CARRIERS), ids=lambda key: ".".join(key))
def test_hostile_xml_in_a_field(harness: Harness, carrier: tuple[str, str], name: str) -> None:
    endpoint = _by_operation(*carrier)
    body = json.dumps(CARRIERS[carrier](XML_CORPUS[name].encode())).encode()
    response = harness.send(endpoint, body=body, media="application/json")
    message = refusal(endpoint.provider, response)
    assert re.search(f"{DTD_WORDS}|{FIXED_XML_MESSAGES}", message), message
    assert "root:" not in response.get_data(as_text=True)


@pytest.mark.parametrize("name", list(NOT_CMS), ids=str)
@pytest.mark.parametrize(
    "target",
    [("aruba", "uploadSignedInvoice"), ("easytracking", "sendElectronicInvoiceV4")],
    ids=lambda key: ".".join(key),
)
def test_p7m_that_is_not_cms(harness: Harness, target: tuple[str, str], name: str) -> None:
    endpoint = _by_operation(*target)
    data = NOT_CMS[name]
    if target[0] == "aruba":
        response = harness.send(
            endpoint, body=json.dumps(_aruba_data_file(data)).encode(), media="application/json"
        )
    else:
        response = harness.send(endpoint, body=data, media="application/pkcs7-mime")
    message = refusal(endpoint.provider, response)
    assert re.search(r"XML|firma|sign|p7m|CMS|format|valid|media|type", message, re.IGNORECASE), message


SQL_STRINGS = {"or_1_1": "' OR 1=1 --", "drop_table": "%'; DROP TABLE x;--"}


@pytest.mark.parametrize("sql", list(SQL_STRINGS), ids=str)
@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=str)
def test_sql_looking_filters(harness: Harness, endpoint: Endpoint, sql: str) -> None:
    """Every query parameter at once: an injection would widen the answer or break the store; a
    filter that takes free text answers as for any unknown value (200, nothing), others 4xx."""
    query = {name: SQL_STRINGS[sql] for name in endpoint.query}
    response = harness.send(endpoint, query=query)
    if response.status_code != 200:
        refusal(endpoint.provider, response)


TRAVERSALS = {
    "dot_dot": "../../etc/passwd",
    "backslashes": "..\\..\\x.xml",
    "absolute": "/etc/passwd",
    "nul": "IT01879020517_abcde.xml\x00.p7m",
}


@pytest.mark.parametrize("traversal", list(TRAVERSALS), ids=str)
@pytest.mark.parametrize("target", FILE_NAME_PARAMETERS, ids=lambda t: f"{t[0]}.{t[1]}")
def test_path_traversal_in_file_names(harness: Harness, target: tuple[Endpoint, str], traversal: str) -> None:
    endpoint, name = target
    response = harness.send(endpoint, query={name: TRAVERSALS[traversal]})
    message = refusal(endpoint.provider, response)
    assert "root:" not in response.get_data(as_text=True), message


@pytest.mark.parametrize("traversal", list(TRAVERSALS), ids=str)
def test_path_traversal_in_an_esito(harness: Harness, traversal: str) -> None:
    endpoint = _by_operation("aruba", "sendEsitoCommittente")
    body = {
        "filename": TRAVERSALS[traversal],
        "sdiId": 1,
        "esito": "EC01",
        "numero": "1",
        "anno": 2026,
        "posizione": 1,
        "descrizione": "x",
        "messageId": "1",
    }
    response = harness.send(endpoint, body=json.dumps(body).encode(), media="application/json")
    # Aruba documents every refusal of an esito as HTTP 500 (§ sendEsitoCommittente: "otherwise
    # HTTP status code 500"): the one 5xx a client can cause, on purpose.
    assert response.status_code == 500
    message = error_message("aruba", response)
    assert message == f"Fattura ricevuta non trovata: {TRAVERSALS[traversal]}"


# -- the WSGI server's limits ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    db = tmp_path_factory.mktemp("serve") / "sandbox.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(base + "/_sandbox/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        yield base
        assert process.poll() is None, "the server died"
    finally:
        process.kill()
        process.wait(timeout=10)


def _answer(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def _status(request: urllib.request.Request) -> int:
    return _answer(request)[0]


def _still_healthy(base: str) -> None:
    assert _status(urllib.request.Request(base + "/_sandbox/health")) == 200


def test_huge_query_string_reaches_the_app(server: str) -> None:
    """100 KB of query string: within waitress's limit (256 KB for the request line and headers), so
    the app answers the unknown filter value as any other, in its own format."""
    status, body = _answer(urllib.request.Request(server + "/_sandbox/journal?provider=" + "a" * 100_000))
    assert status == 400
    error = json.loads(body)["error"]
    assert error["code"] == "bad_request"
    assert error["message"].startswith("provider must be one of")
    _still_healthy(server)


def test_a_64kb_header_is_served(server: str) -> None:
    request = urllib.request.Request(server + "/_sandbox/health", headers={"X-Huge": "a" * 64 * 1024})
    assert _status(request) == 200


def test_huge_query_beyond_the_servers_limit_is_refused_by_the_server(server: str) -> None:
    status, body = _answer(urllib.request.Request(server + "/_sandbox/health?q=" + "a" * 300 * 1024))
    assert status == 431, body[:200]
    _still_healthy(server)


def test_headers_beyond_the_servers_limit_are_refused_by_the_server(server: str) -> None:
    """300 KB of headers: past waitress's max_request_header_size (256 KB), waitress answers itself."""
    request = urllib.request.Request(server + "/_sandbox/health", headers={"X-Huge": "a" * 300 * 1024})
    assert _status(request) == 431
    _still_healthy(server)
