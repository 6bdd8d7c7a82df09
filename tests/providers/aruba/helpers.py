"""Building blocks for Aruba tests: tokens, invoices as Aruba wants them, uploads."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from flask.testing import FlaskClient

from emulator.sdi.generator import InvoiceGenerator, PartySpec

SANDBOX_VAT = "20493810483"  # owned by aruba/sandbox
SANDBOX_VAT_2 = "20493820516"  # owned by aruba/sandbox
OTHER_VAT = "18302640505"  # owned by aruba/other (PA office UFK3RB)
ARUBA_TRANSMITTER = "01879020517"  # §7.1: IdTrasmittente of every upload
ARUBA_RECIPIENT_CODE = "KRRH6B9"
CUSTOMER_VAT = "01879020517"  # a customer outside the sandbox (Aruba PEC S.p.A.)
SIGNIN = "/aruba/auth/signin"


def token(client: FlaskClient, username: str = "sandbox", password: str | None = None) -> str:
    response = client.post(
        SIGNIN,
        data={"grant_type": "password", "username": username, "password": password or username},
        content_type="application/x-www-form-urlencoded;charset=UTF-8",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    value: str = response.get_json()["access_token"]
    return value


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def invoice(
    *,
    seed: int = 1,
    supplier_vat: str = SANDBOX_VAT,
    customer_vat: str | None = CUSTOMER_VAT,
    pa: bool = False,
    causale: str | None = None,
    number: str | None = None,
    recipient_code: str | None = None,
    transmitter: str = ARUBA_TRANSMITTER,
    issue_date: dt.date = dt.date(2026, 3, 1),
    document_type: str = "TD01",
) -> bytes:
    """A schema-valid FatturaPA as an Aruba client sends it (IdTrasmittente = Aruba PEC)."""
    generated = InvoiceGenerator(seed).generate(
        supplier=PartySpec(vat=supplier_vat, fiscal_code=supplier_vat, name="Sandbox Software S.r.l."),
        customer=PartySpec(vat=customer_vat, name="Cliente Prova S.p.A.") if customer_vat else None,
        pa=pa,
        document_type=document_type,
        issue_date=issue_date,
        number=number,
        transmitter=("IT", transmitter),
        recipient_code=recipient_code or ("UFK3RB" if pa else "M5UXCR1"),
        causale=causale,
    )
    return generated.xml


def upload(client: FlaskClient, tok: str, body: bytes, *, signed: bool = False, **fields: Any) -> Any:
    path = "/aruba/services/invoice/uploadSigned" if signed else "/aruba/services/invoice/upload"
    payload = {"dataFile": base64.b64encode(body).decode("ascii"), **fields}
    return client.post(path, json=payload, headers=bearer(tok))
