"""Openapi.it webhooks: the callbacks of an IT-configuration's ``api_configurations`` (to be written).

The invoice and receipt modules call ``invoice_changed`` / ``receipt_changed`` at every change of
state; this module decides whether and what to POST.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask import Blueprint
from sqlalchemy.orm import Session

from emulator.providers.openapi.models import OpenapiInvoice, OpenapiReceipt

if TYPE_CHECKING:
    from emulator.providers.openapi.routes import OpenapiApi
    from emulator.state import Sandbox


def install(bp: Blueprint, api: OpenapiApi) -> None:
    """Add this area's routes, task handlers and listeners."""


def invoice_changed(sandbox: Sandbox, session: Session, row: OpenapiInvoice, at: datetime) -> None:
    """An invoice got a new ``state`` / ``details.sdi_status`` (or arrived) at ``at``."""


def receipt_changed(
    sandbox: Sandbox, session: Session, row: OpenapiReceipt, event: str, at: datetime
) -> None:
    """A receipt event (``receipt``, ``receipt-retry``, ``receipt-error``, ...) at ``at``."""
