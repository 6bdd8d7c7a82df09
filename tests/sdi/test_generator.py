from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from lxml import etree
from stdnum import iban
from stdnum.it import codicefiscale, iva

from emulator.sdi.fatturapa import FATTURAPA_NS
from emulator.sdi.generator import (
    DOCUMENT_TYPES,
    GeneratedInvoice,
    InvoiceGenerator,
    PartySpec,
    company_vat_number,
    personal_fiscal_code,
)

from .reference import XSD_DIR, require

ISSUE_DATE = dt.date(2024, 3, 15)
XMLDSIG_URL = "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd"
CENT = Decimal("0.01")
ACCOUNT_CUSTOMER = PartySpec(vat="09382170158", name="Sandbox Software S.r.l.")
CONSUMER = PartySpec(fiscal_code="BNCMRC78E14F205D", first_name="Marco", last_name="Bianchi")
SUPPLIER = PartySpec(vat="14725830377", fiscal_code="14725830377", name="Trasporti Emiliani S.r.l.")


@dataclass(frozen=True)
class Case:
    seed: int
    kwargs: dict[str, Any] = field(default_factory=dict)


def make_cases() -> list[Case]:
    """200 invoices: every document type, PA and B2B, invented and given parties, PEC, line counts."""
    cases = []
    for seed in range(200):
        kwargs: dict[str, Any] = {"pa": seed % 4 == 0, "document_type": (None, *DOCUMENT_TYPES)[seed % 7]}
        if seed % 5 == 1:
            kwargs["customer"] = ACCOUNT_CUSTOMER
            kwargs["recipient_code"] = "UFE7T2" if kwargs["pa"] else "DTI1I04"
        if seed % 10 == 3:
            kwargs["customer"] = CONSUMER
        if seed % 9 == 2:
            kwargs["supplier"] = SUPPLIER
        if seed % 8 == 5 and not kwargs["pa"]:
            kwargs["recipient_pec"] = "amministrazione@pec.example.com"
        if seed % 6 == 4:
            kwargs["line_count"] = 1 + seed % 12
        cases.append(Case(seed, kwargs))
    return cases


CASES = make_cases()


@pytest.fixture(scope="module")
def invoices() -> list[tuple[Case, GeneratedInvoice, etree._Element]]:
    result = []
    for case in CASES:
        invoice = InvoiceGenerator(case.seed).generate(issue_date=ISSUE_DATE, **case.kwargs)
        result.append((case, invoice, etree.fromstring(invoice.xml)))
    return result


class _LocalXmldsig(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        if system_url == XMLDSIG_URL:
            return self.resolve_filename(str(XSD_DIR / "xmldsig-core-schema.xsd"), context)  # type: ignore[attr-defined]
        return None


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    path = require(XSD_DIR / "Schema_del_file_xml_FatturaPA_v1.2.3.xsd")
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalXmldsig())
    return etree.XMLSchema(etree.parse(str(path), parser))


def money(text: str | None) -> Decimal:
    assert text is not None
    return Decimal(text)


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# -- validity -----------------------------------------------------------------------------------


def test_every_invoice_is_valid_against_the_official_schema(
    schema: etree.XMLSchema, invoices: list[tuple[Case, GeneratedInvoice, etree._Element]]
) -> None:
    failures = [
        f"seed {case.seed} {case.kwargs}: {str(schema.error_log)[:300]}"
        for case, _, root in invoices
        if not schema.validate(root)
    ]
    assert not failures, "\n".join(failures[:5])


def test_the_cases_cover_every_document_type_and_both_formats(
    invoices: list[tuple[Case, GeneratedInvoice, etree._Element]],
) -> None:
    kinds = Counter((inv.document_type, root.get("versione")) for _, inv, root in invoices)
    assert {k for k, _ in kinds} == set(DOCUMENT_TYPES)
    assert {v for _, v in kinds} == {"FPA12", "FPR12"}
    defaulted = Counter(
        inv.document_type for case, inv, _ in invoices if case.kwargs["document_type"] is None
    )
    assert defaulted.most_common(1)[0][0] == "TD01"


def test_every_fiscal_id_is_valid(invoices: list[tuple[Case, GeneratedInvoice, etree._Element]]) -> None:
    for case, _, root in invoices:
        for element in root.iter("IdFiscaleIVA", "IdTrasmittente"):
            assert element.findtext("IdPaese") == "IT"
            assert iva.is_valid(element.findtext("IdCodice") or ""), (case.seed, etree.tostring(element))
        for code in root.iter("CodiceFiscale"):
            assert codicefiscale.is_valid(code.text or ""), (case.seed, code.text)
        for account in root.iter("IBAN"):
            assert iban.is_valid(account.text or ""), (case.seed, account.text)


def test_lines_summaries_and_totals_add_up(
    invoices: list[tuple[Case, GeneratedInvoice, etree._Element]],
) -> None:
    for case, invoice, root in invoices:
        body = root.find("FatturaElettronicaBody")
        assert body is not None
        by_rate: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
        for line in body.iter("DettaglioLinee"):
            assert_line_total(line)
            by_rate[line.findtext("AliquotaIVA") or "", line.findtext("Natura")] += money(
                line.findtext("PrezzoTotale")
            )
        total = Decimal(0)
        for summary in body.iter("DatiRiepilogo"):
            key = (summary.findtext("AliquotaIVA") or "", summary.findtext("Natura"))
            taxable, tax = money(summary.findtext("ImponibileImporto")), money(summary.findtext("Imposta"))
            assert by_rate.pop(key) == taxable, (case.seed, key)
            assert tax == half_up(taxable * Decimal(key[0]) / 100), (case.seed, key)
            total += taxable + tax
        assert not by_rate, f"seed {case.seed}: no DatiRiepilogo for {set(by_rate)}"
        assert money(body.findtext("DatiGenerali/DatiGeneraliDocumento/ImportoTotaleDocumento")) == total
        assert invoice.total == total
        assert_payment(body, total)


def assert_line_total(line: etree._Element) -> None:
    price = money(line.findtext("PrezzoUnitario"))
    for discount in line.iter("ScontoMaggiorazione"):
        assert discount.findtext("Tipo") == "SC"
        price = price * (100 - money(discount.findtext("Percentuale"))) / 100
    quantity = Decimal(line.findtext("Quantita") or "1")
    assert money(line.findtext("PrezzoTotale")) == half_up(price * quantity)


def assert_payment(body: etree._Element, total: Decimal) -> None:
    payments = body.findall("DatiPagamento")
    if body.findtext("DatiGenerali/DatiGeneraliDocumento/TipoDocumento") == "TD04":
        assert not payments
        return
    [payment] = payments
    due = total - money(
        body.findtext("DatiGenerali/DatiGeneraliDocumento/DatiRitenuta/ImportoRitenuta") or "0"
    )
    due -= sum(
        (
            money(s.findtext("Imposta"))
            for s in body.iter("DatiRiepilogo")
            if s.findtext("EsigibilitaIVA") == "S"
        ),
        Decimal(0),
    )
    assert sum(money(d.findtext("ImportoPagamento")) for d in payment.iter("DettaglioPagamento")) == due


def test_rates_and_natures(invoices: list[tuple[Case, GeneratedInvoice, etree._Element]]) -> None:
    natures: Counter[str] = Counter()
    for _, _, root in invoices:
        for element in root.iter("DettaglioLinee", "DatiRiepilogo"):
            rate, nature = element.findtext("AliquotaIVA"), element.findtext("Natura")
            assert rate in {"22.00", "10.00", "4.00", "0.00"}
            assert (rate == "0.00") == (nature is not None)
            if nature is not None:
                natures[nature] += 1
                assert nature not in {"N2", "N3", "N6"}, "generic natures are gone since 2021"
    assert len(natures) >= 4


def test_withholding_tax_only_on_parcels_with_withheld_lines(
    invoices: list[tuple[Case, GeneratedInvoice, etree._Element]],
) -> None:
    seen = 0
    for _, _, root in invoices:
        withheld = [line for line in root.iter("DettaglioLinee") if line.findtext("Ritenuta") == "SI"]
        data = root.find(".//DatiRitenuta")
        assert (data is not None) == bool(withheld)
        if data is not None:
            seen += 1
            base = sum(money(line.findtext("PrezzoTotale")) for line in withheld)
            assert money(data.findtext("ImportoRitenuta")) == half_up(base * Decimal("0.20"))
    assert seen


# -- header -------------------------------------------------------------------------------------


def test_file_name_and_transmission_data(
    invoices: list[tuple[Case, GeneratedInvoice, etree._Element]],
) -> None:
    for case, invoice, root in invoices:
        data = root.find("FatturaElettronicaHeader/DatiTrasmissione")
        assert data is not None
        country, code = data.findtext("IdTrasmittente/IdPaese"), data.findtext("IdTrasmittente/IdCodice")
        progressive = data.findtext("ProgressivoInvio")
        assert invoice.file_name == f"{country}{code}_{progressive}.xml"
        assert re.fullmatch(r"IT[0-9]{11}_[A-Za-z0-9]{5}\.xml", invoice.file_name)
        recipient = data.findtext("CodiceDestinatario") or ""
        assert invoice.recipient_code == recipient
        if case.kwargs["pa"]:
            assert root.get("versione") == data.findtext("FormatoTrasmissione") == "FPA12"
            assert len(recipient) == 6 and data.find("PECDestinatario") is None
        else:
            assert root.get("versione") == data.findtext("FormatoTrasmissione") == "FPR12"
            assert len(recipient) == 7
        if "recipient_pec" in case.kwargs and "recipient_code" not in case.kwargs:
            assert (recipient, data.findtext("PECDestinatario")) == ("0000000", case.kwargs["recipient_pec"])


def test_given_parties_are_used(invoices: list[tuple[Case, GeneratedInvoice, etree._Element]]) -> None:
    for case, invoice, root in invoices:
        customer = root.find("FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici")
        supplier = root.find("FatturaElettronicaHeader/CedentePrestatore/DatiAnagrafici")
        assert customer is not None and supplier is not None
        if case.kwargs.get("customer") is ACCOUNT_CUSTOMER:
            assert customer.findtext("IdFiscaleIVA/IdCodice") == "09382170158"
            assert customer.findtext("Anagrafica/Denominazione") == "Sandbox Software S.r.l."
            assert invoice.customer.vat == "09382170158" and invoice.customer.city
            assert invoice.recipient_code == ("UFE7T2" if case.kwargs["pa"] else "DTI1I04")
        if case.kwargs.get("customer") is CONSUMER:
            assert customer.find("IdFiscaleIVA") is None
            assert customer.findtext("CodiceFiscale") == "BNCMRC78E14F205D"
            assert customer.findtext("Anagrafica/Cognome") == "Bianchi"
        if case.kwargs.get("supplier") is SUPPLIER:
            assert supplier.findtext("IdFiscaleIVA/IdCodice") == "14725830377"
            assert invoice.supplier.name == "Trasporti Emiliani S.r.l."


def test_the_returned_parties_describe_the_xml(
    invoices: list[tuple[Case, GeneratedInvoice, etree._Element]],
) -> None:
    for _, invoice, root in invoices:
        seller = root.find("FatturaElettronicaHeader/CedentePrestatore")
        assert seller is not None
        assert invoice.supplier.vat == seller.findtext("DatiAnagrafici/IdFiscaleIVA/IdCodice")
        assert invoice.supplier.zip == seller.findtext("Sede/CAP")
        assert invoice.number == root.findtext(".//DatiGeneraliDocumento/Numero")
        assert invoice.date.isoformat() == root.findtext(".//DatiGeneraliDocumento/Data")
        assert invoice.document_type == root.findtext(".//DatiGeneraliDocumento/TipoDocumento")


def test_document_type_specific_data(invoices: list[tuple[Case, GeneratedInvoice, etree._Element]]) -> None:
    for case, invoice, root in invoices:
        general = root.find("FatturaElettronicaBody/DatiGenerali")
        assert general is not None
        linked = general.find("DatiFattureCollegate")
        assert (linked is not None) == (invoice.document_type in {"TD04", "TD05"}), case.seed
        assert (general.find("DatiDDT") is not None) == (invoice.document_type == "TD24"), case.seed
        for element in general.iter("DatiFattureCollegate", "DatiDDT"):
            date_text = element.findtext("Data") or element.findtext("DataDDT") or ""
            assert dt.date.fromisoformat(date_text) < ISSUE_DATE
        if case.kwargs["pa"]:
            assert (
                general.find("DatiOrdineAcquisto/CodiceCIG") is not None
                or general.find("DatiContratto/CodiceCIG") is not None
            )


def test_the_invoices_pass_the_sandbox_sdi_checks(
    invoices: list[tuple[Case, GeneratedInvoice, etree._Element]],
) -> None:
    from emulator.sdi.validation import SdiValidator

    validator = SdiValidator(require(XSD_DIR))
    received = dt.datetime(2024, 3, 16, 10, 0, tzinfo=dt.UTC)
    for case, invoice, _ in invoices[::4]:
        errors = validator.validate(
            invoice.file_name,
            invoice.xml,
            received_at=received,
            is_duplicate_file_name=lambda _: False,
            is_duplicate_invoice=lambda *_: False,
        )
        assert errors == [], (case.seed, errors)


# -- arguments ----------------------------------------------------------------------------------


def test_same_seed_same_invoices() -> None:
    first, second = InvoiceGenerator(42), InvoiceGenerator(42)
    for _ in range(3):
        assert first.generate(issue_date=ISSUE_DATE).xml == second.generate(issue_date=ISSUE_DATE).xml
    assert (
        InvoiceGenerator(42).generate(issue_date=ISSUE_DATE).xml
        != InvoiceGenerator(43).generate(issue_date=ISSUE_DATE).xml
    )


def test_successive_invoices_differ() -> None:
    generator = InvoiceGenerator(7)
    names = {generator.generate(issue_date=ISSUE_DATE, supplier=SUPPLIER).file_name for _ in range(20)}
    assert len(names) == 20


def test_explicit_header_values() -> None:
    invoice = InvoiceGenerator(1).generate(
        issue_date=ISSUE_DATE,
        document_type="TD01",
        number="2024/FV/0042",
        transmitter=("IT", "RSSMRA80A01H501U"),
        progressive="a1B2c",
        recipient_code="ABC1234",
        line_count=12,
        causale="Fornitura " * 50,
    )
    root = etree.fromstring(invoice.xml)
    assert invoice.file_name == "ITRSSMRA80A01H501U_a1B2c.xml"
    assert root.findtext(".//DatiTrasmissione/IdTrasmittente/IdCodice") == "RSSMRA80A01H501U"
    assert root.findtext(".//CodiceDestinatario") == "ABC1234"
    assert root.findtext(".//DatiGeneraliDocumento/Numero") == invoice.number == "2024/FV/0042"
    assert len(root.findall(".//DettaglioLinee")) == 12
    causali = [c.text or "" for c in root.iter("Causale")]
    assert len(causali) == 3 and all(len(c) <= 200 for c in causali)
    assert root.tag == f"{{{FATTURAPA_NS}}}FatturaElettronica"


def test_pa_invoice_uses_the_given_office_code() -> None:
    invoice = InvoiceGenerator(3).generate(issue_date=ISSUE_DATE, pa=True, recipient_code="UFE7T2")
    root = etree.fromstring(invoice.xml)
    assert (root.get("versione"), root.findtext(".//CodiceDestinatario")) == ("FPA12", "UFE7T2")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"document_type": "TD99"},
        {"number": ""},
        {"number": "X" * 21},
        {"progressive": "123456"},
        {"progressive": "12_3"},
        {"recipient_code": "abc1234"},
        {"recipient_code": "12345"},
        {"transmitter": ("it", "01234567890")},
        {"line_count": 0},
        {"causale": "Fattura € 100"},
    ],
)
def test_arguments_that_cannot_be_valid_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        InvoiceGenerator(0).generate(issue_date=ISSUE_DATE, **kwargs)


# -- fiscal ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "first", "born", "female", "place", "expected"),
    [
        ("Ricci", "Emanuele", dt.date(1983, 11, 18), False, "D969", "RCCMNL83S18D969H"),
        ("Conti", "Chiara", dt.date(1983, 12, 1), True, "D969", "CNTCHR83T41D969D"),
    ],
)
def test_personal_fiscal_code_matches_known_codes(
    last: str, first: str, born: dt.date, female: bool, place: str, expected: str
) -> None:
    assert personal_fiscal_code(last, first, born, female=female, birthplace=place) == expected


def test_personal_fiscal_code_name_rules() -> None:
    code = personal_fiscal_code("Fo", "Gianfranco", dt.date(1990, 1, 2), female=False, birthplace="H501")
    assert code[:6] == "FOXGFR"  # short surname padded with X; 4+ consonants: 1st, 3rd, 4th
    assert (
        personal_fiscal_code("D'Amico", "Zoè", dt.date(1990, 1, 2), female=True, birthplace="H501")[:6]
        == "DMCZOE"
    )
    assert codicefiscale.is_valid(code)


def test_company_vat_number() -> None:
    assert company_vat_number(1234567, "058")[:10] == "1234567058"
    assert all(iva.is_valid(company_vat_number(serial, "015")) for serial in range(1, 2000, 37))
    with pytest.raises(ValueError):
        company_vat_number(0, "015")
