"""Easy Tracking (VarHub NG / Ditech): active cycle v2–v4 and passive cycle v2–v10, at /easytracking."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Request
from sqlalchemy.orm import Session

from emulator.providers.base import Provider
from emulator.providers.easytracking import models as _models  # noqa: F401  (tables exist before the store)
from emulator.providers.easytracking.errors import render_error
from emulator.sdi.models import SdiInvoice


def _blueprint(sandbox: Any) -> Blueprint:
    from emulator.providers.easytracking import passive, routes, service

    sandbox.engine.subscribe(service.on_sdi_notification)
    sandbox.engine.subscribe(passive.on_sdi_notification)
    return routes.easytracking_blueprint(sandbox)


def _resolve(session: Session, reference: str) -> list[SdiInvoice]:
    from emulator.providers.easytracking import service

    return service.resolve_invoice(session, reference)


def _tenant_of(session: Session, request: Request) -> str | None:
    from emulator.providers.easytracking.auth import tenant_of

    return tenant_of(session, request)


PROVIDER = Provider(
    name="easytracking",
    prefix="/easytracking",
    blueprint=_blueprint,
    render_error=render_error,
    resolve_invoice=_resolve,
    tenant_of=_tenant_of,
)
