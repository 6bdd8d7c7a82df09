"""A-Cube's sandbox simulation calls: POST /simulate/invoices/{uuid}/notifications and
POST /simulate/supplier-invoices (marking changes, the emitted notification, every error)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient

from emulator.providers.acube.service import ACUBE_VAT, SENDING_SECONDS
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from tests.conftest import advance
from tests.providers.acube.test_drafts import draft_uuid
from tests.providers.acube.test_invoices import (
    CUSTOMER_VAT,
    OTHER_VAT,
    SANDBOX_VAT,
    assert_problem,
    auth,
    created_uuid,
    get,
    invoice,
    listing,
    marking,
    token_of,
)

SUPPLIER_VAT = "01879020517"  # a supplier outside the sandbox


def simulate(client: FlaskClient, token: str, uuid: str, body: object, **headers: str) -> Any:
    return client.post(
        f"/acube/simulate/invoices/{uuid}/notifications", json=body, headers=auth(token, **headers)
    )


def supplier_invoice(client: FlaskClient, token: str, body: object) -> Any:
    return client.post("/acube/simulate/supplier-invoices", json=body, headers=auth(token))


def pa_invoice(seed: int = 7) -> bytes:
    return (
        InvoiceGenerator(seed)
        .generate(
            supplier=PartySpec(vat=SANDBOX_VAT, fiscal_code=SANDBOX_VAT, name="Sandbox S.r.l."),
            customer=PartySpec(vat=CUSTOMER_VAT, fiscal_code=CUSTOMER_VAT, name="Comune di Prova"),
            pa=True,
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            transmitter=("IT", ACUBE_VAT),
            recipient_code="UFABCD",
        )
        .xml
    )


def incoming_xml(customer_vat: str = SANDBOX_VAT, supplier_vat: str = SUPPLIER_VAT) -> str:
    return (
        InvoiceGenerator(3)
        .generate(
            supplier=PartySpec(vat=supplier_vat, name="Fornitore S.r.l."),
            customer=PartySpec(vat=customer_vat, name="Sandbox Digital S.r.l."),
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            number="77/2026",
            recipient_code="T9K4ZHO",
        )
        .xml.decode("utf-8")
    )


@pytest.fixture
def token(client: FlaskClient) -> str:
    return token_of(client)


def sent(client: FlaskClient, token: str, body: bytes | None = None) -> str:
    """An invoice A-Cube has handed to the SDI (marking "sent")."""
    uuid = created_uuid(client, token, body or invoice())
    advance(client, SENDING_SECONDS)
    assert marking(client, token, uuid) == "sent"
    return uuid


def emitted(client: FlaskClient, token: str, uuid: str, body: object) -> dict[str, Any]:
    response = simulate(client, token, uuid, body)
    assert response.status_code == 201, response.get_data(as_text=True)
    value: dict[str, Any] = response.get_json()
    return value


# -- notifications: marking ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"), [("RC", "delivered"), ("NS", "rejected"), ("MC", "not-delivered")]
)
def test_b2b_notification_changes_the_marking(
    client: FlaskClient, token: str, kind: str, expected: str
) -> None:
    uuid = sent(client, token)
    body = emitted(client, token, uuid, {"type": kind})
    assert body["type"] == kind
    assert body["invoice_uuid"] == uuid
    assert body["created_at"] == "2026-03-02T09:00:05+01:00"
    assert body["file_name"].endswith(f"_{kind}_001.xml")
    assert body["downloaded"] is False
    assert body["message"]["identificativo_sdi"] == get(client, token, uuid).get_json()["sdi_file_id"]
    view = get(client, token, uuid).get_json()
    assert view["marking"] == expected
    assert [n["uuid"] for n in view["notifications"]] == [body["uuid"]]
    listed = client.get(f"/acube/invoices/{uuid}/notifications", headers=auth(token)).get_json()
    assert listed == [body]


def test_ns_with_errors_quotes_them_in_message_and_notice(client: FlaskClient, token: str) -> None:
    uuid = sent(client, token)
    body = emitted(
        client,
        token,
        uuid,
        {"type": "NS", "errors": [{"code": "00305"}, {"code": "00404", "description": "Dup"}]},
    )
    errors = body["message"]["lista_errori"]
    assert [e["codice"] for e in errors] == ["00305", "00404"]
    assert errors[1]["descrizione"] == "Dup"
    view = get(client, token, uuid).get_json()
    assert view["marking"] == "rejected"
    assert view["notice"].startswith("00305: ") and "00404: Dup" in view["notice"]


def test_ns_without_errors_is_00200(client: FlaskClient, token: str) -> None:
    uuid = sent(client, token)
    body = emitted(client, token, uuid, {"type": "NS"})
    assert [e["codice"] for e in body["message"]["lista_errori"]] == ["00200"]


def test_the_sdi_drops_its_own_plan_after_a_simulation(client: FlaskClient, token: str) -> None:
    uuid = sent(client, token)
    emitted(client, token, uuid, {"type": "MC"})
    advance(client, 3600)  # the RC the SDI had planned never comes
    view = get(client, token, uuid).get_json()
    assert view["marking"] == "not-delivered"
    assert [n["type"] for n in view["notifications"]] == ["MC"]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([{"type": "RC"}], "delivered-pa"),
        ([{"type": "RC"}, {"type": "NE"}], "accepted-pa"),
        ([{"type": "RC"}, {"type": "NE", "outcome": "EC01"}], "accepted-pa"),
        ([{"type": "RC"}, {"type": "NE", "outcome": "EC02"}], "rejected-pa"),
        ([{"type": "RC"}, {"type": "DT"}], "deadline-terms"),
        ([{"type": "MC"}, {"type": "AT"}], "not-delivered"),
        ([{"type": "MC"}, {"type": "RC"}], "delivered-pa"),
    ],
)
def test_pa_lifecycle_through_simulations(
    client: FlaskClient, token: str, steps: list[dict[str, str]], expected: str
) -> None:
    uuid = sent(client, token, pa_invoice())
    for step in steps:
        emitted(client, token, uuid, step)
    view = get(client, token, uuid).get_json()
    assert view["to_pa"] is True
    assert view["marking"] == expected
    assert [n["type"] for n in view["notifications"]] == [s["type"] for s in steps]


def test_ne_message_carries_the_outcome(client: FlaskClient, token: str) -> None:
    uuid = sent(client, token, pa_invoice())
    emitted(client, token, uuid, {"type": "RC"})
    body = emitted(client, token, uuid, {"type": "NE", "outcome": "EC02"})
    assert body["type"] == "NE"
    assert body["message"]["esito_committente"]["esito"] == "EC02"


# -- notifications: errors -----------------------------------------------------------------------


def test_ns_after_rc_is_409(client: FlaskClient, token: str) -> None:
    uuid = sent(client, token)
    emitted(client, token, uuid, {"type": "RC"})
    assert_problem(
        simulate(client, token, uuid, {"type": "NS"}),
        409,
        "Notification NS not allowed: the invoice is delivered",
    )
    assert marking(client, token, uuid) == "delivered"


@pytest.mark.parametrize("kind", ["NE", "DT", "AT"])
def test_pa_only_notifications_on_b2b_are_409(client: FlaskClient, token: str, kind: str) -> None:
    uuid = sent(client, token)
    emitted(client, token, uuid, {"type": "RC"})
    assert_problem(
        simulate(client, token, uuid, {"type": kind}),
        409,
        f"Notification {kind} not allowed: the invoice is delivered; "
        f"{kind} exists only for an invoice to a public administration",
    )


@pytest.mark.parametrize("kind", ["NE", "DT", "AT"])
def test_pa_notifications_before_rc_are_409(client: FlaskClient, token: str, kind: str) -> None:
    uuid = sent(client, token, pa_invoice())
    assert_problem(
        simulate(client, token, uuid, {"type": kind}),
        409,
        f"Notification {kind} not allowed: the invoice is sent",
    )
    assert get(client, token, uuid).get_json()["notifications"] == []


def test_an_invoice_not_yet_sent_is_409(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    assert_problem(
        simulate(client, token, uuid, {"type": "RC"}),
        409,
        "Notification RC not allowed: the invoice is waiting; the SDI does not have it yet",
    )


def test_a_draft_is_409(client: FlaskClient, token: str) -> None:
    uuid = draft_uuid(client, token, invoice(), "application/xml")
    assert_problem(
        simulate(client, token, uuid, {"type": "RC"}),
        409,
        "Notification RC not allowed: the invoice is draft",
    )
    other = token_of(client, "other@example.com", "other")
    assert_problem(simulate(client, other, uuid, {"type": "RC"}), 404, "Not Found")


def test_a_received_invoice_is_409(client: FlaskClient, token: str) -> None:
    response = supplier_invoice(client, token, {"recipient": SANDBOX_VAT})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert_problem(
        simulate(client, token, response.get_json()["uuid"], {"type": "RC"}),
        409,
        "Notification RC not allowed: the invoice was received from a supplier",
    )


def test_unknown_invoice_is_404(client: FlaskClient, token: str) -> None:
    assert_problem(
        simulate(client, token, "00000000-0000-0000-0000-000000000000", {"type": "RC"}), 404, "Not Found"
    )


def test_another_accounts_invoice_is_404(client: FlaskClient, token: str) -> None:
    uuid = sent(client, token)
    other = token_of(client, "other@example.com", "other")
    assert_problem(simulate(client, other, uuid, {"type": "RC"}), 404, "Not Found")
    assert marking(client, token, uuid) == "sent"


def test_unknown_invoice_is_404_before_the_body_is_read(client: FlaskClient, token: str) -> None:
    response = client.post(
        "/acube/simulate/invoices/nope/notifications",
        data="x",
        headers=auth(token, **{"Content-Type": "text/plain"}),
    )
    assert_problem(response, 404, "Not Found")


def test_without_token_is_401(client: FlaskClient, token: str) -> None:
    uuid = sent(client, token)
    response = client.post(f"/acube/simulate/invoices/{uuid}/notifications", json={"type": "RC"})
    assert response.status_code == 401
    assert response.get_json() == {"code": 401, "message": "JWT Token not found"}


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ([], "", 'The body must be a JSON object like {"type": "RC"}.'),
        ({}, "type", "The value you selected is not a valid choice. Choose one of: NS, RC, MC, NE, DT, AT."),
        (
            {"type": "NE_EC01"},
            "type",
            "The value you selected is not a valid choice. Choose one of: NS, RC, MC, NE, DT, AT.",
        ),
        ({"type": "RC", "outcome": "EC01"}, "outcome", "outcome can only be given for type NE."),
        (
            {"type": "NE", "outcome": "EC03"},
            "outcome",
            "The value you selected is not a valid choice. Choose one of: EC01, EC02.",
        ),
        ({"type": "RC", "errors": [{"code": "00305"}]}, "errors", "errors can only be given for type NS."),
        ({"type": "NS", "errors": []}, "errors", 'errors must be a non-empty list like [{"code": "00305"}].'),
        ({"type": "NS", "errors": [{"code": "00305"}, {"description": "x"}]}, "errors[1].code", None),
        ({"type": "NS", "errors": [{"code": "99999"}]}, "errors[0].code", None),
        (
            {"type": "NS", "errors": [{"code": "00305", "description": " "}]},
            "errors[0].description",
            "The description must be a non-empty string.",
        ),
        (
            {"type": "RC", "esito": "EC01"},
            "esito",
            "This field was not expected; allowed: errors, outcome, type.",
        ),
    ],
)
def test_invalid_body_is_400_with_violation(
    client: FlaskClient, token: str, body: object, path: str, message: str | None
) -> None:
    uuid = sent(client, token)
    response = simulate(client, token, uuid, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    problem = response.get_json()
    [violation] = problem["violations"]
    assert violation["propertyPath"] == path
    if message is None:
        assert violation["message"].startswith("Unknown SDI error code ")
    else:
        assert violation["message"] == message
        assert problem["detail"] == (f"{path}: {message}" if path else message)
    assert marking(client, token, uuid) == "sent"


def test_body_not_json_is_415_and_bad_json_400(client: FlaskClient, token: str) -> None:
    uuid = sent(client, token)
    url = f"/acube/simulate/invoices/{uuid}/notifications"
    response = client.post(url, data="type=RC", headers=auth(token, **{"Content-Type": "text/plain"}))
    assert_problem(
        response,
        415,
        'The content-type "text/plain" is not supported. Supported MIME types are "application/json".',
    )
    response = client.post(url, data="{", headers=auth(token, **{"Content-Type": "application/json"}))
    assert_problem(response, 400, "Invalid JSON.")


# -- supplier invoices ---------------------------------------------------------------------------


def test_generated_supplier_invoice_is_received(client: FlaskClient, token: str) -> None:
    response = supplier_invoice(client, token, {"recipient": SANDBOX_VAT})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["type"] == 1
    assert body["marking"] == "delivered"
    assert body["recipient"]["business_vat_number_code"] == SANDBOX_VAT
    assert body["signed"] is False and body["downloaded"] is False
    assert body["sdi_file_name"].endswith(".xml")
    assert [n["type"] for n in body["notifications"]] == ["MT"]
    assert get(client, token, body["uuid"]).get_json() == body
    assert [i["uuid"] for i in listing(client, token, "?type=1").get_json()] == [body["uuid"]]


def test_signed_supplier_invoice_to_a_fiscal_code_with_it_prefix(client: FlaskClient, token: str) -> None:
    response = supplier_invoice(client, token, {"recipient": "it26174960638", "signed": True})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["signed"] is True
    assert body["sdi_file_name"].endswith(".xml.p7m")
    assert body["recipient"]["business_vat_number_code"] == "26174960638"


def test_given_xml_is_delivered_as_it_is(client: FlaskClient, token: str) -> None:
    xml = incoming_xml()
    response = supplier_invoice(client, token, {"recipient": SANDBOX_VAT, "xml": xml})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["sender"]["business_vat_number_code"] == SUPPLIER_VAT
    assert get(client, token, body["uuid"], Accept="application/xml").data == xml.encode("utf-8")
    assert listing(client, token, "?invoice_number=77/2026").get_json()[0]["uuid"] == body["uuid"]


def test_the_other_account_receives_its_own(client: FlaskClient, token: str) -> None:
    other = token_of(client, "other@example.com", "other")
    response = supplier_invoice(client, other, {"recipient": OTHER_VAT})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert listing(client, token, "?type=1").get_json() == []
    assert get(client, token, response.get_json()["uuid"]).status_code == 404


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ("x", "", 'The body must be a JSON object like {"recipient": "<VAT number>"}.'),
        ({}, "recipient", "recipient must be a VAT number or fiscal code of your account."),
        (
            {"recipient": 26174950589},
            "recipient",
            "recipient must be a VAT number or fiscal code of your account.",
        ),
        (
            {"recipient": OTHER_VAT},
            "recipient",
            f"{OTHER_VAT} is not a VAT number or fiscal code of your account.",
        ),
        ({"recipient": SANDBOX_VAT, "signed": "yes"}, "signed", "signed must be true or false."),
        ({"recipient": SANDBOX_VAT, "xml": ""}, "xml", "xml must be a FatturaPA invoice as a string."),
        (
            {"recipient": SANDBOX_VAT, "count": 2},
            "count",
            "This field was not expected; allowed: recipient, signed, xml.",
        ),
        (
            {"recipient": "26174960638", "xml": incoming_xml()},
            "xml",
            "The invoice's customer is 26174950589, not the recipient 26174960638.",
        ),
    ],
)
def test_invalid_supplier_invoice_is_400(
    client: FlaskClient, token: str, body: object, path: str, message: str
) -> None:
    response = supplier_invoice(client, token, body)
    problem = assert_problem(response, 400, f"{path}: {message}" if path else message)
    assert problem["violations"] == [{"propertyPath": path, "message": message, "code": None}]
    assert listing(client, token, "?type=1").get_json() == []


@pytest.mark.parametrize(
    ("xml", "start"),
    [("<a><b></a>", "xml: The XML cannot be read: "), ("<a/>", "xml: Not a FatturaPA invoice: ")],
)
def test_xml_that_is_no_invoice_is_400(client: FlaskClient, token: str, xml: str, start: str) -> None:
    response = supplier_invoice(client, token, {"recipient": SANDBOX_VAT, "xml": xml})
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(start)


def test_an_invoice_the_sdi_would_reject_is_400(client: FlaskClient, token: str) -> None:
    response = supplier_invoice(
        client, token, {"recipient": SANDBOX_VAT, "xml": incoming_xml(supplier_vat="01879020518")}
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    detail = response.get_json()["detail"]
    assert detail.startswith("The SDI would reject this invoice: 00300 ")
    assert "; 00301 1.2.1.1.2 <IdCodice> non valido : 01879020518" in detail
    assert listing(client, token, "?type=1").get_json() == []


def test_supplier_invoice_errors_of_transport(client: FlaskClient, token: str) -> None:
    response = client.post("/acube/simulate/supplier-invoices", json={"recipient": SANDBOX_VAT})
    assert response.status_code == 401
    assert response.get_json() == {"code": 401, "message": "JWT Token not found"}
    response = client.post(
        "/acube/simulate/supplier-invoices",
        data="<x/>",
        headers=auth(token, **{"Content-Type": "application/xml"}),
    )
    assert_problem(
        response,
        415,
        'The content-type "application/xml" is not supported. Supported MIME types are "application/json".',
    )
