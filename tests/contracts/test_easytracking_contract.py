"""contracts/easytracking.yaml against the sandbox, in-process: every operation, then stateful runs.

The per-operation test sends positive and negative data to all 104 operations (token, active
routes v2–v4, passive routes v2–v10) with a real Bearer token of the ``sandbox`` user, whose
account has received plain and signed invoices from the SDI. Generated upload bodies are not
invoices, so they must get a documented 4xx.

The active stateful test follows the links on route v4 with valid invoices: upload → status →
new notifications → notification job → download, and upload or active-invoices → invoice job →
download. The passive one follows them on route v10: passive-invoices → job (plain or with chosen
file types) → download, and passive-invoices → set-fase-1. Each scenario gets a fresh sandbox and
virtual time moves a minute per step, so that the SDI's RC arrives during the scenario and jobs
are seen both in progress and ready.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections import defaultdict
from functools import cache
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import strategies as st

from emulator.app import create_app
from emulator.core.xmlsafe import parse_xml
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from tests.conftest import make_config
from tests.contracts import CHECKS, CONTRACTS, contract_config, harness
from tests.contracts.harness import advance, deliver_incoming
from tests.providers.easytracking.helpers import CREDENTIALS, OTHER_VAT, SANDBOX_VAT

CONTRACT = CONTRACTS / "easytracking.yaml"
# 413 is the document's answer to top > 100000: a rejection of invalid input, like a 400.
REJECTIONS = ("413",)


def session(credentials: dict[str, str] = CREDENTIALS) -> harness.Session:
    """A token that the app under test issues for a user (``sandbox`` unless told)."""
    return harness.Session(
        "/easytracking/api/Token/AccessToken", lambda answer: json.loads(answer.data), json=credentials
    )


# What the response schemas cannot say (the documents describe these bodies in prose). The keys of
# an indice.json entry, by download operation (the operationId without its route).
INDEX_KEYS = {
    "downloadNotifications": {"notificationId", "docId", "progressivoInvio", "fileName"},
    "downloadActiveInvoices": {"docId", "progressivoInvio", "fileName"},
    "downloadPassiveInvoices": {"id", "fileName", "fileType"},
}
# Passive §7: FA original invoice from the SDI, MT SDI metadata, FU unsigned invoice, FI the
# intermediary's invoice (document version 7.0, route v5).
PASSIVE_FILE_TYPES = {"FA", "MT", "FU", "FI"}
PASSIVE_FILE_TYPES_BEFORE_V5 = {"FA", "MT", "FU"}
# Passive §12: the FA is the SDI's file name after a reception stamp and two hex digits, e.g.
# 20230619_141959147.a7_IT06628860964_9FKju.xml.p7m, and its MT is named after it,
# 20230619_141959147.a7_IT06628860964_9FKju_MT_001.xml.
FA_NAME = re.compile(
    r"^[0-9]{8}_[0-9]{9}\.[0-9a-f]{2}_[A-Z]{2}[A-Za-z0-9]{2,28}_[A-Za-z0-9]{1,5}\.xml(\.p7m)?$"
)
ROUTE = re.compile(r"^/api/v(\d+)/")


def operation_kind(case: schemathesis.Case) -> str:
    """The operationId without its route suffix: listPassiveInvoicesV10 → listPassiveInvoices."""
    return re.sub(r"V\d+$", "", case.operation.definition.raw["operationId"])


def route_of(case: schemathesis.Case) -> int:
    found = ROUTE.match(case.operation.path)
    assert found is not None, case.operation.path
    return int(found.group(1))


def documented_payloads(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A 200 status read is <Stati> of <Stato>; a 200 job download is a zip of the files and indice.json;
    a passive list's total counts its invoices."""
    if response.status_code != 200:
        return
    media_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    kind = operation_kind(case)
    if media_type == "application/xml":
        root = parse_xml(response.content)
        assert root.tag == "Stati", f"the statuses are in <{root.tag}>, not <Stati>"
        assert [child.tag for child in root] == ["Stato"] * len(root), "<Stati> holds only <Stato>"
    elif media_type == "application/octet-stream":
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            names = set(archive.namelist())
            assert "indice.json" in names, "the zip has no indice.json"
            files = json.loads(archive.read("indice.json"))["files"]
        keys = INDEX_KEYS[kind]
        for entry in files:
            assert set(entry) == keys, f"indice.json entry {entry} has not the keys {sorted(keys)}"
            assert entry["fileName"] in names, f"{entry['fileName']} is listed but not in the zip"
        assert names == {entry["fileName"] for entry in files} | {"indice.json"}, "files missing from indice"
        if kind == "downloadPassiveInvoices":
            passive_index(files, route_of(case))
    elif media_type == "application/json" and kind == "listPassiveInvoices":
        body = response.json()
        total, count = body["total"], len(body["invoices"])
        assert total == count, f"total {total} for {count} invoices"


def passive_index(files: list[dict[str, Any]], route: int) -> None:
    """Passive §7 and §12: every file has an integer id and a known fileType, at most one of each type
    per document; FA and MT are named as in the example."""
    allowed = PASSIVE_FILE_TYPES if route >= 5 else PASSIVE_FILE_TYPES_BEFORE_V5
    by_document: dict[int, dict[str, str]] = defaultdict(dict)
    for entry in files:
        document, file_type = entry["id"], entry["fileType"]
        assert type(document) is int, f"the id of {entry} is not an integer"
        assert file_type in allowed, f"the fileType of {entry} is not one of {sorted(allowed)} on v{route}"
        assert file_type not in by_document[document], f"two {file_type} files for {document}"
        by_document[document][file_type] = entry["fileName"]
    for named in by_document.values():
        if "FA" in named:
            assert FA_NAME.match(named["FA"]), f"{named['FA']} is not named like the FA of §12"
        if "FA" in named and "MT" in named:
            stem = re.sub(r"\.xml(\.p7m)?$", "", named["FA"], flags=re.IGNORECASE)
            assert named["MT"] == f"{stem}_MT_001.xml", f"{named['MT']} is not named after {named['FA']}"


EASYTRACKING_CHECKS = [*CHECKS, documented_payloads]


# Invoices the SDI delivers to the sandbox user before anything is called: plain and signed in every
# encoding, to a P.IVA and to the codice fiscale; one to the `other` user, whose id is a 403 here.
INCOMING: list[dict[str, Any]] = [
    {"recipient": SANDBOX_VAT, "count": 3},
    {"recipient": SANDBOX_VAT, "signed": True, "encoding": "der"},
    {"recipient": SANDBOX_VAT, "signed": True, "encoding": "ber"},
    {"recipient": SANDBOX_VAT, "signed": True, "encoding": "base64"},
    {"recipient": SANDBOX_VAT, "signed": True, "encoding": "base64x2", "document_type": "TD04"},
    {"recipient": "BNCMRC78E14F205D"},
    {"recipient": OTHER_VAT},
]


# -- every operation ------------------------------------------------------------------------------

# A fresh app for this module, made before the schema is parametrized so that every generated case
# (and every probe a check sends on its own, like ignored_auth) goes to it in-process.
APP = create_app(make_config())
_close_app = harness.closing(APP)
deliver_incoming(APP, INCOMING)
SESSION = session()
SESSION.open(APP)
schema = harness.operation_schema(
    CONTRACT,
    APP,
    contract_config(extra_rejections=REJECTIONS),
    SESSION,
)


@schema.parametrize()
def test_operation_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=EASYTRACKING_CHECKS)


# -- the passive chain on every route ----------------------------------------------------------------

PASSIVE_ROUTES = range(2, 11)


def validated(case: schemathesis.Case, response: schemathesis.Response, **transport: Any) -> None:
    harness.validated(case, response, EASYTRACKING_CHECKS, **transport)


class Caller(harness.Caller):
    """Calls operations of the contract on one app with the sandbox user's token, validating every answer."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app, schema, validated, session().headers(app), media_from_body=False)

    def __call__(self, operation: str, expected: int | None = None, **parts: Any) -> schemathesis.Response:
        """The answer, whatever its status (the tests look at it)."""
        return super().__call__(operation, expected, **parts)

    def foreign_id(self) -> int:
        """The id of an invoice the `other` user received: not the sandbox user's (403)."""
        other = session({**CREDENTIALS, "username": "other", "password": "other"})
        listed = self.app.test_client().get(
            "/easytracking/api/v10/DownloadInvoices/passive-invoices", headers=other.headers(self.app)
        )
        assert listed.status_code == 200, listed.get_data(as_text=True)
        return int(listed.get_json()["invoices"][0]["id"])

    def advance(self, seconds: int) -> None:
        advance(self.app, seconds)


def zip_index(response: schemathesis.Response) -> dict[int, set[str]]:
    """The fileTypes of every document in a downloaded zip, from its indice.json."""
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        files = json.loads(archive.read("indice.json"))["files"]
    types: dict[int, set[str]] = defaultdict(set)
    for entry in files:
        types[entry["id"]].add(entry["fileType"])
    return types


def download_when_ready(call: Caller, route: int, job: schemathesis.Response) -> schemathesis.Response:
    """A booked job: in progress (202) at first, then the zip (200), then gone (403)."""
    assert job.status_code == 202, job.text
    job_id = {"jobId": job.json()["jobId"]}
    assert call(f"downloadPassiveInvoicesV{route}", path_parameters=job_id).status_code == 202
    call.advance(60)
    ready = call(f"downloadPassiveInvoicesV{route}", path_parameters=job_id)
    assert ready.status_code == 200, ready.text
    assert call(f"downloadPassiveInvoicesV{route}", path_parameters=job_id).status_code == 403
    return ready


@pytest.mark.parametrize("route", PASSIVE_ROUTES)
def test_passive_chain_on_every_route(route: int) -> None:
    """Real ids through every passive call of the route: each answer as the contract says (the random
    ids of the per-operation test never name an invoice)."""
    app = create_app(make_config())
    try:
        deliver_incoming(app, INCOMING)
        call = Caller(app)
        listed = call(f"listPassiveInvoicesV{route}")
        assert listed.status_code == 200, listed.text
        ids = [invoice["id"] for invoice in listed.json()["invoices"]]
        assert len(ids) == sum(d.get("count", 1) for d in INCOMING if d["recipient"] != OTHER_VAT)
        foreign = {"docIds": [ids[0], call.foreign_id()]}
        assert call(f"bookPassiveInvoicesDownloadV{route}", body=foreign).status_code == 403
        if route >= 3:
            assert call(f"setFase1PassiveV{route}", body=foreign).status_code == 403

        # Passive §5: FA, MT and FU (FU always since route v4), never FI.
        job = call(f"bookPassiveInvoicesDownloadV{route}", body={"docIds": ids})
        plain = zip_index(download_when_ready(call, route, job))
        assert set(plain) == set(ids)
        for document, types in plain.items():
            assert {"FA", "MT"} <= types <= {"FA", "MT", "FU"}, (document, types)
            assert route < 4 or "FU" in types, (document, types)

        if route >= 5:  # passive §6: exactly the chosen types.
            chosen = {"docIds": ids[:3], "metadatoSDI": True, "fatturaIntermediario": True}
            job = call(f"bookPassiveInvoicesDownloadSelectTypeV{route}", body=chosen)
            selected = zip_index(download_when_ready(call, route, job))
            assert selected == {document: {"MT", "FI"} for document in ids[:3]}
            none = call(
                f"bookPassiveInvoicesDownloadSelectTypeV{route}",
                body={"docIds": ids, "fatturaOriginale": False},
            )
            assert none.status_code == 400

        if route >= 3:  # passive §8–§11: the flags filter the list.
            for fase in (1, 2):
                marked = call(f"setFase{fase}PassiveV{route}", body={"docIds": ids[:2]})
                assert marked.status_code == 200
                unmarked = call(f"listPassiveInvoicesV{route}", query={f"fase{fase}": "false"})
                assert {i["id"] for i in unmarked.json()["invoices"]} == set(ids[2:])
                cleared = call(f"clearFase{fase}PassiveV{route}", body={"docIds": ids[:1]})
                assert cleared.status_code == 200
                unmarked = call(f"listPassiveInvoicesV{route}", query={f"fase{fase}": "false"})
                assert {i["id"] for i in unmarked.json()["invoices"]} == {ids[0], *ids[2:]}
    finally:
        harness.close_app(app)


# -- stateful ---------------------------------------------------------------------------------------

# The operations of the two documented active chains, on route v4 (v3 is the same; v2 only uploads
# and reads statuses). The other operations are covered one by one above.
WORKFLOW_OPERATIONS = [
    "sendElectronicInvoiceV4",
    "readElectronicInvoiceStatusV4",
    "listNewNotificationsV4",
    "bookNotificationsDownloadV4",
    "downloadNotificationsV4",
    "listActiveInvoicesV4",
    "bookActiveInvoicesDownloadByDocIdV4",
    "bookActiveInvoicesDownloadByProgressivoInvioV4",
    "downloadActiveInvoicesV4",
]
# The passive chain on route v10 (the latest; the other routes are the chain test above).
PASSIVE_WORKFLOW_OPERATIONS = [
    "listPassiveInvoicesV10",
    "bookPassiveInvoicesDownloadV10",
    "bookPassiveInvoicesDownloadSelectTypeV10",
    "downloadPassiveInvoicesV10",
    "setFase1PassiveV10",
]
# What the SDI has delivered to the sandbox user when a passive scenario starts: plain and signed.
PASSIVE_SCENARIO_INCOMING: list[dict[str, Any]] = [
    {"recipient": SANDBOX_VAT, "count": 5},
    {"recipient": SANDBOX_VAT, "signed": True, "encoding": "ber"},
    {"recipient": SANDBOX_VAT, "signed": True, "encoding": "base64x2"},
]
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 20
PASSIVE_STATEFUL_SCENARIOS = 30
PASSIVE_STATEFUL_STEPS = 15
# Virtual seconds between two steps. The SDI delivers 120 s after an upload and a job takes 90 s, so
# a scenario sees the status before and after the RC, and jobs both in progress (202) and ready.
STEP_SECONDS = 60
LISTS = ("/new-active-notifications", "/active-invoices", "/passive-invoices")
DOWNLOADS = (
    "GET /api/v4/InvoiceNotifications/jobs/{jobId}",
    "GET /api/v4/DownloadInvoices/active/jobs/{jobId}",
)
PASSIVE_ENDS = (
    "GET /api/v10/DownloadInvoices/jobs/{jobId}",
    "POST /api/v10/PassiveInvoices/set-fase-1",
)


@cache
def valid_invoice(seed: int) -> bytes:
    """A FatturaPA invoice of the sandbox user's company, different for every seed."""
    return (
        InvoiceGenerator(seed)
        .generate(
            supplier=PartySpec(vat=SANDBOX_VAT, fiscal_code=SANDBOX_VAT, name="Sandbox Software S.r.l."),
            customer=PartySpec(vat="01879020517", name="Cliente Prova S.p.A."),
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            transmitter=("IT", SANDBOX_VAT),
            recipient_code="M5UXCR1",
        )
        .xml
    )


def scenario_app(
    opened: harness.Session, incoming: list[dict[str, Any]] | None = None
) -> harness.ScenarioApp:
    """A stateful run's app: ``incoming`` are the invoices the SDI delivers before the first call."""
    return harness.ScenarioApp(
        STEP_SECONDS,
        opened,
        lambda app: deliver_incoming(app, incoming or []),
        sdi_delays={"rc": 120},
        easytracking_job_seconds=90,
    )


def stateful_schema(app: harness.ScenarioApp, opened: harness.Session, operations: list[str]) -> Any:
    """The workflow operations with positive data, and valid invoices as upload bodies."""

    def before_generate_body(context: schemathesis.HookContext, strategy: st.SearchStrategy) -> Any:
        if context.operation is not None and context.operation.path.endswith("/ActiveInvoices"):
            return st.integers(min_value=0, max_value=999).map(valid_invoice)
        return strategy

    def map_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> Any:
        # Random owner and date filters would hide the scenario's own invoices from the lists that
        # feed the jobs; the per-operation test covers them.
        if query and context.operation is not None and context.operation.path.endswith(LISTS):
            return {name: value for name, value in query.items() if name == "top"}
        return query

    config = contract_config(extra_rejections=REJECTIONS)
    return harness.workflow_schema(
        CONTRACT, operations, app, config, opened, [before_generate_body, map_query]
    )


def run_workflow(
    app: harness.ScenarioApp, operations: list[str], scenarios: int, steps: int
) -> dict[str, set[int]]:
    """Run the state machine of ``operations`` on fresh sandboxes; the statuses seen, by operation."""
    assert app.session is not None
    loaded = stateful_schema(app, app.session, operations)
    return harness.run_workflow(loaded, app, validated, scenarios=scenarios, steps=steps)


def test_workflow_through_the_links() -> None:
    statuses = run_workflow(scenario_app(session()), WORKFLOW_OPERATIONS, STATEFUL_SCENARIOS, STATEFUL_STEPS)
    # The run went all the way: both kinds of job were downloaded through the links.
    for download in DOWNLOADS:
        assert 200 in statuses[download], (download, dict(statuses))


def test_passive_workflow_through_the_links() -> None:
    """passive-invoices → job (plain or chosen types) → download, and passive-invoices → set-fase-1."""
    app = scenario_app(session(), PASSIVE_SCENARIO_INCOMING)
    statuses = run_workflow(
        app, PASSIVE_WORKFLOW_OPERATIONS, PASSIVE_STATEFUL_SCENARIOS, PASSIVE_STATEFUL_STEPS
    )
    # The run went all the way: a job was downloaded and an invoice marked through the links.
    for end in PASSIVE_ENDS:
        assert 200 in statuses[end], (end, dict(statuses))


def test_stateful_uploads_are_invoices_the_sandbox_accepts() -> None:
    opened = session()
    app = scenario_app(opened)
    app.renew()
    assert app.app is not None
    try:
        response = app.app.test_client().post(
            "/easytracking/api/v4/ActiveInvoices",
            data=valid_invoice(0),
            headers={"Authorization": f"Bearer {opened.token}", "Content-Type": "application/xml"},
        )
    finally:
        app.close()
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["progressivoInvio"]
