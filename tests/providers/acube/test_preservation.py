"""A-Cube legal storage: POST /invoices/{uuid}/preserve, GET /invoices/{id}/preserved-document."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from emulator.providers.acube.preservation import RECEIPT_SECONDS, SUBMIT_SECONDS
from emulator.providers.acube.service import SENDING_SECONDS
from tests.conftest import advance
from tests.providers.acube.test_invoices import (
    INVOICES,
    SANDBOX_VAT,
    assert_problem,
    auth,
    created_uuid,
    get,
    invoice,
    listing,
    token_of,
)

KEYS = [
    "created_at", "uuid", "status", "receipt_received_at", "object_type", "object_id", "message",
    "preserved_object_id", "weight",
]  # fmt: skip


@pytest.fixture
def token(client: FlaskClient) -> str:
    return token_of(client)


def preserve(client: FlaskClient, token: str, uuid: str) -> Any:
    return client.post(f"{INVOICES}/{uuid}/preserve", headers=auth(token))


def preserved_document(client: FlaskClient, token: str, uuid: str) -> Any:
    return client.get(f"{INVOICES}/{uuid}/preserved-document", headers=auth(token))


def delivered(client: FlaskClient, token: str, body: bytes | None = None) -> str:
    uuid = created_uuid(client, token, body or invoice())
    advance(client, SENDING_SECONDS + 120)
    assert get(client, token, uuid).get_json()["marking"] == "delivered"
    return uuid


def received(client: FlaskClient, token: str) -> str:
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    value: str = listing(client, token, "?type=1").get_json()[0]["uuid"]
    return value


def test_preservation_goes_through_its_steps_in_virtual_time(client: FlaskClient, token: str) -> None:
    uuid = delivered(client, token)
    view = get(client, token, uuid).get_json()
    assert view["legally_stored"] is False and view["preserved_document"] is None
    assert_problem(preserved_document(client, token, uuid), 404, "Not Found")

    response = preserve(client, token, uuid)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.data == b""
    first = preserved_document(client, token, uuid)
    assert first.status_code == 200 and first.mimetype == "application/json"
    record = first.get_json()
    assert list(record) == KEYS
    assert record["status"] == "to_preserve"
    assert record["object_type"] == "invoice" and record["object_id"] == uuid
    assert record["receipt_received_at"] is None and record["preserved_object_id"] is None
    assert record["weight"] == len(invoice()) and len(record["uuid"]) == 36
    view = get(client, token, uuid).get_json()
    assert view["legally_stored"] is False and view["preserved_document"] == record

    advance(client, SUBMIT_SECONDS - 1)
    assert preserved_document(client, token, uuid).get_json()["status"] == "to_preserve"
    advance(client, 1)
    sent = preserved_document(client, token, uuid).get_json()
    assert sent["status"] == "sent" and sent["uuid"] == record["uuid"]
    assert sent["created_at"] == record["created_at"] and sent["receipt_received_at"] is None
    assert get(client, token, uuid).get_json()["legally_stored"] is False

    advance(client, RECEIPT_SECONDS)
    done = preserved_document(client, token, uuid).get_json()
    assert done["status"] == "preserved" and done["message"] == "Preserved"
    assert done["receipt_received_at"] is not None and len(done["preserved_object_id"]) == 36
    view = get(client, token, uuid).get_json()
    assert view["legally_stored"] is True and view["preserved_document"] == done
    listed = next(i for i in listing(client, token).get_json() if i["uuid"] == uuid)
    assert listed["legally_stored"] is True


def test_a_clock_jump_runs_every_step(client: FlaskClient, token: str) -> None:
    uuid = received(client, token)
    assert preserve(client, token, uuid).status_code == 200
    advance(client, SUBMIT_SECONDS + RECEIPT_SECONDS)
    assert preserved_document(client, token, uuid).get_json()["status"] == "preserved"
    assert get(client, token, uuid).get_json()["legally_stored"] is True


def test_preserving_twice_is_400(client: FlaskClient, token: str) -> None:
    uuid = received(client, token)
    assert preserve(client, token, uuid).status_code == 200
    assert_problem(
        preserve(client, token, uuid),
        400,
        "Invoice not eligible for preservation: it was already sent to preservation.",
    )
    advance(client, SUBMIT_SECONDS + RECEIPT_SECONDS)
    assert preserve(client, token, uuid).status_code == 400


def test_a_waiting_invoice_is_not_eligible(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    assert_problem(
        preserve(client, token, uuid),
        400,
        "Invoice not eligible for preservation: it has not been sent to the SDI yet.",
    )
    assert_problem(preserved_document(client, token, uuid), 404, "Not Found")


def test_a_rejected_invoice_is_not_eligible(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    advance(client, SENDING_SECONDS)
    response = client.post("/_sandbox/sdi/notifications", json={"invoice": uuid, "type": "NS"})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    assert_problem(
        preserve(client, token, uuid), 400, "Invoice not eligible for preservation: the SDI rejected it."
    )
    assert get(client, token, uuid).get_json()["preserved_document"] is None


def test_a_sent_invoice_not_yet_delivered_is_eligible(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    advance(client, SENDING_SECONDS)
    assert get(client, token, uuid).get_json()["marking"] == "sent"
    assert preserve(client, token, uuid).status_code == 200


def test_unknown_or_other_accounts_invoice_is_404(client: FlaskClient, token: str) -> None:
    uuid = delivered(client, token)
    other = token_of(client, "other@example.com", "other")
    assert_problem(preserve(client, other, uuid), 404, "Not Found")
    assert_problem(preserve(client, token, "nope"), 404, "Not Found")
    assert preserve(client, token, uuid).status_code == 200
    assert_problem(preserved_document(client, other, uuid), 404, "Not Found")
    assert_problem(preserved_document(client, token, "nope"), 404, "Not Found")


def test_without_token_is_401(client: FlaskClient) -> None:
    for response in (client.post(f"{INVOICES}/x/preserve"), client.get(f"{INVOICES}/x/preserved-document")):
        assert response.status_code == 401
        assert response.get_json() == {"code": 401, "message": "JWT Token not found"}
