from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from emulator.providers.acube.convert import ConversionError, json_to_xml, snake_case, xml_to_json
from emulator.sdi.generator import DOCUMENT_TYPES, InvoiceGenerator
from emulator.sdi.validation import load_fatturapa_schema, schema_error
from tests.sdi.reference import B2B_REAL, OFFICIAL, XSD_DIR, require

NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
CONTRACT = Path(__file__).resolve().parents[3] / "contracts" / "acube.yaml"


def _invoice_samples() -> list[Path]:
    found = []
    for folder in (OFFICIAL, B2B_REAL):
        for path in sorted(folder.glob("*.xml")) if folder.exists() else []:
            try:
                root = etree.parse(str(path)).getroot()
            except etree.XMLSyntaxError:  # one b2b-real file is not well-formed: not a sample to convert
                continue
            if root.tag == f"{{{NS}}}FatturaElettronica":
                found.append(path)
    return found


SAMPLES = _invoice_samples()


def canonical(xml: bytes) -> str:
    """The invoice minus what A-Cube's JSON cannot carry, in C14N 2.0 with prefixes rewritten."""
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    for name in list(root.attrib):
        if name.startswith("{http://www.w3.org/2001/XMLSchema-instance}") or name == "SistemaEmittente":
            del root.attrib[name]
    for signature in root.findall("{http://www.w3.org/2000/09/xmldsig#}Signature"):
        root.remove(signature)
    etree.cleanup_namespaces(root)
    text = etree.tostring(root, encoding="unicode")
    return etree.canonicalize(text, rewrite_prefixes=True, strip_text=True)


def to_json(xml: bytes) -> dict[str, Any]:
    return xml_to_json(xml, xsd_dir=require(XSD_DIR))


def to_xml(invoice: Any) -> bytes:
    return json_to_xml(invoice, xsd_dir=require(XSD_DIR))


def contract_example(name: str) -> Any:
    document = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return document["components"]["examples"][name]["value"]


def assert_schema_valid(xml: bytes) -> None:
    assert schema_error(load_fatturapa_schema(require(XSD_DIR)), etree.fromstring(xml)) is None


# -- round trips ------------------------------------------------------------------------------


def test_official_samples_are_found() -> None:
    require(OFFICIAL)
    assert len(SAMPLES) >= 5


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_round_trip_is_lossless(path: Path) -> None:
    original = path.read_bytes()
    invoice = to_json(original)
    assert canonical(to_xml(invoice)) == canonical(original)
    assert to_json(to_xml(invoice)) == invoice


@pytest.mark.parametrize("pa", [True, False], ids=["PA", "B2B"])
@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_round_trip_is_lossless(pa: bool, document_type: str, seed: int) -> None:
    day = dt.date(2024, 3, 15)
    generated = InvoiceGenerator(seed).generate(pa=pa, document_type=document_type, issue_date=day)
    invoice = to_json(generated.xml)
    assert invoice["fattura_elettronica_header"]["dati_trasmissione"]["formato_trasmissione"] == (
        "FPA12" if pa else "FPR12"
    )
    back = to_xml(invoice)
    assert canonical(back) == canonical(generated.xml)
    assert_schema_valid(back)


# -- the document's example -------------------------------------------------------------------


def test_contract_json_example_converts_to_valid_xml_equal_to_the_xml_example() -> None:
    xml = to_xml(contract_example("NewInvoice"))
    assert_schema_valid(xml)
    assert etree.fromstring(xml).get("versione") == "FPR12"
    assert canonical(xml) == canonical(contract_example("InvoiceXml").encode())


def test_contract_xml_example_converts_to_the_json_example() -> None:
    assert to_json(contract_example("InvoiceXml").encode()) == contract_example("NewInvoice")


def test_shapes_follow_the_schema() -> None:
    invoice = to_json(contract_example("InvoiceXml").encode())
    body = invoice["fattura_elettronica_body"]
    assert isinstance(body, list)
    lines = body[0]["dati_beni_servizi"]["dettaglio_linee"]
    assert isinstance(lines, list) and lines[0]["numero_linea"] == 1  # an integer, as in A-Cube's example
    assert lines[0]["prezzo_unitario"] == "100.00"  # amounts stay strings
    assert isinstance(invoice["fattura_elettronica_header"]["cedente_prestatore"]["sede"], dict)


@pytest.mark.parametrize(
    ("camel", "snake"),
    [
        ("IdPaese", "id_paese"),
        ("CodiceFiscale", "codice_fiscale"),
        ("IBAN", "iban"),
        ("CAP", "cap"),
        ("AliquotaIVA", "aliquota_iva"),
        ("IdFiscaleIVA", "id_fiscale_iva"),
        ("PECDestinatario", "pec_destinatario"),
        ("CFQuietanzante", "cf_quietanzante"),
        ("Art73", "art73"),
        ("FatturaElettronicaHeader", "fattura_elettronica_header"),
    ],
)
def test_names(camel: str, snake: str) -> None:
    assert snake_case(camel) == snake


# -- decisions --------------------------------------------------------------------------------


def _example() -> dict[str, Any]:
    return copy.deepcopy(contract_example("NewInvoice"))


def test_versione_follows_formato_trasmissione() -> None:
    invoice = _example()
    invoice["fattura_elettronica_header"]["dati_trasmissione"]["formato_trasmissione"] = "FPA12"
    assert etree.fromstring(to_xml(invoice)).get("versione") == "FPA12"


@pytest.mark.parametrize(("code", "versione"), [("UFABCD", "FPA12"), ("0000000", "FPR12")])
def test_versione_inferred_from_recipient_code(code: str, versione: str) -> None:
    invoice = _example()
    transmission = invoice["fattura_elettronica_header"]["dati_trasmissione"]
    del transmission["formato_trasmissione"]
    transmission["codice_destinatario"] = code
    assert etree.fromstring(to_xml(invoice)).get("versione") == versione


def test_json_order_does_not_matter_and_null_means_absent() -> None:
    invoice = _example()
    header = invoice["fattura_elettronica_header"]
    invoice["fattura_elettronica_header"] = {"rappresentante_fiscale": None, **dict(reversed(header.items()))}
    invoice["fattura_elettronica_body"][0]["dati_pagamento"] = []
    assert canonical(to_xml(invoice)) == canonical(to_xml(_example()))


def test_integer_as_string_and_non_plain_integer_text_are_kept() -> None:
    invoice = _example()
    invoice["fattura_elettronica_body"][0]["dati_beni_servizi"]["dettaglio_linee"][0]["numero_linea"] = "01"
    xml = to_xml(invoice)
    assert b"<NumeroLinea>01</NumeroLinea>" in xml
    line = to_json(xml)["fattura_elettronica_body"][0]["dati_beni_servizi"]["dettaglio_linee"][0]
    assert line["numero_linea"] == "01"


def test_signature_and_sistema_emittente_are_dropped() -> None:
    xml = contract_example("InvoiceXml").replace(
        'versione="FPR12">',
        'versione="FPR12" SistemaEmittente="X"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>',
    )
    assert to_json(xml.encode()) == contract_example("NewInvoice")


def test_schema_directory_is_required() -> None:
    with pytest.raises(FileNotFoundError):
        json_to_xml(_example())
    with pytest.raises(FileNotFoundError):
        xml_to_json(b"<x/>", xsd_dir=Path("/nonexistent"))


# -- errors: JSON → XML -----------------------------------------------------------------------


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    invoice = _example()
    target: Any = invoice
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return invoice


BODY = ["fattura_elettronica_body", 0]
B = "fattura_elettronica_body[0]"
D = f"{B}.dati_generali.dati_generali_documento"
L = f"{B}.dati_beni_servizi.dettaglio_linee[0]"
LINE = [*BODY, "dati_beni_servizi", "dettaglio_linee", 0]


@pytest.mark.parametrize(
    ("invoice", "message"),
    [
        ([], "the invoice must be an object, not an array"),
        ("<xml/>", "the invoice must be an object, not a string"),
        (_with(["foo"], 1), 'unknown key "foo"'),
        (_with([*BODY, "dati_generali", "foo"], "x"), f'{B}.dati_generali: unknown key "foo"'),
        (
            _with(["fattura_elettronica_body"], {}),
            "fattura_elettronica_body: must be an array, not an object",
        ),
        (
            _with(["fattura_elettronica_header"], []),
            "fattura_elettronica_header: must be an object, not an array",
        ),
        (_with([*BODY, "dati_generali"], "x"), f"{B}.dati_generali: must be an object, not a string"),
        (
            _with([*BODY, "dati_generali", "dati_generali_documento", "causale"], "x"),
            f"{D}.causale: must be an array, not a string",
        ),
        (_with([*LINE, "descrizione"], 5), f"{L}.descrizione: must be a string, not a number"),
        (_with([*LINE, "prezzo_unitario"], 100.0), f"{L}.prezzo_unitario: must be a string, not a number"),
        (
            _with([*LINE, "numero_linea"], True),
            f"{L}.numero_linea: must be an integer or a string, not a boolean",
        ),
        (
            _with([*LINE, "descrizione"], "bad\x01char"),
            f"{L}.descrizione: contains characters not allowed in XML",
        ),
        (
            _with(["fattura_elettronica_body"], [{}, "x"]),
            "fattura_elettronica_body[1]: must be an object, not a string",
        ),
    ],
)
def test_json_errors_name_the_path(invoice: Any, message: str) -> None:
    with pytest.raises(ConversionError) as caught:
        to_xml(invoice)
    assert str(caught.value) == message


# -- errors: XML → JSON -----------------------------------------------------------------------


def _xml(old: str, new: str) -> bytes:
    xml: str = contract_example("InvoiceXml")
    assert old in xml
    return xml.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"<p:FatturaElettronica", "XML not well-formed"),
        (b"", "Empty document"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x/>', "DOCTYPE/ENTITY declarations are not allowed"),
        (b"<FatturaElettronica/>", "not a FatturaPA 1.2 invoice: the root element is FatturaElettronica"),
        (b'<a:FatturaElettronica xmlns:a="urn:other" versione="FPR12"/>', "not a FatturaPA 1.2 invoice"),
        (
            _xml('versione="FPR12"', 'versione="FPX12"'),
            'the versione attribute must be FPA12 or FPR12, not "FPX12"',
        ),
        (
            _xml('versione="FPR12"', 'versione="FPA12"'),
            'versione "FPA12" differs from FormatoTrasmissione "FPR12": A-Cube\'s JSON cannot carry both',
        ),
        (
            _xml('versione="FPR12"', 'versione="FPR12" foo="1"'),
            'unknown attribute "foo" on FatturaElettronica',
        ),
        (
            _xml("<Numero>1</Numero>", "<Numero>1</Numero><Foo/>"),
            f"{D}: unknown element <Foo> in <DatiGeneraliDocumento>",
        ),
        (
            _xml("<Numero>1</Numero>", "<Numero>1</Numero><Numero>2</Numero>"),
            f"{D}.numero: <Numero> may appear only once",
        ),
        (
            _xml("<Divisa>EUR</Divisa>", "<Divisa><X/></Divisa>"),
            f"{D}.divisa: <Divisa> must hold a value, not elements",
        ),
        (
            _xml("<DatiGenerali>", "<DatiGenerali>oops"),
            f"{B}.dati_generali: unexpected text 'oops' in <DatiGenerali>",
        ),
        (_xml("<Divisa>", '<Divisa a="1">'), f'{D}.divisa: unknown attribute "a" on <Divisa>'),
        (
            _xml("<DettaglioLinee><NumeroLinea>", "<DettaglioLinee><Foo/><NumeroLinea>"),
            f"{L}: unknown element <Foo> in <DettaglioLinee>",
        ),
    ],
)
def test_xml_errors_name_the_path(xml: bytes, message: str) -> None:
    with pytest.raises(ConversionError) as caught:
        to_json(xml)
    assert str(caught.value).startswith(message)
