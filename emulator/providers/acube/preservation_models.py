"""A-Cube's legal storage ("conservazione sostitutiva"): one PreservedDocument per preserved invoice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emulator.core.store import Base, UTCDateTime


class AcubePreservedDocument(Base):
    """The record ``POST /invoices/{uuid}/preserve`` creates; its ``status`` moves on in virtual time."""

    __tablename__ = "acube_preserved_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("acube_invoices.id"), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    receipt_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str] = mapped_column(String(36))
    message: Mapped[str | None] = mapped_column(Text)
    preserved_object_id: Mapped[str | None] = mapped_column(String(36))
    weight: Mapped[int] = mapped_column(Integer, default=0)
