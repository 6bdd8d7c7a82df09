"""What the SDI holds: each transmitted invoice file once, its notifications, its scheduled events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from emulator.core.store import Base, UTCDateTime


class SdiInvoice(Base):
    __tablename__ = "sdi_invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sdi_id: Mapped[int] = mapped_column(Integer, unique=True, index=True)
    file_name: Mapped[str] = mapped_column(String(128), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    hash: Mapped[str] = mapped_column(String(64))
    flow: Mapped[str] = mapped_column(String(3))
    versione: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(20), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    sender_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    recipient_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    supplier_country: Mapped[str | None] = mapped_column(String(2))
    supplier_vat: Mapped[str | None] = mapped_column(String(28), index=True)
    supplier_cf: Mapped[str | None] = mapped_column(String(16))
    supplier_name: Mapped[str | None] = mapped_column(Text)
    customer_country: Mapped[str | None] = mapped_column(String(2))
    customer_vat: Mapped[str | None] = mapped_column(String(28), index=True)
    customer_cf: Mapped[str | None] = mapped_column(String(16), index=True)
    customer_name: Mapped[str | None] = mapped_column(Text)
    transmitter_country: Mapped[str | None] = mapped_column(String(2))
    transmitter_code: Mapped[str | None] = mapped_column(String(28))
    progressive: Mapped[str | None] = mapped_column(String(10))
    recipient_code: Mapped[str | None] = mapped_column(String(7))
    recipient_pec: Mapped[str | None] = mapped_column(String(256))
    document_type: Mapped[str | None] = mapped_column(String(4))
    number: Mapped[str | None] = mapped_column(String(20))
    date: Mapped[str | None] = mapped_column(String(10))
    year: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[str | None] = mapped_column(String(20))
    issuer_role: Mapped[str | None] = mapped_column(String(2))
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)

    notifications: Mapped[list[SdiNotification]] = relationship(
        back_populates="invoice", order_by="SdiNotification.id", cascade="all, delete-orphan"
    )


class SdiNotification(Base):
    __tablename__ = "sdi_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("sdi_invoices.id"), index=True)
    type: Mapped[str] = mapped_column(String(2))
    # "sender" (supplier side: RC NS MC NE AT DT) or "recipient" (MT, DT, SE).
    audience: Mapped[str] = mapped_column(String(9))
    file_name: Mapped[str] = mapped_column(String(160))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    message_id: Mapped[str] = mapped_column(String(14))
    emitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    esito: Mapped[str | None] = mapped_column(String(4))
    # False: ``content`` is stored unsigned (bulk seeding) and signed whenever it is read, with the
    # same bytes each time (see signing.client_bytes); readers never see the difference.
    signed: Mapped[bool] = mapped_column(Boolean, default=True)

    invoice: Mapped[SdiInvoice] = relationship(back_populates="notifications")


class SdiEvent(Base):
    """Something the SDI will do at ``due_at`` unless the lifecycle makes it moot first."""

    __tablename__ = "sdi_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("sdi_invoices.id"), index=True)
    event: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)


def _sign_on_read(target: SdiNotification, context: Any, attrs: Any = None) -> None:
    """An unsigned stored message is seen signed by every ORM reader (``signing.client_bytes``)."""
    loaded = target.__dict__
    if loaded.get("signed", True) or "content" not in loaded:
        return
    from emulator.sdi.signing import client_bytes, signer_of

    signed = client_bytes(loaded["content"], False, signer_of(context.session.get_bind()))
    set_committed_value(target, "content", signed)
    set_committed_value(target, "signed", True)


event.listen(SdiNotification, "load", _sign_on_read)
event.listen(SdiNotification, "refresh", _sign_on_read)
