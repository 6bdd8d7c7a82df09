"""A-Cube webhooks: supplier-invoice, customer-invoice, customer-notification; retries; notify endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest.mock import ANY

import pytest
from flask.testing import FlaskClient

from emulator.core import webhooks as core_webhooks
from emulator.providers.acube import webhooks
from emulator.providers.acube.models import AcubeInvoice
from emulator.providers.acube.service import ACUBE_VAT, SENDING_SECONDS
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from emulator.state import Sandbox
from tests.conftest import advance
from tests.core.test_webhooks import Recorder, outcomes
from tests.providers.acube.test_invoices import (
    INVOICES,
    OTHER_VAT,
    SANDBOX_VAT,
    assert_problem,
    auth,
    created_uuid,
    get,
    invoice,
    token_of,
)

ACCOUNTS = "/_sandbox/accounts/acube"
HOOKS = "http://localhost:9000/acube"
HEADERS = {"Content-Type": "application/json; charset=UTF-8", "Accept": "application/json"}
WITH_KEY = {**HEADERS, "Authorization": "acube-key"}
RC_DELAY = 120  # the SDI's RC comes 120 s after reception (B2B, default plan)


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    transport = Recorder()
    sandbox.webhook_transport = transport  # type: ignore[attr-defined]
    return transport


@pytest.fixture
def token(client: FlaskClient) -> str:
    return token_of(client)


def register(client: FlaskClient, tenant: str = "sandbox", **settings: Any) -> None:
    body = {"callback_url": HOOKS, "callback_api_key": "acube-key", **settings}
    response = client.patch(f"{ACCOUNTS}/{tenant}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)


def json_of(client: FlaskClient, token: str, uuid: str) -> dict[str, Any]:
    response = get(client, token, uuid)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def received_uuid(client: FlaskClient, token: str) -> str:
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT})
    assert response.status_code == 201, response.get_data(as_text=True)
    listed = client.get(f"{INVOICES}?type=1", headers=auth(token)).get_json()
    value: str = listed[-1]["uuid"]
    return value


def deliveries(client: FlaskClient, **filters: str) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/callbacks", query_string={"provider": "acube", **filters})
    assert response.status_code == 200
    listed: list[dict[str, Any]] = response.get_json()["callbacks"]
    return listed


def invoice_to(customer_vat: str) -> bytes:
    return (
        InvoiceGenerator(7)
        .generate(
            supplier=PartySpec(vat=SANDBOX_VAT, fiscal_code=SANDBOX_VAT, name="Sandbox S.r.l."),
            customer=PartySpec(vat=customer_vat, name="Other S.r.l."),
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            transmitter=("IT", ACUBE_VAT),
            recipient_code="T9K4ZHO",
        )
        .xml
    )


def pa_invoice() -> bytes:
    """An invoice to a public administration (FPA12): MC may be followed by AT."""
    return (
        InvoiceGenerator(3)
        .generate(
            supplier=PartySpec(vat=SANDBOX_VAT, fiscal_code=SANDBOX_VAT, name="Sandbox S.r.l."),
            pa=True,
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            transmitter=("IT", ACUBE_VAT),
        )
        .xml
    )


def as_posted(resource: dict[str, Any]) -> dict[str, Any]:
    """A received invoice as its supplier-invoice posted it: before the 2xx marked it downloaded."""
    return {**resource, "downloaded": False, "downloaded_at": None}


def sent_and_delivered(client: FlaskClient, token: str) -> str:
    uuid = created_uuid(client, token, invoice())
    advance(client, SENDING_SECONDS + RC_DELAY)
    return uuid


# -- the three events ----------------------------------------------------------------------------


def test_supplier_invoice_posts_the_received_invoice(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    uuid = received_uuid(client, token)
    advance(client, 0)
    assert [(c.url, c.headers) for c in recorder.calls] == [(f"{HOOKS}/supplier-invoice", WITH_KEY)]
    body = recorder.calls[0].json
    resource = json_of(client, token, uuid)
    assert body == as_posted(resource)
    # The 2xx marked it downloaded, at the instant of the attempt.
    assert (resource["downloaded"], resource["downloaded_at"]) == (True, "2026-03-02T09:00:00+01:00")
    assert (body["type"], body["marking"], body["recipient"]["business_vat_number_code"]) == (
        1,
        "delivered",
        SANDBOX_VAT,
    )
    [delivery] = deliveries(client)
    assert (delivery["tenant"], delivery["event"], delivery["status"]) == (
        "sandbox",
        "supplier-invoice",
        "delivered",
    )
    assert delivery["created_at"] == "2026-03-02T08:00:00+00:00"
    assert delivery["headers"] == WITH_KEY and delivery["body"] == body


def test_a_delivery_receipt_posts_customer_invoice_then_customer_notification(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    uuid = sent_and_delivered(client, token)
    # customer-invoice "sent" when A-Cube hands it to the SDI, then both events of the RC.
    assert [(c.url, c.headers) for c in recorder.calls] == [
        (f"{HOOKS}/customer-invoice", WITH_KEY),
        (f"{HOOKS}/customer-invoice", WITH_KEY),
        (f"{HOOKS}/customer-notification", WITH_KEY),
    ]
    resource = json_of(client, token, uuid)
    assert recorder.calls[0].json == {**resource, "marking": "sent", "notifications": []}
    assert recorder.calls[1].json == resource
    assert resource["marking"] == "delivered"
    assert resource["downloaded"] is False  # only a supplier-invoice marks an invoice downloaded
    [listed] = resource["notifications"]
    assert recorder.calls[2].json == {
        "uuid": listed["uuid"],
        "invoice_uuid": uuid,
        "type": "RC",
        "created_at": "2026-03-02T09:02:05+01:00",
        "file_name": resource["sdi_file_name"].removesuffix(".xml") + "_RC_001.xml",
        "message": {
            "identificativo_sdi": resource["sdi_file_id"],
            "nome_file": resource["sdi_file_name"],
            "hash": ANY,
            "data_ora_ricezione": "2026-03-02T09:00:05.000+01:00",
            "data_ora_consegna": "2026-03-02T09:02:05.000+01:00",
            "destinatario": {"codice": "M5UXCR1"},
            "message_id": ANY,
        },
        "downloaded": False,
    }
    assert [(d["event"], d["created_at"]) for d in deliveries(client)] == [
        ("customer-invoice", "2026-03-02T08:00:05+00:00"),
        ("customer-invoice", "2026-03-02T08:02:05+00:00"),
        ("customer-notification", "2026-03-02T08:02:05+00:00"),
    ]


def test_a_rejection_posts_the_rejected_invoice_and_the_ns_with_its_errors(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    uuid = created_uuid(client, token, invoice())
    advance(client, SENDING_SECONDS)
    forced = client.post(
        "/_sandbox/sdi/notifications", json={"invoice": uuid, "type": "NS", "errors": [{"code": "00305"}]}
    )
    assert forced.status_code == 201, forced.get_data(as_text=True)
    advance(client, 0)
    assert [c.url.rsplit("/", 1)[-1] for c in recorder.calls] == [
        "customer-invoice",
        "customer-invoice",
        "customer-notification",
    ]
    assert recorder.calls[0].json["marking"] == "sent"
    invoice_body, notification = recorder.calls[1].json, recorder.calls[2].json
    assert invoice_body == json_of(client, token, uuid)
    assert invoice_body["marking"] == "rejected" and invoice_body["notice"].startswith("00305: ")
    assert (notification["type"], notification["invoice_uuid"]) == ("NS", uuid)
    assert [e["codice"] for e in notification["message"]["lista_errori"]] == ["00305"]


def test_each_notification_posts_both_events_with_the_marking_of_the_moment(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    uuid = created_uuid(client, token, pa_invoice())
    advance(client, SENDING_SECONDS)
    for kind in ("MC", "AT"):
        response = client.post("/_sandbox/sdi/notifications", json={"invoice": uuid, "type": kind})
        assert response.status_code == 201, response.get_data(as_text=True)
    advance(client, 0)
    bodies = [(c.url.rsplit("/", 1)[-1], c.json) for c in recorder.calls]
    assert [(event, body.get("marking") or body["type"]) for event, body in bodies] == [
        ("customer-invoice", "sent"),
        ("customer-invoice", "not-delivered"),
        ("customer-notification", "MC"),
        ("customer-invoice", "not-delivered"),
        ("customer-notification", "AT"),
    ]
    # The body is the resource at the event: the first customer-invoice lists the MC only.
    assert [n["type"] for n in bodies[1][1]["notifications"]] == ["MC"]
    assert [n["type"] for n in bodies[3][1]["notifications"]] == ["MC", "AT"]


def test_without_an_api_key_there_is_no_authorization_header(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client, callback_api_key=None)
    received_uuid(client, token)
    advance(client, 0)
    assert [(c.url, c.headers) for c in recorder.calls] == [(f"{HOOKS}/supplier-invoice", HEADERS)]


def test_a_query_string_of_the_url_is_kept(client: FlaskClient, token: str, recorder: Recorder) -> None:
    register(client, callback_url="https://erp.example.com/hooks/?source=acube")
    received_uuid(client, token)
    advance(client, 0)
    assert [c.url for c in recorder.calls] == ["https://erp.example.com/hooks/supplier-invoice?source=acube"]


def test_sending_to_the_sdi_posts_customer_invoice_with_marking_sent(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    uuid = created_uuid(client, token, invoice())
    advance(client, SENDING_SECONDS - 1)
    assert recorder.calls == []  # "waiting" is no event
    advance(client, 1)
    assert [c.url for c in recorder.calls] == [f"{HOOKS}/customer-invoice"]
    assert recorder.calls[0].json == json_of(client, token, uuid)
    assert recorder.calls[0].json["marking"] == "sent"
    [delivery] = deliveries(client)
    assert (delivery["created_at"], delivery["status"]) == ("2026-03-02T08:00:05+00:00", "delivered")


def test_invoice_sent_of_an_invoice_the_sdi_does_not_have_sends_nothing(
    client: FlaskClient, token: str, sandbox: Sandbox, recorder: Recorder
) -> None:
    register(client)
    uuid = created_uuid(client, token, invoice())
    with sandbox.transaction() as session:
        row = session.query(AcubeInvoice).filter_by(uuid=uuid).one()
        webhooks.invoice_sent(sandbox, session, row, sandbox.clock.now())
    advance(client, 0)
    assert recorder.calls == []


# -- no configuration, other accounts and providers -----------------------------------------------


def test_no_webhook_without_a_callback_url(client: FlaskClient, token: str, recorder: Recorder) -> None:
    uuid = sent_and_delivered(client, token)
    received = received_uuid(client, token)
    advance(client, 0)
    for path in (f"{uuid}/notify", f"{uuid}/notifications/notify", f"{received}/notify"):
        response = client.post(f"{INVOICES}/{path}", headers=auth(token))
        assert (response.status_code, response.get_data()) == (200, b"")
    advance(client, 0)
    assert recorder.calls == []
    assert deliveries(client) == []


def test_removing_the_url_stops_the_webhooks(client: FlaskClient, token: str, recorder: Recorder) -> None:
    register(client)
    register(client, callback_url=None)
    received_uuid(client, token)
    advance(client, 0)
    assert recorder.calls == []


def test_only_the_accounts_that_registered_get_their_events(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client, "other", callback_url="http://localhost:9000/other", callback_api_key="other-key")
    aruba = client.patch(
        "/_sandbox/accounts/aruba/sandbox", json={"callback_url": "http://localhost:9000/aruba"}
    )
    assert aruba.status_code == 200
    # acube/sandbox (not registered) sends an invoice to acube/other (registered).
    uuid = created_uuid(client, token, invoice_to(OTHER_VAT))
    advance(client, SENDING_SECONDS + RC_DELAY)
    assert [(c.url, c.headers.get("Authorization")) for c in recorder.calls] == [
        ("http://localhost:9000/other/supplier-invoice", "other-key")
    ]
    body = recorder.calls[0].json
    other = token_of(client, "other@example.com", "other")
    assert body == as_posted(json_of(client, other, body["uuid"]))
    assert body["uuid"] != uuid
    assert [d["tenant"] for d in deliveries(client)] == ["other"]
    assert client.get("/_sandbox/callbacks", query_string={"provider": "aruba"}).get_json()["callbacks"] == []


def test_aruba_callbacks_are_unaffected(client: FlaskClient, token: str, recorder: Recorder) -> None:
    register(client)
    client.patch("/_sandbox/accounts/aruba/sandbox", json={"callback_url": "http://localhost:9000/aruba"})
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": "20493810483"})  # aruba/sandbox
    assert response.status_code == 201
    advance(client, 0)
    assert [c.url for c in recorder.calls] == [
        "http://localhost:9000/aruba/createInvoice",
        "http://localhost:9000/aruba/updateUsage",
    ]
    assert deliveries(client) == []


# -- retries ---------------------------------------------------------------------------------------


# Seconds after the first attempt of each of the 15: waits of 300 s doubling up to one hour.
SCHEDULE = [0, 300, 900, 2100, 4500, *(4500 + 3600 * k for k in range(1, 11))]


def at_offset(seconds: int) -> str:
    return (dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)).isoformat()


def test_a_failing_endpoint_is_tried_15_times_with_back_off(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    recorder.respond = lambda call: 503
    uuid = received_uuid(client, token)
    advance(client, 0)
    [pending] = deliveries(client)
    assert (pending["status"], pending["next_attempt_at"]) == ("pending", "2026-03-02T08:05:00+00:00")
    advance(client, 899)
    assert len(recorder.calls) == 2
    advance(client, 1)
    assert len(recorder.calls) == 3
    assert deliveries(client)[0]["next_attempt_at"] == at_offset(2100)
    advance(client, SCHEDULE[-1] - 900 - 1)
    assert len(recorder.calls) == 14
    advance(client, 1)
    advance(client, 24 * 3600)
    [failed] = deliveries(client)
    assert failed["status"] == "failed" and failed["next_attempt_at"] is None
    assert [a["at"] for a in failed["attempts"]] == [at_offset(t) for t in SCHEDULE]
    assert {a["status_code"] for a in failed["attempts"]} == {503}
    assert len(recorder.calls) == 15
    assert all(c.body == recorder.calls[0].body for c in recorder.calls)
    # Never delivered: the invoice is not downloaded (a new token: the first one has expired).
    assert json_of(client, token_of(client), uuid)["downloaded"] is False


def test_a_delivery_succeeds_on_a_later_attempt_and_marks_the_invoice_downloaded_then(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    recorder.respond = outcomes(500, ConnectionRefusedError("refused"))
    uuid = received_uuid(client, token)
    advance(client, 899)
    assert json_of(client, token, uuid)["downloaded"] is False
    advance(client, 1)
    [delivered] = deliveries(client)
    assert delivered["status"] == "delivered"
    assert [(a["at"], a["status_code"], a["error"]) for a in delivered["attempts"]] == [
        ("2026-03-02T08:00:00+00:00", 500, None),
        ("2026-03-02T08:05:00+00:00", None, "ConnectionRefusedError: refused"),
        ("2026-03-02T08:15:00+00:00", 200, None),
    ]
    resource = json_of(client, token, uuid)
    assert (resource["downloaded"], resource["downloaded_at"]) == (True, "2026-03-02T09:15:00+01:00")


def test_a_later_supplier_invoice_keeps_the_first_download_and_a_cleared_flag_is_set_again(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    uuid = received_uuid(client, token)
    advance(client, 60)
    first = json_of(client, token, uuid)["downloaded_at"]
    assert first == "2026-03-02T09:00:00+01:00"
    assert client.post(f"{INVOICES}/{uuid}/notify", headers=auth(token)).status_code == 200
    advance(client, 60)
    assert json_of(client, token, uuid)["downloaded_at"] == first
    cleared = client.post(
        f"{INVOICES}/downloaded", json={"uuids": [uuid], "downloaded": False}, headers=auth(token)
    )
    assert cleared.status_code == 200
    assert client.post(f"{INVOICES}/{uuid}/notify", headers=auth(token)).status_code == 200
    advance(client, 0)
    resource = json_of(client, token, uuid)
    assert (resource["downloaded"], resource["downloaded_at"]) == (True, "2026-03-02T09:02:00+01:00")


def test_a_failed_attempt_does_not_mark_downloaded_and_sent_invoices_are_never_marked(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    recorder.respond = lambda call: 404
    received = received_uuid(client, token)
    advance(client, 0)
    recorder.respond = lambda call: 200
    sent = sent_and_delivered(client, token)
    assert [c.url.rsplit("/", 1)[-1] for c in recorder.calls][-3:] == [
        "customer-invoice",
        "customer-invoice",
        "customer-notification",
    ]
    assert json_of(client, token, sent)["downloaded"] is False
    assert json_of(client, token, received)["downloaded"] is False
    advance(client, 300 - SENDING_SECONDS - RC_DELAY)
    # The supplier-invoice retry at 08:05 got the 200.
    assert json_of(client, token, received)["downloaded_at"] == "2026-03-02T09:05:00+01:00"


# -- POST /invoices/{uuid}/notify and /notifications/notify ----------------------------------------


def test_notify_resends_the_invoice_event_now(client: FlaskClient, token: str, recorder: Recorder) -> None:
    register(client)
    sent = sent_and_delivered(client, token)
    received = received_uuid(client, token)
    advance(client, 60)
    recorder.calls.clear()
    for uuid in (sent, received):
        response = client.post(f"{INVOICES}/{uuid}/notify", headers=auth(token))
        assert (response.status_code, response.get_data()) == (200, b"")
    advance(client, 0)
    assert [(c.url, c.headers) for c in recorder.calls] == [
        (f"{HOOKS}/customer-invoice", WITH_KEY),
        (f"{HOOKS}/supplier-invoice", WITH_KEY),
    ]
    assert recorder.calls[0].json == json_of(client, token, sent)
    assert recorder.calls[1].json == json_of(client, token, received)
    assert [d["created_at"] for d in deliveries(client)][-2:] == ["2026-03-02T08:03:05+00:00"] * 2


def test_notify_of_a_waiting_invoice_sends_it_as_waiting(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    uuid = created_uuid(client, token, invoice())
    response = client.post(f"{INVOICES}/{uuid}/notify", headers=auth(token))
    assert response.status_code == 200
    advance(client, 0)
    assert [c.json["marking"] for c in recorder.calls] == ["waiting"]


def test_notifications_notify_resends_each_notification_in_order(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    uuid = created_uuid(client, token, pa_invoice())
    advance(client, SENDING_SECONDS)
    for kind in ("MC", "AT"):
        assert (
            client.post("/_sandbox/sdi/notifications", json={"invoice": uuid, "type": kind}).status_code
            == 201
        )
    advance(client, 0)
    first = [c.json for c in recorder.calls if c.url.endswith("/customer-notification")]
    recorder.calls.clear()
    response = client.post(f"{INVOICES}/{uuid}/notifications/notify", headers=auth(token))
    assert (response.status_code, response.get_data()) == (200, b"")
    advance(client, 0)
    assert [c.url for c in recorder.calls] == [f"{HOOKS}/customer-notification"] * 2
    assert [c.json for c in recorder.calls] == first
    assert [n["type"] for n in first] == ["MC", "AT"]
    listed = client.get(f"{INVOICES}/{uuid}/notifications", headers=auth(token))
    assert listed.status_code == 200
    assert listed.get_json() == first


def test_notifications_notify_of_a_received_invoice_sends_nothing(
    client: FlaskClient, token: str, recorder: Recorder
) -> None:
    register(client)
    uuid = received_uuid(client, token)
    advance(client, 0)
    recorder.calls.clear()
    response = client.post(f"{INVOICES}/{uuid}/notifications/notify", headers=auth(token))
    assert response.status_code == 200
    advance(client, 0)
    assert recorder.calls == []


@pytest.mark.parametrize("path", ["notify", "notifications/notify"])
def test_notify_of_an_unknown_or_foreign_invoice_is_404(
    client: FlaskClient, token: str, recorder: Recorder, path: str
) -> None:
    register(client)
    unknown = client.post(f"{INVOICES}/nope/{path}", headers=auth(token))
    assert_problem(unknown, 404, "Not Found")
    other = token_of(client, "other@example.com", "other")
    foreign = created_uuid(client, other, invoice(supplier_vat=OTHER_VAT))
    response = client.post(f"{INVOICES}/{foreign}/{path}", headers=auth(token))
    assert_problem(response, 404, "Not Found")
    advance(client, SENDING_SECONDS)
    assert recorder.calls == []


@pytest.mark.parametrize("path", ["notify", "notifications/notify"])
def test_notify_without_a_token_is_401(client: FlaskClient, token: str, path: str) -> None:
    uuid = created_uuid(client, token, invoice())
    response = client.post(f"{INVOICES}/{uuid}/{path}")
    assert response.status_code == 401
    assert response.get_json() == {"code": 401, "message": "JWT Token not found"}


# -- the outbox's retry policies -------------------------------------------------------------------


def test_the_acube_policy_backs_off_and_arubas_stays_fixed() -> None:
    acube, aruba = core_webhooks.RETRY_POLICIES["acube"], core_webhooks.RETRY_POLICIES["aruba"]
    assert acube.attempts == 15
    waits = [int(acube.delay_after(n).total_seconds()) for n in range(1, 15)]
    assert waits == [300, 600, 1200, 2400, *[3600] * 10]
    assert [sum(waits[:n]) for n in range(15)] == SCHEDULE
    assert aruba == core_webhooks.RetryPolicy(retries=10, interval=dt.timedelta(hours=3))
    assert {aruba.delay_after(n) for n in range(1, 11)} == {dt.timedelta(hours=3)}


def test_a_growth_without_a_cap_and_whole_seconds() -> None:
    policy = core_webhooks.RetryPolicy(retries=3, interval=dt.timedelta(seconds=10), growth=1.5)
    assert [policy.delay_after(n).total_seconds() for n in range(1, 4)] == [10, 15, 22]


@pytest.mark.parametrize(
    "settings",
    [
        {"retries": -1, "interval": dt.timedelta(seconds=1)},
        {"retries": 1, "interval": dt.timedelta(0)},
        {"retries": 1, "interval": dt.timedelta(seconds=1), "growth": 0.5},
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="a retry policy needs"):
        core_webhooks.RetryPolicy(**settings)


def test_a_growing_wait_never_exceeds_a_year() -> None:
    policy = core_webhooks.RetryPolicy(retries=5000, interval=dt.timedelta(seconds=1), growth=10.0)
    assert policy.delay_after(5000) == dt.timedelta(seconds=core_webhooks.MAX_RETRY_DELAY_SECONDS)
