"""Openapi.it IT-invoices: send (``POST /IT-invoices``), the state flow, received invoices, list, get.

``POST /IT-invoices`` takes the FatturaPA XML as the body (``application/xml``, as the published
document), checks it, rewrites its ``DatiTrasmissione``, files it NEW / BOOKED and answers 200 with
the invoice; ``SENDING_SECONDS`` of virtual time later a task hands it to the SDI (SENT / SENT);
from then on the SDI's notifications move it (``states.py`` holds the table and the PA rule).
Invoices the SDI delivers to an Openapi account (its MT) are filed as incoming RECEIVED / RECEIVED.
Every change of ``state`` or ``sdi_status`` — creation included — is reported to
``webhooks.invoice_changed`` with its virtual instant.

Decisions where the document is silent or contradicts itself:

- Body: ``application/xml``, ``text/xml`` or any ``+xml`` type, or no Content-Type at all; another
  type → 415. Empty body → 400 "Request body is empty"; XML that does not parse or is not a
  FatturaPA → 400 "Invalid XML structure"; a required element missing or malformed (the sandbox's
  structural check) → 422 "Validation Error: <the problem>". The FatturaPA schema and the SDI's
  semantic rules are the SDI's business: they come back as an NS (ERROR / ERROR).
- The company is the invoice's supplier (the customer for self-billing, SoggettoEmittente CC),
  its P.IVA tried first, then its codice fiscale: another tenant's → 403 "Unauthorized access";
  no configuration → 404 (error 111) "Fiscal ID not found or not registered"; a configuration with
  ``customer_invoice`` not true → 403 "customer_invoice is not enabled for fiscal_id <id>".
- Custom signature: ``X-Signature-User`` and ``X-Signature-Password`` both or neither, non-empty
  (400 otherwise). The sandbox cannot check a signing service's credentials: every pair is
  accepted except the password ``SANDBOX:WRONG``, which simulates wrong credentials → 422
  "Digital signature failed: invalid signature credentials" (nothing is filed). A signed invoice
  (custom credentials, whatever its format; or automatically every FPA12) is sent as a CAdES-BES
  ``.xml.p7m`` made with the sandbox's key at the instant it is handed to the SDI; an FPR12 without
  custom credentials is sent as plain ``.xml``.
- ``DatiTrasmissione`` rewrite, Openapi being the transmitter: ``IdTrasmittente`` becomes
  IT ``OPENAPI_VAT`` (12485671007, taken as Openapi S.p.A.'s P.IVA; it is checksum-valid, all the
  SDI checks); ``ProgressivoInvio`` a new five-character progressive, also the file's
  (``IT12485671007_<progressive>.xml[.p7m]``); ``FormatoTrasmissione`` the root's ``versione``
  (FPA12 / FPR12 / FSM10), so the SDI routes it by the format the file really has;
  ``ContattiTrasmittente`` is dropped (they were the client's, not the transmitter's).
  ``CodiceDestinatario`` and ``PECDestinatario`` are kept as written: the SDI routes on them.
  ``transmission_id`` in the view is that new progressive.
- Received invoices are always filed, but are listed, shown and reported by webhook only while the
  company's configuration has ``supplier_invoice`` true (checked when read, so switching it on
  shows those received before; the webhook is sent only if it was on when the invoice arrived).
  Imported invoices (``imported``) are always shown.
- List: newest first; ``limit`` defaults to 100; ``limit`` outside 1..100, ``skip`` below 0, a
  non-integer, an unknown ``state`` / ``direction`` or a date not YYYY-MM-DD → 400 in the envelope.
  ``issue_date[before]`` / ``[after]`` are strict. A ``fiscal_id`` of another tenant → 403
  "Unauthorized access", one no account holds → 404 (111). ``GET /IT-invoices/{id}`` of an unknown,
  hidden or another tenant's invoice → 404 "Invoice not found.".
- View: ``total_amount_excluding_tax`` / ``total_tax_amount`` are the sums of the DatiRiepilogo,
  ``total_amount_including_tax`` their sum, ``total_gross_amount`` the ImportoTotaleDocumento
  (else the amount including tax), ``total_payable_amount`` the sum of the ImportoPagamento (else
  the gross amount). Instants are UTC, ``YYYY-MM-DD HH:MM:SS +00:00`` as the document's examples
  (``sdi_update_date`` without the offset). ``details`` also lists the SDI messages of the
  invoice's side (``notifications``: type, file_name, message_id, date).

Limitations: only the first body of a multi-invoice file (lotto) is shown; a PA MC leaves the
invoice SENT / SENT until the RC or the AT (see ``states.py``); the SDI-unavailable retries
(5, 10, 15 minutes...) never happen, the sandbox's SDI being always available.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from lxml import etree
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from emulator.core.ids import IdFactory
from emulator.core.tasks import AfterCommit, ScheduledTask, TaskHandler
from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.openapi import listing, states
from emulator.providers.openapi.auth import new_id
from emulator.providers.openapi.configurations import (
    FiscalIdForbidden,
    FiscalIdNotFound,
    configuration_of,
)
from emulator.providers.openapi.errors import OpenapiError
from emulator.providers.openapi.models import OpenapiConfiguration, OpenapiInvoice
from emulator.sdi.engine import delivered_to
from emulator.sdi.fatturapa import (
    NotAnInvoiceError,
    ParsedInvoice,
    child,
    children,
    parse_invoice,
    parse_invoice_or_none,
    text,
    to_decimal,
)
from emulator.sdi.models import SdiInvoice, SdiNotification
from emulator.sdi.notifications import parse_notification
from emulator.sdi.validation import structural_error
from emulator.state import Sandbox

PROVIDER = "openapi"
OPENAPI_VAT = "12485671007"
FILE_PREFIX = f"IT{OPENAPI_VAT}_"
PROGRESSIVE_ALPHABET = string.digits + string.ascii_uppercase
SEND_INVOICE = "openapi.send_invoice"
SENDING_SECONDS = 30
CHANNEL = "openapi"
OUTGOING, INCOMING = "outgoing", "incoming"
DIRECTIONS = (OUTGOING, INCOMING)
WRONG_SIGNATURE_PASSWORD = "SANDBOX:WRONG"
NOT_FOUND = "Invoice not found."
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
MESSAGES = {
    "RC": "Ricevuta di consegna",
    "MC": "Notifica di mancata consegna",
    "AT": "Attestazione di avvenuta trasmissione della fattura con impossibilità di recapito",
    "DT": "Decorrenza termini",
    "NE:EC01": "Esito committente: fattura accettata",
    "NE:EC02": "Esito committente: fattura rifiutata",
    "NS": "Notifica di scarto",
}


class InvalidXml(OpenapiError):
    def __init__(self, message: str = "Invalid XML structure") -> None:
        super().__init__(message, status=400)


class ValidationFailed(OpenapiError):
    def __init__(self, problem: str) -> None:
        super().__init__(f"Validation Error: {problem}", status=422)


class InvalidParameter(OpenapiError):
    def __init__(self, name: str, expected: str) -> None:
        super().__init__(f"Invalid value for {name}: {expected}", status=400)


class InvoiceNotFound(OpenapiError):
    def __init__(self) -> None:
        super().__init__(NOT_FOUND, status=404)


# -- send ------------------------------------------------------------------------------------------


def create_invoice(
    sandbox: Sandbox,
    session: Session,
    account: Account,
    body: bytes,
    content_type: str | None,
    signature_user: str | None = None,
    signature_password: str | None = None,
) -> OpenapiInvoice:
    """Check and file an invoice to send (NEW / BOOKED) and schedule its hand-over to the SDI."""
    _check_content_type(content_type)
    if not body.strip():
        raise OpenapiError("Request body is empty", status=400)
    custom = _custom_signature(signature_user, signature_password)
    root, parsed = read_invoice(body)
    config = _configuration(session, account, parsed)
    if config.document.get("customer_invoice") is not True:
        raise OpenapiError(f"customer_invoice is not enabled for fiscal_id {config.fiscal_id}", status=403)
    if custom and signature_password == WRONG_SIGNATURE_PASSWORD:
        raise OpenapiError("Digital signature failed: invalid signature credentials", status=422)
    progressive = new_progressive(session, sandbox.ids)
    xml = rewrite_transmission(root, progressive)
    signed = custom or parsed.is_pa
    now = sandbox.clock.now()
    row = OpenapiInvoice(
        public_id=new_id(sandbox.ids),
        account_id=account.id,
        fiscal_id=config.fiscal_id,
        direction=OUTGOING,
        state=states.NEW,
        sdi_status=states.BOOKED,
        imported=False,
        file_name=FILE_PREFIX + progressive + (".xml.p7m" if signed else ".xml"),
        xml=xml,
        details={"sdi_message": "", "sdi_update_date": None},
        created_at=now,
        updated_at=now,
    )
    describe(row, parse_invoice(parse_xml(xml)))
    session.add(row)
    session.flush()
    _report(sandbox, session, row, now)
    due = now + timedelta(seconds=SENDING_SECONDS)
    sandbox.tasks.schedule(session, SEND_INVOICE, due, {"invoice": row.id})
    return row


def _check_content_type(content_type: str | None) -> None:
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    if mimetype and mimetype not in ("application/xml", "text/xml") and not mimetype.endswith("+xml"):
        raise OpenapiError(f"Unsupported Content-Type {content_type}: application/xml expected", status=415)


def _custom_signature(user: str | None, password: str | None) -> bool:
    if user is None and password is None:
        return False
    if not (user or "").strip() or not (password or "").strip():
        raise OpenapiError(
            "X-Signature-User and X-Signature-Password must be given together, neither empty", status=400
        )
    return True


def read_invoice(body: bytes) -> tuple[etree._Element, ParsedInvoice]:
    """Parse and structurally check a FatturaPA: 400 when unreadable, 422 when a part is missing."""
    try:
        root = parse_xml(body)
        parsed = parse_invoice(root)
    except (NotAnInvoiceError, ValueError):
        raise InvalidXml() from None
    problem = structural_error(root)
    if problem is not None:
        raise ValidationFailed(problem)
    return root, parsed


def _configuration(session: Session, account: Account, parsed: ParsedInvoice) -> OpenapiConfiguration:
    owner = parsed.owner
    candidates = [value for value in (owner.vat, owner.fiscal_code) if value]
    if not candidates:
        raise FiscalIdNotFound()
    for fiscal_id in candidates:
        try:
            return configuration_of(session, account, fiscal_id)
        except FiscalIdNotFound:
            continue
    raise FiscalIdNotFound()


def new_progressive(session: Session, ids: IdFactory) -> str:
    """Five base-36 characters, the stem ``IT12485671007_<them>`` used by no SDI or Openapi file."""
    while True:
        progressive = "".join(
            PROGRESSIVE_ALPHABET[ids.randint(0, len(PROGRESSIVE_ALPHABET) - 1)] for _ in range(5)
        )
        prefix = (FILE_PREFIX + progressive).lower() + "."
        taken = (
            session.execute(
                select(func.count())
                .select_from(SdiInvoice)
                .where(func.lower(SdiInvoice.file_name).startswith(prefix))
            ).scalar_one()
            or session.execute(
                select(func.count())
                .select_from(OpenapiInvoice)
                .where(func.lower(OpenapiInvoice.file_name).startswith(prefix))
            ).scalar_one()
        )
        if not taken:
            return progressive


def rewrite_transmission(root: etree._Element, progressive: str) -> bytes:
    """Openapi as the transmitter (module docstring); the invoice serialised again."""
    transmission = child(root, "FatturaElettronicaHeader", "DatiTrasmissione")
    if transmission is not None:
        _set(child(transmission, "IdTrasmittente", "IdPaese"), "IT")
        _set(child(transmission, "IdTrasmittente", "IdCodice"), OPENAPI_VAT)
        _set(child(transmission, "ProgressivoInvio"), progressive)
        versione = (root.get("versione") or "").strip()
        if versione in ("FPA12", "FPR12", "FSM10"):
            _set(child(transmission, "FormatoTrasmissione"), versione)
        for contacts in children(transmission, "ContattiTrasmittente"):
            transmission.remove(contacts)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def _set(element: etree._Element | None, value: str) -> None:
    if element is not None:
        element.text = value


def describe(row: OpenapiInvoice, parsed: ParsedInvoice) -> None:
    """Copy the filterable fields (type, number, date, counterparty) onto the row."""
    body = parsed.first_body
    if body is not None:
        row.type = (body.document_type or "")[:4] or None
        row.document_number = (body.number or "")[:20] or None
        row.issue_date = body.date[:10] if body.date else None
    other = parsed.customer if row.direction == OUTGOING else parsed.supplier
    counterparty = other.vat or other.fiscal_code
    row.counterparty_fiscal_id = counterparty.upper()[:28] if counterparty else None


def send_invoice_handler(sandbox: Sandbox) -> TaskHandler:
    """The task: hand the invoice to the SDI at the task's instant → SENT / SENT."""

    def handler(session: Session, task: ScheduledTask) -> AfterCommit | None:
        row = session.get(OpenapiInvoice, task.payload.get("invoice"))
        if row is None or row.direction != OUTGOING or row.invoice is not None:
            return None
        signed = (row.file_name or "").lower().endswith(".p7m")
        content = sandbox.signer.make_p7m(row.xml, signing_time=task.due_at) if signed else row.xml
        reception = sandbox.engine.receive(
            session,
            file_name=row.file_name or "",
            content=content,
            channel=CHANNEL,
            sender_account_id=row.account_id,
            at=task.due_at,
        )
        row.invoice = reception.invoice
        row.sdi_id = str(reception.invoice.sdi_id)
        move(sandbox, session, row, states.HANDED_TO_SDI, task.due_at, "")
        for notification in list(reception.invoice.notifications):  # any the SDI emitted at once
            _apply_notification(sandbox, session, row, notification)
        return None

    return handler


# -- state changes ---------------------------------------------------------------------------------


def move(
    sandbox: Sandbox,
    session: Session,
    row: OpenapiInvoice,
    transition: states.Transition,
    at: datetime,
    message: str | None = None,
) -> None:
    """Set state / sdi_status (and the SDI message); report a change to the webhooks."""
    details = dict(row.details or {})
    details["sdi_update_date"] = _plain(at)
    if message is not None:
        details["sdi_message"] = message
    changed = (row.state, row.sdi_status) != transition
    row.state, row.sdi_status = transition
    row.details = details
    row.updated_at = at
    session.flush()
    if changed:
        _report(sandbox, session, row, at)


def _report(sandbox: Sandbox, session: Session, row: OpenapiInvoice, at: datetime) -> None:
    # Imported here: the webhooks module builds its bodies with this module's view.
    from emulator.providers.openapi import webhooks

    webhooks.invoice_changed(sandbox, session, row, at)


def on_sdi_notification(sandbox: Sandbox) -> Any:
    """Engine listener: supplier-side messages move sent invoices; an MT files a received one."""

    def listener(session: Session, notification: SdiNotification) -> None:
        if notification.audience == "sender":
            rows = session.execute(
                select(OpenapiInvoice).where(
                    OpenapiInvoice.invoice_id == notification.invoice_id,
                    OpenapiInvoice.direction == OUTGOING,
                    OpenapiInvoice.imported.is_(False),
                )
            ).scalars()
            for row in rows:
                _apply_notification(sandbox, session, row, notification)
            return
        account = delivered_to(session, notification, PROVIDER)
        if account is not None:
            file_received(sandbox, session, account, notification.invoice, notification.emitted_at)

    return listener


def _apply_notification(
    sandbox: Sandbox, session: Session, row: OpenapiInvoice, notification: SdiNotification
) -> None:
    if notification.audience != "sender":
        return
    invoice = notification.invoice
    transition = states.after_notification(notification.type, notification.esito, invoice.flow == "PA")
    message = _message(notification)
    if transition is None:
        details = dict(row.details or {})
        details.update(sdi_message=message, sdi_update_date=_plain(notification.emitted_at))
        row.details = details
        session.flush()
        return
    move(sandbox, session, row, transition, notification.emitted_at, message)


def _message(notification: SdiNotification) -> str:
    key = f"NE:{notification.esito}" if notification.type == "NE" else notification.type
    message = MESSAGES.get(key, notification.type)
    if notification.type == "NS":
        try:
            errors = parse_notification(notification.content).errors
        except ValueError:
            errors = ()
        listed = "; ".join(f"Errore {e.code}: {e.description}" for e in errors)
        return f"{message}: {listed}" if listed else message
    return message


def file_received(
    sandbox: Sandbox, session: Session, account: Account, invoice: SdiInvoice, at: datetime
) -> OpenapiInvoice | None:
    """File an invoice the SDI delivered to ``account`` (incoming RECEIVED / RECEIVED), once."""
    existing = session.execute(
        select(OpenapiInvoice).where(
            OpenapiInvoice.account_id == account.id,
            OpenapiInvoice.direction == INCOMING,
            OpenapiInvoice.invoice_id == invoice.id,
        )
    ).scalar_one_or_none()
    if existing is not None:
        return None
    vat, code = invoice.customer_vat, invoice.customer_cf
    fiscal_id = vat if vat and account.owns(vat, None) else (code or vat or "")
    row = OpenapiInvoice(
        public_id=new_id(sandbox.ids),
        account_id=account.id,
        fiscal_id=fiscal_id.upper()[:28],
        direction=INCOMING,
        state=states.RECEIVED,
        sdi_status=states.RECEIVED,
        imported=False,
        invoice=invoice,
        sdi_id=str(invoice.sdi_id),
        file_name=invoice.file_name,
        xml=invoice.xml or invoice.content,
        details={"sdi_message": "", "sdi_update_date": _plain(at)},
        created_at=at,
        updated_at=at,
    )
    parsed = parse_invoice_or_none(invoice.xml)
    if parsed is not None:
        describe(row, parsed)
    session.add(row)
    session.flush()
    if row.fiscal_id in supplier_invoice_ids(session, account):
        _report(sandbox, session, row, at)
    return row


def supplier_invoice_ids(session: Session, account: Account) -> set[str]:
    """The account's fiscal ids whose configuration has ``supplier_invoice`` on."""
    configs = session.execute(
        select(OpenapiConfiguration).where(OpenapiConfiguration.account_id == account.id)
    ).scalars()
    return {c.fiscal_id.upper() for c in configs if (c.document or {}).get("supplier_invoice") is True}


# -- read ------------------------------------------------------------------------------------------


def _visible(session: Session, account: Account) -> Any:
    enabled = supplier_invoice_ids(session, account)
    return select(OpenapiInvoice).where(
        OpenapiInvoice.account_id == account.id,
        or_(
            OpenapiInvoice.direction != INCOMING,
            OpenapiInvoice.imported.is_(True),
            OpenapiInvoice.fiscal_id.in_(enabled),
        ),
    )


def get_invoice(session: Session, account: Account, public_id: str) -> OpenapiInvoice:
    query = _visible(session, account).where(OpenapiInvoice.public_id == public_id.strip().lower())
    row: OpenapiInvoice | None = session.execute(query).scalar_one_or_none()
    if row is None:
        raise InvoiceNotFound()
    return row


def list_invoices(session: Session, account: Account, args: Mapping[str, str]) -> list[OpenapiInvoice]:
    """The account's invoices matching every filter of the query (module docstring), one page."""
    query = _visible(session, account)
    fiscal_ids = _list(args.get("fiscal_id"))
    if fiscal_ids:
        for fiscal_id in fiscal_ids:
            _check_fiscal_id(session, account, fiscal_id)
        query = query.where(func.upper(OpenapiInvoice.fiscal_id).in_([f.upper() for f in fiscal_ids]))
    wanted_states = _choices("state", args.get("state"), states.STATES, upper=True)
    if wanted_states:
        query = query.where(OpenapiInvoice.state.in_(wanted_states))
    directions = _choices("direction", args.get("direction"), DIRECTIONS, upper=False)
    if directions:
        query = query.where(OpenapiInvoice.direction.in_(directions))
    kind = (args.get("type") or "").strip()
    if kind:
        query = query.where(func.upper(OpenapiInvoice.type) == kind.upper())
    number = (args.get("document_number") or "").strip()
    if number:
        query = query.where(OpenapiInvoice.document_number == number)
    exact = _date("issue_date", args.get("issue_date"))
    if exact:
        query = query.where(OpenapiInvoice.issue_date == exact)
    before = _date("issue_date[before]", args.get("issue_date[before]"))
    if before:
        query = query.where(OpenapiInvoice.issue_date < before)
    after = _date("issue_date[after]", args.get("issue_date[after]"))
    if after:
        query = query.where(OpenapiInvoice.issue_date > after)
    skip, limit = listing.skip_and_limit(args, InvalidParameter)
    query = query.order_by(OpenapiInvoice.created_at.desc(), OpenapiInvoice.id.desc())
    query = query.offset(skip).limit(limit)
    return list(session.execute(query).scalars())


def _list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _choices(name: str, value: str | None, allowed: tuple[str, ...], *, upper: bool) -> list[str]:
    chosen = [v.upper() if upper else v.lower() for v in _list(value)]
    for item in chosen:
        if item not in allowed:
            raise InvalidParameter(name, f"'{item}' is not one of {', '.join(allowed)}")
    return chosen


def _date(name: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    text_value = value.strip()
    try:
        if not DATE_RE.fullmatch(text_value):
            raise ValueError(text_value)
        date.fromisoformat(text_value)
    except ValueError:
        raise InvalidParameter(name, "a date YYYY-MM-DD expected") from None
    return text_value


def _check_fiscal_id(session: Session, account: Account, fiscal_id: str) -> None:
    """The list's tenant rule: another tenant's fiscal id → 403, one nobody holds → 404 (111)."""
    wanted = fiscal_id.strip().upper()
    if wanted in account.fiscal_ids:
        return
    others = session.execute(select(Account).where(Account.provider == PROVIDER, Account.id != account.id))
    if any(wanted in other.fiscal_ids for other in others.scalars()):
        raise FiscalIdForbidden()
    raise FiscalIdNotFound()


# -- the view --------------------------------------------------------------------------------------


def invoice_view(row: OpenapiInvoice) -> dict[str, Any]:
    """The published InvoiceResponse of a row, filled from its XML and its SDI record."""
    root = _root(row.xml)
    header = child(root, "FatturaElettronicaHeader")
    bodies = children(root, "FatturaElettronicaBody")
    body = bodies[0] if bodies else None
    document = child(body, "DatiGenerali", "DatiGeneraliDocumento")
    goods = child(body, "DatiBeniServizi")
    summaries = children(goods, "DatiRiepilogo")
    excluding = _sum(to_decimal(text(s, "ImponibileImporto")) for s in summaries)
    tax = _sum(to_decimal(text(s, "Imposta")) for s in summaries)
    including = excluding + tax
    declared = to_decimal(text(document, "ImportoTotaleDocumento"))
    gross = declared if declared is not None else including
    payments = [p for block in children(body, "DatiPagamento") for p in children(block, "DettaglioPagamento")]
    paid = [to_decimal(text(p, "ImportoPagamento")) for p in payments]
    payable = _sum(paid) if any(v is not None for v in paid) else gross
    details = row.details or {}
    issue_date = row.issue_date or text(document, "Data")
    return {
        "id": row.public_id,
        "state": row.state,
        "direction": row.direction,
        "fiscal_id": row.fiscal_id,
        "type": row.type,
        "document_number": row.document_number,
        "issue_date": issue_date,
        "currency": text(document, "Divisa"),
        "total_gross_amount": _number(gross),
        "total_amount_excluding_tax": _number(excluding),
        "total_tax_amount": _number(tax),
        "total_amount_including_tax": _number(including),
        "total_payable_amount": _number(payable),
        "invoice_lines": [_line(line) for line in children(goods, "DettaglioLinee")],
        "payment_means": [_payment(p) for p in payments],
        "transmission_id": text(header, "DatiTrasmissione", "ProgressivoInvio"),
        "sender": _party(child(header, "CedentePrestatore")),
        "recipient": _party(child(header, "CessionarioCommittente")),
        "details": {
            "sdi_id": row.sdi_id,
            "sdi_filename": row.invoice.file_name if row.invoice is not None else row.file_name,
            "sdi_status": row.sdi_status,
            "sdi_message": details.get("sdi_message") or "",
            "sdi_update_date": details.get("sdi_update_date"),
            "invoice_date": issue_date,
            "notifications": _notifications(row),
        },
        "create_at": _stamp(row.created_at),
        "updated_at": _stamp(row.updated_at),
    }


def _root(xml: bytes | None) -> etree._Element | None:
    if not xml:
        return None
    try:
        return parse_xml(xml)
    except ValueError:
        return None


def _sum(values: Any) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))


def _number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _line(line: etree._Element) -> dict[str, Any]:
    code = child(line, "CodiceArticolo")
    return {
        "description": text(line, "Descrizione"),
        "quantity": _number(to_decimal(text(line, "Quantita"))),
        "unit_of_measure": text(line, "UnitaMisura"),
        "nature": text(line, "Natura"),
        "unit_price": _number(to_decimal(text(line, "PrezzoUnitario"))),
        "total_net_amount": _number(to_decimal(text(line, "PrezzoTotale"))),
        "tax_rate": _number(to_decimal(text(line, "AliquotaIVA"))),
        "discounts": [
            {
                "type": text(d, "Tipo"),
                "percentage": _number(to_decimal(text(d, "Percentuale"))),
                "amount": _number(to_decimal(text(d, "Importo"))),
            }
            for d in children(line, "ScontoMaggiorazione")
        ],
        "item_code": text(code, "CodiceValore"),
    }


def _payment(payment: etree._Element) -> dict[str, Any]:
    return {
        "payment_mode": text(payment, "ModalitaPagamento"),
        "due_date": text(payment, "DataScadenzaPagamento"),
        "amount": _number(to_decimal(text(payment, "ImportoPagamento"))),
        "financial_account": text(payment, "IBAN"),
    }


def _party(party: etree._Element | None) -> dict[str, Any]:
    registry = child(party, "DatiAnagrafici")
    vat = child(registry, "IdFiscaleIVA")
    names = child(registry, "Anagrafica")
    name = text(names, "Denominazione") or " ".join(
        p for p in (text(names, "Nome"), text(names, "Cognome")) if p
    )
    seat = child(party, "Sede")
    street = text(seat, "Indirizzo")
    number = text(seat, "NumeroCivico")
    country, code = text(vat, "IdPaese"), text(vat, "IdCodice")
    return {
        "name": name or None,
        "vat_id": f"{country or ''}{code}" if code else None,
        "tax_code": text(registry, "CodiceFiscale"),
        "street": f"{street}, {number}" if street and number else street,
        "zip": text(seat, "CAP"),
        "city": text(seat, "Comune"),
        "province": text(seat, "Provincia"),
        "country_code": text(seat, "Nazione"),
        "phone": text(party, "Contatti", "Telefono"),
        "email": text(party, "Contatti", "Email"),
    }


def _notifications(row: OpenapiInvoice) -> list[dict[str, Any]]:
    if row.invoice is None:
        return []
    audience = "sender" if row.direction == OUTGOING else "recipient"
    return [
        {"type": n.type, "file_name": n.file_name, "message_id": n.message_id, "date": _plain(n.emitted_at)}
        for n in row.invoice.notifications
        if n.audience == audience
    ]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment


def _stamp(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S +00:00")


def _plain(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S")
