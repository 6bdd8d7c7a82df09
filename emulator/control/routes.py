"""The /_sandbox control API blueprint (JSON in, JSON out). Described by contracts/sandbox.yaml."""

from __future__ import annotations

from flask import Blueprint, Response, request

from emulator.control import certification_routes, service
from emulator.core.errors import SandboxError
from emulator.core.http import json_body, json_response
from emulator.state import Sandbox

CONTROL_PREFIX = "/_sandbox"


def render_control_error(error: SandboxError) -> Response:
    body: dict[str, object] = {"code": error.code, "message": error.message}
    if error.details:
        body["details"] = error.details
    return json_response({"error": body}, status=error.status)


def control_blueprint(sandbox: Sandbox) -> Blueprint:
    bp = Blueprint("sandbox_control", __name__)

    @bp.get("/health")
    def health() -> Response:
        return json_response(service.health(sandbox))

    @bp.post("/reset")
    def reset() -> Response:
        sandbox.reset()
        return json_response({"status": "reset"})

    @bp.get("/clock")
    def clock() -> Response:
        return json_response(service.clock_view(sandbox))

    @bp.post("/clock")
    def advance_clock() -> Response:
        return json_response(service.advance_clock(sandbox, json_body()))

    @bp.get("/accounts")
    def accounts() -> Response:
        with sandbox.transaction() as session:
            return json_response(service.list_accounts(session))

    @bp.patch("/accounts/<provider>/<tenant>")
    def update_account(provider: str, tenant: str) -> Response:
        payload = json_body()
        with sandbox.transaction() as session:
            return json_response(service.update_account(session, provider, tenant, payload))

    @bp.get("/callbacks")
    def callbacks() -> Response:
        with sandbox.transaction() as session:
            return json_response(service.list_callbacks(session, request.args))

    @bp.get("/callbacks/<reference>")
    def callback(reference: str) -> Response:
        with sandbox.transaction() as session:
            return json_response(service.get_callback(session, reference))

    @bp.post("/incoming-invoices")
    def incoming_invoices() -> Response:
        payload = json_body()
        with sandbox.transaction() as session:
            return json_response(service.create_incoming(sandbox, session, payload), status=201)

    @bp.post("/sdi/notifications")
    def sdi_notifications() -> Response:
        payload = json_body()
        with sandbox.transaction() as session:
            return json_response(
                service.force_notification(sandbox, session, payload, sandbox.invoice_resolvers), status=201
            )

    @bp.get("/sdi/certificate")
    def certificate() -> Response:
        return Response(sandbox.signer.certificate_pem, mimetype="application/x-pem-file")

    certification_routes.install(bp, sandbox)
    return bp
