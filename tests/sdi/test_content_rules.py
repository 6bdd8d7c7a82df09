"""The SDI's content checks (``emulator.sdi.content_rules``) as the validator and the engine report them:
for each code, a file that breaks the rule and one that respects it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from lxml import etree
from sqlalchemy.orm import Session

from emulator.core.xmlsafe import parse_xml
from emulator.sdi.content_rules import ordinary_findings, simplified_findings
from emulator.sdi.fatturapa import children
from emulator.sdi.generator import DOCUMENT_TYPES, InvoiceGenerator
from emulator.sdi.lifecycle import State
from emulator.sdi.notifications import parse_notification
from emulator.sdi.validation import ERROR_CATALOGUE, SIMPLIFIED_CATALOGUE, SdiError, SdiValidator, describe
from emulator.state import Sandbox

from .reference import XSD_DIR, require
from .test_fatturapa import FSM_INVOICE
from .test_validation import (
    DOCUMENT,
    FPR01,
    LINE,
    SUMMARY,
    Mutation,
    insert_after,
    insert_before,
    mutate,
    run,
    set_text,
)

FSM_NAME = "IT03339130126_00001.xml"
FSM_GOODS = "FatturaElettronicaBody/DatiBeniServizi"

# -- building blocks (in the schema's order, so that the XSD check lets the file through) ---------


def line(number: int, rate: str, nature: str | None = None, price: str = "10.00") -> Mutation:
    """One more DettaglioLinee, right after the first."""
    natura = f"<Natura>{nature}</Natura>" if nature else ""
    return insert_after(
        LINE,
        f"<DettaglioLinee><NumeroLinea>{number}</NumeroLinea><Descrizione>RIGA {number}</Descrizione>"
        f"<PrezzoUnitario>{price}</PrezzoUnitario><PrezzoTotale>{price}</PrezzoTotale>"
        f"<AliquotaIVA>{rate}</AliquotaIVA>{natura}</DettaglioLinee>",
    )


def summary(
    rate: str, nature: str | None = None, *, taxable: str = "10.00", chargeability: str = ""
) -> Mutation:
    """One more DatiRiepilogo, right after the first."""
    natura = f"<Natura>{nature}</Natura>" if nature else ""
    esigibilita = f"<EsigibilitaIVA>{chargeability}</EsigibilitaIVA>" if chargeability else ""
    return insert_after(
        SUMMARY,
        f"<DatiRiepilogo><AliquotaIVA>{rate}</AliquotaIVA>{natura}<ImponibileImporto>{taxable}"
        f"</ImponibileImporto><Imposta>0.00</Imposta>{esigibilita}</DatiRiepilogo>",
    )


def fund(rate: str, nature: str | None = None, *, withheld: bool = False) -> Mutation:
    """A DatiCassaPrevidenziale right after Numero (apply before ``withholding``, which precedes it)."""
    ritenuta = "<Ritenuta>SI</Ritenuta>" if withheld else ""
    natura = f"<Natura>{nature}</Natura>" if nature else ""
    return insert_after(
        f"{DOCUMENT}/Numero",
        "<DatiCassaPrevidenziale><TipoCassa>TC22</TipoCassa><AlCassa>4.00</AlCassa>"
        f"<ImportoContributoCassa>0.20</ImportoContributoCassa><AliquotaIVA>{rate}</AliquotaIVA>"
        f"{ritenuta}{natura}</DatiCassaPrevidenziale>",
    )


WITHHOLDING = insert_after(
    f"{DOCUMENT}/Numero",
    "<DatiRitenuta><TipoRitenuta>RT01</TipoRitenuta><ImportoRitenuta>1.00</ImportoRitenuta>"
    "<AliquotaRitenuta>20.00</AliquotaRitenuta><CausalePagamento>A</CausalePagamento></DatiRitenuta>",
)
WITHHELD_LINE = insert_after(f"{LINE}/AliquotaIVA", "<Ritenuta>SI</Ritenuta>")
CREDIT_NOTE = set_text(f"{DOCUMENT}/TipoDocumento", "TD04")
DATED_2024 = set_text(f"{DOCUMENT}/Data", "2024-05-01")


def linked_invoice(day: str) -> Mutation:
    return insert_after(
        "FatturaElettronicaBody/DatiGenerali/DatiContratto",
        f"<DatiFattureCollegate><IdDocumento>FV-1</IdDocumento><Data>{day}</Data></DatiFattureCollegate>",
    )


def document_discount(amounts: str) -> Mutation:
    return insert_before(
        f"{DOCUMENT}/Causale", f"<ScontoMaggiorazione><Tipo>SC</Tipo>{amounts}</ScontoMaggiorazione>"
    )


def line_discount(amounts: str) -> Mutation:
    return insert_after(
        f"{LINE}/PrezzoUnitario", f"<ScontoMaggiorazione><Tipo>MG</Tipo>{amounts}</ScontoMaggiorazione>"
    )


# code, mutations breaking the rule, the description, mutations of a file that respects it
ORDINARY_CASES: list[tuple[str, list[Mutation], str, list[Mutation]]] = [
    (
        "00411",
        [WITHHELD_LINE],
        "2.1.1.5 <DatiRitenuta> non presente a fronte di almeno un blocco 2.2.1 <DettaglioLinee> con "
        "2.2.1.13 <Ritenuta> uguale a SI",
        [WITHHELD_LINE, WITHHOLDING],
    ),
    (
        "00413",
        [fund("0.00")],
        "2.1.1.7.7 <Natura> non presente a fronte di 2.1.1.7.5 <AliquotaIVA> pari a zero : 0.00",
        [fund("0.00", "N4"), summary("0.00", "N4", taxable="0.20")],
    ),
    (
        "00415",
        [fund("22.00", withheld=True)],
        "2.1.1.5 <DatiRitenuta> non presente a fronte di 2.1.1.7.6 <Ritenuta> uguale a SI",
        [fund("22.00", withheld=True), WITHHOLDING],
    ),
    (
        "00418",
        [CREDIT_NOTE, linked_invoice("2014-12-19")],
        "2.1.1.3 <Data> antecedente a 2.1.6.3 <Data> : 2014-12-18",
        [CREDIT_NOTE, linked_invoice("2014-12-18")],
    ),
    (
        "00420",
        [line(2, "0.00", "N6.3"), summary("0.00", "N6.3", chargeability="S")],
        "2.2.2.2 <Natura> con valore N6 (inversione contabile) a fronte di 2.2.2.7 <EsigibilitaIVA> uguale "
        "a S (scissione pagamenti) : N6.3",
        [line(2, "0.00", "N6.3"), summary("0.00", "N6.3", chargeability="I")],
    ),
    (
        "00429",
        [line(2, "0.00", "N4"), summary("0.00", "N4"), summary("0.00", taxable="0.00")],
        "2.2.2.2 <Natura> non presente a fronte di 2.2.2.1 <AliquotaIVA> pari a zero : 0.00",
        [line(2, "0.00", "N4"), summary("0.00", "N4")],
    ),
    (
        "00430",
        [
            line(2, "0.00", "N4"),
            summary("0.00", "N4"),
            insert_after(f"{SUMMARY}/AliquotaIVA", "<Natura>N4</Natura>"),
        ],
        "2.2.2.2 <Natura> presente a fronte di 2.2.2.1 <AliquotaIVA> diversa da zero : N4",
        [line(2, "0.00", "N4"), summary("0.00", "N4")],
    ),
    (
        "00437",
        [document_discount("")],
        "2.1.1.8.2 <Percentuale> e 2.1.1.8.3 <Importo> non presenti a fronte di 2.1.1.8.1 <Tipo> valorizzato "
        ": SC",
        [document_discount("<Percentuale>10.00</Percentuale>")],
    ),
    (
        "00438",
        [line_discount("")],
        "2.2.1.10.2 <Percentuale> e 2.2.1.10.3 <Importo> non presenti a fronte di 2.2.1.10.1 <Tipo> "
        "valorizzato : MG",
        [
            line_discount("<Importo>0.20</Importo>"),
            set_text(f"{LINE}/PrezzoTotale", "6.00"),
            set_text(f"{SUMMARY}/ImponibileImporto", "6.00"),
        ],
    ),
    (
        "00443",
        [summary("10.00")],
        "Non c'è corrispondenza tra i valori indicati nell'elemento 2.2.1.12 <AliquotaIVA> o 2.1.1.7.5 "
        "<AliquotaIVA> e quelli dell'elemento 2.2.2.1 <AliquotaIVA> : 10.00",
        [line(2, "10.00"), summary("10.00")],
    ),
    (
        "00444",
        [line(2, "0.00", "N1"), summary("0.00", "N4")],
        "Non c'è corrispondenza tra i valori indicati nell'elemento 2.2.1.14 <Natura> o 2.1.1.7.7 <Natura> "
        "e quelli dell'elemento 2.2.2.2 <Natura> : N1",
        [line(2, "0.00", "N1"), summary("0.00", "N1")],
    ),
    (
        "00445",
        [DATED_2024, line(2, "0.00", "N2"), summary("0.00", "N2")],
        "Non è più ammesso il valore generico N2, N3 o N6 come codice natura dell'operazione : N2",
        [DATED_2024, line(2, "0.00", "N2.2"), summary("0.00", "N2.2")],
    ),
]


def fsm(*mutations: Mutation) -> bytes:
    root = etree.fromstring(FSM_INVOICE)
    for mutation in mutations:
        mutation(root)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


FSM_RATE = f"{FSM_GOODS}/DatiIVA/Aliquota"
FSM_NATURE_N4 = insert_after(f"{FSM_GOODS}/DatiIVA", "<Natura>N4</Natura>")

SIMPLIFIED_CASES: list[tuple[str, list[Mutation], str, list[Mutation]]] = [
    (
        "00400",
        [set_text(FSM_RATE, "0.00")],
        "2.2.4 <Natura> non presente a fronte di 2.2.3.2 <Aliquota> pari a zero : 0.00",
        [set_text(FSM_RATE, "0.00"), FSM_NATURE_N4],
    ),
    (
        "00401",
        [FSM_NATURE_N4],
        "2.2.4 <Natura> presente a fronte di 2.2.3.2 <Aliquota> diversa da zero : N4",
        [set_text(FSM_RATE, "0.00"), FSM_NATURE_N4],
    ),
    (
        "00424",
        [set_text(FSM_RATE, "0.22")],
        "2.2.3.2 <Aliquota> non indicata in termini percentuali : 0.22",
        [set_text(FSM_RATE, "4.00")],
    ),
    (
        "00445",
        [set_text(f"{FSM_GOODS}[2]/Natura", "N2")],
        "Non è più ammesso il valore generico N2 o N3 come codice natura dell'operazione : N2",
        [set_text(f"{FSM_GOODS}[2]/Natura", "N2.1")],
    ),
    (
        "00460",
        [set_text(f"{FSM_GOODS}/Importo", "398.51")],
        "Importo totale superiore al limite previsto per le fatture semplificate ai sensi del DPR 633/72, "
        "art. 21 bis : 400.01",
        [set_text(f"{FSM_GOODS}/Importo", "398.50")],
    ),
]


def _ids(cases: list[tuple[str, list[Mutation], str, list[Mutation]]]) -> list[str]:
    return [case[0] for case in cases]


@pytest.fixture(scope="module", params=["xsd", "structural"])
def validator(request: pytest.FixtureRequest) -> SdiValidator:
    """The rules must hold with the official XSD (the test files are schema-valid) and without it."""
    return SdiValidator(require(XSD_DIR)) if request.param == "xsd" else SdiValidator(None)


def only(errors: list[SdiError]) -> SdiError:
    assert len(errors) == 1, errors
    return errors[0]


# -- one rule at a time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "breaking", "description", "respecting"), ORDINARY_CASES, ids=_ids(ORDINARY_CASES)
)
def test_an_ordinary_invoice_breaking_the_rule_is_rejected(
    validator: SdiValidator, code: str, breaking: list[Mutation], description: str, respecting: list[Mutation]
) -> None:
    error = only(run(validator, mutate(*breaking)))
    assert (error.code, error.description) == (code, description)
    assert error.suggestion == ERROR_CATALOGUE[code][1]
    assert run(validator, mutate(*respecting)) == []


@pytest.mark.parametrize(
    ("code", "breaking", "description", "respecting"), SIMPLIFIED_CASES, ids=_ids(SIMPLIFIED_CASES)
)
def test_a_simplified_invoice_breaking_the_rule_is_rejected(
    validator: SdiValidator, code: str, breaking: list[Mutation], description: str, respecting: list[Mutation]
) -> None:
    error = only(run(validator, fsm(*breaking), FSM_NAME))
    assert (error.code, error.description) == (code, description)
    wording = SIMPLIFIED_CATALOGUE.get(code, ERROR_CATALOGUE[code])
    assert error.suggestion == wording[1]
    assert run(validator, fsm(*respecting), FSM_NAME) == []


# -- details of the rules -----------------------------------------------------------------------


def test_generic_natures_are_allowed_before_2021(validator: SdiValidator) -> None:
    assert run(validator, mutate(line(2, "0.00", "N2"), summary("0.00", "N2"))) == []  # dated 2014-12-18
    old_fsm = fsm(
        set_text(f"{FSM_GOODS}[2]/Natura", "N3"), set_text("*//DatiGeneraliDocumento/Data", "2020-12-31")
    )
    assert run(validator, old_fsm, FSM_NAME) == []


def test_each_generic_nature_is_quoted_once(validator: SdiValidator) -> None:
    content = mutate(
        DATED_2024,
        line(3, "0.00", "N3"),
        line(2, "0.00", "N2"),
        summary("0.00", "N3"),
        summary("0.00", "N2"),
    )
    generic = "Non è più ammesso il valore generico N2, N3 o N6 come codice natura dell'operazione"
    assert [(e.code, e.description) for e in run(validator, content)] == [
        ("00445", f"{generic} : N2"),
        ("00445", f"{generic} : N3"),
    ]


def test_a_simplified_invoice_over_the_limit_may_correct_another(validator: SdiValidator) -> None:
    correcting = insert_after(
        "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento",
        "<DatiFatturaRettificata><NumeroFR>S-0</NumeroFR><DataFR>2024-02-01</DataFR>"
        "<ElementiRettificati>Importo</ElementiRettificati></DatiFatturaRettificata>",
    )
    assert run(validator, fsm(set_text(f"{FSM_GOODS}/Importo", "500.00"), correcting), FSM_NAME) == []


def test_a_simplified_invoice_uses_the_ordinary_wording_where_the_sdi_has_no_other() -> None:
    assert describe("00460", "500.00", simplified=True) == describe("00460", "500.00")
    assert describe("00424", "0.22", simplified=True).description == (
        "2.2.3.2 <Aliquota> non indicata in termini percentuali : 0.22"
    )
    assert set(SIMPLIFIED_CATALOGUE) <= set(ERROR_CATALOGUE)
    assert all(suggestion.startswith("Verificare") for _, suggestion in SIMPLIFIED_CATALOGUE.values())


def test_the_rules_report_with_the_other_checks(validator: SdiValidator) -> None:
    """The content errors follow the body's other errors; the order of those stays as it was."""
    content = mutate(set_text(f"{DOCUMENT}/Numero", "ABC"), summary("10.00"))
    assert [e.code for e in run(validator, content, duplicate_invoice=True)] == ["00425", "00443", "00404"]


def test_generated_invoices_respect_the_rules() -> None:
    """The generator (tests, control API, Aruba simulator) writes invoices the SDI accepts."""
    generator = InvoiceGenerator(7)
    for kind in DOCUMENT_TYPES:
        for pa in (False, True):
            for _ in range(8):
                generated = generator.generate(pa=pa, document_type=kind, issue_date=dt.date(2026, 3, 1))
                for body in children(parse_xml(generated.xml), "FatturaElettronicaBody"):
                    assert list(ordinary_findings(body)) == [], generated.xml.decode()


def test_the_official_simplified_sample_respects_the_rules() -> None:
    for body in children(parse_xml(FSM_INVOICE), "FatturaElettronicaBody"):
        assert list(simplified_findings(body)) == []


# -- through the engine: the NotificaScarto lists the error -------------------------------------


@pytest.fixture
def session(sandbox: Sandbox) -> Iterator[Session]:
    with sandbox.transaction() as s:
        yield s


@pytest.mark.parametrize(
    ("name", "content", "code", "description"),
    [
        (FPR01, mutate(*ORDINARY_CASES[-1][1]), "00445", ORDINARY_CASES[-1][2]),
        (FPR01, mutate(*ORDINARY_CASES[3][1]), "00418", ORDINARY_CASES[3][2]),
        (FSM_NAME, fsm(*SIMPLIFIED_CASES[-1][1]), "00460", SIMPLIFIED_CASES[-1][2]),
        (FSM_NAME, fsm(*SIMPLIFIED_CASES[0][1]), "00400", SIMPLIFIED_CASES[0][2]),
    ],
)
def test_the_sdi_sends_ns_with_the_rules_code(
    sandbox: Sandbox, session: Session, name: str, content: bytes, code: str, description: str
) -> None:
    reception = sandbox.engine.receive(
        session, file_name=name, content=content, channel="test", sender_account_id=None
    )
    assert [(e.code, e.description) for e in reception.errors] == [(code, description)]
    sandbox.engine.process_due(session, reception.invoice.received_at + dt.timedelta(seconds=300))
    assert reception.invoice.state == State.REJECTED.value
    (notification,) = [n for n in reception.invoice.notifications if n.type == "NS"]
    errors = parse_notification(notification.content).errors
    assert [(e.code, e.description) for e in errors] == [(code, description)]
