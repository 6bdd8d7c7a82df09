"""Human-readable copies of a FatturaPA invoice: a self-contained HTML page or a PDF.

This is what the providers hand out next to the XML (Aruba's ``includePdf``, A-Cube's
``Accept: text/html`` / ``application/pdf``): the transmission data, the two parties and, for each
FatturaElettronicaBody, the document data, lines, VAT summary, withholding/stamp/pension-fund data,
total, payment terms and attachment names. Ordinary invoices (FPA12/FPR12) and simplified ones
(FSM10) are both read; like ``emulator.sdi.fatturapa`` the reader is tolerant: whatever is missing
is left out, a value that is not a number is shown as written.

Both renderers first build the same list of blocks (sections, field lists, tables, totals), then
draw it: as HTML with inline CSS and every value escaped, or as a PDF laid out by hand with fpdf2's
core Helvetica font (the FatturaPA character set is Latin-1, which the font's Windows-1252 encoding
covers, so no font file is embedded). Anything that is not a FatturaPA document, garbage bytes
included, raises ``ValueError``. A signed ``.p7m`` must be unwrapped by the caller first.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from emulator.core.xmlsafe import parse_xml
from emulator.sdi.fatturapa import (
    ParsedInvoice,
    Party,
    child,
    children,
    parse_invoice,
    text,
    to_date,
    to_decimal,
)

__all__ = [
    "DOCUMENT_TYPES",
    "THEMES",
    "build_document",
    "format_amount",
    "format_date",
    "render_html",
    "render_pdf",
]

THEMES = ("standard", "compact", "accessible", "assosoftware", "acube")

# -- code tables (descriptions as in the official schemas, FatturaPA 1.2.3 and FSM 1.0.2) ---------------

DOCUMENT_TYPES: dict[str, str] = {
    "TD01": "Fattura",
    "TD02": "Acconto/anticipo su fattura",
    "TD03": "Acconto/anticipo su parcella",
    "TD04": "Nota di credito",
    "TD05": "Nota di debito",
    "TD06": "Parcella",
    "TD07": "Fattura semplificata",
    "TD08": "Nota di credito semplificata",
    "TD09": "Nota di debito semplificata",
    "TD16": "Integrazione fattura reverse charge interno",
    "TD17": "Integrazione/autofattura per acquisto servizi dall'estero",
    "TD18": "Integrazione per acquisto di beni intracomunitari",
    "TD19": "Integrazione/autofattura per acquisto di beni ex art. 17 c. 2 DPR 633/72",
    "TD20": "Autofattura per regolarizzazione e integrazione delle fatture "
    "(ex art. 6 c. 9-bis D.Lgs. 471/97 o art. 46 c. 5 D.L. 331/93)",
    "TD21": "Autofattura per splafonamento",
    "TD22": "Estrazione beni da Deposito IVA",
    "TD23": "Estrazione beni da Deposito IVA con versamento dell'IVA",
    "TD24": "Fattura differita di cui all'art. 21, comma 4, terzo periodo lett. a) DPR 633/72",
    "TD25": "Fattura differita di cui all'art. 21, comma 4, terzo periodo lett. b) DPR 633/72",
    "TD26": "Cessione di beni ammortizzabili e per passaggi interni (ex art. 36 DPR 633/72)",
    "TD27": "Fattura per autoconsumo o per cessioni gratuite senza rivalsa",
    "TD28": "Acquisti da San Marino con IVA (fattura cartacea)",
    "TD29": "Comunicazione per omessa o irregolare fatturazione da parte del cedente/prestatore italiano "
    "(art. 6, comma 8, D.Lgs. 471/97)",
}

# What the heading of a document says ("Fattura n. 12 del ..."); long descriptions get a generic word.
_SHORT_DOCUMENT_NAMES: dict[str, str] = {
    **{code: name for code, name in DOCUMENT_TYPES.items() if len(name) <= 40},
    "TD16": "Integrazione reverse charge",
    "TD17": "Autofattura servizi esteri",
    "TD18": "Integrazione beni UE",
    "TD19": "Autofattura art. 17 c. 2",
    "TD20": "Autofattura regolarizzazione",
    "TD24": "Fattura differita",
    "TD25": "Fattura differita",
    "TD26": "Cessione beni ammortizzabili",
    "TD29": "Comunicazione omessa fatturazione",
}

TRANSMISSION_FORMATS = {
    "FPA12": "Fattura verso PA",
    "FPR12": "Fattura verso privati",
    "FSM10": "Fattura verso privati semplificata",
}

TAX_REGIMES = {
    "RF01": "Regime ordinario",
    "RF02": "Regime dei contribuenti minimi (art. 1, c. 96-117, L. 244/2007)",
    "RF04": "Agricoltura e attività connesse e pesca (artt. 34 e 34-bis, D.P.R. 633/1972)",
    "RF05": "Vendita sali e tabacchi (art. 74, c. 1, D.P.R. 633/1972)",
    "RF06": "Commercio dei fiammiferi (art. 74, c. 1, D.P.R. 633/1972)",
    "RF07": "Editoria (art. 74, c. 1, D.P.R. 633/1972)",
    "RF08": "Gestione di servizi di telefonia pubblica (art. 74, c. 1, D.P.R. 633/1972)",
    "RF09": "Rivendita di documenti di trasporto pubblico e di sosta (art. 74, c. 1, D.P.R. 633/1972)",
    "RF10": "Intrattenimenti, giochi e altre attività di cui alla tariffa allegata al D.P.R. 640/72 "
    "(art. 74, c. 6, D.P.R. 633/1972)",
    "RF11": "Agenzie di viaggi e turismo (art. 74-ter, D.P.R. 633/1972)",
    "RF12": "Agriturismo (art. 5, c. 2, L. 413/1991)",
    "RF13": "Vendite a domicilio (art. 25-bis, c. 6, D.P.R. 600/1973)",
    "RF14": "Rivendita di beni usati, di oggetti d'arte, d'antiquariato o da collezione "
    "(art. 36, D.L. 41/1995)",
    "RF15": "Agenzie di vendite all'asta di oggetti d'arte, antiquariato o da collezione "
    "(art. 40-bis, D.L. 41/1995)",
    "RF16": "IVA per cassa P.A. (art. 6, c. 5, D.P.R. 633/1972)",
    "RF17": "IVA per cassa (art. 32-bis, D.L. 83/2012)",
    "RF18": "Altro",
    "RF19": "Regime forfettario",
    "RF20": "Regime transfrontaliero di Franchigia IVA (Direttiva UE 2020/285)",
}

NATURES = {
    "N1": "Escluse ex art. 15 del D.P.R. 633/1972",
    "N2": "Non soggette",
    "N2.1": "Non soggette ad IVA ai sensi degli artt. da 7 a 7-septies del DPR 633/72",
    "N2.2": "Non soggette - altri casi",
    "N3": "Non imponibili",
    "N3.1": "Non imponibili - esportazioni",
    "N3.2": "Non imponibili - cessioni intracomunitarie",
    "N3.3": "Non imponibili - cessioni verso San Marino",
    "N3.4": "Non imponibili - operazioni assimilate alle cessioni all'esportazione",
    "N3.5": "Non imponibili - a seguito di dichiarazioni d'intento",
    "N3.6": "Non imponibili - altre operazioni che non concorrono alla formazione del plafond",
    "N4": "Esenti",
    "N5": "Regime del margine/IVA non esposta in fattura",
    "N6": "Inversione contabile",
    "N6.1": "Inversione contabile - cessione di rottami e altri materiali di recupero",
    "N6.2": "Inversione contabile - cessione di oro e argento",
    "N6.3": "Inversione contabile - subappalto nel settore edile",
    "N6.4": "Inversione contabile - cessione di fabbricati",
    "N6.5": "Inversione contabile - cessione di telefoni cellulari",
    "N6.6": "Inversione contabile - cessione di prodotti elettronici",
    "N6.7": "Inversione contabile - prestazioni comparto edile e settori connessi",
    "N6.8": "Inversione contabile - operazioni settore energetico",
    "N6.9": "Inversione contabile - altri casi",
    "N7": "IVA assolta in altro stato UE",
}

VAT_CHARGEABILITY = {"I": "Immediata", "D": "Differita", "S": "Scissione dei pagamenti"}

PAYMENT_TERMS = {"TP01": "Pagamento a rate", "TP02": "Pagamento completo", "TP03": "Anticipo"}

PAYMENT_METHODS = {
    "MP01": "Contanti",
    "MP02": "Assegno",
    "MP03": "Assegno circolare",
    "MP04": "Contanti presso Tesoreria",
    "MP05": "Bonifico",
    "MP06": "Vaglia cambiario",
    "MP07": "Bollettino bancario",
    "MP08": "Carta di pagamento",
    "MP09": "RID",
    "MP10": "RID utenze",
    "MP11": "RID veloce",
    "MP12": "RIBA",
    "MP13": "MAV",
    "MP14": "Quietanza erario",
    "MP15": "Giroconto su conti di contabilità speciale",
    "MP16": "Domiciliazione bancaria",
    "MP17": "Domiciliazione postale",
    "MP18": "Bollettino di c/c postale",
    "MP19": "SEPA Direct Debit",
    "MP20": "SEPA Direct Debit CORE",
    "MP21": "SEPA Direct Debit B2B",
    "MP22": "Trattenuta su somme già riscosse",
    "MP23": "PagoPA",
}

WITHHOLDING_TYPES = {
    "RT01": "Ritenuta di acconto persone fisiche",
    "RT02": "Ritenuta di acconto persone giuridiche",
    "RT03": "Contributo INPS",
    "RT04": "Contributo ENASARCO",
    "RT05": "Contributo ENPAM",
    "RT06": "Altro contributo previdenziale",
}

PENSION_FUNDS = {
    "TC01": "Cassa nazionale previdenza e assistenza avvocati e procuratori legali",
    "TC02": "Cassa previdenza dottori commercialisti",
    "TC03": "Cassa previdenza e assistenza geometri",
    "TC04": "Cassa nazionale previdenza e assistenza ingegneri e architetti liberi professionisti",
    "TC05": "Cassa nazionale del notariato",
    "TC06": "Cassa nazionale previdenza e assistenza ragionieri e periti commerciali",
    "TC07": "Ente nazionale assistenza agenti e rappresentanti di commercio (ENASARCO)",
    "TC08": "Ente nazionale previdenza e assistenza consulenti del lavoro (ENPACL)",
    "TC09": "Ente nazionale previdenza e assistenza medici (ENPAM)",
    "TC10": "Ente nazionale previdenza e assistenza farmacisti (ENPAF)",
    "TC11": "Ente nazionale previdenza e assistenza veterinari (ENPAV)",
    "TC12": "Ente nazionale previdenza e assistenza impiegati dell'agricoltura (ENPAIA)",
    "TC13": "Fondo previdenza impiegati imprese di spedizione e agenzie marittime",
    "TC14": "Istituto nazionale previdenza giornalisti italiani (INPGI)",
    "TC15": "Opera nazionale assistenza orfani sanitari italiani (ONAOSI)",
    "TC16": "Cassa autonoma assistenza integrativa giornalisti italiani (CASAGIT)",
    "TC17": "Ente previdenza periti industriali e periti industriali laureati (EPPI)",
    "TC18": "Ente previdenza e assistenza pluricategoriale (EPAP)",
    "TC19": "Ente nazionale previdenza e assistenza biologi (ENPAB)",
    "TC20": "Ente nazionale previdenza e assistenza professione infermieristica (ENPAPI)",
    "TC21": "Ente nazionale previdenza e assistenza psicologi (ENPAP)",
    "TC22": "INPS",
}

ISSUER_ROLES = {"CC": "Cessionario/Committente", "TZ": "Terzo"}

_ADJUSTMENTS = {"SC": "Sconto", "MG": "Maggiorazione"}

_REFERENCES = (
    ("DatiOrdineAcquisto", "Ordine di acquisto"),
    ("DatiContratto", "Contratto"),
    ("DatiConvenzione", "Convenzione"),
    ("DatiRicezione", "Ricezione"),
    ("DatiFattureCollegate", "Fattura collegata"),
)

# -- the document model both renderers draw ----------------------------------------------------------


@dataclass(frozen=True)
class Column:
    title: str
    weight: float
    numeric: bool = False


@dataclass(frozen=True)
class Fields:
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Parties:
    titles: tuple[str, str]
    sides: tuple[Fields, Fields]


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    css: str


@dataclass(frozen=True)
class Total:
    label: str
    value: str
    grand: bool = False


@dataclass(frozen=True)
class Section:
    title: str
    css: str
    blocks: tuple[Block, ...]


Block = Fields | Parties | Table | Total | Section


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    blocks: tuple[Block, ...]
    head_notes: str | None = None
    foot_notes: str | None = None


# -- value formatting ------------------------------------------------------------------------------


def format_amount(value: Decimal | str | None, *, min_places: int = 2, max_places: int = 8) -> str:
    """Italian style: ``1234.5`` → ``1.234,50``; more decimals are kept if significant (up to 8).

    A string that is not a number is returned unchanged (the renderers show it as written).
    """
    number = value if isinstance(value, Decimal) else to_decimal(value)
    if number is None or not number.is_finite():
        return value.strip() if isinstance(value, str) else ""
    exponent = number.normalize().as_tuple().exponent
    places = min(max(min_places, -exponent if isinstance(exponent, int) else 0), max_places)
    formatted = f"{number:,.{places}f}"
    return formatted.translate(_SWAP_SEPARATORS)


_SWAP_SEPARATORS = str.maketrans({",": ".", ".": ","})


def format_date(value: str | None) -> str:
    """``2024-03-15`` → ``15/03/2024``; anything else is returned as written."""
    date = to_date(value)
    if date is None:
        return (value or "").strip()
    return f"{date.day:02d}/{date.month:02d}/{date.year:04d}"


def _coded(code: str | None, table: dict[str, str]) -> str:
    if not code:
        return ""
    description = table.get(code)
    return f"{code} – {description}" if description else code


def _vat_id(party: Party) -> str:
    if not party.vat:
        return ""
    return f"{party.country or ''}{party.vat}"


def _join(parts: Iterable[str | None], separator: str = " ") -> str:
    return separator.join(p for p in parts if p)


def _pairs(*items: tuple[str, str | None]) -> Fields:
    """Only the pairs that have a value."""
    return Fields(tuple((label, value) for label, value in items if value))


# -- reading the invoice into blocks ---------------------------------------------------------------


def build_document(xml: bytes, *, head_notes: str | None = None, foot_notes: str | None = None) -> Document:
    """Parse ``xml`` (untrusted bytes) into the blocks both renderers draw; ``ValueError`` if unreadable."""
    if isinstance(xml, bytearray | memoryview):
        xml = bytes(xml)
    if not isinstance(xml, bytes):
        raise ValueError(f"the invoice must be given as bytes, not {type(xml).__name__}")
    root = parse_xml(xml)  # MalformedXmlError, UnsafeXmlError, XmlTooLargeError: all ValueErrors
    invoice = parse_invoice(root)  # NotAnInvoiceError (a ValueError) for any other document
    header = child(root, "FatturaElettronicaHeader")
    bodies = children(root, "FatturaElettronicaBody")
    blocks: list[Block] = [
        Section("Dati di trasmissione", "transmission", (_transmission(invoice, header),)),
        _parties(invoice, header),
    ]
    for index, body in enumerate(bodies):
        read = _simplified_body if invoice.simplified else _ordinary_body
        blocks.append(read(body, index + 1, len(bodies)))
    if not bodies:
        blocks.append(Section("Documento", "document", (Fields((("Avviso", "Nessun corpo fattura"),)),)))
    first = invoice.first_body
    title = "Fattura elettronica"
    if first is not None and first.number:
        title = _join((_SHORT_DOCUMENT_NAMES.get(first.document_type or "", "Documento"), "n.", first.number))
        if first.date:
            title += f" del {format_date(first.date)}"
    kind = "semplificata" if invoice.simplified else ("verso PA" if invoice.is_pa else "verso privati")
    subtitle = _join(("Fattura elettronica", kind, f"({invoice.versione})" if invoice.versione else None))
    return Document(title, subtitle, tuple(blocks), head_notes or None, foot_notes or None)


def _transmission(invoice: ParsedInvoice, header: etree._Element | None) -> Fields:
    transmission = child(header, "DatiTrasmissione")
    return _pairs(
        ("Trasmittente", _vat_id(invoice.transmitter)),
        ("Progressivo invio", invoice.progressive),
        ("Formato trasmissione", _coded(invoice.transmission_format, TRANSMISSION_FORMATS)),
        ("Codice destinatario", invoice.recipient_code),
        ("PEC destinatario", invoice.recipient_pec),
        ("Telefono trasmittente", text(transmission, "ContattiTrasmittente", "Telefono")),
        ("Email trasmittente", text(transmission, "ContattiTrasmittente", "Email")),
        ("Soggetto emittente", _coded(invoice.issuer_role, ISSUER_ROLES)),
    )


def _address(place: etree._Element | None) -> str | None:
    if place is None:
        return None
    street = _join((text(place, "Indirizzo"), text(place, "NumeroCivico")))
    province = text(place, "Provincia")
    town = _join((text(place, "CAP"), text(place, "Comune"), f"({province})" if province else None))
    return _join((street, town, text(place, "Nazione")), ", ") or None


def _parties(invoice: ParsedInvoice, header: etree._Element | None) -> Parties:
    supplier = child(header, "CedentePrestatore")
    customer = child(header, "CessionarioCommittente")
    if invoice.simplified:
        supplier_data = supplier
        customer_place = child(customer, "AltriDatiIdentificativi", "Sede")
        contacts = None
    else:
        supplier_data = child(supplier, "DatiAnagrafici")
        customer_place = child(customer, "Sede")
        contacts = child(supplier, "Contatti")
    rea = child(supplier, "IscrizioneREA")
    supplier_fields = _pairs(
        ("Denominazione", invoice.supplier.name),
        ("Partita IVA", _vat_id(invoice.supplier)),
        ("Codice fiscale", invoice.supplier.fiscal_code),
        ("Sede", _address(child(supplier, "Sede"))),
        ("Regime fiscale", _coded(text(supplier_data, "RegimeFiscale"), TAX_REGIMES)),
        ("Iscrizione REA", _join((text(rea, "Ufficio"), text(rea, "NumeroREA")), "-")),
        ("Telefono", text(contacts, "Telefono")),
        ("Email", text(contacts, "Email")),
    )
    customer_fields = _pairs(
        ("Denominazione", invoice.customer.name),
        ("Partita IVA", _vat_id(invoice.customer)),
        ("Codice fiscale", invoice.customer.fiscal_code),
        ("Sede", _address(customer_place)),
    )
    return Parties(("Cedente/Prestatore", "Cessionario/Committente"), (supplier_fields, customer_fields))


def _document_heading(document: etree._Element | None, number: int, count: int) -> str:
    kind = text(document, "TipoDocumento") or ""
    title = _join((_SHORT_DOCUMENT_NAMES.get(kind, "Documento"), "n.", text(document, "Numero") or "?"))
    date = text(document, "Data")
    if date:
        title += f" del {format_date(date)}"
    return f"{title} ({number} di {count})" if count > 1 else title


def _document_fields(document: etree._Element | None, *extra: tuple[str, str | None]) -> Fields:
    causale = [t for t in (text(c) for c in children(document, "Causale")) if t]
    return _pairs(
        ("Tipo documento", _coded(text(document, "TipoDocumento"), DOCUMENT_TYPES)),
        ("Divisa", text(document, "Divisa")),
        ("Data", format_date(text(document, "Data"))),
        ("Numero", text(document, "Numero")),
        ("Causale", "\n".join(causale)),
        ("Art. 73", "Documento emesso ai sensi dell'art. 73 DPR 633/72" if text(document, "Art73") else None),
        *extra,
    )


def _adjustments(parent: etree._Element | None) -> list[str]:
    """ScontoMaggiorazione elements as text: ``Sconto 10,00%``, ``Maggiorazione 5,00``."""
    result = []
    for adjustment in children(parent, "ScontoMaggiorazione"):
        kind = _ADJUSTMENTS.get(text(adjustment, "Tipo") or "", text(adjustment, "Tipo") or "Sconto/magg.")
        percentage = text(adjustment, "Percentuale")
        amount = text(adjustment, "Importo")
        value = _join(
            (
                f"{format_amount(percentage)}%" if percentage else None,
                format_amount(amount) if amount else None,
            ),
            " = ",
        )
        result.append(_join((kind, value)))
    return result


def _ordinary_body(body: etree._Element, number: int, count: int) -> Section:
    general = child(body, "DatiGenerali")
    document = child(general, "DatiGeneraliDocumento")
    goods = children(body, "DatiBeniServizi")
    blocks: list[Block] = [
        _document_fields(document, ("Sconti/maggiorazioni", "\n".join(_adjustments(document)))),
    ]
    references = _references(general)
    if references:
        blocks.append(references)
    blocks.append(_line_table(line for g in goods for line in children(g, "DettaglioLinee")))
    summaries = [s for g in goods for s in children(g, "DatiRiepilogo")]
    if summaries:
        blocks.append(_summary_table(summaries))
    blocks.extend(_withholding_blocks(document))
    total = text(document, "ImportoTotaleDocumento")
    rounding = text(document, "Arrotondamento")
    if rounding:
        blocks.append(Total("Arrotondamento", format_amount(rounding)))
    if total:
        blocks.append(Total("Importo totale documento", _money(total, text(document, "Divisa")), grand=True))
    elif summaries:
        computed = sum(
            (
                to_decimal(text(s, name)) or Decimal(0)
                for s in summaries
                for name in ("ImponibileImporto", "Imposta")
            ),
            Decimal(0),
        )
        blocks.append(
            Total("Totale imponibile e imposta", _money(computed, text(document, "Divisa")), grand=True)
        )
    payments = _payment_table(children(body, "DatiPagamento"))
    if payments:
        blocks.append(payments)
    attachments = _attachment_table(children(body, "Allegati"))
    if attachments:
        blocks.append(attachments)
    return Section(_document_heading(document, number, count), "document", tuple(blocks))


def _money(amount: str | Decimal | None, currency: str | None) -> str:
    return _join((currency or "EUR", format_amount(amount)))


def _references(general: etree._Element | None) -> Table | None:
    rows: list[tuple[str, ...]] = []
    for element_name, label in _REFERENCES:
        for reference in children(general, element_name):
            lines = ", ".join(
                t for t in (text(r) for r in children(reference, "RiferimentoNumeroLinea")) if t
            )
            rows.append(
                (
                    label,
                    text(reference, "IdDocumento") or "",
                    format_date(text(reference, "Data")),
                    _join((text(reference, "CodiceCIG"), text(reference, "CodiceCUP")), " / "),
                    lines,
                )
            )
    for ddt in children(general, "DatiDDT"):
        lines = ", ".join(t for t in (text(r) for r in children(ddt, "RiferimentoNumeroLinea")) if t)
        rows.append(("DDT", text(ddt, "NumeroDDT") or "", format_date(text(ddt, "DataDDT")), "", lines))
    if not rows:
        return None
    columns = (
        Column("Tipo", 18),
        Column("Numero", 22),
        Column("Data", 14),
        Column("CIG / CUP", 26),
        Column("Linee", 20),
    )
    return Table("Documenti di riferimento", columns, tuple(rows), "references")


def _rate_or_nature(rate: str | None, nature: str | None) -> str:
    number = to_decimal(rate)
    if nature and (number is None or number == 0):
        return nature
    return format_amount(rate) if rate else (nature or "")


def _line_table(lines: Iterable[etree._Element]) -> Table:
    rows = []
    for line in lines:
        description = text(line, "Descrizione") or ""
        extras = _adjustments(line)
        codes = [
            _join((text(c, "CodiceTipo"), text(c, "CodiceValore")), " ")
            for c in children(line, "CodiceArticolo")
        ]
        if codes:
            extras.insert(0, "Cod. " + "; ".join(codes))
        period = _join(
            (format_date(text(line, "DataInizioPeriodo")), format_date(text(line, "DataFinePeriodo"))), " – "
        )
        if period:
            extras.append(f"Periodo {period}")
        quantity = text(line, "Quantita")
        rows.append(
            (
                text(line, "NumeroLinea") or "",
                "\n".join([description, *extras]) if extras else description,
                format_amount(quantity) if quantity else "",
                text(line, "UnitaMisura") or "",
                format_amount(text(line, "PrezzoUnitario")),
                _rate_or_nature(text(line, "AliquotaIVA"), text(line, "Natura")),
                format_amount(text(line, "PrezzoTotale")),
            )
        )
    columns = (
        Column("N.", 5, numeric=True),
        Column("Descrizione", 45),
        Column("Quantità", 10, numeric=True),
        Column("U.M.", 7),
        Column("Prezzo unitario", 12, numeric=True),
        Column("IVA %", 8, numeric=True),
        Column("Prezzo totale", 13, numeric=True),
    )
    return Table("Dettaglio linee", columns, tuple(rows), "lines")


def _summary_table(summaries: Sequence[etree._Element]) -> Table:
    rows = []
    for summary in summaries:
        rate = text(summary, "AliquotaIVA")
        extra = [
            f"Spese accessorie {format_amount(text(summary, 'SpeseAccessorie'))}"
            if text(summary, "SpeseAccessorie")
            else None,
            f"Arrotondamento {format_amount(text(summary, 'Arrotondamento'))}"
            if text(summary, "Arrotondamento")
            else None,
        ]
        rows.append(
            (
                format_amount(rate) if rate else "",
                _coded(text(summary, "Natura"), NATURES),
                format_amount(text(summary, "ImponibileImporto")),
                format_amount(text(summary, "Imposta")),
                _coded(text(summary, "EsigibilitaIVA"), VAT_CHARGEABILITY),
                _join((text(summary, "RiferimentoNormativo"), *extra), "\n"),
            )
        )
    columns = (
        Column("Aliquota IVA %", 10, numeric=True),
        Column("Natura", 24),
        Column("Imponibile", 14, numeric=True),
        Column("Imposta", 13, numeric=True),
        Column("Esigibilità IVA", 14),
        Column("Riferimento normativo", 25),
    )
    return Table("Riepilogo IVA", columns, tuple(rows), "summary")


def _withholding_blocks(document: etree._Element | None) -> list[Block]:
    blocks: list[Block] = []
    withholdings = children(document, "DatiRitenuta")
    if withholdings:
        rows: tuple[tuple[str, ...], ...] = tuple(
            (
                _coded(text(w, "TipoRitenuta"), WITHHOLDING_TYPES),
                format_amount(text(w, "AliquotaRitenuta")),
                format_amount(text(w, "ImportoRitenuta")),
                text(w, "CausalePagamento") or "",
            )
            for w in withholdings
        )
        columns: tuple[Column, ...] = (
            Column("Tipo ritenuta", 46),
            Column("Aliquota %", 14, numeric=True),
            Column("Importo", 20, numeric=True),
            Column("Causale pagamento", 20),
        )
        blocks.append(Table("Ritenuta", columns, rows, "withholding"))
    funds = children(document, "DatiCassaPrevidenziale")
    if funds:
        rows = tuple(
            (
                _coded(text(f, "TipoCassa"), PENSION_FUNDS),
                format_amount(text(f, "AlCassa")),
                format_amount(text(f, "ImponibileCassa")),
                format_amount(text(f, "ImportoContributoCassa")),
                _rate_or_nature(text(f, "AliquotaIVA"), text(f, "Natura")),
                "Sì" if text(f, "Ritenuta") else "",
            )
            for f in funds
        )
        columns = (
            Column("Cassa previdenziale", 38),
            Column("Aliquota %", 10, numeric=True),
            Column("Imponibile", 14, numeric=True),
            Column("Contributo", 14, numeric=True),
            Column("IVA %", 10, numeric=True),
            Column("Ritenuta", 10),
        )
        blocks.append(Table("Cassa previdenziale", columns, rows, "pension"))
    stamp = child(document, "DatiBollo")
    if stamp is not None:
        blocks.append(
            _pairs(
                ("Bollo virtuale", "Sì" if text(stamp, "BolloVirtuale") else None),
                (
                    "Importo bollo",
                    format_amount(text(stamp, "ImportoBollo")) if text(stamp, "ImportoBollo") else None,
                ),
            )
        )
    return blocks


def _payment_table(payments: Sequence[etree._Element]) -> Table | None:
    rows = []
    for payment in payments:
        terms = _coded(text(payment, "CondizioniPagamento"), PAYMENT_TERMS)
        for detail in children(payment, "DettaglioPagamento"):
            bank = _join((text(detail, "IstitutoFinanziario"), text(detail, "BIC")), " – ")
            rows.append(
                (
                    terms,
                    _coded(text(detail, "ModalitaPagamento"), PAYMENT_METHODS),
                    format_date(text(detail, "DataScadenzaPagamento")),
                    format_amount(text(detail, "ImportoPagamento")),
                    text(detail, "IBAN") or "",
                    _join((bank, text(detail, "Beneficiario")), "\n"),
                )
            )
    if not rows:
        return None
    columns = (
        Column("Condizioni", 14),
        Column("Modalità", 15),
        Column("Scadenza", 11),
        Column("Importo", 12, numeric=True),
        Column("IBAN", 28),
        Column("Istituto / beneficiario", 20),
    )
    return Table("Dati di pagamento", columns, tuple(rows), "payments")


def _attachment_table(attachments: Sequence[etree._Element]) -> Table | None:
    """Names and descriptions only: the content of an attachment is never decoded."""
    rows = tuple(
        (
            text(a, "NomeAttachment") or "",
            text(a, "FormatoAttachment") or "",
            text(a, "DescrizioneAttachment") or "",
        )
        for a in attachments
    )
    if not rows:
        return None
    columns = (Column("Nome", 40), Column("Formato", 12), Column("Descrizione", 48))
    return Table("Allegati", columns, rows, "attachments")


def _simplified_body(body: etree._Element, number: int, count: int) -> Section:
    general = child(body, "DatiGenerali")
    document = child(general, "DatiGeneraliDocumento")
    corrected = child(general, "DatiFatturaRettificata")
    fields = _document_fields(
        document,
        ("Bollo virtuale", "Sì" if text(document, "BolloVirtuale") else None),
        (
            "Fattura rettificata",
            _join((text(corrected, "NumeroFR"), format_date(text(corrected, "DataFR"))), " del "),
        ),
        ("Elementi rettificati", text(corrected, "ElementiRettificati")),
    )
    rows = []
    total = Decimal(0)
    complete = True
    for index, goods in enumerate(children(body, "DatiBeniServizi"), start=1):
        amount = text(goods, "Importo")
        value = to_decimal(amount)
        complete = complete and value is not None
        total += value or Decimal(0)
        tax = text(goods, "DatiIVA", "Imposta")
        rows.append(
            (
                str(index),
                _join((text(goods, "Descrizione"), text(goods, "RiferimentoNormativo")), "\n"),
                _rate_or_nature(text(goods, "DatiIVA", "Aliquota"), text(goods, "Natura")),
                format_amount(tax) if tax else "",
                format_amount(amount),
            )
        )
    columns = (
        Column("N.", 6, numeric=True),
        Column("Descrizione", 58),
        Column("IVA %", 10, numeric=True),
        Column("Imposta", 12, numeric=True),
        Column("Importo (IVA inclusa)", 14, numeric=True),
    )
    blocks: list[Block] = [fields, Table("Dettaglio beni e servizi", columns, tuple(rows), "lines")]
    if rows and complete:
        blocks.append(Total("Importo totale documento", _money(total, text(document, "Divisa")), grand=True))
    attachments = _attachment_table(children(body, "Allegati"))
    if attachments:
        blocks.append(attachments)
    return Section(_document_heading(document, number, count), "document", tuple(blocks))


def _check_theme(theme: str) -> str:
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}: use one of {', '.join(THEMES)}")
    return theme


# -- HTML ------------------------------------------------------------------------------------------

_BASE_CSS = """
*{box-sizing:border-box}
html{background:var(--page)}
body{margin:0 auto;padding:var(--gap);max-width:var(--width);font-family:var(--font);font-size:var(--fs);
line-height:var(--lh);color:var(--fg);background:var(--bg)}
header.doc{border-bottom:var(--rule-w) solid var(--accent);margin-bottom:var(--gap)}
h1{font-size:1.6em;margin:0 0 .2em;color:var(--accent)}
h2{font-size:1.25em;margin:var(--gap) 0 .4em;color:var(--accent)}
h3{font-size:1.05em;margin:0 0 .4em}
.subtitle{margin:0 0 .6em;color:var(--muted)}
.note{white-space:pre-wrap;border:var(--rule-w) solid var(--rule);border-left-width:.35em;
padding:var(--pad);margin:var(--gap) 0;background:var(--note-bg)}
.parties{display:grid;grid-template-columns:repeat(auto-fit,minmax(16em,1fr));gap:var(--gap);
margin-top:var(--gap)}
.party{border:var(--rule-w) solid var(--rule);padding:var(--pad)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:0 0 .6em}
dt{font-weight:bold}
dd{margin:0;white-space:pre-line;overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;margin:0 0 var(--gap)}
caption{text-align:left;font-weight:bold;padding:.3em 0;color:var(--accent)}
th,td{border:var(--rule-w) solid var(--rule);padding:var(--pad);vertical-align:top;text-align:left}
th{background:var(--head-bg)}
td{white-space:pre-line;overflow-wrap:anywhere}
.num{text-align:right;white-space:nowrap}
p.total{margin:.3em 0;text-align:right}
p.total.grand{font-size:1.2em;border-top:var(--rule-w) solid var(--accent);padding-top:.3em}
footer.doc{margin-top:var(--gap);color:var(--muted);font-size:.85em}
@media print{body{max-width:none;padding:0}section.document{break-before:auto}tr{break-inside:avoid}}
"""

_THEME_CSS = {
    "standard": ":root{--font:'Helvetica Neue',Helvetica,Arial,sans-serif;--fs:14px;--lh:1.45;"
    "--fg:#1f2933;--bg:#ffffff;--page:#f3f5f7;--muted:#52606d;--accent:#1d4e89;--rule:#cbd2d9;"
    "--rule-w:1px;--head-bg:#e8eef5;--note-bg:#f7f9fb;--pad:.35em .5em;--gap:1.2em;--width:64em}",
    "compact": ":root{--font:Arial,Helvetica,sans-serif;--fs:11px;--lh:1.2;"
    "--fg:#222222;--bg:#ffffff;--page:#ffffff;--muted:#555555;--accent:#333333;--rule:#d0d0d0;"
    "--rule-w:1px;--head-bg:#f0f0f0;--note-bg:#fafafa;--pad:.1em .3em;--gap:.6em;--width:100%}"
    "h1{font-size:1.3em}h2{font-size:1.1em}",
    "accessible": ":root{--font:Verdana,Tahoma,Arial,sans-serif;--fs:20px;--lh:1.6;"
    "--fg:#000000;--bg:#ffffff;--page:#ffffff;--muted:#000000;--accent:#000000;--rule:#000000;"
    "--rule-w:2px;--head-bg:#ffff99;--note-bg:#ffffff;--pad:.5em .7em;--gap:1.5em;--width:60em}"
    "body{letter-spacing:.02em;word-spacing:.08em}th{font-weight:bold}"
    "caption,h2,h3{text-decoration:underline}",
    # After AssoSoftware's print layout: serif body, boxed sections, grey headings (A-Cube's "assosoftware").
    "assosoftware": ":root{--font:Georgia,'Times New Roman',serif;--fs:13px;--lh:1.35;"
    "--fg:#111111;--bg:#ffffff;--page:#eeeeee;--muted:#444444;--accent:#3a3a3a;--rule:#9a9a9a;"
    "--rule-w:1px;--head-bg:#dcdcdc;--note-bg:#f4f4f4;--pad:.25em .4em;--gap:1em;--width:60em}"
    "section.document,.party{border:var(--rule-w) solid var(--rule);padding:var(--pad)}"
    "h2{text-transform:uppercase;letter-spacing:.05em}",
    # A-Cube's own theme, derived from AssoSoftware's: the same boxes in A-Cube's teal, framed notes.
    "acube": ":root{--font:'Segoe UI',Roboto,Helvetica,Arial,sans-serif;--fs:13px;--lh:1.4;"
    "--fg:#14232e;--bg:#ffffff;--page:#e9f3f4;--muted:#4b5d68;--accent:#00808a;--rule:#9fc7cb;"
    "--rule-w:1px;--head-bg:#dff0f1;--note-bg:#f2fafa;--pad:.3em .45em;--gap:1em;--width:62em}"
    "section.document,.party{border:var(--rule-w) solid var(--rule);padding:var(--pad)}"
    "h2{text-transform:uppercase;letter-spacing:.04em}.note{border-color:var(--accent)}",
}

# Nothing the page needs comes from outside, and nothing may run: a second line behind escaping.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'"


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def render_html(
    xml: bytes, *, theme: str = "standard", head_notes: str | None = None, foot_notes: str | None = None
) -> str:
    """A self-contained HTML page (inline CSS, no script, no external resource) for the invoice."""
    _check_theme(theme)
    document = build_document(xml, head_notes=head_notes, foot_notes=foot_notes)
    out: list[str] = [
        '<!DOCTYPE html>\n<html lang="it">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{_e(document.title)}</title>\n",
        f"<style>{_BASE_CSS}{_THEME_CSS[theme]}</style>\n</head>\n",
        f'<body class="theme-{theme}">\n<main>\n',
    ]
    if document.head_notes:  # at the very beginning, before the title
        out.append(f'<aside class="note head-notes" aria-label="Note">{_e(document.head_notes)}</aside>\n')
    out.append(
        f'<header class="doc"><h1>{_e(document.title)}</h1>'
        f'<p class="subtitle">{_e(document.subtitle)}</p></header>\n'
    )
    for block in document.blocks:
        _html_block(block, out)
    out.append('</main>\n<footer class="doc">')
    if document.foot_notes:  # in the footer, before the courtesy-copy line
        out.append(f'<aside class="note foot-notes" aria-label="Note">{_e(document.foot_notes)}</aside>\n')
    out.append(
        "Copia di cortesia: rappresentazione leggibile del file XML, "
        "che resta l'unico documento fiscalmente valido.</footer>\n</body>\n</html>\n"
    )
    return "".join(out)


def _html_fields(fields: Fields, out: list[str]) -> None:
    out.append('<dl class="fields">')
    for label, value in fields.pairs:
        out.append(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>")
    out.append("</dl>\n")


def _html_block(block: Block, out: list[str]) -> None:
    if isinstance(block, Section):
        out.append(f'<section class="{block.css}">\n<h2>{_e(block.title)}</h2>\n')
        for inner in block.blocks:
            _html_block(inner, out)
        out.append("</section>\n")
    elif isinstance(block, Fields):
        _html_fields(block, out)
    elif isinstance(block, Parties):
        out.append('<div class="parties">\n')
        for title, side, css in zip(block.titles, block.sides, ("supplier", "customer"), strict=True):
            out.append(f'<section class="party {css}">\n<h2>{_e(title)}</h2>\n')
            _html_fields(side, out)
            out.append("</section>\n")
        out.append("</div>\n")
    elif isinstance(block, Table):
        _html_table(block, out)
    else:
        css = "total grand" if block.grand else "total"
        out.append(f'<p class="{css}">{_e(block.label)}: <strong>{_e(block.value)}</strong></p>\n')


def _html_table(table: Table, out: list[str]) -> None:
    classes = [' class="num"' if c.numeric else "" for c in table.columns]
    out.append(f'<table class="{table.css}">\n<caption>{_e(table.caption)}</caption>\n<thead><tr>')
    out.extend(
        f'<th scope="col"{css}>{_e(c.title)}</th>' for c, css in zip(table.columns, classes, strict=True)
    )
    out.append("</tr></thead>\n<tbody>\n")
    for row in table.rows:
        out.append("<tr>")
        out.extend(f"<td{css}>{_e(value)}</td>" for value, css in zip(row, classes, strict=False))
        out.append("</tr>\n")
    out.append("</tbody>\n</table>\n")


# -- PDF -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PdfTheme:
    size: float  # body text, points
    margin: float  # mm
    text: tuple[int, int, int]
    accent: tuple[int, int, int]
    muted: tuple[int, int, int]
    rule: tuple[int, int, int]
    head_fill: tuple[int, int, int]
    rule_width: float  # mm
    leading: float = 1.25  # line height as a multiple of the font size
    padding: float = 1.0  # mm inside a table cell


_PDF_THEMES = {
    "standard": _PdfTheme(
        size=8.5, margin=12, text=(31, 41, 51), accent=(29, 78, 137), muted=(82, 96, 109),
        rule=(190, 198, 206), head_fill=(232, 238, 245), rule_width=0.2,
    ),
    "compact": _PdfTheme(
        size=7, margin=8, text=(34, 34, 34), accent=(51, 51, 51), muted=(85, 85, 85),
        rule=(208, 208, 208), head_fill=(240, 240, 240), rule_width=0.15, leading=1.15, padding=0.6,
    ),
    "accessible": _PdfTheme(
        size=12, margin=15, text=(0, 0, 0), accent=(0, 0, 0), muted=(0, 0, 0),
        rule=(0, 0, 0), head_fill=(255, 255, 153), rule_width=0.4, leading=1.4, padding=1.5,
    ),
    "assosoftware": _PdfTheme(
        size=8, margin=10, text=(17, 17, 17), accent=(58, 58, 58), muted=(68, 68, 68),
        rule=(154, 154, 154), head_fill=(220, 220, 220), rule_width=0.25, leading=1.2, padding=0.8,
    ),
    "acube": _PdfTheme(
        size=8, margin=10, text=(20, 35, 46), accent=(0, 128, 138), muted=(75, 93, 104),
        rule=(159, 199, 203), head_fill=(223, 240, 241), rule_width=0.25, leading=1.2, padding=0.8,
    ),
}  # fmt: skip

_PT = 25.4 / 72  # one point in mm
_FONT = "Helvetica"
_FOLD = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}


def _pdf_text(value: str) -> str:
    """What the core font can show: Windows-1252 characters; tabs become spaces, controls go."""
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    try:
        value.encode("cp1252")
    except UnicodeEncodeError:
        value = "".join(_pdf_char(c) for c in value)
    if any(unicodedata.category(c) == "Cc" and c != "\n" for c in value):
        value = "".join(c for c in value if c == "\n" or unicodedata.category(c) != "Cc")
    return value


def _pdf_char(char: str) -> str:
    try:
        char.encode("cp1252")
        return char
    except UnicodeEncodeError:
        folded = _FOLD.get(char) or unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        return folded or "?"


@dataclass
class _Metrics:
    """Character widths (mm) of one font style at one size, measured once through fpdf2."""

    widths: dict[str, float]
    space: float
    words: dict[str, float] = field(default_factory=dict)

    def width(self, value: str) -> float:
        cached = self.words.get(value)
        if cached is None:
            default = self.widths.get("?", 0.5)
            cached = sum(self.widths.get(c, default) for c in value)
            if len(self.words) < 50_000:
                self.words[value] = cached
        return cached


class _PdfWriter:
    """A small flow layout over fpdf2: headings, wrapped paragraphs and tables that break across pages."""

    def __init__(self, theme: _PdfTheme, title: str) -> None:
        self.theme = theme
        from fpdf import FPDF  # imported on the first PDF: it is most of the sandbox's start-up time

        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.core_fonts_encoding = "windows-1252"
        pdf.set_auto_page_break(False)
        pdf.set_margins(theme.margin, theme.margin, theme.margin)
        pdf.set_title(_pdf_text(title))
        pdf.set_lang("it")
        pdf.set_creator("fattura-sandbox")
        pdf.set_line_width(theme.rule_width)
        pdf.set_draw_color(*theme.rule)
        pdf.set_fill_color(*theme.head_fill)
        self.pdf = pdf
        self.left = theme.margin
        self.width = pdf.w - 2 * theme.margin
        self.top = theme.margin
        self.bottom = pdf.h - theme.margin - theme.size * _PT * 2  # room for the page footer
        self.y = self.top
        self._metrics: dict[tuple[str, float], _Metrics] = {}
        self._font: tuple[str, float] | None = None
        self._color: tuple[int, int, int] | None = None
        self.new_page()

    # -- primitives

    def new_page(self) -> None:
        self.pdf.add_page()
        self._font = None
        self._color = None
        self.y = self.top

    def font(self, style: str = "", size: float | None = None) -> _Metrics:
        size = size or self.theme.size
        key = (style, size)
        if self._font != key:
            self.pdf.set_font(_FONT, style, size)
            self._font = key
        metrics = self._metrics.get(key)
        if metrics is None:
            widths = {}
            for code in range(32, 256):
                try:
                    char = bytes([code]).decode("cp1252")
                except UnicodeDecodeError:
                    continue
                widths[char] = self.pdf.get_string_width(char)
            metrics = self._metrics[key] = _Metrics(widths, widths[" "])
        return metrics

    def color(self, rgb: tuple[int, int, int]) -> None:
        if self._color != rgb:
            self.pdf.set_text_color(*rgb)
            self._color = rgb

    def line_height(self, size: float | None = None) -> float:
        return (size or self.theme.size) * _PT * self.theme.leading

    def ensure(self, height: float) -> bool:
        """Start a new page unless ``height`` fits below the cursor; True if a page was started."""
        if self.y + height > self.bottom and self.y > self.top:
            self.new_page()
            return True
        return False

    def wrap(self, value: str, width: float, metrics: _Metrics) -> list[str]:
        lines: list[str] = []
        for paragraph in _pdf_text(value).split("\n"):
            current: list[str] = []
            current_width = 0.0
            for word in paragraph.split():
                word_width = metrics.width(word)
                if word_width > width:  # a word longer than the column: cut it
                    if current:
                        lines.append(" ".join(current))
                        current, current_width = [], 0.0
                    pieces = self._cut(word, width, metrics)
                    lines.extend(pieces[:-1])
                    word = pieces[-1]
                    word_width = metrics.width(word)
                if current and current_width + metrics.space + word_width > width:
                    lines.append(" ".join(current))
                    current, current_width = [], 0.0
                current_width += (metrics.space if current else 0.0) + word_width
                current.append(word)
            lines.append(" ".join(current))
        return lines

    @staticmethod
    def _cut(word: str, width: float, metrics: _Metrics) -> list[str]:
        pieces: list[str] = []
        start = 0
        used = 0.0
        for index, char in enumerate(word):
            char_width = metrics.widths.get(char, metrics.space)
            if used + char_width > width and index > start:
                pieces.append(word[start:index])
                start, used = index, 0.0
            used += char_width
        pieces.append(word[start:])
        return pieces

    def put(self, x: float, top: float, value: str, size: float | None = None) -> None:
        """Text whose line box starts at ``top``."""
        size = size or self.theme.size
        line = self.line_height(size)
        baseline = top + (line - size * _PT) / 2 + size * _PT * 0.8
        self.pdf.text(x, baseline, value)

    # -- blocks

    def heading(self, value: str, size: float, *, rule: bool = False) -> None:
        metrics = self.font("B", size)
        lines = self.wrap(value, self.width, metrics)
        height = len(lines) * self.line_height(size)
        self.ensure(height + 4 * self.line_height())  # never alone at the bottom of a page
        self.color(self.theme.accent)
        for line in lines:
            self.put(self.left, self.y, line, size)
            self.y += self.line_height(size)
        if rule:
            self.pdf.set_draw_color(*self.theme.accent)
            self.pdf.line(self.left, self.y + 0.5, self.left + self.width, self.y + 0.5)
            self.pdf.set_draw_color(*self.theme.rule)
            self.y += 1.5
        self.y += self.line_height() * 0.3
        self.color(self.theme.text)

    def label_width(self, labels: Sequence[str], cap: float) -> float:
        """The width of a column of bold labels: the widest label plus padding, at most ``cap``."""
        metrics = self.font("B")
        widest = max((metrics.width(_pdf_text(label)) for label in labels), default=0.0)
        return min(widest + 2 * self.theme.padding + 1.0, cap)

    def column_widths(self, titles: Sequence[str], weights: Sequence[float]) -> list[float]:
        """Share the width by weight, but never so narrow that a word of a column title must be cut."""
        metrics = self.font("B")
        minimum = [
            max((metrics.width(w) for w in _pdf_text(t).split()), default=0.0) + 2 * self.theme.padding + 0.5
            for t in titles
        ]
        fixed: set[int] = set()
        widths = list(weights)
        for _ in range(len(weights)):
            free = self.width - sum(minimum[i] for i in fixed)
            weight = sum(w for i, w in enumerate(weights) if i not in fixed) or 1.0
            widths = [minimum[i] if i in fixed else w * free / weight for i, w in enumerate(weights)]
            short = {i for i, w in enumerate(widths) if i not in fixed and w < minimum[i]}
            if not short:
                break
            fixed |= short
        return widths

    def total(self, value: str, size: float, *, grand: bool) -> None:
        """A right-aligned line (wrapped if it ever is wider than the page)."""
        metrics = self.font("B", size)
        lines = self.wrap(value, self.width, metrics)
        self.ensure(len(lines) * self.line_height(size) + self.line_height())
        self.color(self.theme.accent if grand else self.theme.text)
        for line in lines:
            self.put(self.left + self.width - metrics.width(line), self.y, line, size)
            self.y += self.line_height(size)
        self.y += self.line_height(size) * 0.3
        self.color(self.theme.text)

    def twin_headings(self, titles: tuple[str, str], size: float) -> None:
        """Two headings side by side, each over half of the width."""
        metrics = self.font("B", size)
        half = self.width / 2
        self.ensure(self.line_height(size) + 4 * self.line_height())
        self.color(self.theme.accent)
        for index, title in enumerate(titles):
            self.put(self.left + index * half, self.y, self.wrap(title, half - 2, metrics)[0], size)
        self.y += self.line_height(size)
        self.pdf.set_draw_color(*self.theme.accent)
        for index in range(2):
            start = self.left + index * half
            self.pdf.line(start, self.y + 0.5, start + half - 3, self.y + 0.5)
        self.pdf.set_draw_color(*self.theme.rule)
        self.y += 1.5 + self.line_height() * 0.3
        self.color(self.theme.text)

    def paragraph(self, value: str, *, style: str = "", boxed: bool = False) -> None:
        metrics = self.font(style)
        inset = self.theme.padding * 2 if boxed else 0.0
        self.color(self.theme.text)
        for line in self.wrap(value, self.width - 2 * inset, metrics):
            if self.ensure(self.line_height()):
                self.font(style)
                self.color(self.theme.text)
            if boxed:
                self.pdf.set_draw_color(*self.theme.accent)
                self.pdf.set_line_width(self.theme.rule_width * 3)
                self.pdf.line(self.left, self.y, self.left, self.y + self.line_height())
                self.pdf.set_line_width(self.theme.rule_width)
                self.pdf.set_draw_color(*self.theme.rule)
            self.put(self.left + inset, self.y, line)
            self.y += self.line_height()
        self.y += self.line_height() * 0.5

    def table(
        self,
        columns: Sequence[tuple[str, float, bool]],
        rows: Iterable[Sequence[str]],
        *,
        bold: Sequence[bool] | None = None,
        header: bool = True,
        grid: bool = True,
    ) -> None:
        """``columns``: (title, width in mm, right-aligned); the header repeats on every page."""
        pad = self.theme.padding
        line = self.line_height()
        bold = bold or [False] * len(columns)
        heading_row = [c[0] for c in columns]
        if header:
            self.ensure(self._row_height(heading_row, columns, [True] * len(columns)) + 2 * line + 2 * pad)
            self._row(heading_row, columns, [True] * len(columns), fill=True, grid=grid)
        for row in rows:
            cells = [
                self.wrap(value, width - 2 * pad, self.font("B" if strong else ""))
                for value, (_, width, _), strong in zip(row, columns, bold, strict=False)
            ]
            started = False  # a new page was started for this row: draw it there whatever its height
            while cells:
                available = int((self.bottom - self.y - 2 * pad) // line)
                needed = max((len(c) for c in cells), default=1)
                fresh = int((self.bottom - self.top - 2 * pad) // line) - (3 if header else 0)
                # A short row moves to the next page whole; a long one is split where the page ends.
                short = needed <= min(6, fresh)
                if not started and needed > available and (short or available < 3):
                    self.new_page()
                    started = True
                    if header:
                        self._row(heading_row, columns, [True] * len(columns), fill=True, grid=grid)
                    continue
                take = max(1, min(needed, available))
                self._draw(
                    [c[:take] for c in cells], columns, bold, take * line + 2 * pad, fill=False, grid=grid
                )
                cells = [c[take:] for c in cells] if take < needed else []
                started = False
        self.y += line * 0.6

    def _row_height(
        self, row: Sequence[str], columns: Sequence[tuple[str, float, bool]], bold: Sequence[bool]
    ) -> float:
        pad = self.theme.padding
        counts = [
            len(self.wrap(v, c[1] - 2 * pad, self.font("B" if b else "")))
            for v, c, b in zip(row, columns, bold, strict=False)
        ]
        return max(counts, default=1) * self.line_height() + 2 * pad

    def _row(
        self,
        row: Sequence[str],
        columns: Sequence[tuple[str, float, bool]],
        bold: Sequence[bool],
        *,
        fill: bool,
        grid: bool,
    ) -> None:
        pad = self.theme.padding
        cells = [
            self.wrap(v, c[1] - 2 * pad, self.font("B" if b else ""))
            for v, c, b in zip(row, columns, bold, strict=False)
        ]
        height = max((len(c) for c in cells), default=1) * self.line_height() + 2 * pad
        self._draw(cells, columns, bold, height, fill=fill, grid=grid)

    def _draw(
        self,
        cells: Sequence[Sequence[str]],
        columns: Sequence[tuple[str, float, bool]],
        bold: Sequence[bool],
        height: float,
        *,
        fill: bool,
        grid: bool,
    ) -> None:
        pad = self.theme.padding
        line = self.line_height()
        if fill:
            self.pdf.rect(self.left, self.y, self.width, height, style="F")
        self.color(self.theme.text)
        x = self.left
        for lines, (_, width, right), strong in zip(cells, columns, bold, strict=False):
            metrics = self.font("B" if strong else "")
            for index, value in enumerate(lines):
                offset = width - pad - metrics.width(value) if right else pad
                self.put(x + offset, self.y + pad + index * line, value)
            if grid and x > self.left:
                self.pdf.line(x, self.y, x, self.y + height)
            x += width
        if grid:
            self.pdf.rect(self.left, self.y, self.width, height)
        else:
            self.pdf.line(self.left, self.y + height, self.left + self.width, self.y + height)
        self.y += height

    def finish(self, footer: str) -> bytes:
        pdf = self.pdf
        count = pdf.pages_count
        size = self.theme.size * 0.85
        for number in range(1, count + 1):
            pdf.page = number
            # Force the font and colour into this page's stream: the state fpdf2 tracks is the last page's.
            pdf.set_font(_FONT, "B", size + 1)
            pdf.set_font(_FONT, "I", size)
            pdf.set_fill_color(255, 255, 255)
            pdf.set_text_color(*self.theme.muted)
            label = f"Pagina {number} di {count}"
            y = pdf.h - self.theme.margin - size * _PT
            pdf.text(self.left, y, _pdf_text(footer))
            pdf.text(self.left + self.width - pdf.get_string_width(label), y, label)
        return bytes(pdf.output())


def render_pdf(
    xml: bytes, *, theme: str = "standard", head_notes: str | None = None, foot_notes: str | None = None
) -> bytes:
    """A PDF of the same content as ``render_html`` (A4, Helvetica, selectable text)."""
    settings = _PDF_THEMES[_check_theme(theme)]
    document = build_document(xml, head_notes=head_notes, foot_notes=foot_notes)
    writer = _PdfWriter(settings, document.title)
    if document.head_notes:  # at the very beginning, before the title
        writer.paragraph(document.head_notes, boxed=True)
    writer.heading(document.title, settings.size * 1.8)
    writer.color(settings.muted)
    writer.paragraph(document.subtitle)
    for block in document.blocks:
        _pdf_block(writer, block)
    if document.foot_notes:
        writer.paragraph(document.foot_notes, boxed=True)
    return writer.finish("Copia di cortesia del file XML, unico documento fiscalmente valido")


def _pdf_block(writer: _PdfWriter, block: Block) -> None:
    size = writer.theme.size
    if isinstance(block, Section):
        writer.heading(block.title, size * 1.35, rule=True)
        for inner in block.blocks:
            _pdf_block(writer, inner)
    elif isinstance(block, Fields):
        if block.pairs:
            label_width = writer.label_width([label for label, _ in block.pairs], writer.width * 0.3)
            columns = [("", label_width, False), ("", writer.width - label_width, False)]
            writer.table(columns, block.pairs, bold=[True, False], header=False, grid=False)
    elif isinstance(block, Parties):
        half = writer.width / 2
        labels = [label for side in block.sides for label, _ in side.pairs]
        label_width = writer.label_width(labels, half * 0.45)
        gutter = writer.theme.padding * 3
        columns = [
            ("", label_width, False),
            ("", half - label_width - gutter, False),
            ("", gutter, False),
            ("", label_width, False),
            ("", half - label_width, False),
        ]
        writer.twin_headings(block.titles, size * 1.35)
        left, right = (list(side.pairs) for side in block.sides)
        rows = []
        for index in range(max(len(left), len(right))):
            first = left[index] if index < len(left) else ("", "")
            second = right[index] if index < len(right) else ("", "")
            rows.append((*first, "", *second))
        writer.table(columns, rows, bold=[True, False, False, True, False], header=False, grid=False)
    elif isinstance(block, Table):
        writer.heading(block.caption, size * 1.1)
        widths = writer.column_widths([c.title for c in block.columns], [c.weight for c in block.columns])
        columns = [(c.title, w, c.numeric) for c, w in zip(block.columns, widths, strict=True)]
        writer.table(columns, block.rows)
    else:
        writer.total(f"{block.label}: {block.value}", size * (1.3 if block.grand else 1.0), grand=block.grand)
