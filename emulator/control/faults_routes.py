"""``/_sandbox/faults``: fault rules (POST to add, GET to list, DELETE one or all). See emulator.faults."""

from __future__ import annotations

from flask import Blueprint, Response

from emulator.core.http import json_body, json_response
from emulator.faults import service
from emulator.state import Sandbox


def install(bp: Blueprint, sandbox: Sandbox) -> None:
    """Add the fault rules' routes to a blueprint mounted at /_sandbox."""

    @bp.post("/faults")
    def create_fault() -> Response:
        payload = json_body()
        with sandbox.transaction() as session:
            rule = service.create_rule(session, payload, sandbox.provider_names, sandbox.clock.now())
        return json_response(rule, status=201)

    @bp.get("/faults")
    def list_faults() -> Response:
        with sandbox.transaction() as session:
            return json_response(service.list_rules(session, sandbox.clock.now()))

    @bp.delete("/faults")
    def clear_faults() -> Response:
        with sandbox.transaction() as session:
            service.clear_rules(session)
        return Response(status=204)

    @bp.delete("/faults/<reference>")
    def delete_fault(reference: str) -> Response:
        with sandbox.transaction() as session:
            service.delete_rule(session, reference)
        return Response(status=204)


def faults_blueprint(sandbox: Sandbox) -> Blueprint:
    bp = Blueprint("sandbox_faults", __name__)
    install(bp, sandbox)
    return bp
