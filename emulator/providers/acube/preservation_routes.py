"""A-Cube's legal storage: ``POST /invoices/{uuid}/preserve``, ``GET /invoices/{id}/preserved-document``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response

from emulator.core.http import json_response
from emulator.providers.acube import preservation

if TYPE_CHECKING:
    from emulator.providers.acube.routes import AcubeApi


def install(bp: Blueprint, api: AcubeApi) -> None:
    """Add this area's routes and its task; make sure its table exists."""
    sandbox = api.sandbox
    sandbox.tasks.register(preservation.PRESERVATION_STEP, preservation.step_handler(sandbox))

    @bp.post("/invoices/<reference>/preserve")
    def preserve_invoice(reference: str) -> Response:
        return api.authenticated(
            lambda session, account: _ok(preservation.preserve(sandbox, session, account, reference))
        )

    @bp.get("/invoices/<reference>/preserved-document")
    def get_preserved_document(reference: str) -> Response:
        return api.authenticated(
            lambda session, account: json_response(
                preservation.document_view(preservation.get_preserved_document(session, account, reference))
            )
        )


def _ok(_: object) -> Response:
    """200 with no body (the page shows none)."""
    return Response(status=200)
