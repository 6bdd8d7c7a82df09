"""What the inspector UI shows, read from the store: no Flask here, plain dicts and lists out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, defer

from emulator.core.clock import ROME
from emulator.core.errors import BadRequest, NotFound
from emulator.core.tenancy import Account
from emulator.core.webhooks import WebhookAttempt, WebhookDelivery
from emulator.core.xmlsafe import parse_xml, strip_namespace
from emulator.journal.models import JournalEntry
from emulator.providers.acube.models import AcubeInvoice
from emulator.providers.aruba.models import ArubaInvoice
from emulator.providers.easytracking.models import EtDocument, EtJob, EtPassiveInvoice
from emulator.providers.openapi.models import OpenapiInvoice
from emulator.sdi.lifecycle import Event, State
from emulator.sdi.models import SdiEvent, SdiInvoice, SdiNotification
from emulator.sdi.validation import ERROR_CATALOGUE
from emulator.state import Sandbox

PAGE_SIZE = 50
JOURNAL_PAGE_SIZE = 50
DIRECTIONS = ("all", "sent", "received")
STATES = tuple(s.value for s in State)
FORCIBLE = tuple(e.value for e in Event)
NS_CODES = tuple(sorted(ERROR_CATALOGUE))
MAX_ID = 2**62
# How the state of an invoice reads in a badge: its colour class.
STATE_TONE = {
    State.RECEIVED.value: "pending",
    State.DELIVERED.value: "ok",
    State.ACCEPTED.value: "ok",
    State.NOT_DELIVERED.value: "warn",
    State.EXPIRED.value: "warn",
    State.REJECTED.value: "bad",
    State.REFUSED.value: "bad",
    State.UNDELIVERABLE.value: "bad",
}
NOTIFICATION_NAMES = {
    "RC": "Ricevuta di consegna",
    "NS": "Notifica di scarto",
    "MC": "Mancata consegna",
    "NE": "Notifica di esito",
    "AT": "Attestazione di trasmissione",
    "DT": "Decorrenza termini",
    "MT": "File dei metadati",
    "SE": "Scarto esito committente",
    "EC": "Esito committente",
}


def parse_int(raw: str | None, *, default: int, name: str, minimum: int = 1, maximum: int = MAX_ID) -> int:
    """A positive integer query parameter; ``BadRequest`` (a 400 page) for anything else."""
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or not minimum <= int(raw) <= maximum:
        raise BadRequest(f"{name} must be an integer from {minimum} to {maximum}")
    return int(raw)


def fmt(instant: datetime | None) -> str:
    """An instant as the UI shows it: Rome time, to the second."""
    if instant is None:
        return ""
    return instant.astimezone(ROME).strftime("%Y-%m-%d %H:%M:%S")


# -- home ------------------------------------------------------------------------------------------


def home(sandbox: Sandbox, session: Session) -> dict[str, Any]:
    sent = dict(
        session.execute(
            select(SdiInvoice.sender_account_id, func.count()).group_by(SdiInvoice.sender_account_id)
        )
        .tuples()
        .all()
    )
    received = dict(
        session.execute(
            select(SdiInvoice.recipient_account_id, func.count()).group_by(SdiInvoice.recipient_account_id)
        )
        .tuples()
        .all()
    )
    violations = dict(
        session.execute(
            select(JournalEntry.tenant, func.count())
            .where(JournalEntry.has_violations.is_(True))
            .group_by(JournalEntry.tenant)
        )
        .tuples()
        .all()
    )
    accounts = session.execute(select(Account).order_by(Account.provider, Account.id)).scalars()
    rows = [
        {
            "provider": a.provider,
            "tenant": a.tenant,
            "name": a.profile.get("name"),
            "fiscal_ids": [*a.vat_numbers, *[c for c in a.fiscal_codes if c not in a.vat_numbers]],
            "sent": sent.get(a.id, 0),
            "received": received.get(a.id, 0),
        }
        for a in accounts
    ]
    return {
        "now": fmt(sandbox.clock.now()),
        "now_iso": sandbox.clock.now().isoformat(),
        "frozen": sandbox.clock.frozen,
        "accounts": rows,
        "total_invoices": session.execute(select(func.count()).select_from(SdiInvoice)).scalar_one(),
        "journal_entries": session.execute(select(func.count()).select_from(JournalEntry)).scalar_one(),
        "violations": sum(violations.values()),
    }


# -- tenant ----------------------------------------------------------------------------------------


def find_account(session: Session, provider: str, tenant: str) -> Account:
    account = session.execute(
        select(Account).where(Account.provider == provider, Account.tenant == tenant)
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(f"No sandbox account {provider}/{tenant}")
    return account


@dataclass(frozen=True)
class TenantQuery:
    direction: str = "all"
    state: str = ""
    page: int = 1

    @classmethod
    def parse(cls, args: dict[str, str]) -> TenantQuery:
        direction = args.get("direction") or "all"
        if direction not in DIRECTIONS:
            raise BadRequest(f"direction must be one of {', '.join(DIRECTIONS)}")
        state = args.get("state") or ""
        if state and state not in STATES:
            raise BadRequest(f"state must be one of {', '.join(STATES)}")
        return cls(direction, state, parse_int(args.get("page"), default=1, name="page", maximum=10**6))


def tenant_page(session: Session, account: Account, query: TenantQuery) -> dict[str, Any]:
    mine = {
        "sent": SdiInvoice.sender_account_id == account.id,
        "received": SdiInvoice.recipient_account_id == account.id,
    }
    condition = mine[query.direction] if query.direction != "all" else or_(*mine.values())
    if query.state:
        condition = and_(condition, SdiInvoice.state == query.state)
    total = session.execute(select(func.count()).select_from(SdiInvoice).where(condition)).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(query.page, pages)
    invoices = list(
        session.execute(
            select(SdiInvoice)
            .options(defer(SdiInvoice.content), defer(SdiInvoice.xml))
            .where(condition)
            .order_by(SdiInvoice.received_at.desc(), SdiInvoice.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).scalars()
    )
    ids = [i.id for i in invoices]
    last = dict(
        session.execute(
            select(SdiNotification.invoice_id, func.max(SdiNotification.emitted_at))
            .where(SdiNotification.invoice_id.in_(ids))
            .group_by(SdiNotification.invoice_id)
        )
        .tuples()
        .all()
    )
    provider_ids = _provider_ids(session, account, ids)
    rows = [
        {
            **invoice_summary(inv),
            "direction": "sent" if inv.sender_account_id == account.id else "received",
            "provider_id": provider_ids.get(inv.id, ""),
            "updated_at": fmt(max(filter(None, [inv.received_at, last.get(inv.id)]))),
        }
        for inv in invoices
    ]
    return {
        "account": account.public_view(),
        "invoices": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "query": query,
        "jobs": _jobs(session, account),
        "deliveries": _deliveries(session, account),
        "can_pa": bool(account.profile.get("pa_office_code")),
        "recipient": (account.vat_numbers or account.fiscal_codes or [""])[0],
    }


def invoice_summary(inv: SdiInvoice) -> dict[str, Any]:
    return {
        "sdi_id": inv.sdi_id,
        "file_name": inv.file_name,
        "flow": inv.flow,
        "supplier": _party(inv.supplier_name, inv.supplier_country, inv.supplier_vat, inv.supplier_cf),
        "customer": _party(inv.customer_name, inv.customer_country, inv.customer_vat, inv.customer_cf),
        "number": inv.number or "",
        "date": inv.date or "",
        "document_type": inv.document_type or "",
        "total": inv.total or "",
        "state": inv.state,
        "tone": STATE_TONE.get(inv.state, "pending"),
        "received_at": fmt(inv.received_at),
    }


def _party(name: str | None, country: str | None, vat: str | None, cf: str | None) -> dict[str, str]:
    ident = f"{country or ''}{vat}" if vat else (cf or "")
    return {"name": name or "", "id": ident}


def _provider_ids(session: Session, account: Account, ids: list[int]) -> dict[int, str]:
    """The id the account's provider gives each of these SDI invoices (the one its API shows)."""
    if not ids:
        return {}
    by_provider: dict[str, list[tuple[Any, Any, Any]]] = {
        "easytracking": [
            (EtDocument.invoice_id, EtDocument.progressivo_invio, EtDocument.account_id),
            (EtPassiveInvoice.invoice_id, EtPassiveInvoice.id, EtPassiveInvoice.account_id),
        ],
        "acube": [(AcubeInvoice.invoice_id, AcubeInvoice.uuid, AcubeInvoice.account_id)],
        "aruba": [(ArubaInvoice.invoice_id, ArubaInvoice.filename, ArubaInvoice.account_id)],
        "openapi": [(OpenapiInvoice.invoice_id, OpenapiInvoice.public_id, OpenapiInvoice.account_id)],
    }
    columns = by_provider.get(account.provider, [])
    found: dict[int, str] = {}
    for invoice_id, value, account_id in columns:
        for key, ident in session.execute(
            select(invoice_id, value).where(invoice_id.in_(ids), account_id == account.id)
        ).tuples():
            found.setdefault(key, str(ident))
    return found


def _jobs(session: Session, account: Account) -> list[dict[str, Any]]:
    if account.provider != "easytracking":
        return []
    now_jobs = session.execute(
        select(EtJob).where(EtJob.account_id == account.id).order_by(EtJob.created_at.desc()).limit(50)
    ).scalars()
    return [
        {
            "id": job.id,
            "kind": job.kind,
            "items": len(job.items),
            "created_at": fmt(job.created_at),
            "ready_at": fmt(job.ready_at),
            "expires_at": fmt(job.expires_at),
            "ready_at_raw": job.ready_at,
            "expires_at_raw": job.expires_at,
        }
        for job in now_jobs
    ]


def job_state(job: dict[str, Any], now: datetime) -> str:
    if now >= job["expires_at_raw"]:
        return "expired"
    return "ready" if now >= job["ready_at_raw"] else "preparing"


def _deliveries(session: Session, account: Account) -> list[dict[str, Any]]:
    deliveries = session.execute(
        select(WebhookDelivery)
        .where(WebhookDelivery.provider == account.provider, WebhookDelivery.tenant == account.tenant)
        .order_by(WebhookDelivery.id.desc())
        .limit(50)
    ).scalars()
    return [
        {
            "id": d.id,
            "event": d.event,
            "url": d.url,
            "status": d.status,
            "created_at": fmt(d.created_at),
            "next_attempt_at": fmt(d.next_attempt_at),
            "max_attempts": d.max_attempts,
            "attempts": [
                {
                    "number": a.number,
                    "at": fmt(a.at),
                    "status_code": a.status_code,
                    "error": a.error or "",
                    "duration_ms": a.duration_ms,
                }
                for a in d.attempts
            ],
        }
        for d in deliveries
    ]


# -- invoice ---------------------------------------------------------------------------------------


def find_invoice(session: Session, sdi_id: int) -> SdiInvoice:
    invoice = (
        session.execute(select(SdiInvoice).where(SdiInvoice.sdi_id == sdi_id)).scalar_one_or_none()
        if 0 < sdi_id < MAX_ID
        else None
    )
    if invoice is None:
        raise NotFound(f"No SDI invoice with IdentificativoSdI {sdi_id}")
    return invoice


def invoice_page(session: Session, invoice: SdiInvoice) -> dict[str, Any]:
    accounts = {
        a.id: a
        for a in session.execute(
            select(Account).where(Account.id.in_([invoice.sender_account_id, invoice.recipient_account_id]))
        ).scalars()
    }
    sender = accounts.get(invoice.sender_account_id or 0)
    recipient = accounts.get(invoice.recipient_account_id or 0)
    pending = session.execute(
        select(SdiEvent)
        .where(SdiEvent.invoice_id == invoice.id, SdiEvent.status == "pending")
        .order_by(SdiEvent.due_at)
    ).scalars()
    return {
        "invoice": invoice_summary(invoice),
        "channel": invoice.channel,
        "hash": invoice.hash,
        "signed": invoice.xml is not None and invoice.xml != invoice.content,
        "sender": {"provider": sender.provider, "tenant": sender.tenant} if sender else None,
        "recipient": {"provider": recipient.provider, "tenant": recipient.tenant} if recipient else None,
        "timeline": [notification_view(n) for n in invoice.notifications],
        "pending": [{"event": e.event, "due_at": fmt(e.due_at)} for e in pending],
        "xml": pretty_xml(invoice.xml or invoice.content),
        "ns_codes": [(code, ERROR_CATALOGUE[code][0]) for code in NS_CODES],
    }


def notification_view(n: SdiNotification) -> dict[str, Any]:
    return {
        "id": n.id,
        "type": n.type,
        "name": NOTIFICATION_NAMES.get(n.type, n.type),
        "audience": n.audience,
        "file_name": n.file_name,
        "message_id": n.message_id,
        "emitted_at": fmt(n.emitted_at),
        "esito": n.esito or "",
        "errors": notification_errors(n.content),
        "tone": {"NS": "bad", "MC": "warn", "AT": "bad", "DT": "warn"}.get(n.type, "ok"),
    }


def notification_errors(content: bytes) -> list[dict[str, str]]:
    """The ``Errore`` entries (code, description, suggestion) a notification file lists."""
    if b"Errore" not in content:
        return []
    try:
        root = parse_xml(content)
    except ValueError:
        return []
    errors = []
    for node in root.iter():
        if not isinstance(node.tag, str) or strip_namespace(node.tag) != "Errore":
            continue
        fields = {strip_namespace(c.tag): (c.text or "").strip() for c in node if isinstance(c.tag, str)}
        errors.append(
            {
                "code": fields.get("Codice", ""),
                "description": fields.get("Descrizione", ""),
                "suggestion": fields.get("Suggerimento", ""),
            }
        )
    return errors


def find_notification(session: Session, notification_id: int) -> SdiNotification:
    notification = session.get(SdiNotification, notification_id) if 0 < notification_id < MAX_ID else None
    if notification is None:
        raise NotFound(f"No SDI notification {notification_id}")
    return notification


def pretty_xml(content: bytes) -> str:
    """The XML indented for reading; the text as it is when it does not parse."""
    try:
        root = parse_xml(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode")


def rendered_invoice(invoice: SdiInvoice) -> str:
    # Imported here: the renderer pulls in the PDF library, which the server's start-up need not wait for.
    from emulator.sdi.rendering import render_html

    try:
        return render_html(invoice.xml or invoice.content)
    except Exception as exc:  # the rendering of an odd file must not break the page
        return f"<!DOCTYPE html><p>The invoice cannot be rendered: {type(exc).__name__}</p>"


# -- journal ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalQuery:
    provider: str = ""
    tenant: str = ""
    violations: bool = False
    before: int | None = None
    providers: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, args: dict[str, str], providers: list[str]) -> JournalQuery:
        provider = args.get("provider") or ""
        if provider and provider not in providers:
            raise BadRequest(f"provider must be one of {', '.join(providers)}")
        tenant = (args.get("tenant") or "").strip()
        if len(tenant) > 64:
            raise BadRequest("tenant is at most 64 characters")
        violations = args.get("violations") or ""
        if violations not in ("", "0", "1", "true", "false", "on"):
            raise BadRequest("violations must be 1 or 0")
        before = args.get("before")
        return cls(
            provider,
            tenant,
            violations in ("1", "true", "on"),
            parse_int(before, default=0, name="before") if before else None,
            tuple(providers),
        )


def journal_page(session: Session, query: JournalQuery) -> dict[str, Any]:
    statement = select(JournalEntry)
    if query.provider:
        statement = statement.where(JournalEntry.provider == query.provider)
    if query.tenant:
        statement = statement.where(JournalEntry.tenant == query.tenant)
    if query.violations:
        statement = statement.where(JournalEntry.has_violations.is_(True))
    if query.before is not None:
        statement = statement.where(JournalEntry.id < query.before)
    rows = list(
        session.execute(statement.order_by(JournalEntry.id.desc()).limit(JOURNAL_PAGE_SIZE + 1)).scalars()
    )
    more = len(rows) > JOURNAL_PAGE_SIZE
    rows = rows[:JOURNAL_PAGE_SIZE]
    return {
        "entries": [
            {
                "id": e.id,
                "at": fmt(e.at),
                "provider": e.provider,
                "tenant": e.tenant or "",
                "method": e.method,
                "path": e.full_path,
                "status": e.status,
                "duration_ms": round(e.duration_ms, 1),
                "operation": e.operation or "",
                "violations": e.violations,
                "fault": e.fault,
            }
            for e in rows
        ],
        "next_before": rows[-1].id if more and rows else None,
        "query": query,
    }


def find_journal_entry(session: Session, entry_id: int) -> dict[str, Any]:
    entry = session.get(JournalEntry, entry_id) if 0 < entry_id < MAX_ID else None
    if entry is None:
        raise NotFound(f"No journal entry {entry_id}")
    view = entry.view()
    view["at_local"] = fmt(entry.at)
    return view


# -- live updates ----------------------------------------------------------------------------------


def change_token(sandbox: Sandbox, session: Session) -> str:
    """A short token that changes whenever anything the UI shows changes (cheap: index lookups)."""
    maxima = [
        select(func.max(column)).scalar_subquery()
        for column in (
            JournalEntry.id,
            SdiInvoice.id,
            SdiNotification.id,
            SdiEvent.id,
            WebhookDelivery.id,
            WebhookAttempt.id,
            Account.id,
        )
    ]
    counts = [
        select(func.count()).select_from(model).scalar_subquery() for model in (SdiInvoice, EtJob, Account)
    ]
    parts: list[object] = list(session.execute(select(*maxima, *counts)).one())
    parts.append(sandbox.clock.anchors()[0].isoformat())
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
