"""A-Cube notifications: GET /invoices/{uuid}/notifications and GET /notifications/{uuid} (JSON, XML)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree

from emulator.providers.acube.service import SENDING_SECONDS
from emulator.sdi.notifications import parse_notification
from tests.conftest import advance
from tests.providers.acube.test_invoices import (
    OTHER_VAT,
    SANDBOX_VAT,
    assert_problem,
    auth,
    created_uuid,
    get,
    invoice,
    token_of,
)
from tests.providers.acube.test_simulate import incoming_xml

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
UNKNOWN = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def token(client: FlaskClient) -> str:
    return token_of(client)


def notifications_of(client: FlaskClient, token: str, uuid: str, **headers: str) -> Any:
    return client.get(f"/acube/invoices/{uuid}/notifications", headers=auth(token, **headers))


def notification(client: FlaskClient, token: str, uuid: str, **headers: str) -> Any:
    return client.get(f"/acube/notifications/{uuid}", headers=auth(token, **headers))


def delivered(client: FlaskClient, token: str) -> str:
    """An invoice the SDI delivered on its own (RC two minutes after reception)."""
    uuid = created_uuid(client, token, invoice())
    advance(client, SENDING_SECONDS + 120)
    return uuid


def test_waiting_invoice_has_no_notifications(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    response = notifications_of(client, token, uuid)
    assert response.status_code == 200
    assert response.get_json() == []


def test_rc_is_listed_with_its_message_as_json(client: FlaskClient, token: str) -> None:
    uuid = delivered(client, token)
    view = get(client, token, uuid).get_json()
    response = notifications_of(client, token, uuid)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    [rc] = response.get_json()
    assert rc["uuid"] == view["notifications"][0]["uuid"]
    assert rc["invoice_uuid"] == uuid
    assert rc["type"] == "RC"
    assert rc["created_at"] == "2026-03-02T09:02:05+01:00"
    assert rc["file_name"] == view["sdi_file_name"].removesuffix(".xml") + "_RC_001.xml"
    assert rc["downloaded"] is False
    message = rc["message"]
    assert message["identificativo_sdi"] == view["sdi_file_id"]
    assert message["nome_file"] == view["sdi_file_name"]
    assert message["data_ora_ricezione"] == "2026-03-02T09:00:05.000+01:00"
    assert message["data_ora_consegna"] == "2026-03-02T09:02:05.000+01:00"
    assert len(message["hash"]) == 64 and message["message_id"].isdigit()
    assert "signature" not in message


def test_one_notification_as_json_and_as_the_sdi_xml(client: FlaskClient, token: str) -> None:
    uuid = delivered(client, token)
    [rc] = notifications_of(client, token, uuid).get_json()
    response = notification(client, token, rc["uuid"])
    assert response.status_code == 200
    assert response.get_json() == rc
    assert notification(client, token, rc["uuid"], Accept="application/ld+json").get_json() == rc

    response = notification(client, token, rc["uuid"], Accept="application/xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    parsed = parse_notification(response.data)
    assert parsed.root_name == "RicevutaConsegna" and parsed.signed
    assert str(parsed.sdi_id) == rc["message"]["identificativo_sdi"]
    assert parsed.message_id == rc["message"]["message_id"]
    assert etree.fromstring(response.data).find(f"{{{DS_NS}}}Signature") is not None


def test_ns_errors_are_a_list(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice(causale="SANDBOX:NS:00305"))
    advance(client, SENDING_SECONDS + 300)
    [ns] = notifications_of(client, token, uuid).get_json()
    assert ns["type"] == "NS"
    [error] = ns["message"]["lista_errori"]
    assert error["codice"] == "00305"
    assert error["descrizione"].startswith("1.4.1.1.2 <IdCodice> non valido")
    xml = notification(client, token, ns["uuid"], Accept="application/xml").data
    assert parse_notification(xml).error_codes == ("00305",)


def test_a_received_invoice_shows_its_metadata_file(client: FlaskClient, token: str) -> None:
    response = client.post(
        "/acube/simulate/supplier-invoices", json={"recipient": SANDBOX_VAT}, headers=auth(token)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    received = response.get_json()
    [mt] = notifications_of(client, token, received["uuid"]).get_json()
    assert mt["type"] == "MT"
    assert mt["invoice_uuid"] == received["uuid"]
    assert mt["message"]["nome_file"] == received["sdi_file_name"]
    assert mt["message"]["codice_destinatario"] == "T9K4ZHO"
    xml = notification(client, token, mt["uuid"], Accept="text/xml")
    assert xml.status_code == 200 and parse_notification(xml.data).root_name == "FileMetadati"


def test_each_side_sees_its_own_notifications(client: FlaskClient, token: str) -> None:
    """An invoice between the two A-Cube accounts: the RC is the sender's, the MT the recipient's."""
    other = token_of(client, "other@example.com", "other")
    xml = incoming_xml(customer_vat=OTHER_VAT, supplier_vat=SANDBOX_VAT)
    response = client.post(
        "/acube/invoices", data=xml, headers=auth(token, **{"Content-Type": "application/xml"})
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    uuid = response.get_json()["uuid"]
    advance(client, SENDING_SECONDS + 120)
    [rc] = notifications_of(client, token, uuid).get_json()
    assert rc["type"] == "RC"
    [received] = client.get("/acube/invoices?type=1", headers=auth(other)).get_json()
    [mt] = notifications_of(client, other, received["uuid"]).get_json()
    assert mt["type"] == "MT"
    assert_problem(notification(client, other, rc["uuid"]), 404, "Not Found")
    assert_problem(notification(client, token, mt["uuid"]), 404, "Not Found")
    assert notification(client, other, mt["uuid"]).get_json() == mt


# -- errors ----------------------------------------------------------------------------------------


def test_unknown_or_other_accounts_invoice_is_404(client: FlaskClient, token: str) -> None:
    uuid = delivered(client, token)
    assert_problem(notifications_of(client, token, UNKNOWN), 404, "Not Found")
    other = token_of(client, "other@example.com", "other")
    assert_problem(notifications_of(client, other, uuid), 404, "Not Found")


def test_unknown_notification_is_404(client: FlaskClient, token: str) -> None:
    delivered(client, token)
    assert_problem(notification(client, token, UNKNOWN), 404, "Not Found")
    assert_problem(notification(client, token, "not-a-uuid", Accept="application/xml"), 404, "Not Found")


def test_accept_it_cannot_produce_is_406(client: FlaskClient, token: str) -> None:
    uuid = delivered(client, token)
    [rc] = notifications_of(client, token, uuid).get_json()
    assert_problem(
        notification(client, token, rc["uuid"], Accept="application/pdf"),
        406,
        'Requested format "application/pdf" is not supported. Supported MIME types are '
        '"application/json, application/ld+json, application/xml, text/xml".',
    )
    assert_problem(
        notifications_of(client, token, uuid, Accept="application/xml"),
        406,
        'Requested format "application/xml" is not supported. Supported MIME types are '
        '"application/json, application/ld+json".',
    )


def test_without_token_is_401(client: FlaskClient, token: str) -> None:
    uuid = delivered(client, token)
    [rc] = notifications_of(client, token, uuid).get_json()
    for url in (f"/acube/invoices/{uuid}/notifications", f"/acube/notifications/{rc['uuid']}"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.get_json() == {"code": 401, "message": "JWT Token not found"}
        response = client.get(url, headers={"Authorization": "Bearer nope"})
        assert response.get_json() == {"code": 401, "message": "Invalid JWT Token"}
