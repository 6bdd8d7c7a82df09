"""contracts/openapi.yaml against the sandbox, in-process: every operation, real-id chains, a stateful run.

The per-operation test sends positive and negative data to every operation with the ``sandbox``
account's ready-made Bearer token. The account is set up first: a configuration for 31847260010
with customer_invoice, supplier_invoice and receipts on (a store, a cash register, callbacks), one
for 31847270100, an invoice sent and followed to DONE, one imported, a receipt issued. Half of the
positive cases are steered to name what the account holds (ids, fiscal ids) or to carry a valid
body (an invoice XML, an import, a receipt), so every read is also seen answering 200.

The chain tests call the operations with real ids, validating every answer against the contract:
token → configure → send an invoice → SENT → DONE → get / list with filters → import → validate →
receipt create → ready → return → void; the errors of each. The webhooks the sandbox sends are
validated against the contract's ``webhooks``, and the contract's examples against their own
schemas.

The stateful test follows the contract's links on fresh sandboxes (configure → get / patch /
delete; send / import → get; receipt → get / return / void), with virtual time passing between
steps.
"""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import schemathesis
from flask import Flask
from schemathesis.specs.openapi.checks import negative_data_rejection

from emulator.app import create_app
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from tests.conftest import make_config
from tests.contracts import CHECKS, CONTRACTS, contract_config, harness
from tests.contracts.harness import advance, capture, pick

CONTRACT = CONTRACTS / "openapi.yaml"
PREFIX = "/openapi"
TOKEN = "0605df661073c2a58bb2908a3537beb624c1dfe9"  # openapi/sandbox, ready-made
OTHER_TOKEN = "f5d4c497810ec9a7c565826b9be96e720a260dd9"  # openapi/other
SANDBOX_VAT = "31847260010"
SECOND_VAT = "31847270100"
OTHER_VAT = "27609130722"
CUSTOMER_VAT = "01879020517"
UNKNOWN_VAT = "01234567890"
BASIC = "Basic " + base64.b64encode(b"sandbox@example.com:sandbox").decode()
HOOKS = "https://erp.example.com/openapi"
ADDRESS = {
    "street_address": "Via del Corso",
    "street_number": "12",
    "zip_code": "00186",
    "city": "Roma",
    "province": "RM",
}
EVENTS = (
    "customer-invoice",
    "supplier-invoice",
    "receipt",
    "receipt-retry",
    "receipt-error",
    "receipt-credentials",
)
# Booked → SENT within 60 s; the SDI's RC (B2B) comes after it; DONE well within 15 minutes.
SENT_SECONDS = 61
DONE_SECONDS = 900
# A receipt goes new → ready once the tax agency takes it.
READY_SECONDS = 120


def configuration(fiscal_id: str = SANDBOX_VAT, **changes: Any) -> dict[str, Any]:
    """A complete configuration body: every switch on, a store with a cash register, every callback."""
    return {
        "fiscal_id": fiscal_id,
        "name": "Sandbox S.r.l.",
        "email": "sandbox@example.com",
        "receipts": True,
        "customer_invoice": True,
        "supplier_invoice": True,
        "merchant_address": ADDRESS,
        "stores": [{"label": "Negozio", "address": ADDRESS, "cash_registers": [{"label": "Cassa 1"}]}],
        "receipts_authentication": {"taxCode": "GRCDVD83R05L219E", "password": "secret", "pin": "1234"},
        "api_configurations": [
            {"event": event, "callback": {"url": f"{HOOKS}/{event}", "retry": 1, "custom": {"erp": event}}}
            for event in EVENTS
        ],
        **changes,
    }


@cache
def invoice_xml(seed: int, *, supplier: str = SANDBOX_VAT, customer: str = CUSTOMER_VAT) -> bytes:
    """A FatturaPA TD01 from ``supplier`` to ``customer``, numbered after ``seed``."""
    return (
        InvoiceGenerator(seed)
        .generate(
            supplier=PartySpec(vat=supplier, fiscal_code=supplier, name="Fornitore S.r.l."),
            customer=PartySpec(vat=customer, name="Cliente S.p.A."),
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            number=f"{seed}/2026",
            recipient_code="PIC7CPS" if customer in (SANDBOX_VAT, SECOND_VAT) else "M5UXCR1",
        )
        .xml
    )


def receipt(seed: int = 0, fiscal_id: str = SANDBOX_VAT) -> dict[str, Any]:
    """A sale of two items paid in cash (amounts after ``seed``)."""
    price = 5 + seed % 20
    return {
        "fiscal_id": fiscal_id,
        "items": [
            {"quantity": 2, "description": "Pizza", "unit_price": price, "vat_rate_code": "10"},
            {"quantity": 1, "description": "Bibita", "unit_price": 3, "vat_rate_code": "22"},
        ],
        "cash_payment_amount": 2 * price + 3,
    }


# -- what the schemas cannot say ------------------------------------------------------------------


# The published document names no operation: its operations by method and path, as the contract names them.
OPERATION_IDS = {
    "GET /IT-configurations": "listConfigurations",
    "POST /IT-configurations": "createConfiguration",
    "GET /IT-configurations/{fiscal_id}": "getConfiguration",
    "PATCH /IT-configurations/{fiscal_id}": "patchConfiguration",
    "DELETE /IT-configurations/{fiscal_id}": "deleteConfiguration",
    "GET /IT-invoices": "listInvoices",
    "POST /IT-invoices": "sendInvoice",
    "GET /IT-invoices/{id}": "getInvoice",
    "POST /IT-invoices_import": "importInvoice",
    "POST /IT-invoices_validate": "validateInvoice",
    "GET /IT-receipts": "listReceipts",
    "POST /IT-receipts": "createReceipt",
    "GET /IT-receipts/{id}": "getReceipt",
    "PATCH /IT-receipts/{id}": "returnReceiptItems",
    "DELETE /IT-receipts/{id}": "voidReceipt",
}


def operation_id(case: schemathesis.Case) -> str:
    named = case.operation.definition.raw.get("operationId")
    return str(named or OPERATION_IDS[f"{case.operation.method.upper()} {case.operation.path}"])


def json_answer(response: schemathesis.Response, case: schemathesis.Case) -> Any:
    return harness.json_answer(response, case, lambda media: "json" in media)


def resources(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """What is asked for by id is that one; lists hold only what their filters name; 401 says Bearer."""
    if response.status_code == 401 and response.request.method == case.method.upper():
        assert operation_id(case) == "createToken" or response.headers.get("www-authenticate") == ["Bearer"]
    body = json_answer(response, case)
    if response.status_code != 200 or not isinstance(body, dict):
        return
    kind, data = operation_id(case), body.get("data")
    parameters, query = case.path_parameters or {}, case.query or {}
    if kind in ("getInvoice", "getReceipt"):
        assert data["id"] == parameters["id"], (data["id"], parameters["id"])
    elif kind in ("getConfiguration", "patchConfiguration", "patchStore", "patchCashRegister"):
        assert data["fiscal_id"] == parameters["fiscal_id"], (data["fiscal_id"], parameters)
    elif kind in ("returnReceiptItems", "voidReceipt"):
        assert data["parent_receipt_id"] == parameters["id"], data
        assert data["type"] == ("return" if kind == "returnReceiptItems" else "void"), data
    elif kind == "listInvoices":
        for name in ("fiscal_id", "document_number", "type"):
            if isinstance(query.get(name), str) and query[name]:
                assert all(item[name] == query[name] for item in data), (name, query[name])
        if isinstance(query.get("limit"), int):
            assert len(data) <= query["limit"]
    elif kind == "listReceipts":
        if isinstance(query.get("fiscal_id"), str) and query["fiscal_id"]:
            assert all(item["fiscal_id"] == query["fiscal_id"] for item in data)
        if isinstance(query.get("limit"), int):
            assert len(data) <= query["limit"]


OPENAPI_CHECKS = [*CHECKS, resources]
STATEFUL_CHECKS = [check for check in OPENAPI_CHECKS if check is not negative_data_rejection]


# -- known defects of files this suite does not own ------------------------------------------------


def tolerated(case: schemathesis.Case, failure: Exception) -> bool:
    # Schemathesis itself found no invalid component: a case of the negative phase whose only
    # mutations could not apply (a free-form string header) and whose body the steering made a real
    # invoice. Nothing to reject.
    return (
        getattr(failure, "title", None) == "Schema-violating request accepted"
        and "positive test case" in str(failure)
    )


def validated(
    case: schemathesis.Case,
    response: schemathesis.Response,
    checks: list[Any] | None = None,
    **transport: Any,
) -> None:
    """``case.validate_response`` with the suite's checks, the known defects left out."""
    harness.validated(case, response, checks or OPENAPI_CHECKS, tolerated=tolerated, **transport)


def bearer(schema: Any, token: str = TOKEN) -> None:
    """Every generated case carries the token (the OAuth call Basic credentials)."""
    harness.authorize(
        schema, lambda case: BASIC if operation_id(case) == "createToken" else f"Bearer {token}"
    )


# -- the account's data ----------------------------------------------------------------------------


@dataclass
class Held:
    invoices: list[str] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)
    registers: list[str] = field(default_factory=list)


def raw(app: Flask, method: str, path: str, token: str = TOKEN, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return app.test_client().open(f"{PREFIX}{path}", method=method, headers=headers, **kwargs)


def seed_account(app: Flask) -> Held:
    """Configure both companies, send an invoice to DONE, import one, issue a receipt."""
    for fiscal_id in (SANDBOX_VAT, SECOND_VAT):
        answer = raw(app, "POST", "/IT-configurations", json=configuration(fiscal_id))
        assert answer.status_code == 200, answer.get_data(as_text=True)
    store = answer.get_json()["data"]["stores"][0]
    held = Held(stores=[store["store_id"]], registers=[store["cash_registers"][0]["cr_id"]])
    sent = raw(app, "POST", "/IT-invoices", data=invoice_xml(1), content_type="application/xml")
    assert sent.status_code == 200, sent.get_data(as_text=True)
    held.invoices.append(sent.get_json()["data"]["id"])
    incoming = invoice_xml(2, supplier=CUSTOMER_VAT, customer=SANDBOX_VAT)
    imported = raw(app, "POST", "/IT-invoices_import", json={"invoice": base64.b64encode(incoming).decode()})
    assert imported.status_code == 200, imported.get_data(as_text=True)
    held.invoices.append(imported.get_json()["data"]["id"])
    issued = raw(app, "POST", "/IT-receipts", json=receipt())
    assert issued.status_code == 200, issued.get_data(as_text=True)
    held.receipts.append(issued.get_json()["data"]["id"])
    held.items.extend(item["id"] for item in issued.get_json()["data"]["items"])
    advance(app, DONE_SECONDS)
    assert raw(app, "GET", f"/IT-invoices/{held.invoices[0]}").get_json()["data"]["state"] == "DONE"
    return held


def steer(held: Held) -> Callable[[Any, schemathesis.Case], schemathesis.Case]:
    """A map_case hook: half of the positive cases name what the account holds or carry a valid body."""
    counter = iter(range(1000, 100000))

    def hook(context: Any, case: schemathesis.Case) -> schemathesis.Case:
        if not harness.positive(case):
            return case
        kind = operation_id(case)
        parameters = case.path_parameters if isinstance(case.path_parameters, dict) else {}
        query = case.query if isinstance(case.query, dict) else {}
        body = case.body
        if "fiscal_id" in parameters and (real := pick((SECOND_VAT, SANDBOX_VAT), parameters["fiscal_id"])):
            # The first company keeps its switches: PATCH and DELETE are steered to the second.
            parameters["fiscal_id"] = (
                SECOND_VAT if kind in ("patchConfiguration", "deleteConfiguration") else real
            )
        if "store_id" in parameters and (store := pick(held.stores, parameters["store_id"])):
            parameters["fiscal_id"] = SECOND_VAT
            parameters["store_id"] = store
        if "cr_id" in parameters and (register := pick(held.registers, parameters["cr_id"])):
            parameters["cr_id"] = register
        if "id" in parameters:
            choices = held.invoices if kind == "getInvoice" else held.receipts
            if (real := pick(choices, parameters["id"])) is not None:
                parameters["id"] = real
        if isinstance(query.get("fiscal_id"), str) and (real := pick((SANDBOX_VAT,), query["fiscal_id"])):
            query["fiscal_id"] = real
        if kind in ("sendInvoice", "validateInvoice") and pick(("xml",), body):
            case.body = invoice_xml(next(counter))
        elif kind == "importInvoice" and pick(("xml",), body):
            number = next(counter)
            xml = (
                invoice_xml(number, supplier=CUSTOMER_VAT, customer=SANDBOX_VAT)
                if number % 2
                else invoice_xml(number)
            )
            case.body = {"invoice": base64.b64encode(xml).decode() if number % 3 else xml.decode()}
        elif kind == "createReceipt" and pick(("sale",), body):
            case.body = receipt(next(counter))
        elif kind == "returnReceiptItems" and pick(("items",), body):
            case.body = {"items": [{"id": held.items[0], "quantity": 1}]}
        elif kind == "createToken" and pick(("scopes",), body):
            case.body = {"scopes": ["*:test.invoice.openapi.com/"], "ttl": 3600}
        return case

    return hook


# -- every operation ------------------------------------------------------------------------------

PER_OPERATION_EXAMPLES = 15
OPERATIONS = 18

APP = create_app(make_config())
_close_app = harness.closing(APP)
DELIVERIES = capture(APP)
HELD = seed_account(APP)
schema = harness.operation_schema(
    CONTRACT, APP, contract_config(max_examples=PER_OPERATION_EXAMPLES), bearer, steer(HELD)
)


@schema.parametrize()
def test_operation_conforms(case: schemathesis.Case) -> None:
    validated(case, case.call())


def test_every_operation_is_tested() -> None:
    harness.assert_operations(schema, OPERATIONS)


# -- chains with real ids ----------------------------------------------------------------------------


class Caller(harness.Caller):
    """Calls operations of the contract on one app as one account, validating every answer."""

    def __init__(self, app: Flask, token: str | None = TOKEN) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__(app, schema, validated, headers, shown=300)


app = harness.app_fixture(capture)


def test_both_lists_refuse_a_limit_over_100() -> None:
    assert raw(APP, "GET", "/IT-invoices?limit=101").status_code == 400
    answer = raw(APP, "GET", "/IT-receipts?limit=101")
    assert answer.status_code == 400, (answer.status_code, answer.get_data(as_text=True)[:200])


def error_of(response: schemathesis.Response) -> tuple[int, str]:
    body = response.json()
    return body["error"], body["message"]


def test_token_chain(app: Flask) -> None:
    """A token from the OAuth call works within its scopes; another scope is 403; no token 401."""
    call = Caller(app, None)
    scoped = {"scopes": ["GET:test.invoice.openapi.com/IT-configurations"], "ttl": 60, "name": "erp"}
    token = call("createToken", body=scoped, headers={"Authorization": BASIC}).json()["data"]
    assert token["scopes"] == scoped["scopes"] and token["name"] == "erp"
    call(
        "createToken",
        401,
        body=scoped,
        headers={"Authorization": "Basic " + base64.b64encode(b"x:y").decode()},
    )
    call("createToken", 422, body={"scopes": []}, headers={"Authorization": BASIC})
    mine = Caller(app, token["token"])
    assert mine("listConfigurations").json()["data"] == []
    mine("listInvoices", 403)
    advance(app, 61)
    mine("listConfigurations", 401)
    call("listConfigurations", 401)
    Caller(app, "nope")("listReceipts", 401)


def test_configuration_chain(app: Flask) -> None:
    """create → get → list → patch (switches, callbacks, store, cash register) → delete; the errors."""
    call = Caller(app)
    created = call("createConfiguration", body=configuration(SECOND_VAT)).json()["data"]
    assert created["fiscal_id"] == SECOND_VAT and created["active"] is True
    assert created["receipts_authentication"] == {"taxCode": "GRCDVD83R05L219E"}
    call("createConfiguration", 409, body=configuration(SECOND_VAT))
    assert error_of(call("createConfiguration", 403, body=configuration(OTHER_VAT))) == (
        403,
        "Unauthorized access",
    )
    assert error_of(call("createConfiguration", 404, body=configuration(UNKNOWN_VAT)))[0] == 111
    call("createConfiguration", 422, body=configuration(SANDBOX_VAT, receipts=True, merchant_address=None))
    assert call("getConfiguration", path_parameters={"fiscal_id": SECOND_VAT}).json()["data"] == created
    assert [item["fiscal_id"] for item in call("listConfigurations").json()["data"]] == [SECOND_VAT]
    call("getConfiguration", 404, path_parameters={"fiscal_id": SANDBOX_VAT})
    call("getConfiguration", 403, path_parameters={"fiscal_id": OTHER_VAT})

    path = {"fiscal_id": SECOND_VAT}
    patch = {"supplier_invoice": False, "api_configurations": [{"event": "receipt", "callback": None}]}
    patched = call("patchConfiguration", path_parameters=path, body=patch).json()["data"]
    assert patched["supplier_invoice"] is False
    assert "receipt" not in {item["event"] for item in patched["api_configurations"]}
    assert (
        error_of(call("patchConfiguration", 400, path_parameters=path, body={"email": "x@example.com"}))[0]
        == 670
    )
    store = patched["stores"][0]
    renamed = call(
        "patchStore", path_parameters={**path, "store_id": store["store_id"]}, body={"label": "Centro"}
    ).json()["data"]
    assert renamed["stores"][0]["label"] == "Centro"
    register = {**path, "store_id": store["store_id"], "cr_id": store["cash_registers"][0]["cr_id"]}
    again = call("patchCashRegister", path_parameters=register, body={"label": "Cassa 9"}).json()["data"]
    assert again["stores"][0]["cash_registers"][0]["label"] == "Cassa 9"
    call("patchStore", 404, path_parameters={**path, "store_id": "0" * 24}, body={"label": "X"})
    call("patchCashRegister", 404, path_parameters={**register, "cr_id": "0" * 24}, body={"label": "X"})

    deleted = call("deleteConfiguration", path_parameters=path).json()
    assert deleted["message"] == f"Deleted configuration for id: {SECOND_VAT}" and deleted["data"] is None
    call("deleteConfiguration", 404, path_parameters=path)
    Caller(app, OTHER_TOKEN)("getConfiguration", 403, path_parameters={"fiscal_id": SANDBOX_VAT})


def test_invoice_chain(app: Flask) -> None:
    """configure → send → NEW/BOOKED → SENT → DONE → get / list with filters; the errors."""
    call = Caller(app)
    call("sendInvoice", 404, body=invoice_xml(10))
    call("createConfiguration", body=configuration(customer_invoice=False))
    call("sendInvoice", 403, body=invoice_xml(10))
    call("patchConfiguration", path_parameters={"fiscal_id": SANDBOX_VAT}, body={"customer_invoice": True})
    sent = call("sendInvoice", body=invoice_xml(10)).json()["data"]
    assert (sent["state"], sent["details"]["sdi_status"], sent["direction"]) == ("NEW", "BOOKED", "outgoing")
    uuid = sent["id"]
    call("sendInvoice", 400, body=b"<nope/>")
    call("sendInvoice", 415, body={"invoice": "x"})
    call("sendInvoice", 403, body=invoice_xml(11, supplier=OTHER_VAT))
    advance(app, SENT_SECONDS)
    found = call("getInvoice", path_parameters={"id": uuid}).json()["data"]
    assert (found["state"], found["details"]["sdi_status"]) == ("SENT", "SENT"), found["details"]
    advance(app, DONE_SECONDS)
    done = call("getInvoice", path_parameters={"id": uuid}).json()["data"]
    assert done["state"] == "DONE" and done["details"]["sdi_status"] == "DELIVERED", done["details"]
    assert done["details"]["sdi_id"], done["details"]

    listed = call(
        "listInvoices", query={"state": ["DONE", "ERROR"], "direction": ["outgoing"], "limit": 5}
    ).json()
    assert [item["id"] for item in listed["data"]] == [uuid]
    assert call("listInvoices", query={"state": ["NEW"]}).json()["data"] == []
    by_date = {
        "issue_date[after]": "2026-02-01",
        "issue_date[before]": "2026-04-01",
        "fiscal_id": SANDBOX_VAT,
    }
    assert [item["id"] for item in call("listInvoices", query=by_date).json()["data"]] == [uuid]
    assert call("listInvoices", query={"skip": 1}).json()["data"] == []
    assert (
        call("listInvoices", query={"document_number": "10/2026", "type": "TD01"}).json()["data"][0]["id"]
        == uuid
    )
    call("listInvoices", 400, query={"limit": 101})
    call("getInvoice", 404, path_parameters={"id": "0" * 24})
    Caller(app, OTHER_TOKEN)("getInvoice", 404, path_parameters={"id": uuid})


def test_import_and_validate_chain(app: Flask) -> None:
    """import raw and base64, both directions, duplicates refused; validate 200 / 422 / 400."""
    call = Caller(app)
    call("createConfiguration", body=configuration())
    incoming = invoice_xml(20, supplier=CUSTOMER_VAT, customer=SANDBOX_VAT)
    details = {"sdi_id": "987654321", "sdi_filename": "IT01879020517_0000A.xml"}
    received = call(
        "importInvoice", body={"invoice": base64.b64encode(incoming).decode(), "details": details}
    ).json()["data"]
    assert (received["direction"], received["state"]) == ("incoming", "RECEIVED"), received
    assert call("getInvoice", path_parameters={"id": received["id"]}).json()["data"]["id"] == received["id"]
    call("importInvoice", 400, body={"invoice": base64.b64encode(incoming).decode()})
    outgoing = call(
        "importInvoice", body={"invoice": invoice_xml(21).decode(), "details": {"sdi_status": "DELIVERED"}}
    ).json()["data"]
    assert (outgoing["direction"], outgoing["state"]) == ("outgoing", "DONE"), outgoing
    call("importInvoice", 400, body={"invoice": "not xml"})
    stranger = invoice_xml(22, supplier=CUSTOMER_VAT, customer=UNKNOWN_VAT)
    call("importInvoice", 404, body={"invoice": stranger.decode()})
    assert {item["id"] for item in call("listInvoices").json()["data"]} == {received["id"], outgoing["id"]}
    assert [i["id"] for i in call("listInvoices", query={"direction": ["incoming"]}).json()["data"]] == [
        received["id"]
    ]

    valid = call("validateInvoice", body=invoice_xml(23)).json()["data"]
    assert valid["valid"] is True
    invalid = call("validateInvoice", 422, body=b"<a/>").json()
    assert invalid["error"] == 422 and invalid["errors"], invalid
    call("validateInvoice", 400, body=b"")
    assert len(call("listInvoices").json()["data"]) == 2


def test_receipt_chain(app: Flask) -> None:
    """configure → create → ready → get (JSON, PDF) → list → return → void refused → void a new one."""
    call = Caller(app)
    call("createReceipt", 404, body=receipt())
    call("createConfiguration", body=configuration())
    sale = call("createReceipt", body=receipt(1)).json()["data"]
    assert (sale["status"], sale["type"]) == ("new", "sale"), sale
    assert error_of(call("createReceipt", 400, body={"items": []}))[0] in (423, 424)
    assert error_of(call("createReceipt", 400, body={**receipt(1), "cash_payment_amount": 1}))[0] == 425
    advance(app, READY_SECONDS)
    ready = call("getReceipt", path_parameters={"id": sale["id"]}).json()["data"]
    assert ready["status"] == "ready" and ready["document_number"], ready
    pdf = call("getReceipt", path_parameters={"id": sale["id"]}, headers={"Accept": "application/pdf"})
    assert pdf.content.startswith(b"%PDF"), pdf.content[:10]
    assert [item["id"] for item in call("listReceipts", query={"type": ["sale"]}).json()["data"]] == [
        sale["id"]
    ]

    item = ready["items"][0]["id"]
    back = call(
        "returnReceiptItems",
        path_parameters={"id": sale["id"]},
        body={"items": [{"id": item, "quantity": 1}]},
    )
    returned = back.json()["data"]
    assert (returned["type"], returned["parent_receipt_id"]) == ("return", sale["id"]), returned
    call(
        "returnReceiptItems",
        400,
        path_parameters={"id": sale["id"]},
        body={"items": [{"id": item, "quantity": 9}]},
    )
    children = call("listReceipts", query={"parent_receipt_id": sale["id"]}).json()["data"]
    assert [child["id"] for child in children] == [returned["id"]]
    call("voidReceipt", 400, path_parameters={"id": sale["id"]})

    other = call("createReceipt", body=receipt(2)).json()["data"]
    advance(app, READY_SECONDS)
    voided = call("voidReceipt", path_parameters={"id": other["id"]}).json()["data"]
    assert (voided["type"], voided["parent_receipt_id"]) == ("void", other["id"]), voided
    call("getReceipt", 404, path_parameters={"id": "0" * 24})
    Caller(app, OTHER_TOKEN)("getReceipt", 404, path_parameters={"id": sale["id"]})


# -- the document's examples ------------------------------------------------------------------------


def test_the_documents_examples_are_valid() -> None:
    """Every example of the contract is valid against the schema it illustrates; the XML ones parse."""
    raw = schema.raw_schema
    examples = harness.documented_examples(raw, ("get", "post", "patch", "delete"))
    checked = harness.check_examples(
        raw, examples, lambda example: isinstance(example, str) and example.lstrip().startswith("<?xml")
    )
    assert checked >= 20, checked


def test_the_documents_examples_are_accepted(app: Flask) -> None:
    """The contract's configuration, invoice and receipt examples are taken by the sandbox."""
    call = Caller(app)
    examples = schema.raw_schema["components"]["examples"]
    call("createConfiguration", body=examples["ConfigurationCreate"]["value"])
    xml = examples["InvoiceXml"]["value"].encode()
    assert call("validateInvoice", body=xml).json()["data"]["valid"] is True
    call("sendInvoice", body=xml)
    call("createReceipt", body=examples["ReceiptCreate"]["value"])


# -- webhooks ---------------------------------------------------------------------------------------


def test_webhooks_conform(app: Flask) -> None:
    """Every webhook the sandbox sends is a POST the contract's ``webhooks`` describe, echoing custom."""
    deliveries = capture(app)
    call = Caller(app)
    call("createConfiguration", body=configuration())
    sent = call("sendInvoice", body=invoice_xml(30)).json()["data"]["id"]
    sale = call("createReceipt", body=receipt(3)).json()["data"]
    incoming = invoice_xml(31, supplier=CUSTOMER_VAT, customer=SANDBOX_VAT)
    sandbox = app.extensions["fattura_sandbox"]
    with sandbox.transaction() as session:
        sandbox.engine.receive(
            session,
            file_name="IT01879020517_00W31.xml",
            content=incoming,
            channel="sdicoop",
            sender_account_id=None,
            at=sandbox.clock.now(),
        )
    advance(app, DONE_SECONDS)
    call(
        "returnReceiptItems",
        path_parameters={"id": sale["id"]},
        body={"items": [{"id": sale["items"][0]["id"], "quantity": 1}]},
    )
    advance(app, READY_SECONDS)

    seen: dict[str, set[str]] = defaultdict(set)
    for delivery in deliveries:
        event = delivery.url.removeprefix(f"{HOOKS}/")
        assert event in EVENTS, delivery.url
        body = harness.webhook_body(schema.raw_schema, event, delivery)
        assert body.get("custom") == {"erp": event}, body.get("custom")
        data = body["data"]
        seen[event].add(
            f"{data.get('state') or data.get('type')}/{data.get('status') or data['details']['sdi_status']}"
        )
    customer = seen["customer-invoice"]
    assert {"NEW/BOOKED", "SENT/SENT", "DONE/DELIVERED"} <= customer, dict(seen)
    assert seen["supplier-invoice"] == {"RECEIVED/RECEIVED"}, dict(seen)
    assert any(item.startswith("sale/") for item in seen["receipt"]), dict(seen)
    assert any(item.startswith("return/") for item in seen["receipt"]), dict(seen)
    assert sent


# -- stateful ---------------------------------------------------------------------------------------

WORKFLOW_OPERATIONS = [
    "createConfiguration",
    "getConfiguration",
    "patchConfiguration",
    "deleteConfiguration",
    "sendInvoice",
    "importInvoice",
    "getInvoice",
    "createReceipt",
    "getReceipt",
    "returnReceiptItems",
    "voidReceipt",
]
STATEFUL_SCENARIOS = 20
STATEFUL_STEPS = 8
STEP_SECONDS = 70


def configured(app: Flask) -> None:
    """A fresh scenario's sandbox: webhooks captured, the first company configured."""
    capture(app)
    answer = raw(app, "POST", "/IT-configurations", json=configuration())
    assert answer.status_code == 200, answer.get_data(as_text=True)


def stateful_schema(app: harness.ScenarioApp) -> Any:
    def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
        kind = operation_id(case)
        seed = zlib.crc32(repr(case.body).encode()) % 1000
        if kind == "createConfiguration":
            case.body = configuration(SECOND_VAT)
        elif kind == "patchConfiguration":
            case.body = {"supplier_invoice": bool(seed % 2)}
        elif kind == "sendInvoice":
            case.body, case.media_type = invoice_xml(500 + seed), "application/xml"
        elif kind == "importInvoice":
            case.body = {
                "invoice": invoice_xml(2000 + seed, supplier=CUSTOMER_VAT, customer=SANDBOX_VAT).decode()
            }
        elif kind == "createReceipt":
            case.body = receipt(seed)
        elif kind == "returnReceiptItems" and case.path_parameters and app.app is not None:
            found = raw(app.app, "GET", f"/IT-receipts/{case.path_parameters['id']}")
            if found.status_code == 200:
                case.body = {"items": [{"id": found.get_json()["data"]["items"][0]["id"], "quantity": 1}]}
        return case

    return harness.workflow_schema(
        CONTRACT, WORKFLOW_OPERATIONS, app, contract_config(), bearer, [map_case], stateful_positive=True
    )


def test_workflow_through_the_links() -> None:
    app = harness.ScenarioApp(STEP_SECONDS, prepare=configured)
    statuses = harness.run_workflow(
        stateful_schema(app),
        app,
        # The stateful phase makes negative cases too, which the workflow's bodies make valid:
        # negative data is the per-operation test's business.
        lambda case, response, **transport: validated(case, response, STATEFUL_CHECKS, **transport),
        scenarios=STATEFUL_SCENARIOS,
        steps=STATEFUL_STEPS,
        key=operation_id,
    )
    # The links led from sent and imported invoices to reads that answer 200.
    assert 200 in statuses["getInvoice"], dict(statuses)
