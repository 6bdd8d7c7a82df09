"""A-Cube's invoice collection: ``GET /invoices`` (JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, request

from emulator.core.http import json_response
from emulator.providers.acube import collection

if TYPE_CHECKING:
    from emulator.providers.acube.routes import AcubeApi


def install(bp: Blueprint, api: AcubeApi) -> None:
    """Add this area's routes."""
    from emulator.providers.acube.routes import JSON_TYPES, accept_one_of

    sandbox = api.sandbox

    @bp.get("/invoices")
    def list_invoices() -> Response:
        accept_one_of(JSON_TYPES)
        xsd_dir = sandbox.config.xsd_dir
        return api.authenticated(
            lambda session, account: json_response(
                collection.list_invoices(session, account, request.args, xsd_dir)
            )
        )
