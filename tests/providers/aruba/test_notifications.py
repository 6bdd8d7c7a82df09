"""Aruba §11 and §12: the notifications of sent and received invoices, by file name and by invoice."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from emulator.config import Config
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.lifecycle import Flow
from emulator.sdi.models import SdiNotification
from emulator.sdi.notifications import MessageType, NotificationData, parse_notification, render_notification
from emulator.state import Sandbox
from tests.conftest import advance, make_config
from tests.providers.aruba.finding_helpers import (
    Sent,
    assert_spring_error,
    force,
    get,
    received,
    row_id,
    sent,
)
from tests.providers.aruba.helpers import OTHER_VAT, token

NOTIFICATION_KEYS = [
    "date",
    "docType",
    "file",
    "filename",
    "invoiceId",
    "notificationDate",
    "number",
    "result",
    "errorCode",
    "errorDescription",
]
LIST_KEYS = ["count", "notifications", "errorCode", "errorDescription"]


@pytest.fixture
def config() -> Config:
    return make_config(aruba_sla=False)


def stored(sandbox: Sandbox, file_name: str, audience: str) -> bytes:
    with sandbox.transaction() as session:
        content: bytes = session.execute(
            select(SdiNotification.content).where(
                SdiNotification.file_name == file_name, SdiNotification.audience == audience
            )
        ).scalar_one()
        return content


def stem(made: Sent) -> str:
    return made.filename.removesuffix(".p7m").removesuffix(".xml")


def listing(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == LIST_KEYS
    assert body["count"] == len(body["notifications"])
    assert (body["errorCode"], body["errorDescription"]) == ("0000", None)
    return [(n["docType"], n["filename"]) for n in body["notifications"]]


def test_a_delivery_receipt_by_its_file_name(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1)
    advance(client, 120)  # RC
    name = f"{stem(made)}_RC_001.xml"
    response = get(client, token(client), "/notification/out/getByFilename", filename=name)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == NOTIFICATION_KEYS
    assert body == {
        "date": "2026-03-02T09:02:00.000+01:00",
        "docType": "RC",
        "file": body["file"],
        "filename": name,
        "invoiceId": str(made.id),
        "notificationDate": "2026-03-02T09:02:00.000+01:00",
        "number": None,
        "result": None,
        "errorCode": "0000",
        "errorDescription": None,
    }
    file = base64.b64decode(body["file"])
    assert file == stored(sandbox, name, "sender")
    parsed = parse_notification(file)
    assert parsed.message_type is MessageType.RC
    assert parsed.sdi_id == made.sdi_id
    assert parsed.file_name == made.filename


def test_the_notifications_of_an_invoice_oldest_first(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1, pa=True, customer_vat=OTHER_VAT, number="FPA-9")
    tok = token(client)
    by_name = {"invoiceFilename": made.filename}
    assert listing(get(client, tok, "/notification/out/getByInvoiceFilename", **by_name)) == []
    advance(client, 120)
    advance(client, 3600)
    force(client, made.filename, "NE_EC01")
    tok = token(client)  # the first expired meanwhile
    expected = [("RC", f"{stem(made)}_RC_001.xml"), ("NE", f"{stem(made)}_NE_001.xml")]
    response = get(client, tok, "/notification/out/getByInvoiceFilename", **by_name)
    assert listing(response) == expected
    rc, ne = response.get_json()["notifications"]
    assert (rc["number"], rc["result"]) == (None, None)
    assert (ne["number"], ne["result"]) == ("FPA-9", "EC01")
    assert ne["date"] == "2026-03-02T10:02:00.000+01:00"
    assert ne["invoiceId"] == str(made.id)
    by_id = get(client, tok, f"/notification/out/{made.id}")
    assert by_id.get_json() == response.get_json()


def test_a_refusal_shows_ec02(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1, pa=True, customer_vat=OTHER_VAT, number="FPA-10")
    force(client, made.filename, "NE_EC02")
    body = get(client, token(client), f"/notification/out/{made.id}").get_json()
    assert [(n["docType"], n["result"], n["number"]) for n in body["notifications"]] == [
        ("RC", None, None),
        ("NE", "EC02", "FPA-10"),
    ]


def test_a_rejection(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1)
    force(client, made.filename, "NS")
    body = get(client, token(client), f"/notification/out/{made.id}").get_json()
    assert [(n["docType"], n["result"]) for n in body["notifications"]] == [("NS", None)]
    assert parse_notification(base64.b64decode(body["notifications"][0]["file"])).error_codes


def test_received_invoices_list_what_the_sdi_sends_the_customer_but_not_the_metadata(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    made = sent(sandbox, seed=1, pa=True, customer_vat=OTHER_VAT)
    advance(client, 120)  # RC to sandbox, the invoice and its MT to other
    other = token(client, "other")
    received_id = row_id(sandbox, made.filename, "in", tenant="other")
    assert listing(get(client, other, f"/notification/in/{received_id}")) == []
    metadata = f"{stem(made)}_MT_001.xml"
    assert_spring_error(
        get(client, other, "/notification/in/getByFilename", filename=metadata),
        404,
        f"Notification not found: filename {metadata}",
        "/services/notification/in/getByFilename",
    )
    force(client, made.filename, "DT")
    dt = f"{stem(made)}_DT_001.xml"
    assert listing(get(client, other, f"/notification/in/{received_id}")) == [("DT", dt)]
    assert listing(
        get(client, other, "/notification/in/getByInvoiceFilename", invoiceFilename=made.filename)
    ) == [("DT", dt)]
    body = get(client, other, "/notification/in/getByFilename", filename=dt).get_json()
    assert body["invoiceId"] == str(received_id)
    assert base64.b64decode(body["file"]) == stored(sandbox, dt, "recipient")
    # The supplier gets its own DT, under the same name, in its sent box.
    tok = token(client)
    assert listing(get(client, tok, f"/notification/out/{made.id}")) == [
        ("RC", f"{stem(made)}_RC_001.xml"),
        ("DT", dt),
    ]
    mine = get(client, tok, "/notification/out/getByFilename", filename=dt).get_json()
    assert mine["invoiceId"] == str(made.id)
    assert base64.b64decode(mine["file"]) == stored(sandbox, dt, "sender")
    # Neither sees the other's box.
    assert get(client, tok, "/notification/in/getByFilename", filename=dt).status_code == 404
    assert get(client, tok, f"/notification/in/{received_id}").status_code == 404
    assert get(client, other, f"/notification/out/{made.id}").status_code == 404


def test_the_customers_own_esito_is_a_notification_of_the_received_invoice(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    made = sent(sandbox, seed=1, pa=True, customer_vat=OTHER_VAT, number="FPA-11")
    advance(client, 120)
    received_id = row_id(sandbox, made.filename, "in", tenant="other")
    ec_name = f"{stem(made)}_EC_001.xml.p7m"
    with sandbox.transaction() as session:
        row = session.get(ArubaInvoice, received_id)
        assert row is not None and row.invoice is not None
        xml = render_notification(
            MessageType.EC,
            Flow.PA,
            NotificationData(
                sdi_id=row.invoice.sdi_id,
                invoice_file_name=row.filename,
                received_at=row.created_at,
                message_id="",
                invoice_hash="",
                esito="EC02",
                esito_description="Importo errato",
                invoice_number="FPA-11",
                invoice_year=2026,
                message_id_committente="77",
            ),
            None,
        )
        session.add(
            SdiNotification(
                invoice=row.invoice,
                type="EC",
                audience="recipient",
                file_name=ec_name,
                content=sandbox.signer.make_p7m(xml),
                message_id="77",
                emitted_at=sandbox.clock.now(),
                esito=None,  # as kept when the SDI discards it: the file still says EC02
            )
        )
    body = get(client, token(client, "other"), f"/notification/in/{received_id}").get_json()
    assert [(n["docType"], n["filename"], n["number"], n["result"]) for n in body["notifications"]] == [
        ("EC", ec_name, "FPA-11", "EC02")
    ]


def test_received_via_the_control_api(client: FlaskClient, sandbox: Sandbox) -> None:
    delivered = received(client)[0]
    tok = token(client)
    response = get(
        client, tok, "/notification/in/getByInvoiceFilename", invoiceFilename=delivered["file_name"]
    )
    assert listing(response) == []
    assert (
        get(
            client, tok, "/notification/in/getByFilename", filename=delivered["metadata_file_name"]
        ).status_code
        == 404
    )


def test_another_accounts_notifications_are_not_found(client: FlaskClient, sandbox: Sandbox) -> None:
    theirs = sent(sandbox, tenant="other", seed=1, supplier_vat=OTHER_VAT)
    advance(client, 120)
    name = f"{stem(theirs)}_RC_001.xml"
    other = token(client, "other")
    assert get(client, other, "/notification/out/getByFilename", filename=name).status_code == 200
    tok = token(client)
    assert_spring_error(
        get(client, tok, "/notification/out/getByFilename", filename=name),
        404,
        f"Notification not found: filename {name}",
        "/services/notification/out/getByFilename",
    )
    assert_spring_error(
        get(client, tok, "/notification/out/getByInvoiceFilename", invoiceFilename=theirs.filename),
        404,
        f"Invoice not found: filename {theirs.filename}",
        "/services/notification/out/getByInvoiceFilename",
    )
    assert_spring_error(
        get(client, tok, f"/notification/out/{theirs.id}"),
        404,
        f"Invoice not found: id {theirs.id}",
        f"/services/notification/out/{theirs.id}",
    )


@pytest.mark.parametrize("direction", ["out", "in"])
def test_parameters(client: FlaskClient, direction: str) -> None:
    tok = token(client)
    base = f"/services/notification/{direction}"
    assert_spring_error(
        get(client, tok, f"/notification/{direction}/getByFilename"),
        400,
        "Required request parameter 'filename' for method parameter type String is not present",
        f"{base}/getByFilename",
    )
    assert_spring_error(
        get(client, tok, f"/notification/{direction}/getByInvoiceFilename", filename="x.xml"),
        400,
        "Required request parameter 'invoiceFilename' for method parameter type String is not present",
        f"{base}/getByInvoiceFilename",
    )
    assert_spring_error(
        get(client, tok, f"/notification/{direction}/1e3"),
        400,
        "Method parameter 'invoiceId': Failed to convert value of type 'java.lang.String' to required type "
        "'java.lang.Long'; For input string: \"1e3\"",
        f"{base}/1e3",
    )
    assert_spring_error(
        get(
            client, tok, f"/notification/{direction}/getByFilename", filename="IT01879020517_zzzzz_RC_001.xml"
        ),
        404,
        "Notification not found: filename IT01879020517_zzzzz_RC_001.xml",
        f"{base}/getByFilename",
    )
    assert client.get(f"/aruba{base}/getByFilename").status_code == 401
