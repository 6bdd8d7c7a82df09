"""A-Cube's drafts: invoices created in draft mode, kept as the client wrote them until sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from emulator.core.store import Base, UTCDateTime

JSON_FORMAT, XML_FORMAT = "json", "xml"


class AcubeDraft(Base):
    """One draft of an account: ``content`` is the JSON form (UTF-8 text) or the XML, per ``format``.

    Sending a draft turns it into an ``AcubeInvoice`` with the same uuid and deletes this row.
    """

    __tablename__ = "acube_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    format: Mapped[str] = mapped_column(String(4))  # json | xml
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
