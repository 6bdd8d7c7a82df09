"""What the SDI does with a received invoice, and when (in virtual seconds).

The policy turns the checks' result, the invoice content and the documented triggers into a plan:
events with delays, each counted from the previous one. Natural follow-ups (PA RC → DT after 15
days, PA MC → AT after 10 days) are scheduled by the engine when the RC or MC actually happens, so
an esito or a forced outcome arriving first makes them moot.

Triggers (documented in the README): the text ``SANDBOX:<OUTCOME>`` in any
``DatiGeneraliDocumento/Causale`` of the invoice forces the outcome — ``NS:<code>``, ``RC``, ``MC``,
``MC-AT``, ``MC-RC``, ``NE-EC01``, ``NE-EC02``, ``DT``. The recipient codes the validator treats as
unknown (00311) or inactive (00312) are also triggers, and ``0000000`` without PEC gives a B2B MC as
on the real SDI.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from emulator.sdi.fatturapa import ParsedInvoice
from emulator.sdi.lifecycle import Event, Flow, State
from emulator.sdi.validation import SdiError, describe

DAY = 86400


@dataclass(frozen=True)
class Delays:
    """Virtual seconds between events. Override any of them with FATTURA_SANDBOX_SDI_DELAYS."""

    ns: int = 300
    rc: int = 120
    mc: int = 180
    rc_after_mc: int = DAY
    at_after_mc: int = 10 * DAY
    esito_after_rc: int = DAY
    dt_after_rc: int = 15 * DAY

    @classmethod
    def from_mapping(cls, values: Mapping[str, int]) -> Delays:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown SDI delay(s) {sorted(unknown)}; known: {sorted(known)}")
        if any(int(v) < 0 for v in values.values()):
            raise ValueError("SDI delays must be >= 0 seconds")
        return cls(**{k: int(v) for k, v in values.items()})


@dataclass(frozen=True)
class PlannedEvent:
    event: Event
    delay: int
    params: dict[str, Any] = field(default_factory=dict)


TRIGGER_RE = re.compile(r"SANDBOX:(?P<outcome>NS(?::(?P<code>\d{5}))?|MC-AT|MC-RC|NE-EC01|NE-EC02|RC|MC|DT)")

# Which value of the invoice a forced rejection quotes in its description, like the real SDI does.
_QUOTED_VALUE: dict[str, Callable[[ParsedInvoice], str | None]] = {
    "00300": lambda p: p.transmitter.vat,
    "00301": lambda p: p.supplier.vat,
    "00302": lambda p: p.supplier.fiscal_code,
    "00305": lambda p: p.customer.vat,
    "00306": lambda p: p.customer.fiscal_code,
    "00311": lambda p: p.recipient_code,
    "00312": lambda p: p.recipient_code,
    "00403": lambda p: p.first_body.date if p.first_body else None,
    "00425": lambda p: p.first_body.number if p.first_body else None,
}


def find_trigger(parsed: ParsedInvoice | None) -> re.Match[str] | None:
    if parsed is None:
        return None
    for body in parsed.bodies:
        for causale in body.causale:
            match = TRIGGER_RE.search(causale.upper())
            if match:
                return match
    return None


def errors_param(errors: list[SdiError]) -> dict[str, Any]:
    return {
        "errors": [{"code": e.code, "description": e.description, "suggestion": e.suggestion} for e in errors]
    }


def forced_rejection(code: str, parsed: ParsedInvoice | None) -> SdiError:
    quote = _QUOTED_VALUE.get(code)
    value = quote(parsed) if quote is not None and parsed is not None else None
    return describe(code, value, simplified=parsed is not None and parsed.simplified)


class OutcomePolicy:
    def __init__(self, delays: Delays) -> None:
        self.delays = delays

    def plan(self, parsed: ParsedInvoice | None, errors: list[SdiError], flow: Flow) -> list[PlannedEvent]:
        d = self.delays
        if errors:
            return [PlannedEvent(Event.NS, d.ns, errors_param(errors))]
        trigger = find_trigger(parsed)
        if trigger is not None:
            return self._triggered(trigger, parsed, flow)
        if flow is Flow.B2B and parsed is not None and self._reserved_area_only(parsed):
            return [PlannedEvent(Event.MC, d.mc)]
        return [PlannedEvent(Event.RC, d.rc)]

    @staticmethod
    def _reserved_area_only(parsed: ParsedInvoice) -> bool:
        return (parsed.recipient_code or "") == "0000000" and not parsed.recipient_pec

    def _triggered(
        self, trigger: re.Match[str], parsed: ParsedInvoice | None, flow: Flow
    ) -> list[PlannedEvent]:
        d = self.delays
        outcome = trigger.group("outcome")
        if outcome.startswith("NS"):
            code = trigger.group("code") or "00200"
            try:
                error = forced_rejection(code, parsed)
            except KeyError:
                error = forced_rejection("00200", parsed)
            return [PlannedEvent(Event.NS, d.ns, errors_param([error]))]
        if flow is Flow.B2B:
            # NE, DT and AT do not exist for B2B invoices: the trigger only chooses RC or MC.
            if outcome.startswith("MC"):
                return [PlannedEvent(Event.MC, d.mc)]
            return [PlannedEvent(Event.RC, d.rc)]
        plans: dict[str, list[PlannedEvent]] = {
            "RC": [PlannedEvent(Event.RC, d.rc)],
            "DT": [PlannedEvent(Event.RC, d.rc)],
            "MC": [PlannedEvent(Event.MC, d.mc)],
            "MC-AT": [PlannedEvent(Event.MC, d.mc)],
            "MC-RC": [PlannedEvent(Event.MC, d.mc), PlannedEvent(Event.RC, d.rc_after_mc)],
            "NE-EC01": [PlannedEvent(Event.RC, d.rc), PlannedEvent(Event.NE_EC01, d.esito_after_rc)],
            "NE-EC02": [PlannedEvent(Event.RC, d.rc), PlannedEvent(Event.NE_EC02, d.esito_after_rc)],
        }
        return plans[outcome]

    def follow_ups(self, event: Event, flow: Flow) -> list[PlannedEvent]:
        """What the SDI does next on its own once ``event`` has happened."""
        if flow is Flow.PA and event is Event.RC:
            return [PlannedEvent(Event.DT, self.delays.dt_after_rc)]
        if flow is Flow.PA and event is Event.MC:
            return [PlannedEvent(Event.AT, self.delays.at_after_mc)]
        return []


# -- esito committente ---------------------------------------------------------------------------
#
# What the SDI does with a NotificaEsitoCommittente (EC) from the recipient of a PA invoice: it
# forwards it to the supplier as a NotificaEsito (NE), or discards it with a ScartoEsitoCommittente
# (SE) to the recipient. EN00 = the file does not conform to the format; EN01 = it is not
# admissible: the invoice is not (or no longer) waiting for an esito, or the reference is not in the
# file. The EC is admissible while the invoice is delivered and its terms (15 days from the RC,
# ``Delays.dt_after_rc``) have not run out: once the DT is emitted no esito is accepted.

SCARTO_FORMAT = "EN00"
SCARTO_INADMISSIBLE = "EN01"
ESITI = frozenset({"EC01", "EC02"})
MESSAGE_ID_MAX = 14
DESCRIPTION_MAX = 255
_NUMERO_FATTURA_RE = re.compile(r"[\x20-\x7e]{1,20}")


@dataclass(frozen=True)
class EsitoScarto:
    """Why the SDI discards an esito: the SE's ``Scarto`` code and the text of its ``Note``."""

    code: str
    note: str


@dataclass(frozen=True)
class EsitoFields:
    """The content of an EC file as the SDI reads it."""

    sdi_id: int | None
    esito: str | None
    number: str | None = None
    year: int | None = None
    position: int | None = None
    description: str | None = None
    message_id: str | None = None


def esito_format_problem(ec: EsitoFields) -> str | None:
    """The first way the EC breaks MessaggiTypes (checked without the schema file as well)."""
    if ec.sdi_id is None:
        return "IdentificativoSdI assente"
    if ec.esito not in ESITI:
        return f"Esito {ec.esito!r} non ammesso (valori ammessi: EC01, EC02)"
    if (ec.number is None) != (ec.year is None):
        return "RiferimentoFattura incompleto: NumeroFattura e AnnoFattura sono entrambi obbligatori"
    if ec.number is not None and not _NUMERO_FATTURA_RE.fullmatch(ec.number):
        return f"NumeroFattura {ec.number!r} non valido (da 1 a 20 caratteri ASCII)"
    if ec.year is not None and ec.year < 0:
        return f"AnnoFattura {ec.year} non valido"
    if ec.position is not None and ec.position < 1:
        return f"PosizioneFattura {ec.position} non valida (intero positivo)"
    if ec.description is not None and len(ec.description) > DESCRIPTION_MAX:
        return f"Descrizione più lunga di {DESCRIPTION_MAX} caratteri"
    if ec.message_id is not None and not 1 <= len(ec.message_id) <= MESSAGE_ID_MAX:
        return f"MessageIdCommittente {ec.message_id!r} non valido (da 1 a {MESSAGE_ID_MAX} caratteri)"
    return None


def esito_scarto(
    ec: EsitoFields | None,
    format_problem: str | None,
    *,
    sdi_id: int,
    state: State,
    bodies: list[tuple[str | None, int | None]],
) -> EsitoScarto | None:
    """None when the SDI forwards the esito of a PA invoice; otherwise the SE it answers with.

    ``bodies`` are the (number, year) of each FatturaElettronicaBody of the invoice file, in order.
    """
    if ec is None or format_problem is not None:
        return EsitoScarto(SCARTO_FORMAT, f"Notifica non conforme al formato: {format_problem}")
    if ec.sdi_id != sdi_id:
        return EsitoScarto(
            SCARTO_INADMISSIBLE,
            f"Notifica non ammissibile: l'IdentificativoSdI {ec.sdi_id} non corrisponde al file ({sdi_id})",
        )
    state_note = _STATE_NOTES.get(state)
    if state_note is not None:
        return EsitoScarto(SCARTO_INADMISSIBLE, f"Notifica non ammissibile: {state_note}")
    if ec.number is not None and not _refers_to_a_body(ec, bodies):
        reference = f"NumeroFattura {ec.number}, AnnoFattura {ec.year}"
        if ec.position is not None:
            reference += f", PosizioneFattura {ec.position}"
        return EsitoScarto(
            SCARTO_INADMISSIBLE,
            f"Notifica non ammissibile: il RiferimentoFattura ({reference}) non corrisponde "
            "ad alcuna fattura del file",
        )
    return None


_STATE_NOTES: dict[State, str] = {
    State.RECEIVED: "la fattura non risulta consegnata al destinatario",
    State.REJECTED: "la fattura è stata scartata dal SdI",
    State.NOT_DELIVERED: "la fattura non risulta consegnata al destinatario",
    State.UNDELIVERABLE: "la fattura non è stata recapitata al destinatario (attestazione di avvenuta "
    "trasmissione con impossibilità di recapito)",
    State.ACCEPTED: "per la fattura è già stata inviata una notifica di esito (EC01, accettazione)",
    State.REFUSED: "per la fattura è già stata inviata una notifica di esito (EC02, rifiuto)",
    State.EXPIRED: "sono decorsi i termini per l'invio dell'esito: la notifica di decorrenza termini è già "
    "stata inviata",
}


def _refers_to_a_body(ec: EsitoFields, bodies: list[tuple[str | None, int | None]]) -> bool:
    wanted = (ec.number, ec.year)
    if ec.position is not None:
        return ec.position <= len(bodies) and bodies[ec.position - 1] == wanted
    return wanted in bodies
