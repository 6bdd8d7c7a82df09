"""The lifecycle table, the outcome policy's triggers and defaults, and the engine's emitted files."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from emulator.core.xmlsafe import parse_xml
from emulator.sdi.fatturapa import parse_invoice
from emulator.sdi.lifecycle import Event, Flow, InvalidTransition, State, next_state, path_to
from emulator.sdi.notifications import load_messaggi_schema, parse_notification
from emulator.sdi.outcomes import DAY, Delays, OutcomePolicy
from emulator.sdi.signing import unwrap_p7m
from emulator.state import Sandbox
from tests.conftest import XSD_DIR
from tests.providers.easytracking.helpers import invoice


@pytest.mark.parametrize(
    ("state", "event", "flow", "expected"),
    [
        (State.RECEIVED, Event.NS, Flow.B2B, State.REJECTED),
        (State.RECEIVED, Event.MC, Flow.B2B, State.NOT_DELIVERED),
        (State.NOT_DELIVERED, Event.AT, Flow.PA, State.UNDELIVERABLE),
        (State.NOT_DELIVERED, Event.RC, Flow.PA, State.DELIVERED),
        (State.DELIVERED, Event.NE_EC01, Flow.PA, State.ACCEPTED),
        (State.DELIVERED, Event.DT, Flow.PA, State.EXPIRED),
    ],
)
def test_allowed_transitions(state: State, event: Event, flow: Flow, expected: State) -> None:
    assert next_state(state, event, flow) is expected


@pytest.mark.parametrize(
    ("state", "event", "flow"),
    [
        (State.NOT_DELIVERED, Event.AT, Flow.B2B),  # B2B MC is final
        (State.DELIVERED, Event.DT, Flow.B2B),
        (State.REJECTED, Event.RC, Flow.PA),
        (State.EXPIRED, Event.NE_EC01, Flow.PA),  # no esito after DT
    ],
)
def test_refused_transitions(state: State, event: Event, flow: Flow) -> None:
    with pytest.raises(InvalidTransition, match=f"does not emit {event.value}"):
        next_state(state, event, flow)


def test_forcing_fills_in_the_missing_steps() -> None:
    assert path_to(State.RECEIVED, Event.DT, Flow.PA) == [Event.RC, Event.DT]
    assert path_to(State.RECEIVED, Event.AT, Flow.PA) == [Event.MC, Event.AT]
    with pytest.raises(InvalidTransition):
        path_to(State.RECEIVED, Event.NE_EC02, Flow.B2B)


def _plan(xml: bytes, flow: Flow) -> list[tuple[str, int]]:
    parsed = parse_invoice(parse_xml(xml))
    return [(p.event.value, p.delay) for p in OutcomePolicy(Delays()).plan(parsed, [], flow)]


@pytest.mark.parametrize(
    ("causale", "pa", "expected"),
    [
        (None, False, [("RC", 120)]),
        (None, True, [("RC", 120)]),
        ("SANDBOX:MC", False, [("MC", 180)]),
        ("SANDBOX:MC-RC", True, [("MC", 180), ("RC", DAY)]),
        ("SANDBOX:NE-EC01", True, [("RC", 120), ("NE_EC01", DAY)]),
        ("SANDBOX:NE-EC01", False, [("RC", 120)]),
        ("Consulenza SANDBOX:NS:00425 marzo", False, [("NS", 300)]),
    ],
)
def test_trigger_table(causale: str | None, pa: bool, expected: list[tuple[str, int]]) -> None:
    assert _plan(invoice(pa=pa, causale=causale), Flow.PA if pa else Flow.B2B) == expected


def test_delays_are_configurable_and_checked() -> None:
    assert Delays.from_mapping({"rc": 5}).rc == 5
    with pytest.raises(ValueError, match="unknown SDI delay"):
        Delays.from_mapping({"rcc": 5})


def test_engine_pa_files_are_schema_valid_and_signed(sandbox: Sandbox) -> None:
    if not XSD_DIR.is_dir():
        pytest.skip("reference schemas not available")
    schema = load_messaggi_schema(XSD_DIR)
    with sandbox.transaction() as session:
        reception = sandbox.engine.receive(
            session,
            file_name="IT09382170158_00A01.xml",
            content=invoice(pa=True, causale="SANDBOX:MC"),
            channel="test",
            sender_account_id=None,
        )
        sandbox.engine.process_due(session, reception.invoice.received_at + dt.timedelta(days=11))
        files = [(n.type, n.content) for n in reception.invoice.notifications]
    assert [t for t, _ in files] == ["MC", "AT"]
    for _, content in files:
        root = etree.fromstring(content)
        schema.assertValid(root)
        assert sandbox.signer.verify_xml(content)
        assert parse_notification(content).sdi_id == reception.invoice.sdi_id


def test_engine_unwraps_p7m_and_rejects_broken_signatures(sandbox: Sandbox) -> None:
    xml = invoice(progressive="00P01")
    for encoding in ("der", "ber", "base64", "base64x2"):
        signed = sandbox.signer.make_p7m(xml, encoding=encoding)
        assert unwrap_p7m(signed) == xml
    with sandbox.transaction() as session:
        broken = sandbox.engine.receive(
            session,
            file_name="IT09382170158_00P02.xml.p7m",
            content=b"garbage",
            channel="test",
            sender_account_id=None,
        )
    assert [e.code for e in broken.errors] == ["00102"]
    assert broken.errors[0].description == "File non integro (firma non valida)"
