"""A-Cube's own state: the invoices an account sees, sent to customers (type 0) and received (type 1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emulator.core.store import Base, UTCDateTime
from emulator.sdi.models import SdiInvoice


class AcubeInvoice(Base):
    """One invoice of an account: ``type`` 0 (sent to a customer) or 1 (received from a supplier).

    A sent invoice exists before the SDI has it (marking "waiting"); from then on ``invoice`` is the
    SDI's record and the marking follows its state. The parties, number, date and format are copied
    here so that the collection's filters run in SQL.
    """

    __tablename__ = "acube_invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    type: Mapped[int] = mapped_column(Integer, index=True)  # 0 sent | 1 received
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("sdi_invoices.id"), index=True)
    # The file name A-Cube gives a sent invoice (the SDI's for a received one).
    file_name: Mapped[str] = mapped_column(String(160), index=True)
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    sender_name: Mapped[str | None] = mapped_column(Text)
    sender_country: Mapped[str | None] = mapped_column(String(2))
    sender_vat: Mapped[str | None] = mapped_column(String(28), index=True)
    sender_cf: Mapped[str | None] = mapped_column(String(28), index=True)
    recipient_name: Mapped[str | None] = mapped_column(Text)
    recipient_country: Mapped[str | None] = mapped_column(String(2))
    recipient_vat: Mapped[str | None] = mapped_column(String(28), index=True)
    recipient_cf: Mapped[str | None] = mapped_column(String(28), index=True)
    invoice_number: Mapped[str | None] = mapped_column(String(20), index=True)
    invoice_date: Mapped[str | None] = mapped_column(String(10))
    document_type: Mapped[str | None] = mapped_column(String(4))
    transmission_format: Mapped[str | None] = mapped_column(String(5))
    to_pa: Mapped[bool] = mapped_column(Boolean, default=False)
    stamp: Mapped[bool] = mapped_column(Boolean, default=False)  # virtual stamp duty (BolloVirtuale SI)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    downloaded: Mapped[bool] = mapped_column(Boolean, default=False)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # PUT /invoices/{id}/archive-rejected: a rejected invoice the client will not fix (not "rejectedToFix").
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invoice: Mapped[SdiInvoice | None] = relationship()
