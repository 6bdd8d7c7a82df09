"""Read a FatturaPA document (ordinary 1.2.x or simplified FSM 1.0) into plain dataclasses.

The reader is tolerant on purpose: a missing element becomes ``None`` (or an empty tuple), an
unparseable number becomes ``None``. Reporting what is missing or wrong is the job of the SDI
checks (``emulator.sdi.validation``), not of the reader. Children are matched by local name, so a
document that wrongly qualifies them with a namespace can still be read (the schema rejects it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

from emulator.core.xmlsafe import parse_xml, strip_namespace

FATTURAPA_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
FSM_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.0"

ORDINARY_ROOT = "FatturaElettronica"
SIMPLIFIED_ROOT = "FatturaElettronicaSemplificata"
INVOICE_ROOTS = frozenset({ORDINARY_ROOT, SIMPLIFIED_ROOT})
# The reader accepts both official namespaces and none at all (a frequent mistake the schema reports).
INVOICE_NAMESPACES = frozenset({FATTURAPA_NS, FSM_NS, ""})

_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?")
_ZERO = Decimal(0)


class NotAnInvoiceError(ValueError):
    """The document's root is not a FatturaElettronica (or FatturaElettronicaSemplificata) element."""


@dataclass(frozen=True)
class Party:
    country: str | None
    vat: str | None
    fiscal_code: str | None
    name: str | None


@dataclass(frozen=True)
class Discount:
    """A ScontoMaggiorazione: ``kind`` is SC (sconto) or MG (maggiorazione)."""

    kind: str | None
    percentage: Decimal | None
    amount: Decimal | None


@dataclass(frozen=True)
class Line:
    number: int | None
    description: str | None
    quantity: Decimal | None
    unit_price: Decimal
    total_price: Decimal
    vat_rate_text: str
    vat_rate: Decimal | None
    nature: str | None
    discounts: tuple[Discount, ...] = ()


@dataclass(frozen=True)
class Summary:
    vat_rate_text: str
    vat_rate: Decimal | None
    nature: str | None
    taxable: Decimal | None
    tax: Decimal | None


@dataclass(frozen=True)
class Body:
    document_type: str | None
    currency: str | None
    date: str | None
    parsed_date: dt.date | None
    number: str | None
    total: Decimal | None
    causale: tuple[str, ...]
    lines: tuple[Line, ...]
    summaries: tuple[Summary, ...]
    stamp: bool = False  # DatiBollo/BolloVirtuale SI: the virtual stamp duty is paid


@dataclass(frozen=True)
class ParsedInvoice:
    versione: str
    namespace: str
    transmitter: Party
    progressive: str | None
    transmission_format: str | None
    recipient_code: str | None
    recipient_pec: str | None
    supplier: Party
    customer: Party
    issuer_role: str | None
    bodies: tuple[Body, ...]
    simplified: bool = False

    @property
    def is_pa(self) -> bool:
        return self.versione == "FPA12"

    @property
    def owner(self) -> Party:
        """Whose invoice this is: the customer for self-billing (SoggettoEmittente CC), else the supplier."""
        return self.customer if self.issuer_role == "CC" else self.supplier

    @property
    def first_body(self) -> Body | None:
        return self.bodies[0] if self.bodies else None


# -- entry point -----------------------------------------------------------------------------------


def parse_invoice(root: etree._Element) -> ParsedInvoice:
    """Read an already parsed document (see ``emulator.core.xmlsafe.parse_xml``)."""
    namespace, local = _root_name(root)
    simplified = local == SIMPLIFIED_ROOT
    header = child(root, "FatturaElettronicaHeader")
    transmission = child(header, "DatiTrasmissione")
    reader = _simplified_body if simplified else _ordinary_body
    return ParsedInvoice(
        versione=(root.get("versione") or "").strip(),
        namespace=namespace,
        transmitter=_id_party(child(transmission, "IdTrasmittente")),
        progressive=text(transmission, "ProgressivoInvio"),
        transmission_format=text(transmission, "FormatoTrasmissione"),
        recipient_code=text(transmission, "CodiceDestinatario"),
        recipient_pec=text(transmission, "PECDestinatario"),
        supplier=_simplified_supplier(header) if simplified else _ordinary_party(header, "CedentePrestatore"),
        customer=_simplified_customer(header)
        if simplified
        else _ordinary_party(header, "CessionarioCommittente"),
        issuer_role=text(header, "SoggettoEmittente"),
        bodies=tuple(reader(body) for body in children(root, "FatturaElettronicaBody")),
        simplified=simplified,
    )


def root_name(root: etree._Element) -> tuple[str, str]:
    """(namespace, local name) of an element; namespace is ``""`` when there is none."""
    tag = root.tag
    if not isinstance(tag, str):
        return "", ""
    qname = etree.QName(tag)
    return qname.namespace or "", qname.localname


def _root_name(root: etree._Element) -> tuple[str, str]:
    namespace, local = root_name(root)
    if local not in INVOICE_ROOTS or namespace not in INVOICE_NAMESPACES:
        shown = f"{{{namespace}}}{local}" if namespace else local or "(no element)"
        raise NotAnInvoiceError(f"the root element is {shown}, not FatturaElettronica")
    return namespace, local


# -- element helpers (shared with the validator) --------------------------------------------------


def children(parent: etree._Element | None, name: str) -> list[etree._Element]:
    """Child elements of ``parent`` with local name ``name`` (comments and PIs are skipped)."""
    if parent is None:
        return []
    return [c for c in parent if isinstance(c.tag, str) and strip_namespace(c.tag) == name]


def child(parent: etree._Element | None, *path: str) -> etree._Element | None:
    """The first element along ``path`` below ``parent``, or None if any step is missing."""
    current = parent
    for name in path:
        found = children(current, name)
        if not found:
            return None
        current = found[0]
    return current


def text(parent: etree._Element | None, *path: str) -> str | None:
    """Stripped text of the element at ``path`` (``parent`` itself without a path); None if empty."""
    element = child(parent, *path) if path else parent
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None


def to_decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def to_date(value: str | None) -> dt.date | None:
    match = _DATE_RE.fullmatch(value.strip()) if value else None
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def _to_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# -- parties --------------------------------------------------------------------------------------


def _id_party(id_fiscale: etree._Element | None) -> Party:
    return Party(
        country=text(id_fiscale, "IdPaese"), vat=text(id_fiscale, "IdCodice"), fiscal_code=None, name=None
    )


def _party(id_fiscale: etree._Element | None, fiscal_code: str | None, names: etree._Element | None) -> Party:
    ids = _id_party(id_fiscale)
    return Party(country=ids.country, vat=ids.vat, fiscal_code=fiscal_code, name=_name(names))


def _name(names: etree._Element | None) -> str | None:
    denomination = text(names, "Denominazione")
    if denomination:
        return denomination
    parts = [p for p in (text(names, "Nome"), text(names, "Cognome")) if p]
    return " ".join(parts) or None


def _ordinary_party(header: etree._Element | None, role: str) -> Party:
    data = child(header, role, "DatiAnagrafici")
    return _party(child(data, "IdFiscaleIVA"), text(data, "CodiceFiscale"), child(data, "Anagrafica"))


def _simplified_supplier(header: etree._Element | None) -> Party:
    supplier = child(header, "CedentePrestatore")
    return _party(child(supplier, "IdFiscaleIVA"), text(supplier, "CodiceFiscale"), supplier)


def _simplified_customer(header: etree._Element | None) -> Party:
    customer = child(header, "CessionarioCommittente")
    ids = child(customer, "IdentificativiFiscali")
    names = child(customer, "AltriDatiIdentificativi")
    return _party(child(ids, "IdFiscaleIVA"), text(ids, "CodiceFiscale"), names)


# -- bodies ---------------------------------------------------------------------------------------


def _document_fields(body: etree._Element) -> dict[str, str | None]:
    document = child(body, "DatiGenerali", "DatiGeneraliDocumento")
    return {
        "document_type": text(document, "TipoDocumento"),
        "currency": text(document, "Divisa"),
        "date": text(document, "Data"),
        "number": text(document, "Numero"),
        "total": text(document, "ImportoTotaleDocumento"),
    }


def _ordinary_body(body: etree._Element) -> Body:
    fields = _document_fields(body)
    document = child(body, "DatiGenerali", "DatiGeneraliDocumento")
    goods = children(body, "DatiBeniServizi")
    return Body(
        document_type=fields["document_type"],
        currency=fields["currency"],
        date=fields["date"],
        parsed_date=to_date(fields["date"]),
        number=fields["number"],
        total=to_decimal(fields["total"]),
        causale=tuple(t for t in (text(c) for c in children(document, "Causale")) if t),
        lines=tuple(_line(e) for e in _all(goods, "DettaglioLinee")),
        summaries=tuple(_summary(e) for e in _all(goods, "DatiRiepilogo")),
        stamp=(text(document, "DatiBollo", "BolloVirtuale") or "").upper() == "SI",
    )


def _all(parents: list[etree._Element], name: str) -> Iterator[etree._Element]:
    for parent in parents:
        yield from children(parent, name)


def _line(line: etree._Element) -> Line:
    rate_text = text(line, "AliquotaIVA") or ""
    return Line(
        number=_to_int(text(line, "NumeroLinea")),
        description=text(line, "Descrizione"),
        quantity=to_decimal(text(line, "Quantita")),
        unit_price=to_decimal(text(line, "PrezzoUnitario")) or _ZERO,
        total_price=to_decimal(text(line, "PrezzoTotale")) or _ZERO,
        vat_rate_text=rate_text,
        vat_rate=to_decimal(rate_text),
        nature=text(line, "Natura"),
        discounts=tuple(_discount(e) for e in children(line, "ScontoMaggiorazione")),
    )


def _discount(element: etree._Element) -> Discount:
    return Discount(
        kind=text(element, "Tipo"),
        percentage=to_decimal(text(element, "Percentuale")),
        amount=to_decimal(text(element, "Importo")),
    )


def _summary(summary: etree._Element) -> Summary:
    rate_text = text(summary, "AliquotaIVA") or ""
    return Summary(
        vat_rate_text=rate_text,
        vat_rate=to_decimal(rate_text),
        nature=text(summary, "Natura"),
        taxable=to_decimal(text(summary, "ImponibileImporto")),
        tax=to_decimal(text(summary, "Imposta")),
    )


def _simplified_body(body: etree._Element) -> Body:
    """FSM10: each DatiBeniServizi is one line; Importo includes VAT, so the total is their sum."""
    fields = _document_fields(body)
    lines = tuple(_simplified_line(i, e) for i, e in enumerate(children(body, "DatiBeniServizi"), start=1))
    amounts = [to_decimal(text(e, "Importo")) for e in children(body, "DatiBeniServizi")]
    total = sum((a for a in amounts if a is not None), _ZERO) if amounts and None not in amounts else None
    return Body(
        document_type=fields["document_type"],
        currency=fields["currency"],
        date=fields["date"],
        parsed_date=to_date(fields["date"]),
        number=fields["number"],
        total=total,
        causale=(),
        lines=lines,
        summaries=(),
        stamp=(text(body, "DatiGenerali", "DatiGeneraliDocumento", "BolloVirtuale") or "").upper() == "SI",
    )


def _simplified_line(number: int, goods: etree._Element) -> Line:
    amount = to_decimal(text(goods, "Importo")) or _ZERO
    rate_text = text(goods, "DatiIVA", "Aliquota") or ""
    return Line(
        number=number,
        description=text(goods, "Descrizione"),
        quantity=None,
        unit_price=amount,
        total_price=amount,
        vat_rate_text=rate_text,
        vat_rate=to_decimal(rate_text),
        nature=text(goods, "Natura"),
    )


def parse_invoice_or_none(xml: bytes | None) -> ParsedInvoice | None:
    """The invoice in ``xml``, or None when there is none (no file, not XML, not a FatturaPA)."""
    if xml is None:
        return None
    try:
        return parse_invoice(parse_xml(xml))
    except (ValueError, NotAnInvoiceError):
        return None
