"""The app hooks that apply fault rules to provider requests (never to the /_sandbox control API).

``before_request`` (registered after the journal's and the clock's hooks, so a faulted request is
journalled and due events happen first) finds the rule that fires, sets ``g.fault`` to its id and
``g.fault_effect`` to its effect's type, then answers with the effect (error, throttle, drop),
sleeps (latency) or marks the response for ``after_request`` to cut (truncate). Faults apply before
routing, to any path under a provider's prefix. Finding the rule never fails a request: an error
is logged and the request is served normally.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Flask, Response, g, request

from emulator.core.versions import VersionedValue
from emulator.faults import effects, service
from emulator.providers.base import Provider, provider_for, tenant_of
from emulator.state import Sandbox

log = logging.getLogger("fattura_sandbox.faults")


def install(
    app: Flask,
    sandbox: Sandbox,
    providers: tuple[Provider, ...],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Register the fault hooks on ``app`` (after the journal's and the clock's hooks)."""
    # Which providers have rules at all, kept until a rule is written: most requests meet none.
    ruled: VersionedValue[frozenset[str]] = VersionedValue(sandbox.versions, "fault_rules")

    def providers_with_rules() -> frozenset[str]:
        with sandbox.transaction() as session:
            return service.providers_with_rules(session)

    @app.before_request
    def _inject_fault() -> Response | None:
        provider = provider_for(request.path, providers)
        if provider is None:
            return None
        try:
            if provider.name not in ruled.get(providers_with_rules):
                return None
            with sandbox.transaction() as session:
                fault = service.match(
                    session,
                    provider=provider.name,
                    method=request.method,
                    path=request.path[len(provider.prefix) :] or "/",
                    tenant_of=lambda: tenant_of(provider, session, request),
                    now=sandbox.clock.now(),
                    seed=sandbox.config.seed,
                )
        except Exception:
            log.exception("matching fault rules for %s %s failed", request.method, request.path)
            return None
        if fault is None:
            return None
        effect = fault.effect
        kind = effect["type"]
        # For the journal (and anything else after the view): which rule applied, and how.
        g.fault = fault.rule_id
        g.fault_effect = kind
        log.info("fault rule %s (%s) applied to %s %s", fault.rule_id, kind, request.method, request.path)
        if kind == "error":
            return effects.error_response(provider, effect, fault.rule_id)
        if kind == "throttle":
            return effects.throttle_response(provider, effect, fault.rule_id)
        if kind == "drop":
            return effects.drop_response(request.environ, fault.rule_id)
        if kind == "latency":
            sleep(min(float(effect["ms"]), service.MAX_LATENCY_MS) / 1000)
        elif kind == "truncate":
            g.fault_truncate = float(effect["fraction"])
        return None

    @app.after_request
    def _truncate_response(response: Response) -> Response:
        fraction: float | None = g.pop("fault_truncate", None)
        if fraction is None:
            return response
        try:
            return effects.truncate(response, fraction)
        except Exception:
            log.exception("truncating the response to %s %s failed", request.method, request.path)
            return response
