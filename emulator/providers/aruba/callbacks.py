"""Placeholder: filled by the area's owner (push callbacks, §13)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask import Blueprint
from sqlalchemy.orm import Session

from emulator.providers.aruba.models import ArubaInvoice

if TYPE_CHECKING:
    from emulator.providers.aruba.routes import ArubaApi
    from emulator.state import Sandbox


def install(bp: Blueprint, api: ArubaApi) -> None:
    """Add this area's routes, task handlers and SDI listeners."""


def invoice_status_changed(sandbox: Sandbox, session: Session, row: ArubaInvoice, at: datetime) -> None:
    """updateInvoiceStatus (§13.3): a sent file became "Inviata" or "Errore Elaborazione" at ``at``."""
