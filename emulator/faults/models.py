"""One row per fault rule; ``rank`` orders them (first rule that fires wins). A reset wipes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emulator.core.store import Base, UTCDateTime


class FaultRule(Base):
    __tablename__ = "fault_rules"

    # From the "fault_rules" sequence: 1, 2, ... again after a reset, so seeded runs repeat exactly.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rank: Mapped[int] = mapped_column(Integer, index=True)
    provider: Mapped[str] = mapped_column(String(32), index=True)
    method: Mapped[str | None] = mapped_column(String(16))
    path: Mapped[str | None] = mapped_column(Text)
    tenant: Mapped[str | None] = mapped_column(String(64))
    effect: Mapped[dict[str, Any]] = mapped_column(JSON)
    count: Mapped[int | None] = mapped_column(Integer)
    remaining: Mapped[int | None] = mapped_column(Integer)
    probability: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Requests that matched (each one rolled the dice when probability < 1) and times it fired.
    matched: Mapped[int] = mapped_column(Integer, default=0)
    hits: Mapped[int] = mapped_column(Integer, default=0)

    def state(self, now: datetime) -> str:
        if self.remaining is not None and self.remaining <= 0:
            return "spent"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    def view(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "order": self.rank,
            "provider": self.provider,
            "method": self.method,
            "path": self.path,
            "tenant": self.tenant,
            "effect": dict(self.effect),
            "count": self.count,
            "remaining": self.remaining,
            "probability": self.probability,
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "created_at": self.created_at.isoformat(),
            "matched": self.matched,
            "hits": self.hits,
            "state": self.state(now),
        }
