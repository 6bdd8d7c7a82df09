"""Openapi.it IT-invoices state flow: NEW/BOOKED → SENT/SENT → DONE or ERROR, the PA rule, received."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from emulator.core.tenancy import Account
from emulator.providers.openapi import states
from emulator.providers.openapi.invoices import SENDING_SECONDS
from emulator.providers.openapi.models import OpenapiConfiguration, OpenapiInvoice
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from emulator.state import Sandbox
from tests.conftest import advance

TOKEN = "0605df661073c2a58bb2908a3537beb624c1dfe9"
SANDBOX_VAT = "31847260010"
SECOND_VAT = "31847270100"  # also the sandbox account's
CUSTOMER_VAT = "01879020517"  # outside the sandbox
INVOICES = "/openapi/IT-invoices"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/xml"}


def configure(sandbox: Sandbox, fiscal_id: str, *, customer: bool = True, supplier: bool = True) -> None:
    with sandbox.transaction() as session:
        account = session.execute(
            select(Account).where(Account.provider == "openapi", Account.token == TOKEN)
        ).scalar_one()
        now = sandbox.clock.now()
        session.add(
            OpenapiConfiguration(
                public_id=f"{len(fiscal_id):024x}"[:12] + fiscal_id[-12:].rjust(12, "0"),
                account_id=account.id,
                fiscal_id=fiscal_id,
                document={"fiscal_id": fiscal_id, "customer_invoice": customer, "supplier_invoice": supplier},
                created_at=now,
                updated_at=now,
            )
        )


def xml(
    *, pa: bool = False, customer_vat: str = CUSTOMER_VAT, causale: str | None = None, seed: int = 1
) -> bytes:
    return (
        InvoiceGenerator(seed)
        .generate(
            supplier=PartySpec(vat=SANDBOX_VAT, fiscal_code=SANDBOX_VAT, name="Sandbox S.r.l."),
            customer=PartySpec(vat=customer_vat, name="Cliente Prova S.p.A."),
            pa=pa,
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            recipient_code=None if pa else "M5UXCR1",
            causale=causale,
        )
        .xml
    )


def send(client: FlaskClient, body: bytes) -> dict[str, Any]:
    response = client.post(INVOICES, data=body, headers=HEADERS)
    assert response.status_code == 200, response.get_data(as_text=True)
    data: dict[str, Any] = response.get_json()["data"]
    return data


def view(client: FlaskClient, invoice_id: str) -> dict[str, Any]:
    response = client.get(f"{INVOICES}/{invoice_id}", headers=HEADERS)
    assert response.status_code == 200, response.get_data(as_text=True)
    data: dict[str, Any] = response.get_json()["data"]
    return data


def status(client: FlaskClient, invoice_id: str) -> tuple[str, str]:
    data = view(client, invoice_id)
    return data["state"], data["details"]["sdi_status"]


def force(client: FlaskClient, invoice_id: str, kind: str) -> None:
    response = client.post("/_sandbox/sdi/notifications", json={"invoice": invoice_id, "type": kind})
    assert response.status_code in (200, 201), response.get_data(as_text=True)


@pytest.fixture
def configured(sandbox: Sandbox) -> Sandbox:
    configure(sandbox, SANDBOX_VAT)
    return sandbox


def test_booked_then_sent_within_a_minute(client: FlaskClient, configured: Sandbox) -> None:
    data = send(client, xml())
    assert (data["state"], data["details"]["sdi_status"]) == ("NEW", "BOOKED")
    assert data["details"]["sdi_id"] is None
    advance(client, SENDING_SECONDS - 1)
    assert status(client, data["id"]) == ("NEW", "BOOKED")
    advance(client, 1)
    after = view(client, data["id"])
    assert (after["state"], after["details"]["sdi_status"]) == ("SENT", "SENT")
    assert after["details"]["sdi_id"]
    assert after["details"]["sdi_filename"].startswith("IT12485671007_")
    assert SENDING_SECONDS <= 60


def test_b2b_rc_is_done_delivered(client: FlaskClient, configured: Sandbox) -> None:
    invoice_id = send(client, xml())["id"]
    advance(client, SENDING_SECONDS)
    force(client, invoice_id, "RC")
    data = view(client, invoice_id)
    assert (data["state"], data["details"]["sdi_status"]) == ("DONE", "DELIVERED")
    assert data["details"]["sdi_message"] == "Ricevuta di consegna"
    assert [n["type"] for n in data["details"]["notifications"]] == ["RC"]


def test_b2b_default_outcome_is_delivered_by_time_alone(client: FlaskClient, configured: Sandbox) -> None:
    invoice_id = send(client, xml())["id"]
    advance(client, SENDING_SECONDS)
    advance(client, 3600)
    assert status(client, invoice_id) == ("DONE", "DELIVERED")


def test_b2b_mc_is_done_not_delivered(client: FlaskClient, configured: Sandbox) -> None:
    invoice_id = send(client, xml())["id"]
    advance(client, SENDING_SECONDS)
    force(client, invoice_id, "MC")
    assert status(client, invoice_id) == ("DONE", "NOT_DELIVERED")


def test_ns_is_error_with_the_sdi_errors(client: FlaskClient, configured: Sandbox) -> None:
    invoice_id = send(client, xml(causale="SANDBOX:NS:00404"))["id"]
    advance(client, SENDING_SECONDS)
    advance(client, 3600)
    data = view(client, invoice_id)
    assert (data["state"], data["details"]["sdi_status"]) == ("ERROR", "ERROR")
    assert "00404" in data["details"]["sdi_message"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("NE_EC01", ("DONE", "ACCEPTED")),
        ("NE_EC02", ("ERROR", "REJECTED")),
        ("DT", ("DONE", "TERMS_EXPIRED")),
    ],
)
def test_pa_stays_sent_after_delivery_until_the_outcome(
    client: FlaskClient, configured: Sandbox, kind: str, expected: tuple[str, str]
) -> None:
    invoice_id = send(client, xml(pa=True))["id"]
    advance(client, SENDING_SECONDS)
    force(client, invoice_id, "RC")
    assert status(client, invoice_id) == ("SENT", "DELIVERED")
    force(client, invoice_id, kind)
    assert status(client, invoice_id) == expected


def test_pa_dt_by_time_alone(client: FlaskClient, configured: Sandbox) -> None:
    invoice_id = send(client, xml(pa=True, causale="SANDBOX:DT"))["id"]
    advance(client, SENDING_SECONDS)
    advance(client, 3600)
    assert status(client, invoice_id) == ("SENT", "DELIVERED")
    advance(client, 16 * 86400)
    assert status(client, invoice_id) == ("DONE", "TERMS_EXPIRED")


def test_pa_mc_waits_for_the_attestation(client: FlaskClient, configured: Sandbox) -> None:
    invoice_id = send(client, xml(pa=True))["id"]
    advance(client, SENDING_SECONDS)
    force(client, invoice_id, "MC")
    data = view(client, invoice_id)
    assert (data["state"], data["details"]["sdi_status"]) == ("SENT", "SENT")
    assert data["details"]["sdi_message"] == "Notifica di mancata consegna"
    force(client, invoice_id, "AT")
    assert status(client, invoice_id) == ("DONE", "NOT_DELIVERED")


def test_pa_invoice_is_signed_p7m(client: FlaskClient, configured: Sandbox) -> None:
    data = send(client, xml(pa=True))
    assert data["details"]["sdi_filename"].endswith(".xml.p7m")
    advance(client, SENDING_SECONDS)
    with configured.transaction() as session:
        row = session.execute(
            select(OpenapiInvoice).where(OpenapiInvoice.public_id == data["id"])
        ).scalar_one()
        assert row.invoice is not None
        assert row.invoice.content != row.xml  # the p7m went to the SDI
        assert row.invoice.xml == row.xml


def test_every_change_is_reported_to_the_webhooks(
    client: FlaskClient, configured: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str | None, dt.datetime]] = []

    def record(sandbox: Sandbox, session: Any, row: OpenapiInvoice, at: dt.datetime) -> None:
        seen.append((row.state, row.sdi_status, at))

    from emulator.providers.openapi import webhooks

    monkeypatch.setattr(webhooks, "invoice_changed", record)
    start = configured.clock.now()
    invoice_id = send(client, xml(pa=True))["id"]
    advance(client, SENDING_SECONDS + 5)
    force(client, invoice_id, "RC")
    force(client, invoice_id, "NE_EC01")
    assert [(s, d) for s, d, _ in seen] == [
        ("NEW", "BOOKED"), ("SENT", "SENT"), ("SENT", "DELIVERED"), ("DONE", "ACCEPTED"),
    ]  # fmt: skip
    assert seen[0][2] == start
    assert seen[1][2] == start + dt.timedelta(seconds=SENDING_SECONDS)


def test_states_table_pa_rule() -> None:
    assert states.after_notification("RC", None, False) == (states.DONE, states.DELIVERED)
    assert states.after_notification("RC", None, True) == (states.SENT, states.DELIVERED)
    assert states.after_notification("MC", None, True) is None
    assert states.after_notification("SE", None, True) is None


# -- received invoices ---------------------------------------------------------------------------


def test_invoice_to_own_vat_is_received_when_supplier_invoice_on(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    configure(sandbox, SANDBOX_VAT)
    configure(sandbox, SECOND_VAT, customer=False, supplier=True)
    outgoing = send(client, xml(customer_vat=SECOND_VAT))["id"]
    advance(client, SENDING_SECONDS)
    advance(client, 3600)
    response = client.get(f"{INVOICES}?direction=incoming", headers=HEADERS)
    assert response.status_code == 200
    received = response.get_json()["data"]
    assert len(received) == 1
    data = received[0]
    assert data["id"] != outgoing
    assert (data["state"], data["details"]["sdi_status"]) == ("RECEIVED", "RECEIVED")
    assert data["fiscal_id"] == SECOND_VAT
    assert data["sender"]["vat_id"] == f"IT{SANDBOX_VAT}"
    assert view(client, data["id"])["direction"] == "incoming"


def test_received_hidden_until_supplier_invoice_is_switched_on(client: FlaskClient, sandbox: Sandbox) -> None:
    configure(sandbox, SANDBOX_VAT)
    configure(sandbox, SECOND_VAT, customer=False, supplier=False)
    send(client, xml(customer_vat=SECOND_VAT))
    advance(client, SENDING_SECONDS)
    advance(client, 3600)
    assert client.get(f"{INVOICES}?direction=incoming", headers=HEADERS).get_json()["data"] == []
    with sandbox.transaction() as session:
        row = session.execute(
            select(OpenapiInvoice).where(OpenapiInvoice.direction == "incoming")
        ).scalar_one()
        hidden_id = row.public_id
        config = session.execute(
            select(OpenapiConfiguration).where(OpenapiConfiguration.fiscal_id == SECOND_VAT)
        ).scalar_one()
    response = client.get(f"{INVOICES}/{hidden_id}", headers=HEADERS)
    assert response.status_code == 404
    assert response.get_json() == {
        "data": None,
        "success": False,
        "message": "Invoice not found.",
        "error": 404,
    }
    with sandbox.transaction() as session:
        config = session.get(OpenapiConfiguration, config.id)
        assert config is not None
        config.document = {**config.document, "supplier_invoice": True}
    assert len(client.get(f"{INVOICES}?direction=incoming", headers=HEADERS).get_json()["data"]) == 1
    assert view(client, hidden_id)["state"] == "RECEIVED"


@pytest.mark.parametrize("supplier", [True, False])
def test_incoming_from_outside_is_filed_and_reported_only_when_on(
    client: FlaskClient, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, supplier: bool
) -> None:
    seen: list[tuple[str, str]] = []

    def record(sandbox: Sandbox, session: Any, row: OpenapiInvoice, at: dt.datetime) -> None:
        seen.append((row.direction, row.state))

    from emulator.providers.openapi import webhooks

    monkeypatch.setattr(webhooks, "invoice_changed", record)
    configure(sandbox, SANDBOX_VAT, supplier=supplier)
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT, "count": 2})
    assert response.status_code == 201, response.get_data(as_text=True)
    with sandbox.transaction() as session:
        rows = session.execute(select(OpenapiInvoice)).scalars().all()
        assert [(r.direction, r.state, r.sdi_status, r.fiscal_id) for r in rows] == [
            ("incoming", "RECEIVED", "RECEIVED", SANDBOX_VAT)
        ] * 2
        assert all(r.sdi_id for r in rows)
    assert seen == ([("incoming", "RECEIVED")] * 2 if supplier else [])
    listed = client.get(f"{INVOICES}?state=RECEIVED", headers=HEADERS).get_json()["data"]
    assert len(listed) == (2 if supplier else 0)
