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


# -- SLA (§3) ------------------------------------------------------------------------------------


class ArubaSlaWindow(Base):
    """Calls one client IP made to one SLA category in the current one-minute window (virtual time)."""

    __tablename__ = "aruba_sla_windows"

    client_ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(24), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    calls: Mapped[int] = mapped_column(Integer, default=0)


# -- Financial communications (§6) ----------------------------------------------------------------------


class ArubaFinancialRequest(Base):
    """A transmission request of §6: one communication file, or a zip of them (the parent of its files).

    What the SDI will do with a file is decided on acceptance and stored with the instants it happens
    at (transmission, outcome, preservation); what a client sees is computed from them and the clock
    when it asks (financial.py).
    """

    __tablename__ = "aruba_financial_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # The zip request (kind "zip") a file of CreateTransmissionRequestList came in.
    parent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(4))  # "file" | "zip"
    communication_type: Mapped[str] = mapped_column(String(2))  # LI | DF
    # Files: the name in the client's zip, Aruba's name for it, the SDI's IdFile, the file as received.
    source_name: Mapped[str | None] = mapped_column(String(255))
    file_name: Mapped[str | None] = mapped_column(String(64), index=True)
    file_id: Mapped[str | None] = mapped_column(String(20), index=True)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    signed: Mapped[bool] = mapped_column(Boolean, default=True)
    # ES01 | ES02 | ES03 (the SDI's outcome, with its receipt), AR06 | AR07 (ends in error).
    outcome: Mapped[str | None] = mapped_column(String(4))
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    transmitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    preserved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
