"""Aruba's own state: OAuth tokens, and the invoices an account sees in its sent and received boxes.

Sections below the invoice belong to one area each (financial communications, callbacks); a new
area adds its tables at the end of this file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emulator.core.store import Base, UTCDateTime
from emulator.sdi.models import SdiInvoice


class ArubaToken(Base):
    __tablename__ = "aruba_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    access_token: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    refresh_token: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_used: Mapped[bool] = mapped_column(Boolean, default=False)


class ArubaInvoice(Base):
    """One file in an account's box: ``out`` (uploaded, §7–8) or ``in`` (received, §9).

    A sent file exists before the SDI has it (status "Presa in carico", then "Errore Elaborazione"
    or "Inviata"); from "Inviata" on, ``invoice`` is the SDI's record and the status follows it.
    Parties and the per-body number/date are copied here because a file that never reached the SDI
    is still listed with them.
    """

    __tablename__ = "aruba_invoices"

    # Aruba's invoice id (``id`` in every body, ``{invoiceId}`` in paths), from a sequence.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3), index=True)  # "out" | "in"
    filename: Mapped[str] = mapped_column(String(160), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("sdi_invoices.id"), index=True)
    # Own status of a sent file until the SDI has it: "Presa in carico", "Errore Elaborazione",
    # "Inviata". Received files: "Inviata" (as the document's examples), then the esito's outcome.
    status: Mapped[str] = mapped_column(String(24))
    status_description: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(32))
    upload_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    invoice_type: Mapped[str | None] = mapped_column(String(8))
    sender: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    receiver: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{"number": ..., "date": "YYYY-MM-DD"}], one per FatturaElettronicaBody.
    bodies: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Received files: the esito the account sent (EC01/EC02) and when.
    esito: Mapped[str | None] = mapped_column(String(4))
    esito_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invoice: Mapped[SdiInvoice | None] = relationship()
