"""contracts/easytracking.yaml against the sandbox, in-process: every operation, then a stateful run.

The per-operation test sends positive and negative data to all 39 operations (token, v2, v3, v4)
with a real Bearer token of the ``sandbox`` user. Generated upload bodies are not invoices, so
they must get a documented 4xx.

The stateful test follows the document's links on route v4 with valid invoices: upload → status →
new notifications → notification job → download, and upload or active-invoices → invoice job →
download. Each scenario gets a fresh sandbox and virtual time moves a minute per step, so that the
SDI's RC arrives during the scenario and jobs are seen both in progress and ready.
"""

from __future__ import annotations

import datetime as dt
import io
import json
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
from tests.providers.easytracking.helpers import CREDENTIALS, SANDBOX_VAT

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


# What the response schemas cannot say (the document describes these bodies in prose).
INDEX_KEYS = {
    "InvoiceNotifications": {"notificationId", "docId", "progressivoInvio", "fileName"},
    "DownloadInvoices": {"docId", "progressivoInvio", "fileName"},
}


def documented_payloads(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A 200 status read is <Stati> of <Stato>; a 200 job download is a zip of the files and indice.json."""
    if response.status_code != 200:
        return
    media_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    if media_type == "application/xml":
        root = parse_xml(response.content)
        assert root.tag == "Stati", f"the statuses are in <{root.tag}>, not <Stati>"
        assert [child.tag for child in root] == ["Stato"] * len(root), "<Stati> holds only <Stato>"
    elif media_type == "application/octet-stream":
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            names = set(archive.namelist())
            assert "indice.json" in names, "the zip has no indice.json"
            files = json.loads(archive.read("indice.json"))["files"]
        keys = INDEX_KEYS[case.operation.path.split("/")[3]]
        for entry in files:
            assert set(entry) == keys, f"indice.json entry {entry} has not the keys {sorted(keys)}"
            assert entry["fileName"] in names, f"{entry['fileName']} is listed but not in the zip"
        assert names == {entry["fileName"] for entry in files} | {"indice.json"}, "files missing from indice"


EASYTRACKING_CHECKS = [*CHECKS, documented_payloads]


# -- every operation ------------------------------------------------------------------------------

# A fresh app for this module, made before the schema is parametrized so that every generated case
# (and every probe a check sends on its own, like ignored_auth) goes to it in-process.
APP = create_app(make_config())
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


# -- stateful ---------------------------------------------------------------------------------------

# The operations of the two documented chains, on route v4 (v3 is the same; v2 only uploads and
# reads statuses). The other operations are covered one by one above.
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
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 20
# Virtual seconds between two steps. The SDI delivers 120 s after an upload and a job takes 90 s, so
# a scenario sees the status before and after the RC, and jobs both in progress (202) and ready.
STEP_SECONDS = 60
LISTS = ("/new-active-notifications", "/active-invoices")
DOWNLOADS = (
    "GET /api/v4/InvoiceNotifications/jobs/{jobId}",
    "GET /api/v4/DownloadInvoices/active/jobs/{jobId}",
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
    """The WSGI app of the stateful run: a fresh sandbox for every scenario, so that each replays alike."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.app: Flask | None = None

    def renew(self) -> None:
        self.close()
        self.app = create_app(make_config(sdi_delays={"rc": 120}, easytracking_job_seconds=90))
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


def stateful_schema(app: ScenarioApp, session: Session) -> Any:
    """The workflow operations with positive data, and valid invoices as upload bodies."""
    loaded = schemathesis.openapi.from_path(CONTRACT, config=contract_config(extra_rejections=REJECTIONS))
    loaded.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE])
    loaded = loaded.include(operation_id=WORKFLOW_OPERATIONS)
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


def test_workflow_through_the_links() -> None:
    session = Session()
    app = ScenarioApp(session)
    statuses: dict[str, set[int]] = defaultdict(set)

    class Workflow(stateful_schema(app, session).as_state_machine()):  # type: ignore[misc]
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
                max_examples=STATEFUL_SCENARIOS,
                stateful_step_count=STATEFUL_STEPS,
                phases=[hypothesis.Phase.generate],
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
    finally:
        app.close()
    # The run went all the way: both kinds of job were downloaded through the links.
    for download in DOWNLOADS:
        assert 200 in statuses[download], (download, dict(statuses))


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
