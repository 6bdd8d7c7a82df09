"""``/_sandbox/journal``: the request journal (GET with filters, GET one entry, DELETE to clear)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from emulator.core.http import json_response
from emulator.journal import service
from emulator.state import Sandbox


def install(bp: Blueprint, sandbox: Sandbox) -> None:
    """Add the journal's routes to a blueprint mounted at /_sandbox."""

    @bp.get("/journal")
    def list_journal() -> Response:
        with sandbox.transaction() as session:
            return json_response(service.list_entries(session, request.args, sandbox.provider_names))

    @bp.delete("/journal")
    def clear_journal() -> Response:
        with sandbox.transaction() as session:
            service.clear(session)
        return Response(status=204)

    @bp.get("/journal/<reference>")
    def journal_entry(reference: str) -> Response:
        with sandbox.transaction() as session:
            return json_response(service.get_entry(session, reference))


def journal_blueprint(sandbox: Sandbox) -> Blueprint:
    bp = Blueprint("sandbox_journal", __name__)
    install(bp, sandbox)
    return bp
