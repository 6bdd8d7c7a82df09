"""The SDI's side of the esito committente: an EC forwarded as an NE, or discarded with an SE."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator

import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.sdi.engine import EsitoCommittente, EsitoOutcome
from emulator.sdi.lifecycle import Flow
from emulator.sdi.models import SdiEvent, SdiInvoice, SdiNotification
from emulator.sdi.notifications import (
    MessageType,
    NotificationData,
    load_messaggi_schema,
    parse_notification,
    render_notification,
)
from emulator.sdi.outcomes import EsitoFields, esito_format_problem
from emulator.sdi.signing import unwrap_p7m
from emulator.state import Sandbox
from tests.conftest import XSD_DIR
from tests.providers.aruba.helpers import invoice

FPA_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
OTHER_VAT = "18302640505"  # aruba/other, a public administration (office UFK3RB)
NUMBER = "FT-7/2026"
DAY = 86400


@pytest.fixture
def session(sandbox: Sandbox) -> Iterator[Session]:
    with sandbox.transaction() as s:
        yield s


@pytest.fixture
def schema() -> etree.XMLSchema:
    if not XSD_DIR.is_dir():
        pytest.skip("reference schemas not available")
    return load_messaggi_schema(XSD_DIR)


def deliver(sandbox: Sandbox, session: Session, xml: bytes | None = None, name: str = "00E01") -> SdiInvoice:
    content = xml or invoice(pa=True, number=NUMBER, customer_vat=OTHER_VAT, recipient_code="UFK3RB")
    reception = sandbox.engine.deliver_incoming(
        session, file_name=f"IT01879020517_{name}.xml", content=content, recipient_account_id=None
    )
    assert not reception.errors, reception.errors
    return reception.invoice


def two_bodies() -> bytes:
    """A batch: the same invoice twice, the second numbered FT-8/2026."""
    root = etree.fromstring(invoice(pa=True, number=NUMBER, customer_vat=OTHER_VAT, recipient_code="UFK3RB"))
    body = root.find("FatturaElettronicaBody")
    assert body is not None
    second = copy.deepcopy(body)
    numero = second.find("DatiGenerali/DatiGeneraliDocumento/Numero")
    assert numero is not None
    numero.text = "FT-8/2026"
    body.addnext(second)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def esito(**overrides: object) -> EsitoCommittente:
    values: dict[str, object] = {
        "esito": "EC01",
        "number": NUMBER,
        "year": 2026,
        "position": 1,
        "description": "Fattura conforme",
        "message_id": "MSG-1",
    }
    values.update(overrides)
    return EsitoCommittente(**values)  # type: ignore[arg-type]


def of(invoice_row: SdiInvoice, kind: str, audience: str) -> list[SdiNotification]:
    return [n for n in invoice_row.notifications if n.type == kind and n.audience == audience]


def se_of(outcome: EsitoOutcome) -> tuple[str | None, str | None]:
    parsed = parse_notification(outcome.reply.content)
    assert parsed.message_type is MessageType.SE
    return parsed.scarto, parsed.note


# -- accepted ---------------------------------------------------------------------------------------


def test_accepted_esito_is_forwarded_to_the_supplier_as_an_ne_quoting_the_ec(
    sandbox: Sandbox, session: Session, schema: etree.XMLSchema
) -> None:
    sent = deliver(sandbox, session)
    assert sent.state == "delivered"
    outcome = sandbox.engine.send_esito(session, sent, esito())
    assert outcome.accepted and outcome.scarto is None
    assert sent.state == "accepted"
    ne = outcome.reply
    assert (ne.type, ne.audience, ne.esito) == ("NE", "sender", "EC01")
    assert ne.file_name == "IT01879020517_00E01_NE_001.xml"
    schema.assertValid(etree.fromstring(ne.content))
    assert sandbox.signer.verify_xml(ne.content)
    parsed = parse_notification(ne.content)
    assert (parsed.esito, parsed.invoice_number, parsed.invoice_year, parsed.invoice_position) == (
        "EC01",
        NUMBER,
        2026,
        1,
    )
    assert (parsed.esito_description, parsed.message_id_committente) == ("Fattura conforme", "MSG-1")
    assert parsed.sdi_id == sent.sdi_id


def test_the_ec_is_kept_as_the_recipients_signed_file(
    sandbox: Sandbox, session: Session, schema: etree.XMLSchema
) -> None:
    sent = deliver(sandbox, session)
    outcome = sandbox.engine.send_esito(session, sent, esito(esito="EC02", description=None))
    ec = outcome.esito_file
    assert (ec.type, ec.audience, ec.esito, ec.message_id) == ("EC", "recipient", "EC02", "MSG-1")
    assert ec.file_name == "IT01879020517_00E01_EC_001.xml.p7m"
    xml = unwrap_p7m(ec.content)
    root = etree.fromstring(xml)
    schema.assertValid(root)
    assert etree.QName(root).localname == "NotificaEsitoCommittente"
    assert [etree.QName(c).localname for c in root] == [
        "IdentificativoSdI",
        "RiferimentoFattura",
        "Esito",
        "MessageIdCommittente",
    ]
    assert [c.tag for c in root.find("RiferimentoFattura")] == [  # type: ignore[union-attr]
        "NumeroFattura",
        "AnnoFattura",
        "PosizioneFattura",
    ]
    assert sent.state == "refused"
    assert parse_notification(outcome.reply.content).esito_description is None  # as the EC: none given
    assert of(sent, "EC", "recipient") == [ec]


def test_an_accepted_esito_makes_the_pending_dt_moot(sandbox: Sandbox, session: Session) -> None:
    sent = deliver(sandbox, session)
    sandbox.engine.send_esito(session, sent, esito())
    sandbox.engine.process_due(session, sent.received_at + dt.timedelta(days=16))
    assert sent.state == "accepted"
    assert [n.type for n in sent.notifications] == ["RC", "MT", "EC", "NE"]
    events = session.execute(select(SdiEvent).where(SdiEvent.invoice_id == sent.id)).scalars()
    assert {(e.event, e.status) for e in events} == {("RC", "done"), ("DT", "moot")}


def test_an_unsigned_ec_file_is_read_too(sandbox: Sandbox, session: Session) -> None:
    sent = deliver(sandbox, session)
    data = NotificationData(
        sdi_id=sent.sdi_id,
        invoice_file_name=sent.file_name,
        received_at=sent.received_at,
        message_id="X1",
        invoice_hash=sent.hash,
        esito="EC01",
    )
    xml = render_notification(MessageType.EC, Flow.PA, data, None)
    outcome = sandbox.engine.receive_esito(
        session, sent, file_name="IT01879020517_00E01_EC_001.xml", content=xml
    )
    assert outcome.accepted
    parsed = parse_notification(outcome.reply.content)
    # No RiferimentoFattura in the EC: the esito answers the whole file, and the NE quotes none.
    assert (parsed.invoice_number, parsed.message_id_committente) == (None, None)


# -- batches -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "position", "accepted"),
    [
        ("FT-8/2026", 2, True),
        (NUMBER, 1, True),
        ("FT-8/2026", None, True),  # without a position, any invoice of the file
        ("FT-8/2026", 1, False),  # the first invoice of the batch has another number
        (NUMBER, 3, False),  # there are two invoices
    ],
)
def test_the_reference_names_an_invoice_of_the_batch(
    sandbox: Sandbox, session: Session, number: str, position: int | None, accepted: bool
) -> None:
    sent = deliver(sandbox, session, two_bodies())
    outcome = sandbox.engine.send_esito(session, sent, esito(number=number, position=position))
    assert outcome.accepted is accepted
    assert sent.state == ("accepted" if accepted else "delivered")


# -- discarded (SE) ---------------------------------------------------------------------------------


def test_an_esito_after_the_terms_gets_an_en01_scarto(
    sandbox: Sandbox, session: Session, schema: etree.XMLSchema
) -> None:
    sent = deliver(sandbox, session)
    sandbox.engine.process_due(session, sent.received_at + dt.timedelta(days=15, seconds=1))
    assert sent.state == "expired"
    outcome = sandbox.engine.send_esito(session, sent, esito())
    assert not outcome.accepted
    assert outcome.scarto is not None and outcome.scarto.code == "EN01"
    assert outcome.scarto.note == (
        "Notifica non ammissibile: sono decorsi i termini per l'invio dell'esito: la notifica di "
        "decorrenza termini è già stata inviata"
    )
    se = outcome.reply
    assert (se.type, se.audience, se.file_name) == ("SE", "recipient", "IT01879020517_00E01_SE_001.xml")
    schema.assertValid(etree.fromstring(se.content))
    assert sandbox.signer.verify_xml(se.content)
    parsed = parse_notification(se.content)
    assert (parsed.scarto, parsed.note, parsed.message_id_committente) == (
        "EN01",
        outcome.scarto.note,
        "MSG-1",
    )
    assert (parsed.invoice_number, parsed.invoice_year, parsed.invoice_position) == (NUMBER, 2026, 1)
    assert sent.state == "expired"
    assert [n.type for n in of(sent, "EC", "recipient")] == ["EC"]
    assert not of(sent, "NE", "sender")


def test_a_dt_that_fell_due_runs_out_the_terms_even_before_it_was_processed(
    sandbox: Sandbox, session: Session
) -> None:
    sent = deliver(sandbox, session)
    late = sent.received_at + dt.timedelta(days=15, seconds=1)
    outcome = sandbox.engine.send_esito(session, sent, esito(), at=late)
    assert outcome.scarto is not None and outcome.scarto.code == "EN01"
    assert sent.state == "expired"


def test_an_ec_with_a_byte_order_mark_is_read(sandbox: Sandbox, session: Session) -> None:
    sent = deliver(sandbox, session)
    data = NotificationData(
        sdi_id=sent.sdi_id,
        invoice_file_name=sent.file_name,
        received_at=sent.received_at,
        message_id="X1",
        invoice_hash=sent.hash,
        esito="EC02",
    )
    xml = b"\xef\xbb\xbf" + render_notification(MessageType.EC, Flow.PA, data, None)
    assert sandbox.engine.receive_esito(session, sent, file_name="x_EC_001.xml", content=xml).accepted


def test_a_second_esito_is_discarded(sandbox: Sandbox, session: Session) -> None:
    sent = deliver(sandbox, session)
    sandbox.engine.send_esito(session, sent, esito(esito="EC02"))
    outcome = sandbox.engine.send_esito(session, sent, esito(message_id="MSG-2"))
    assert se_of(outcome) == (
        "EN01",
        "Notifica non ammissibile: per la fattura è già stata inviata una notifica di esito (EC02, rifiuto)",
    )
    assert outcome.esito_file.file_name == "IT01879020517_00E01_EC_002.xml.p7m"
    assert sent.state == "refused"


@pytest.mark.parametrize(
    ("overrides", "reference"),
    [
        ({"number": "FT-9/2026"}, "NumeroFattura FT-9/2026, AnnoFattura 2026, PosizioneFattura 1"),
        ({"year": 2025}, f"NumeroFattura {NUMBER}, AnnoFattura 2025, PosizioneFattura 1"),
        ({"position": 2}, f"NumeroFattura {NUMBER}, AnnoFattura 2026, PosizioneFattura 2"),
        ({"position": None, "year": 2019}, f"NumeroFattura {NUMBER}, AnnoFattura 2019"),
    ],
)
def test_a_reference_outside_the_file_gets_an_en01_scarto(
    sandbox: Sandbox, session: Session, overrides: dict[str, object], reference: str
) -> None:
    sent = deliver(sandbox, session)
    outcome = sandbox.engine.send_esito(session, sent, esito(**overrides))
    assert se_of(outcome) == (
        "EN01",
        f"Notifica non ammissibile: il RiferimentoFattura ({reference}) non corrisponde ad alcuna fattura "
        "del file",
    )
    assert sent.state == "delivered"


def test_an_esito_before_delivery_is_discarded(sandbox: Sandbox, session: Session) -> None:
    reception = sandbox.engine.receive(
        session,
        file_name="IT01879020517_00E02.xml",
        content=invoice(pa=True, number=NUMBER, customer_vat=OTHER_VAT, recipient_code="UFK3RB"),
        channel="test",
        sender_account_id=None,
    )
    outcome = sandbox.engine.send_esito(session, reception.invoice, esito())
    assert se_of(outcome) == (
        "EN01",
        "Notifica non ammissibile: la fattura non risulta consegnata al destinatario",
    )


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"message_id": "M" * 15}, "MessageIdCommittente 'MMMMMMMMMMMMMMM' non valido (da 1 a 14 caratteri)"),
        ({"message_id": ""}, "MessageIdCommittente '' non valido (da 1 a 14 caratteri)"),
        ({"number": "Nº 7"}, "NumeroFattura 'Nº 7' non valido (da 1 a 20 caratteri ASCII)"),
        ({"position": 0}, "PosizioneFattura 0 non valida (intero positivo)"),
        ({"year": -1}, "AnnoFattura -1 non valido"),
    ],
)
def test_an_ec_out_of_format_gets_an_en00_scarto(
    sandbox: Sandbox, session: Session, schema: etree.XMLSchema, overrides: dict[str, object], problem: str
) -> None:
    sent = deliver(sandbox, session)
    outcome = sandbox.engine.send_esito(session, sent, esito(**overrides))
    assert se_of(outcome) == ("EN00", f"Notifica non conforme al formato: {problem}")
    schema.assertValid(etree.fromstring(outcome.reply.content))
    parsed = parse_notification(outcome.reply.content)
    # The EC could not be read reliably: the SE quotes neither its reference nor its message id.
    assert (parsed.invoice_number, parsed.message_id_committente) == (None, None)
    assert outcome.esito_file.esito is None
    assert sent.state == "delivered"


def test_an_unreadable_or_foreign_file_gets_an_en00_scarto(sandbox: Sandbox, session: Session) -> None:
    sent = deliver(sandbox, session)
    garbage = sandbox.engine.receive_esito(session, sent, file_name="x_EC_001.xml.p7m", content=b"garbage")
    scarto, note = se_of(garbage)
    assert scarto == "EN00"
    assert note is not None
    assert note.startswith(
        "Notifica non conforme al formato: il file non è una notifica di esito leggibile ("
    )
    rc = next(n for n in sent.notifications if n.type == "RC")
    foreign = sandbox.engine.receive_esito(session, sent, file_name="x_EC_002.xml", content=rc.content)
    assert se_of(foreign) == (
        "EN00",
        "Notifica non conforme al formato: il file non è una NotificaEsitoCommittente (RicevutaConsegna)",
    )


def test_an_ec_for_another_invoice_gets_an_en01_scarto(sandbox: Sandbox, session: Session) -> None:
    sent = deliver(sandbox, session)
    data = NotificationData(
        sdi_id=sent.sdi_id + 1,
        invoice_file_name=sent.file_name,
        received_at=sent.received_at,
        message_id="X1",
        invoice_hash=sent.hash,
        esito="EC01",
    )
    xml = render_notification(MessageType.EC, Flow.PA, data, None)
    outcome = sandbox.engine.receive_esito(session, sent, file_name="x_EC_001.xml", content=xml)
    assert se_of(outcome) == (
        "EN01",
        f"Notifica non ammissibile: l'IdentificativoSdI {sent.sdi_id + 1} non corrisponde al file "
        f"({sent.sdi_id})",
    )


def test_a_b2b_invoice_has_no_esito(sandbox: Sandbox, session: Session) -> None:
    sent = deliver(sandbox, session, invoice(number=NUMBER, customer_vat=OTHER_VAT))
    with pytest.raises(ValueError, match="only for PA"):
        sandbox.engine.send_esito(session, sent, esito())
    with pytest.raises(ValueError, match="only for PA"):
        sandbox.engine.receive_esito(session, sent, file_name="x_EC_001.xml", content=b"<x/>")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (EsitoFields(sdi_id=1, esito="EC01"), None),
        (EsitoFields(sdi_id=None, esito="EC01"), "IdentificativoSdI assente"),
        (EsitoFields(sdi_id=1, esito="EC03"), "Esito 'EC03' non ammesso (valori ammessi: EC01, EC02)"),
        (
            EsitoFields(sdi_id=1, esito="EC01", number="1"),
            "RiferimentoFattura incompleto: NumeroFattura e AnnoFattura sono entrambi obbligatori",
        ),
        (
            EsitoFields(sdi_id=1, esito="EC01", number="1" * 21, year=2026),
            f"NumeroFattura '{'1' * 21}' non valido (da 1 a 20 caratteri ASCII)",
        ),
        (
            EsitoFields(sdi_id=1, esito="EC01", description="d" * 256),
            "Descrizione più lunga di 255 caratteri",
        ),
    ],
)
def test_format_checks_without_the_schema(fields: EsitoFields, problem: str | None) -> None:
    assert esito_format_problem(fields) == problem


# -- deliver_incoming (shared by the control API and Aruba's simulator) ------------------------------


def test_deliver_incoming_delivers_at_once_to_the_owner(sandbox: Sandbox, session: Session) -> None:
    sent = deliver(sandbox, session)
    assert sent.state == "delivered"
    assert sent.channel == "sdi" and sent.sender_account_id is None
    assert [(n.type, n.audience) for n in sent.notifications] == [("RC", "sender"), ("MT", "recipient")]
    assert sent.recipient_account_id is not None  # found by the customer's VAT (aruba/other)


def test_deliver_incoming_schedules_nothing_for_a_file_the_sdi_rejects(
    sandbox: Sandbox, session: Session
) -> None:
    root = etree.fromstring(invoice(pa=True, customer_vat=OTHER_VAT, recipient_code="UFK3RB"))
    code = root.find("FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici/IdFiscaleIVA/IdCodice")
    assert code is not None
    code.text = "18302640506"  # wrong check digit
    reception = sandbox.engine.deliver_incoming(
        session,
        file_name="IT01879020517_00E03.xml",
        content=etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
        recipient_account_id=None,
    )
    assert [e.code for e in reception.errors] == ["00305"]
    events = session.execute(select(SdiEvent).where(SdiEvent.invoice_id == reception.invoice.id)).scalars()
    assert list(events) == []
    assert reception.invoice.state == "received" and reception.invoice.notifications == []


def test_an_esito_is_answered_at_the_instant_it_reaches_the_sdi(sandbox: Sandbox, session: Session) -> None:
    sent = deliver(sandbox, session)
    outcome = sandbox.engine.send_esito(
        session, sent, esito(), at=sent.received_at + dt.timedelta(seconds=DAY)
    )
    assert outcome.reply.emitted_at == sent.received_at + dt.timedelta(seconds=DAY)
    assert outcome.esito_file.emitted_at == outcome.reply.emitted_at
