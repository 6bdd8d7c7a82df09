"""What every provider façade gives the app: a mount prefix, a blueprint and its error format."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Request, Response
from sqlalchemy.orm import Session

from emulator.core.errors import SandboxError
from emulator.sdi.models import SdiInvoice
from emulator.state import Sandbox

log = logging.getLogger("fattura_sandbox")


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


def provider_for(path: str, providers: tuple[Provider, ...]) -> Provider | None:
    """The provider mounted at the start of ``path`` (None: the control API, the inspector...)."""
    for provider in providers:
        if path == provider.prefix or path.startswith(provider.prefix + "/"):
            return provider
    return None


def tenant_of(provider: Provider, session: Session, request: Request) -> str | None:
    """The tenant the request's credentials name; an error finding it is logged, never raised."""
    if provider.tenant_of is None:
        return None
    try:
        return provider.tenant_of(session, request)
    except Exception:
        log.exception("finding the tenant of %s %s failed", request.method, request.path)
        return None
