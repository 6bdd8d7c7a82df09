"""A-Cube's legal storage: ``POST /invoices/{uuid}/preserve`` and the PreservedDocument it creates.

Decisions where the page is silent (contract: "Inferred"):

- Eligible: an invoice the SDI accepted — sent (type 0) and not "waiting", "draft", "rejected",
  "invoice-error" or "quarantena" — or any received invoice (type 1), not already sent to
  preservation. Otherwise 400 "Invoice not eligible for preservation: <reason>" (preserving twice
  included).
- The submission is asynchronous. The record is created "to_preserve"; ``SUBMIT_SECONDS`` of
  virtual time later it is "sent" to the preservation system; ``RECEIPT_SECONDS`` after that the
  system's receipt arrives: "preserved", ``receipt_received_at`` and ``preserved_object_id`` set,
  and the invoice shows ``legally_stored: true``. ``object_type`` is "invoice", ``object_id`` the
  invoice's uuid, ``weight`` the size in bytes of the stored file.

Limitations: preservation never fails, and no webhook is called (the contract lists none for it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from emulator.core.errors import BadRequest, NotFound
from emulator.core.tasks import AfterCommit, ScheduledTask, TaskHandler
from emulator.core.tenancy import Account
from emulator.providers.acube import records
from emulator.providers.acube.models import AcubeInvoice
from emulator.providers.acube.preservation_models import AcubePreservedDocument
from emulator.state import Sandbox

PRESERVATION_STEP = "acube.preservation_step"
TO_PRESERVE, SENT, PRESERVED = "to_preserve", "sent", "preserved"
SUBMIT_SECONDS = 60
RECEIPT_SECONDS = 3600
OBJECT_TYPE = "invoice"
NOT_ELIGIBLE = "Invoice not eligible for preservation"
# Marking of a sent invoice -> why it cannot be preserved.
INELIGIBLE_MARKINGS = {
    "draft": "it is a draft",
    records.WAITING: "it has not been sent to the SDI yet",
    "rejected": "the SDI rejected it",
    "invoice-error": "it is in error",
    "quarantena": "it is in quarantine",
}
MESSAGES = {
    TO_PRESERVE: "Waiting to be sent to the preservation system",
    SENT: "Sent to the preservation system, waiting for its receipt",
    PRESERVED: "Preserved",
}


class NotEligible(BadRequest):
    """400: the invoice cannot be sent to legal storage (now, or again)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{NOT_ELIGIBLE}: {reason}.")


def document_of(session: Session, row: AcubeInvoice) -> AcubePreservedDocument | None:
    query = select(AcubePreservedDocument).where(AcubePreservedDocument.invoice_id == row.id)
    document: AcubePreservedDocument | None = session.execute(query).scalar_one_or_none()
    return document


def preserve(sandbox: Sandbox, session: Session, account: Account, reference: str) -> AcubePreservedDocument:
    """Check eligibility, create the record and schedule its first step."""
    row = records.find(session, account, reference)
    if row is None:
        raise NotFound("Not Found")
    if document_of(session, row) is not None:
        raise NotEligible("it was already sent to preservation")
    if row.type == records.SENT:
        reason = INELIGIBLE_MARKINGS.get(records.marking_of(row))
        if reason is not None:
            raise NotEligible(reason)
    now = sandbox.clock.now()
    document = AcubePreservedDocument(
        uuid=sandbox.ids.guid(),
        invoice_id=row.id,
        created_at=now,
        status=TO_PRESERVE,
        object_type=OBJECT_TYPE,
        object_id=row.uuid,
        message=MESSAGES[TO_PRESERVE],
        weight=len(row.xml),
    )
    session.add(document)
    session.flush()
    due = now + timedelta(seconds=SUBMIT_SECONDS)
    sandbox.tasks.schedule(session, PRESERVATION_STEP, due, {"document": document.id, "status": SENT})
    return document


def step_handler(sandbox: Sandbox) -> TaskHandler:
    """Task ``acube.preservation_step``: "to_preserve" → "sent" → "preserved"."""

    def handler(session: Session, task: ScheduledTask) -> AfterCommit | None:
        document = session.get(AcubePreservedDocument, task.payload.get("document"))
        status = task.payload.get("status")
        if document is None:
            return None
        if status == SENT and document.status == TO_PRESERVE:
            document.status, document.message = SENT, MESSAGES[SENT]
            due = task.due_at + timedelta(seconds=RECEIPT_SECONDS)
            payload = {"document": document.id, "status": PRESERVED}
            sandbox.tasks.schedule(session, PRESERVATION_STEP, due, payload)
        elif status == PRESERVED and document.status == SENT:
            document.status, document.message = PRESERVED, MESSAGES[PRESERVED]
            document.receipt_received_at = task.due_at
            document.preserved_object_id = sandbox.ids.guid()
        session.flush()
        return None

    return handler


def get_preserved_document(session: Session, account: Account, reference: str) -> AcubePreservedDocument:
    """``GET /invoices/{id}/preserved-document``: 404 for an unknown invoice and one never preserved."""
    row = records.find(session, account, reference)
    document = document_of(session, row) if row is not None else None
    if document is None:
        raise NotFound("Not Found")
    return document


def document_view(document: AcubePreservedDocument) -> dict[str, Any]:
    """The PreservedDocument resource, keys as the page's sample."""
    return {
        "created_at": records.rome(document.created_at),
        "uuid": document.uuid,
        "status": document.status,
        "receipt_received_at": records.rome(document.receipt_received_at),
        "object_type": document.object_type,
        "object_id": document.object_id,
        "message": document.message,
        "preserved_object_id": document.preserved_object_id,
        "weight": document.weight,
    }


def preservation_of(row: AcubeInvoice) -> tuple[bool, dict[str, Any] | None]:
    """``legally_stored`` and ``preserved_document`` of the invoice view."""
    session = object_session(row)
    document = document_of(session, row) if session is not None else None
    if document is None:
        return False, None
    return document.status == PRESERVED, document_view(document)
