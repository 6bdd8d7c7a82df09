"""What every provider façade gives the app: a mount prefix, a blueprint and its error format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Request, Response
from sqlalchemy.orm import Session

from emulator.core.errors import SandboxError
from emulator.sdi.models import SdiInvoice
from emulator.state import Sandbox


@dataclass(frozen=True)
class Provider:
    name: str
    prefix: str
    blueprint: Callable[[Sandbox], Blueprint]
    render_error: Callable[[SandboxError], Response]
    # Finds the invoices a provider-specific id names (the control API accepts them).
    resolve_invoice: Callable[[Session, str], list[SdiInvoice]]
    # The tenant whose credentials the request carries (token, or the credentials of a login call),
    # without side effects; an expired token still names its tenant. Used by the request journal.
    tenant_of: Callable[[Session, Request], str | None] | None = None
