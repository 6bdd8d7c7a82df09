"""Aruba Fatturazione Elettronica, mounted at /aruba (authentication and services hosts together).

Work in progress: authentication (§5) is served; the invoice services follow.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Request
from sqlalchemy.orm import Session

from emulator.providers.aruba import models as _models  # noqa: F401  (tables exist before the store)
from emulator.providers.aruba.errors import render_error
from emulator.providers.base import Provider
from emulator.sdi.models import SdiInvoice


def _blueprint(sandbox: Any) -> Blueprint:
    from emulator.providers.aruba import routes

    return routes.aruba_blueprint(sandbox)


def _resolve(session: Session, reference: str) -> list[SdiInvoice]:
    """An Aruba invoice id or Aruba file name (control API) → the SDI's record of that file, if it has one."""
    from sqlalchemy import func, or_, select

    from emulator.providers.aruba.models import ArubaInvoice

    reference = reference.strip()
    condition = func.lower(ArubaInvoice.filename) == reference.lower()
    if reference.isascii() and reference.isdigit() and len(reference) <= 18:
        condition = or_(condition, ArubaInvoice.id == int(reference))
    query = select(ArubaInvoice).where(condition)
    return [row.invoice for row in session.execute(query).scalars() if row.invoice is not None]


def _tenant_of(session: Session, request: Request) -> str | None:
    from emulator.providers.aruba.auth import tenant_of

    return tenant_of(session, request)


PROVIDER = Provider(
    name="aruba",
    prefix="/aruba",
    blueprint=_blueprint,
    render_error=render_error,
    resolve_invoice=_resolve,
    tenant_of=_tenant_of,
)
