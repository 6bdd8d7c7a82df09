"""Work a provider schedules for a virtual instant: processing delays, deliveries and their retries.

The SDI engine has its own events (an invoice's lifecycle); everything else that must happen "later"
is a task: a kind, a due instant and a JSON payload. Providers register one handler per kind; the
sandbox runs due tasks and SDI events together, in due order, whenever it processes due work.

A handler runs inside the store's transaction. When it must reach outside the sandbox (an HTTP
callback to a client), it returns an ``AfterCommit``: the sandbox calls it once the transaction is
committed and the store's lock released, so a client that calls back into the sandbox while it
handles the delivery is served instead of waiting on the lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from emulator.core.store import Base, UTCDateTime

AfterCommit = Callable[[], None]
TaskHandler = Callable[[Session, "ScheduledTask"], AfterCommit | None]


class ScheduledTask(Base):
    __tablename__ = "scheduled_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # pending -> done; "orphan" when no handler knows the kind (a provider was removed).
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)


class TaskQueue:
    def __init__(self) -> None:
        self._handlers: dict[str, TaskHandler] = {}

    def register(self, kind: str, handler: TaskHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for task kind {kind!r} is already registered")
        self._handlers[kind] = handler

    def schedule(
        self, session: Session, kind: str, due_at: datetime, payload: dict[str, Any] | None = None
    ) -> ScheduledTask:
        task = ScheduledTask(kind=kind, due_at=due_at, payload=payload or {}, status="pending")
        session.add(task)
        session.flush()
        return task

    def next_due(self, session: Session, until: datetime) -> ScheduledTask | None:
        query = (
            select(ScheduledTask)
            .where(ScheduledTask.status == "pending", ScheduledTask.due_at <= until)
            .order_by(ScheduledTask.due_at, ScheduledTask.id)
            .limit(1)
        )
        return session.execute(query).scalar_one_or_none()

    def first_due_at(self, session: Session) -> datetime | None:
        """The instant of the earliest pending task (None: nothing pending)."""
        query = select(func.min(ScheduledTask.due_at)).where(ScheduledTask.status == "pending")
        return session.execute(query).scalar_one_or_none()

    def run(self, session: Session, task: ScheduledTask) -> AfterCommit | None:
        """Run one due task (its handler sees ``task.due_at`` as the instant it happens)."""
        handler = self._handlers.get(task.kind)
        task.status = "done" if handler is not None else "orphan"
        session.flush()
        return handler(session, task) if handler is not None else None
