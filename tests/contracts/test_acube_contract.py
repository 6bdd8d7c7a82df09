"""contracts/acube.yaml against the sandbox, in-process: every operation, real-id chains, a stateful run.

The per-operation test sends positive and negative data to all 24 operations with a real Bearer
token of the ``sandbox`` account (sandbox@example.com), which holds invoices sent as XML and as
JSON (delivered, rejected by an NS, to a PA accepted with an NE, one still waiting), invoices
received from suppliers (plain and signed), their SDI notifications and drafts. Half of the
positive cases name what the account holds (random uuids never do): invoice uuids on the invoice
paths, draft uuids on the draft paths, notification uuids on ``/notifications/{uuid}``, the
account's credentials on login and its VAT number as a supplier invoice's recipient; so every read
is also seen answering 200.

The chain tests call the operations with real ids, validating every answer against the contract:
login → create (JSON and XML) → the SDI takes it → get (JSON, XML, raw) → notifications →
simulate NS/RC/MC/NE/DT/AT → list and its filters → report; drafts (create → get → update →
send → 409s → delete); a supplier invoice → downloaded → notify → preserve → preserved document;
convert and validate both ways. The webhooks the sandbox sends are validated against the
contract's ``webhooks``, and the contract's examples against their own schemas.

The stateful test follows the contract's links on fresh sandboxes: login → list → get; create →
get / notifications / simulate → notification → get; draft → get / update / send / delete;
supplier invoice → get / downloaded / preserve → preserved document, with virtual time passing
between steps so that created invoices reach the SDI during a scenario.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
import schemathesis
from flask import Flask
from schemathesis.specs.openapi.checks import negative_data_rejection

from emulator.app import create_app
from emulator.core.xmlsafe import parse_xml
from emulator.providers.acube.convert import xml_to_json
from emulator.providers.acube.service import ACUBE_VAT, SENDING_SECONDS
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from tests.conftest import XSD_DIR, make_config
from tests.contracts import CHECKS, CONTRACTS, contract_config, harness
from tests.contracts.harness import advance, json_answer, media_type, operation_id, pick

CONTRACT = CONTRACTS / "acube.yaml"
PREFIX = "/acube"
CREDENTIALS = {"email": "sandbox@example.com", "password": "sandbox"}
OTHER_CREDENTIALS = {"email": "other@example.com", "password": "other"}
SANDBOX_VAT = "26174950589"  # acube/sandbox
OTHER_VAT = "13950270341"  # acube/other
CUSTOMER_VAT = "01879020517"  # a customer (and a supplier) outside the sandbox
SUPPLIER_VAT = "01879020517"
PROBLEM_TYPE = "https://tools.ietf.org/html/rfc2616#section-10"
# The SDI's RC comes 120 virtual seconds after it receives a B2B invoice; A-Cube sends after 5.
SENT_SECONDS = SENDING_SECONDS + 1
DELIVERED_SECONDS = SENDING_SECONDS + 180


def session(credentials: dict[str, str] = CREDENTIALS) -> harness.Session:
    """A token that the app under test issues for an account (``sandbox`` unless told)."""
    return harness.Session(f"{PREFIX}/login", lambda answer: answer.get_json()["token"], json=credentials)


# -- what the schemas cannot say ------------------------------------------------------------------


def errors(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A 401 is Lexik's body with its status; any other error API Platform's problem with its status."""
    body = json_answer(response, case)
    if response.status_code < 400 or not isinstance(body, dict):
        return
    if response.status_code == 401:
        assert body["code"] == 401, body
        assert body["message"] in {
            "Invalid credentials.",
            "JWT Token not found",
            "Invalid JWT Token",
            "Expired JWT Token",
        }, body
        return
    assert body.get("type") == PROBLEM_TYPE and body.get("title") == "An error occurred", body
    assert body.get("status") == response.status_code, (
        f"status {body.get('status')} in a {response.status_code}"
    )
    assert "Internal" not in str(body.get("detail")), body


def resources(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """An invoice or notification asked for by uuid is that one; an XML answer parses."""
    if response.status_code != 200 or response.request.method != case.method.upper():
        return
    kind = operation_id(case)
    if media_type(response) in ("application/xml", "text/xml") and response.content:
        parse_xml(response.content)
        return
    body = json_answer(response, case)
    if body is None:
        return
    parameters = case.path_parameters or {}
    if kind in ("getInvoice", "getDraftInvoice"):
        assert body["uuid"] == parameters["id"], (body["uuid"], parameters["id"])
        assert (body["marking"] == "draft") is (kind == "getDraftInvoice"), body["marking"]
    elif kind == "getNotification":
        assert body["uuid"] == parameters["uuid"], (body["uuid"], parameters["uuid"])
    elif kind == "listInvoiceNotifications":
        assert all(item["invoice_uuid"] == parameters["uuid"] for item in body), body
        stamps = [item["created_at"] for item in body]
        assert stamps == sorted(stamps), f"not oldest first: {stamps}"
    elif kind == "listDraftInvoices":
        assert all(item["marking"] == "draft" for item in body), "a listed draft is not a draft"
    elif kind == "listInvoices":
        assert all(item["marking"] != "draft" for item in body), "a draft in the invoice collection"
        assert len(body) <= 30, f"{len(body)} invoices on a page"


ACUBE_CHECKS = [*CHECKS, errors, resources]


def validated(
    case: schemathesis.Case,
    response: schemathesis.Response,
    checks: list[Callable[..., Any]] = ACUBE_CHECKS,
    **transport: Any,
) -> None:
    """``case.validate_response`` with the suite's checks."""
    harness.validated(case, response, checks, **transport)


# -- regressions the suite found ------------------------------------------------------------------


def raw_call(app: Flask, method: str, path: str, **kwargs: Any) -> Any:
    """A request as the sandbox account with Flask's test client, outside the contract's validation."""
    headers = session().headers(app)
    return app.test_client().open(f"{PREFIX}{path}", method=method, headers=headers, **kwargs)


def test_the_invoice_payload_is_a_string(app: Flask) -> None:
    created = raw_call(app, "POST", "/invoices", json=json_invoice(120))
    draft = raw_call(app, "POST", "/invoices/draft", json=json_invoice(121))
    assert created.status_code == 202 and draft.status_code == 201
    found = raw_call(app, "GET", f"/invoices/{created.get_json()['uuid']}").get_json()
    drafted = raw_call(app, "GET", f"/invoices/draft/{draft.get_json()['uuid']}").get_json()
    assert isinstance(found["payload"], str) and isinstance(drafted["payload"], str), found["payload"]


def test_convert_without_bodies_is_400(app: Flask) -> None:
    answer = raw_call(app, "POST", "/invoices/convert", json={"fattura_elettronica_header": {}})
    assert answer.status_code == 400, (answer.status_code, answer.get_data(as_text=True)[:200])


def test_downloaded_with_null_uuids_is_400(app: Flask) -> None:
    answer = raw_call(app, "POST", "/invoices/downloaded", json={"uuids": None, "downloaded": True})
    assert answer.status_code == 400, (answer.status_code, answer.get_data(as_text=True))


# -- the data the operations find -------------------------------------------------------------------


@cache
def sent_invoice(seed: int, *, pa: bool = False, causale: str | None = None) -> bytes:
    """FatturaPA XML of the sandbox account to a customer outside the sandbox (a PA office with ``pa``)."""
    return (
        InvoiceGenerator(seed)
        .generate(
            supplier=PartySpec(vat=SANDBOX_VAT, fiscal_code=SANDBOX_VAT, name="Sandbox S.r.l."),
            customer=PartySpec(
                vat=CUSTOMER_VAT, fiscal_code=CUSTOMER_VAT, name="Comune di Prova" if pa else "Cliente S.p.A."
            ),
            pa=pa,
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            transmitter=("IT", ACUBE_VAT),
            recipient_code="UFABCD" if pa else "M5UXCR1",
            causale=causale,
        )
        .xml
    )


@cache
def json_invoice(seed: int) -> dict[str, Any]:
    """The same invoice in A-Cube's JSON form."""
    return xml_to_json(sent_invoice(seed), xsd_dir=XSD_DIR)


@dataclass(frozen=True)
class Held:
    """What the sandbox account holds: invoice, draft and notification uuids."""

    invoices: tuple[str, ...]
    drafts: tuple[str, ...]
    notifications: tuple[str, ...]


def seed_account(app: Flask, opened: harness.Session) -> Held:
    """Invoices sent (XML and JSON) and received, their notifications, drafts; one invoice waiting."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {opened.token}"}

    def post(path: str, expected: int, **kwargs: Any) -> Any:
        response = client.post(f"{PREFIX}{path}", headers=headers, **kwargs)
        assert response.status_code == expected, (path, response.get_data(as_text=True))
        return response.get_json()

    xml = {"data": sent_invoice(101), "content_type": "application/xml"}
    delivered = post("/invoices", 202, **xml)["uuid"]
    rejected = post("/invoices", 202, json=json_invoice(102))["uuid"]
    pa = post("/invoices", 202, data=sent_invoice(103, pa=True), content_type="application/xml")["uuid"]
    lost = post("/invoices", 202, data=sent_invoice(104), content_type="application/xml")["uuid"]
    advance(app, SENT_SECONDS)
    simulations = [
        (delivered, {"type": "RC"}),
        (rejected, {"type": "NS", "errors": [{"code": "00305", "description": "IdFiscaleIVA not valid"}]}),
        (pa, {"type": "RC"}),
        (pa, {"type": "NE", "outcome": "EC01"}),
        (lost, {"type": "MC"}),
    ]
    notified = [
        post(f"/simulate/invoices/{uuid}/notifications", 201, json=body)["uuid"] for uuid, body in simulations
    ]
    received = [
        post("/simulate/supplier-invoices", 201, json={"recipient": SANDBOX_VAT})["uuid"],
        post("/simulate/supplier-invoices", 201, json={"recipient": SANDBOX_VAT, "signed": True})["uuid"],
    ]
    drafts = [post("/invoices/draft", 201, json=json_invoice(110 + n))["uuid"] for n in range(4)]
    drafts.append(post("/invoices/draft", 201, json={})["uuid"])
    waiting = post("/invoices", 202, json=json_invoice(105))["uuid"]
    return Held(
        invoices=(delivered, rejected, pa, lost, *received, waiting),
        drafts=tuple(drafts),
        notifications=tuple(notified),
    )


def steer(held: Held) -> Callable[[Any, schemathesis.Case], schemathesis.Case]:
    """A map_case hook: positive cases name, half of the time, what the account holds.

    Random uuids never name an invoice, so without this the reads would answer only 404. Negative
    cases are left alone: they must stay invalid.
    """

    def hook(context: Any, case: schemathesis.Case) -> schemathesis.Case:
        if not harness.positive(case):
            return case
        kind, path = operation_id(case), case.operation.path
        body = case.body if isinstance(case.body, dict) else {}
        if kind == "login" and pick(("yes",), body):
            case.body = dict(CREDENTIALS)
        if kind == "simulateSupplierInvoice" and pick(("yes",), body):
            case.body = {"recipient": SANDBOX_VAT, **({"signed": body["signed"]} if "signed" in body else {})}
        if kind == "setInvoicesDownloaded" and isinstance(body.get("uuids"), list) and pick(("yes",), body):
            body["uuids"] = [uuid for uuid in (pick(held.invoices, item) for item in body["uuids"]) if uuid]
        parameters = case.path_parameters if isinstance(case.path_parameters, dict) else {}
        if path.startswith("/invoices/draft/"):
            choices = held.drafts
        elif path.startswith("/notifications/"):
            choices = held.notifications
        else:
            choices = held.invoices
        for name in ("id", "uuid"):
            if (
                isinstance(parameters.get(name), str)
                and (real := pick(choices, parameters[name])) is not None
            ):
                parameters[name] = real
        if "index" in parameters and pick(("yes",), parameters["index"]):
            parameters["index"] = 0
        return case

    return hook


# -- every operation ------------------------------------------------------------------------------

PER_OPERATION_EXAMPLES = 12

# A fresh app for this module, made before the schema is parametrized so that every generated case
# (and every probe a check sends on its own, like ignored_auth) goes to it in-process.
APP = create_app(make_config())
_close_app = harness.closing(APP)
SESSION = session()
SESSION.open(APP)
HELD = seed_account(APP, SESSION)
schema = harness.operation_schema(
    CONTRACT, APP, contract_config(max_examples=PER_OPERATION_EXAMPLES), SESSION, steer(HELD)
)


@schema.parametrize()
def test_operation_conforms(case: schemathesis.Case) -> None:
    validated(case, case.call())


def test_every_operation_is_tested() -> None:
    harness.assert_operations(schema, 24)


# -- chains with real ids ----------------------------------------------------------------------------


class Caller(harness.Caller):
    """Calls operations of the contract on one app as one account, validating every answer."""

    def __init__(self, app: Flask, credentials: dict[str, str] | None = CREDENTIALS) -> None:
        headers = session(credentials).headers(app) if credentials is not None else None
        super().__init__(app, schema, validated, headers)


app = harness.app_fixture()


def created(call: Caller, body: Any, media: str = "application/json") -> str:
    uuid: str = call("createInvoice", 202, body=body, media_type=media).json()["uuid"]
    return uuid


def marking_of(call: Caller, uuid: str) -> str:
    value: str = call("getInvoice", path_parameters={"id": uuid}).json()["marking"]
    return value


def test_invoice_chain(app: Flask) -> None:
    """login → create JSON and XML → the SDI takes them → get → notifications → simulate → list."""
    call = Caller(app)
    call("login", 401, body={**CREDENTIALS, "password": "wrong"})
    by_json = created(call, json_invoice(201))
    by_xml = created(call, sent_invoice(202), "application/xml")
    assert marking_of(call, by_json) == marking_of(call, by_xml) == "waiting"
    call("simulateNotification", 409, path_parameters={"uuid": by_xml}, body={"type": "RC"})
    advance(app, SENT_SECONDS)
    # A member given as null is given: 400 with the member named, before the invoice's state is read.
    for null in (
        {"type": "RC", "outcome": None},
        {"type": "NS", "errors": None},
        {"type": "NE", "outcome": None},
    ):
        refused = call("simulateNotification", 400, path_parameters={"uuid": by_xml}, body=null).json()
        assert refused["violations"][0]["propertyPath"] in null, refused
    refused = call("simulateSupplierInvoice", 400, body={"recipient": SANDBOX_VAT, "xml": None}).json()
    assert refused["violations"][0]["propertyPath"] == "xml", refused
    for uuid in (by_json, by_xml):
        found = call("getInvoice", path_parameters={"id": uuid}).json()
        assert (found["marking"], found["type"], found["to_pa"]) == ("sent", 0, False), found
        assert found["sender"]["business_vat_number_code"] == SANDBOX_VAT, found["sender"]
        xml = call("getInvoice", path_parameters={"id": uuid}, headers={"Accept": "application/xml"})
        assert parse_xml(xml.content).xpath("//*[local-name()='IdCodice']/text()")[0] == ACUBE_VAT
        call("getInvoice", path_parameters={"id": uuid}, headers={"Accept": "application/octet-stream"})
        assert call("listInvoiceNotifications", path_parameters={"uuid": uuid}).json() == []
    call("getInvoice", 406, path_parameters={"id": by_xml}, headers={"Accept": "text/csv"})

    notice = call("simulateNotification", 201, path_parameters={"uuid": by_xml}, body={"type": "RC"}).json()
    assert (notice["type"], notice["invoice_uuid"]) == ("RC", by_xml), notice
    assert marking_of(call, by_xml) == "delivered"
    call("simulateNotification", 409, path_parameters={"uuid": by_xml}, body={"type": "NS"})
    call("simulateNotification", 409, path_parameters={"uuid": by_xml}, body={"type": "NE"})
    listed = call("listInvoiceNotifications", path_parameters={"uuid": by_xml}).json()
    assert [item["uuid"] for item in listed] == [notice["uuid"]]
    found = call("getNotification", path_parameters={"uuid": notice["uuid"]}).json()
    assert found == listed[0], (found, listed[0])
    signed = call(
        "getNotification", path_parameters={"uuid": notice["uuid"]}, headers={"Accept": "application/xml"}
    )
    assert parse_xml(signed.content).xpath("local-name(/*)") == "RicevutaConsegna"
    call("getNotification", 406, path_parameters={"uuid": notice["uuid"]}, headers={"Accept": "text/html"})

    scarto = {"type": "NS", "errors": [{"code": "00305"}]}
    rejected = call("simulateNotification", 201, path_parameters={"uuid": by_json}, body=scarto).json()
    assert marking_of(call, by_json) == "rejected" and rejected["type"] == "NS"
    call("simulateNotification", 400, path_parameters={"uuid": by_json}, body={"type": "XX"})
    call("simulateNotification", 404, path_parameters={"uuid": "nope"}, body={"type": "RC"})

    listing = call("listInvoices").json()
    assert {item["uuid"] for item in listing} == {by_json, by_xml}
    assert [item["uuid"] for item in call("listInvoices", query={"marking": "rejected"}).json()] == [by_json]
    assert call("listInvoices", query={"type": "1"}).json() == []
    call("listInvoices", headers={"Accept": "application/zip"})
    call("listInvoices", 406, headers={"Accept": "text/csv"})

    other = Caller(app, OTHER_CREDENTIALS)
    other("getInvoice", 404, path_parameters={"id": by_xml})
    other("getNotification", 404, path_parameters={"uuid": notice["uuid"]})
    other("listInvoiceNotifications", 404, path_parameters={"uuid": by_xml})
    other("simulateNotification", 404, path_parameters={"uuid": by_xml}, body={"type": "MC"})
    assert other("listInvoices").json() == []
    Caller(app, None)("listInvoices", 401)


@pytest.mark.parametrize(
    ("pa", "steps", "final"),
    [
        (False, ["RC"], "delivered"),
        (False, ["MC"], "not-delivered"),
        (True, ["MC", "RC", "NE"], "accepted-pa"),
        (True, ["RC", "DT"], "deadline-terms"),
        (True, ["MC", "AT"], "not-delivered"),
    ],
)
def test_simulated_notifications_chain(app: Flask, pa: bool, steps: list[str], final: str) -> None:
    """Each type of the simulator, in an order the SDI allows, lands on the contract's marking."""
    call = Caller(app)
    uuid = created(call, sent_invoice(220, pa=pa), "application/xml")
    advance(app, SENT_SECONDS)
    kinds = []
    for kind in steps:
        notice = call("simulateNotification", 201, path_parameters={"uuid": uuid}, body={"type": kind}).json()
        kinds.append(notice["type"])
        assert call("getNotification", path_parameters={"uuid": notice["uuid"]}).json()["type"] == kind
    assert marking_of(call, uuid) == final
    listed = call("listInvoiceNotifications", path_parameters={"uuid": uuid}).json()
    assert [item["type"] for item in listed] == kinds
    assert call("getInvoice", path_parameters={"id": uuid}).json()["to_pa"] is pa


def test_received_chain(app: Flask) -> None:
    """simulate a supplier invoice → get → downloaded → notify → preserve → preserved document."""
    call = Caller(app)
    received = call("simulateSupplierInvoice", 201, body={"recipient": SANDBOX_VAT, "signed": True}).json()
    uuid = received["uuid"]
    assert (received["type"], received["marking"], received["signed"]) == (1, "delivered", True), received
    assert call("getInvoice", path_parameters={"id": uuid}).json()["uuid"] == uuid
    # A received invoice's one notification is the SDI's MT that came with it.
    assert [
        item["type"] for item in call("listInvoiceNotifications", path_parameters={"uuid": uuid}).json()
    ] == ["MT"]
    assert [item["uuid"] for item in call("listInvoices", query={"type": "1"}).json()] == [uuid]
    call("simulateSupplierInvoice", 400, body={"recipient": OTHER_VAT})
    call("simulateNotification", 409, path_parameters={"uuid": uuid}, body={"type": "RC"})
    call("setInvoicesDownloaded", body={"uuids": [uuid], "downloaded": True})
    assert call("getInvoice", path_parameters={"id": uuid}).json()["downloaded"] is True
    call("setInvoicesDownloaded", 404, body={"uuids": ["nope"], "downloaded": True})
    call("notifyInvoice", path_parameters={"id": uuid})
    call("notifyInvoiceNotifications", path_parameters={"id": uuid})
    call("notifyInvoice", 404, path_parameters={"id": "nope"})
    call("getPreservedDocument", 404, path_parameters={"id": uuid})
    call("preserveInvoice", path_parameters={"uuid": uuid})
    call("preserveInvoice", 400, path_parameters={"uuid": uuid})
    call("getPreservedDocument", path_parameters={"id": uuid})
    call("getInvoiceAttachment", 404, path_parameters={"uuid": uuid, "index": 99})
    call("archiveRejectedInvoice", 409, path_parameters={"id": uuid})
    call("getInvoice", path_parameters={"id": uuid}, headers={"Accept": "text/html"})
    call(
        "getInvoice",
        path_parameters={"id": uuid},
        headers={"Accept": "application/pdf", "X-PrintTheme": "acube"},
    )


def test_rejected_chain(app: Flask) -> None:
    """An NS: the invoice is rejectedToFix until archive-rejected; not eligible for preservation."""
    call = Caller(app)
    uuid = created(call, json_invoice(230))
    advance(app, SENT_SECONDS)
    call("archiveRejectedInvoice", 409, path_parameters={"id": uuid})
    call("simulateNotification", 201, path_parameters={"uuid": uuid}, body={"type": "NS"})
    call("preserveInvoice", 400, path_parameters={"uuid": uuid})
    assert [item["uuid"] for item in call("listInvoices", query={"rejectedToFix": "true"}).json()] == [uuid]
    call("archiveRejectedInvoice", 204, path_parameters={"id": uuid})
    call("archiveRejectedInvoice", 409, path_parameters={"id": uuid})
    assert call("listInvoices", query={"rejectedToFix": "true"}).json() == []
    report = call("getInvoiceReport").json()
    assert [row["uuid"] for row in report] == [uuid]


def test_draft_chain(app: Flask) -> None:
    """create a draft → list → get → update → send → it is an invoice → 409 on the draft paths."""
    call = Caller(app)
    empty = call("createDraftInvoice", 201, body={}).json()["uuid"]
    call("sendDraftInvoice", 409, path_parameters={"id": empty})
    call("getInvoice", 404, path_parameters={"id": empty})
    assert call("getDraftInvoice", path_parameters={"id": empty}).json()["marking"] == "draft"
    call("updateDraftInvoice", path_parameters={"id": empty}, body=json_invoice(240))
    assert {item["uuid"] for item in call("listDraftInvoices").json()} == {empty}
    assert call("listInvoices").json() == []
    call("sendDraftInvoice", path_parameters={"id": empty})
    call("getDraftInvoice", 404, path_parameters={"id": empty})
    call("updateDraftInvoice", 409, path_parameters={"id": empty}, body=json_invoice(240))
    call("deleteDraftInvoice", 409, path_parameters={"id": empty})
    call("sendDraftInvoice", 409, path_parameters={"id": empty})
    assert marking_of(call, empty) == "waiting"
    advance(app, SENT_SECONDS)
    assert marking_of(call, empty) == "sent"
    assert call("listDraftInvoices").json() == []
    gone = call("createDraftInvoice", 201, body=json_invoice(241)).json()["uuid"]
    call("deleteDraftInvoice", 204, path_parameters={"id": gone})
    call("deleteDraftInvoice", 404, path_parameters={"id": gone})
    call("getDraftInvoice", 404, path_parameters={"id": gone})
    Caller(app, OTHER_CREDENTIALS)("getDraftInvoice", 404, path_parameters={"id": empty})


def test_convert_and_validate_chain(app: Flask) -> None:
    """convert JSON → XML → JSON is the same invoice; validate takes both forms and stores nothing."""
    call = Caller(app)
    as_xml = call("convertInvoice", body=json_invoice(250), media_type="application/json")
    assert media_type(as_xml) == "application/xml"
    back = call("convertInvoice", body=as_xml.content, media_type="application/xml")
    assert back.json() == json_invoice(250)
    call("convertInvoice", 400, body=b"<nope/>", media_type="application/xml")
    call("validateInvoice", 202, body=json_invoice(250), media_type="application/json")
    call("validateInvoice", 202, body=sent_invoice(250), media_type="application/xml")
    call("validateInvoice", 400, body={"fattura_elettronica_header": {}, "fattura_elettronica_body": [{}]})
    assert call("listInvoices").json() == []


# -- the document's examples ------------------------------------------------------------------------


def test_the_documents_examples_are_valid() -> None:
    """Every example of the contract is valid against the schema it illustrates; the XML ones parse."""
    raw = schema.raw_schema
    examples = harness.documented_examples(raw, ("get", "post", "put", "delete"))
    checked = harness.check_examples(
        raw, examples, lambda example: isinstance(example, str) and example.startswith("<?xml")
    )
    assert checked >= 40, checked


def test_the_documents_invoice_example_is_accepted(app: Flask) -> None:
    """The contract's NewInvoice and InvoiceXml examples are invoices the sandbox takes, and the same one."""
    call = Caller(app)
    examples = schema.raw_schema["components"]["examples"]
    as_json, as_xml = examples["NewInvoice"]["value"], examples["InvoiceXml"]["value"]
    call("validateInvoice", 202, body=as_json, media_type="application/json")
    call("validateInvoice", 202, body=as_xml.encode(), media_type="application/xml")
    assert call("convertInvoice", body=as_xml.encode(), media_type="application/xml").json() == as_json


# -- webhooks ---------------------------------------------------------------------------------------


def test_webhooks_conform(app: Flask) -> None:
    """Every webhook the sandbox sends is a POST the contract's ``webhooks`` describe, with the key."""
    deliveries = harness.capture(app)
    registered = app.test_client().patch(
        "/_sandbox/accounts/acube/sandbox",
        json={"callback_url": "https://erp.example.com/acube", "callback_api_key": "acube-key"},
    )
    assert registered.status_code == 200, registered.get_data(as_text=True)
    call = Caller(app)
    b2b = created(call, json_invoice(260))
    pa = created(call, sent_invoice(261, pa=True), "application/xml")
    advance(app, SENT_SECONDS)
    for uuid, kind in ((b2b, "NS"), (pa, "RC"), (pa, "NE")):
        call("simulateNotification", 201, path_parameters={"uuid": uuid}, body={"type": kind})
    received = call("simulateSupplierInvoice", 201, body={"recipient": SANDBOX_VAT}).json()["uuid"]
    call("notifyInvoice", path_parameters={"id": received})
    call("notifyInvoiceNotifications", path_parameters={"id": pa})
    advance(app, 1)

    seen: dict[str, set[str]] = defaultdict(set)
    for delivery in deliveries:
        event = delivery.url.removeprefix("https://erp.example.com/acube/")
        assert delivery.headers["Authorization"] == "acube-key", delivery.headers
        body = harness.webhook_body(schema.raw_schema, event, delivery)
        seen[event].add(str(body.get("marking") or body.get("type")))
    assert seen["supplier-invoice"] == {"delivered"}, dict(seen)
    assert {"sent", "rejected", "delivered-pa", "accepted-pa"} <= seen["customer-invoice"], dict(seen)
    assert seen["customer-notification"] == {"NS", "RC", "NE"}, dict(seen)


# -- stateful ---------------------------------------------------------------------------------------

WORKFLOW_OPERATIONS = [
    "login",
    "listInvoices",
    "createInvoice",
    "getInvoice",
    "listInvoiceNotifications",
    "getNotification",
    "simulateNotification",
    "createDraftInvoice",
    "getDraftInvoice",
    "updateDraftInvoice",
    "sendDraftInvoice",
    "deleteDraftInvoice",
    "simulateSupplierInvoice",
    "setInvoicesDownloaded",
    "notifyInvoice",
    "notifyInvoiceNotifications",
    "archiveRejectedInvoice",
    "preserveInvoice",
    "getPreservedDocument",
]
STATEFUL_SCENARIOS = 10
STATEFUL_STEPS = 8
# Virtual seconds between two steps: a created invoice is sent to the SDI after 5, so the next step
# finds it sent and the simulator may notify it.
STEP_SECONDS = 10
SIMULATED = ["NS", "RC", "MC", "NE", "DT", "AT"]
# Every stateful case is positive (the hook below writes valid bodies over the generated ones, which
# Schemathesis' metadata would still count as negative): no negative_data_rejection here.
STATEFUL_CHECKS = [check for check in ACUBE_CHECKS if check is not negative_data_rejection]


def stateful_schema(app: harness.ScenarioApp) -> Any:
    """The workflow operations with positive data: the account's credentials, valid invoices."""

    def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
        kind = operation_id(case)
        seed = zlib.crc32(repr(case.body).encode()) % 100
        if kind == "login":
            case.body = dict(CREDENTIALS)
        elif kind == "createInvoice":
            # Random bodies are not invoices: half of them the JSON form, half the XML.
            if seed % 2:
                case.body, case.media_type = json_invoice(300 + seed), "application/json"
            else:
                case.body, case.media_type = sent_invoice(300 + seed), "application/xml"
        elif kind in ("createDraftInvoice", "updateDraftInvoice"):
            case.body, case.media_type = json_invoice(400 + seed), "application/json"
        elif kind == "simulateNotification":
            case.body = {"type": SIMULATED[seed % len(SIMULATED)]}
        elif kind == "simulateSupplierInvoice":
            case.body = {"recipient": SANDBOX_VAT, "signed": bool(seed % 2)}
        elif kind == "listInvoices":
            # Random filters would hide the scenario's invoices from the list that feeds the links;
            # the per-operation test covers them.
            case.query = {}
            case.headers = {
                name: value for name, value in (case.headers or {}).items() if name.lower() != "accept"
            }
        return case

    assert app.session is not None
    return harness.workflow_schema(
        CONTRACT, WORKFLOW_OPERATIONS, app, contract_config(), app.session, [map_case]
    )


def test_workflow_through_the_links() -> None:
    app = harness.ScenarioApp(STEP_SECONDS, session())
    statuses = harness.run_workflow(
        stateful_schema(app),
        app,
        lambda case, response, **transport: validated(case, response, STATEFUL_CHECKS, **transport),
        scenarios=STATEFUL_SCENARIOS,
        steps=STATEFUL_STEPS,
        key=operation_id,
    )
    # The run went all the way: the links led from created invoices to reads that answer 200, and
    # time passed along them until the simulator could notify them.
    reached = {(operation, status) for operation, seen in statuses.items() for status in seen}
    wanted = {
        ("createInvoice", 202),
        ("getInvoice", 200),
        ("listInvoiceNotifications", 200),
        ("simulateNotification", 201),
        ("createDraftInvoice", 201),
        ("getDraftInvoice", 200),
        ("simulateSupplierInvoice", 201),
    }
    assert wanted <= reached, (wanted - reached, dict(statuses))
