"""What every example client shares: the certification environment, a FatturaPA template, and an
HTTP helper that retries the way a well-behaved integration should (stdlib + requests only).

The environment variables are the ones `fattura-sandbox certify` hands to the client command:
FATTURA_SANDBOX_URL, _PROVIDER, _BASE_URL, _USERNAME, _PASSWORD, _EMAIL, _TOKEN, _VAT, _ACCOUNT,
_RUN_SECONDS and _INVOICES.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import requests

# Back-off after a 5xx or a dropped connection: 1 s plus a jitter of up to 0.5 s, 1 s, 2 s, ... (capped).
BACKOFF_BASE = 0.5  # the first retry after 0.5 s, then 1, 2, 4, 8 (capped), each with up to 10% jitter
BACKOFF_CAP = 8.0
MAX_ATTEMPTS = 6


@dataclass
class Env:
    root: str
    provider: str
    base_url: str
    username: str
    password: str
    email: str
    vat: str
    account: dict[str, Any]
    run_seconds: float
    invoices: int
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def load(cls) -> Env:
        get = os.environ.get
        return cls(
            root=get("FATTURA_SANDBOX_URL", "http://127.0.0.1:8080").rstrip("/"),
            provider=get("FATTURA_SANDBOX_PROVIDER", ""),
            base_url=get("FATTURA_SANDBOX_BASE_URL", "").rstrip("/"),
            username=get("FATTURA_SANDBOX_USERNAME", "sandbox"),
            password=get("FATTURA_SANDBOX_PASSWORD", "sandbox"),
            email=get("FATTURA_SANDBOX_EMAIL", ""),
            vat=get("FATTURA_SANDBOX_VAT", ""),
            account=json.loads(get("FATTURA_SANDBOX_ACCOUNT") or "{}"),
            run_seconds=float(get("FATTURA_SANDBOX_RUN_SECONDS", "30")),
            invoices=int(get("FATTURA_SANDBOX_INVOICES", "1")),
        )

    def remaining(self) -> float:
        return self.run_seconds - (time.monotonic() - self.started)

    def sleep(self, seconds: float) -> None:
        """Sleep, but never past the end of the run."""
        time.sleep(max(0.0, min(seconds, self.remaining())))


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


class GiveUp(Exception):
    """The server kept failing (or the run ended) while a call was retried."""


def call(env: Env, session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """One request, retried on 429 (after Retry-After), 5xx and dropped connections (exponential
    back-off with jitter, capped). Other statuses (2xx, 4xx) are returned to the caller."""
    kwargs.setdefault("timeout", 15)
    for attempt in range(MAX_ATTEMPTS):
        try:
            response = session.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            wait = backoff(attempt)
            log(f"{method} {url}: connection dropped ({type(exc).__name__}), retry in {wait:.1f}s")
        else:
            if response.status_code == 429:
                wait = retry_after(response)
                log(f"{method} {url}: 429, Retry-After {wait:.0f}s")
            elif response.status_code >= 500:
                wait = backoff(attempt)
                log(f"{method} {url}: {response.status_code}, retry in {wait:.1f}s")
            else:
                return response
        if wait > env.remaining():
            raise GiveUp(f"{method} {url}: no time left to retry")
        time.sleep(wait)
    raise GiveUp(f"{method} {url}: still failing after {MAX_ATTEMPTS} attempts")


def backoff(attempt: int) -> float:
    """Exponential back-off: each wait doubles (the jitter, at most 10%, never undoes the growth)."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
    return base * (1 + random.uniform(0, 0.1))


def retry_after(response: requests.Response) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(1.0, float(raw))
    except ValueError:
        return 5.0


class RateLimiter:
    """At most ``limit`` calls in any ``window`` seconds (the provider's documented SLA)."""

    def __init__(self, env: Env, limit: int, window: float = 60.0) -> None:
        self.env, self.limit, self.window = env, limit, window
        self.calls: list[float] = []

    def acquire(self) -> bool:
        """Wait for a free slot; False when the run ends first."""
        now = time.monotonic()
        self.calls = [t for t in self.calls if now - t < self.window]
        if len(self.calls) >= self.limit:
            wait = self.window - (now - self.calls[0])
            if wait > self.env.remaining():
                return False
            time.sleep(wait)
        self.calls.append(time.monotonic())
        return True


INVOICE_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronica xmlns:p="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2" \
xmlns:ds="http://www.w3.org/2000/09/xmldsig#" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" versione="FPR12">
  <FatturaElettronicaHeader>
    <DatiTrasmissione>
      <IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>{transmitter}</IdCodice></IdTrasmittente>
      <ProgressivoInvio>{progressive}</ProgressivoInvio>
      <FormatoTrasmissione>FPR12</FormatoTrasmissione>
      <CodiceDestinatario>M5UXCR1</CodiceDestinatario>
    </DatiTrasmissione>
    <CedentePrestatore>
      <DatiAnagrafici>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{supplier}</IdCodice></IdFiscaleIVA>
        <CodiceFiscale>{supplier}</CodiceFiscale>
        <Anagrafica><Denominazione>Sandbox Software S.r.l.</Denominazione></Anagrafica>
        <RegimeFiscale>RF01</RegimeFiscale>
      </DatiAnagrafici>
      <Sede><Indirizzo>Via Alessandro Volta</Indirizzo><NumeroCivico>12</NumeroCivico><CAP>20121</CAP>
        <Comune>Milano</Comune><Provincia>MI</Provincia><Nazione>IT</Nazione></Sede>
    </CedentePrestatore>
    <CessionarioCommittente>
      <DatiAnagrafici>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{customer}</IdCodice></IdFiscaleIVA>
        <Anagrafica><Denominazione>Cliente Prova S.p.A.</Denominazione></Anagrafica>
      </DatiAnagrafici>
      <Sede><Indirizzo>Viale Sante Cabibbo</Indirizzo><NumeroCivico>32</NumeroCivico><CAP>89127</CAP>
        <Comune>Reggio di Calabria</Comune><Provincia>RC</Provincia><Nazione>IT</Nazione></Sede>
    </CessionarioCommittente>
  </FatturaElettronicaHeader>
  <FatturaElettronicaBody>
    <DatiGenerali>
      <DatiGeneraliDocumento>
        <TipoDocumento>TD01</TipoDocumento>
        <Divisa>EUR</Divisa>
        <Data>{date}</Data>
        <Numero>{number}</Numero>
        <ImportoTotaleDocumento>122.00</ImportoTotaleDocumento>
      </DatiGeneraliDocumento>
    </DatiGenerali>
    <DatiBeniServizi>
      <DettaglioLinee>
        <NumeroLinea>1</NumeroLinea>
        <Descrizione>Consulenza software</Descrizione>
        <Quantita>1.00</Quantita>
        <PrezzoUnitario>100.00</PrezzoUnitario>
        <PrezzoTotale>100.00</PrezzoTotale>
        <AliquotaIVA>22.00</AliquotaIVA>
      </DettaglioLinee>
      <DatiRiepilogo>
        <AliquotaIVA>22.00</AliquotaIVA>
        <ImponibileImporto>100.00</ImponibileImporto>
        <Imposta>22.00</Imposta>
        <EsigibilitaIVA>I</EsigibilitaIVA>
      </DatiRiepilogo>
    </DatiBeniServizi>
  </FatturaElettronicaBody>
</p:FatturaElettronica>
"""

# A real company outside the sandbox's tenants (Aruba PEC S.p.A.): a valid P.IVA for the customer.
CUSTOMER_VAT = "01879020517"


def invoice_xml(*, supplier: str, transmitter: str, number: int, customer: str = CUSTOMER_VAT) -> bytes:
    """A schema-valid FatturaPA (TD01, one line at 22 %) issued today by ``supplier``."""
    progressive = f"{random.randrange(36**4):04X}{number % 10}"[:5]
    text = INVOICE_TEMPLATE.format(
        transmitter=transmitter,
        progressive=progressive,
        supplier=supplier,
        customer=customer,
        date=(dt.date.today() - dt.timedelta(days=1)).isoformat(),
        number=f"EX-{int(time.time()) % 100000}-{number}",
    )
    return text.encode("utf-8")


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
