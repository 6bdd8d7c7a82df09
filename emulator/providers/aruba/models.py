"""Aruba's own state: OAuth tokens (opaque, stored, so that a refresh can revoke what it replaces)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from emulator.core.store import Base, UTCDateTime


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
