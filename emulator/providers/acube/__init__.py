"""A-Cube (FatturaPA invoices API, an API Platform application), mounted at /acube.

Work in progress: authentication (``POST /login``, bearer JWTs) is served; the invoice
operations follow.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy.orm import Session

from emulator.providers.acube.errors import render_error
from emulator.providers.base import Provider
from emulator.sdi.models import SdiInvoice


def _blueprint(sandbox: Any) -> Blueprint:
    from emulator.providers.acube import routes

    return routes.acube_blueprint(sandbox)


def _resolve(session: Session, reference: str) -> list[SdiInvoice]:
    """An A-Cube invoice uuid (control API) → the SDI's record; none exist until invoices are served."""
    return []


PROVIDER = Provider(
    name="acube",
    prefix="/acube",
    blueprint=_blueprint,
    render_error=render_error,
    resolve_invoice=_resolve,
)
