"""One row per request a provider served: what was asked, what was answered, what broke the contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emulator.core.store import Base, UTCDateTime


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    # Ids never repeat, even after DELETE /_sandbox/journal or a reset: ``since=<id>`` stays meaningful.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    real_at: Mapped[datetime] = mapped_column(UTCDateTime)
    provider: Mapped[str] = mapped_column(String(32), index=True)
    tenant: Mapped[str | None] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    full_path: Mapped[str] = mapped_column(Text)
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float)
    request_headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_content_type: Mapped[str | None] = mapped_column(String(256))
    request_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    response_content_type: Mapped[str | None] = mapped_column(String(256))
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The injected fault that answered (``{"rule": id, "effect": "drop"}``), if one did.
    fault: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    operation: Mapped[str | None] = mapped_column(String(256))
    violations: Mapped[list[Any]] = mapped_column(JSON)
    has_violations: Mapped[bool] = mapped_column(Boolean, index=True)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "real_at": self.real_at.isoformat(),
            "provider": self.provider,
            "tenant": self.tenant,
            "method": self.method,
            "path": self.path,
            "full_path": self.full_path,
            "query": self.query,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "operation": self.operation,
            "violations": self.violations,
            "fault": self.fault,
            "request": {
                "headers": self.request_headers,
                "content_type": self.request_content_type,
                "body": self.request_body,
            },
            "response": {
                "headers": self.response_headers or {},
                "content_type": self.response_content_type,
                "body": self.response_body,
            },
        }
