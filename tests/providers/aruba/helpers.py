"""Building blocks for Aruba tests: tokens, invoices as Aruba wants them, uploads."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select

from emulator.providers.aruba import records
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.fatturapa import child
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from emulator.state import Sandbox

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


# -- uploads (§7): editing invoices, reading the sent box -------------------------------------------

FPA_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
FSM_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.0"


def edit(xml: bytes, change: Callable[[etree._Element], object]) -> bytes:
    """The invoice after ``change(root)``; elements are unqualified, find them with ``element``."""
    root = etree.fromstring(xml)
    change(root)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def element(root: etree._Element, *path: str) -> etree._Element:
    """The first element along ``path`` (local names) below ``root``; fails the test if missing."""
    found = child(root, *path)
    assert found is not None, f"no {'/'.join(path)}"
    return found


def add_after(parent: etree._Element, after: str, name: str, text: str | None = None) -> etree._Element:
    """A new child ``name`` of ``parent`` right after its (last) child ``after``."""
    new = etree.Element(name)
    new.text = text
    anchor = [c for c in parent if isinstance(c.tag, str) and etree.QName(c).localname == after][-1]
    anchor.addnext(new)
    return new


def simplified_invoice(
    *,
    supplier_vat: str = SANDBOX_VAT,
    amount: str = "122.00",
    rate: str = "22.00",
    nature: str | None = None,
    transmitter: str = ARUBA_TRANSMITTER,
) -> bytes:
    """A schema-valid FatturaElettronicaSemplificata (FSM10), one line."""
    nature_xml = f"<Natura>{nature}</Natura>" if nature else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronicaSemplificata xmlns:p="{FSM_NS}" versione="FSM10">
  <FatturaElettronicaHeader>
    <DatiTrasmissione>
      <IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>{transmitter}</IdCodice></IdTrasmittente>
      <ProgressivoInvio>S0001</ProgressivoInvio>
      <FormatoTrasmissione>FSM10</FormatoTrasmissione>
      <CodiceDestinatario>M5UXCR1</CodiceDestinatario>
    </DatiTrasmissione>
    <CedentePrestatore>
      <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{supplier_vat}</IdCodice></IdFiscaleIVA>
      <Denominazione>Sandbox Consulting S.r.l.</Denominazione>
      <Sede><Indirizzo>Viale Giacomo Matteotti 8</Indirizzo><CAP>50132</CAP><Comune>Firenze</Comune>
        <Provincia>FI</Provincia><Nazione>IT</Nazione></Sede>
      <RegimeFiscale>RF01</RegimeFiscale>
    </CedentePrestatore>
    <CessionarioCommittente>
      <IdentificativiFiscali>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{CUSTOMER_VAT}</IdCodice></IdFiscaleIVA>
      </IdentificativiFiscali>
    </CessionarioCommittente>
  </FatturaElettronicaHeader>
  <FatturaElettronicaBody>
    <DatiGenerali>
      <DatiGeneraliDocumento>
        <TipoDocumento>TD07</TipoDocumento><Divisa>EUR</Divisa><Data>2026-03-01</Data><Numero>S-1</Numero>
      </DatiGeneraliDocumento>
    </DatiGenerali>
    <DatiBeniServizi>
      <Descrizione>Riparazione</Descrizione>
      <Importo>{amount}</Importo>
      <DatiIVA><Aliquota>{rate}</Aliquota></DatiIVA>{nature_xml}
    </DatiBeniServizi>
  </FatturaElettronicaBody>
</p:FatturaElettronicaSemplificata>
""".encode()


def sent_file(sandbox: Sandbox, file_name: str) -> dict[str, Any]:
    """What the account's sent box holds for ``file_name``: status (§8.1), description, content, ids."""
    with sandbox.transaction() as session:
        row = session.execute(
            select(ArubaInvoice).where(ArubaInvoice.filename == file_name, ArubaInvoice.direction == "out")
        ).scalar_one()
        return {
            "id": row.id,
            "account_id": row.account_id,
            "status": records.status_of(row),
            "description": row.status_description,
            "content": row.content,
            "request_id": row.request_id,
            "sdi_file_name": row.invoice.file_name if row.invoice is not None else None,
            "sdi_xml": row.invoice.xml if row.invoice is not None else None,
            "sdi_received_at": row.invoice.received_at if row.invoice is not None else None,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "bodies": list(row.bodies),
            "sender": dict(row.sender),
            "receiver": dict(row.receiver),
            "invoice_type": row.invoice_type,
        }


def uploaded_name(response: Any) -> str:
    """The uploadFileName of an accepted upload (fails the test with the body otherwise)."""
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["errorCode"] in ("0000", ""), body
    name: str = body["uploadFileName"]
    return name
