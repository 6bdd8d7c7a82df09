from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from emulator.sdi.fatturapa import Body, ParsedInvoice
from emulator.sdi.validation import (
    ERROR_CATALOGUE,
    SdiError,
    SdiValidator,
    check_file_name,
    describe,
    load_fatturapa_schema,
    load_fsm_schema,
    structural_error,
)

from .reference import B2B_REAL, OFFICIAL, XSD_DIR, read_sample, require
from .test_fatturapa import FSM_INVOICE

RECEIVED = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
FPR01 = "IT01234567890_FPR01.xml"
NAME = "IT01234567890_00001.xml"

Mutation = Callable[[etree._Element], None]

# -- helpers --------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["xsd", "structural"])
def validator(request: pytest.FixtureRequest) -> SdiValidator:
    """Every semantic check must behave the same with the official XSD and without it."""
    if request.param == "xsd":
        return SdiValidator(require(XSD_DIR))
    return SdiValidator(None)


@pytest.fixture(scope="module")
def xsd_validator() -> SdiValidator:
    return SdiValidator(require(XSD_DIR))


@pytest.fixture(scope="module")
def plain_validator() -> SdiValidator:
    return SdiValidator(None)


def run(
    validator: SdiValidator,
    content: bytes,
    name: str = NAME,
    *,
    received_at: datetime = RECEIVED,
    duplicate_name: bool = False,
    duplicate_invoice: bool = False,
) -> list[SdiError]:
    return validator.validate(
        name,
        content,
        received_at=received_at,
        is_duplicate_file_name=lambda _: duplicate_name,
        is_duplicate_invoice=lambda _p, _b: duplicate_invoice,
    )


def mutate(*mutations: Mutation, sample: str = FPR01) -> bytes:
    root = etree.fromstring(read_sample(OFFICIAL / sample))
    for mutation in mutations:
        mutation(root)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def at(root: etree._Element, path: str) -> etree._Element:
    found = root.find(path)
    assert found is not None, path
    return found


HEADER = "FatturaElettronicaHeader"
TRANSMISSION = f"{HEADER}/DatiTrasmissione"
SUPPLIER = f"{HEADER}/CedentePrestatore/DatiAnagrafici"
CUSTOMER = f"{HEADER}/CessionarioCommittente/DatiAnagrafici"
DOCUMENT = "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento"
GOODS = "FatturaElettronicaBody/DatiBeniServizi"
LINE = f"{GOODS}/DettaglioLinee"
SUMMARY = f"{GOODS}/DatiRiepilogo"


def set_text(path: str, value: str) -> Mutation:
    def apply(root: etree._Element) -> None:
        at(root, path).text = value

    return apply


def remove(path: str) -> Mutation:
    def apply(root: etree._Element) -> None:
        element = at(root, path)
        parent = element.getparent()
        assert parent is not None
        parent.remove(element)

    return apply


def insert_after(path: str, xml: str) -> Mutation:
    def apply(root: etree._Element) -> None:
        at(root, path).addnext(etree.fromstring(xml))

    return apply


def insert_before(path: str, xml: str) -> Mutation:
    def apply(root: etree._Element) -> None:
        at(root, path).addprevious(etree.fromstring(xml))

    return apply


def same_customer_as_supplier(root: etree._Element) -> None:
    """The customer gets the supplier's IdFiscaleIVA (IT01234567890): the same subject."""
    insert_before(f"{CUSTOMER}/CodiceFiscale", _id_fiscale("01234567890"))(root)


def _id_fiscale(code: str, country: str = "IT") -> str:
    return f"<IdFiscaleIVA><IdPaese>{country}</IdPaese><IdCodice>{code}</IdCodice></IdFiscaleIVA>"


def _line_xml(number: int, rate: str, nature: str | None = None) -> str:
    natura = f"<Natura>{nature}</Natura>" if nature else ""
    return (
        f"<DettaglioLinee><NumeroLinea>{number}</NumeroLinea><Descrizione>RIGA {number}</Descrizione>"
        "<PrezzoUnitario>10.00</PrezzoUnitario><PrezzoTotale>10.00</PrezzoTotale>"
        f"<AliquotaIVA>{rate}</AliquotaIVA>{natura}</DettaglioLinee>"
    )


def _summary_xml(rate: str, nature: str | None = None, imponibile: str = "20.00") -> str:
    natura = f"<Natura>{nature}</Natura>" if nature else ""
    return (
        f"<DatiRiepilogo><AliquotaIVA>{rate}</AliquotaIVA>{natura}<ImponibileImporto>{imponibile}"
        "</ImponibileImporto><Imposta>0.00</Imposta></DatiRiepilogo>"
    )


def codes(errors: list[SdiError]) -> list[str]:
    return [e.code for e in errors]


def only(errors: list[SdiError]) -> SdiError:
    assert len(errors) == 1, errors
    return errors[0]


# -- valid samples --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample", ["IT01234567890_FPR01.xml", "IT01234567890_FPR02.xml", "IT01234567890_FPR03.xml"]
)
def test_official_samples_pass(validator: SdiValidator, sample: str) -> None:
    assert run(validator, read_sample(OFFICIAL / sample), sample) == []


def test_real_b2b_invoice_passes(validator: SdiValidator) -> None:
    name = "IT03339130126_00009.xml"
    assert run(validator, read_sample(B2B_REAL / name), name) == []


def test_simplified_invoice_passes(validator: SdiValidator) -> None:
    assert run(validator, FSM_INVOICE, "IT03339130126_00001.xml") == []


def test_signed_file_name_and_uploads_with_bom_pass(validator: SdiValidator) -> None:
    content = b"\xef\xbb\xbf\n" + read_sample(OFFICIAL / FPR01)
    assert run(validator, content, "IT01234567890_aB9z1.xml.p7m") == []


# -- the catalogue --------------------------------------------------------------------------------

EXPECTED_TEMPLATES = {
    "00001": "Nome file non valido",
    "00002": "Nome file duplicato",
    "00003": "Le dimensioni del file superano quelle ammesse",
    "00102": "File non integro (firma non valida)",
    "00200": "File non conforme al formato",
    "00311": "1.1.4 <CodiceDestinatario> non valido",
    "00312": "1.1.4 <CodiceDestinatario> non attivo",
    "00404": "Fattura duplicata",
}


def test_catalogue_covers_the_required_codes() -> None:
    required = {
        *("00001", "00002", "00003", "00102", "00200"),
        *("00300", "00301", "00302", "00305", "00306", "00311", "00312"),
        *("00400", "00401", "00403", "00404", "00417", "00419", "00423", "00424", "00425", "00427", "00428"),
        *("00411", "00413", "00415", "00418", "00420", "00429", "00430", "00437", "00438"),
        *("00443", "00444", "00445", "00460", "00471", "00472", "00473", "00474"),
    }
    assert set(required) <= set(ERROR_CATALOGUE)
    for code, (template, suggestion) in ERROR_CATALOGUE.items():
        assert template and suggestion.startswith("Verificare"), code
    for code, template in EXPECTED_TEMPLATES.items():
        assert describe(code).description == template


def test_describe_quotes_the_value_like_the_real_sdi() -> None:
    error = describe("00305", "01100220307")
    assert error == SdiError(
        code="00305",
        description="1.4.1.1.2 <IdCodice> non valido : 01100220307",
        suggestion='Verificare che il campo IdFiscaleIVA/IdCodice del "CessionarioCommittente" sia valido',
    )
    assert describe("00301", None).description == "1.2.1.1.2 <IdCodice> non valido"


def test_describe_unknown_code_raises_key_error() -> None:
    with pytest.raises(KeyError):
        describe("99999")


# -- file checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "IT01234567890_00001.xml",
        "IT01234567890_1.xml",
        "IT01879020517_jtlk1.xml.p7m",
        "ITBTTLNZ82D13D969U_00009.xml",
        "IT01234567890_FPR01.xml",
        "DE123456789_00001.xml",
        "FRAB_1.xml",
    ],
)
def test_valid_file_names(name: str) -> None:
    assert check_file_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "IT0123456789_00001.xml",  # 10 characters: too short for IT
        "IT01234567890123456_00001.xml",  # 17 characters: too long for IT
        "IT01234567890_000001.xml",  # progressive of 6
        "IT01234567890_0000-.xml",
        "IT01234567890-00001.xml",
        "IT01234567890_00001.XML",
        "IT01234567890_00001.p7m",
        "IT01234567890_00001.xml.zip",
        "it01234567890_00001.xml",
        "IT01234567890_00001",
        "dir/IT01234567890_00001.xml",
        "IT01234567890_00001.xml\n",
        "",
    ],
)
def test_invalid_file_names(name: str) -> None:
    assert not check_file_name(name)


def test_00001_invalid_file_name_stops_everything(validator: SdiValidator) -> None:
    errors = run(validator, b"garbage", "fattura.xml", duplicate_name=True)
    assert only(errors).code == "00001"
    assert errors[0].description == "Nome file non valido : fattura.xml"


def test_00002_duplicate_file_name(validator: SdiValidator) -> None:
    errors = run(validator, b"garbage", duplicate_name=True)
    assert only(errors).description == f"Nome file duplicato : {NAME}"


def test_00003_size_is_checked_before_parsing() -> None:
    small = SdiValidator(None, max_bytes=1024)
    assert small.max_bytes == 1024
    errors = run(small, b"\x00" * 1025)
    assert only(errors).code == "00003"
    assert errors[0].description == "Le dimensioni del file superano quelle ammesse"
    assert run(small, b"<a/>" + b" " * 1020) != [describe("00003")]


# -- format checks --------------------------------------------------------------------------------


def test_00200_xsd_message(xsd_validator: SdiValidator) -> None:
    content = read_sample(OFFICIAL / "missing_CedentePrestatore.xml")
    error = only(run(xsd_validator, content))
    assert error.code == "00200"
    assert error.description == (
        "File non conforme al formato : Element 'CessionarioCommittente': This element is not expected. "
        "Expected is ( CedentePrestatore )."
    )


def test_00200_xsd_message_for_element_order(xsd_validator: SdiValidator) -> None:
    def numero_first(root: etree._Element) -> None:
        document = at(root, DOCUMENT)
        document.insert(0, at(root, f"{DOCUMENT}/Numero"))

    error = only(run(xsd_validator, mutate(numero_first)))
    assert error.description == (
        "File non conforme al formato : Element 'Numero': This element is not expected. "
        "Expected is ( TipoDocumento )."
    )


def test_00200_structural_message_without_xsd(plain_validator: SdiValidator) -> None:
    content = read_sample(OFFICIAL / "missing_CedentePrestatore.xml")
    error = only(run(plain_validator, content))
    assert error.description == (
        "File non conforme al formato : Element 'FatturaElettronicaHeader': Missing child element(s). "
        "Expected is ( CedentePrestatore )."
    )


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (remove(f"{DOCUMENT}/Numero"), "Element 'DatiGeneraliDocumento': Missing child element(s)."),
        (
            remove(GOODS),
            "Element 'FatturaElettronicaBody': Missing child element(s). Expected is ( DatiBeniServizi ).",
        ),
        (
            remove("FatturaElettronicaBody"),
            "Missing child element(s). Expected is ( FatturaElettronicaBody ).",
        ),
        (remove(f"{TRANSMISSION}/IdTrasmittente"), "Expected is ( IdTrasmittente )."),
        (set_text(f"{DOCUMENT}/Data", "18/12/2014"), "Element 'Data': '18/12/2014' is not a valid value"),
        (set_text(f"{LINE}/PrezzoTotale", "5"), "Element 'PrezzoTotale': '5' is not a valid value"),
        (set_text(f"{LINE}/AliquotaIVA", "22"), "Element 'AliquotaIVA': '22' is not a valid value"),
    ],
)
def test_00200_required_elements_and_values(
    validator: SdiValidator, mutation: Mutation, message: str
) -> None:
    error = only(run(validator, mutate(mutation)))
    assert error.code == "00200"
    assert error.description.startswith("File non conforme al formato : ")
    if validator.xsd_dir is None:
        assert message in error.description


def test_00200_missing_versione(plain_validator: SdiValidator) -> None:
    def drop_versione(root: etree._Element) -> None:
        del root.attrib["versione"]

    error = only(run(plain_validator, mutate(drop_versione)))
    assert error.description.endswith("The attribute 'versione' is required but missing.")


@pytest.mark.parametrize(
    "content",
    [
        b'<FatturaElettronica versione="FPR12"/>',
        b'<p:FatturaElettronica xmlns:p="urn:other" versione="FPR12"/>',
        b"<NotificaScarto/>",
    ],
)
def test_00200_wrong_root(validator: SdiValidator, content: bytes) -> None:
    error = only(run(validator, content))
    assert error.code == "00200"
    assert "No matching global declaration available for the validation root." in error.description


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01 not xml",
        b"<p:FatturaElettronica",
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><a>&b;</a>',
        b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
    ],
)
def test_00200_not_well_formed_or_unsafe(validator: SdiValidator, content: bytes) -> None:
    error = only(run(validator, content))
    assert error.code == "00200"
    assert error.description.startswith("File non conforme al formato : ")
    assert "root:" not in error.description


def test_00200_real_file_with_broken_root_tag(validator: SdiValidator) -> None:
    name = "IT02652600210_00007.xml"
    error = only(run(validator, read_sample(B2B_REAL / name), name))
    assert error.description == (
        "File non conforme al formato : XML not well-formed: "
        "Specification mandates value for attribute Elettronica, line 1, column 64"
    )


def test_00428_invalid_format_without_xsd_is_a_schema_error_with_it(validator: SdiValidator) -> None:
    errors = run(validator, mutate(set_text(f"{TRANSMISSION}/FormatoTrasmissione", "FPX12")))
    if validator.xsd_dir is None:
        assert (
            only(errors).description
            == '1.1.3 <FormatoTrasmissione> con valore diverso da "FPA12" e "FPR12" : FPX12'
        )
    else:
        assert only(errors).code == "00200"
        assert "FormatoTrasmissione" in errors[0].description


# -- semantic checks: one minimal mutation per code -----------------------------------------------

SEMANTIC_CASES: list[tuple[str, list[Mutation], str]] = [
    (
        "00300",
        [set_text(f"{TRANSMISSION}/IdTrasmittente/IdCodice", "01100220305")],
        "1.1.1.2 <IdCodice> non valido : 01100220305",
    ),
    (
        "00301",
        [set_text(f"{SUPPLIER}/IdFiscaleIVA/IdCodice", "01100220305")],
        "1.2.1.1.2 <IdCodice> non valido : 01100220305",
    ),
    (
        "00302",
        [insert_after(f"{SUPPLIER}/IdFiscaleIVA", "<CodiceFiscale>RSSMRA80A01H501X</CodiceFiscale>")],
        "1.2.1.2 <CodiceFiscale> non valido : RSSMRA80A01H501X",
    ),
    (
        "00305",
        [insert_before(f"{CUSTOMER}/CodiceFiscale", _id_fiscale("01100220307"))],
        "1.4.1.1.2 <IdCodice> non valido : 01100220307",
    ),
    (
        "00306",
        [set_text(f"{CUSTOMER}/CodiceFiscale", "RSSMRA80A01H501X")],
        "1.4.1.2 <CodiceFiscale> non valido : RSSMRA80A01H501X",
    ),
    (
        "00311",
        [set_text(f"{TRANSMISSION}/CodiceDestinatario", "ZZZZZZZ")],
        "1.1.4 <CodiceDestinatario> non valido : ZZZZZZZ",
    ),
    (
        "00312",
        [set_text(f"{TRANSMISSION}/CodiceDestinatario", "YYYYYYY")],
        "1.1.4 <CodiceDestinatario> non attivo : YYYYYYY",
    ),
    (
        "00400",
        [  # of two zero-rate lines, one forgets its Natura (so natures and summaries still match)
            insert_after(LINE, _line_xml(3, "0.00", "N2.2")),
            insert_after(LINE, _line_xml(2, "0.00")),
            insert_after(SUMMARY, _summary_xml("0.00", "N2.2")),
        ],
        "2.2.1.14 <Natura> non presente a fronte di 2.2.1.12 <AliquotaIVA> pari a zero : 0.00",
    ),
    (
        "00401",
        [  # N1 is also on a zero-rate line and its summary, so natures and summaries still match
            insert_after(f"{LINE}/AliquotaIVA", "<Natura>N1</Natura>"),
            insert_after(LINE, _line_xml(2, "0.00", "N1")),
            insert_after(SUMMARY, _summary_xml("0.00", "N1", imponibile="10.00")),
        ],
        "2.2.1.14 <Natura> presente a fronte di 2.2.1.12 <AliquotaIVA> diversa da zero : N1",
    ),
    (
        "00403",
        [set_text(f"{DOCUMENT}/Data", "2024-06-02")],
        "2.1.1.3 <Data> successiva alla data di ricezione : 2024-06-02",
    ),
    (
        "00417",
        [remove(f"{CUSTOMER}/CodiceFiscale")],
        "1.4.1.1 <IdFiscaleIVA> e 1.4.1.2 <CodiceFiscale> non valorizzati (almeno uno dei due deve essere "
        "valorizzato)",
    ),
    (
        "00419",
        [
            insert_after(
                LINE,
                "<DettaglioLinee><NumeroLinea>2</NumeroLinea><Descrizione>LIBRO</Descrizione>"
                "<PrezzoUnitario>10.00</PrezzoUnitario><PrezzoTotale>10.00</PrezzoTotale>"
                "<AliquotaIVA>10.00</AliquotaIVA></DettaglioLinee>",
            )
        ],
        "2.2.2 <DatiRiepilogo> non presente in corrispondenza di almeno un valore di 2.1.1.7.5 <AliquotaIVA> "
        "o 2.2.1.12 <AliquotaIVA> : 10.00",
    ),
    (
        "00423",
        [set_text(f"{LINE}/PrezzoTotale", "6.00")],
        "2.2.1.11 <PrezzoTotale> non calcolato secondo le regole definite nelle specifiche tecniche : 6.00",
    ),
    (
        "00424",
        [set_text(f"{LINE}/AliquotaIVA", "0.22"), set_text(f"{SUMMARY}/AliquotaIVA", "0.22")],
        "2.2.1.12 <AliquotaIVA> o 2.2.2.1 <AliquotaIVA> o 2.1.1.7.5 <AliquotaIVA> non indicata in termini "
        "percentuali : 0.22",
    ),
    (
        "00425",
        [set_text(f"{DOCUMENT}/Numero", "ABC/XY")],
        "2.1.1.4 <Numero> non contenente caratteri numerici : ABC/XY",
    ),
    (
        "00427",
        [set_text(f"{TRANSMISSION}/CodiceDestinatario", "ABC123")],
        "1.1.4 <CodiceDestinatario> di 7 caratteri a fronte di 1.1.3 <FormatoTrasmissione> con valore "
        '"FPA12" o 1.1.4 <CodiceDestinatario> di 6 caratteri a fronte di 1.1.3 <FormatoTrasmissione> con '
        'valore "FPR12" : ABC123',
    ),
    (
        "00428",
        [set_text(f"{TRANSMISSION}/FormatoTrasmissione", "FPA12")],
        '1.1.3 <FormatoTrasmissione> con valore diverso da "FPA12" e "FPR12" : FPA12',
    ),
    (
        "00471",
        [set_text(f"{DOCUMENT}/TipoDocumento", "TD16"), same_customer_as_supplier],
        "Per il valore indicato nell'elemento 2.1.1.1 <TipoDocumento> il cedente/prestatore non può essere "
        "uguale al cessionario/committente : TD16",
    ),
    (
        "00472",
        [set_text(f"{DOCUMENT}/TipoDocumento", "TD21")],
        "Per il valore indicato nell'elemento 2.1.1.1 <TipoDocumento> il cedente/prestatore deve essere "
        "uguale al cessionario/committente : TD21",
    ),
    (
        "00473",
        [set_text(f"{DOCUMENT}/TipoDocumento", "TD17")],
        "Per il valore indicato nell'elemento 2.1.1.1 <TipoDocumento> non è ammesso il valore IT "
        "nell'elemento 1.2.1.1.1 <IdPaese> : TD17",
    ),
    (
        "00474",
        [
            set_text(f"{DOCUMENT}/TipoDocumento", "TD21"),
            same_customer_as_supplier,
            set_text(f"{LINE}/AliquotaIVA", "0.00"),
            insert_after(f"{LINE}/AliquotaIVA", "<Natura>N3.5</Natura>"),
            set_text(f"{SUMMARY}/AliquotaIVA", "0.00"),
            insert_after(f"{SUMMARY}/AliquotaIVA", "<Natura>N3.5</Natura>"),
            set_text(f"{SUMMARY}/Imposta", "0.00"),
        ],
        "Per il valore indicato nell'elemento 2.1.1.1 <TipoDocumento> non sono ammesse linee di dettaglio "
        "con l'elemento 2.2.1.12 <AliquotaIVA> contenente valore zero : TD21",
    ),
]


@pytest.mark.parametrize(
    ("code", "mutations", "description"), SEMANTIC_CASES, ids=[c[0] for c in SEMANTIC_CASES]
)
def test_semantic_code(
    validator: SdiValidator, code: str, mutations: list[Mutation], description: str
) -> None:
    error = only(run(validator, mutate(*mutations)))
    assert error.code == code
    assert error.description == description
    assert error.suggestion == ERROR_CATALOGUE[code][1]


def test_00404_duplicate_invoice(validator: SdiValidator) -> None:
    seen: list[tuple[ParsedInvoice, Body]] = []

    def duplicate(invoice: ParsedInvoice, body: Body) -> bool:
        seen.append((invoice, body))
        return body.number == "456"

    errors = validator.validate(
        "IT01234567890_FPR03.xml",
        read_sample(OFFICIAL / "IT01234567890_FPR03.xml"),
        received_at=RECEIVED,
        is_duplicate_file_name=lambda _: False,
        is_duplicate_invoice=duplicate,
    )
    assert only(errors).description == "Fattura duplicata : 456"
    assert [body.number for _, body in seen] == ["123", "456"]
    assert seen[0][0].supplier.vat == "01234567890"


def test_00404_is_reported_with_the_other_errors(validator: SdiValidator) -> None:
    errors = run(validator, mutate(set_text(f"{DOCUMENT}/Numero", "ABC")), duplicate_invoice=True)
    assert codes(errors) == ["00425", "00404"]


def test_several_errors_are_reported_together(validator: SdiValidator) -> None:
    content = mutate(
        set_text(f"{SUPPLIER}/IdFiscaleIVA/IdCodice", "01100220305"),
        insert_before(f"{CUSTOMER}/CodiceFiscale", _id_fiscale("01100220307")),
    )
    errors = run(validator, content)
    assert [(e.code, e.description) for e in errors] == [
        ("00301", "1.2.1.1.2 <IdCodice> non valido : 01100220305"),
        ("00305", "1.4.1.1.2 <IdCodice> non valido : 01100220307"),
    ]
    assert (
        errors[0].suggestion
        == 'Verificare che il campo IdFiscaleIVA/IdCodice del "CedentePrestatore" sia valido'
    )


def test_00427_seven_characters_for_a_pa_invoice(validator: SdiValidator) -> None:
    def to_pa(root: etree._Element) -> None:
        root.set("versione", "FPA12")
        at(root, f"{TRANSMISSION}/FormatoTrasmissione").text = "FPA12"

    assert codes(run(validator, mutate(to_pa))) == ["00427"]
    pa = mutate(to_pa, set_text(f"{TRANSMISSION}/CodiceDestinatario", "UFY9MH"))
    assert run(validator, pa) == []


def test_00403_uses_the_date_in_rome(validator: SdiValidator) -> None:
    late_evening_utc = datetime(2024, 12, 31, 23, 30, tzinfo=UTC)  # already 1 January in Rome
    new_year = mutate(set_text(f"{DOCUMENT}/Data", "2025-01-01"))
    assert run(validator, new_year, received_at=late_evening_utc) == []
    next_day = mutate(set_text(f"{DOCUMENT}/Data", "2025-01-02"))
    assert codes(run(validator, next_day, received_at=late_evening_utc)) == ["00403"]
    naive_utc = datetime(2024, 12, 31, 23, 30)
    assert run(validator, new_year, received_at=naive_utc) == []


def test_valid_fiscal_ids_pass(validator: SdiValidator) -> None:
    content = mutate(
        set_text(f"{TRANSMISSION}/IdTrasmittente/IdCodice", "BTTLNZ82D13D969U"),
        insert_after(f"{SUPPLIER}/IdFiscaleIVA", "<CodiceFiscale>RSSMRA80A01H501U</CodiceFiscale>"),
        insert_before(f"{CUSTOMER}/CodiceFiscale", _id_fiscale("02652600210")),
        set_text(f"{CUSTOMER}/CodiceFiscale", "02652600210"),
    )
    assert run(validator, content) == []


def test_foreign_ids_are_not_checked_as_italian(validator: SdiValidator) -> None:
    content = mutate(
        set_text(f"{TRANSMISSION}/IdTrasmittente/IdPaese", "DE"),
        set_text(f"{TRANSMISSION}/IdTrasmittente/IdCodice", "123456789"),
        set_text(f"{SUPPLIER}/IdFiscaleIVA/IdPaese", "FR"),
        set_text(f"{SUPPLIER}/IdFiscaleIVA/IdCodice", "12345678901"),
    )
    assert run(validator, content, "DE123456789_00001.xml") == []


def test_sample_ids_are_accepted_only_when_registered() -> None:
    strict = SdiValidator(None, registered_fiscal_ids=frozenset())
    errors = run(strict, read_sample(OFFICIAL / FPR01))
    assert [(e.code, e.description) for e in errors] == [
        ("00300", "1.1.1.2 <IdCodice> non valido : 01234567890"),
        ("00301", "1.2.1.1.2 <IdCodice> non valido : 01234567890"),
        ("00306", "1.4.1.2 <CodiceFiscale> non valido : 09876543210"),
    ]


def test_recipient_codes_are_configurable() -> None:
    custom = SdiValidator(None, unknown_recipient_codes=frozenset({"ABC1234"}))
    assert codes(run(custom, read_sample(OFFICIAL / FPR01))) == ["00311"]
    assert (
        run(
            SdiValidator(None, inactive_recipient_codes=frozenset()),
            mutate(set_text(f"{TRANSMISSION}/CodiceDestinatario", "YYYYYYY")),
        )
        == []
    )


@pytest.mark.parametrize(
    ("discounts", "total", "ok"),
    [
        (
            "<ScontoMaggiorazione><Tipo>SC</Tipo><Percentuale>10.00</Percentuale></ScontoMaggiorazione>",
            "4.50",
            True,
        ),
        ("<ScontoMaggiorazione><Tipo>MG</Tipo><Importo>0.20</Importo></ScontoMaggiorazione>", "6.00", True),
        (
            "<ScontoMaggiorazione><Tipo>SC</Tipo><Percentuale>50.00</Percentuale></ScontoMaggiorazione>"
            "<ScontoMaggiorazione><Tipo>SC</Tipo><Percentuale>50.00</Percentuale></ScontoMaggiorazione>",
            "1.25",
            True,
        ),
        (
            "<ScontoMaggiorazione><Tipo>SC</Tipo><Percentuale>10.00</Percentuale></ScontoMaggiorazione>",
            "4.51",
            True,
        ),
        (
            "<ScontoMaggiorazione><Tipo>SC</Tipo><Percentuale>10.00</Percentuale></ScontoMaggiorazione>",
            "4.52",
            False,
        ),
        ("<ScontoMaggiorazione><Tipo>SC</Tipo><Importo>0.20</Importo></ScontoMaggiorazione>", "4.80", False),
    ],
)
def test_00423_discounts(validator: SdiValidator, discounts: str, total: str, ok: bool) -> None:
    def add_discounts(root: etree._Element) -> None:
        anchor = at(root, f"{LINE}/PrezzoUnitario")
        for element in reversed(etree.fromstring(f"<x>{discounts}</x>")):
            anchor.addnext(element)

    content = mutate(
        add_discounts,
        set_text(f"{LINE}/PrezzoTotale", total),
        set_text(f"{SUMMARY}/ImponibileImporto", total),
    )
    errors = run(validator, content)
    assert errors == [] if ok else codes(errors) == ["00423"]


def test_00419_with_only_the_line_rate_wrong(validator: SdiValidator) -> None:
    errors = run(validator, mutate(set_text(f"{LINE}/AliquotaIVA", "0.22")))
    assert codes(errors) == ["00424", "00419", "00443"]  # the summary's 22.00 is now no line's rate


def test_00472_passes_when_the_parties_are_the_same(validator: SdiValidator) -> None:
    content = mutate(set_text(f"{DOCUMENT}/TipoDocumento", "TD21"), same_customer_as_supplier)
    assert run(validator, content) == []


# -- schemas --------------------------------------------------------------------------------------


def test_schema_is_cached_per_directory() -> None:
    directory = require(XSD_DIR)
    assert load_fatturapa_schema(directory) is load_fatturapa_schema(Path(str(directory) + "/"))
    assert load_fsm_schema(directory) is not None
    assert load_fsm_schema(directory / "missing") is None


def test_a_wrong_schema_directory_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"Schema_del_file_xml_FatturaPA_v1\.2\.3\.xsd"):
        SdiValidator(tmp_path)


def test_xmldsig_is_resolved_locally(xsd_validator: SdiValidator) -> None:
    """Without the resolver lxml would lose ds:Signature; with it, a bogus signature is a schema error."""

    def bogus_signature(root: etree._Element) -> None:
        signature = etree.SubElement(root, "{http://www.w3.org/2000/09/xmldsig#}Signature")
        etree.SubElement(signature, "{http://www.w3.org/2000/09/xmldsig#}Bogus")

    error = only(run(xsd_validator, mutate(bogus_signature)))
    assert error.description == (
        "File non conforme al formato : Element '{http://www.w3.org/2000/09/xmldsig#}Bogus': This element is "
        "not expected. Expected is ( {http://www.w3.org/2000/09/xmldsig#}SignedInfo )."
    )


def test_structural_check_accepts_what_the_schema_accepts() -> None:
    for sample in ("IT01234567890_FPR01.xml", "IT01234567890_FPR02.xml", "IT01234567890_FPR03.xml"):
        assert structural_error(etree.fromstring(read_sample(OFFICIAL / sample))) is None
    assert structural_error(etree.fromstring(FSM_INVOICE)) is None
