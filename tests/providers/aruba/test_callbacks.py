"""Aruba §13 push callbacks: the four calls' bodies and headers, when they are made, retries, no deadlock."""

from __future__ import annotations

import base64
import json
import threading
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from emulator.config import Config
from emulator.core.tenancy import Account
from emulator.providers.aruba import callbacks, records
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.engine import EsitoCommittente
from emulator.sdi.models import SdiInvoice, SdiNotification
from emulator.state import Sandbox
from tests.conftest import advance, make_config
from tests.core.test_webhooks import Call, Received, Recorder, http_endpoint, outcomes
from tests.providers.aruba.helpers import (
    OTHER_VAT,
    SANDBOX_VAT,
    SANDBOX_VAT_2,
    bearer,
    invoice,
    token,
    upload,
)

HOOKS = "http://erp.example.com/aruba"
KEY = "k3y-for-aruba-callbacks"
HEADERS = {
    "Content-Type": "application/json; charset=UTF-8",
    "Accept": "application/json",
    "Authorization": KEY,
}
USER_KEYS = ["username", "countryCode", "vatCode", "fiscalCode"]
CREATE_INVOICE_KEYS = [
    *USER_KEYS,
    "sdiIdentification",
    "sdiInvoiceFileName",
    "invoiceXmlBase64",
    "sdiMetadataFileName",
    "metadataXmlBase64",
]
CREATE_NOTIFICATION_KEYS = [
    *USER_KEYS,
    "inOut",
    "notifyType",
    "sdiIdentification",
    "notifyFileName",
    "notifyXmlBase64",
]
UPDATE_STATUS_KEYS = [*USER_KEYS, "invoiceFileName", "sdiIdentification", "status", "errorDescription"]
EASYTRACKING_VAT = "09382170158"  # owned by easytracking/sandbox


@pytest.fixture
def config() -> Config:
    return make_config(aruba_sla=False)


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    transport = Recorder()
    sandbox.webhook_transport = transport  # type: ignore[attr-defined]
    return transport


# -- helpers ---------------------------------------------------------------------------------------


def register(
    client: FlaskClient, tenant: str = "sandbox", url: str | None = HOOKS, key: str | None = KEY
) -> None:
    response = client.patch(
        f"/_sandbox/accounts/aruba/{tenant}", json={"callback_url": url, "callback_api_key": key}
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def incoming(client: FlaskClient, recipient: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": recipient, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    created: dict[str, Any] = response.get_json()["invoices"][0]
    return created


def force(client: FlaskClient, file_name: str, kind: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/_sandbox/sdi/notifications", json={"invoice": file_name, "type": kind, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    forced: dict[str, Any] = response.get_json()
    return forced


def account(sandbox: Sandbox, tenant: str) -> Account:
    with sandbox.transaction() as session:
        found: Account = session.execute(
            select(Account).where(Account.provider == "aruba", Account.tenant == tenant)
        ).scalar_one()
        return found


def sent_to_sdi(sandbox: Sandbox, xml: bytes, tenant: str = "sandbox") -> str:
    """A file the account sent, now at the SDI with nothing planned: the test forces each outcome."""
    sender = account(sandbox, tenant)
    with sandbox.transaction() as session:
        reception = sandbox.engine.receive(
            session,
            file_name=f"IT01879020517_{sandbox.ids.randint(10000, 99999)}.xml",
            content=xml,
            channel="aruba",
            sender_account_id=sender.id,
            plan=[],
        )
        assert reception.errors == []
        return reception.invoice.file_name


def sdi_files(sandbox: Sandbox, file_name: str) -> tuple[SdiInvoice, list[SdiNotification]]:
    with sandbox.transaction() as session:
        found = session.execute(select(SdiInvoice).where(SdiInvoice.file_name == file_name)).scalar_one()
        return found, list(found.notifications)


def notification(sandbox: Sandbox, file_name: str, kind: str, audience: str) -> SdiNotification:
    _, files = sdi_files(sandbox, file_name)
    [found] = [n for n in files if n.type == kind and n.audience == audience]
    return found


def decoded(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def calls_of(recorder: Recorder, method: str) -> list[Call]:
    return [call for call in recorder.calls if call.method == method]


def callbacks_shown(client: FlaskClient, **filters: str) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/callbacks", query_string=filters)
    assert response.status_code == 200, response.get_data(as_text=True)
    shown: list[dict[str, Any]] = response.get_json()["callbacks"]
    return shown


def used_kb(client: FlaskClient, username: str = "sandbox") -> int:
    info = client.get("/aruba/auth/userInfo", headers=bearer(token(client, username))).get_json()
    value: int = info["usageStatus"]["usedSpaceKB"]
    return value


# -- createInvoice and updateUsage -----------------------------------------------------------------


def test_a_received_invoice_is_pushed_with_create_invoice_then_update_usage(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    register(client)
    created = incoming(client, SANDBOX_VAT)
    advance(client, 0)
    assert [call.method for call in recorder.calls] == ["createInvoice", "updateUsage"]
    create, usage = recorder.calls
    assert create.url == f"{HOOKS}/createInvoice"
    assert create.headers == HEADERS
    stored, _ = sdi_files(sandbox, created["file_name"])
    metadata = notification(sandbox, created["file_name"], "MT", "recipient")
    body = create.json
    assert list(body) == CREATE_INVOICE_KEYS
    assert body == {
        "username": "sandbox",
        "countryCode": "IT",
        "vatCode": SANDBOX_VAT,
        "fiscalCode": SANDBOX_VAT,
        "sdiIdentification": str(created["sdi_id"]),
        "sdiInvoiceFileName": created["file_name"],
        "invoiceXmlBase64": base64.b64encode(stored.content).decode(),
        "sdiMetadataFileName": created["metadata_file_name"],
        "metadataXmlBase64": base64.b64encode(metadata.content).decode(),
    }
    assert decoded(body["metadataXmlBase64"]).lstrip().startswith(b"<?xml")
    assert create.body.startswith(b'{"username":"sandbox","countryCode":"IT",')
    assert usage.url == f"{HOOKS}/updateUsage"
    assert usage.headers == HEADERS
    assert list(usage.json) == ["username", "maxSpaceKB", "usedSpaceKB"]
    assert usage.json == {
        "username": "sandbox",
        "maxSpaceKB": "1048576",
        "usedSpaceKB": str(used_kb(client)),
    }
    assert int(usage.json["usedSpaceKB"]) == (len(stored.content) + 1023) // 1024
    shown = callbacks_shown(client)
    assert [(c["event"], c["status"], c["tenant"], c["provider"]) for c in shown] == [
        ("createInvoice", "delivered", "sandbox", "aruba"),
        ("updateUsage", "delivered", "sandbox", "aruba"),
    ]
    assert shown[0]["created_at"] == created["received_at"]


def test_a_signed_received_invoice_is_pushed_as_the_p7m_it_is(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    register(client)
    created = incoming(client, SANDBOX_VAT_2, signed=True)
    advance(client, 0)
    body = calls_of(recorder, "createInvoice")[0].json
    assert body["sdiInvoiceFileName"] == created["file_name"]
    assert body["sdiInvoiceFileName"].endswith(".xml.p7m")
    assert decoded(body["invoiceXmlBase64"])[:1] == b"\x30"  # the DER of the CAdES envelope
    assert (body["vatCode"], body["fiscalCode"]) == (SANDBOX_VAT_2, SANDBOX_VAT_2)


def test_usage_grows_with_each_stored_file(client: FlaskClient, recorder: Recorder) -> None:
    register(client)
    incoming(client, SANDBOX_VAT, count=3)
    advance(client, 0)
    used = [int(call.json["usedSpaceKB"]) for call in calls_of(recorder, "updateUsage")]
    assert len(used) == 3 and used == sorted(used) and used[0] < used[-1]
    assert used[-1] == used_kb(client)


# -- updateInvoiceStatus ---------------------------------------------------------------------------


def test_an_upload_handed_to_the_sdi_is_pushed_as_inviata(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    register(client)
    uploaded = upload(client, token(client), invoice(seed=7))
    assert uploaded.status_code == 200, uploaded.get_data(as_text=True)
    file_name = uploaded.get_json()["uploadFileName"]
    advance(client, 24 * 3600)
    methods = [call.method for call in recorder.calls]
    assert methods[:3] == ["updateInvoiceStatus", "updateUsage", "createNotification"]
    status = recorder.calls[0]
    assert status.url == f"{HOOKS}/updateInvoiceStatus" and status.headers == HEADERS
    stored, _ = sdi_files(sandbox, file_name)
    assert list(status.json) == UPDATE_STATUS_KEYS
    assert status.json == {
        "username": "sandbox",
        "countryCode": "IT",
        "vatCode": SANDBOX_VAT,
        "fiscalCode": SANDBOX_VAT,
        "invoiceFileName": file_name,
        "sdiIdentification": str(stored.sdi_id),
        "status": "Inviata",
        "errorDescription": None,
    }
    assert recorder.calls[1].json["usedSpaceKB"] == str(used_kb(client))
    rc = recorder.calls[2].json
    assert (rc["inOut"], rc["notifyType"], rc["sdiIdentification"]) == ("OUT", "RC", str(stored.sdi_id))


def row_of(sandbox: Sandbox, status: str, description: str | None = None, direction: str = "out") -> int:
    owner = account(sandbox, "sandbox")
    with sandbox.transaction() as session:
        now = sandbox.clock.now()
        row = ArubaInvoice(
            id=records.next_invoice_id(session, sandbox.ids),
            account_id=owner.id,
            direction=direction,
            filename="IT01879020517_a1b2c.xml.p7m",
            content=b"<not-sent/>",
            status=status,
            status_description=description,
            sender={
                "description": "Sandbox Consulting",
                "countryCode": "IT",
                "vatCode": SANDBOX_VAT_2,
                "fiscalCode": None,
            },
            receiver={},
            bodies=[],
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return row.id


def status_changed(sandbox: Sandbox, row_id: int, minutes: int = 1) -> None:
    with sandbox.transaction() as session:
        row = session.get(ArubaInvoice, row_id)
        assert row is not None
        callbacks.invoice_status_changed(
            sandbox, session, row, sandbox.clock.now() + timedelta(minutes=minutes)
        )


def test_a_processing_error_is_pushed_with_its_description_and_no_sdi_id(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    register(client)
    message = "Il file non è firmato correttamente"
    row_id = row_of(sandbox, records.PROCESSING_ERROR, message)
    status_changed(sandbox, row_id, minutes=1)
    advance(client, 30)
    assert recorder.calls == []  # due at the instant it happened, a minute from now
    advance(client, 30)
    [call] = recorder.calls
    assert call.url == f"{HOOKS}/updateInvoiceStatus" and call.headers == HEADERS
    assert list(call.json) == UPDATE_STATUS_KEYS
    assert call.json == {
        "username": "sandbox",
        "countryCode": "IT",
        "vatCode": SANDBOX_VAT_2,
        "fiscalCode": SANDBOX_VAT_2,
        "invoiceFileName": "IT01879020517_a1b2c.xml.p7m",
        "sdiIdentification": None,
        "status": "Errore Elaborazione",
        "errorDescription": message,
    }
    assert '"sdiIdentification":null' in call.body.decode()


def test_no_status_callback_for_files_that_are_not_sent_or_failed(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    register(client)
    status_changed(sandbox, row_of(sandbox, records.TAKEN_IN_CHARGE))
    status_changed(sandbox, row_of(sandbox, records.SENT, direction="in"))
    advance(client, 3600)
    assert recorder.calls == []


# -- createNotification ----------------------------------------------------------------------------


def assert_notification(
    call: Call, sandbox: Sandbox, file_name: str, kind: str, audience: str, in_out: str, vat: str
) -> None:
    sdi_invoice, _ = sdi_files(sandbox, file_name)
    sdi_file = notification(sandbox, file_name, kind, audience)
    assert call.url == f"{HOOKS}/createNotification" and call.headers == HEADERS
    assert list(call.json) == CREATE_NOTIFICATION_KEYS
    assert call.json == {
        "username": call.json["username"],
        "countryCode": "IT",
        "vatCode": vat,
        "fiscalCode": vat,
        "inOut": in_out,
        "notifyType": kind,
        "sdiIdentification": str(sdi_invoice.sdi_id),
        "notifyFileName": sdi_file.file_name,
        "notifyXmlBase64": base64.b64encode(sdi_file.content).decode(),
    }


def test_each_sdi_notification_of_a_sent_invoice_is_pushed_out(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    register(client)
    rejected = sent_to_sdi(sandbox, invoice(seed=11))
    force(client, rejected, "NS", errors=[{"code": "00305"}])
    b2b = sent_to_sdi(sandbox, invoice(seed=12))
    force(client, b2b, "MC")
    advance(client, 0)
    [ns, mc] = recorder.calls
    assert_notification(ns, sandbox, rejected, "NS", "sender", "OUT", SANDBOX_VAT)
    assert_notification(mc, sandbox, b2b, "MC", "sender", "OUT", SANDBOX_VAT)
    assert ns.json["username"] == "sandbox"


def test_a_pa_invoice_between_two_aruba_accounts(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    """RC, NE, AT and DT go OUT to the supplier; the customer gets createInvoice, then DT and SE IN."""
    register(client, "sandbox")
    register(client, "other")
    accepted = sent_to_sdi(sandbox, invoice(seed=21, pa=True, customer_vat=OTHER_VAT))
    force(client, accepted, "NE_EC01")
    expired = sent_to_sdi(sandbox, invoice(seed=22, pa=True, customer_vat=OTHER_VAT))
    force(client, expired, "DT")
    undeliverable = sent_to_sdi(sandbox, invoice(seed=23, pa=True, customer_vat=OTHER_VAT))
    force(client, undeliverable, "AT")
    advance(client, 0)
    sent_calls = [call for call in recorder.calls if call.json["username"] == "sandbox"]
    assert [(c.method, c.json.get("notifyType")) for c in sent_calls] == [
        ("createNotification", "RC"),
        ("createNotification", "NE"),
        ("createNotification", "RC"),
        ("createNotification", "DT"),
        ("createNotification", "MC"),
        ("createNotification", "AT"),
    ]
    assert_notification(sent_calls[1], sandbox, accepted, "NE", "sender", "OUT", SANDBOX_VAT)
    assert_notification(sent_calls[3], sandbox, expired, "DT", "sender", "OUT", SANDBOX_VAT)
    assert_notification(sent_calls[5], sandbox, undeliverable, "AT", "sender", "OUT", SANDBOX_VAT)
    assert b"EC01" in decoded(sent_calls[1].json["notifyXmlBase64"])
    received_calls = [call for call in recorder.calls if call.json["username"] == "other"]
    assert [
        (c.method, c.json.get("notifyType"), c.json.get("sdiInvoiceFileName")) for c in received_calls
    ] == [
        ("createInvoice", None, accepted),
        ("updateUsage", None, None),
        ("createInvoice", None, expired),
        ("updateUsage", None, None),
        ("createNotification", "DT", None),
    ]
    assert received_calls[0].json["vatCode"] == OTHER_VAT
    assert_notification(received_calls[4], sandbox, expired, "DT", "recipient", "IN", OTHER_VAT)
    # The customer answers after the terms ran out: the SDI discards its esito with an SE.
    recorder.calls.clear()
    with sandbox.transaction() as session:
        late = session.execute(select(SdiInvoice).where(SdiInvoice.file_name == expired)).scalar_one()
        sandbox.engine.send_esito(session, late, EsitoCommittente(esito="EC01"))
    advance(client, 0)
    [se] = recorder.calls  # nothing for the customer's own EC file
    assert_notification(se, sandbox, expired, "SE", "recipient", "IN", OTHER_VAT)


# -- who gets callbacks ----------------------------------------------------------------------------


def test_no_callbacks_without_a_registered_url(client: FlaskClient, recorder: Recorder) -> None:
    incoming(client, SANDBOX_VAT)
    register(client, url=None, key=KEY)  # a key alone is no registration
    incoming(client, SANDBOX_VAT)
    advance(client, 30 * 3600)
    assert recorder.calls == []
    assert callbacks_shown(client) == []


def test_removing_the_url_stops_later_callbacks(client: FlaskClient, recorder: Recorder) -> None:
    register(client)
    incoming(client, SANDBOX_VAT)
    advance(client, 0)
    assert len(recorder.calls) == 2
    removed = client.patch("/_sandbox/accounts/aruba/sandbox", json={"callback_url": None})
    assert removed.get_json()["callback_url"] is None
    incoming(client, SANDBOX_VAT)
    advance(client, 3600)
    assert len(recorder.calls) == 2


def test_only_the_registered_aruba_account_gets_callbacks(client: FlaskClient, recorder: Recorder) -> None:
    register(client, "sandbox")
    incoming(client, OTHER_VAT)  # aruba/other: not registered
    incoming(client, EASYTRACKING_VAT)  # another provider's account
    advance(client, 3600)
    assert recorder.calls == []
    incoming(client, SANDBOX_VAT)
    advance(client, 0)
    assert {call.json["username"] for call in recorder.calls} == {"sandbox"}
    assert {c["provider"] for c in callbacks_shown(client)} == {"aruba"}


def test_other_providers_accounts_never_get_aruba_callbacks(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    """Even with a callback URL in its profile, an Easy Tracking account is no Aruba account."""
    with sandbox.transaction() as session:
        for other in session.execute(select(Account).where(Account.provider != "aruba")).scalars():
            other.profile = {**other.profile, "callback_url": HOOKS}
    incoming(client, EASYTRACKING_VAT)
    advance(client, 3600)
    assert recorder.calls == []


def test_without_an_api_key_no_authorization_is_sent(client: FlaskClient, recorder: Recorder) -> None:
    register(client, url="http://localhost:9000/hooks/?tenant=sandbox", key=None)
    incoming(client, SANDBOX_VAT)
    advance(client, 0)
    create = recorder.calls[0]
    assert create.url == "http://localhost:9000/hooks/createInvoice?tenant=sandbox"
    assert create.headers == {"Content-Type": "application/json; charset=UTF-8", "Accept": "application/json"}


# -- retries ---------------------------------------------------------------------------------------


def test_a_failing_endpoint_gets_the_call_again_every_three_hours(
    client: FlaskClient, recorder: Recorder
) -> None:
    failures = outcomes(500, 503, ConnectionRefusedError(111, "Connection refused"))
    recorder.respond = lambda call: failures(call) if call.method == "createInvoice" else 200
    register(client)
    created = incoming(client, SANDBOX_VAT)
    advance(client, 30 * 3600)
    assert len(calls_of(recorder, "createInvoice")) == 4
    [create] = callbacks_shown(client, event="createInvoice")
    assert create["status"] == "delivered"
    assert [a["status_code"] for a in create["attempts"]] == [500, 503, None, 200]
    received = created["received_at"]
    assert [a["at"] for a in create["attempts"]] == [
        received,
        received.replace("T08:", "T11:"),
        received.replace("T08:", "T14:"),
        received.replace("T08:", "T17:"),
    ]
    assert all(call.body == recorder.calls[0].body for call in calls_of(recorder, "createInvoice"))


def test_an_endpoint_that_always_fails_gets_eleven_attempts(client: FlaskClient, recorder: Recorder) -> None:
    recorder.respond = lambda call: 500
    register(client)
    incoming(client, SANDBOX_VAT)
    advance(client, 24 * 3600)
    [pending] = callbacks_shown(client, event="createInvoice")
    assert pending["status"] == "pending" and len(pending["attempts"]) == 9
    advance(client, 6 * 3600)
    [failed] = callbacks_shown(client, event="createInvoice")
    assert failed["status"] == "failed" and failed["next_attempt_at"] is None
    assert len(failed["attempts"]) == 11
    assert len(calls_of(recorder, "createInvoice")) == 11
    assert client.get(f"/_sandbox/callbacks/{failed['id']}").get_json() == failed


# -- a real client -----------------------------------------------------------------------------


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The sandbox on a real port (threads), as ``fattura-sandbox serve`` runs it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_a_client_that_calls_the_sandbox_while_handling_a_callback_is_served(served: str) -> None:
    """Real HTTP both ways: the callback handler asks the sandbox for userInfo before answering."""
    signin = urllib.request.Request(
        f"{served}/aruba/auth/signin",
        data=b"grant_type=password&username=sandbox&password=sandbox",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(signin, timeout=10) as response:
        access = json.loads(response.read())["access_token"]
    answers: list[tuple[str, int, int]] = []

    def handle(request: Received) -> tuple[int, dict[str, str]]:
        status, info = http(
            "GET", f"{served}/aruba/auth/userInfo", headers={"Authorization": f"Bearer {access}"}
        )
        answers.append((request.path, status, info["usageStatus"]["usedSpaceKB"]))
        return 200, {}

    with http_endpoint(handle) as (base, received):
        http("PATCH", f"{served}/_sandbox/accounts/aruba/sandbox", {"callback_url": f"{base}/hooks"})
        http("POST", f"{served}/_sandbox/incoming-invoices", {"recipient": SANDBOX_VAT})
        status, listed = http("GET", f"{served}/_sandbox/callbacks")
    assert status == 200
    assert [r.path for r in received] == ["/hooks/createInvoice", "/hooks/updateUsage"]
    assert "Authorization" not in received[0].headers
    # The updateUsage was due too: the sandbox delivered it while serving the handler's own request
    # (nested), so that handler answered first.
    assert sorted((path, status) for path, status, _ in answers) == [
        ("/hooks/createInvoice", 200),
        ("/hooks/updateUsage", 200),
    ]
    assert all(used > 0 for _, _, used in answers)
    assert [(c["event"], c["status"]) for c in listed["callbacks"]] == [
        ("createInvoice", "delivered"),
        ("updateUsage", "delivered"),
    ]
