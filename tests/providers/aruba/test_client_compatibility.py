"""Requests shaped as an existing open-source Aruba client sends them (a .NET client on GitHub).

Its habits, restated here (no code of it is copied): credentials as a form; JSON bodies whose
values are all strings, with fields the document does not list (``senderPIVA``,
``skipExtraSchema``); booleans as .NET prints them (``True``/``False``); dates in .NET's round-trip
format (seven fractional digits, ``0001-01-01T00:00:00.0000000`` when unset, an offset for local
times); query strings joined without URL-encoding. The whole flow must work, and the one habit that
is a client bug on a Spring server (an offset's ``+`` left unencoded, read as a space) must show up
as Spring's 400.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from emulator.config import Config
from tests.conftest import advance, make_config
from tests.providers.aruba.helpers import SANDBOX_VAT, bearer, invoice

SERVICES = "/aruba/services"
MIN_VALUE = "0001-01-01T00:00:00.0000000"


@pytest.fixture
def config() -> Config:
    return make_config(aruba_sla=False)


def signin(client: FlaskClient) -> str:
    response = client.post(
        "/aruba/auth/signin",
        data={"grant_type": "password", "username": "sandbox", "password": "sandbox"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    token: str = response.get_json()["access_token"]
    return token


def dotnet_body(**fields: object) -> dict[str, str]:
    """A .NET Dictionary<string, string>: every value a string."""
    return {name: str(value) for name, value in fields.items()}


def test_a_dotnet_style_client_uploads_follows_and_reads_notifications(client: FlaskClient) -> None:
    token = signin(client)
    data_file = base64.b64encode(invoice(seed=7, pa=True, customer_vat="18302640505")).decode()
    uploaded = client.post(
        f"{SERVICES}/invoice/upload",
        json=dotnet_body(
            dataFile=data_file, senderPIVA="", skipExtraSchema="False", credential="", domain=""
        ),
        headers=bearer(token),
    )
    assert uploaded.status_code == 200
    body = uploaded.get_json()
    assert body["errorCode"] == "0000", body
    filename = body["uploadFileName"]

    advance(client, 60 + 120)  # Aruba's processing, then the SDI's RC
    end = "2026-03-02T09:30:00.1234567+01:00"
    found = client.get(
        f"{SERVICES}/invoice/out/findByUsername?username=sandbox&countrySender=IT"
        f"&vatcodeSender={SANDBOX_VAT}&page=1&size=10&startDate={MIN_VALUE}&endDate={quote(end)}",
        headers=bearer(token),
    )
    assert found.status_code == 200, found.get_data(as_text=True)
    assert [item["filename"] for item in found.get_json()["content"]] == [filename]

    detail = client.get(
        f"{SERVICES}/invoice/out/getByFilename?filename={filename}&includePdf=True&includeFile=False",
        headers=bearer(token),
    )
    assert detail.status_code == 200
    view = detail.get_json()
    assert view["file"] is None
    assert base64.b64decode(view["pdfFile"]).startswith(b"%PDF")
    assert view["invoices"][0]["status"] == "Consegnata"

    notices = client.get(
        f"{SERVICES}/notification/out/getByInvoiceFilename?invoiceFilename={filename}",
        headers=bearer(token),
    )
    assert notices.status_code == 200, notices.get_data(as_text=True)
    assert "_RC_" in notices.get_data(as_text=True)

    # The customer is the `other` sandbox account: it received the PA invoice and accepts it.
    other = client.post(
        "/aruba/auth/signin", data={"grant_type": "password", "username": "other", "password": "other"}
    ).get_json()["access_token"]
    (received,) = client.get(
        f"{SERVICES}/invoice/in/findByUsername?username=other", headers=bearer(other)
    ).get_json()["content"]
    accepted = client.post(
        f"{SERVICES}/invoice/in/sendEsitoCommittente",
        json=dotnet_body(
            filename=received["filename"],
            sdiId=received["idSdi"],
            esito="EC01",
            numero=received["invoices"][0]["number"],
            anno=received["invoices"][0]["invoiceDate"][:4],
            posizione=1,
            descrizione="",
            messageId="42",
        ),
        headers=bearer(other),
    )
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    final = client.get(f"{SERVICES}/invoice/out/{view['id']}?includeFile=False", headers=bearer(token))
    assert final.get_json()["invoices"][0]["status"] == "Accettata"
    notices = client.get(
        f"{SERVICES}/notification/out/getByInvoiceFilename?invoiceFilename={filename}",
        headers=bearer(token),
    )
    assert "_NE_" in notices.get_data(as_text=True)


def test_an_unencoded_offset_is_springs_400(client: FlaskClient) -> None:
    token = signin(client)
    response = client.get(
        f"{SERVICES}/invoice/out/findByUsername?username=sandbox&countrySender=IT"
        f"&vatcodeSender={SANDBOX_VAT}&endDate=2026-03-02T09:30:00.1234567+01:00",
        headers=bearer(token),
    )
    assert response.status_code == 400
    message = response.get_json()["message"]
    assert message.startswith("Method parameter 'endDate': Failed to convert value")
    assert "[2026-03-02T09:30:00.1234567 01:00]" in message


def test_a_dotnet_style_client_downloads_received_invoices_and_answers_them(client: FlaskClient) -> None:
    delivered = client.post(
        "/_sandbox/incoming-invoices", json={"recipient": "18302640505", "pa": True, "signed": True}
    )
    assert delivered.status_code == 201, delivered.get_data(as_text=True)
    received = delivered.get_json()["invoices"][0]
    other = client.post(
        "/aruba/auth/signin", data={"grant_type": "password", "username": "other", "password": "other"}
    ).get_json()["access_token"]

    listed = client.get(
        f"{SERVICES}/invoice/in/findByUsername?username=other&page=1&size=10"
        f"&startDate={MIN_VALUE}&endDate={quote('2026-03-03T00:00:00.0000000+01:00')}",
        headers=bearer(other),
    )
    assert listed.status_code == 200, listed.get_data(as_text=True)
    (item,) = listed.get_json()["content"]
    assert item["filename"] == received["file_name"]

    unsigned = client.get(
        f"{SERVICES}/invoice/in/getInvoiceWithUnsignedFile?filename={item['filename']}&includeFile=True",
        headers=bearer(other),
    )
    assert unsigned.status_code == 200
    view = unsigned.get_json()
    assert view["signed"] is True
    assert base64.b64decode(view["unsignedFile"]).lstrip().startswith(b"<?xml")

    esito = client.post(
        f"{SERVICES}/invoice/in/sendEsitoCommittente",
        json=dotnet_body(
            filename=item["filename"],
            sdiId=item["idSdi"],
            esito="EC01",
            numero=item["invoices"][0]["number"],
            anno=item["invoices"][0]["invoiceDate"][:4],
            posizione=1,
            descrizione="Fattura accettata",
            messageId="1",
        ),
        headers=bearer(other),
    )
    assert esito.status_code == 200, esito.get_data(as_text=True)
    after = client.get(f"{SERVICES}/invoice/in/{item['id']}?includeFile=False", headers=bearer(other))
    assert after.get_json()["invoices"][0]["status"] == "Accettata"
