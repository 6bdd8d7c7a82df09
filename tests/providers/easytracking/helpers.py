"""Building blocks for Easy Tracking tests: tokens, invoices, uploads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient
from lxml import etree

from emulator.sdi.generator import InvoiceGenerator, PartySpec

SANDBOX_VAT = "09382170158"  # owned by easytracking/sandbox
OTHER_VAT = "14725830377"  # owned by easytracking/other
CREDENTIALS = {
    "apiName": "openBusiness.scope.serviziweb.api",
    "clientName": "openBusiness.client.serviziweb.api",
    "clientSecret": "uKNtPmq49yjLkaYv",
    "username": "sandbox",
    "password": "sandbox",
}
FPA = "{http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2}"


def token(client: FlaskClient, username: str = "sandbox", password: str | None = None) -> str:
    body = {**CREDENTIALS, "username": username, "password": password or username}
    response = client.post("/easytracking/api/Token/AccessToken", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    raw = response.get_data(as_text=True)
    assert raw.startswith('"') and raw.endswith('"')
    return raw[1:-1]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def invoice(
    *,
    seed: int = 1,
    supplier_vat: str = SANDBOX_VAT,
    customer_vat: str | None = "01879020517",
    pa: bool = False,
    causale: str | None = None,
    progressive: str | None = None,
    number: str | None = None,
    recipient_code: str | None = None,
    issue_date: dt.date = dt.date(2026, 3, 1),
) -> bytes:
    generated = InvoiceGenerator(seed).generate(
        supplier=PartySpec(vat=supplier_vat, fiscal_code=supplier_vat, name="Sandbox Software S.r.l."),
        customer=PartySpec(vat=customer_vat, name="Cliente Prova S.p.A.") if customer_vat else None,
        pa=pa,
        document_type="TD01",
        issue_date=issue_date,
        number=number,
        transmitter=("IT", supplier_vat),
        progressive=progressive,
        recipient_code=recipient_code or ("UFE7T2" if pa else "M5UXCR1"),
        causale=causale,
    )
    return generated.xml


def mutate(xml: bytes, path: str, text: str) -> bytes:
    root = etree.fromstring(xml)
    node = root.find(path)
    assert node is not None, path
    node.text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def upload(client: FlaskClient, tok: str, body: bytes, route: str = "v4") -> Any:
    return client.post(
        f"/easytracking/api/{route}/ActiveInvoices",
        data=body,
        headers={**bearer(tok), "Content-Type": "application/xml"},
    )
