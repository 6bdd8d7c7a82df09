"""Openapi.it's own state: tokens, IT-configurations, invoices (both directions) and receipts.

Ids are 24 lowercase hex digits, as Openapi's (MongoDB ObjectIds) — see ``new_id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emulator.core.store import Base, UTCDateTime
from emulator.sdi.models import SdiInvoice


class OpenapiToken(Base):
    """A bearer token issued by the OAuth endpoint (the accounts' ready-made tokens live on Account)."""

    __tablename__ = "openapi_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OpenapiConfiguration(Base):
    """One IT-configuration: a company (``fiscal_id``) an account manages; ``document`` is its JSON."""

    __tablename__ = "openapi_configurations"
    __table_args__ = (UniqueConstraint("fiscal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    fiscal_id: Mapped[str] = mapped_column(String(28), index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OpenapiInvoice(Base):
    """One invoice of an account: sent (``outgoing``), received (``incoming``) or imported.

    ``state``/``sdi_status`` are stored at each change (the webhooks report them); an invoice Openapi
    handed to the SDI links the SDI's record (``invoice``).
    """

    __tablename__ = "openapi_invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    fiscal_id: Mapped[str] = mapped_column(String(28), index=True)  # the configuration's company
    direction: Mapped[str] = mapped_column(String(8), index=True)  # outgoing | incoming
    state: Mapped[str] = mapped_column(String(10), index=True)  # NEW SENT RECEIVED DONE ERROR
    sdi_status: Mapped[str | None] = mapped_column(String(16))
    imported: Mapped[bool] = mapped_column(Boolean, default=False)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("sdi_invoices.id"), index=True)
    sdi_id: Mapped[str | None] = mapped_column(String(20), index=True)
    file_name: Mapped[str | None] = mapped_column(String(160))
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    type: Mapped[str | None] = mapped_column(String(4), index=True)  # TipoDocumento
    document_number: Mapped[str | None] = mapped_column(String(20), index=True)
    issue_date: Mapped[str | None] = mapped_column(String(10), index=True)
    counterparty_fiscal_id: Mapped[str | None] = mapped_column(String(28))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    invoice: Mapped[SdiInvoice | None] = relationship()


class OpenapiReceipt(Base):
    """One smart receipt (sale, return or void); returns and voids point at their ``parent``."""

    __tablename__ = "openapi_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    fiscal_id: Mapped[str] = mapped_column(String(28), index=True)
    type: Mapped[str] = mapped_column(String(8), index=True)  # sale | return | void
    status: Mapped[str] = mapped_column(String(10), index=True)  # new retry submitted ready failed voided
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("openapi_receipts.id"), index=True)
    document_number: Mapped[str | None] = mapped_column(String(32), index=True)
    document_date: Mapped[str | None] = mapped_column(String(10), index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)  # the request as accepted, plus computed fields
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # handed to the Tax Authority
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # transmissions tried
