"""A-Cube (FatturaPA invoices API, an API Platform application), mounted at /acube.

Every operation of A-Cube's invoices page, its login, notifications, webhooks and the sandbox
simulation calls; ``routes.py`` lists the area modules.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Request
from sqlalchemy.orm import Session

from emulator.providers.acube import draft_models as _draft_models  # noqa: F401  (tables before the store)
from emulator.providers.acube import models as _models  # noqa: F401  (tables exist before the store)
from emulator.providers.acube import preservation_models as _preservation_models  # noqa: F401
from emulator.providers.acube.errors import render_error
from emulator.providers.base import Provider
from emulator.sdi.models import SdiInvoice


def _blueprint(sandbox: Any) -> Blueprint:
    from emulator.providers.acube import routes

    return routes.acube_blueprint(sandbox)


def _resolve(session: Session, reference: str) -> list[SdiInvoice]:
    """An A-Cube invoice uuid (control API) → the SDI's record of that invoice, once it has one."""
    from sqlalchemy import func, select

    from emulator.providers.acube.models import AcubeInvoice

    query = select(AcubeInvoice).where(func.lower(AcubeInvoice.uuid) == reference.strip().lower())
    return [row.invoice for row in session.execute(query).scalars() if row.invoice is not None]


def _tenant_of(session: Session, request: Request) -> str | None:
    from emulator.providers.acube.auth import tenant_of

    return tenant_of(session, request)


PROVIDER = Provider(
    name="acube",
    prefix="/acube",
    blueprint=_blueprint,
    render_error=render_error,
    resolve_invoice=_resolve,
    tenant_of=_tenant_of,
)
