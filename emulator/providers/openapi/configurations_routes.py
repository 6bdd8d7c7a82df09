"""Openapi.it IT-configurations routes: list, create, get, patch (whole, one store, one cash
register) and delete by fiscal id. Parse, call ``configurations``, wrap in Openapi's envelope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.providers.openapi import configurations as service

if TYPE_CHECKING:
    from emulator.providers.openapi.routes import OpenapiApi


def ok(data: Any, message: str = "") -> Response:
    return json_response({"data": data, "success": True, "message": message, "error": None})


def install(bp: Blueprint, api: OpenapiApi) -> None:
    """Add this area's routes."""
    from emulator.providers.openapi.routes import json_payload

    sandbox = api.sandbox

    @bp.get("/IT-configurations")
    def list_configurations() -> Response:
        return api.authenticated(lambda session, account: ok(service.list_configurations(session, account)))

    @bp.post("/IT-configurations")
    def create_configuration() -> Response:
        def call(session: Session, account: Account) -> Response:
            payload = json_payload()
            now = sandbox.clock.now()
            return ok(service.create_configuration(session, sandbox.ids, account, payload, now))

        return api.authenticated(call)

    @bp.get("/IT-configurations/<fiscal_id>")
    def get_configuration(fiscal_id: str) -> Response:
        return api.authenticated(
            lambda session, account: ok(service.get_configuration(session, account, fiscal_id))
        )

    @bp.patch("/IT-configurations/<fiscal_id>")
    def patch_configuration(fiscal_id: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            payload = json_payload()
            now = sandbox.clock.now()
            return ok(service.patch_configuration(session, sandbox.ids, account, fiscal_id, payload, now))

        return api.authenticated(call)

    @bp.patch("/IT-configurations/<fiscal_id>/stores/<store_id>")
    def patch_store(fiscal_id: str, store_id: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            payload = json_payload()
            now = sandbox.clock.now()
            return ok(service.patch_store(session, sandbox.ids, account, fiscal_id, store_id, payload, now))

        return api.authenticated(call)

    @bp.patch("/IT-configurations/<fiscal_id>/stores/<store_id>/cash_registers/<cr_id>")
    def patch_cash_register(fiscal_id: str, store_id: str, cr_id: str) -> Response:
        def call(session: Session, account: Account) -> Response:
            payload = json_payload()
            now = sandbox.clock.now()
            return ok(service.patch_cash_register(session, account, fiscal_id, store_id, cr_id, payload, now))

        return api.authenticated(call)

    @bp.delete("/IT-configurations/<fiscal_id>")
    def delete_configuration(fiscal_id: str) -> Response:
        return api.authenticated(
            lambda session, account: ok(None, service.delete_configuration(session, account, fiscal_id))
        )
