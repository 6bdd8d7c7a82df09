"""Testing your own Easy Tracking client against fattura-sandbox with the ``fattura_sandbox`` fixture.

Copy this file into your project's tests, replace ``MyEasyTrackingClient`` with your client, and run
``pytest``: the fixture comes with the package (``pip install fattura-sandbox``), no conftest needed.
Each test gets a sandbox of its own (reset, in memory, on a free port, its virtual clock frozen at
09:00 Rome time today): the test plays the SDI and the network through the fixture's control API,
while your client talks HTTP to the provider's URL as it would in production.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any
from zoneinfo import ZoneInfo

import requests
from requests import Response

from emulator.pytest_plugin import FatturaSandbox  # only for the type hints

# -- the code under test: a minimal Easy Tracking client (stands in for yours) ------------------------

CLIENT_APP = {
    "apiName": "openBusiness.scope.serviziweb.api",
    "clientName": "openBusiness.client.serviziweb.api",
    "clientSecret": "uKNtPmq49yjLkaYv",
}


class InvoiceRejected(Exception):
    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"the SDI rejected the invoice: {', '.join(codes)}")
        self.codes = codes


class MyEasyTrackingClient:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url, self.username, self.password = base_url, username, password
        self.http = requests.Session()
        self.token: str | None = None

    def _login(self) -> None:
        body = {**CLIENT_APP, "username": self.username, "password": self.password}
        response = self.http.post(f"{self.base_url}/api/Token/AccessToken", json=body, timeout=10)
        response.raise_for_status()
        self.token = response.json()  # the token is a JSON string

    def _call(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any) -> Response:
        """Logs in when needed, and again once on a 401; retries a 5xx twice."""
        for attempt in range(3):
            if self.token is None:
                self._login()
            auth = {**(headers or {}), "Authorization": f"Bearer {self.token}"}
            response = self.http.request(method, self.base_url + path, headers=auth, timeout=10, **kw)
            if response.status_code == 401 and attempt == 0:
                self.token = None
                continue
            if response.status_code >= 500 and attempt < 2:
                continue
            response.raise_for_status()
            return response
        raise RuntimeError(f"{method} {path}: no answer")

    def send(self, invoice_xml: bytes) -> str:
        """Upload a FatturaPA; answers its progressivoInvio."""
        response = self._call(
            "POST", "/api/v4/ActiveInvoices", data=invoice_xml, headers={"Content-Type": "application/xml"}
        )
        progressive: str = response.json()["progressivoInvio"]
        return progressive

    def outcome(self, progressive: str) -> str:
        """'pending', 'delivered', or raises InvoiceRejected with the SDI's error codes."""
        response = self._call("GET", "/api/v4/InvoiceNotifications", params={"progressivoInvio": progressive})
        root = ET.fromstring(response.content)
        for element in root.iter():
            name = element.tag.rsplit("}", 1)[-1]
            if name == "RicevutaScarto":
                raise InvoiceRejected([code.text or "" for code in element.iter("Codice")])
            if name == "RicevutaConsegna":
                return "delivered"
        return "pending"

    def incoming(self) -> list[dict[str, Any]]:
        """The passive invoices not yet downloaded."""
        response = self._call("GET", "/api/v10/DownloadInvoices/passive-invoices", params={"fase1": "false"})
        items: list[dict[str, Any]] = response.json()["invoices"]
        return items


INVOICE = """<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronica versione="FPR12"
    xmlns:p="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2">
  <FatturaElettronicaHeader>
    <DatiTrasmissione>
      <IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>{vat}</IdCodice></IdTrasmittente>
      <ProgressivoInvio>{progressive}</ProgressivoInvio>
      <FormatoTrasmissione>FPR12</FormatoTrasmissione>
      <CodiceDestinatario>M5UXCR1</CodiceDestinatario>
    </DatiTrasmissione>
    <CedentePrestatore>
      <DatiAnagrafici>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{vat}</IdCodice></IdFiscaleIVA>
        <Anagrafica><Denominazione>Sandbox Software S.r.l.</Denominazione></Anagrafica>
        <RegimeFiscale>RF01</RegimeFiscale>
      </DatiAnagrafici>
      <Sede><Indirizzo>Via Volta 12</Indirizzo><CAP>20121</CAP><Comune>Milano</Comune>
        <Provincia>MI</Provincia><Nazione>IT</Nazione></Sede>
    </CedentePrestatore>
    <CessionarioCommittente>
      <DatiAnagrafici>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>01879020517</IdCodice></IdFiscaleIVA>
        <Anagrafica><Denominazione>Cliente Prova S.p.A.</Denominazione></Anagrafica>
      </DatiAnagrafici>
      <Sede><Indirizzo>Via San Clemente 53</Indirizzo><CAP>24036</CAP><Comune>Ponte San Pietro</Comune>
        <Provincia>BG</Provincia><Nazione>IT</Nazione></Sede>
    </CessionarioCommittente>
  </FatturaElettronicaHeader>
  <FatturaElettronicaBody>
    <DatiGenerali>
      <DatiGeneraliDocumento>
        <TipoDocumento>TD01</TipoDocumento><Divisa>EUR</Divisa><Data>{date}</Data><Numero>{number}</Numero>
        <ImportoTotaleDocumento>122.00</ImportoTotaleDocumento>
      </DatiGeneraliDocumento>
    </DatiGenerali>
    <DatiBeniServizi>
      <DettaglioLinee>
        <NumeroLinea>1</NumeroLinea><Descrizione>Consulenza</Descrizione><Quantita>1.00</Quantita>
        <PrezzoUnitario>100.00</PrezzoUnitario><PrezzoTotale>100.00</PrezzoTotale><AliquotaIVA>22.00</AliquotaIVA>
      </DettaglioLinee>
      <DatiRiepilogo>
        <AliquotaIVA>22.00</AliquotaIVA><ImponibileImporto>100.00</ImponibileImporto>
        <Imposta>22.00</Imposta><EsigibilitaIVA>I</EsigibilitaIVA>
      </DatiRiepilogo>
    </DatiBeniServizi>
  </FatturaElettronicaBody>
</p:FatturaElettronica>
"""


def make_invoice(vat: str, day: dt.date, number: str = "1") -> bytes:
    progressive = f"P{number:0>4}"
    return INVOICE.format(vat=vat, progressive=progressive, date=day.isoformat(), number=number).encode()


# -- the tests --------------------------------------------------------------------------------------


def my_client(fattura_sandbox: FatturaSandbox) -> tuple[MyEasyTrackingClient, str]:
    """Your client, configured as in production but with the sandbox's URL and seeded account."""
    account = fattura_sandbox.account("easytracking")  # tenant "sandbox": username/password sandbox
    url = fattura_sandbox.provider_url("easytracking")  # http://127.0.0.1:<port>/easytracking
    return MyEasyTrackingClient(url, account.username, account.password), account.vat


def today(fattura_sandbox: FatturaSandbox) -> dt.date:
    return fattura_sandbox.now().astimezone(ZoneInfo("Europe/Rome")).date()


def test_the_client_sees_the_sdi_rejection_and_its_code(fattura_sandbox: FatturaSandbox) -> None:
    client, vat = my_client(fattura_sandbox)
    progressive = client.send(make_invoice(vat, today(fattura_sandbox)))
    assert client.outcome(progressive) == "pending"

    # Play the SDI: it rejects the invoice (NS) with error 00305 (the customer's P.IVA is not valid).
    fattura_sandbox.force(progressive, "NS", errors=["00305"])

    try:
        client.outcome(progressive)
    except InvoiceRejected as rejection:
        assert rejection.codes == ["00305"]
    else:
        raise AssertionError("the client did not see the rejection")


def test_the_client_sees_the_delivery_when_the_sdi_gets_to_it(fattura_sandbox: FatturaSandbox) -> None:
    client, vat = my_client(fattura_sandbox)
    progressive = client.send(make_invoice(vat, today(fattura_sandbox)))
    # No sleeping: move virtual time on, and the SDI delivers on its own schedule.
    fattura_sandbox.advance(3600)
    assert client.outcome(progressive) == "delivered"


def test_the_client_logs_in_again_when_its_token_expires(fattura_sandbox: FatturaSandbox) -> None:
    client, vat = my_client(fattura_sandbox)
    client.send(make_invoice(vat, today(fattura_sandbox), number="1"))
    fattura_sandbox.advance(2 * 3600)  # Easy Tracking tokens live 60 virtual minutes
    client.send(make_invoice(vat, today(fattura_sandbox), number="2"))
    journal = fattura_sandbox.journal(provider="easytracking")  # every request the provider served
    logins = [e for e in journal if e.path == "/api/Token/AccessToken"]
    assert len(logins) == 2


def test_the_client_retries_when_the_provider_is_unavailable(fattura_sandbox: FatturaSandbox) -> None:
    client, vat = my_client(fattura_sandbox)
    # The next upload gets a 503 (in Easy Tracking's own error format), later ones go through.
    fattura_sandbox.add_fault(
        "easytracking",
        {"type": "error", "status": 503},
        method="POST",
        path="/api/v4/ActiveInvoices",
        count=1,
    )
    client.send(make_invoice(vat, today(fattura_sandbox)))
    journal = fattura_sandbox.journal(provider="easytracking")
    uploads = [e for e in journal if e.path == "/api/v4/ActiveInvoices"]
    assert [e.status for e in uploads] == [503, 200]
    assert not [e for e in uploads if e.violations], "the client broke the provider's contract"


def test_the_client_lists_the_invoices_the_sdi_delivers(fattura_sandbox: FatturaSandbox) -> None:
    client, vat = my_client(fattura_sandbox)
    fattura_sandbox.incoming_invoices(vat, count=2, signed=True)
    assert len(client.incoming()) == 2
