"""The Exchange System: receives invoice files, checks them, and emits notifications over time.

Every provider hands its uploads to ``SdiEngine.receive`` and learns about notifications through
listeners; the control API forces outcomes with ``SdiEngine.force``. Due events are applied by
``process_due`` (called when the clock moves and before each request), each at its own due instant,
so timestamps inside the notifications are the virtual instants the SDI would have used.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emulator.core.clock import ROME, VirtualClock
from emulator.core.ids import IdFactory
from emulator.core.store import next_value
from emulator.core.tenancy import Account, account_owning
from emulator.core.xmlsafe import parse_xml
from emulator.sdi.fatturapa import ParsedInvoice, parse_invoice_or_none
from emulator.sdi.lifecycle import Event, Flow, State, is_allowed, next_state, path_to
from emulator.sdi.models import SdiEvent, SdiInvoice, SdiNotification
from emulator.sdi.notifications import (
    PA_NS,
    ErrorEntry,
    MessageType,
    NotificationData,
    load_messaggi_schema,
    notification_file_name,
    parse_notification,
    render_notification,
)
from emulator.sdi.outcomes import (
    EsitoFields,
    EsitoScarto,
    OutcomePolicy,
    PlannedEvent,
    errors_param,
    esito_format_problem,
    esito_scarto,
)
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


@dataclass(frozen=True)
class EsitoCommittente:
    """A recipient's answer to a PA invoice, the fields of the EC file its intermediary writes."""

    esito: str  # EC01 (accepted) | EC02 (refused)
    number: str | None = None
    year: int | None = None
    position: int | None = None
    description: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class EsitoOutcome:
    """What the SDI did with an EC: forwarded it as an NE to the supplier, or discarded it with an SE."""

    esito_file: SdiNotification  # the EC as received (type EC, audience "recipient")
    reply: SdiNotification  # the NE (audience "sender") or the SE (audience "recipient")
    scarto: EsitoScarto | None = None

    @property
    def accepted(self) -> bool:
        return self.scarto is None


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
        parsed = parse_invoice_or_none(xml)
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

    def first_due_at(self, session: Session) -> datetime | None:
        """The instant of the earliest pending event (None: nothing pending)."""
        query = select(func.min(SdiEvent.due_at)).where(SdiEvent.status == "pending")
        return session.execute(query).scalar_one_or_none()

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

    # -- incoming invoices from outside the sandbox -------------------------------------------

    def deliver_incoming(
        self,
        session: Session,
        *,
        file_name: str,
        content: bytes,
        recipient_account_id: int | None,
        channel: str = "sdi",
    ) -> Reception:
        """A supplier outside the sandbox sends ``content``; the SDI delivers it at once (RC now).

        ``recipient_account_id`` None lets the RC find the account that owns the customer's fiscal
        id, if any. When the SDI would reject the file (``Reception.errors``), nothing is scheduled
        and the caller is expected to abandon its transaction.
        """
        reception = self.receive(
            session,
            file_name=file_name,
            content=content,
            channel=channel,
            sender_account_id=None,
            plan=[],
        )
        if reception.errors:
            return reception
        if recipient_account_id is not None:
            reception.invoice.recipient_account_id = recipient_account_id
        self._schedule(session, reception.invoice, [PlannedEvent(Event.RC, 0)], reception.invoice.received_at)
        self.process_due(session)
        return reception

    # -- esito committente (recipient -> SDI) ----------------------------------------------------

    def send_esito(
        self, session: Session, invoice: SdiInvoice, esito: EsitoCommittente, *, at: datetime | None = None
    ) -> EsitoOutcome:
        """The recipient's intermediary writes the EC file (CAdES ``.xml.p7m``) and sends it."""
        if Flow(invoice.flow) is not Flow.PA:
            raise ValueError("the esito committente exists only for PA (FPA12) invoices")
        now = at or self.clock.now()
        data = NotificationData(
            sdi_id=invoice.sdi_id,
            invoice_file_name=invoice.file_name,
            received_at=now,
            message_id=esito.message_id or "",
            invoice_hash=invoice.hash,
            esito=esito.esito,
            esito_description=esito.description,
            invoice_number=esito.number,
            invoice_year=esito.year,
            invoice_position=esito.position,
            message_id_committente=esito.message_id,
        )
        xml = render_notification(MessageType.EC, Flow.PA, data, None)
        content = self._signer().make_p7m(xml, signing_time=now)
        sequence = 1 + sum(1 for n in invoice.notifications if n.type == MessageType.EC.value)
        file_name = notification_file_name(invoice.file_name, MessageType.EC, sequence) + ".p7m"
        return self.receive_esito(session, invoice, file_name=file_name, content=content, at=now)

    def receive_esito(
        self,
        session: Session,
        invoice: SdiInvoice,
        *,
        file_name: str,
        content: bytes,
        at: datetime | None = None,
    ) -> EsitoOutcome:
        """An EC file for ``invoice`` reaches the SDI: forwarded to the supplier (NE) or discarded (SE).

        The EC is kept as a notification of the recipient (type EC) whatever the outcome; listeners
        hear about the SDI's answer (NE or SE), not about the recipient's own file. An SE quotes the
        EC's reference and MessageIdCommittente unless the EC broke the format (EN00).
        """
        if Flow(invoice.flow) is not Flow.PA:
            raise ValueError("the esito committente exists only for PA (FPA12) invoices")
        now = at or self.clock.now()
        self.process_due(session, now)  # a DT already due has run out the terms
        fields, problem = self._read_esito(content)
        esito_file = SdiNotification(
            invoice=invoice,
            type=MessageType.EC.value,
            audience="recipient",
            file_name=file_name,
            content=content,
            message_id=((fields.message_id if fields else None) or "")[:14],
            emitted_at=now,
            esito=fields.esito if fields is not None and problem is None else None,
        )
        session.add(esito_file)
        session.flush()
        body = parse_invoice_or_none(invoice.xml)
        bodies = [(b.number, _year(b.date)) for b in body.bodies] if body is not None else []
        scarto = esito_scarto(
            fields, problem, sdi_id=invoice.sdi_id, state=State(invoice.state), bodies=bodies
        )
        reference = _esito_reference(fields) if fields is not None and problem is None else None
        if scarto is not None:
            # An EC out of format is not quoted: the SE names the invoice's IdentificativoSdI only.
            params: dict[str, Any] = {
                "scarto": scarto.code,
                "note": scarto.note,
                "esito_committente": reference or {},
            }
            reply = self._emit(
                session, invoice, None, now, params, audience="recipient", message_type=MessageType.SE
            )
            return EsitoOutcome(esito_file, reply, scarto)
        assert fields is not None and reference is not None
        event = Event.NE_EC01 if fields.esito == "EC01" else Event.NE_EC02
        reply = self.apply(session, invoice, event, now, {"esito_committente": reference})
        return EsitoOutcome(esito_file, reply)

    def _read_esito(self, content: bytes) -> tuple[EsitoFields | None, str | None]:
        """The EC's fields and the first format problem (EN00), p7m unwrapped first."""
        try:
            text = content.lstrip().removeprefix(codecs.BOM_UTF8).lstrip()
            xml = content if text.startswith(b"<") else unwrap_p7m(content)
            root = parse_xml(xml)
            parsed = parse_notification(xml)
        except (SignatureError, ValueError) as exc:
            return None, f"il file non è una notifica di esito leggibile ({exc})"
        if parsed.message_type is not MessageType.EC or etree.QName(root).namespace != PA_NS:
            return None, f"il file non è una NotificaEsitoCommittente ({parsed.root_name})"
        fields = EsitoFields(
            sdi_id=parsed.sdi_id,
            esito=parsed.esito,
            number=parsed.invoice_number,
            year=parsed.invoice_year,
            position=parsed.invoice_position,
            description=parsed.esito_description,
            message_id=parsed.message_id_committente,
        )
        problem = esito_format_problem(fields) or self._esito_schema_problem(root)
        return fields, problem

    def _esito_schema_problem(self, root: etree._Element) -> str | None:
        xsd_dir = self.validator.xsd_dir
        if xsd_dir is None:
            return None
        try:
            schema = load_messaggi_schema(xsd_dir)
        except FileNotFoundError:
            return None
        if schema.validate(root):
            return None
        entries = list(cast(Iterable[Any], schema.error_log))
        detail = entries[-1].message if entries else "errore"
        return f"documento non valido rispetto allo schema ({detail})"

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
        # An NE or SE that answers a real EC quotes the EC's own fields.
        ec: dict[str, Any] | None = params.get("esito_committente")
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
            esito_description=(
                ec.get("description") if ec is not None else ESITO_DESCRIPTION.get(event) if event else None
            ),
            invoice_number=ec.get("number") if ec is not None else invoice.number,
            invoice_year=ec.get("year") if ec is not None else invoice.year,
            invoice_position=ec.get("position") if ec is not None else None,
            message_id_committente=(
                ec.get("message_id") if ec is not None else message_id if event in ESITO_DESCRIPTION else None
            ),
            format=invoice.versione,
            scarto=params.get("scarto"),
            note=params.get("note"),
        )


def _esito_reference(fields: EsitoFields) -> dict[str, Any]:
    """What an NE or SE quotes of the EC it answers (JSON-safe: it may be kept as event params)."""
    return {
        "number": fields.number,
        "year": fields.year,
        "position": fields.position,
        "description": fields.description,
        "message_id": fields.message_id,
    }


def delivered_to(session: Session, notification: SdiNotification, provider: str) -> Account | None:
    """The recipient account of a delivery (the MT of an invoice), when it belongs to ``provider``."""
    invoice = notification.invoice
    if notification.type != MessageType.MT.value or notification.audience != "recipient":
        return None
    account = session.get(Account, invoice.recipient_account_id) if invoice.recipient_account_id else None
    return account if account is not None and account.provider == provider else None


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
