"""Download jobs, shared by both cycles: booked now, ready after a delay, downloaded once, gone in 24 h."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from emulator.core.errors import Forbidden
from emulator.core.tenancy import Account
from emulator.providers.easytracking.models import EtJob
from emulator.providers.easytracking.queries import guid
from emulator.sdi.engine import SdiEngine

JOB_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class JobDownload:
    """A download attempt: not ready yet (202), or the zip (200)."""

    ready: bool
    content: bytes = b""


def book(
    session: Session,
    engine: SdiEngine,
    account: Account,
    kind: str,
    items: list[int],
    delay: int,
    options: dict[str, Any] | None = None,
) -> str:
    """Record a job over ``items``; returns its GUID."""
    now = engine.clock.now()
    job = EtJob(
        id=engine.ids.guid(),
        account_id=account.id,
        kind=kind,
        items=items,
        options=options or {},
        created_at=now,
        ready_at=now + timedelta(seconds=delay),
        expires_at=now + JOB_LIFETIME,
    )
    session.add(job)
    return job.id


def take(session: Session, engine: SdiEngine, account: Account, raw_id: str, kind: str) -> EtJob | None:
    """The caller's job of ``kind`` once ready (deleted: a job downloads once), ``None`` while in progress.

    A malformed id is a 400; an unknown, foreign, expired or already downloaded job is a 403.
    """
    job_id = guid(raw_id)
    now = engine.clock.now()
    job = session.get(EtJob, job_id)
    if job is not None and job.expires_at <= now:
        session.delete(job)
        job = None
    if job is None or job.account_id != account.id or job.kind != kind:
        raise Forbidden(f"Job {job_id} not found or not permitted")
    if now < job.ready_at:
        return None
    session.delete(job)
    return job


def zip_archive(files: Iterable[tuple[str, bytes]], index: list[Mapping[str, object]]) -> bytes:
    """The files (each name once) plus ``indice.json`` = ``{"files": index}``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        seen: set[str] = set()
        for name, content in files:
            if name not in seen:
                seen.add(name)
                archive.writestr(name, content)
        archive.writestr("indice.json", json.dumps({"files": index}, ensure_ascii=False, indent=2))
    return buffer.getvalue()
