from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import re
import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pypdf import PdfReader

from emulator.core.xmlsafe import DEFAULT_MAX_BYTES
from emulator.sdi.fatturapa import FATTURAPA_NS, FSM_NS
from emulator.sdi.generator import DOCUMENT_TYPES as GENERATED_TYPES
from emulator.sdi.generator import GeneratedInvoice, InvoiceGenerator, PartySpec
from emulator.sdi.rendering import (
    DOCUMENT_TYPES,
    NATURES,
    PAYMENT_METHODS,
    TAX_REGIMES,
    THEMES,
    format_amount,
    format_date,
    render_html,
    render_pdf,
)

from .reference import B2B_REAL, OFFICIAL, XSD_DIR, read_sample, require

ISSUE_DATE = dt.date(2024, 3, 15)
CONSUMER = PartySpec(fiscal_code="BNCMRC78E14F205D", first_name="Marco", last_name="Bianchi")
SUPPLIER = PartySpec(vat="14725830377", fiscal_code="14725830377", name="Trasporti Emiliani S.r.l.")

# -- helpers ---------------------------------------------------------------------------------------


def generate(seed: int, **kwargs: Any) -> GeneratedInvoice:
    return InvoiceGenerator(seed).generate(issue_date=ISSUE_DATE, **kwargs)


def italian(amount: Decimal) -> str:
    """The expected Italian rendering of a 2-decimal amount, computed independently of the module."""
    whole, cents = f"{amount:.2f}".split(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups: list[str] = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return f"{sign}{'.'.join(groups)},{cents}"


def display_name(party: PartySpec) -> str:
    return party.name or f"{party.first_name} {party.last_name}"


def pdf_text(data: bytes, pages: slice | None = None) -> str:
    reader = PdfReader(io.BytesIO(data))
    chosen = reader.pages[pages] if pages is not None else reader.pages
    return "\n".join(page.extract_text() for page in chosen)


def assert_valid_pdf(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    return reader


def descriptions(xml: bytes) -> list[str]:
    root = etree.fromstring(xml)
    return [d.text or "" for d in root.iter("Descrizione")]


def modify(xml: bytes, change: Any) -> bytes:
    root = etree.fromstring(xml)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def compact(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# -- generated invoices ------------------------------------------------------------------------------

CASES: list[tuple[int, dict[str, Any]]] = [
    (1, {"document_type": "TD01"}),
    (2, {"document_type": "TD01", "pa": True}),
    (3, {"document_type": "TD02"}),
    (4, {"document_type": "TD04", "pa": True}),
    (5, {"document_type": "TD05"}),
    (6, {"document_type": "TD06"}),
    (7, {"document_type": "TD06", "pa": True}),
    (8, {"document_type": "TD24", "line_count": 25}),
    (9, {"document_type": "TD24", "pa": True}),
    (10, {"customer": CONSUMER}),
    (11, {"supplier": SUPPLIER, "recipient_pec": "amministrazione@pec.example.com"}),
    (12, {"line_count": 12, "causale": "Fornitura però più città: qualità"}),
    (13, {}),
    (14, {"pa": True}),
]


@pytest.mark.parametrize(("seed", "kwargs"), CASES, ids=[f"seed{s}" for s, _ in CASES])
def test_html_shows_parties_document_lines_and_total(seed: int, kwargs: dict[str, Any]) -> None:
    invoice = generate(seed, **kwargs)
    page = render_html(invoice.xml)
    assert page.startswith("<!DOCTYPE html>")
    assert html.escape(display_name(invoice.supplier)) in page
    assert html.escape(display_name(invoice.customer)) in page
    assert html.escape(invoice.number) in page
    assert invoice.date.strftime("%d/%m/%Y") in page
    assert italian(invoice.total) in page
    assert f"{invoice.document_type} – {html.escape(DOCUMENT_TYPES[invoice.document_type])}" in page
    assert html.escape(invoice.progressive) in page
    for description in descriptions(invoice.xml):
        assert html.escape(description) in page
    root = etree.fromstring(invoice.xml)
    for method in root.iter("ModalitaPagamento"):
        assert PAYMENT_METHODS[method.text or ""] in page
    for account in root.iter("IBAN"):
        assert (account.text or "") in page
    for due in root.iter("DataScadenzaPagamento"):
        assert format_date(due.text) in page
    for summary in root.iter("DatiRiepilogo"):
        assert italian(Decimal(summary.findtext("ImponibileImporto") or "")) in page
        assert italian(Decimal(summary.findtext("Imposta") or "")) in page
    if root.find(".//DatiRitenuta") is not None:
        assert "RT0" in page and "Ritenuta" in page
    if kwargs.get("recipient_pec"):
        assert "amministrazione@pec.example.com" in page
    # Self-contained: no script, no external resource of any kind.
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=|@import|url\(""", page, re.IGNORECASE)


@pytest.mark.parametrize(("seed", "kwargs"), CASES[::3], ids=[f"seed{s}" for s, _ in CASES[::3]])
def test_pdf_is_valid_and_carries_number_total_and_names(seed: int, kwargs: dict[str, Any]) -> None:
    invoice = generate(seed, **kwargs)
    data = render_pdf(invoice.xml)
    assert_valid_pdf(data)
    text = compact(pdf_text(data))
    assert invoice.number in text
    assert italian(invoice.total) in text
    assert display_name(invoice.supplier) in text
    assert display_name(invoice.customer) in text
    assert DOCUMENT_TYPES[invoice.document_type] in text


def test_pdf_keeps_italian_accented_characters() -> None:
    invoice = generate(12, line_count=5, causale="Fornitura però più città: qualità e perché")
    text = compact(pdf_text(render_pdf(invoice.xml)))
    assert "Fornitura però più città: qualità e perché" in text
    assert "Quantità" in text


def test_characters_outside_latin1_never_break_the_pdf() -> None:
    def exotic(root: etree._Element) -> None:
        description = next(root.iter("Descrizione"))
        description.text = "Prezzo → “speciale” ł 😀\tfine"

    xml = modify(generate(1, document_type="TD01").xml, exotic)
    text = compact(pdf_text(render_pdf(xml)))
    assert "Prezzo" in text and "“speciale”" in text and "fine" in text
    assert "Prezzo → “speciale” ł 😀" in render_html(xml)


# -- official and real samples -----------------------------------------------------------------------

OFFICIAL_SAMPLES = [
    ("IT01234567890_FPR01.xml", "SOCIETA' ALPHA SRL", "DITTA BETA", ["123"], ["6,10"]),
    ("IT01234567890_FPR02.xml", "SOCIETA' ALPHA SRL", "BETA GAMMA", ["123"], ["30,50"]),
    ("IT01234567890_FPR03.xml", "SOCIETA' ALPHA SRL", "BETA GAMMA", ["123", "456"], ["32,95", "2.440,00"]),
    ("from0000001to0000002.xml", None, None, [], []),
    ("from0000002to0000001.xml", None, None, [], []),
]


@pytest.mark.parametrize(
    ("name", "supplier", "customer", "numbers", "amounts"),
    OFFICIAL_SAMPLES,
    ids=[s[0] for s in OFFICIAL_SAMPLES],
)
def test_official_samples_render(
    name: str, supplier: str | None, customer: str | None, numbers: list[str], amounts: list[str]
) -> None:
    xml = read_sample(OFFICIAL / name)
    page = render_html(xml)
    root = etree.fromstring(xml)
    for description in descriptions(xml):
        assert html.escape(description) in page
    for element in root.iter("Numero"):
        assert html.escape(element.text or "") in page
    for element in root.iter("Data"):
        assert format_date(element.text) in page
    for expected in (supplier, customer):
        if expected:
            assert html.escape(expected) in page
    for amount in amounts:
        assert amount in page
    text = compact(pdf_text(render_pdf(xml)))
    for number in numbers:
        assert f"n. {number} del" in text
    for amount in amounts:
        assert amount in text


def test_a_multi_body_file_renders_every_body() -> None:
    page = render_html(read_sample(OFFICIAL / "IT01234567890_FPR03.xml"))
    assert "Fattura n. 123 del 18/12/2014 (1 di 2)" in page
    assert "Fattura n. 456 del 20/12/2014 (2 di 2)" in page
    assert page.count('<section class="document">') == 2
    assert "SEPA Direct Debit" in page and "Contanti" in page
    assert "pagamento a rate" in page.lower()


def test_missing_supplier_is_tolerated() -> None:
    xml = read_sample(OFFICIAL / "missing_CedentePrestatore.xml")
    page = render_html(xml)
    assert "Cedente/Prestatore" in page
    assert_valid_pdf(render_pdf(xml))


def test_real_b2b_invoice_with_a_person_as_customer() -> None:
    xml = read_sample(B2B_REAL / "IT03339130126_00009.xml")
    page = render_html(xml)
    assert "My Company" in page and "f c1" in page
    assert "INV/2018/0003" in page and "1,22" in page and "13/11/2018" in page
    assert "Unit(s)" in page


@pytest.mark.parametrize(
    "name",
    ["IT01234567890_11111_RC_001.xml", "IT01234567890_11111_NS_001.xml", "IT01234567890_11111_MC_001.xml"],
)
def test_a_notification_is_not_an_invoice(name: str) -> None:
    xml = read_sample(OFFICIAL / name)
    with pytest.raises(ValueError, match="not FatturaElettronica"):
        render_html(xml)
    with pytest.raises(ValueError, match="not FatturaElettronica"):
        render_pdf(xml)


def test_a_broken_real_file_is_a_clear_value_error() -> None:
    xml = read_sample(B2B_REAL / "IT02652600210_00007.xml")  # "<ns1:Fattura Elettronica ...": not XML
    with pytest.raises(ValueError, match="not well-formed"):
        render_html(xml)
    with pytest.raises(ValueError, match="not well-formed"):
        render_pdf(xml)


# -- simplified invoices (FSM10) -------------------------------------------------------------------

FSM_INVOICE = f"""<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronicaSemplificata xmlns:p="{FSM_NS}" versione="FSM10">
  <FatturaElettronicaHeader>
    <DatiTrasmissione>
      <IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>03339130126</IdCodice></IdTrasmittente>
      <ProgressivoInvio>00042</ProgressivoInvio>
      <FormatoTrasmissione>FSM10</FormatoTrasmissione>
      <CodiceDestinatario>0000000</CodiceDestinatario>
      <PECDestinatario>cliente@pec.example.it</PECDestinatario>
    </DatiTrasmissione>
    <CedentePrestatore>
      <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>03339130126</IdCodice></IdFiscaleIVA>
      <CodiceFiscale>LNGNNA80A41D969W</CodiceFiscale>
      <Nome>Anna</Nome><Cognome>Longhi</Cognome>
      <Sede>
        <Indirizzo>Via del Campo</Indirizzo><NumeroCivico>29r</NumeroCivico><CAP>16124</CAP>
        <Comune>Genova</Comune><Provincia>GE</Provincia><Nazione>IT</Nazione>
      </Sede>
      <RegimeFiscale>RF19</RegimeFiscale>
    </CedentePrestatore>
    <CessionarioCommittente>
      <IdentificativiFiscali><CodiceFiscale>RSSMRA80A01H501U</CodiceFiscale></IdentificativiFiscali>
      <AltriDatiIdentificativi>
        <Denominazione>Caffè Nicolò &amp; Figli</Denominazione>
        <Sede>
          <Indirizzo>Via Verdi 2</Indirizzo><CAP>00100</CAP><Comune>Roma</Comune><Nazione>IT</Nazione>
        </Sede>
      </AltriDatiIdentificativi>
    </CessionarioCommittente>
  </FatturaElettronicaHeader>
  <FatturaElettronicaBody>
    <DatiGenerali>
      <DatiGeneraliDocumento>
        <TipoDocumento>TD08</TipoDocumento><Divisa>EUR</Divisa><Data>2024-03-01</Data><Numero>NC-7</Numero>
        <BolloVirtuale>SI</BolloVirtuale>
      </DatiGeneraliDocumento>
      <DatiFatturaRettificata>
        <NumeroFR>S-1</NumeroFR><DataFR>2024-02-20</DataFR>
        <ElementiRettificati>Prezzo errato</ElementiRettificati>
      </DatiFatturaRettificata>
    </DatiGenerali>
    <DatiBeniServizi>
      <Descrizione>Lezioni di chitarra (ciclo di febbraio)</Descrizione><Importo>1220.00</Importo>
      <DatiIVA><Aliquota>22.00</Aliquota></DatiIVA>
    </DatiBeniServizi>
    <DatiBeniServizi>
      <Descrizione>Spartiti</Descrizione><Importo>15.50</Importo><DatiIVA><Imposta>0.00</Imposta></DatiIVA>
      <Natura>N2.2</Natura><RiferimentoNormativo>Art. 1 c. 58 L. 190/2014</RiferimentoNormativo>
    </DatiBeniServizi>
    <Allegati>
      <NomeAttachment>ricevuta.pdf</NomeAttachment><FormatoAttachment>PDF</FormatoAttachment>
      <Attachment>U0VHUkVUTyBTRUdSRVRJU1NJTU8=</Attachment>
    </Allegati>
  </FatturaElettronicaBody>
</p:FatturaElettronicaSemplificata>
""".encode()


def test_the_fsm_sample_is_valid_against_the_official_schema() -> None:
    path = require(XSD_DIR / "FatturaSemplificata_VFSM10_v1.0.2.xsd")
    source = path.read_text(encoding="utf-8")
    # The xmldsig import is not needed by this document; drop it rather than reach the network.
    source = re.sub(r"<xs:import [^>]*xmldsig[^>]*/>", "", source)
    source = re.sub(r'<xs:element ref="ds:Signature"[^>]*/>', "", source)
    schema = etree.XMLSchema(etree.fromstring(source.encode(), etree.XMLParser(no_network=True)))
    assert schema.validate(etree.fromstring(FSM_INVOICE)), schema.error_log


def test_simplified_invoice_html() -> None:
    page = render_html(FSM_INVOICE)
    assert "Anna Longhi" in page
    assert "Caffè Nicolò &amp; Figli" in page
    assert "TD08 – Nota di credito semplificata" in page
    assert "Nota di credito semplificata n. NC-7 del 01/03/2024" in page
    assert "FSM10 – Fattura verso privati semplificata" in page
    assert "RF19 – Regime forfettario" in page
    assert "Lezioni di chitarra (ciclo di febbraio)" in page and "Spartiti" in page
    assert "1.220,00" in page and "1.235,50" in page  # a line, and the total: the sum of the Importo
    assert "N2.2" in page and "Art. 1 c. 58 L. 190/2014" in page
    assert "S-1 del 20/02/2024" in page and "Prezzo errato" in page
    assert "cliente@pec.example.it" in page
    assert "ricevuta.pdf" in page
    assert "U0VHUkVUTyBTRUdSRVRJU1NJTU8" not in page  # attachments: names only


def test_simplified_invoice_pdf() -> None:
    data = render_pdf(FSM_INVOICE, theme="accessible")
    assert_valid_pdf(data)
    text = compact(pdf_text(data))
    assert "NC-7" in text and "1.235,50" in text and "Caffè Nicolò & Figli" in text
    assert "ricevuta.pdf" in text


# -- everything an ordinary invoice may carry ------------------------------------------------------


def _enrich(root: etree._Element) -> None:
    """Add what the generator never writes: cassa, bollo, discounts, rounding, links, attachments."""
    body = root.find("FatturaElettronicaBody")
    assert body is not None
    document = body.find("DatiGenerali/DatiGeneraliDocumento")
    assert document is not None
    total = document.find("ImportoTotaleDocumento")
    assert total is not None
    anchor = total.getparent()
    assert anchor is not None
    index = list(anchor).index(total)
    extra = etree.fromstring(
        "<x><DatiBollo><BolloVirtuale>SI</BolloVirtuale><ImportoBollo>2.00</ImportoBollo></DatiBollo>"
        "<DatiCassaPrevidenziale><TipoCassa>TC22</TipoCassa><AlCassa>4.00</AlCassa>"
        "<ImportoContributoCassa>40.00</ImportoContributoCassa><ImponibileCassa>1000.00</ImponibileCassa>"
        "<AliquotaIVA>22.00</AliquotaIVA><Ritenuta>SI</Ritenuta></DatiCassaPrevidenziale>"
        "<ScontoMaggiorazione><Tipo>SC</Tipo><Percentuale>5.00</Percentuale></ScontoMaggiorazione></x>"
    )
    for offset, element in enumerate(extra):
        anchor.insert(index + offset, element)
    total.addnext(etree.fromstring("<Arrotondamento>-0.01</Arrotondamento>"))
    general = body.find("DatiGenerali")
    assert general is not None
    general.append(
        etree.fromstring(
            "<DatiFattureCollegate><IdDocumento>FT-99</IdDocumento><Data>2024-01-31</Data>"
            "<CodiceCIG>Z1A2B3C4D5</CodiceCIG></DatiFattureCollegate>"
        )
    )
    line = body.find("DatiBeniServizi/DettaglioLinee")
    assert line is not None
    description = line.find("Descrizione")
    assert description is not None
    description.addprevious(
        etree.fromstring(
            "<CodiceArticolo><CodiceTipo>EAN</CodiceTipo><CodiceValore>8001234567890</CodiceValore></CodiceArticolo>"
        )
    )
    line.find("PrezzoTotale").addprevious(  # type: ignore[union-attr]
        etree.fromstring("<ScontoMaggiorazione><Tipo>MG</Tipo><Importo>3.50</Importo></ScontoMaggiorazione>")
    )
    body.append(
        etree.fromstring(
            "<Allegati><NomeAttachment>dettaglio-consumi.pdf</NomeAttachment>"
            "<FormatoAttachment>PDF</FormatoAttachment><DescrizioneAttachment>Dettaglio</DescrizioneAttachment>"
            "<Attachment>Q09OVEVOVVRPIFNFR1JFVE8=</Attachment></Allegati>"
        )
    )


def test_cassa_bollo_discounts_links_and_attachments() -> None:
    xml = modify(generate(6, document_type="TD06").xml, _enrich)
    page = render_html(xml)
    assert "RT01 – Ritenuta di acconto persone fisiche" in page
    assert "TC22 – INPS" in page and "40,00" in page and "1.000,00" in page
    assert "Bollo virtuale" in page and "2,00" in page
    assert "Sconto 5,00%" in page and "Maggiorazione 3,50" in page
    assert "Arrotondamento" in page and "-0,01" in page
    assert "Fattura collegata" in page and "FT-99" in page and "31/01/2024" in page and "Z1A2B3C4D5" in page
    assert "EAN 8001234567890" in page
    assert "dettaglio-consumi.pdf" in page
    assert "Q09OVEVOVVRPIFNFR1JFVE8" not in page
    text = compact(pdf_text(render_pdf(xml)))
    assert "TC22 – INPS" in text and "dettaglio-consumi.pdf" in text and "Maggiorazione 3,50" in text


@pytest.mark.parametrize("code", sorted(DOCUMENT_TYPES))
def test_every_document_type_has_its_italian_description(code: str) -> None:
    def retype(root: etree._Element) -> None:
        for element in root.iter("TipoDocumento"):
            element.text = code

    page = render_html(modify(generate(1, document_type="TD01").xml, retype))
    assert f"{code} – {html.escape(DOCUMENT_TYPES[code])}" in page


def test_the_code_tables_match_the_official_schemas() -> None:
    def enumeration(name: str, type_name: str) -> set[str]:
        tree = etree.parse(str(require(XSD_DIR / name)))
        xs = "{http://www.w3.org/2001/XMLSchema}"
        found = tree.find(f".//{xs}simpleType[@name='{type_name}']")
        assert found is not None
        return {e.get("value") or "" for e in found.iter(f"{xs}enumeration")}

    ordinary = "Schema_del_file_xml_FatturaPA_v1.2.3.xsd"
    simplified = "FatturaSemplificata_VFSM10_v1.0.2.xsd"
    types = enumeration(ordinary, "TipoDocumentoType") | enumeration(simplified, "TipoDocumentoType")
    assert set(DOCUMENT_TYPES) == types
    assert {f"TD{n:02d}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, *range(16, 30))} == types
    assert set(PAYMENT_METHODS) == enumeration(ordinary, "ModalitaPagamentoType")
    assert set(TAX_REGIMES) == enumeration(ordinary, "RegimeFiscaleType")
    assert set(NATURES) == enumeration(ordinary, "NaturaType")
    assert set(GENERATED_TYPES) <= set(DOCUMENT_TYPES)
    assert DOCUMENT_TYPES["TD01"] == "Fattura" and DOCUMENT_TYPES["TD04"] == "Nota di credito"
    assert DOCUMENT_TYPES["TD24"].startswith("Fattura differita")


# -- escaping --------------------------------------------------------------------------------------

SCRIPT = "<script>alert('x')</script>"
IMG = '"><img src=x onerror=alert(1)>'


def _inject(root: etree._Element) -> None:
    next(root.iter("Descrizione")).text = f"Consulenza {SCRIPT}"
    next(root.iter("Numero")).text = "A<b>1</b>"
    denomination = next(root.iter("Denominazione"))
    denomination.text = f"ACME {IMG}"
    for iban in root.iter("IBAN"):
        iban.text = "</td></tr></table><style>body{display:none}</style>"


def test_injected_markup_is_escaped_in_html() -> None:
    xml = modify(generate(1, document_type="TD01", causale=f"Causale {SCRIPT}").xml, _inject)
    page = render_html(xml, head_notes=f"Nota {SCRIPT}", foot_notes=f"Piede {IMG}")
    lowered = page.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    assert "<b>" not in lowered
    assert lowered.count("<style>") == 1 and lowered.count("</table>") == lowered.count("<table")
    assert "Consulenza &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Causale &lt;script&gt;" in page
    assert "ACME &quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "A&lt;b&gt;1&lt;/b&gt;" in page
    assert "Nota &lt;script&gt;" in page and "Piede &quot;&gt;&lt;img" in page
    text = compact(pdf_text(render_pdf(xml)))
    assert "Consulenza <script>alert('x')</script>" in text


# -- themes and notes ------------------------------------------------------------------------------


def test_themes_differ_and_unknown_theme_is_refused() -> None:
    xml = generate(8, document_type="TD24", line_count=60).xml
    pages = {theme: render_html(xml, theme=theme) for theme in THEMES}
    assert set(THEMES) >= {"standard", "compact", "accessible"}
    assert len(set(pages.values())) == len(THEMES)
    for theme, page in pages.items():
        assert f'<body class="theme-{theme}">' in page

    def font_size(page: str) -> int:
        match = re.search(r"--fs:(\d+)px", page)
        assert match is not None
        return int(match.group(1))

    assert font_size(pages["compact"]) < font_size(pages["standard"]) < font_size(pages["accessible"])
    assert "--fg:#000000" in pages["accessible"] and "--bg:#ffffff" in pages["accessible"]
    # The content is the same whatever the theme.
    strip = re.compile(r"<style>.*?</style>|<body class=\"[^\"]*\">", re.DOTALL)
    assert len({strip.sub("", page) for page in pages.values()}) == 1

    counts = {theme: len(assert_valid_pdf(render_pdf(xml, theme=theme)).pages) for theme in THEMES}
    assert counts["compact"] <= counts["standard"] < counts["accessible"]
    for renderer in (render_html, render_pdf):
        with pytest.raises(ValueError, match="unknown theme"):
            renderer(xml, theme="dark")


def test_notes_appear_at_the_top_and_bottom() -> None:
    invoice = generate(3, document_type="TD01")
    head = "Copia per il cliente\nGrazie per l'acquisto"
    foot = "Documento privo di valenza fiscale"
    page = render_html(invoice.xml, head_notes=head, foot_notes=foot)
    top = page.index("Copia per il cliente\nGrazie per l&#x27;acquisto")
    bottom = page.index(foot)
    assert top < page.index("Dati di trasmissione") < page.index(html.escape(display_name(invoice.supplier)))
    assert bottom > page.index("Dati di pagamento") > top
    assert "Copia per il cliente" not in render_html(invoice.xml)
    data = render_pdf(invoice.xml, head_notes=head, foot_notes=foot)
    text = pdf_text(data)
    assert text.index("Copia per il cliente") < text.index("Dati di trasmissione")
    assert text.index(foot) > text.index(italian(invoice.total))


# -- bad input -------------------------------------------------------------------------------------

GARBAGE: list[Any] = [
    b"",
    b"   \n",
    b"not xml at all",
    b"\x00\x01\x02\xff\xfe",
    b"<FatturaElettronica>",
    b"<root/>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    f'<p:FatturaElettronica xmlns:p="{FATTURAPA_NS}" versione="FPR12"><![CDATA['.encode(),
    b"%PDF-1.4 this is a pdf, not an invoice",
    b"<" + b"a" * (DEFAULT_MAX_BYTES + 1),
    "<FatturaElettronica/>",
    None,
    12345,
]


@pytest.mark.parametrize("data", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError):
        render_html(data)
    with pytest.raises(ValueError):
        render_pdf(data)


def test_an_empty_invoice_skeleton_still_renders() -> None:
    xml = f'<p:FatturaElettronica xmlns:p="{FATTURAPA_NS}" versione="FPR12"/>'.encode()
    assert "Nessun corpo fattura" in render_html(xml)
    assert_valid_pdf(render_pdf(xml))


_BASE = generate(21, document_type="TD06", line_count=4).xml


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_mangled_bytes_render_or_raise_value_error(data: st.DataObject) -> None:
    raw = bytearray(_BASE)
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(raw) - 1))
        end = data.draw(st.integers(start, min(len(raw), start + 40)))
        raw[start:end] = data.draw(st.binary(max_size=8))
    for renderer in (render_html, render_pdf):
        with contextlib.suppress(ValueError):  # anything else fails the test
            renderer(bytes(raw))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_missing_or_odd_elements_are_tolerated(data: st.DataObject) -> None:
    """Dropping any elements or putting any Latin-1 text in them never stops the rendering."""
    root = etree.fromstring(_BASE)
    elements = [e for e in root.iter() if e is not root]
    for element in data.draw(st.lists(st.sampled_from(elements), max_size=6, unique=True)):
        if data.draw(st.booleans()):
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)
        else:
            element.text = data.draw(st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=30))
    xml = etree.tostring(root, encoding="UTF-8")
    assert render_html(xml).startswith("<!DOCTYPE html>")
    assert render_pdf(xml).startswith(b"%PDF-")


# -- formatting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.56", "1.234,56"),
        ("1234567.5", "1.234.567,50"),
        ("0.5", "0,50"),
        ("0", "0,00"),
        ("-12.3", "-12,30"),
        ("-1234.00", "-1.234,00"),
        ("1.23456789", "1,23456789"),
        ("3.000", "3,00"),
        ("122.50000000", "122,50"),
        (Decimal("1E+3"), "1.000,00"),
        ("abc", "abc"),
        (None, ""),
    ],
)
def test_format_amount(value: str | Decimal | None, expected: str) -> None:
    assert format_amount(value) == expected


def test_format_date() -> None:
    assert format_date("2024-03-15") == "15/03/2024"
    assert format_date("2024-03-15+01:00") == "15/03/2024"
    assert format_date("15 marzo") == "15 marzo"
    assert format_date(None) == ""


# -- size and speed --------------------------------------------------------------------------------

_WORDS = [
    *("attività", "manutenzione", "ordinaria", "straordinaria", "dell'impianto", "riscaldamento", "però"),
    *("più", "città", "qualità", "sicurezza", "verifica", "periodica", "fornitura", "materiale", "quadro"),
]


def _big_invoice() -> bytes:
    """~4.9 MB: 2000 lines with 1000-character descriptions, article codes and management data."""
    root = etree.fromstring(generate(31, document_type="TD01", line_count=2000).xml)
    for index, line in enumerate(root.iter("DettaglioLinee")):
        description = line.find("Descrizione")
        assert description is not None
        words = [_WORDS[(index * 7 + k * 3) % len(_WORDS)] for k in range(200)]
        description.text = f"Riga {index + 1}: " + " ".join(words)
        description.text = description.text[:1000]
        for kind in ("EAN", "SKU"):
            description.addprevious(
                etree.fromstring(
                    f"<CodiceArticolo><CodiceTipo>{kind}</CodiceTipo>"
                    f"<CodiceValore>{kind}-{index:08d}-{'X' * 20}</CodiceValore></CodiceArticolo>"
                )
            )
        for k in range(4):
            line.append(
                etree.fromstring(
                    f"<AltriDatiGestionali><TipoDato>DATO{k}</TipoDato>"
                    f"<RiferimentoTesto>{'Riferimento gestionale interno ' * 2}</RiferimentoTesto>"
                    f"<RiferimentoNumero>{index}.00</RiferimentoNumero></AltriDatiGestionali>"
                )
            )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_5mb_invoice_with_2000_lines_renders_quickly() -> None:
    xml = _big_invoice()
    assert 4_500_000 < len(xml) <= DEFAULT_MAX_BYTES
    total = Decimal(etree.fromstring(xml).findtext(".//ImportoTotaleDocumento") or "")

    started = time.perf_counter()
    page = render_html(xml)
    html_seconds = time.perf_counter() - started
    started = time.perf_counter()
    data = render_pdf(xml)
    pdf_seconds = time.perf_counter() - started

    print(f"\n5 MB invoice ({len(xml)} bytes): html {html_seconds:.2f}s, pdf {pdf_seconds:.2f}s")
    assert html_seconds < 5, html_seconds
    assert pdf_seconds < 5, pdf_seconds
    assert page.count('<tr><td class="num">') >= 2000
    assert "Riga 1: " in page and "Riga 2000: " in page
    assert italian(total) in page
    reader = assert_valid_pdf(data)
    assert len(reader.pages) > 50
    assert italian(total) in compact(pdf_text(data, slice(-3, None)))
    assert "Riga 1:" in pdf_text(data, slice(0, 2))
