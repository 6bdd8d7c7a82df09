"""Easy Tracking's own view of the SDI state: documents (docId), notifications (notificationId), jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emulator.core.store import Base, UTCDateTime
from emulator.sdi.models import SdiInvoice, SdiNotification


class EtDocument(Base):
    """An active or third-party invoice uploaded through ActiveInvoices (docId = id)."""

    __tablename__ = "easytracking_documents"
    __table_args__ = (UniqueConstraint("account_id", "progressivo_invio"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    route: Mapped[str] = mapped_column(String(4))
    progressivo_invio: Mapped[str] = mapped_column(String(32))
    original_file_name: Mapped[str] = mapped_column(String(128))
    transmitter_country: Mapped[str | None] = mapped_column(String(2))
    transmitter_code: Mapped[str | None] = mapped_column(String(28))
    file_progressive: Mapped[str | None] = mapped_column(String(10))
    progressivo_sdi: Mapped[int | None] = mapped_column(Integer)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("sdi_invoices.id"), index=True)
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str] = mapped_column(String(2))  # OI or SI
    rejection: Mapped[str | None] = mapped_column(String(512))
    owner_vat: Mapped[str | None] = mapped_column(String(28))
    owner_cf: Mapped[str | None] = mapped_column(String(16))
    sender_country: Mapped[str | None] = mapped_column(String(2))
    sender_vat: Mapped[str | None] = mapped_column(String(28))
    sender_cf: Mapped[str | None] = mapped_column(String(16))
    receiver_country: Mapped[str | None] = mapped_column(String(2))
    receiver_vat: Mapped[str | None] = mapped_column(String(28))
    receiver_cf: Mapped[str | None] = mapped_column(String(16))
    document_type: Mapped[str | None] = mapped_column(String(4))
    number: Mapped[str | None] = mapped_column(String(20))
    date: Mapped[str | None] = mapped_column(String(10))
    fase1: Mapped[bool] = mapped_column(Boolean, default=False)
    fase2: Mapped[bool] = mapped_column(Boolean, default=False)

    invoice: Mapped[SdiInvoice | None] = relationship()


class EtNotification(Base):
    """A notification as Easy Tracking lists it: its own NotificaDitech (OI/SI) or an SDI file."""

    __tablename__ = "easytracking_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    doc_id: Mapped[int] = mapped_column(ForeignKey("easytracking_documents.id"), index=True)
    sdi_notification_id: Mapped[int | None] = mapped_column(ForeignKey("sdi_notifications.id"))
    kind: Mapped[str] = mapped_column(String(2))
    file_name: Mapped[str] = mapped_column(String(160))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    got: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    document: Mapped[EtDocument] = relationship()
    sdi_notification: Mapped[SdiNotification | None] = relationship()

    @property
    def payload(self) -> bytes:
        if self.sdi_notification is not None:
            return self.sdi_notification.content
        return self.content or b""


class EtJob(Base):
    __tablename__ = "easytracking_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    items: Mapped[list[Any]] = mapped_column(JSON)
    # Per kind: the route it was booked on and the file types it delivers (passive invoices).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class EtPassiveInvoice(Base):
    """An invoice the SDI delivered to an Easy Tracking account (passive cycle; ``id`` is the docId)."""

    __tablename__ = "easytracking_passive_invoices"
    __table_args__ = (UniqueConstraint("account_id", "invoice_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("sdi_invoices.id"), index=True)
    metadata_id: Mapped[int] = mapped_column(ForeignKey("sdi_notifications.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    stored_file_name: Mapped[str] = mapped_column(String(200))
    unsigned_number: Mapped[int] = mapped_column(Integer)
    progressivo_annuale: Mapped[int] = mapped_column(Integer)
    country_channel: Mapped[int] = mapped_column(Integer, default=0)
    fase1: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    fase2: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    invoice: Mapped[SdiInvoice] = relationship()
    metadata_file: Mapped[SdiNotification] = relationship()
