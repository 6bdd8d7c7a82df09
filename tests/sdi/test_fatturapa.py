from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from emulator.core.xmlsafe import parse_xml
from emulator.sdi.fatturapa import (
    FATTURAPA_NS,
    FSM_NS,
    Discount,
    NotAnInvoiceError,
    ParsedInvoice,
    Party,
    parse_invoice,
)

from .reference import B2B_REAL, OFFICIAL, read_sample

FSM_INVOICE = f"""<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronicaSemplificata xmlns:p="{FSM_NS}" versione="FSM10">
  <FatturaElettronicaHeader>
    <DatiTrasmissione>
      <IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>03339130126</IdCodice></IdTrasmittente>
      <ProgressivoInvio>00001</ProgressivoInvio>
      <FormatoTrasmissione>FSM10</FormatoTrasmissione>
      <CodiceDestinatario>0000000</CodiceDestinatario>
    </DatiTrasmissione>
    <CedentePrestatore>
      <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>03339130126</IdCodice></IdFiscaleIVA>
      <Denominazione>BAR SPORT SRL</Denominazione>
      <Sede>
        <Indirizzo>VIA ROMA 1</Indirizzo><CAP>16100</CAP><Comune>GENOVA</Comune><Nazione>IT</Nazione>
      </Sede>
      <RegimeFiscale>RF01</RegimeFiscale>
    </CedentePrestatore>
    <CessionarioCommittente>
      <IdentificativiFiscali><CodiceFiscale>RSSMRA80A01H501U</CodiceFiscale></IdentificativiFiscali>
      <AltriDatiIdentificativi>
        <Nome>MARIO</Nome><Cognome>ROSSI</Cognome>
        <Sede>
          <Indirizzo>VIA VERDI 2</Indirizzo><CAP>00100</CAP><Comune>ROMA</Comune><Nazione>IT</Nazione>
        </Sede>
      </AltriDatiIdentificativi>
    </CessionarioCommittente>
  </FatturaElettronicaHeader>
  <FatturaElettronicaBody>
    <DatiGenerali>
      <DatiGeneraliDocumento>
        <TipoDocumento>TD07</TipoDocumento><Divisa>EUR</Divisa><Data>2024-03-01</Data><Numero>S-1</Numero>
      </DatiGeneraliDocumento>
    </DatiGenerali>
    <DatiBeniServizi>
      <Descrizione>CONSUMAZIONI</Descrizione><Importo>12.20</Importo><DatiIVA><Aliquota>22.00</Aliquota></DatiIVA>
    </DatiBeniServizi>
    <DatiBeniServizi>
      <Descrizione>GIORNALE</Descrizione><Importo>1.50</Importo><DatiIVA><Imposta>0.00</Imposta></DatiIVA>
      <Natura>N2.2</Natura>
    </DatiBeniServizi>
  </FatturaElettronicaBody>
</p:FatturaElettronicaSemplificata>
""".encode()


def _official(name: str) -> ParsedInvoice:
    return parse_invoice(parse_xml(read_sample(OFFICIAL / name)))


def test_official_fpr01_is_read_completely() -> None:
    invoice = _official("IT01234567890_FPR01.xml")
    assert invoice.versione == "FPR12"
    assert invoice.namespace == FATTURAPA_NS
    assert not invoice.simplified
    assert invoice.transmitter == Party(country="IT", vat="01234567890", fiscal_code=None, name=None)
    assert invoice.progressive == "00001"
    assert invoice.transmission_format == "FPR12"
    assert invoice.recipient_code == "ABC1234"
    assert invoice.recipient_pec is None
    assert invoice.supplier == Party(
        country="IT", vat="01234567890", fiscal_code=None, name="SOCIETA' ALPHA SRL"
    )
    assert invoice.customer == Party(country=None, vat=None, fiscal_code="09876543210", name="DITTA BETA")
    assert invoice.issuer_role is None
    assert not invoice.is_pa
    assert invoice.owner == invoice.supplier
    body = invoice.first_body
    assert body is not None and len(invoice.bodies) == 1
    assert (body.document_type, body.currency, body.date, body.number) == ("TD01", "EUR", "2014-12-18", "123")
    assert body.parsed_date == date(2014, 12, 18)
    assert body.total is None
    assert len(body.causale) == 2 and body.causale[1].startswith("SEGUE DESCRIZIONE")
    (line,) = body.lines
    assert line.number == 1
    assert line.description == "DESCRIZIONE DELLA FORNITURA"
    assert (line.quantity, line.unit_price, line.total_price) == (
        Decimal("5.00"),
        Decimal("1.00"),
        Decimal("5.00"),
    )
    assert (line.vat_rate_text, line.vat_rate, line.nature) == ("22.00", Decimal("22"), None)
    (summary,) = body.summaries
    assert (summary.vat_rate_text, summary.taxable, summary.tax) == (
        "22.00",
        Decimal("5.00"),
        Decimal("1.10"),
    )


def test_official_fpr02_has_pec_and_no_channel() -> None:
    invoice = _official("IT01234567890_FPR02.xml")
    assert invoice.recipient_code == "0000000"
    assert invoice.recipient_pec == "betagamma@pec.it"


def test_official_fpr03_has_two_bodies_and_a_line_without_quantity() -> None:
    invoice = _official("IT01234567890_FPR03.xml")
    assert [b.number for b in invoice.bodies] == ["123", "456"]
    assert len(invoice.bodies[0].lines) == 2
    line = invoice.bodies[1].lines[0]
    assert line.quantity is None
    assert line.total_price == Decimal("2000.00")


def test_missing_supplier_is_tolerated() -> None:
    invoice = _official("missing_CedentePrestatore.xml")
    assert invoice.supplier == Party(country=None, vat=None, fiscal_code=None, name=None)
    assert invoice.customer.fiscal_code == "09876543210"


def test_real_b2b_invoice_with_person_customer() -> None:
    invoice = parse_invoice(parse_xml(read_sample(B2B_REAL / "IT03339130126_00009.xml")))
    assert invoice.transmitter.vat == "BTTLNZ82D13D969U"
    assert invoice.supplier.fiscal_code == "BTTLNZ82D13D969U"
    assert invoice.customer == Party(country=None, vat=None, fiscal_code="BTTLNZ82D13D969U", name="f c1")
    body = invoice.first_body
    assert body is not None and body.total == Decimal("1.22") and body.number == "INV/2018/0003"


def test_self_billing_owner_is_the_customer() -> None:
    root = etree.fromstring(read_sample(OFFICIAL / "IT01234567890_FPR01.xml"))
    header = root.find("FatturaElettronicaHeader")
    assert header is not None
    etree.SubElement(header, "SoggettoEmittente").text = "CC"
    invoice = parse_invoice(root)
    assert invoice.issuer_role == "CC"
    assert invoice.owner == invoice.customer


def test_pa_invoice() -> None:
    root = etree.fromstring(read_sample(OFFICIAL / "IT01234567890_FPR01.xml"))
    root.set("versione", "FPA12")
    assert parse_invoice(root).is_pa


def test_discounts_are_read() -> None:
    xml = f"""<p:FatturaElettronica xmlns:p="{FATTURAPA_NS}" versione="FPR12"><FatturaElettronicaBody>
      <DatiBeniServizi><DettaglioLinee><NumeroLinea>1</NumeroLinea><PrezzoUnitario>10.00</PrezzoUnitario>
        <ScontoMaggiorazione><Tipo>SC</Tipo><Percentuale>10.00</Percentuale></ScontoMaggiorazione>
        <ScontoMaggiorazione><Tipo>MG</Tipo><Importo>1.00</Importo></ScontoMaggiorazione>
        <PrezzoTotale>10.00</PrezzoTotale><AliquotaIVA>22.00</AliquotaIVA></DettaglioLinee></DatiBeniServizi>
    </FatturaElettronicaBody></p:FatturaElettronica>"""
    body = parse_invoice(parse_xml(xml.encode())).first_body
    assert body is not None
    assert body.lines[0].discounts == (
        Discount(kind="SC", percentage=Decimal("10.00"), amount=None),
        Discount(kind="MG", percentage=None, amount=Decimal("1.00")),
    )


def test_simplified_invoice() -> None:
    invoice = parse_invoice(parse_xml(FSM_INVOICE))
    assert invoice.simplified
    assert invoice.versione == "FSM10"
    assert invoice.namespace == FSM_NS
    assert invoice.supplier == Party(country="IT", vat="03339130126", fiscal_code=None, name="BAR SPORT SRL")
    assert invoice.customer == Party(
        country=None, vat=None, fiscal_code="RSSMRA80A01H501U", name="MARIO ROSSI"
    )
    body = invoice.first_body
    assert body is not None
    assert (body.document_type, body.number, body.parsed_date) == ("TD07", "S-1", date(2024, 3, 1))
    assert [(ln.number, ln.total_price, ln.vat_rate, ln.nature) for ln in body.lines] == [
        (1, Decimal("12.20"), Decimal("22.00"), None),
        (2, Decimal("1.50"), None, "N2.2"),
    ]
    assert body.total == Decimal("13.70")
    assert body.summaries == ()


def test_empty_invoice_root_gives_empty_values() -> None:
    invoice = parse_invoice(parse_xml(f'<p:FatturaElettronica xmlns:p="{FATTURAPA_NS}"/>'.encode()))
    assert invoice.versione == ""
    assert invoice.bodies == ()
    assert invoice.first_body is None
    assert invoice.transmitter == Party(None, None, None, None)
    assert invoice.supplier == invoice.customer == Party(None, None, None, None)
    assert invoice.progressive is invoice.recipient_code is invoice.transmission_format is None


def test_odd_values_never_raise() -> None:
    xml = f"""<FatturaElettronica xmlns="{FATTURAPA_NS}" versione=" FPR12 ">
      <FatturaElettronicaHeader><DatiTrasmissione><IdTrasmittente/><CodiceDestinatario> </CodiceDestinatario>
      </DatiTrasmissione><CedentePrestatore><DatiAnagrafici><Anagrafica><Nome>ANNA</Nome></Anagrafica>
      </DatiAnagrafici></CedentePrestatore></FatturaElettronicaHeader>
      <FatturaElettronicaBody><!-- a comment --><DatiGenerali><DatiGeneraliDocumento><Data>18/12/2014</Data>
        <ImportoTotaleDocumento>NaN</ImportoTotaleDocumento><Causale/></DatiGeneraliDocumento></DatiGenerali>
        <DatiBeniServizi><DettaglioLinee><NumeroLinea>uno</NumeroLinea><Quantita>x</Quantita>
          <AliquotaIVA>ventidue</AliquotaIVA></DettaglioLinee><DatiRiepilogo/></DatiBeniServizi>
      </FatturaElettronicaBody></FatturaElettronica>"""
    invoice = parse_invoice(parse_xml(xml.encode()))
    assert invoice.versione == "FPR12"
    assert invoice.recipient_code is None
    assert invoice.supplier.name == "ANNA"
    body = invoice.first_body
    assert body is not None
    assert (body.date, body.parsed_date, body.total, body.causale) == ("18/12/2014", None, None, ())
    line = body.lines[0]
    assert (line.number, line.quantity, line.vat_rate, line.vat_rate_text) == (None, None, None, "ventidue")
    assert line.unit_price == line.total_price == Decimal(0)
    assert body.summaries[0].vat_rate is None and body.summaries[0].vat_rate_text == ""


def test_invoice_without_namespace_is_read() -> None:
    invoice = parse_invoice(parse_xml(b'<FatturaElettronica versione="FPR12"/>'))
    assert invoice.namespace == ""


@pytest.mark.parametrize(
    "xml",
    [
        b"<foo/>",
        b'<p:FatturaElettronica xmlns:p="urn:not-the-sdi" versione="FPR12"/>',
        b'<x:Fattura xmlns:x="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"/>',
    ],
)
def test_not_an_invoice(xml: bytes) -> None:
    with pytest.raises(NotAnInvoiceError, match="not FatturaElettronica"):
        parse_invoice(parse_xml(xml))


def test_a_notification_is_not_an_invoice() -> None:
    with pytest.raises(NotAnInvoiceError):
        parse_invoice(parse_xml(read_sample(OFFICIAL / "IT01234567890_11111_NS_001.xml")))


def test_not_an_invoice_is_a_value_error() -> None:
    assert issubclass(NotAnInvoiceError, ValueError)
