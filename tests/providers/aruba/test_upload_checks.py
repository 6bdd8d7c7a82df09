"""Aruba §7.5: the synchronous checks (errorCode of the upload) and the asynchronous ones (statusDescription
of a file in "Errore Elaborazione"), the self-billing rules of §7.2 and the sandbox triggers."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select

from emulator.config import Config
from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.aruba import extra_checks
from emulator.sdi.fatturapa import parse_invoice
from emulator.state import Sandbox
from tests.conftest import START, advance, make_config
from tests.providers.aruba.helpers import (
    CUSTOMER_VAT,
    OTHER_VAT,
    SANDBOX_VAT,
    SANDBOX_VAT_2,
    add_after,
    bearer,
    edit,
    element,
    invoice,
    sent_file,
    simplified_invoice,
    token,
    upload,
    uploaded_name,
)

UPLOAD = "/aruba/services/invoice/upload"
OUTSIDE_VAT = "09382170158"  # an Easy Tracking account's: no Aruba account has it
MESSAGES = {
    "0001": "Errore imprevisto generico",
    "0002": "Errore parametri in input: dataFile, formato fattura errato o non presente",
    "0012": "Errore di autenticazione al sistema",
    "0013": "Errore in fase di salvataggio dati",
    "0033": "Il file inviato supera la dimensione massima",
    "0034": "File già inviato di recente",
    "0093": "Errore deleghe non valide",
    "0094": (
        "La fattura che stai inviando contiene ID e/o contatti dei trasmittenti differenti dai dati "
        "dell’intermediario Aruba PEC."
    ),
    "0095": (
        "Servizio momentaneamente non disponibile. Il controllo dei permessi è fallito. "
        "Si prega di riprovare più tardi."
    ),
    "0097": "Spazio esaurito o non sufficiente, è necessario effettuare un aumento di spazio.",
}


@pytest.fixture
def config() -> Config:
    return make_config(aruba_sla=False)


def refused(response: Any, code: str, description: str | None = None) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "errorCode": code,
        "errorDescription": MESSAGES[code] if description is None else description,
        "uploadFileName": None,
    }


def processed(client: FlaskClient, sandbox: Sandbox, response: Any) -> dict[str, Any]:
    """The sent file once its processing (60 virtual seconds) is over."""
    name = uploaded_name(response)
    assert sent_file(sandbox, name)["status"] == "Presa in carico"
    advance(client, 60)
    return sent_file(sandbox, name)


def post_data_file(client: FlaskClient, tok: str, data_file: Any, path: str = UPLOAD) -> Any:
    return client.post(path, json={"dataFile": data_file}, headers=bearer(tok))


def self_billing(role: str, *, supplier: str, customer: str) -> bytes:
    def change(root: etree._Element) -> None:
        add_after(
            element(root, "FatturaElettronicaHeader"), "CessionarioCommittente", "SoggettoEmittente", role
        )

    return edit(invoice(supplier_vat=supplier, customer_vat=customer), change)


def with_contacts(phone: str | None, email: str | None) -> bytes:
    def change(root: etree._Element) -> None:
        transmission = element(root, "FatturaElettronicaHeader", "DatiTrasmissione")
        contacts = add_after(transmission, "CodiceDestinatario", "ContattiTrasmittente")
        for name, value in (("Telefono", phone), ("Email", email)):
            if value is not None:
                etree.SubElement(contacts, name).text = value

    return edit(invoice(), change)


def _set(root: etree._Element, value: str, *path: str) -> None:
    element(root, "FatturaElettronicaHeader", *path).text = value


def set_max_space_kb(sandbox: Sandbox, kb: int) -> None:
    with sandbox.transaction() as session:
        account = session.execute(
            select(Account).where(Account.provider == "aruba", Account.tenant == "sandbox")
        ).scalar_one()
        account.profile = {**account.profile, "max_space_kb": kb}


# -- 0002 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data_file",
    [
        None,
        "",
        "   ",
        "@@@@",
        "dGVzdA=",  # bad padding
        base64.b64encode(b"test").decode(),
        base64.b64encode(b"<FatturaElettronica>").decode(),  # not well-formed
        base64.b64encode(b"<Fattura/>").decode(),  # not an invoice
        base64.b64encode(b'<!DOCTYPE x [<!ENTITY a "b">]><FatturaElettronica/>').decode(),
    ],
)
def test_0002_data_file_missing_or_not_a_fatturapa(client: FlaskClient, data_file: Any) -> None:
    tok = token(client)
    refused(post_data_file(client, tok, data_file), "0002")
    refused(post_data_file(client, tok, data_file, "/aruba/services/invoice/uploadSigned"), "0002")


def test_0002_without_the_data_file_field(client: FlaskClient) -> None:
    refused(client.post(UPLOAD, json={"credential": ""}, headers=bearer(token(client))), "0002")


def test_base64_with_line_breaks_and_without_padding_is_read(client: FlaskClient) -> None:
    encoded = base64.encodebytes(invoice()).decode().rstrip("=\n")
    response = post_data_file(client, token(client), encoded)
    assert response.get_json()["errorCode"] == "0000"


# -- 0012 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credential", "domain"),
    [("wrong", "sandbox"), ("sandbox", "wrong"), ("sandbox", ""), ("", "sandbox"), ("other", "other")],
)
def test_0012_wrong_automatic_signature_credentials(
    client: FlaskClient, credential: str, domain: str
) -> None:
    refused(upload(client, token(client), invoice(), credential=credential, domain=domain), "0012")


def test_0012_comes_before_the_data_file_checks(client: FlaskClient) -> None:
    response = client.post(UPLOAD, json={"credential": "x", "domain": "y"}, headers=bearer(token(client)))
    refused(response, "0012")


# -- 0033 -----------------------------------------------------------------------------------------


def test_0033_a_file_over_five_megabytes(client: FlaskClient) -> None:
    tok = token(client)
    five_mb = 5 * 1024 * 1024
    refused(post_data_file(client, tok, base64.b64encode(bytes(five_mb + 1)).decode()), "0033")
    # Exactly 5 MB is not too big (it is no invoice either), and size is judged before the base64 is.
    refused(post_data_file(client, tok, base64.b64encode(bytes(five_mb)).decode()), "0002")
    refused(post_data_file(client, tok, "@" * (five_mb * 4 // 3 + 8)), "0033")


# -- 0034 -----------------------------------------------------------------------------------------


def test_0034_the_same_file_again_while_it_is_processed_or_after(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    tok = token(client)
    xml = invoice()
    uploaded_name(upload(client, tok, xml))
    refused(upload(client, tok, xml), "0034")
    advance(client, 60)  # "Inviata"
    refused(upload(client, tok, xml), "0034")
    refused(upload(client, tok, xml, signed=True), "0034")  # same bytes, either operation
    # Another account may send the same bytes (it is refused for other reasons, not as a duplicate).
    refused(upload(client, token(client, "other"), xml), "0093")


def test_0034_window_is_twenty_four_hours(client: FlaskClient) -> None:
    tok = token(client)
    xml = invoice()
    uploaded_name(upload(client, tok, xml))
    advance(client, 24 * 3600 - 1)
    tok = token(client)
    refused(upload(client, tok, xml), "0034")
    advance(client, 1)
    assert upload(client, tok, xml).get_json()["errorCode"] == "0000"


def test_a_file_that_failed_may_be_sent_again(client: FlaskClient, sandbox: Sandbox) -> None:
    tok = token(client)
    xml = invoice(supplier_vat=OUTSIDE_VAT)
    assert processed(client, sandbox, upload(client, tok, xml))["status"] == "Errore Elaborazione"
    assert upload(client, tok, xml).get_json()["errorCode"] == "0000"


def test_a_file_the_sdi_rejected_may_be_sent_again(client: FlaskClient, sandbox: Sandbox) -> None:
    tok = token(client)
    xml = invoice()
    name = uploaded_name(upload(client, tok, xml))
    advance(client, 60)
    client.post("/_sandbox/sdi/notifications", json={"invoice": name, "type": "NS"})
    assert sent_file(sandbox, name)["status"] == "Scartata"
    assert upload(client, tok, xml).get_json()["errorCode"] == "0000"


# -- 0092 -----------------------------------------------------------------------------------------


def test_0092_carries_the_schema_error(client: FlaskClient) -> None:
    def drop_number(root: etree._Element) -> None:
        document = element(root, "FatturaElettronicaBody", "DatiGenerali", "DatiGeneraliDocumento")
        document.remove(element(document, "Numero"))

    response = upload(client, token(client), edit(invoice(), drop_number))
    refused(
        response,
        "0092",
        "Errore in validazione XSD: Element 'ImportoTotaleDocumento': This element is not expected. "
        "Expected is ( Numero ).",
    )


def test_0092_for_a_bad_value(client: FlaskClient) -> None:
    def bad_date(root: etree._Element) -> None:
        element(
            root, "FatturaElettronicaBody", "DatiGenerali", "DatiGeneraliDocumento", "Data"
        ).text = "01/03/2026"

    response = upload(client, token(client), edit(invoice(), bad_date))
    body = response.get_json()
    assert body["errorCode"] == "0092"
    assert body["errorDescription"].startswith(
        "Errore in validazione XSD: Element 'Data': '01/03/2026' is not a"
    )
    assert body["uploadFileName"] is None


def test_0092_for_an_uploaded_signed_file_too(client: FlaskClient, sandbox: Sandbox) -> None:
    xml = edit(invoice(), lambda root: element(root, "FatturaElettronicaHeader").set("x", "1"))
    response = upload(client, token(client), sandbox.signer.make_p7m(xml), signed=True)
    assert response.get_json()["errorCode"] == "0092"


# -- 0093 and self-billing (§7.2) ------------------------------------------------------------------


def test_0093_the_supplier_is_another_aruba_account(client: FlaskClient) -> None:
    refused(upload(client, token(client), invoice(supplier_vat=OTHER_VAT)), "0093")


def test_0093_self_billing_for_another_aruba_account(client: FlaskClient) -> None:
    xml = self_billing("CC", supplier=CUSTOMER_VAT, customer=OTHER_VAT)
    refused(upload(client, token(client), xml), "0093")


def test_0093_a_third_party_issuer_is_not_accepted(client: FlaskClient) -> None:
    xml = self_billing("TZ", supplier=SANDBOX_VAT, customer=CUSTOMER_VAT)
    refused(upload(client, token(client), xml), "0093")


def test_any_of_the_accounts_vat_numbers_may_issue(client: FlaskClient, sandbox: Sandbox) -> None:
    row = processed(client, sandbox, upload(client, token(client), invoice(supplier_vat=SANDBOX_VAT_2)))
    assert row["status"] == "Inviata"


def test_self_billing_cc_for_the_account_is_sent(client: FlaskClient, sandbox: Sandbox) -> None:
    xml = self_billing("CC", supplier=CUSTOMER_VAT, customer=SANDBOX_VAT)
    row = processed(client, sandbox, upload(client, token(client), xml))
    assert row["status"] == "Inviata"
    assert row["sender"]["vatCode"] == CUSTOMER_VAT


def test_self_billing_cc_for_someone_else_fails_with_fatrsm205(client: FlaskClient, sandbox: Sandbox) -> None:
    xml = self_billing("CC", supplier=SANDBOX_VAT, customer=CUSTOMER_VAT)
    row = processed(client, sandbox, upload(client, token(client), xml))
    assert row["status"] == "Errore Elaborazione"
    assert row["description"] == "FATRSM205 - Partita IVA non associato ad un utente Aruba"


# -- 0094 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "xml",
    [
        invoice(transmitter="01234567890"),
        edit(invoice(), lambda root: _set(root, "SM", "DatiTrasmissione", "IdTrasmittente", "IdPaese")),
        with_contacts("0612345678", None),
        with_contacts(None, "contatti@example.com"),
        with_contacts("05750505", "info@arubapec.com"),
    ],
    ids=["id", "country", "phone", "email", "email domain"],
)
def test_0094_transmitter_not_aruba_pec(client: FlaskClient, xml: bytes) -> None:
    refused(upload(client, token(client), xml), "0094")


@pytest.mark.parametrize(
    ("phone", "email"), [("05750505", "info@arubapec.it"), (None, "INFO@ArubaPec.it"), ("05750505", None)]
)
def test_arubas_own_contacts_are_accepted(client: FlaskClient, phone: str | None, email: str | None) -> None:
    assert upload(client, token(client), with_contacts(phone, email)).get_json()["errorCode"] == "0000"


# -- 0097 -----------------------------------------------------------------------------------------


def test_0097_the_accounts_space_is_used_up(client: FlaskClient, sandbox: Sandbox) -> None:
    tok = token(client)
    first = uploaded_name(upload(client, tok, invoice()))
    used = len(sent_file(sandbox, first)["content"])
    second = invoice(seed=2, number="B-2")
    needed = used + len(second)
    set_max_space_kb(sandbox, (needed - 1) // 1024)
    refused(upload(client, tok, second), "0097")
    set_max_space_kb(sandbox, -(-needed // 1024))
    assert upload(client, tok, second).get_json()["errorCode"] == "0000"


# -- order of the synchronous checks ---------------------------------------------------------------


def test_the_schema_is_checked_before_the_transmitter(client: FlaskClient) -> None:
    xml = edit(
        invoice(transmitter="01234567890"), lambda r: element(r, "FatturaElettronicaHeader").set("x", "1")
    )
    assert upload(client, token(client), xml).get_json()["errorCode"] == "0092"


def test_the_transmitter_is_checked_before_the_issuer(client: FlaskClient) -> None:
    refused(upload(client, token(client), invoice(transmitter="01234567890", supplier_vat=OTHER_VAT)), "0094")


def test_the_issuer_is_checked_before_the_space_and_the_space_before_duplicates(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    tok = token(client)
    xml = invoice()
    uploaded_name(upload(client, tok, xml))
    set_max_space_kb(sandbox, 1)
    refused(upload(client, tok, invoice(seed=5, supplier_vat=OTHER_VAT)), "0093")
    refused(upload(client, tok, xml), "0097")


# -- sandbox triggers -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["0001", "0013", "0095", "0033", "0034"])
def test_server_side_failures_are_reached_through_a_trigger(client: FlaskClient, code: str) -> None:
    refused(upload(client, token(client), invoice(causale=f"Prova SANDBOX:ARUBA:{code}")), code)


def test_a_trigger_comes_before_the_schema_and_is_case_insensitive(client: FlaskClient) -> None:
    xml = edit(
        invoice(causale="sandbox:aruba:0095"), lambda r: element(r, "FatturaElettronicaHeader").set("x", "1")
    )
    refused(upload(client, token(client), xml), "0095")


@pytest.mark.parametrize("causale", ["SANDBOX:ARUBA:0000", "SANDBOX:ARUBA:0092", "SANDBOX:ARUBA:9999"])
def test_other_trigger_codes_are_ignored(client: FlaskClient, sandbox: Sandbox, causale: str) -> None:
    row = processed(client, sandbox, upload(client, token(client), invoice(causale=causale)))
    assert row["status"] == "Inviata"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "FATRSM201",
            "FATRSM201 - Errore nella validazione formale della Fattura verificare il file XML, "
            "contattare l’assistenza",
        ),
        ("FATRSM208", "FATRSM208 - User non trovata contattare l’assistenza"),
        ("FATRSM217", "FATRSM217 - User non trovata contattare l’assistenza"),
        ("FATRSM218", "FATRSM218 - Delega non trovata contattare l’assistenza"),
        ("FATRSM403", "FATRSM403 - Utenza ARUBA disabilitata, contattare l’assistenza"),
    ],
)
def test_asynchronous_failures_are_reached_through_a_trigger(
    client: FlaskClient, sandbox: Sandbox, code: str, message: str
) -> None:
    row = processed(client, sandbox, upload(client, token(client), invoice(causale=f"SANDBOX:ARUBA:{code}")))
    assert row["status"] == "Errore Elaborazione"
    assert row["description"] == message
    assert row["sdi_file_name"] is None


# -- asynchronous checks --------------------------------------------------------------------------


def test_fatrsm202_supplier_vat_missing(client: FlaskClient, sandbox: Sandbox) -> None:
    def blank_vat(root: etree._Element) -> None:
        element(
            root,
            "FatturaElettronicaHeader",
            "CedentePrestatore",
            "DatiAnagrafici",
            "IdFiscaleIVA",
            "IdCodice",
        ).text = " "

    row = processed(client, sandbox, upload(client, token(client), edit(invoice(), blank_vat)))
    assert row["status"] == "Errore Elaborazione"
    assert row["description"] == "FATRSM202 - Partita IVA o Paese del Cedente/Prestatore non presente"


def test_fatrsm205_supplier_vat_of_no_aruba_account(client: FlaskClient, sandbox: Sandbox) -> None:
    row = processed(client, sandbox, upload(client, token(client), invoice(supplier_vat=OUTSIDE_VAT)))
    assert row["status"] == "Errore Elaborazione"
    assert row["description"] == "FATRSM205 - Partita IVA non associato ad un utente Aruba"
    assert row["updated_at"] == dt.datetime.fromisoformat(START) + dt.timedelta(seconds=60)


def test_fatrsm212_an_extra_schema_check(client: FlaskClient, sandbox: Sandbox) -> None:
    row = processed(client, sandbox, upload(client, token(client), invoice(customer_vat="01879020518")))
    assert row["status"] == "Errore Elaborazione"
    assert row["description"] == "FATRSM212 - Errore di validazione: 00305 - 1.4.1.1.2 <IdCodice> non valido"


def test_fatrsm212_reports_the_lowest_code(client: FlaskClient, sandbox: Sandbox) -> None:
    xml = invoice(customer_vat="01879020518", number="ABC", issue_date=dt.date(2026, 3, 9))
    row = processed(client, sandbox, upload(client, token(client), xml))
    assert row["description"] == "FATRSM212 - Errore di validazione: 00305 - 1.4.1.1.2 <IdCodice> non valido"


def test_fatrsm212_date_after_the_processing_instant(client: FlaskClient, sandbox: Sandbox) -> None:
    row = processed(client, sandbox, upload(client, token(client), invoice(issue_date=dt.date(2026, 3, 3))))
    assert row["description"] == (
        "FATRSM212 - Errore di validazione: 00403 - 2.1.1.3 <Data> successiva alla data di ricezione"
    )


def test_sdi_checks_outside_arubas_list_are_left_to_the_sdi(client: FlaskClient, sandbox: Sandbox) -> None:
    def wrong_total(root: etree._Element) -> None:
        element(
            root, "FatturaElettronicaBody", "DatiBeniServizi", "DettaglioLinee", "PrezzoTotale"
        ).text = "1.00"

    name = uploaded_name(upload(client, token(client), edit(invoice(), wrong_total)))
    advance(client, 60)
    assert sent_file(sandbox, name)["status"] == "Inviata"
    advance(client, 300)
    assert sent_file(sandbox, name)["status"] == "Scartata"  # 00423, from the SDI


def test_a_simplified_invoice_is_sent(client: FlaskClient, sandbox: Sandbox) -> None:
    row = processed(client, sandbox, upload(client, token(client), simplified_invoice()))
    assert row["status"] == "Inviata"
    assert row["invoice_type"] == "FSM10"


def test_fatrsm212_uses_the_simplified_invoices_message(client: FlaskClient, sandbox: Sandbox) -> None:
    row = processed(client, sandbox, upload(client, token(client), simplified_invoice(rate="0.22")))
    assert row["description"] == (
        "FATRSM212 - Errore di validazione: 00424 - 2.2.3.2 <Aliquota> non indicata in termini percentuali"
    )


def test_the_simplified_invoice_schema_applies(client: FlaskClient) -> None:
    body = upload(client, token(client), simplified_invoice(amount="12")).get_json()
    assert body["errorCode"] == "0092"
    assert "Importo" in body["errorDescription"]


def test_fatrsm_checks_run_in_order(client: FlaskClient, sandbox: Sandbox) -> None:
    """An unsigned XML whose supplier is nobody's: the signature is checked first."""
    response = upload(client, token(client), invoice(supplier_vat=OUTSIDE_VAT), signed=True)
    row = processed(client, sandbox, response)
    assert row["description"] == "FATRSM302 - Verifica della firma o firma errata in fattura"


# -- the extra-schema checks, one by one ----------------------------------------------------------


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    new = etree.SubElement(parent, name)
    new.text = text
    return new


def _body(root: etree._Element, *path: str) -> etree._Element:
    return element(root, "FatturaElettronicaBody", *path)


def _line(root: etree._Element) -> etree._Element:
    return _body(root, "DatiBeniServizi", "DettaglioLinee")


def _document(root: etree._Element) -> etree._Element:
    return _body(root, "DatiGenerali", "DatiGeneraliDocumento")


# What follows DatiCassaPrevidenziale and ScontoMaggiorazione in DatiGeneraliDocumento (schema order).
_AFTER_FUNDS = ("ScontoMaggiorazione", "ImportoTotaleDocumento", "Arrotondamento", "Causale", "Art73")


def _document_child(root: etree._Element, name: str) -> etree._Element:
    """A new ``name`` in DatiGeneraliDocumento where the schema wants it (the SDI checks the XSD first)."""
    document = _document(root)
    new = etree.Element(name)
    following = _AFTER_FUNDS[_AFTER_FUNDS.index(name) + 1 :] if name in _AFTER_FUNDS else _AFTER_FUNDS
    anchor = next(
        (c for c in document if isinstance(c.tag, str) and etree.QName(c).localname in following), None
    )
    if anchor is None:
        document.append(new)
    else:
        anchor.addprevious(new)
    return new


def _fund(root: etree._Element, rate: str, *, withholding: bool = False) -> None:
    fund = _document_child(root, "DatiCassaPrevidenziale")
    for name, value in (
        ("TipoCassa", "TC22"),
        ("AlCassa", "4.00"),
        ("ImportoContributoCassa", "10.00"),
        ("AliquotaIVA", rate),
    ):
        _sub(fund, name, value)
    if withholding:
        _sub(fund, "Ritenuta", "SI")


def _summary(root: etree._Element, rate: str, nature: str | None, chargeability: str = "I") -> None:
    summary = add_after(_body(root, "DatiBeniServizi"), "DatiRiepilogo", "DatiRiepilogo")
    _sub(summary, "AliquotaIVA", rate)
    if nature:
        _sub(summary, "Natura", nature)
    _sub(summary, "ImponibileImporto", "10.00")
    _sub(summary, "Imposta", "0.00")
    _sub(summary, "EsigibilitaIVA", chargeability)


def _zero_line(root: etree._Element, nature: str) -> None:
    line = add_after(_body(root, "DatiBeniServizi"), "DettaglioLinee", "DettaglioLinee")
    for name, value in (
        ("NumeroLinea", "9"),
        ("Descrizione", "Esente"),
        ("PrezzoUnitario", "10.00"),
        ("PrezzoTotale", "10.00"),
        ("AliquotaIVA", "0.00"),
        ("Natura", nature),
    ):
        _sub(line, name, value)


def _linked(root: etree._Element, day: str) -> None:
    element(_document(root), "TipoDocumento").text = "TD04"
    linked = add_after(_body(root, "DatiGenerali"), "DatiGeneraliDocumento", "DatiFattureCollegate")
    _sub(linked, "IdDocumento", "FV-1")
    _sub(linked, "Data", day)


def _line_discount(root: etree._Element) -> None:
    discount = etree.Element("ScontoMaggiorazione")
    _sub(discount, "Tipo", "SC")
    element(_line(root), "PrezzoTotale").addprevious(discount)


ORDINARY_CASES: dict[str, Callable[[etree._Element], None]] = {
    "00411": lambda r: _sub(_line(r), "Ritenuta", "SI"),
    "00413": lambda r: _fund(r, "0.00"),
    "00415": lambda r: _fund(r, "22.00", withholding=True),
    "00418": lambda r: _linked(r, "2026-03-02"),
    "00420": lambda r: _zero_line(r, "N6.3") or _summary(r, "0.00", "N6.3", "S"),
    "00429": lambda r: _summary(r, "0.00", None),
    "00430": lambda r: _summary(r, "22.00", "N4"),
    "00437": lambda r: _sub(_document_child(r, "ScontoMaggiorazione"), "Tipo", "MG"),
    "00438": _line_discount,
    "00443": lambda r: _summary(r, "10.00", None),
    "00444": lambda r: _zero_line(r, "N1") or _summary(r, "0.00", "N4"),
    "00445": lambda r: _zero_line(r, "N2") or _summary(r, "0.00", "N2"),
}


def _extra_error(sandbox: Sandbox, xml: bytes) -> str | None:
    root = parse_xml(xml)
    return extra_checks.extra_schema_error(
        sandbox.engine.validator,
        "IT01879020517_abcde.xml",
        xml,
        root,
        parse_invoice(root),
        dt.datetime.fromisoformat(START),
    )


@pytest.mark.parametrize("code", sorted(ORDINARY_CASES))
def test_each_extra_schema_check_of_an_ordinary_invoice(sandbox: Sandbox, code: str) -> None:
    xml = edit(invoice(), ORDINARY_CASES[code])
    assert _extra_error(sandbox, xml) == f"{code} - {extra_checks.MESSAGES[code][0]}"


@pytest.mark.parametrize(
    ("xml", "code"),
    [
        (simplified_invoice(rate="0.00"), "00400"),
        (simplified_invoice(nature="N4"), "00401"),
        (simplified_invoice(rate="0.50"), "00424"),
        (simplified_invoice(rate="0.00", nature="N2"), "00445"),
        (simplified_invoice(amount="400.01"), "00460"),
    ],
)
def test_each_extra_schema_check_of_a_simplified_invoice(sandbox: Sandbox, xml: bytes, code: str) -> None:
    ordinary, simplified = extra_checks.MESSAGES[code]
    assert _extra_error(sandbox, xml) == f"{code} - {simplified or ordinary}"


def test_a_simplified_invoice_may_exceed_the_limit_when_it_corrects_another(sandbox: Sandbox) -> None:
    def correcting(root: etree._Element) -> None:
        corrected = _sub(_body(root, "DatiGenerali"), "DatiFatturaRettificata")
        for name, value in (
            ("NumeroFR", "S-0"),
            ("DataFR", "2026-02-01"),
            ("ElementiRettificati", "Importo"),
        ):
            _sub(corrected, name, value)

    assert _extra_error(sandbox, simplified_invoice(amount="400.00")) is None
    assert _extra_error(sandbox, edit(simplified_invoice(amount="500.00"), correcting)) is None


def test_generic_natures_are_allowed_before_2021(sandbox: Sandbox) -> None:
    def old(root: etree._Element) -> None:
        ORDINARY_CASES["00445"](root)
        element(_document(root), "Data").text = "2020-12-31"

    assert _extra_error(sandbox, edit(invoice(), old)) is None
