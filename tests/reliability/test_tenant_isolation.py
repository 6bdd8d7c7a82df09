"""Tenant isolation, generated from the contracts.

Every operation of the four provider contracts is enumerated; each parameter (path, query, header)
and each top-level body field (or named request body) is looked up in IDENTIFIERS — which kind of
identifier it carries — or in NOT_IDENTIFIERS. A name in neither fails the test, and so does an
operation without identifiers that EXEMPT does not name: a new operation cannot be added without
isolation coverage.

Both tenants of each provider get real resources through the real APIs. For every operation ×
identifier the attacker (``sandbox``) calls with its own valid credentials, every other identifier
its own, and the attacked one the victim's (``other``): the answer is the contract's documented
refusal (404, else 403, else 400; REFUSED_WITH and REFUSED_IN_BODY name the operations that
document another), or, for a list filter, a list without the victim's resources; no answer holds
the victim's data, and the victim's view through the API is the same afterwards. The same request
with the attacker's own identifier is then served (or refused past the ownership check,
CONTROL_PASSED): the refusal was the ownership check, not a malformed request.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from emulator.app import create_app
from emulator.providers.acube.convert import xml_to_json
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from tests.conftest import XSD_DIR, advance, make_config

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
PROVIDERS = ("easytracking", "aruba", "acube", "openapi")
METHODS = ("get", "post", "put", "patch", "delete")
VERSIONED = re.compile(r"^/api/v\d+/")

# -- the table: which identifier each parameter or body field carries -------------------------------
# Kinds ending in "@" are resolved against the operation's path (RESOLVE), e.g. docIds name active
# documents on active-cycle paths and passive ones on passive-cycle paths.

IDENTIFIERS: dict[str, dict[str, str]] = {
    "easytracking": {
        "query:progressivoInvio": "progressivo",
        "query:ownerPIVA": "vat",
        "query:ownerCF": "cf",
        "query:receiverPIVA": "vat",
        "query:receiverCF": "cf",
        "path:jobId": "job@",
        "body:ElectronicInvoice": "supplier_vat",
        "body:NotificationIds": "notification_id",
        "body:DocIds": "doc@",
        "body:ProgressivoInvioList": "progressivo",
        "body:PassiveSelectType": "passive_doc",
    },
    "aruba": {
        "query:username": "username",
        "query:vatcodeSender": "vat@",
        "query:fiscalcodeSender": "vat@",
        "query:vatcodeReceiver": "vat@",
        "query:fiscalcodeReceiver": "vat@",
        "query:filename": "filename@",
        "query:invoiceFilename": "invoice_filename@",
        "query:invoiceId": "invoice_id@",
        "path:invoiceId": "invoice_id@",
        "body:dataFile": "supplier_vat",
        "body:filename": "in_filename",
        "body:sdiId": "in_sdi_id",
        "body:invoiceFileName": "out_filename",
        "body:TransmissionInfoRequest": "transmission_request",
    },
    "acube": {
        "path:id": "uuid@",
        "path:uuid": "uuid@",
        "query:sender": "vat",
        "query:recipient": "vat",
        "query:sender.business_vat_number_code": "vat",
        "query:sender.business_vat_number_code[]": "vat",
        "query:sender.business_fiscal_code": "vat",
        "query:sender.business_fiscal_code[]": "vat",
        "query:recipient.business_vat_number_code": "vat",
        "query:recipient.business_vat_number_code[]": "vat",
        "query:recipient.business_fiscal_code": "vat",
        "query:recipient.business_fiscal_code[]": "vat",
        "query:invoice_number": "invoice_number",
        "body:uuids": "out_uuid",
        "body:recipient": "vat",
        "body:xml": "supplier_vat",
        "body:fattura_elettronica_header": "supplier_vat",
        "body:NewInvoice": "supplier_vat",
    },
    "openapi": {
        "path:fiscal_id": "fiscal_id",
        "path:store_id": "store_id",
        "path:cr_id": "cr_id",
        "path:id": "id@",
        "query:fiscal_id": "fiscal_id",
        "query:document_number": "document_number@",
        "query:parent_receipt_id": "receipt_id",
        "body:fiscal_id": "fiscal_id",
        "body:xml": "supplier_vat",
        "body:invoice": "customer_vat",
        "body:items": "receipt_item",
    },
}

# Parameters that select nothing of a tenant's: pagination, dates, flags, formats, credentials.
NOT_IDENTIFIERS: dict[str, set[str]] = {
    "easytracking": {
        "query:top",
        "query:fase1",
        "query:fase2",
        "query:invoiceDateFrom",
        "query:invoiceDateTo",
        "query:invoiceReceivedDateTimeFrom",
        "query:invoiceReceivedDateTimeTo",
        "body:apiName",
        "body:clientName",
        "body:clientSecret",
        "body:username",
        "body:password",
    },
    "aruba": {
        "query:page",
        "query:size",
        "query:startDate",
        "query:endDate",
        "query:countrySender",
        "query:countryReceiver",
        "query:includePdf",
        "query:includeFile",
        "header:Range",
        "body:credential",
        "body:domain",
        "body:esito",
        "body:numero",
        "body:anno",
        "body:posizione",
        "body:descrizione",
        "body:messageId",
        "body:notificationType",
        "body:countryReceiver",
        # New messages to send, not references.
        "body:TransmissionRequest",
        # The customer of a simulated incoming invoice: any supplier may invoice any VAT number and
        # the SDI delivers it to its owner, another tenant too (as an upload to that customer would).
        "body:vatcodeReceiver",
        "body:fiscalcodeReceiver",
    },
    "acube": {
        "body:email",
        "body:password",
        "body:downloaded",
        "body:fattura_elettronica_body",
        "body:type",
        "body:outcome",
        "body:errors",
        "body:signed",
        "header:X-PrintTheme",
        "query:dynamic[head-notes]",
        "query:dynamic[foot-notes]",
        "query:signed",
        "query:downloaded",
        "query:stamp",
        "query:toPa",
        "query:type",
        "query:rejectedToFix",
        "query:sender.business_name",
        "query:recipient.business_name",
        "query:marking",
        "query:marking[]",
        "query:document_type",
        "query:document_type[]",
        "query:order[invoice_date]",
        "query:order[invoice_number]",
        "query:page",
        "path:index",
        # Drafts may hold anything: their supplier is checked when sent (POST /invoices/draft/{id}/send).
        "body:DraftInvoice",
        "body:UpdatedDraftInvoice",
        *(
            f"query:{name}[{when}]"
            for name in ("created_at", "invoice_date")
            for when in ("before", "strictly_before", "after", "strictly_after")
        ),
    },
    "openapi": {
        "body:scopes",
        "body:ttl",
        "body:name",
        "body:email",
        "body:receipts",
        "body:customer_invoice",
        "body:supplier_invoice",
        "body:merchant_address",
        "body:stores",
        "body:receipts_authentication",
        "body:api_configurations",
        "body:label",
        "body:address",
        "body:cash_registers",
        "body:details",
        "body:cash_payment_amount",
        "body:electronic_payment_amount",
        "body:ticket_restaurant_payment_amount",
        "body:ticket_restaurant_quantity",
        "body:goods_uncollected_amount",
        "body:services_uncollected_amount",
        "body:invoice_issuing",
        "body:linked_receipt",
        "body:discount",
        "body:lottery_code",
        "body:tags",
        "header:X-Signature-User",
        "header:X-Signature-Password",
        "query:state",
        "query:direction",
        "query:type",
        "query:issue_date",
        "query:issue_date[before]",
        "query:issue_date[after]",
        "query:skip",
        "query:limit",
        "query:status",
        "query:created_at",
        "query:created_at[before]",
        "query:created_at[after]",
        "query:document_date",
        "query:document_date[before]",
        "query:document_date[after]",
    },
}

# Names that carry an identifier elsewhere but not in this operation ("METHOD path slot").
NOT_IDENTIFIERS_IN: dict[str, dict[str, str]] = {
    "easytracking": {},
    "aruba": {},
    "acube": {},
    "openapi": {"POST /IT-receipts body:items": "the lines of a new sale: they get their ids here"},
}

# Operations (path with /api/vN/ as /api/v*/) that carry no identifier, and why that is safe.
EXEMPT: dict[str, dict[str, str]] = {
    "easytracking": {
        "POST /api/Token/AccessToken": "sign-in: credentials, not a resource",
    },
    "aruba": {
        "POST /auth/signin": "sign-in: credentials, not a resource",
        "GET /auth/userInfo": "the caller's own profile, from its token",
        "POST /services/ClientRequest/CreateTransmissionRequest": "SOAP-like legacy call: a new message",
        "POST /services/ClientRequest/CreateTransmissionRequestList": "SOAP-like legacy call, new messages",
        "POST /services/sdisimulator/invoiceIn": "a new invoice to a customer, as any supplier may send",
    },
    "acube": {
        "POST /login": "sign-in: credentials, not a resource",
        "POST /invoices/convert": "converts a document between JSON and XML: reads and stores nothing",
        "POST /invoices/draft": "creates a new draft from the body",
        "POST /invoices/validate": "validates a document, stores nothing",
        "GET /invoices/report": "report of the caller's own invoices (filters as GET /invoices)",
        "GET /invoices/draft": "list of the caller's own drafts (filters as GET /invoices)",
    },
    "openapi": {
        "POST /oauth/tokens": "token issuing: credentials, not a resource",
        "GET /IT-configurations": "list of the caller's own configurations",
        "POST /IT-invoices_validate": "validates a document, stores nothing",
    },
}


@dataclass(frozen=True)
class Operation:
    provider: str
    method: str
    path: str
    slots: tuple[str, ...]  # "where:name" identifier slots
    refusals: frozenset[int]  # the documented 4xx
    required_query: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {VERSIONED.sub('/api/v*/', self.path)}"


def load(provider: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CONTRACTS / f"{provider}.yaml").read_text())
    return loaded


def resolve(document: dict[str, Any], node: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """A $ref'd node, with the name it was referenced by."""
    name = None
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = document["components"][section][name]
    return name, node


def slots_of(
    document: dict[str, Any], operation: dict[str, Any], common: list[Any]
) -> Iterator[tuple[str, bool]]:
    for raw in [*common, *operation.get("parameters", [])]:
        _, parameter = resolve(document, raw)
        yield f"{parameter['in']}:{parameter['name']}", bool(parameter.get("required"))
    if "requestBody" not in operation:
        return
    named, body = resolve(document, operation["requestBody"])
    if named is not None:
        yield f"body:{named}", True
        return
    for media, content in body.get("content", {}).items():
        _, schema = resolve(document, content.get("schema", {}))
        properties = schema.get("properties") or {}
        if not properties and "xml" in media:
            yield "body:xml", True
        for name in properties:
            yield f"body:{name}", name in schema.get("required", [])


def operations(provider: str) -> list[Operation]:
    document = load(provider)
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            slots, required = [], []
            key = f"{method.upper()} {VERSIONED.sub('/api/v*/', path)}"
            for slot, needed in dict.fromkeys(slots_of(document, item[method], item.get("parameters", []))):
                if f"{key} {slot}" in NOT_IDENTIFIERS_IN[provider]:
                    continue
                if slot in IDENTIFIERS[provider] and slot not in slots:
                    slots.append(slot)
                    if needed and slot.startswith("query:"):
                        required.append(slot)
            refusals = frozenset(int(code) for code in item[method]["responses"] if code.startswith("4"))
            found.append(Operation(provider, method, path, tuple(slots), refusals, tuple(required)))
    return found


def test_every_parameter_is_classified_and_every_operation_covered() -> None:
    """A contract name neither table knows, or an identifier-less operation not exempted, fails."""
    unknown, uncovered, stale = [], [], []
    for provider in PROVIDERS:
        document = load(provider)
        known = IDENTIFIERS[provider].keys() | NOT_IDENTIFIERS[provider]
        named: set[str] = set()
        for path, item in document["paths"].items():
            for method in METHODS:
                if method in item:
                    for slot, _ in slots_of(document, item[method], item.get("parameters", [])):
                        named.add(f"{method.upper()} {VERSIONED.sub('/api/v*/', path)} {slot}")
                        if slot not in known:
                            unknown.append(f"{provider} {method.upper()} {path} {slot}")
        keys = set()
        for operation in operations(provider):
            keys.add(operation.key)
            if not operation.slots and operation.key not in EXEMPT[provider]:
                uncovered.append(f"{provider} {operation.key}")
        stale += [f"{provider} {key}" for key in EXEMPT[provider] if key not in keys]
        stale += [f"{provider} {key}" for key in NOT_IDENTIFIERS_IN[provider] if key not in named]
    print(f"isolation matrix: {len(MATRIX)} operation × identifier cases")
    assert not unknown, f"parameters without an isolation classification: {unknown}"
    assert not uncovered, f"operations with no identifier and no exemption: {uncovered}"
    assert not stale, f"exemptions of operations or names the contracts no longer have: {stale}"


# -- the tenants' resources -------------------------------------------------------------------------


@dataclass
class Tenant:
    token: str
    ids: dict[str, str] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)  # strings only this tenant's data contains
    extra: dict[str, Any] = field(default_factory=dict)  # what a body builder needs besides ids

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def invoice_xml(
    seed: int,
    supplier: str,
    transmitter: str | None = None,
    customer: str = "01879020517",
    *,
    pa: bool = False,
) -> bytes:
    return (
        InvoiceGenerator(seed)
        .generate(
            supplier=PartySpec(vat=supplier, fiscal_code=supplier, name=f"Fornitore {seed} S.r.l."),
            customer=PartySpec(vat=customer, name="Cliente Prova S.p.A."),
            pa=pa,
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            number=f"{seed}/ISO",
            transmitter=("IT", transmitter or supplier),
            # UFABCD: a PA office outside the sandbox (no tenant's).
            recipient_code="UFABCD" if pa else "M5UXCR1",
        )
        .xml
    )


def ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200,)), (
        response.status_code,
        response.get_data(as_text=True),
    )
    return response


def incoming(client: FlaskClient, recipient: str, xml: bytes | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"recipient": recipient}
    if xml is not None:
        body["xml"] = xml.decode()
    delivered: dict[str, Any] = ok(client.post("/_sandbox/incoming-invoices", json=body), 201).get_json()[
        "invoices"
    ][0]
    return delivered


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seed_easytracking(app: Flask, client: FlaskClient, name: str, vat: str, cf: str, seed: int) -> Tenant:
    body = {
        "apiName": "openBusiness.scope.serviziweb.api",
        "clientName": "openBusiness.client.serviziweb.api",
        "clientSecret": "uKNtPmq49yjLkaYv",
        "username": name,
        "password": name,
    }
    tenant = Tenant(json.loads(ok(client.post("/easytracking/api/Token/AccessToken", json=body)).data))
    headers = {**tenant.auth(), "Content-Type": "application/xml"}
    sent = ok(
        client.post("/easytracking/api/v4/ActiveInvoices", data=invoice_xml(seed, vat), headers=headers)
    )
    progressivo = sent.get_json()["progressivoInvio"]
    received = incoming(client, vat)
    advance(client, 900)
    base = "/easytracking/api"
    active = ok(client.get(f"{base}/v4/DownloadInvoices/active-invoices", headers=tenant.auth())).get_json()
    passive = ok(
        client.get(f"{base}/v10/DownloadInvoices/passive-invoices", headers=tenant.auth())
    ).get_json()
    listed = ok(client.get(f"{base}/v4/InvoiceNotifications/new-active-notifications", headers=tenant.auth()))
    notification = str(listed.get_json()["notifications"][0]["notificationId"])
    doc = str(active["invoices"][0]["docId"])
    passive_doc = str(passive["invoices"][0]["id"])
    jobs = {
        "notification_job": ok(
            client.post(
                f"{base}/v4/InvoiceNotifications/jobs",
                json={"notificationIds": [int(notification)]},
                headers=tenant.auth(),
            ),
            200,
            202,
        ),
        "active_job": ok(
            client.post(
                f"{base}/v4/DownloadInvoices/active/doc-id/jobs",
                json={"docIds": [int(doc)]},
                headers=tenant.auth(),
            ),
            200,
            202,
        ),
        "passive_job": ok(
            client.post(
                f"{base}/v10/DownloadInvoices/jobs",
                json={"docIds": [int(passive_doc)]},
                headers=tenant.auth(),
            ),
            200,
            202,
        ),
    }
    tenant.ids = {
        "progressivo": progressivo,
        "vat": vat,
        "cf": cf,
        "supplier_vat": vat,
        "notification_id": notification,
        "active_doc": doc,
        "passive_doc": passive_doc,
        **{
            kind: str(job.get_json()["jobId"] if isinstance(job.get_json(), dict) else job.get_json())
            for kind, job in jobs.items()
        },
    }
    tenant.markers = {
        progressivo,
        vat,
        cf,
        received["file_name"],
        str(received["sdi_id"]),
        passive_doc,
        *(tenant.ids[k] for k in jobs),
    }
    return tenant


def resolve_easytracking(kind: str, op: Operation) -> str:
    path = op.path
    passive = "PassiveInvoices" in path or re.search(r"DownloadInvoices/jobs", path) is not None
    if kind == "job@":
        if "InvoiceNotifications" in path:
            return "notification_job"
        return "passive_job" if passive else "active_job"
    if kind == "doc@":
        return "passive_doc" if passive else "active_doc"
    return kind


def body_easytracking(op: Operation, values: dict[str, str], attacker: Tenant) -> dict[str, Any]:
    for slot, value in values.items():
        if slot == "body:ElectronicInvoice":
            return {"data": invoice_xml(77, value), "content_type": "application/xml"}
        if slot == "body:NotificationIds":
            return {"json": {"notificationIds": [int(value)]}}
        if slot == "body:DocIds":
            return {"json": {"docIds": [int(value)]}}
        if slot == "body:ProgressivoInvioList":
            return {"json": {"progressivoInvio": [value]}}
        if slot == "body:PassiveSelectType":
            return {"json": {"docIds": [int(value)], "fatturaOriginale": True}}
    return {}


def view_easytracking(client: FlaskClient, victim: Tenant) -> list[Any]:
    base = "/easytracking/api"
    return [
        client.get(f"{base}/v4/DownloadInvoices/active-invoices", headers=victim.auth()).get_json(),
        client.get(f"{base}/v10/DownloadInvoices/passive-invoices", headers=victim.auth()).get_json(),
        client.get(
            f"{base}/v4/InvoiceNotifications?progressivoInvio={victim.ids['progressivo']}",
            headers=victim.auth(),
        ).get_json(),
    ]


def no_query(op: Operation, attacker: Tenant) -> dict[str, str]:
    return {}


@dataclass
class Provider:
    name: str
    prefix: str
    seed: Callable[[Flask, FlaskClient], tuple[Tenant, Tenant]]  # attacker, victim
    resolve: Callable[[str, Operation], str]  # an identifier kind → the key of Tenant.ids
    body: Callable[[Operation, dict[str, str], Tenant], dict[str, Any]]  # slot values, attacker
    view: Callable[[FlaskClient, Tenant], list[Any]]
    query: Callable[[Operation, Tenant], dict[str, str]] = no_query  # the attacker's required filters
    config: dict[str, Any] = field(default_factory=dict)


def seed_both_easytracking(app: Flask, client: FlaskClient) -> tuple[Tenant, Tenant]:
    return (
        seed_easytracking(app, client, "sandbox", "09382170158", "BNCMRC78E14F205D", 11),
        seed_easytracking(app, client, "other", "14725830377", "FRRGLI85P63A944A", 12),
    )


# -- Openapi.it ------------------------------------------------------------------------------------

OPENAPI_TOKENS = {
    "sandbox": "0605df661073c2a58bb2908a3537beb624c1dfe9",
    "other": "f5d4c497810ec9a7c565826b9be96e720a260dd9",
}
ADDRESS = {
    "street_address": "Via Roma",
    "street_number": "1",
    "zip_code": "00100",
    "city": "Roma",
    "province": "RM",
}
# Two of one line: two returns of one each (the PATCH matrix's two controls) are allowed.
SALE_ITEMS = [{"quantity": 2, "description": "Caffe", "unit_price": 1.2, "vat_rate_code": "10"}]


def seed_openapi_tenant(client: FlaskClient, name: str, vat: str, seed: int) -> Tenant:
    tenant = Tenant(OPENAPI_TOKENS[name])
    config = {
        "fiscal_id": vat,
        "name": f"{name} S.r.l.",
        "email": f"{name}@example.com",
        "receipts": True,
        "customer_invoice": True,
        "supplier_invoice": True,
        "merchant_address": ADDRESS,
        "stores": [{"label": "Negozio", "address": ADDRESS, "cash_registers": [{"label": "Cassa 1"}]}],
        "receipts_authentication": {"taxCode": "GRCDVD83R05L219E", "password": "secret", "pin": "1234"},
    }
    made = ok(client.post("/openapi/IT-configurations", json=config, headers=tenant.auth())).get_json()[
        "data"
    ]
    store = made["stores"][0]
    sent = ok(
        client.post(
            "/openapi/IT-invoices",
            data=invoice_xml(seed, vat),
            content_type="application/xml",
            headers=tenant.auth(),
        )
    ).get_json()["data"]
    sale = {"fiscal_id": vat, "items": SALE_ITEMS, "cash_payment_amount": 2.4}
    issued, voidable = (
        ok(client.post("/openapi/IT-receipts", json=sale, headers=tenant.auth())).get_json()["data"]
        for _ in range(2)
    )
    tenant.ids = {
        "fiscal_id": vat,
        "supplier_vat": vat,
        "customer_vat": vat,
        "store_id": store["store_id"],
        "cr_id": store["cash_registers"][0]["cr_id"],
        "invoice_id": sent["id"],
        "receipt_id": issued["id"],
        "void_receipt": voidable["id"],
        "receipt_item": issued["items"][0]["id"],
        "document_number": f"{seed}/ISO",
    }
    tenant.markers = {
        vat,
        sent["id"],
        issued["id"],
        voidable["id"],
        issued["items"][0]["id"],
        store["store_id"],
    }
    return tenant


def seed_both_openapi(app: Flask, client: FlaskClient) -> tuple[Tenant, Tenant]:
    tenants = (
        seed_openapi_tenant(client, "sandbox", "31847260010", 21),
        seed_openapi_tenant(client, "other", "27609130722", 22),
    )
    advance(client, 30)  # the receipts are transmitted (5 s) and the Authority answers (10 s): ready
    for tenant in tenants:
        ready = ok(
            client.get(f"/openapi/IT-receipts/{tenant.ids['receipt_id']}", headers=tenant.auth())
        ).get_json()["data"]
        assert ready["status"] == "ready", ready
        tenant.ids["receipt_document_number"] = ready["document_number"]
    return tenants


def resolve_openapi(kind: str, op: Operation) -> str:
    receipts = "receipts" in op.path
    if kind == "id@":
        if receipts:
            return "void_receipt" if op.method == "delete" else "receipt_id"
        return "invoice_id"
    if kind == "document_number@":
        return "receipt_document_number" if receipts else "document_number"
    return kind


def body_openapi(op: Operation, values: dict[str, str], attacker: Tenant) -> dict[str, Any]:
    if "body:xml" in values:
        return {"data": invoice_xml(78, values["body:xml"]), "content_type": "application/xml"}
    if "body:invoice" in values:
        xml = invoice_xml(79, "01879020517", customer=values["body:invoice"])
        return {"json": {"invoice": base64.b64encode(xml).decode()}}
    if "body:items" in values:
        return {"json": {"items": [{"id": values["body:items"], "quantity": 1}]}}
    if op.method == "patch" and "stores" in op.path:
        return {"json": {"label": "Nuovo"}}
    if op.method == "patch":
        return {"json": {"receipts": True}}
    if "body:fiscal_id" in values and "receipts" in op.path:
        return {
            "json": {"fiscal_id": values["body:fiscal_id"], "cash_payment_amount": 2.4, "items": SALE_ITEMS}
        }
    if "body:fiscal_id" in values:
        return {"json": {"fiscal_id": values["body:fiscal_id"], "name": "X S.r.l.", "email": "x@example.com"}}
    return {}


def view_openapi(client: FlaskClient, victim: Tenant) -> list[Any]:
    return [
        client.get(f"/openapi/{path}", headers=victim.auth()).get_json()
        for path in (
            "IT-configurations",
            f"IT-configurations/{victim.ids['fiscal_id']}",
            "IT-invoices",
            "IT-receipts",
        )
    ]


# -- Aruba -----------------------------------------------------------------------------------------

ARUBA_TRANSMITTER = "01879020517"  # the IdTrasmittente of every upload (Aruba PEC)
ARUBA_PREMIUM = {"sandbox"}  # users with several VAT numbers: their finds must name the party
LIPE_NS = "urn:www.agenziaentrate.gov.it:specificheTecniche:sco:ivp"


def vat_payment(vat: str) -> bytes:
    """A regular VAT payment communication (LIPE) of ``vat``, the minimum the sandbox reads."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<iv:Fornitura xmlns:iv="{LIPE_NS}">
  <iv:Intestazione><iv:CodiceFornitura>IVP18</iv:CodiceFornitura></iv:Intestazione>
  <iv:Comunicazione identificativo="00001">
    <iv:Frontespizio>
      <iv:CodiceFiscale>{vat}</iv:CodiceFiscale>
      <iv:AnnoImposta>2026</iv:AnnoImposta>
      <iv:PartitaIVA>{vat}</iv:PartitaIVA>
    </iv:Frontespizio>
    <iv:DatiContabili><iv:Modulo><iv:NumeroModulo>1</iv:NumeroModulo></iv:Modulo></iv:DatiContabili>
  </iv:Comunicazione>
</iv:Fornitura>
""".encode()


def aruba_party(path: str, vat: str) -> dict[str, str]:
    if "/out/" in path:
        return {"countrySender": "IT", "vatcodeSender": vat}
    return {"countryReceiver": "IT", "vatcodeReceiver": vat}


def query_aruba(op: Operation, attacker: Tenant) -> dict[str, str]:
    if not op.path.endswith("findByUsername") or attacker.extra["username"] not in ARUBA_PREMIUM:
        return {}
    return aruba_party(op.path, attacker.ids["vat"])


def aruba_get(client: FlaskClient, tenant: Tenant, path: str, **query: Any) -> Any:
    return ok(client.get(f"/aruba/services{path}", query_string=query, headers=tenant.auth())).get_json()


def aruba_token(client: FlaskClient, name: str) -> str:
    signin = {"grant_type": "password", "username": name, "password": name}
    token: str = ok(client.post("/aruba/auth/signin", data=signin)).get_json()["access_token"]
    return token


def seed_both_aruba(app: Flask, client: FlaskClient) -> tuple[Tenant, Tenant]:
    sign = app.extensions["fattura_sandbox"].signer.make_p7m
    tenants = []
    for name, vat, seed in (("sandbox", "20493810483", 31), ("other", "18302640505", 32)):
        tenant = Tenant(aruba_token(client, name), extra={"username": name, "sign": sign})

        def upload(xml: bytes, tenant: Tenant = tenant) -> str:
            sent = ok(
                client.post(
                    "/aruba/services/invoice/upload", json={"dataFile": b64(xml)}, headers=tenant.auth()
                )
            ).get_json()
            assert sent["errorCode"] == "0000", sent
            name: str = sent["uploadFileName"]
            return name

        # A PA invoice from outside the sandbox to the tenant: esiti and in-notifications need one.
        def received_pa(number: int, vat: str = vat) -> dict[str, Any]:
            return incoming(client, vat, invoice_xml(number, "01879020517", customer=vat, pa=True))

        financial = {"userName": name, "password": name, "comunicationType": "LI"}
        created = ok(
            client.post(
                "/aruba/services/ClientRequest/CreateTransmissionRequest",
                json={**financial, "dataFile": b64(sign(vat_payment(vat)))},
            )
        ).get_json()
        assert created["errorCode"] == "", created
        tenant.ids = {
            "username": name,
            "vat": vat,
            "supplier_vat": vat,
            "out_filename": upload(invoice_xml(seed, vat, ARUBA_TRANSMITTER)),
            "out_pa_filename": upload(invoice_xml(seed + 100, vat, ARUBA_TRANSMITTER, pa=True)),
            "transmission_request": created["requestID"],
        }
        answered, pending = received_pa(seed + 200), received_pa(seed + 300)
        tenant.extra.update(answered=answered, pending=pending)
        tenants.append(tenant)
    advance(client, 3 * 3600)  # uploads processed and delivered (RC), the financial request's pdd made
    for tenant in tenants:
        tenant.token = aruba_token(client, tenant.extra["username"])  # the first one has expired
        ids = tenant.ids
        ids["out_id"] = str(
            aruba_get(client, tenant, "/invoice/out/getByFilename", filename=ids["out_filename"])["id"]
        )
        notices = aruba_get(
            client, tenant, "/notification/out/getByInvoiceFilename", invoiceFilename=ids["out_filename"]
        )
        ids["out_notification"] = notices["notifications"][0]["filename"]
        answered, pending = (
            aruba_get(client, tenant, "/invoice/in/getByFilename", filename=tenant.extra[key]["file_name"])
            for key in ("answered", "pending")
        )
        esito = {
            "filename": answered["filename"],
            "sdiId": int(answered["idSdi"]),
            "esito": "EC01",
            "numero": answered["invoices"][0]["number"],
            "anno": 2026,
            "posizione": 1,
            "descrizione": "Accettata",
            "messageId": "7865",
        }
        ok(client.post("/aruba/services/invoice/in/sendEsitoCommittente", json=esito, headers=tenant.auth()))
        in_notices = aruba_get(client, tenant, f"/notification/in/{answered['id']}")
        ids.update(
            in_filename=pending["filename"],
            in_id=str(pending["id"]),
            in_sdi_id=str(pending["idSdi"]),
            in_notification=in_notices["notifications"][0]["filename"],
        )
        tenant.extra["esito"] = {**esito, "numero": pending["invoices"][0]["number"]}
        tenant.markers = {
            ids["vat"],
            ids["out_filename"],
            ids["out_pa_filename"],
            ids["out_notification"],
            ids["in_filename"],
            ids["in_sdi_id"],
            ids["in_notification"],
            ids["transmission_request"],
            answered["filename"],
            str(answered["idSdi"]),
        }
    attacker, victim = tenants
    return attacker, victim


def resolve_aruba(kind: str, op: Operation) -> str:
    box = "in" if "/in/" in op.path or op.path.endswith("/in") else "out"
    if kind == "vat@":
        return "vat"
    if kind == "filename@":
        return f"{box}_notification" if "/notification/" in op.path else f"{box}_filename"
    if kind == "invoice_filename@":
        return f"{box}_filename"
    if kind == "invoice_id@":
        return f"{box}_id"
    if kind == "out_filename" and "sdisimulator" in op.path:
        return "out_pa_filename"  # delivered to a PA office: the control can simulate its outcome
    return kind


def body_aruba(op: Operation, values: dict[str, str], attacker: Tenant) -> dict[str, Any]:
    if "body:dataFile" in values:
        xml = invoice_xml(91, values["body:dataFile"], ARUBA_TRANSMITTER)
        content = attacker.extra["sign"](xml) if op.path.endswith("Signed") else xml
        return {"json": {"dataFile": b64(content)}}
    if "body:sdiId" in values:
        return {
            "json": {
                **attacker.extra["esito"],
                "filename": values["body:filename"],
                "sdiId": int(values["body:sdiId"]),
            }
        }
    if "body:vatcodeReceiver" in values:
        return {
            "json": {
                "countryReceiver": "IT",
                "vatcodeReceiver": values["body:vatcodeReceiver"],
                "fiscalcodeReceiver": values["body:fiscalcodeReceiver"],
            }
        }
    if "body:invoiceFileName" in values:
        return {"json": {"invoiceFileName": values["body:invoiceFileName"], "notificationType": "NE_EC01"}}
    if "body:TransmissionInfoRequest" in values:
        name = attacker.extra["username"]
        return {
            "json": {"userName": name, "password": name, "requestID": values["body:TransmissionInfoRequest"]}
        }
    return {}


def view_aruba(client: FlaskClient, victim: Tenant) -> list[Any]:
    ids, name = victim.ids, victim.extra["username"]
    party = ARUBA_PREMIUM & {name}
    finds = [
        client.get(
            f"/aruba/services/invoice/{box}/findByUsername",
            query_string={"username": name, **(aruba_party(f"/{box}/", ids["vat"]) if party else {})},
            headers=victim.auth(),
        ).get_json()
        for box in ("out", "in")
    ]
    request = {"userName": name, "password": name, "requestID": ids["transmission_request"]}
    return [
        *finds,
        client.get(
            "/aruba/services/notification/out/getByInvoiceFilename",
            query_string={"invoiceFilename": ids["out_filename"]},
            headers=victim.auth(),
        ).get_json(),
        client.get(f"/aruba/services/notification/in/{ids['in_id']}", headers=victim.auth()).get_json(),
        client.post("/aruba/services/ClientRequest/GetTransmissionInfoRequest", json=request).get_json(),
    ]


# -- A-Cube ----------------------------------------------------------------------------------------

ACUBE_TRANSMITTER = "10442360961"  # A-Cube S.r.l., the transmitter of every invoice it sends
SUPPLIER_NUMBERS = itertools.count(800)


def acube_invoice(seed: int, vat: str, *, attachment: bool = False) -> bytes:
    xml = invoice_xml(seed, vat, ACUBE_TRANSMITTER)
    if not attachment:
        return xml
    body = etree.fromstring(xml).find("FatturaElettronicaBody")
    assert body is not None
    attached = etree.SubElement(body, "Allegati")
    etree.SubElement(attached, "NomeAttachment").text = "nota.txt"
    etree.SubElement(attached, "Attachment").text = b64(b"nota")
    return bytes(etree.tostring(body.getroottree(), xml_declaration=True, encoding="UTF-8"))


def seed_both_acube(app: Flask, client: FlaskClient) -> tuple[Tenant, Tenant]:
    tenants = []
    for name, vat, seed in (("sandbox", "26174950589", 41), ("other", "13950270341", 51)):
        login = {"email": f"{name}@example.com", "password": name}
        tenant = Tenant(ok(client.post("/acube/login", json=login)).get_json()["token"])

        def post(path: str, status: int, tenant: Tenant = tenant, **parts: Any) -> str:
            made = ok(client.post(f"/acube{path}", headers=tenant.auth(), **parts), status).get_json()
            uuid: str = made["uuid"]
            return uuid

        def create(xml: bytes) -> str:
            return post("/invoices", 202, data=xml, content_type="application/xml")

        draft = xml_to_json(acube_invoice(seed + 5, vat), xsd_dir=XSD_DIR)
        tenant.ids = {
            "vat": vat,
            "supplier_vat": vat,
            "invoice_number": f"{seed}/ISO",
            "sent": create(acube_invoice(seed, vat, attachment=True)),
            "to_notify": create(acube_invoice(seed + 1, vat)),
            "rejected": create(acube_invoice(seed + 2, vat)),
            "received": post("/simulate/supplier-invoices", 201, json={"recipient": vat}),
            "preserved": post("/simulate/supplier-invoices", 201, json={"recipient": vat}),
            **{
                kind: post("/invoices/draft", 201, json=draft)
                for kind in ("draft", "draft_delete", "draft_send")
            },
        }
        tenants.append(tenant)
    advance(client, 10)  # A-Cube hands the invoices to the SDI
    for tenant in tenants:
        ids = tenant.ids
        base = f"/acube/simulate/invoices/{ids['sent']}/notifications"
        ids["notification"] = ok(
            client.post(base, json={"type": "RC"}, headers=tenant.auth()), 201
        ).get_json()["uuid"]
        rejected = f"/acube/simulate/invoices/{ids['rejected']}/notifications"
        ok(client.post(rejected, json={"type": "NS"}, headers=tenant.auth()), 201)
        ok(client.post(f"/acube/invoices/{ids['preserved']}/preserve", headers=tenant.auth()))
        tenant.markers = {value for kind, value in ids.items() if kind != "invoice_number"}
    attacker, victim = tenants
    return attacker, victim


def resolve_acube(kind: str, op: Operation) -> str:
    path = op.path
    if kind == "out_uuid":
        return "received"
    if kind != "uuid@":
        return kind
    if path.startswith("/invoices/draft/"):
        return (
            "draft_send" if path.endswith("/send") else "draft_delete" if op.method == "delete" else "draft"
        )
    for end, which in (("/archive-rejected", "rejected"), ("/preserved-document", "preserved")):
        if path.endswith(end):
            return which
    if path.endswith("/preserve"):
        return "received"
    if path.startswith("/simulate/invoices/"):
        return "to_notify"
    if path.startswith("/notifications/"):
        return "notification"
    return "sent"


def body_acube(op: Operation, values: dict[str, str], attacker: Tenant) -> dict[str, Any]:
    if "body:NewInvoice" in values:
        return {"data": acube_invoice(81, values["body:NewInvoice"]), "content_type": "application/xml"}
    if "body:uuids" in values:
        return {"json": {"uuids": [values["body:uuids"]], "downloaded": True}}
    if "body:recipient" in values:
        # A new number each time: the SDI refuses a second invoice with the same one (00404).
        xml = invoice_xml(next(SUPPLIER_NUMBERS), "01879020517", customer=values["body:xml"])
        return {"json": {"recipient": values["body:recipient"], "xml": xml.decode()}}
    if op.method == "put":
        return {"json": xml_to_json(acube_invoice(83, attacker.ids["vat"]), xsd_dir=XSD_DIR)}
    if op.path.startswith("/simulate/invoices/"):
        return {"json": {"type": "RC"}}
    return {}


def view_acube(client: FlaskClient, victim: Tenant) -> list[Any]:
    return [
        client.get(f"/acube{path}", headers=victim.auth()).get_json()
        for path in (
            "/invoices",
            "/invoices/draft",
            f"/invoices/{victim.ids['sent']}/notifications",
            f"/invoices/{victim.ids['received']}",
        )
    ]


SETUPS: dict[str, Provider] = {
    "easytracking": Provider(
        "easytracking",
        "/easytracking",
        seed_both_easytracking,
        resolve_easytracking,
        body_easytracking,
        view_easytracking,
    ),
    "aruba": Provider(
        "aruba",
        "/aruba",
        seed_both_aruba,
        resolve_aruba,
        body_aruba,
        view_aruba,
        query_aruba,
        {"aruba_sla": False},  # the matrix makes more finds a minute than Aruba's SLA allows
    ),
    "acube": Provider("acube", "/acube", seed_both_acube, resolve_acube, body_acube, view_acube),
    "openapi": Provider(
        "openapi", "/openapi", seed_both_openapi, resolve_openapi, body_openapi, view_openapi
    ),
}
FILTER_KINDS = {"vat", "cf", "vat@", "invoice_number", "document_number@", "receipt_id"}
PATH_DEFAULTS = {"index": "0"}  # path parameters that name nothing of a tenant's

# The documented refusal where it is not the operation's 404 / 403 ("provider METHOD path [slot]").
REFUSED_WITH: dict[str, set[int]] = {
    # §10.1: "If successful, HTTP status code 200 is returned, otherwise HTTP status code 500".
    "aruba POST /services/invoice/in/sendEsitoCommittente": {500},
    # A returned item is looked up in the caller's own sale: another's is "not in receipt" (400, 428).
    "openapi PATCH /IT-receipts/{id} body:items": {400},
}
# Refusals in the body of a 200: the contract documents no 4xx for them (AR04, "request not found").
REFUSED_IN_BODY: dict[str, Callable[[Any], bool]] = {
    # §7.5.1: the synchronous checks answer 200 with an errorCode; 0093, the user may not send for
    # that supplier ("Errore deleghe non valide").
    "aruba POST /services/invoice/upload": lambda body: body["errorCode"] == "0093",
    "aruba POST /services/invoice/uploadSigned": lambda body: body["errorCode"] == "0093",
    "aruba POST /services/ClientRequest/GetTransmissionInfoRequest": lambda body: body["result"] == "AR04",
}
# A control answer past the ownership check that is not a success: a job downloads once (403), a
# configuration exists or has receipts (409), an esito is given once (the SDI's scarto EN01, a 500).
CONTROL_PASSED: dict[str, Callable[[int, str], bool]] = {
    "aruba POST /services/invoice/in/sendEsitoCommittente": lambda status, text: (
        status == 500 and "(EN01)" in text
    ),
}


@dataclass(frozen=True)
class Attack:
    operation: Operation
    slot: str

    def __str__(self) -> str:
        return f"{self.operation.provider} {self.operation.method.upper()} {self.operation.path} {self.slot}"


MATRIX = [
    Attack(op, slot)
    for provider in PROVIDERS
    for op in operations(provider)
    if op.key not in EXEMPT[provider]
    for slot in op.slots
]


@pytest.fixture(scope="module")
def worlds() -> Iterator[dict[str, tuple[Flask, FlaskClient, Tenant, Tenant]]]:
    made: dict[str, tuple[Flask, FlaskClient, Tenant, Tenant]] = {}
    yield made
    for app, *_ in made.values():
        app.extensions["fattura_sandbox"].close()


def world(worlds: dict[str, Any], provider: str) -> tuple[Flask, FlaskClient, Tenant, Tenant]:
    if provider not in worlds:
        app = create_app(make_config(**SETUPS[provider].config))
        client = app.test_client()
        attacker, victim = SETUPS[provider].seed(app, client)
        worlds[provider] = (app, client, attacker, victim)
    found: tuple[Flask, FlaskClient, Tenant, Tenant] = worlds[provider]
    return found


def request_of(
    setup: Provider, attack: Attack, attacker: Tenant, victim: Tenant
) -> tuple[str, dict[str, Any]]:
    op = attack.operation
    values = {}
    for slot in op.slots:
        owner = victim if slot == attack.slot else attacker
        kind = setup.resolve(IDENTIFIERS[op.provider][slot], op)
        values[slot] = owner.ids[kind]
    path = op.path
    for slot, value in values.items():
        if slot.startswith("path:"):
            path = path.replace("{" + slot[5:] + "}", value)
    for name, value in PATH_DEFAULTS.items():
        path = path.replace("{" + name + "}", value)
    query = {
        **setup.query(op, attacker),
        **{
            slot[6:]: value
            for slot, value in values.items()
            if (slot == attack.slot and slot.startswith("query:")) or slot in op.required_query
        },
    }
    bodies = {slot: value for slot, value in values.items() if slot.startswith("body:")}
    return setup.prefix + path, {"query_string": query, **setup.body(op, bodies, attacker)}


@pytest.mark.parametrize("attack", MATRIX, ids=str)
def test_the_other_tenants_identifier_is_refused_and_never_served(
    worlds: dict[str, Any], attack: Attack
) -> None:
    op = attack.operation
    setup = SETUPS[op.provider]
    _, client, attacker, victim = world(worlds, op.provider)
    url, parts = request_of(setup, attack, attacker, victim)
    before = setup.view(client, victim)
    response = client.open(url, method=op.method.upper(), headers=attacker.auth(), **parts)
    text = response.get_data().decode("utf-8", "replace")  # zips too
    kind = setup.resolve(IDENTIFIERS[op.provider][attack.slot], op)
    sent = victim.ids[kind]
    is_filter = attack.slot.startswith("query:") and IDENTIFIERS[op.provider][attack.slot] in FILTER_KINDS
    key = f"{op.provider} {op.key}"
    # The contract's refusals for "not yours": 404 and/or 403 as documented, else a 400.
    refusals = (
        REFUSED_WITH.get(f"{key} {attack.slot}")
        or REFUSED_WITH.get(key)
        or {code for code in (404, 403) if code in op.refusals}
        or {400}
    )
    if key in REFUSED_IN_BODY:
        assert response.status_code == 200 and REFUSED_IN_BODY[key](response.get_json()), text[:300]
    elif not (is_filter and response.status_code == 200):
        assert response.status_code in refusals, (response.status_code, text[:300])
    leaked = [marker for marker in victim.markers - {sent} if marker in text]
    assert not leaked, (leaked, text[:300])
    assert setup.view(client, victim) == before
    # The control: the same request with the attacker's own identifier is served, so the refusal
    # above is the ownership check and not a malformed request.
    control = Attack(op, "")
    own_url, own_parts = request_of(setup, control, attacker, victim)
    if attack.slot.startswith("query:") and attack.slot not in op.required_query:
        own_parts["query_string"][attack.slot[6:]] = attacker.ids[kind]
    served = client.open(own_url, method=op.method.upper(), headers=attacker.auth(), **own_parts)
    served_text = served.get_data().decode("utf-8", "replace")
    if key in REFUSED_IN_BODY:
        assert not REFUSED_IN_BODY[key](served.get_json()), served_text[:300]
    allowed = {403, 409} if "jobs/{jobId}" in op.path else {409}
    passed = key in CONTROL_PASSED and CONTROL_PASSED[key](served.status_code, served_text)
    assert served.status_code < 400 or served.status_code in allowed or passed, (
        served.status_code,
        served_text[:300],
    )
