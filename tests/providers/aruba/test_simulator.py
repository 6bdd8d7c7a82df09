"""§14 the SDI simulator of the DEMO environment: invoiceIn and notificationOut."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.aruba import records
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.fatturapa import parse_invoice
from emulator.sdi.models import SdiInvoice
from emulator.sdi.notifications import parse_notification
from emulator.state import Sandbox
from tests.conftest import advance
from tests.providers.aruba.helpers import SANDBOX_VAT, bearer, invoice, token, upload, uploaded_name

INVOICE_IN = "/aruba/services/sdisimulator/invoiceIn"
NOTIFICATION_OUT = "/aruba/services/sdisimulator/notificationOut"
UNSIGNED = "/aruba/services/invoice/in/getInvoiceWithUnsignedFile"
OTHER_VAT = "18302640505"  # aruba/other, a public administration (office UFK3RB)
EASYTRACKING_VAT = "09382170158"  # easytracking/sandbox


def invoice_in(client: FlaskClient, tok: str, body: Any) -> Any:
    return client.post(INVOICE_IN, json=body, headers=bearer(tok))


def notification_out(client: FlaskClient, tok: str, body: Any) -> Any:
    return client.post(NOTIFICATION_OUT, json=body, headers=bearer(tok))


def sdi_invoice(sandbox: Sandbox, file_name: str) -> dict[str, Any]:
    with sandbox.transaction() as session:
        row = session.execute(select(SdiInvoice).where(SdiInvoice.file_name == file_name)).scalar_one()
        recipient = session.get(Account, row.recipient_account_id) if row.recipient_account_id else None
        return {
            "state": row.state,
            "versione": row.versione,
            "recipient_code": row.recipient_code,
            "channel": row.channel,
            "customer": (row.customer_country, row.customer_vat, row.customer_cf),
            "recipient": (recipient.provider, recipient.tenant) if recipient else None,
            "notifications": [(n.type, n.audience, n.file_name) for n in row.notifications],
            "contents": {n.file_name: n.content for n in row.notifications},
        }


def sent(sandbox: Sandbox, *, pa: bool = False, handed_over: bool = True, seed: int = 1) -> str:
    """A file in aruba/sandbox's sent box, handed to the SDI (or still "Presa in carico")."""
    xml = invoice(seed=seed, pa=pa)
    name = f"IT01879020517_sim{seed:02d}.xml"
    with sandbox.transaction() as session:
        account = session.execute(
            select(Account).where(Account.provider == "aruba", Account.tenant == "sandbox")
        ).scalar_one()
        now = sandbox.clock.now()
        row = ArubaInvoice(
            id=records.next_invoice_id(session, sandbox.ids),
            account_id=account.id,
            direction=records.OUT,
            filename=name,
            content=xml,
            status=records.SENT if handed_over else records.TAKEN_IN_CHARGE,
            created_at=now,
            updated_at=now,
        )
        if handed_over:
            reception = sandbox.engine.receive(
                session, file_name=name, content=xml, channel="aruba", sender_account_id=account.id
            )
            assert not reception.errors, reception.errors
            row.invoice = reception.invoice
        records.describe_file(row, parse_invoice(parse_xml(xml)))
        session.add(row)
    return name


def spring_error(response: Any, status: int, message: str, path: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert (body["status"], body["message"], body["path"]) == (status, message, path)


# -- invoiceIn (§14.1) -------------------------------------------------------------------------------


def test_invoice_in_lands_in_the_callers_received_box(client: FlaskClient, sandbox: Sandbox) -> None:
    tok = token(client)
    request = {"countryReceiver": "IT", "vatcodeReceiver": SANDBOX_VAT, "fiscalcodeReceiver": None}
    response = invoice_in(client, tok, request)
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["countryReceiver", "vatcodeReceiver", "fiscalcodeReceiver", "invoiceFileName"]
    assert {k: body[k] for k in request} == request
    name = body["invoiceFileName"]
    assert name.startswith("IT") and name.endswith(".xml")
    found = client.get(UNSIGNED, query_string={"filename": name}, headers=bearer(tok)).get_json()
    assert found["docType"] == "in"
    assert found["invoiceType"] == "FPR12"
    assert found["receiver"]["vatCode"] == SANDBOX_VAT
    assert found["receiver"]["description"] == "Sandbox Consulting S.r.l."
    facts = sdi_invoice(sandbox, name)
    assert facts["state"] == "delivered" and facts["channel"] == "sdi"
    assert facts["recipient"] == ("aruba", "sandbox")
    assert facts["recipient_code"] == "KRRH6B9"
    assert [kind for kind, _, _ in facts["notifications"]] == ["RC", "MT"]


def test_the_fiscal_code_appears_on_the_invoice(client: FlaskClient, sandbox: Sandbox) -> None:
    tok = token(client)
    request = {
        "countryReceiver": "IT",
        "vatcodeReceiver": SANDBOX_VAT,
        "fiscalcodeReceiver": "RMNLCU82B11D612S",
    }
    body = invoice_in(client, tok, request).get_json()
    assert body["fiscalcodeReceiver"] == "RMNLCU82B11D612S"
    found = client.get(UNSIGNED, query_string={"filename": body["invoiceFileName"]}, headers=bearer(tok))
    xml = base64.b64decode(found.get_json()["unsignedFile"])
    customer = parse_invoice(parse_xml(xml)).customer
    assert (customer.vat, customer.fiscal_code) == (SANDBOX_VAT, "RMNLCU82B11D612S")


def test_a_public_administration_gets_an_fpa12_to_its_office(client: FlaskClient, sandbox: Sandbox) -> None:
    body = invoice_in(
        client, token(client), {"countryReceiver": "IT", "vatcodeReceiver": OTHER_VAT}
    ).get_json()
    assert body["fiscalcodeReceiver"] is None  # not given: echoed as null
    facts = sdi_invoice(sandbox, body["invoiceFileName"])
    assert facts["recipient"] == ("aruba", "other")
    assert (facts["versione"], facts["recipient_code"]) == ("FPA12", "UFK3RB")
    # Not the caller's: aruba/sandbox does not see it, aruba/other does.
    query = {"filename": body["invoiceFileName"]}
    assert client.get(UNSIGNED, query_string=query, headers=bearer(token(client))).status_code == 404
    theirs = client.get(UNSIGNED, query_string=query, headers=bearer(token(client, "other")))
    assert theirs.get_json()["invoices"][0]["status"] == "Inviata"


def test_another_providers_account_receives_it_in_its_own_passive_cycle(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    body = invoice_in(client, token(client), {"countryReceiver": "IT", "vatcodeReceiver": EASYTRACKING_VAT})
    facts = sdi_invoice(sandbox, body.get_json()["invoiceFileName"])
    assert facts["recipient"] == ("easytracking", "sandbox")
    assert facts["recipient_code"] == "DTI1I04"


@pytest.mark.parametrize(
    ("country", "vat", "code"),
    [("IT", "01879020517", "KRRH6B9"), ("DE", "123456789", "XXXXXXX"), ("fr", "12345678901", "XXXXXXX")],
)
def test_a_customer_outside_the_sandbox(
    client: FlaskClient, sandbox: Sandbox, country: str, vat: str, code: str
) -> None:
    response = invoice_in(client, token(client), {"countryReceiver": country, "vatcodeReceiver": vat})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["countryReceiver"], body["vatcodeReceiver"]) == (country, vat)
    facts = sdi_invoice(sandbox, body["invoiceFileName"])
    assert facts["recipient"] is None
    assert facts["customer"] == (country.upper(), vat, None)
    assert facts["recipient_code"] == code
    assert facts["state"] == "delivered"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"countryReceiver": "IT", "vatcodeReceiver": "18302640506"},
            "The SDI would reject an invoice to this customer: "
            "00305 1.4.1.1.2 <IdCodice> non valido : 18302640506",
        ),
        (
            {"countryReceiver": "ITA", "vatcodeReceiver": SANDBOX_VAT},
            "countryReceiver 'ITA' is not a country code (ISO 3166-1 alpha-2, e.g. IT)",
        ),
        (
            {"countryReceiver": "IT", "vatcodeReceiver": "IT-204"},
            "vatcodeReceiver 'IT-204' is not a VAT number (1 to 28 letters or digits)",
        ),
        (
            {"countryReceiver": "IT", "vatcodeReceiver": SANDBOX_VAT, "fiscalcodeReceiver": "RSS"},
            "fiscalcodeReceiver 'RSS' is not a tax code (11 to 16 letters or digits)",
        ),
        (
            {"countryReceiver": "IT"},
            "Validation failed for object='invoiceInSimulationRequest'. Error count: 1; "
            "field 'vatcodeReceiver': must not be null",
        ),
        (
            "IT",
            "JSON parse error: Cannot deserialize value of type `InvoiceInSimulationRequest` "
            'from String value ("IT")',
        ),
    ],
)
def test_invoice_in_refuses_what_it_cannot_simulate(client: FlaskClient, body: Any, message: str) -> None:
    spring_error(invoice_in(client, token(client), body), 400, message, "/services/sdisimulator/invoiceIn")


def test_the_simulator_needs_a_token_and_json(client: FlaskClient) -> None:
    assert client.post(INVOICE_IN, json={}).status_code == 401
    assert client.post(NOTIFICATION_OUT, json={}).status_code == 401
    spring_error(
        client.post(INVOICE_IN, data=b"x", headers={**bearer(token(client)), "Content-Type": "text/plain"}),
        415,
        "Content-Type 'text/plain' is not supported",
        "/services/sdisimulator/invoiceIn",
    )


# -- notificationOut (§14.2) -----------------------------------------------------------------------


def test_notification_out_emits_the_sdi_notification_now(client: FlaskClient, sandbox: Sandbox) -> None:
    name = sent(sandbox)
    response = notification_out(client, token(client), {"invoiceFileName": name, "notificationType": "RC"})
    assert response.status_code == 201
    body = response.get_json()
    assert body == {
        "invoiceFileName": name,
        "notificationFileName": "IT01879020517_sim01_RC_001.xml",
        "notificationType": "RC",
    }
    assert list(body) == ["invoiceFileName", "notificationFileName", "notificationType"]
    facts = sdi_invoice(sandbox, name)
    assert facts["state"] == "delivered"
    assert parse_notification(facts["contents"]["IT01879020517_sim01_RC_001.xml"]).message_type.value == "RC"
    advance(client, 300)  # the RC the SDI had planned was dropped: no second one
    assert [
        kind for kind, audience, _ in sdi_invoice(sandbox, name)["notifications"] if audience == "sender"
    ] == ["RC"]


def test_a_dt_on_a_fresh_pa_invoice_emits_its_rc_first(client: FlaskClient, sandbox: Sandbox) -> None:
    name = sent(sandbox, pa=True)
    body = notification_out(
        client, token(client), {"invoiceFileName": name, "notificationType": "DT"}
    ).get_json()
    assert body["notificationFileName"] == "IT01879020517_sim01_DT_001.xml"
    facts = sdi_invoice(sandbox, name)
    assert facts["state"] == "expired"
    assert [kind for kind, audience, _ in facts["notifications"] if audience == "sender"] == ["RC", "DT"]


@pytest.mark.parametrize(
    ("kind", "state", "esito"), [("NE_EC01", "accepted", "EC01"), ("NE_EC02", "refused", "EC02")]
)
def test_ne_carries_the_esito(
    client: FlaskClient, sandbox: Sandbox, kind: str, state: str, esito: str
) -> None:
    name = sent(sandbox, pa=True)
    body = notification_out(
        client, token(client), {"invoiceFileName": name, "notificationType": kind}
    ).get_json()
    assert body["notificationType"] == kind
    assert body["notificationFileName"] == "IT01879020517_sim01_NE_001.xml"
    facts = sdi_invoice(sandbox, name)
    assert facts["state"] == state
    assert parse_notification(facts["contents"][body["notificationFileName"]]).esito == esito


def test_the_whole_ladder_through_the_public_api(client: FlaskClient) -> None:
    """An upload (§7) moves through the statuses of §8.1 as the simulator makes the SDI speak."""
    tok = token(client)
    name = uploaded_name(upload(client, tok, invoice(pa=True)))
    advance(client, 60)  # Aruba's processing: handed to the SDI
    for kind, expected in [("MC", "Non Consegnata"), ("RC", "Consegnata"), ("NE_EC02", "Rifiutata")]:
        assert (
            notification_out(client, tok, {"invoiceFileName": name, "notificationType": kind}).status_code
            == 201
        )
        found = client.get(
            "/aruba/services/invoice/out/getByFilename", query_string={"filename": name}, headers=bearer(tok)
        )
        assert found.get_json()["invoices"][0]["status"] == expected


@pytest.mark.parametrize(
    ("pa", "steps", "message"),
    [
        (
            False,
            ["DT"],
            "Cannot simulate DT for IT01879020517_sim01.xml: the SDI does not emit DT for a B2B invoice in "
            "state 'received'",
        ),
        (
            False,
            ["RC", "NS"],
            "Cannot simulate NS for IT01879020517_sim01.xml: the SDI does not emit NS for a B2B invoice in "
            "state 'delivered'",
        ),
        (
            True,
            ["NS", "RC"],
            "Cannot simulate RC for IT01879020517_sim01.xml: the SDI does not emit RC for a PA invoice in "
            "state 'rejected'",
        ),
    ],
)
def test_transitions_the_lifecycle_refuses_are_400(
    client: FlaskClient, sandbox: Sandbox, pa: bool, steps: list[str], message: str
) -> None:
    name = sent(sandbox, pa=pa)
    tok = token(client)
    *before, last = steps
    for kind in before:
        assert (
            notification_out(client, tok, {"invoiceFileName": name, "notificationType": kind}).status_code
            == 201
        )
    spring_error(
        notification_out(client, tok, {"invoiceFileName": name, "notificationType": last}),
        400,
        message,
        "/services/sdisimulator/notificationOut",
    )


def test_notification_out_errors(client: FlaskClient, sandbox: Sandbox) -> None:
    path = "/services/sdisimulator/notificationOut"
    name = sent(sandbox)
    waiting = sent(sandbox, handed_over=False, seed=2)
    tok = token(client)
    spring_error(
        notification_out(
            client, tok, {"invoiceFileName": "IT01879020517_nope0.xml", "notificationType": "RC"}
        ),
        404,
        "No sent invoice with filename IT01879020517_nope0.xml",
        path,
    )
    spring_error(
        notification_out(client, token(client, "other"), {"invoiceFileName": name, "notificationType": "RC"}),
        404,
        f"No sent invoice with filename {name}",
        path,
    )
    spring_error(
        notification_out(client, tok, {"invoiceFileName": waiting, "notificationType": "RC"}),
        400,
        f"The invoice {waiting} has not been sent to the SDI (status Presa in carico): no SDI notification "
        "can exist for it",
        path,
    )
    spring_error(
        notification_out(client, tok, {"invoiceFileName": name, "notificationType": "NE"}),
        400,
        'JSON parse error: Cannot deserialize value of type `NotificationType` from String "NE": '
        "not one of the values accepted for Enum class: [NS, MC, AT, RC, NE_EC01, NE_EC02, DT]",
        path,
    )
    spring_error(
        notification_out(client, tok, {"notificationType": "RC"}),
        400,
        "Validation failed for object='notificationOutSimulationRequest'. Error count: 1; "
        "field 'invoiceFileName': must not be null",
        path,
    )
