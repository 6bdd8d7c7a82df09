"""Openapi.it webhooks: per-event callbacks, JSON vs form POST, headers, custom, retries, 60-s ticks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any
from urllib.parse import parse_qs

import pytest
from flask.testing import FlaskClient

from emulator.core.xmlsafe import parse_xml
from emulator.providers.openapi import invoices, webhooks
from emulator.providers.openapi.models import OpenapiInvoice
from emulator.sdi.fatturapa import parse_invoice
from emulator.state import Sandbox
from tests.conftest import advance
from tests.core.test_webhooks import Recorder, outcomes
from tests.providers.openapi.test_import import (
    SANDBOX_VAT,
    STRANGER_VAT,
    account_of,
    assert_schema,
    configure,
    invoice_xml,
)

TOKEN = "0605df661073c2a58bb2908a3537beb624c1dfe9"
URL = "https://erp.example.com/hooks/openapi"
_IDS = count(1)


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    transport = Recorder()
    sandbox.webhook_transport = transport
    return transport


def hooks(*entries: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"api_configurations": [{"event": event, "callback": callback} for event, callback in entries]}


def change(sandbox: Sandbox, *, direction: str = "outgoing", imported: bool = False, delay: int = 0) -> str:
    """An invoice row reported to the webhooks ``delay`` seconds after now; its public id."""
    xml = (
        invoice_xml() if direction == "outgoing" else invoice_xml(supplier=STRANGER_VAT, customer=SANDBOX_VAT)
    )
    state, sdi_status = ("NEW", "BOOKED") if direction == "outgoing" else ("RECEIVED", "RECEIVED")
    with sandbox.transaction() as session:
        now = sandbox.clock.now()
        row = OpenapiInvoice(
            public_id=f"{next(_IDS):024x}",
            account_id=account_of(session).id,
            fiscal_id=SANDBOX_VAT,
            direction=direction,
            state=state,
            sdi_status=sdi_status,
            imported=imported,
            xml=xml,
            details={},
            created_at=now,
            updated_at=now,
        )
        invoices.describe(row, parse_invoice(parse_xml(xml)))
        session.add(row)
        session.flush()
        webhooks.invoice_changed(sandbox, session, row, now + timedelta(seconds=delay))
        return row.public_id


def callbacks(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/callbacks?provider=openapi")
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.get_json()["callbacks"]
    return found


# -- payloads ------------------------------------------------------------------------------------


def test_json_callback_posts_the_invoice_with_custom_and_headers(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    callback = {
        "url": URL,
        "method": "JSON",
        "headers": {"Authorization": "Bearer s3cret", "session_id": 42, "Content-Type": "text/plain"},
        "custom": {"my_custom_id": "123456789"},
        "data": {"source": "erp", "data": "ignored"},
    }
    configure(sandbox, **hooks(("customer-invoice", callback)))
    public_id = change(sandbox)
    advance(client, 59)
    assert recorder.calls == []
    advance(client, 1)
    [call] = recorder.calls
    assert call.url == URL
    assert call.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert call.headers["Authorization"] == "Bearer s3cret" and call.headers["session_id"] == "42"
    body = json.loads(call.body)
    assert set(body) == {"data", "custom", "source"}
    assert body["custom"] == {"my_custom_id": "123456789"} and body["source"] == "erp"
    data = body["data"]
    assert (data["id"], data["state"], data["details"]["sdi_status"]) == (public_id, "NEW", "BOOKED")
    assert_schema("InvoiceResponse", data)
    [delivery] = callbacks(client)
    assert (delivery["event"], delivery["status"], delivery["tenant"]) == (
        "customer-invoice",
        "delivered",
        "sandbox",
    )
    assert delivery["attempts"][0]["at"] == "2026-03-02T08:01:00+00:00"


def test_post_callback_sends_a_form_with_the_json_in_field(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    callback = {"url": URL, "method": "POST", "field": "payload", "custom": 123}
    configure(sandbox, **hooks(("customer-invoice", callback)))
    change(sandbox)
    advance(client, 60)
    [call] = recorder.calls
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(call.body.decode("ascii"), strict_parsing=True)
    assert list(fields) == ["payload"]
    payload = json.loads(fields["payload"][0])
    assert payload["custom"] == 123 and payload["data"]["state"] == "NEW"


def test_post_callback_field_defaults_to_data_and_custom_to_null(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    configure(sandbox, **hooks(("customer-invoice", {"url": URL, "method": "POST"})))
    change(sandbox)
    advance(client, 60)
    [call] = recorder.calls
    payload = json.loads(parse_qs(call.body.decode("ascii"))["data"][0])
    assert payload["custom"] is None and payload["data"]["direction"] == "outgoing"


def test_json_is_the_default_method(client: FlaskClient, sandbox: Sandbox, recorder: Recorder) -> None:
    configure(sandbox, **hooks(("customer-invoice", {"url": URL})))
    change(sandbox)
    advance(client, 60)
    [call] = recorder.calls
    assert call.headers["Content-Type"].startswith("application/json")
    assert json.loads(call.body)["custom"] is None


# -- events --------------------------------------------------------------------------------------


def test_incoming_invoices_go_to_supplier_invoice(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    configure(
        sandbox,
        **hooks(("customer-invoice", {"url": URL + "/out"}), ("supplier-invoice", {"url": URL + "/in"})),
    )
    change(sandbox, direction="incoming")
    advance(client, 60)
    [call] = recorder.calls
    assert call.url == URL + "/in"
    data = json.loads(call.body)["data"]
    assert (data["direction"], data["state"], data["details"]["sdi_status"]) == (
        "incoming",
        "RECEIVED",
        "RECEIVED",
    )
    assert callbacks(client)[0]["event"] == "supplier-invoice"


def test_no_callback_for_the_event_sends_nothing(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    configure(sandbox, **hooks(("receipt", {"url": URL}), ("supplier-invoice", {"url": "not a url"})))
    change(sandbox)
    change(sandbox, direction="incoming")
    advance(client, 600)
    assert recorder.calls == [] and callbacks(client) == []


def test_imported_invoices_fire_nothing(client: FlaskClient, sandbox: Sandbox, recorder: Recorder) -> None:
    configure(sandbox, **hooks(("customer-invoice", {"url": URL})))
    change(sandbox, imported=True)
    advance(client, 600)
    assert callbacks(client) == []


def test_without_a_configuration_nothing_is_sent(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    change(sandbox)
    advance(client, 600)
    assert callbacks(client) == []


# -- timing and retries --------------------------------------------------------------------------


def test_next_tick_is_the_next_whole_minute() -> None:
    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert webhooks.next_tick(at) == at + timedelta(seconds=60)
    assert webhooks.next_tick(at + timedelta(seconds=59, microseconds=999)) == at + timedelta(seconds=60)
    assert webhooks.next_tick(at + timedelta(seconds=60)) == at + timedelta(seconds=120)


def test_changes_within_a_tick_are_delivered_together_in_order(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    configure(sandbox, **hooks(("customer-invoice", {"url": URL})))
    first = change(sandbox, delay=10)
    second = change(sandbox, delay=50)
    third = change(sandbox, delay=70)
    advance(client, 60)
    assert [json.loads(c.body)["data"]["id"] for c in recorder.calls] == [first, second]
    advance(client, 60)
    assert [json.loads(c.body)["data"]["id"] for c in recorder.calls] == [first, second, third]


def test_retry_attempts_come_60_seconds_apart_then_fail(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    recorder.respond = outcomes(503, 502, ConnectionRefusedError("refused"), 200)
    configure(sandbox, **hooks(("customer-invoice", {"url": URL, "retry": 2})))
    change(sandbox)
    advance(client, 60 * 5)
    [delivery] = callbacks(client)
    assert delivery["status"] == "failed" and delivery["next_attempt_at"] is None
    assert [a["at"] for a in delivery["attempts"]] == [
        "2026-03-02T08:01:00+00:00",
        "2026-03-02T08:02:00+00:00",
        "2026-03-02T08:03:00+00:00",
    ]
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 502, None]
    assert delivery["attempts"][2]["error"].startswith("ConnectionRefusedError")
    assert len(recorder.calls) == 3


def test_a_retry_that_succeeds_delivers(client: FlaskClient, sandbox: Sandbox, recorder: Recorder) -> None:
    recorder.respond = outcomes(500)
    configure(sandbox, **hooks(("customer-invoice", {"url": URL, "retry": 3})))
    change(sandbox)
    advance(client, 60)
    assert callbacks(client)[0]["status"] == "pending"
    assert callbacks(client)[0]["next_attempt_at"] == "2026-03-02T08:02:00+00:00"
    advance(client, 60)
    [delivery] = callbacks(client)
    assert delivery["status"] == "delivered" and len(delivery["attempts"]) == 2


@pytest.mark.parametrize(("retry", "attempts"), [(None, 1), (0, 1), (9, 6), (-3, 1), ("2", 1), (True, 1)])
def test_retry_is_clamped_to_0_to_5(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder, retry: Any, attempts: int
) -> None:
    recorder.respond = lambda call: 503
    callback: dict[str, Any] = {"url": URL}
    if retry is not None:
        callback["retry"] = retry
    configure(sandbox, **hooks(("customer-invoice", callback)))
    change(sandbox)
    advance(client, 60 * 10)
    [delivery] = callbacks(client)
    assert delivery["status"] == "failed" and len(delivery["attempts"]) == attempts


def test_a_sent_invoice_notifies_within_120_seconds_of_booking(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    """End to end through POST /IT-invoices: NEW/BOOKED, then SENT/SENT, each at its tick."""
    configure(sandbox, customer_invoice=True, **hooks(("customer-invoice", {"url": URL})))
    response = client.post(
        "/openapi/IT-invoices",
        data=invoice_xml(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/xml"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    advance(client, 120)
    states = [(b["data"]["state"], b["data"]["details"]["sdi_status"]) for b in map(_json, recorder.calls)]
    assert states[:2] == [("NEW", "BOOKED"), ("SENT", "SENT")]
    for body in map(_json, recorder.calls):
        assert_schema("InvoiceResponse", body["data"])


def _json(call: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(call.body)
    return loaded


# -- receipts ------------------------------------------------------------------------------------


def test_receipt_callbacks_carry_the_receipt(
    client: FlaskClient, sandbox: Sandbox, recorder: Recorder
) -> None:
    configure(
        sandbox,
        receipts=True,
        **hooks(("receipt", {"url": URL, "custom": {"order": "A1"}, "headers": {"X-Key": "k"}})),
    )
    response = client.post(
        "/openapi/IT-receipts",
        json={
            "fiscal_id": SANDBOX_VAT,
            "items": [{"quantity": 1, "description": "product", "unit_price": 10, "vat_rate_code": "22"}],
            "cash_payment_amount": 0,
            "electronic_payment_amount": 10,
        },
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    advance(client, 120)
    assert recorder.calls, callbacks(client)
    for call in recorder.calls:
        assert call.headers["X-Key"] == "k"
        body = _json(call)
        assert body["custom"] == {"order": "A1"}
        assert_schema("ResponseCallbackReceipts", body)
    assert _json(recorder.calls[-1])["data"]["status"] == "ready"
    assert {d["event"] for d in callbacks(client)} == {"receipt"}
