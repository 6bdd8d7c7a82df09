"""contracts/aruba.yaml against the sandbox, in-process: every operation, real-id chains, a stateful run.

The per-operation test sends positive and negative data to all 28 operations with a real Bearer
token of the ``sandbox`` user, whose boxes hold received invoices (plain and signed, delivered by
the SDI) and sent ones (uploaded, processed and delivered, one discarded, one refused by Aruba's
checks, one still waiting). Half of the positive cases of the finds are steered to name what the
boxes hold (random names never do), so every read is also seen answering 200. The SLA is off in
this module: Schemathesis' volume would otherwise be answered 429 (one test switches it on to
check the 429 and 413 answers; the provider tests cover the limits).

The chain tests call the operations with real ids, validating every answer against the contract:
upload → processing → getByFilename → getByInvoiceId → notifications → zip → pdd on the sent box;
findByUsername → getByFilename → getInvoiceWithUnsignedFile → zip → pdd → notifications on the
received one; the SDI simulator; sendEsitoCommittente; a financial communication up to its pdd.
The callbacks the sandbox sends are validated against the contract's webhooks, and the contract's
examples against their own schemas.

The stateful test follows the contract's links on fresh sandboxes: signin → findByUsername,
upload → getByFilename / zip / pdd / notifications / notificationOut → notification by file name,
with 90 virtual seconds between steps so that uploads are processed and delivered during a
scenario.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import schemathesis
from flask import Flask
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from emulator.app import create_app
from emulator.core.xmlsafe import parse_xml
from emulator.sdi.signing import SignatureError, unwrap_p7m
from tests.conftest import make_config
from tests.contracts import CHECKS, CONTRACTS, contract_config, harness
from tests.contracts.harness import advance, deliver_incoming, media_type, operation_id, pick
from tests.providers.aruba.helpers import OTHER_VAT, SANDBOX_VAT, invoice

CONTRACT = CONTRACTS / "aruba.yaml"
PREFIX = "/aruba"
CREDENTIALS = {"grant_type": "password", "username": "sandbox", "password": "sandbox"}
SERVER_CRASH = "Internal error of the sandbox; it has been logged"
# The sandbox user is a Premium user: its finds name the party (§8.2, §9.1).
SENT_PARTY = {"countrySender": "IT", "vatcodeSender": SANDBOX_VAT}
RECEIVED_PARTY = {"countryReceiver": "IT", "vatcodeReceiver": SANDBOX_VAT}
TRUE_VALUES = {"true", "on", "yes", "1"}


def session(username: str = "sandbox") -> harness.Session:
    """A token that the app under test issues for a user (whose password is its name)."""
    return harness.Session(
        f"{PREFIX}/auth/signin",
        lambda answer: answer.get_json()["access_token"],
        data={**CREDENTIALS, "username": username, "password": username},
    )


# -- what the schemas cannot say ------------------------------------------------------------------


def sent_query(response: schemathesis.Response) -> dict[str, str]:
    """The query string the request was sent with (the first value of each parameter, as Flask reads it)."""
    query = parse_qs(urlsplit(response.request.url).query, keep_blank_values=True)
    return {name: values[0] for name, values in query.items()}


def json_answer(response: schemathesis.Response, case: schemathesis.Case) -> Any:
    """The JSON body of the operation's answer; None for a probe with another method (HEAD ...) or no JSON."""
    return harness.json_answer(response, case, lambda media: media == "application/json")


def decoded(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise AssertionError(f"{what} is not base64") from None


def invoice_file(filename: str, content: bytes) -> bytes:
    """The XML of an invoice file as stored: a p7m (any encoding) is opened, an XML parsed."""
    xml = content
    if filename.lower().endswith(".p7m"):
        try:
            xml = unwrap_p7m(content)
        except SignatureError as exc:
            raise AssertionError(f"{filename} is not a p7m that opens: {exc}") from None
    parse_xml(xml)
    return xml


def spring_errors(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Spring's error body tells the status it goes with and the path asked; no 5xx is a crash."""
    body = json_answer(response, case)
    if response.status_code < 400 or not isinstance(body, dict) or "timestamp" not in body:
        return
    assert body["status"] == response.status_code, f"status {body['status']} in a {response.status_code}"
    assert body["error"] == HTTPStatus(response.status_code).phrase, body["error"]
    path = unquote(urlsplit(response.request.url).path)
    assert body["path"] == path.removeprefix(PREFIX), f"path {body['path']} for {path}"
    assert body["message"] != SERVER_CRASH, "the sandbox crashed (see its log)"


def zips(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A zip opens; an invoice's zip holds the invoice, a preservation package the invoice and its index."""
    if response.status_code == 206:
        part = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", response.headers["content-range"][0])
        assert part is not None, response.headers["content-range"]
        first, last, length = (int(group) for group in part.groups())
        assert first <= last < length and len(response.content) == last - first + 1, "not the range's part"
    if response.status_code != 200 or media_type(response) != "application/zip" or not response.content:
        return
    disposition = response.headers["content-disposition"][0]
    found = re.fullmatch(r'attachment; filename="(?P<name>[^"]+)"', disposition)
    assert found is not None, disposition
    name = found.group("name")
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None, "a zip entry is corrupt"
        entries = {entry: archive.read(entry) for entry in archive.namelist()}
    assert entries, "the zip is empty"
    kind = operation_id(case)
    if kind.endswith("InvoiceZipByFilename"):
        filename = sent_query(response)["filename"]
        assert name == f"{filename}.zip", f"{name} is not named after {filename}"
        assert filename in entries, f"{filename} is not in its zip ({sorted(entries)})"
        invoice_file(filename, entries[filename])
    elif kind.endswith("InvoicePdd"):
        stem = name.removesuffix(".conservazione.zip")
        files = [entry for entry in entries if re.fullmatch(rf"{re.escape(stem)}\.xml(\.p7m)?", entry)]
        assert len(files) == 1, f"the invoice {stem} is not in its package ({sorted(entries)})"
        invoice_file(files[0], entries[files[0]])
        assert f"IdC_{stem}.xml" in entries, f"no index IdC_{stem}.xml in {sorted(entries)}"
        parse_xml(entries[f"IdC_{stem}.xml"])
    else:  # a financial communication's package
        assert "indice.xml" in entries, f"no indice.xml in {sorted(entries)}"
        parse_xml(entries["indice.xml"])


def included(body: dict[str, Any], field: str, wanted: bool) -> None:
    assert (body[field] is not None) == wanted, f"{field} {'missing' if wanted else 'not asked for'}"


def invoices(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """An invoice's file and pdfFile are what was asked for: the stored file, a PDF, the unsigned XML."""
    body = json_answer(response, case)
    if response.status_code != 200 or body is None:
        return
    kind, query = operation_id(case), sent_query(response)
    if kind.startswith(("getSentInvoiceBy", "getReceivedInvoiceBy")):
        wants_pdf = query.get("includePdf", "").strip().lower() in TRUE_VALUES
        wants_file = query.get("includeFile", "").strip().lower() not in {"false", "off", "no", "0"}
        assert ("pdfFile" in body) == wants_pdf, f"pdfFile {'missing' if wants_pdf else 'not asked for'}"
        if body.get("pdfFile") is not None:
            assert decoded(body["pdfFile"], "pdfFile").startswith(b"%PDF-"), "pdfFile is not a PDF"
        included(body, "file", wants_file)
        if kind.endswith("ByFilename"):
            assert body["filename"] == query["filename"], f"{body['filename']} for {query['filename']}"
        else:
            assert int(body["id"]) == int(case.path_parameters["invoiceId"]), body["id"]
    elif kind == "getReceivedInvoiceWithUnsignedFile":
        wants_file = query.get("includeFile", "").strip().lower() in TRUE_VALUES
        included(body, "file", wants_file)
        if body["filename"].lower().endswith(".p7m"):
            assert body["signed"] is True, f"{body['filename']} is signed"
        if body["unsignedFile"] is not None:
            unsigned = decoded(body["unsignedFile"], "unsignedFile")
            assert not parse_xml(unsigned).xpath("//*[local-name()='Signature']"), "unsignedFile is signed"
    else:
        return
    if body["file"] is not None:
        invoice_file(body["filename"], decoded(body["file"], "file"))


def pages(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """findByUsername: the page asked for, counted consistently, of the user's invoices in that box."""
    body = json_answer(response, case)
    if response.status_code != 200 or body is None or not operation_id(case).startswith("find"):
        return
    query = sent_query(response)
    size = int(query.get("size") or 10)
    number = int(query.get("page") or 1)
    assert (body["size"], body["number"]) == (size, number), (body["size"], body["number"])
    assert body["numberOfElements"] == len(body["content"]), "numberOfElements is not the page's length"
    assert body["totalPages"] == math.ceil(body["totalElements"] / size), "totalPages"
    assert body["first"] == (number == 1) and body["last"] == (number >= body["totalPages"]), "first/last"
    assert all(item["username"] == query["username"] for item in body["content"]), "another user's invoice"


def notifications(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A notification is the SDI file its name says, of the invoice asked for."""
    kind, body = operation_id(case), json_answer(response, case)
    if response.status_code != 200 or body is None or "Notification" not in kind:
        return
    query = sent_query(response)
    if kind.endswith("NotificationByFilename"):
        assert body["filename"] == query["filename"], f"{body['filename']} for {query['filename']}"
        listed = [body]
    else:
        listed = body["notifications"]
        assert body["count"] == len(listed), f"count {body['count']} for {len(listed)} notifications"
        if kind.endswith("ByInvoiceId"):
            wanted = int(case.path_parameters["invoiceId"])
            assert all(int(item["invoiceId"]) == wanted for item in listed), "another invoice's notification"
    for item in listed:
        assert f"_{item['docType']}_" in item["filename"], f"{item['filename']} is not a {item['docType']}"
        invoice_file(item["filename"], decoded(item["file"], "file"))


def outcomes(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Uploads and financial requests: an id or file name exactly when accepted; tokens last 30 minutes."""
    kind, body = operation_id(case), json_answer(response, case)
    if response.status_code not in (200, 201) or body is None:
        return
    if kind.startswith("upload"):
        accepted = body["errorCode"] in ("0000", "")
        assert (body["uploadFileName"] is not None) == accepted, body
        if accepted:
            assert re.fullmatch(r"Operazione effettuata - [0-9a-f]{32}", body["errorDescription"]), body
    elif kind.startswith("createTransmissionRequest"):
        accepted = body["errorCode"] == ""
        assert (body["requestID"] is not None) == accepted, body
    elif kind == "signin":
        issued = datetime.strptime(body[".issued"], "%a, %d %b %Y %H:%M:%S GMT")
        expires = datetime.strptime(body[".expires"], "%a, %d %b %Y %H:%M:%S GMT")
        assert (expires - issued).total_seconds() == body["expires_in"] == 1800, body


def rejects_negative_data(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """negative_data_rejection, knowing the document's refusals that are not an HTTP error.

    upload and uploadSigned answer an invalid dataFile (missing, not base64, not an invoice) 200
    with the synchronous check's errorCode (§7.5.1); the financial communications answer 200 with a
    §6.6 code in errorCode (creation) or result (GetTransmissionInfoRequest). Such an answer is the
    rejection the document gives; any other 200 to negative data is still a failure.
    """
    body = json_answer(response, case)
    if response.status_code == 200 and isinstance(body, dict):
        kind = operation_id(case)
        if kind.startswith("upload") and body.get("errorCode") not in (None, "", "0000"):
            return None
        if kind.startswith("createTransmissionRequest") and body.get("errorCode"):
            return None
        if kind == "getTransmissionInfoRequest" and str(body.get("result", "")).startswith("AR"):
            return None
    return negative_data_rejection(ctx, response, case)


PAYLOAD_CHECKS: list[Callable[..., Any]] = [spring_errors, zips, invoices, pages, notifications, outcomes]
ARUBA_CHECKS = [
    *(rejects_negative_data if check is negative_data_rejection else check for check in CHECKS),
    *PAYLOAD_CHECKS,
]
# sendEsitoCommittente: "If successful, HTTP status code 200 is returned, otherwise HTTP status code
# 500" (§10.1). A 500 is its documented refusal, so not_a_server_error cannot apply; spring_errors
# still fails a 500 that is a crash of the sandbox.
ESITO_CHECKS = [check for check in ARUBA_CHECKS if check is not not_a_server_error]


def checks_for(case: schemathesis.Case) -> list[Callable[..., Any]]:
    return ESITO_CHECKS if operation_id(case) == "sendEsitoCommittente" else ARUBA_CHECKS


# -- the data the operations find -------------------------------------------------------------------

# Invoices the SDI delivers to the sandbox user before anything is called: plain and signed, to a
# VAT number and to the codice fiscale; one to the `other` user, whose ids are a 404 here.
INCOMING: list[dict[str, Any]] = [
    {"recipient": SANDBOX_VAT, "count": 2},
    {"recipient": SANDBOX_VAT, "signed": True, "encoding": "der"},
    {"recipient": SANDBOX_VAT, "signed": True, "encoding": "base64"},
    {"recipient": "RMNLCU82B11D612S"},
    {"recipient": OTHER_VAT},
]


@cache
def valid_invoice(seed: int, causale: str | None = None, pa: bool = False) -> bytes:
    """An invoice of the sandbox user as Aruba wants it; a PA one goes to the `other` user's office."""
    if pa:
        return invoice(seed=seed, pa=True, customer_vat=OTHER_VAT, causale=causale)
    return invoice(seed=seed, causale=causale)


def data_file(xml: bytes) -> str:
    return base64.b64encode(xml).decode("ascii")


def send_invoices(app: Flask, session: harness.Session) -> list[str]:
    """Uploads of the sandbox user, processed and delivered: plain, signed, to a PA, one discarded (NS),
    one that fails Aruba's checks; then one still waiting ("Presa in carico")."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {session.token}"}
    signer = app.extensions["fattura_sandbox"].signer
    uploads = [
        ("upload", valid_invoice(101)),
        ("uploadSigned", signer.make_p7m(valid_invoice(102))),
        ("upload", valid_invoice(103, pa=True)),
        ("upload", valid_invoice(104, causale="SANDBOX:NS")),
        ("upload", valid_invoice(105, causale="SANDBOX:ARUBA:FATRSM202")),
    ]
    names = []
    for operation, content in uploads:
        response = client.post(
            f"{PREFIX}/services/invoice/{operation}", json={"dataFile": data_file(content)}, headers=headers
        )
        assert response.status_code == 200 and response.get_json()["uploadFileName"], response.get_json()
        names.append(response.get_json()["uploadFileName"])
    advance(app, 600)
    session.open(app)  # a fresh token, valid 30 virtual minutes from now
    waiting = client.post(
        f"{PREFIX}/services/invoice/upload", json={"dataFile": data_file(valid_invoice(106))}, headers=headers
    )
    names.append(waiting.get_json()["uploadFileName"])
    return names


@dataclass(frozen=True)
class Box:
    """What one of the sandbox user's boxes holds: its invoices' file names and ids, their notifications."""

    filenames: tuple[str, ...]
    ids: tuple[str, ...]
    notifications: tuple[str, ...]


def box(app: Flask, session: harness.Session, direction: str) -> Box:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {session.token}"}
    party = SENT_PARTY if direction == "out" else RECEIVED_PARTY
    listed = client.get(
        f"{PREFIX}/services/invoice/{direction}/findByUsername",
        query_string={"username": CREDENTIALS["username"], "size": 100, **party},
        headers=headers,
    )
    assert listed.status_code == 200, listed.get_data(as_text=True)
    content = listed.get_json()["content"]
    names: list[str] = []
    for item in content:
        found = client.get(f"{PREFIX}/services/notification/{direction}/{item['id']}", headers=headers)
        names.extend(notification["filename"] for notification in found.get_json()["notifications"])
    return Box(
        tuple(item["filename"] for item in content), tuple(item["id"] for item in content), tuple(names)
    )


def steer(boxes: dict[str, Box]) -> Callable[[Any, schemathesis.Case], schemathesis.Case]:
    """A map_case hook: positive cases of the finds ask, half of the time, for what the boxes hold.

    Random file names and ids never name an invoice, so without this the finds would answer only
    400 and 404. Negative cases are left alone: they must stay invalid.
    """

    def hook(context: Any, case: schemathesis.Case) -> schemathesis.Case:
        if not harness.positive(case):
            return case
        kind, path = operation_id(case), case.operation.path
        body = case.body if isinstance(case.body, dict) else {}
        if kind == "signin" and body.get("grant_type") == "password" and pick(("yes",), body):
            body.update(username=CREDENTIALS["username"], password=CREDENTIALS["password"])
        if "userName" in body and pick(("yes",), body):  # a financial communication
            body.update(userName=CREDENTIALS["username"], password=CREDENTIALS["password"])
        if kind == "simulateNotificationOut" and (real := pick(boxes["out"].filenames, body)) is not None:
            body["invoiceFileName"] = real
        direction = "out" if "/out/" in path else "in"
        held = boxes[direction]
        query = case.query if isinstance(case.query, dict) else {}
        if kind.startswith("find") and pick(("yes",), query) is not None:
            party = SENT_PARTY if direction == "out" else RECEIVED_PARTY
            case.query = {**{k: v for k, v in query.items() if k in ("size",)}, **party}
            case.query["username"] = CREDENTIALS["username"]
            return case
        choices = held.notifications if kind.endswith("NotificationByFilename") else held.filenames
        for name in ("filename", "invoiceFilename"):
            if isinstance(query.get(name), str) and (real := pick(choices, query[name])) is not None:
                query[name] = real
        wanted = query.get("invoiceId")
        if isinstance(wanted, str) and (real := pick(held.ids, wanted)) is not None:
            query["invoiceId"] = real
        parameters = case.path_parameters if isinstance(case.path_parameters, dict) else {}
        if "invoiceId" in parameters and (real := pick(held.ids, parameters["invoiceId"])) is not None:
            parameters["invoiceId"] = real
        return case

    return hook


# -- every operation ------------------------------------------------------------------------------

# Fewer examples than the shared MAX_EXAMPLES: the steering above makes a third of them real reads,
# and the whole module must stay within a minute.
PER_OPERATION_EXAMPLES = 20

# A fresh app for this module, made before the schema is parametrized so that every generated case
# (and every probe a check sends on its own, like ignored_auth) goes to it in-process.
APP = create_app(make_config(aruba_sla=False))
_close_app = harness.closing(APP)
SESSION = session()
deliver_incoming(APP, INCOMING)
SESSION.open(APP)
SENT = send_invoices(APP, SESSION)
BOXES = {direction: box(APP, SESSION, direction) for direction in ("out", "in")}
schema = harness.operation_schema(
    CONTRACT, APP, contract_config(max_examples=PER_OPERATION_EXAMPLES), SESSION, steer(BOXES)
)


@schema.parametrize()
def test_operation_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=checks_for(case))


# -- chains with real ids ----------------------------------------------------------------------------


def validated(case: schemathesis.Case, response: schemathesis.Response, **transport: Any) -> None:
    """``case.validate_response`` with the checks of the case's operation."""
    harness.validated(case, response, checks_for(case), **transport)


class Caller(harness.Caller):
    """Calls operations of the contract on one app as one user, validating every answer.

    Without a username, the calls carry no token (the financial communications need none).
    """

    def __init__(self, app: Flask, username: str | None = "sandbox") -> None:
        headers = session(username).headers(app) if username is not None else None
        super().__init__(app, schema, validated, headers, media_from_body=False)


app = harness.app_fixture(aruba_sla=False)


def sent(call: Caller, content: bytes) -> str:
    """The file name Aruba gave an accepted upload."""
    answer = call("uploadInvoice", body={"dataFile": data_file(content)}).json()
    assert answer["errorCode"] == "0000", answer
    name: str = answer["uploadFileName"]
    return name


def status_of(invoice_object: dict[str, Any]) -> str:
    status: str = invoice_object["invoices"][0]["status"]
    return status


def test_sent_chain(app: Flask) -> None:
    """upload → processing → getByFilename → getByInvoiceId → notifications → zip → pdd."""
    call, other = Caller(app), Caller(app, "other")
    name = sent(call, valid_invoice(201))
    by_name = {"filename": name}
    taken = call("getSentInvoiceByFilename", query=by_name).json()
    assert (status_of(taken), taken["idSdi"], taken["pddAvailable"]) == ("Presa in carico", None, False)
    call("getSentInvoicePdd", 404, query={"invoiceFilename": name})
    waiting = call("getSentInvoiceNotificationsByInvoiceFilename", query={"invoiceFilename": name}).json()
    assert waiting["count"] == 0

    advance(app, 600)  # processed (60 s), then delivered by the SDI (RC, 120 s later)
    found = call("getSentInvoiceByFilename", query={**by_name, "includePdf": "true"}).json()
    assert (status_of(found), found["pddAvailable"]) == ("Consegnata", True) and found["idSdi"] is not None
    number = {"invoiceId": found["id"]}
    by_id = call("getSentInvoiceByInvoiceId", path_parameters=number, query={"includeFile": "false"}).json()
    # As the document's examples: errorCode "0000" by id (§8.5), null by file name (§8.3).
    assert by_id["errorCode"] == "0000" and found["errorCode"] is None and by_id["file"] is None
    assert {**by_id, "errorCode": None, "file": found["file"], "pdfFile": found["pdfFile"]} == found
    listed = call("getSentInvoiceNotificationsByInvoiceFilename", query={"invoiceFilename": name}).json()
    assert [n["docType"] for n in listed["notifications"]] == ["RC"]
    assert call("getSentInvoiceNotificationsByInvoiceId", path_parameters=number).json() == listed
    receipt = listed["notifications"][0]["filename"]
    assert call("getSentInvoiceNotificationByFilename", query={"filename": receipt}).json()["docType"] == "RC"
    archive = call("getSentInvoiceZipByFilename", query=by_name).content
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        assert set(files.namelist()) == {name, receipt}
    call("getSentInvoicePdd", query=number)
    call("getSentInvoicePdd", query={"invoiceFilename": name, **number})
    page = call("findSentInvoicesByUsername", query={"username": "sandbox", **SENT_PARTY}).json()
    assert [item["filename"] for item in page["content"]] == [name]

    # Another user's invoice does not exist for the `other` user; nor does the box it is not in.
    other("getSentInvoiceByFilename", 404, query=by_name)
    other("getSentInvoiceByInvoiceId", 404, path_parameters=number)
    other("getSentInvoiceNotificationByFilename", 404, query={"filename": receipt})
    other("getSentInvoiceZipByFilename", 404, query=by_name)
    other("getSentInvoicePdd", 404, query=number)
    call("getReceivedInvoiceByFilename", 404, query=by_name)
    call("findSentInvoicesByUsername", 403, query={"username": "other", **SENT_PARTY})


def test_simulated_notifications_chain(app: Flask) -> None:
    """sdisimulator/notificationOut (§14.2) on an uploaded PA invoice: RC, then the outcome NE EC01."""
    call = Caller(app)
    name = sent(call, valid_invoice(202, pa=True))
    delivered = {"invoiceFileName": name, "notificationType": "RC"}
    call("simulateNotificationOut", 400, body=delivered)  # not handed to the SDI yet
    advance(app, 60)
    for kind, status in (("RC", "Consegnata"), ("NE_EC01", "Accettata")):
        simulated = call("simulateNotificationOut", 201, body={**delivered, "notificationType": kind}).json()
        notification = {"filename": simulated["notificationFileName"]}
        found = call("getSentInvoiceNotificationByFilename", query=notification).json()
        assert (found["docType"], found["result"]) == (kind[:2], "EC01" if kind == "NE_EC01" else None)
        assert status_of(call("getSentInvoiceByFilename", query={"filename": name}).json()) == status
    call("simulateNotificationOut", 404, body={**delivered, "invoiceFileName": "IT01879020517_nope0.xml.p7m"})


def test_received_chain(app: Flask) -> None:
    """findByUsername → getByFilename → getInvoiceWithUnsignedFile → zip → pdd → notifications."""
    deliver_incoming(app, [{"recipient": SANDBOX_VAT}, {"recipient": SANDBOX_VAT, "signed": True}])
    call = Caller(app)
    page = call("findReceivedInvoicesByUsername", query={"username": "sandbox", **RECEIVED_PARTY}).json()
    assert page["totalElements"] == 2
    for listed in page["content"]:
        name, number = listed["filename"], {"invoiceId": listed["id"]}
        found = call("getReceivedInvoiceByFilename", query={"filename": name, "includePdf": "yes"}).json()
        assert found["id"] == listed["id"] and found["pdfFile"] is not None
        assert call("getReceivedInvoiceByInvoiceId", path_parameters=number).json()["filename"] == name
        unsigned = call("getReceivedInvoiceWithUnsignedFile", query=number).json()
        assert unsigned["signed"] is name.endswith(".p7m") and unsigned["file"] is None
        both = {"filename": name, "includeFile": "true", **number}
        assert call("getReceivedInvoiceWithUnsignedFile", query=both).json()["file"] == found["file"]
        call("getReceivedInvoiceZipByFilename", query={"filename": name})
        call("getReceivedInvoicePdd", query={"invoiceFilename": name})
        notices = call("getReceivedInvoiceNotificationsByInvoiceId", path_parameters=number).json()
        assert notices == {"count": 0, "notifications": [], "errorCode": "0000", "errorDescription": None}
    call("getReceivedInvoiceWithUnsignedFile", 400)
    customer = {"countryReceiver": "IT", "vatcodeReceiver": SANDBOX_VAT}
    simulated = call("simulateInvoiceIn", 201, body=customer).json()["invoiceFileName"]
    call("getReceivedInvoiceByFilename", query={"filename": simulated})
    call("getReceivedInvoiceNotificationsByInvoiceFilename", query={"invoiceFilename": simulated})


def esito_for(received: dict[str, Any], esito: str, description: str) -> dict[str, Any]:
    """The body of sendEsitoCommittente (§10.1) for a received invoice as findByUsername lists it."""
    return {
        "filename": received["filename"],
        "sdiId": int(received["idSdi"]),
        "esito": esito,
        "numero": received["invoices"][0]["number"],
        "anno": int(received["invoices"][0]["invoiceDate"][:4]),
        "posizione": 1,
        "descrizione": description,
        "messageId": "7865",
    }


def test_esito_chain(app: Flask) -> None:
    """A PA invoice the sandbox user sends to `other`: its esito (§10.1), then the notifications of both."""
    sender, customer = Caller(app), Caller(app, "other")
    name = sent(sender, valid_invoice(203, pa=True))
    advance(app, 600)
    received = customer("findReceivedInvoicesByUsername", query={"username": "other"}).json()["content"][0]
    esito = esito_for(received, "EC01", "Accettata")
    assert customer("sendEsitoCommittente", body=esito).content == b""
    customer("sendEsitoCommittente", 500, body=esito)  # an esito was already given: the SDI discards it
    customer("sendEsitoCommittente", 400, body={**esito, "esito": "EC03"})
    notices = customer(
        "getReceivedInvoiceNotificationsByInvoiceId", path_parameters={"invoiceId": received["id"]}
    ).json()["notifications"]
    assert notices, "the esito and the scarto are the customer's notifications"
    for notice in notices:
        customer("getReceivedInvoiceNotificationByFilename", query={"filename": notice["filename"]})
    outcome = sender("getSentInvoiceNotificationsByInvoiceFilename", query={"invoiceFilename": name}).json()
    assert [(n["docType"], n["result"]) for n in outcome["notifications"]] == [("RC", None), ("NE", "EC01")]


def test_sla_answers_conform() -> None:
    """With the SLA on (§3): the 13th find in a minute is a 429 with Retry-After; a file over 5 MB a 413."""
    app = create_app(make_config())
    try:
        call = Caller(app)
        for _ in range(12):
            call("getSentInvoiceByFilename", 404, query={"filename": "IT01879020517_nope0.xml.p7m"})
        refused = call("getSentInvoiceByFilename", 429, query={"filename": "IT01879020517_nope0.xml.p7m"})
        assert 1 <= int(refused.headers["retry-after"][0]) <= 60
        too_large = data_file(b"<x/>" * (6 * 1024 * 1024 // 4))
        call("uploadInvoice", 413, body={"dataFile": too_large})
    finally:
        harness.close_app(app)


LIPE_NS = "urn:www.agenziaentrate.gov.it:specificheTecniche:sco:ivp"


def regular_vat_payment() -> bytes:
    """A regular VAT payment communication (LIPE) of the sandbox user, the minimum the sandbox reads."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<iv:Fornitura xmlns:iv="{LIPE_NS}">
  <iv:Intestazione><iv:CodiceFornitura>IVP18</iv:CodiceFornitura></iv:Intestazione>
  <iv:Comunicazione identificativo="00001">
    <iv:Frontespizio>
      <iv:CodiceFiscale>{SANDBOX_VAT}</iv:CodiceFiscale>
      <iv:AnnoImposta>2026</iv:AnnoImposta>
      <iv:PartitaIVA>{SANDBOX_VAT}</iv:PartitaIVA>
    </iv:Frontespizio>
    <iv:DatiContabili><iv:Modulo><iv:NumeroModulo>1</iv:NumeroModulo></iv:Modulo></iv:DatiContabili>
  </iv:Comunicazione>
</iv:Fornitura>
""".encode()


def test_financial_chain(app: Flask) -> None:
    """CreateTransmissionRequest(List) → GetTransmissionInfoRequest → pdd, credentials in the body."""
    call = Caller(app, None)
    signed = app.extensions["fattura_sandbox"].signer.make_p7m(regular_vat_payment())
    credentials = {"userName": "sandbox", "password": "sandbox"}
    single = {**credentials, "comunicationType": "LI", "dataFile": data_file(signed)}
    created = call("createTransmissionRequest", body=single).json()
    assert created["errorCode"] == "", created
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as files:
        files.writestr("IT20493810483_LI_0001.xml.p7m", signed)
    listed = call("createTransmissionRequestList", body={**single, "dataFile": data_file(archive.getvalue())})
    assert listed.json()["errorCode"] == "" and len(listed.json()["requestIDList"]) == 1, listed.text
    request = {**credentials, "requestID": created["requestID"]}
    assert call("getTransmissionInfoRequest", body=request).json()["result"] == "SF01"
    call("getTransmissionRequestPdd", 404, body=request)
    advance(app, 3 * 3600)
    info = call("getTransmissionInfoRequest", body=request).json()
    assert (info["result"], info["elaboratedResult"], info["pddAvailable"]) == ("SF02", "ES01", True), info
    call("getTransmissionRequestPdd", body=request)
    item = {**credentials, "requestID": listed.json()["requestIDList"][0]["requestID"]}
    assert call("getTransmissionInfoRequest", body=item).json()["result"] == "SF02"
    wrong = {**request, "password": "wrong"}
    call("getTransmissionRequestPdd", 401, body=wrong)
    assert call("getTransmissionInfoRequest", body=wrong).json()["result"] == "AR02"


# -- the document's examples ------------------------------------------------------------------------


def test_the_documents_examples_are_valid() -> None:
    """Every example of the contract (the document's, mostly) is valid against the schema it illustrates."""
    raw = schema.raw_schema
    examples = harness.documented_examples(raw, ("get", "post"), webhooks=False, headers=True)
    checked = harness.check_examples(raw, examples)
    assert checked >= 40, checked


# -- callbacks (§13) -------------------------------------------------------------------------------


def test_callbacks_conform(app: Flask) -> None:
    """Every callback the sandbox sends is a POST the contract's webhooks describe, with the API key."""
    deliveries = harness.capture(app)
    client = app.test_client()
    for tenant in ("sandbox", "other"):
        registered = client.patch(
            f"/_sandbox/accounts/aruba/{tenant}",
            json={"callback_url": f"https://erp.example.com/{tenant}", "callback_api_key": f"key-{tenant}"},
        )
        assert registered.status_code == 200, registered.get_data(as_text=True)
    sender = Caller(app)
    for content in (
        valid_invoice(301),
        valid_invoice(302, causale="SANDBOX:NS"),
        valid_invoice(303, causale="SANDBOX:ARUBA:FATRSM202"),
        valid_invoice(304, pa=True),
    ):
        sender("uploadInvoice", body={"dataFile": data_file(content)})
    deliver_incoming(app, [{"recipient": SANDBOX_VAT}])
    advance(app, 16 * 86400)  # delivered, discarded, refused by Aruba; the PA invoice's terms run out (DT)
    customer = Caller(app, "other")
    late = customer("findReceivedInvoicesByUsername", query={"username": "other"}).json()["content"][0]
    customer("sendEsitoCommittente", 500, body=esito_for(late, "EC02", "Too late"))  # after the DT: SE
    advance(app, 1)

    seen = set()
    for delivery in deliveries:
        tenant, method = delivery.url.removeprefix("https://erp.example.com/").split("/")
        assert delivery.headers["Authorization"] == f"key-{tenant}", delivery.headers
        body = harness.webhook_body(schema.raw_schema, method, delivery)
        seen.add((tenant, method, body.get("inOut") or body.get("status")))
        if "notifyType" in body:
            seen.add((tenant, method, f"{body['inOut']} {body['notifyType']}"))
    expected = {
        ("sandbox", "updateInvoiceStatus", "Inviata"),
        ("sandbox", "updateInvoiceStatus", "Errore Elaborazione"),
        ("sandbox", "createNotification", "OUT RC"),
        ("sandbox", "createNotification", "OUT NS"),
        ("sandbox", "createNotification", "OUT DT"),
        ("sandbox", "createInvoice", None),
        ("sandbox", "updateUsage", None),
        ("other", "createInvoice", None),
        ("other", "createNotification", "IN DT"),
        ("other", "createNotification", "IN SE"),
    }
    assert expected <= seen, expected - seen


# -- stateful ---------------------------------------------------------------------------------------

# signin → findByUsername → getByInvoiceId / getByFilename → notifications, pdd, zip; upload →
# getByFilename / zip / notifications / notificationOut → the notification by file name.
WORKFLOW_OPERATIONS = [
    "signin",
    "uploadInvoice",
    "findSentInvoicesByUsername",
    "getSentInvoiceByFilename",
    "getSentInvoiceByInvoiceId",
    "getSentInvoiceZipByFilename",
    "getSentInvoicePdd",
    "getSentInvoiceNotificationsByInvoiceFilename",
    "getSentInvoiceNotificationsByInvoiceId",
    "getSentInvoiceNotificationByFilename",
    "simulateNotificationOut",
]
STATEFUL_SCENARIOS = 30
STATEFUL_STEPS = 10
# Virtual seconds between two steps: an upload is processed a minute after it is taken and the SDI
# delivers it two minutes later, so a scenario sees it waiting, then sent, then delivered.
STEP_SECONDS = 90


def upload_body(seed: int) -> dict[str, str]:
    return {"dataFile": data_file(valid_invoice(seed))}


def stateful_schema(app: harness.ScenarioApp) -> Any:
    """The workflow operations with positive data: the user's own credentials, valid invoices."""

    def before_generate_body(context: schemathesis.HookContext, strategy: st.SearchStrategy) -> Any:
        if context.operation is None:
            return strategy
        if context.operation.path == "/services/invoice/upload":
            return st.integers(min_value=0, max_value=99).map(upload_body)
        if context.operation.path == "/auth/signin":
            return st.just(CREDENTIALS)
        return strategy

    def map_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> Any:
        # The sandbox user is Premium: its finds name its own party. Random filters and pages would
        # hide the scenario's invoices from the list that feeds the links; the per-operation test
        # covers them.
        if context.operation is not None and context.operation.path.endswith("/findByUsername"):
            return {"username": CREDENTIALS["username"], **SENT_PARTY}
        return query

    def map_headers(context: schemathesis.HookContext, headers: dict[str, Any] | None) -> Any:
        # A random Range is mostly unsatisfiable (416): the zips are downloaded whole here.
        kept = {name: value for name, value in (headers or {}).items() if name.lower() != "range"}
        return kept or None

    assert app.session is not None
    return harness.workflow_schema(
        CONTRACT,
        WORKFLOW_OPERATIONS,
        app,
        contract_config(),
        app.session,
        [before_generate_body, map_query, map_headers],
    )


def test_workflow_through_the_links() -> None:
    app = harness.ScenarioApp(STEP_SECONDS, session(), aruba_sla=False)
    notified: list[int] = []

    def seen(response: schemathesis.Response, case: schemathesis.Case) -> None:
        if response.status_code == 200 and "/notification/out/getByInvoice" in case.operation.path:
            notified.append(response.json()["count"])

    statuses = harness.run_workflow(
        stateful_schema(app), app, validated, scenarios=STATEFUL_SCENARIOS, steps=STATEFUL_STEPS, seen=seen
    )
    # The run went all the way: the links led from uploads to the invoices (random file names never
    # name one), and time passed along them until the SDI's notifications were there to be listed.
    assert 200 in statuses["GET /services/invoice/out/getByFilename"], dict(statuses)
    assert 200 in statuses["GET /services/invoice/out/findByUsername"], dict(statuses)
    assert any(notified), f"no notification listed: {notified}"
