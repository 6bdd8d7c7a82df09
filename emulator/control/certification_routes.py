"""``/_sandbox/certification``: certification sessions through the control API (emulator.certify.session)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from emulator.certify.session import SessionRegistry
from emulator.core.http import json_body, json_response
from emulator.state import Sandbox

EXTENSION = "fattura_sandbox_certification"


def install(bp: Blueprint, sandbox: Sandbox) -> None:
    """Add the certification sessions' routes to a blueprint mounted at /_sandbox.

    Sessions talk to the sandbox through its own control API; closing the sandbox stops their steps.
    """

    def _registry() -> SessionRegistry:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        registry = app.extensions.get(EXTENSION)
        if registry is None:
            registry = app.extensions.setdefault(EXTENSION, SessionRegistry(app))
            sandbox.on_close.append(registry.stop_all)
        return registry  # type: ignore[no-any-return]

    @bp.post("/certification")
    def open_certification() -> Response:
        payload = json_body()
        return json_response(_registry().open(payload, request.host_url), status=201)

    @bp.get("/certification/<reference>")
    def certification(reference: str) -> Response:
        return json_response(_registry().get(reference).view())

    @bp.post("/certification/<reference>/finish")
    def finish_certification(reference: str) -> Response:
        return json_response(_registry().finish(reference))

    @bp.get("/certification/<reference>/report.html")
    def certification_report(reference: str) -> Response:
        return Response(_registry().report_html(reference), mimetype="text/html")
