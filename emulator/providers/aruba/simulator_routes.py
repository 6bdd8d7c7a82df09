"""The SDI simulator of Aruba's DEMO environment (§14): ``POST /services/sdisimulator/invoiceIn`` and
``/notificationOut``, both 201 Created with the documented keys in the documented order.

Authenticated like every call of the services host; bodies read as Spring reads a ``@RequestBody``
(415 unless JSON, 400 when missing or malformed). See ``simulator`` for the behaviour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, request

from emulator.core.http import json_response
from emulator.providers.aruba import bodies, simulator

if TYPE_CHECKING:
    from emulator.providers.aruba.routes import ArubaApi

SIMULATOR = "/services/sdisimulator"


def install(bp: Blueprint, api: ArubaApi) -> None:
    sandbox = api.sandbox

    @bp.post(f"{SIMULATOR}/invoiceIn")
    def invoice_in() -> Response:
        return api.authenticated(
            lambda session, account: json_response(
                simulator.simulate_invoice_in(sandbox, session, account, _body()), status=201
            )
        )

    @bp.post(f"{SIMULATOR}/notificationOut")
    def notification_out() -> Response:
        return api.authenticated(
            lambda session, account: json_response(
                simulator.simulate_notification_out(sandbox, session, account, _body()), status=201
            )
        )


def _body() -> object:
    return bodies.read_json_body(request.get_data(cache=True), request.content_type)
