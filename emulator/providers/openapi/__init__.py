"""Openapi.it Invoice API (IT-configurations, IT-invoices, IT-receipts), mounted at /openapi."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Request
from sqlalchemy.orm import Session

from emulator.providers.base import Provider
from emulator.providers.openapi import models as _models  # noqa: F401  (tables exist before the store)
from emulator.providers.openapi.errors import render_error
from emulator.sdi.models import SdiInvoice


def _blueprint(sandbox: Any) -> Blueprint:
    from emulator.providers.openapi import routes

    return routes.openapi_blueprint(sandbox)


def _resolve(session: Session, reference: str) -> list[SdiInvoice]:
    """An Openapi invoice id (control API) → the SDI's record of that invoice, once it has one."""
    from sqlalchemy import func, select

    from emulator.providers.openapi.models import OpenapiInvoice

    query = select(OpenapiInvoice).where(func.lower(OpenapiInvoice.public_id) == reference.strip().lower())
    return [row.invoice for row in session.execute(query).scalars() if row.invoice is not None]


def _tenant_of(session: Session, request: Request) -> str | None:
    from emulator.providers.openapi.auth import tenant_of

    return tenant_of(session, request)


PROVIDER = Provider(
    name="openapi",
    prefix="/openapi",
    blueprint=_blueprint,
    render_error=render_error,
    resolve_invoice=_resolve,
    tenant_of=_tenant_of,
)
