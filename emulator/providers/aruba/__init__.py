"""Aruba Fatturazione Elettronica, mounted at /aruba (authentication and services hosts together).

Work in progress: authentication (§5) is served; the invoice services follow.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy.orm import Session

from emulator.providers.aruba import models as _models  # noqa: F401  (tables exist before the store)
from emulator.providers.aruba.errors import render_error
from emulator.providers.base import Provider
from emulator.sdi.models import SdiInvoice


def _blueprint(sandbox: Any) -> Blueprint:
    from emulator.providers.aruba import routes

    return routes.aruba_blueprint(sandbox)


def _resolve(session: Session, reference: str) -> list[SdiInvoice]:
    return []


PROVIDER = Provider(
    name="aruba",
    prefix="/aruba",
    blueprint=_blueprint,
    render_error=render_error,
    resolve_invoice=_resolve,
)
