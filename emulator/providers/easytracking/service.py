"""Easy Tracking operations (active cycle), one function per documented call. No Flask here.

Limitations:
- The intermediary re-sends every upload to the SDI under its own transmitter id and file name
  (``IT<INTERMEDIARY_VAT>_<progressive>.xml``) as the document's examples show; the client's
  ProgressivoInvio and a synthetic original file name travel in NotificaDitech.
- The intermediary's own checks are limited to a duplicate-invoice check (SI, ``Fattura "<n>"
  esistente``) like the document's example; everything else is left to the simulated SDI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from emulator.core.ids import base36
from emulator.core.store import next_value
from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.easytracking import jobs
from emulator.providers.easytracking.jobs import JobDownload
from emulator.providers.easytracking.listing import ACTIVE_COLUMNS, owner_filter
from emulator.providers.easytracking.models import EtDocument, EtNotification
from emulator.providers.easytracking.notifica_ditech import notifica_ditech, stati
from emulator.providers.easytracking.queries import MAX_TOP, id_list
from emulator.sdi.engine import SdiEngine
from emulator.sdi.fatturapa import NotAnInvoiceError, ParsedInvoice, parse_invoice
from emulator.sdi.lifecycle import State
from emulator.sdi.models import SdiInvoice, SdiNotification
from emulator.sdi.signing import client_bytes_for

# The intermediary's own P.IVA (valid check digit), used as transmitter towards the SDI.
INTERMEDIARY_VAT = "02470300373"
CHANNEL = "easytracking"
V2 = "v2"
NOTIFICATIONS_JOB = "notifications"
INVOICES_JOB = "active-invoices"


# -- upload (§4) ------------------------------------------------------------------------------


def upload_invoice(session: Session, engine: SdiEngine, account: Account, route: str, body: bytes) -> str:
    """POST ActiveInvoices: check, record, hand to the SDI; returns the progressivoInvio."""
    parsed = _parse_upload(body)
    owner = parsed.owner
    if not account.owns(owner.vat, owner.fiscal_code):
        role = "CessionarioCommittente" if parsed.issuer_role == "CC" else "CedentePrestatore"
        shown = owner.vat or owner.fiscal_code or "(missing)"
        raise Forbidden(f"The user has no permission for the {role} {shown} of the invoice")
    progressivo = _progressivo_invio(session, account, route, parsed)
    now = engine.clock.now()
    document = _new_document(account, route, progressivo, parsed, body, now)
    session.add(document)
    session.flush()
    duplicate = _duplicate_of(session, account, document)
    if duplicate is not None:
        document.outcome = "SI"
        document.rejection = f'Fattura "{document.number}" esistente'
        _intermediary_notification(
            session, document, now, errors=(f' Fattura "{document.number}" esistente',)
        )
        return progressivo
    document.progressivo_sdi = next_value(session, "easytracking_progressivo_sdi", start=2_275_500)
    reception = engine.receive(
        session,
        file_name=f"IT{INTERMEDIARY_VAT}_{base36(document.progressivo_sdi)[-5:]}.xml",
        content=body,
        channel=CHANNEL,
        sender_account_id=account.id,
    )
    document.invoice_id = reception.invoice.id
    document.outcome = "OI"
    _intermediary_notification(session, document, now, sdi_id=reception.invoice.sdi_id)
    return progressivo


def _parse_upload(body: bytes) -> ParsedInvoice:
    if not body.strip():
        raise BadRequest("The request body is empty: the electronic invoice in XML format is required")
    try:
        return parse_invoice(parse_xml(body))
    except NotAnInvoiceError as exc:
        raise BadRequest(f"The document is not an electronic invoice (FatturaElettronica): {exc}") from None
    except ValueError as exc:
        raise BadRequest(f"The electronic invoice is not valid XML: {exc}") from None


def _progressivo_invio(session: Session, account: Account, route: str, parsed: ParsedInvoice) -> str:
    """v2 keeps the file's ProgressivoInvio and refuses a repeat (409); v3+ assigns a new one."""
    own = (parsed.progressive or "").strip()
    taken = own != "" and _document_with_progressivo(session, account, own) is not None
    if route == V2:
        if not own:
            raise BadRequest("DatiTrasmissione/ProgressivoInvio is required")
        if _same_transmission(session, account, parsed) or taken:
            raise Conflict(
                f"An invoice with IdTrasmittente {parsed.transmitter.vat} and ProgressivoInvio {own} "
                "has already been uploaded"
            )
        return own
    if own and not taken:
        return own
    while True:
        candidate = str(next_value(session, "easytracking_progressivo_invio", start=100_001))
        if _document_with_progressivo(session, account, candidate) is None:
            return candidate


def _same_transmission(session: Session, account: Account, parsed: ParsedInvoice) -> bool:
    query = (
        select(func.count())
        .select_from(EtDocument)
        .where(
            EtDocument.account_id == account.id,
            EtDocument.transmitter_code == parsed.transmitter.vat,
            EtDocument.file_progressive == parsed.progressive,
        )
    )
    return bool(session.execute(query).scalar_one())


def _document_with_progressivo(session: Session, account: Account, progressivo: str) -> EtDocument | None:
    query = select(EtDocument).where(
        EtDocument.account_id == account.id, EtDocument.progressivo_invio == progressivo
    )
    return session.execute(query).scalar_one_or_none()


def _new_document(
    account: Account, route: str, progressivo: str, parsed: ParsedInvoice, body: bytes, now: datetime
) -> EtDocument:
    body_ = parsed.first_body
    owner = parsed.owner
    transmitter = parsed.transmitter.vat or ""
    return EtDocument(
        account_id=account.id,
        route=route,
        progressivo_invio=progressivo,
        original_file_name=f"Sandbox_{transmitter}_{progressivo}.xml"[:128],
        transmitter_country=parsed.transmitter.country,
        transmitter_code=parsed.transmitter.vat,
        file_progressive=parsed.progressive,
        xml=body,
        uploaded_at=now,
        outcome="OI",
        owner_vat=owner.vat,
        owner_cf=owner.fiscal_code,
        sender_country=parsed.supplier.country,
        sender_vat=parsed.supplier.vat,
        sender_cf=parsed.supplier.fiscal_code,
        receiver_country=parsed.customer.country,
        receiver_vat=parsed.customer.vat,
        receiver_cf=parsed.customer.fiscal_code,
        document_type=body_.document_type if body_ else None,
        number=(body_.number or "")[:20] if body_ else None,
        date=(body_.date or "")[:10] if body_ else None,
    )


def _duplicate_of(session: Session, account: Account, document: EtDocument) -> EtDocument | None:
    """The intermediary refuses an invoice number it already sent for the same supplier and year."""
    if not document.number or not document.date:
        return None
    candidates = session.execute(
        select(EtDocument).where(
            EtDocument.account_id == account.id,
            EtDocument.id != document.id,
            EtDocument.outcome == "OI",
            EtDocument.sender_vat == document.sender_vat,
            EtDocument.number == document.number,
            func.substr(EtDocument.date, 1, 4) == document.date[:4],
        )
    ).scalars()
    for candidate in candidates:
        if candidate.invoice is None or candidate.invoice.state != State.REJECTED.value:
            return candidate
    return None


def _intermediary_notification(
    session: Session,
    document: EtDocument,
    at: datetime,
    *,
    sdi_id: int | None = None,
    errors: tuple[str, ...] = (),
) -> EtNotification:
    kind = "SI" if errors else "OI"
    content = notifica_ditech(kind=kind, document=document, at=at, sdi_id=sdi_id, errors=errors)
    base = document.invoice.file_name if document.invoice else document.original_file_name
    stem = base[: -len(".xml")] if base.lower().endswith(".xml") else base
    notification = EtNotification(
        account_id=document.account_id,
        doc_id=document.id,
        kind=kind,
        file_name=f"{stem}_{kind}_001.xml",
        content=content,
        created_at=at,
        got=False,
    )
    session.add(notification)
    session.flush()
    return notification


def on_sdi_notification(session: Session, notification: SdiNotification) -> None:
    """Engine listener: an SDI message about an invoice sent through Easy Tracking joins its tracking."""
    if notification.audience != "sender" or notification.invoice.channel != CHANNEL:
        return
    document = session.execute(
        select(EtDocument).where(EtDocument.invoice_id == notification.invoice_id)
    ).scalar_one_or_none()
    if document is None:
        return
    session.add(
        EtNotification(
            account_id=document.account_id,
            doc_id=document.id,
            sdi_notification_id=notification.id,
            kind=notification.type,
            file_name=notification.file_name,
            created_at=notification.emitted_at,
            got=False,
        )
    )


# -- notifications (§5–§9) ---------------------------------------------------------------------


# The tables GET InvoiceNotifications reads (a cached answer is good while they are unchanged).
STATUS_TABLES = ("easytracking_documents", "easytracking_notifications", "sdi_notifications")


def invoice_notifications(session: Session, account: Account, progressivo: str | None) -> bytes:
    """GET InvoiceNotifications: every status of the invoice, oldest first; marks them as taken."""
    if not progressivo:
        raise BadRequest("The query parameter progressivoInvio is required")
    doc_id = session.execute(
        select(EtDocument.id).where(
            EtDocument.account_id == account.id, EtDocument.progressivo_invio == progressivo
        )
    ).scalar_one_or_none()
    # Columns only (no ORM objects): this is the call clients poll most.
    rows = [] if doc_id is None else _statuses_of(session, doc_id)
    if not rows:
        raise NotFound(f"No statuses available for progressivoInvio {progressivo}")
    untaken = [row.id for row in rows if not row.got]
    if untaken:
        session.execute(update(EtNotification).where(EtNotification.id.in_(untaken)).values(got=True))
    engine = session.get_bind()
    return stati(
        [
            client_bytes_for(engine, row.sdi_content, row.sdi_signed)
            if row.sdi_content is not None
            else row.content or b""
            for row in rows
        ]
    )


# id, got, own content, the SDI's content (None for the intermediary's own notifications), whether
# the SDI's content is stored signed
StatusRow = Row[int, bool, bytes | None, bytes, bool]


def _statuses_of(session: Session, doc_id: int) -> Sequence[StatusRow]:
    query = (
        select(
            EtNotification.id,
            EtNotification.got,
            EtNotification.content,
            SdiNotification.content.label("sdi_content"),
            SdiNotification.signed.label("sdi_signed"),
        )
        .outerjoin(SdiNotification, SdiNotification.id == EtNotification.sdi_notification_id)
        .where(EtNotification.doc_id == doc_id)
        .order_by(EtNotification.created_at, EtNotification.id)
    )
    return session.execute(query).all()


def new_active_notifications(
    session: Session, account: Account, *, owner_vat: str | None, owner_cf: str | None, top: int
) -> dict[str, object]:
    # Columns only, one query (no document loaded per notification): clients poll this list.
    query = (
        select(
            EtNotification.id, EtDocument.progressivo_invio, EtNotification.doc_id, EtNotification.file_name
        )
        .join(EtDocument, EtNotification.doc_id == EtDocument.id)
        .where(EtNotification.account_id == account.id, EtNotification.got.is_(False))
    )
    query = owner_filter(query, ACTIVE_COLUMNS, owner_vat, owner_cf)
    found = session.execute(query.order_by(EtNotification.created_at, EtNotification.id).limit(top + 1)).all()
    if len(found) > MAX_TOP:
        raise PayloadTooLarge(
            f"More than {MAX_TOP} elements: narrow the request with top or the owner filters"
        )
    items = [
        {"notificationId": id_, "progressivoInvio": progressivo, "docId": doc_id, "fileName": file_name}
        for id_, progressivo, doc_id, file_name in found[:top]
    ]
    return {"notifications": items, "total": len(items)}


def set_notifications_as_got(session: Session, account: Account, payload: object) -> None:
    for notification in _owned_notifications(
        session, account, id_list(payload, "notificationIds", integers=True)
    ):
        notification.got = True


def _owned_notifications(session: Session, account: Account, ids: list[int]) -> list[EtNotification]:
    found = {
        n.id: n
        for n in session.execute(
            select(EtNotification).where(EtNotification.id.in_(ids), EtNotification.account_id == account.id)
        ).scalars()
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise Forbidden(f"Notification ids not found or not permitted: {', '.join(map(str, missing))}")
    return [found[i] for i in ids]


# -- active invoices (§10) ---------------------------------------------------------------------


def invoice_fields(
    *,
    sender: tuple[str | None, str | None],
    receiver: tuple[str | None, str | None],
    date: str | None,
    number: str | None,
    document_type: str | None,
) -> dict[str, object]:
    """The fields both cycles' invoice lists share, "" where the invoice has no value."""
    return {
        "senderPIVA": sender[0] or "",
        "senderCF": sender[1] or "",
        "receiverPIVA": receiver[0] or "",
        "receiverCF": receiver[1] or "",
        "data": date or "",
        "number": number or "",
        "documentType": document_type or "",
    }


# -- fase flags (§14–§21) ----------------------------------------------------------------------


def set_fase(session: Session, account: Account, payload: object, *, by: str, fase: int, value: bool) -> None:
    for document in _owned_documents(session, account, payload, by=by):
        setattr(document, f"fase{fase}", value)


def _owned_documents(session: Session, account: Account, payload: object, *, by: str) -> list[EtDocument]:
    """Documents named by docIds or progressivoInvio; any id unknown or not the account's → 403."""
    if by == "doc-id":
        keys: list[object] = id_list(payload, "docIds", integers=True)
        column = EtDocument.id
    else:
        keys = id_list(payload, "progressivoInvio", integers=False)
        column = EtDocument.progressivo_invio  # type: ignore[assignment]
    rows = session.execute(select(EtDocument).where(column.in_(keys), EtDocument.account_id == account.id))
    found: dict[object, EtDocument] = {
        (d.id if by == "doc-id" else d.progressivo_invio): d for d in rows.scalars()
    }
    missing = [str(k) for k in keys if k not in found]
    if missing:
        name = "document ids" if by == "doc-id" else "progressivoInvio"
        raise Forbidden(f"One or more {name} not found or not permitted: {', '.join(missing)}")
    return [found[k] for k in keys]


# -- jobs (§7, §8, §11–§13) --------------------------------------------------------------------


def book_notifications(
    session: Session, engine: SdiEngine, account: Account, payload: object, delay: int
) -> str:
    notifications = _owned_notifications(session, account, id_list(payload, "notificationIds", integers=True))
    return jobs.book(session, engine, account, NOTIFICATIONS_JOB, [n.id for n in notifications], delay)


def book_invoices(
    session: Session, engine: SdiEngine, account: Account, payload: object, *, by: str, delay: int
) -> str:
    documents = _owned_documents(session, account, payload, by=by)
    return jobs.book(session, engine, account, INVOICES_JOB, [d.id for d in documents], delay)


def download_job(
    session: Session, engine: SdiEngine, account: Account, raw_id: str, kind: str
) -> JobDownload:
    """202 while preparing, then the zip once; afterwards (or 24 h after booking) the job is gone."""
    job = jobs.take(session, engine, account, raw_id, kind)
    if job is None:
        return JobDownload(ready=False)
    content = (
        _notifications_zip(session, job.items)
        if kind == NOTIFICATIONS_JOB
        else _invoices_zip(session, job.items)
    )
    return JobDownload(ready=True, content=content)


def _notifications_zip(session: Session, ids: list[int]) -> bytes:
    notifications = [n for n in (session.get(EtNotification, i) for i in ids) if n is not None]
    index: list[Mapping[str, object]] = [
        {
            "notificationId": n.id,
            "docId": n.doc_id,
            "progressivoInvio": n.document.progressivo_invio,
            "fileName": n.file_name,
        }
        for n in notifications
    ]
    return jobs.zip_archive(((n.file_name, n.payload) for n in notifications), index)


def _invoices_zip(session: Session, ids: list[int]) -> bytes:
    documents = [d for d in (session.get(EtDocument, i) for i in ids) if d is not None]
    files = [
        (d.invoice.file_name, d.invoice.content) if d.invoice else (d.original_file_name, d.xml)
        for d in documents
    ]
    index: list[Mapping[str, object]] = [
        {"docId": d.id, "progressivoInvio": d.progressivo_invio, "fileName": name}
        for d, (name, _content) in zip(documents, files, strict=True)
    ]
    return jobs.zip_archive(files, index)


def resolve_invoice(session: Session, reference: str) -> list[SdiInvoice]:
    """Control API lookup by progressivoInvio or docId (any account)."""
    query = select(EtDocument).where(EtDocument.progressivo_invio == reference)
    documents = list(session.execute(query).scalars())
    if not documents and reference.isdigit():
        document = session.get(EtDocument, int(reference))
        documents = [document] if document is not None else []
    return [d.invoice for d in documents if d.invoice is not None]
