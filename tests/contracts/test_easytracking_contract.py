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
from collections.abc import Iterator
from functools import cache
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from hypothesis import strategies as st

from emulator.app import create_app
from emulator.core.xmlsafe import parse_xml
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from tests.conftest import make_config
from tests.contracts import CHECKS, CONTRACTS, contract_config
from tests.providers.easytracking.helpers import CREDENTIALS, OTHER_VAT, SANDBOX_VAT

CONTRACT = CONTRACTS / "easytracking.yaml"
# 413 is the document's answer to top > 100000: a rejection of invalid input, like a 400.
REJECTIONS = ("413",)


class Session:
    """A token that the app under test issued for the `sandbox` user."""

    token: str | None = None

    def open(self, app: Flask) -> None:
        response = app.test_client().post("/easytracking/api/Token/AccessToken", json=CREDENTIALS)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.token = json.loads(response.data)


def bearer(schema: Any, session: Session) -> None:
    """Every generated case carries the session's token (Schemathesis leaves it out where it negates auth)."""

    @schema.auth(refresh_interval=None)
    class SandboxBearer:
        def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str | None:
            return session.token

        def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


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


def deliver_incoming(app: Flask, deliveries: list[dict[str, Any]] = INCOMING) -> None:
    client = app.test_client()
    for delivery in deliveries:
        response = client.post("/_sandbox/incoming-invoices", json=delivery)
        assert response.status_code == 201, response.get_data(as_text=True)


# -- every operation ------------------------------------------------------------------------------

# A fresh app for this module, made before the schema is parametrized so that every generated case
# (and every probe a check sends on its own, like ignored_auth) goes to it in-process.
APP = create_app(make_config())
deliver_incoming(APP)
SESSION = Session()
SESSION.open(APP)
schema = schemathesis.openapi.from_path(CONTRACT, config=contract_config(extra_rejections=REJECTIONS))
schema.app = APP
bearer(schema, SESSION)


@pytest.fixture(scope="module", autouse=True)
def _close_app() -> Iterator[None]:
    yield
    APP.extensions["fattura_sandbox"].close()


@schema.parametrize()
def test_operation_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=EASYTRACKING_CHECKS)


# -- the passive chain on every route ----------------------------------------------------------------

PASSIVE_ROUTES = range(2, 11)


class Caller:
    """Calls operations of the contract on one app with the sandbox user's token, validating every answer."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.session = Session()
        self.session.open(app)

    def foreign_id(self) -> int:
        """The id of an invoice the `other` user received: not the sandbox user's (403)."""
        client = self.app.test_client()
        token = json.loads(
            client.post(
                "/easytracking/api/Token/AccessToken",
                json={**CREDENTIALS, "username": "other", "password": "other"},
            ).data
        )
        listed = client.get(
            "/easytracking/api/v10/DownloadInvoices/passive-invoices",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert listed.status_code == 200, listed.get_data(as_text=True)
        return int(listed.get_json()["invoices"][0]["id"])

    def __call__(self, operation_id: str, **parts: Any) -> schemathesis.Response:
        case = schema.find_operation_by_id(operation_id).Case(
            headers={"Authorization": f"Bearer {self.session.token}"}, **parts
        )
        response = case.call(app=self.app)
        case.validate_response(response, checks=EASYTRACKING_CHECKS, transport_kwargs={"app": self.app})
        return response

    def advance(self, seconds: int) -> None:
        moved = self.app.test_client().post("/_sandbox/clock", json={"advance_seconds": seconds})
        assert moved.status_code == 200, moved.get_data(as_text=True)


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
        deliver_incoming(app)
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
        app.extensions["fattura_sandbox"].close()


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


class ScenarioApp:
    """The WSGI app of the stateful run: a fresh sandbox for every scenario, so that each replays alike.

    ``incoming`` are the invoices the SDI delivers to it before the scenario's first call.
    """

    def __init__(self, session: Session, incoming: list[dict[str, Any]] | None = None) -> None:
        self.session = session
        self.incoming = incoming or []
        self.app: Flask | None = None

    def renew(self) -> None:
        self.close()
        self.app = create_app(make_config(sdi_delays={"rc": 120}, easytracking_job_seconds=90))
        deliver_incoming(self.app, self.incoming)
        self.session.open(self.app)

    def tick(self) -> None:
        assert self.app is not None
        moved = self.app.test_client().post("/_sandbox/clock", json={"advance_seconds": STEP_SECONDS})
        assert moved.status_code == 200, moved.get_data(as_text=True)

    def close(self) -> None:
        if self.app is not None:
            self.app.extensions["fattura_sandbox"].close()
            self.app = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "renew() first"
        return self.app(environ, start_response)


def stateful_schema(app: ScenarioApp, session: Session, operations: list[str]) -> Any:
    """The workflow operations with positive data, and valid invoices as upload bodies."""
    loaded = schemathesis.openapi.from_path(CONTRACT, config=contract_config(extra_rejections=REJECTIONS))
    loaded.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE])
    loaded = loaded.include(operation_id=operations)
    loaded.app = app
    bearer(loaded, session)

    @loaded.hook
    def before_generate_body(context: schemathesis.HookContext, strategy: st.SearchStrategy) -> Any:
        if context.operation is not None and context.operation.path.endswith("/ActiveInvoices"):
            return st.integers(min_value=0, max_value=999).map(valid_invoice)
        return strategy

    @loaded.hook
    def map_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> Any:
        # Random owner and date filters would hide the scenario's own invoices from the lists that
        # feed the jobs; the per-operation test covers them.
        if query and context.operation is not None and context.operation.path.endswith(LISTS):
            return {name: value for name, value in query.items() if name == "top"}
        return query

    return loaded


def run_workflow(app: ScenarioApp, operations: list[str], scenarios: int, steps: int) -> dict[str, set[int]]:
    """Run the state machine of ``operations`` on fresh sandboxes; the statuses seen, by operation."""
    statuses: dict[str, set[int]] = defaultdict(set)

    class Workflow(stateful_schema(app, app.session, operations).as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            app.renew()

        def before_call(self, case: schemathesis.Case) -> None:
            app.tick()

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            statuses[case.operation.label].add(response.status_code)

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            case.validate_response(response, checks=EASYTRACKING_CHECKS, transport_kwargs=kwargs or None)

    try:
        Workflow.run(
            settings=hypothesis.settings(
                max_examples=scenarios,
                stateful_step_count=steps,
                phases=[hypothesis.Phase.generate],
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
    finally:
        app.close()
    return statuses


def test_workflow_through_the_links() -> None:
    statuses = run_workflow(ScenarioApp(Session()), WORKFLOW_OPERATIONS, STATEFUL_SCENARIOS, STATEFUL_STEPS)
    # The run went all the way: both kinds of job were downloaded through the links.
    for download in DOWNLOADS:
        assert 200 in statuses[download], (download, dict(statuses))


def test_passive_workflow_through_the_links() -> None:
    """passive-invoices → job (plain or chosen types) → download, and passive-invoices → set-fase-1."""
    app = ScenarioApp(Session(), PASSIVE_SCENARIO_INCOMING)
    statuses = run_workflow(
        app, PASSIVE_WORKFLOW_OPERATIONS, PASSIVE_STATEFUL_SCENARIOS, PASSIVE_STATEFUL_STEPS
    )
    # The run went all the way: a job was downloaded and an invoice marked through the links.
    for end in PASSIVE_ENDS:
        assert 200 in statuses[end], (end, dict(statuses))


def test_stateful_uploads_are_invoices_the_sandbox_accepts() -> None:
    session = Session()
    app = ScenarioApp(session)
    app.renew()
    assert app.app is not None
    try:
        response = app.app.test_client().post(
            "/easytracking/api/v4/ActiveInvoices",
            data=valid_invoice(0),
            headers={"Authorization": f"Bearer {session.token}", "Content-Type": "application/xml"},
        )
    finally:
        app.close()
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["progressivoInvio"]
