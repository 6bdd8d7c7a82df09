"""``fattura-sandbox invoice generate``: a valid random FatturaPA on stdout.

The outcome trigger is the README's ``SANDBOX:<OUTCOME>`` text in the Causale: the sandbox's SDI gives
the invoice that outcome when a client sends it. A simplified invoice (FSM10) has no Causale, so it
cannot carry a trigger.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from emulator.sdi.generator import DOCUMENT_TYPES, InvoiceGenerator, PartySpec

SIMPLIFIED_TYPES = ("TD07", "TD08", "TD09")
OUTCOMES = ("RC", "NS:<code>", "MC", "MC-AT", "MC-RC", "NE-EC01", "NE-EC02", "DT")
PA_ONLY_OUTCOMES = frozenset({"MC-AT", "MC-RC", "NE-EC01", "NE-EC02", "DT"})
_OUTCOME_RE = re.compile(r"RC|MC|MC-AT|MC-RC|NE-EC01|NE-EC02|DT|NS(?::\d{5})?")
_VAT_RE = re.compile(r"(?:IT)?(\d{11})")
FSM_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.0"


class UsageError(ValueError):
    """Options that cannot make a valid invoice (exit status 2)."""


@dataclass(frozen=True)
class GenerateOptions:
    document_type: str | None = None
    pa: bool = False
    simplified: bool = False
    supplier: str | None = None
    customer: str | None = None
    outcome: str | None = None
    seed: int | None = None
    issue_date: dt.date | None = None


@dataclass(frozen=True)
class Generated:
    file_name: str
    xml: bytes


def check_options(options: GenerateOptions) -> GenerateOptions:
    """The options made consistent (a PA-only outcome implies --pa); UsageError when they cannot be."""
    outcome = options.outcome.strip().upper() if options.outcome else None
    if outcome is not None and not _OUTCOME_RE.fullmatch(outcome):
        raise UsageError(
            f"--outcome must be one of {', '.join(OUTCOMES)} (NS with a 5-digit code), not {outcome!r}"
        )
    if outcome is not None and outcome.startswith("NS:"):
        from emulator.sdi.validation import ERROR_CATALOGUE

        if outcome[3:] not in ERROR_CATALOGUE:
            raise UsageError(f"--outcome {outcome}: {outcome[3:]} is not an SDI error code the sandbox knows")
    if options.simplified:
        if options.pa:
            raise UsageError(
                "--simplified and --pa cannot go together: a PA invoice is always ordinary (FPA12)"
            )
        if outcome is not None:
            raise UsageError("--outcome needs a Causale, which a simplified invoice (FSM10) does not have")
        if options.document_type is not None and options.document_type not in SIMPLIFIED_TYPES:
            raise UsageError(f"--type of a simplified invoice must be one of {', '.join(SIMPLIFIED_TYPES)}")
    elif options.document_type is not None and options.document_type not in DOCUMENT_TYPES:
        allowed = ", ".join(DOCUMENT_TYPES)
        raise UsageError(
            f"--type must be one of {allowed} (or {', '.join(SIMPLIFIED_TYPES)} with --simplified)"
        )
    pa = options.pa or (outcome in PA_ONLY_OUTCOMES)
    supplier = _vat(options.supplier, "--supplier")
    customer = _vat(options.customer, "--customer")
    return GenerateOptions(
        document_type=options.document_type,
        pa=pa,
        simplified=options.simplified,
        supplier=supplier,
        customer=customer,
        outcome=outcome,
        seed=options.seed,
        issue_date=options.issue_date,
    )


def _vat(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    match = _VAT_RE.fullmatch(value.strip().upper())
    if match is None:
        raise UsageError(f"{flag} must be an Italian P.IVA (11 digits, optionally with IT), not {value!r}")
    from stdnum.it import iva

    if not iva.is_valid(match[1]):
        raise UsageError(f"{flag} {value} is not a valid P.IVA (wrong check digit)")
    return match[1]


def generate(options: GenerateOptions) -> Generated:
    """One invoice for checked options (``check_options``)."""
    generator = InvoiceGenerator(options.seed)
    issue_date = options.issue_date or dt.date.today()
    supplier = PartySpec(vat=options.supplier) if options.supplier else None
    customer = PartySpec(vat=options.customer) if options.customer else None
    causale = f"SANDBOX:{options.outcome}" if options.outcome else None
    invoice = generator.generate(
        supplier=supplier,
        customer=customer,
        pa=options.pa,
        document_type=None if options.simplified else options.document_type,
        issue_date=issue_date,
        causale=causale,
    )
    if not options.simplified:
        return Generated(invoice.file_name, invoice.xml)
    rng = random.Random(options.seed)
    kind = options.document_type or rng.choice(SIMPLIFIED_TYPES[:1] * 8 + SIMPLIFIED_TYPES[1:])
    xml = _simplified(invoice.supplier, invoice.customer, kind, issue_date, invoice, rng)
    return Generated(invoice.file_name, xml)


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _address(parent: etree._Element, spec: PartySpec) -> None:
    sede = _sub(parent, "Sede")
    _sub(sede, "Indirizzo", spec.street or "Via Roma")
    if spec.number:
        _sub(sede, "NumeroCivico", spec.number)
    _sub(sede, "CAP", spec.zip or "00100")
    _sub(sede, "Comune", spec.city or "Roma")
    if spec.province:
        _sub(sede, "Provincia", spec.province)
    _sub(sede, "Nazione", spec.country or "IT")


def _simplified(
    supplier: PartySpec, customer: PartySpec, kind: str, issue_date: dt.date, base: object, rng: random.Random
) -> bytes:
    """A FatturaElettronicaSemplificata (FSM10) between the ordinary invoice's parties, under 400 EUR."""
    root = etree.Element(f"{{{FSM_NS}}}FatturaElettronicaSemplificata", nsmap={"p": FSM_NS})
    root.set("versione", "FSM10")
    header = _sub(root, "FatturaElettronicaHeader")
    transmission = _sub(header, "DatiTrasmissione")
    ident = _sub(transmission, "IdTrasmittente")
    _sub(ident, "IdPaese", "IT")
    _sub(ident, "IdCodice", supplier.vat or "00000000000")
    _sub(transmission, "ProgressivoInvio", getattr(base, "progressive", "00001"))
    _sub(transmission, "FormatoTrasmissione", "FSM10")
    _sub(transmission, "CodiceDestinatario", getattr(base, "recipient_code", "0000000"))
    seller = _sub(header, "CedentePrestatore")
    vat = _sub(seller, "IdFiscaleIVA")
    _sub(vat, "IdPaese", "IT")
    _sub(vat, "IdCodice", supplier.vat or "00000000000")
    if supplier.first_name and supplier.last_name:
        _sub(seller, "Nome", supplier.first_name)
        _sub(seller, "Cognome", supplier.last_name)
    else:
        _sub(seller, "Denominazione", (supplier.name or "Fornitore")[:80])
    _address(seller, supplier)
    _sub(seller, "RegimeFiscale", "RF01")
    buyer = _sub(header, "CessionarioCommittente")
    ids = _sub(buyer, "IdentificativiFiscali")
    if customer.vat:
        buyer_vat = _sub(ids, "IdFiscaleIVA")
        _sub(buyer_vat, "IdPaese", customer.country or "IT")
        _sub(buyer_vat, "IdCodice", customer.vat)
    else:
        _sub(ids, "CodiceFiscale", customer.fiscal_code or "RSSMRA80A01H501U")
    body = _sub(root, "FatturaElettronicaBody")
    dati = _sub(body, "DatiGenerali")
    general = _sub(dati, "DatiGeneraliDocumento")
    _sub(general, "TipoDocumento", kind)
    _sub(general, "Divisa", "EUR")
    _sub(general, "Data", issue_date.isoformat())
    _sub(general, "Numero", getattr(base, "number", "1"))
    if kind in ("TD08", "TD09"):
        corrected = _sub(dati, "DatiFatturaRettificata")
        _sub(corrected, "NumeroFR", f"S-{rng.randint(1, 999)}")
        _sub(corrected, "DataFR", (issue_date - dt.timedelta(days=rng.randint(5, 60))).isoformat())
        _sub(corrected, "ElementiRettificati", "Importo")
    for description in rng.sample(
        ["Riparazione", "Consulenza breve", "Materiale di consumo", "Trasporto"], 2
    ):
        line = _sub(body, "DatiBeniServizi")
        _sub(line, "Descrizione", description)
        amount = Decimal(rng.randint(1000, 19000)) / 100
        _sub(line, "Importo", f"{amount:.2f}")
        _sub(_sub(line, "DatiIVA"), "Aliquota", "22.00")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
