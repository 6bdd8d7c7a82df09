"""The Exchange System: receives invoice files, checks them, and emits notifications over time.

Every provider hands its uploads to ``SdiEngine.receive`` and learns about notifications through
listeners; the control API forces outcomes with ``SdiEngine.force``. Due events are applied by
``process_due`` (called when the clock moves and before each request), each at its own due instant,
so timestamps inside the notifications are the virtual instants the SDI would have used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emulator.core.clock import ROME, VirtualClock
from emulator.core.ids import IdFactory
from emulator.core.store import next_value
from emulator.core.tenancy import Account, account_owning
from emulator.core.xmlsafe import parse_xml
from emulator.sdi.fatturapa import NotAnInvoiceError, ParsedInvoice, parse_invoice
from emulator.sdi.lifecycle import Event, Flow, State, is_allowed, next_state, path_to
from emulator.sdi.models import SdiEvent, SdiInvoice, SdiNotification
from emulator.sdi.notifications import (
    ErrorEntry,
    MessageType,
    NotificationData,
    notification_file_name,
    render_notification,
)
from emulator.sdi.outcomes import OutcomePolicy, PlannedEvent, errors_param
from emulator.sdi.signing import SandboxSigner, SignatureError, unwrap_p7m
from emulator.sdi.validation import SdiError, SdiValidator, describe

NotificationListener = Callable[[Session, SdiNotification], None]

ESITO_DESCRIPTION = {Event.NE_EC01: "Fattura accettata", Event.NE_EC02: "Fattura rifiutata"}
DT_DESCRIPTION = (
    "Sono decorsi i termini di 15 giorni dalla data della ricevuta di consegna senza che sia pervenuta "
    "notifica di esito committente"
)
PA_RECIPIENT_DESCRIPTION = "Amministrazione destinataria (sandbox)"


@dataclass(frozen=True)
class Reception:
    """What the SDI made of a received file before deciding its outcome."""

    invoice: SdiInvoice
    parsed: ParsedInvoice | None
    errors: list[SdiError]


class SdiEngine:
    def __init__(
        self,
        *,
        clock: VirtualClock,
        ids: IdFactory,
        validator: SdiValidator,
        policy: OutcomePolicy,
        signer: Callable[[], SandboxSigner],
    ) -> None:
        self.clock = clock
        self.ids = ids
        self.validator = validator
        self.policy = policy
        self._signer = signer
        self._listeners: list[NotificationListener] = []

    def subscribe(self, listener: NotificationListener) -> None:
        self._listeners.append(listener)

    # -- reception ---------------------------------------------------------------------------

    def receive(
        self,
        session: Session,
        *,
        file_name: str,
        content: bytes,
        channel: str,
        sender_account_id: int | None,
        plan: list[PlannedEvent] | None = None,
        at: datetime | None = None,
    ) -> Reception:
        """Take a file as the SDI does: id it, check it, and schedule its outcome.

        ``at`` is the instant of reception when it is not now: a provider that hands a file over
        from a task due earlier (its own processing delay) receives it at that task's instant.
        """
        now = at or self.clock.now()
        xml, errors = self._unwrap(file_name, content)
        parsed = self._parse(xml) if xml is not None else None
        if xml is not None and not errors:
            errors = self.validator.validate(
                file_name,
                xml,
                received_at=now,
                is_duplicate_file_name=lambda name: self._file_name_taken(session, name),
                is_duplicate_invoice=lambda p, body: self._invoice_taken(session, p, body.number, body.date),
            )
        flow = Flow.PA if parsed is not None and parsed.versione.upper() == "FPA12" else Flow.B2B
        invoice = self._record(
            session, file_name, content, xml, parsed, flow, channel, sender_account_id, now
        )
        invoice.errors = errors_param(errors)["errors"]
        steps = plan if plan is not None else self.policy.plan(parsed, errors, flow)
        self._schedule(session, invoice, steps, now)
        return Reception(invoice, parsed, errors)

    def _unwrap(self, file_name: str, content: bytes) -> tuple[bytes | None, list[SdiError]]:
        if len(content) > self.validator.max_bytes:
            return None, [describe("00003")]
        if file_name.lower().endswith(".p7m"):
            try:
                return unwrap_p7m(content), []
            except SignatureError:
                return None, [describe("00102")]
        return content, []

    @staticmethod
    def _parse(xml: bytes) -> ParsedInvoice | None:
        try:
            return parse_invoice(parse_xml(xml))
        except (ValueError, NotAnInvoiceError):
            return None

    @staticmethod
    def _file_name_taken(session: Session, name: str) -> bool:
        query = (
            select(func.count())
            .select_from(SdiInvoice)
            .where(func.lower(SdiInvoice.file_name) == name.lower())
        )
        return bool(session.execute(query).scalar_one())

    @staticmethod
    def _invoice_taken(session: Session, parsed: ParsedInvoice, number: str | None, date: str | None) -> bool:
        """00404: same supplier, same year, same number, unless the earlier one was rejected."""
        if not number or not date:
            return False
        query = (
            select(func.count())
            .select_from(SdiInvoice)
            .where(
                SdiInvoice.supplier_vat == parsed.supplier.vat,
                SdiInvoice.supplier_country == parsed.supplier.country,
                SdiInvoice.number == number,
                SdiInvoice.year == _year(date),
                SdiInvoice.state != State.REJECTED.value,
            )
        )
        return bool(session.execute(query).scalar_one())

    def _record(
        self,
        session: Session,
        file_name: str,
        content: bytes,
        xml: bytes | None,
        parsed: ParsedInvoice | None,
        flow: Flow,
        channel: str,
        sender_account_id: int | None,
        now: datetime,
    ) -> SdiInvoice:
        body = parsed.first_body if parsed is not None else None
        invoice = SdiInvoice(
            sdi_id=next_value(session, "sdi_id", start=self.ids.randint(10**8, 5 * 10**8)),
            file_name=file_name,
            content=content,
            xml=xml,
            hash=hashlib.sha256(content).hexdigest(),
            flow=flow.value,
            versione=parsed.versione if parsed else None,
            state=State.RECEIVED.value,
            received_at=now,
            channel=channel,
            sender_account_id=sender_account_id,
            errors=[],
        )
        if parsed is not None:
            _copy_parties(invoice, parsed)
        if body is not None:
            invoice.document_type = _clip(body.document_type, 4)
            invoice.number = _clip(body.number, 20)
            invoice.date = _clip(body.date, 10)
            invoice.year = _year(body.date)
            invoice.total = None if body.total is None else f"{body.total:.2f}"
        session.add(invoice)
        session.flush()
        return invoice

    def _schedule(
        self, session: Session, invoice: SdiInvoice, steps: list[PlannedEvent], start: datetime
    ) -> None:
        due = start
        for step in steps:
            due = due + timedelta(seconds=step.delay)
            session.add(
                SdiEvent(invoice_id=invoice.id, event=step.event.value, due_at=due, params=step.params)
            )
        session.flush()

    # -- time ------------------------------------------------------------------------------

    def process_due(self, session: Session, until: datetime | None = None) -> int:
        """Apply every pending event due at or before ``until`` (default: now), oldest first."""
        until = until or self.clock.now()
        applied = 0
        while (pending := self.next_due(session, until)) is not None:
            applied += self.run_event(session, pending)
        return applied

    def next_due(self, session: Session, until: datetime) -> SdiEvent | None:
        query = (
            select(SdiEvent)
            .where(SdiEvent.status == "pending", SdiEvent.due_at <= until)
            .order_by(SdiEvent.due_at, SdiEvent.id)
            .limit(1)
        )
        return session.execute(query).scalar_one_or_none()

    def run_event(self, session: Session, pending: SdiEvent) -> int:
        """Apply one due event at its own instant (1), or mark it moot when the lifecycle moved on (0)."""
        invoice = session.get(SdiInvoice, pending.invoice_id)
        assert invoice is not None
        event = Event(pending.event)
        applied = 0
        if is_allowed(State(invoice.state), event, Flow(invoice.flow)):
            self.apply(session, invoice, event, pending.due_at, pending.params)
            pending.status = "done"
            applied = 1
        else:
            pending.status = "moot"
        session.flush()
        return applied

    def has_due(self, session: Session) -> bool:
        query = (
            select(func.count())
            .select_from(SdiEvent)
            .where(SdiEvent.status == "pending", SdiEvent.due_at <= self.clock.now())
        )
        return bool(session.execute(query).scalar_one())

    # -- emission --------------------------------------------------------------------------

    def apply(
        self,
        session: Session,
        invoice: SdiInvoice,
        event: Event,
        at: datetime,
        params: dict[str, Any] | None = None,
    ) -> SdiNotification:
        """Move the invoice along the lifecycle and emit the file that goes with the move."""
        flow = Flow(invoice.flow)
        invoice.state = next_state(State(invoice.state), event, flow).value
        params = params or {}
        if event is Event.NS and not params.get("errors"):
            params = errors_param([describe("00200", None)])
        notification = self._emit(session, invoice, event, at, params, audience="sender")
        if event is Event.DT and invoice.recipient_account_id is not None:
            self._emit(session, invoice, event, at, params, audience="recipient")
        if event is Event.RC:
            self._deliver(session, invoice, at)
        self._schedule(session, invoice, self.policy.follow_ups(event, flow), at)
        return notification

    def force(
        self, session: Session, invoice: SdiInvoice, event: Event, errors: list[SdiError]
    ) -> SdiNotification:
        """Emit ``event`` now, with whatever events must precede it; pending plans are dropped."""
        flow = Flow(invoice.flow)
        steps = path_to(State(invoice.state), event, flow)
        for stale in session.execute(
            select(SdiEvent).where(SdiEvent.invoice_id == invoice.id, SdiEvent.status == "pending")
        ).scalars():
            stale.status = "cancelled"
        now = self.clock.now()
        notification: SdiNotification | None = None
        for step in steps:
            params = errors_param(errors) if step is Event.NS and errors else None
            notification = self.apply(session, invoice, step, now, params)
        assert notification is not None
        return notification

    def _deliver(self, session: Session, invoice: SdiInvoice, at: datetime) -> None:
        """RC: the invoice reached its recipient; a sandbox account that owns it gets it with its MT."""
        if invoice.recipient_account_id is None:
            owners = account_owning(session, invoice.customer_vat, invoice.customer_cf)
            recipient = _pick_recipient(owners, invoice.sender_account_id)
            if recipient is None:
                return
            invoice.recipient_account_id = recipient.id
        self._emit(session, invoice, None, at, {}, audience="recipient", message_type=MessageType.MT)

    def _emit(
        self,
        session: Session,
        invoice: SdiInvoice,
        event: Event | None,
        at: datetime,
        params: dict[str, Any],
        *,
        audience: str,
        message_type: MessageType | None = None,
    ) -> SdiNotification:
        kind = message_type or MessageType(event.message_type if event else "MT")
        flow = Flow(invoice.flow)
        sequence = 1 + sum(
            1 for n in invoice.notifications if n.type == kind.value and n.audience == audience
        )
        message_id = str(next_value(session, "message_id", start=self.ids.randint(10**9, 2 * 10**9)))
        data = self._notification_data(invoice, event, at, params, message_id)
        signer = None if kind is MessageType.MT else self._signer()
        content = render_notification(kind, flow, data, signer)
        notification = SdiNotification(
            invoice=invoice,
            type=kind.value,
            audience=audience,
            file_name=notification_file_name(invoice.file_name, kind, sequence),
            content=content,
            message_id=message_id,
            emitted_at=at,
            esito=event.value[3:] if event in ESITO_DESCRIPTION else None,
        )
        session.add(notification)
        session.flush()
        for listener in self._listeners:
            listener(session, notification)
        return notification

    def _notification_data(
        self, invoice: SdiInvoice, event: Event | None, at: datetime, params: dict[str, Any], message_id: str
    ) -> NotificationData:
        flow = Flow(invoice.flow)
        code = invoice.recipient_code
        errors = tuple(
            ErrorEntry(code=e["code"], description=e["description"], suggestion=e.get("suggestion") or "")
            for e in params.get("errors", [])
        )
        return NotificationData(
            sdi_id=invoice.sdi_id,
            invoice_file_name=invoice.file_name,
            received_at=invoice.received_at,
            message_id=message_id,
            invoice_hash=invoice.hash,
            recipient_code=code if code and code != "0000000" else None,
            recipient_description=PA_RECIPIENT_DESCRIPTION if flow is Flow.PA else None,
            delivered_at=at,
            errors=errors,
            description=DT_DESCRIPTION if event is Event.DT else None,
            available_on=at.astimezone(ROME).date(),
            esito=event.value[3:] if event in ESITO_DESCRIPTION else None,
            esito_description=ESITO_DESCRIPTION.get(event) if event else None,
            invoice_number=invoice.number,
            invoice_year=invoice.year,
            message_id_committente=message_id if event in ESITO_DESCRIPTION else None,
            format=invoice.versione,
        )


def _pick_recipient(owners: list[Account], sender_account_id: int | None) -> Account | None:
    for account in owners:
        if account.id != sender_account_id:
            return account
    return owners[0] if owners else None


def _copy_parties(invoice: SdiInvoice, parsed: ParsedInvoice) -> None:
    invoice.supplier_country = _clip(parsed.supplier.country, 2)
    invoice.supplier_vat = _clip(parsed.supplier.vat, 28)
    invoice.supplier_cf = _clip(parsed.supplier.fiscal_code, 16)
    invoice.supplier_name = parsed.supplier.name
    invoice.customer_country = _clip(parsed.customer.country, 2)
    invoice.customer_vat = _clip(parsed.customer.vat, 28)
    invoice.customer_cf = _clip(parsed.customer.fiscal_code, 16)
    invoice.customer_name = parsed.customer.name
    invoice.transmitter_country = _clip(parsed.transmitter.country, 2)
    invoice.transmitter_code = _clip(parsed.transmitter.vat, 28)
    invoice.progressive = _clip(parsed.progressive, 10)
    invoice.recipient_code = _clip(parsed.recipient_code, 7)
    invoice.recipient_pec = _clip(parsed.recipient_pec, 256)
    invoice.issuer_role = _clip(parsed.issuer_role, 2)


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


def _year(date: str | None) -> int | None:
    if date and len(date) >= 4 and date[:4].isdigit():
        return int(date[:4])
    return None
