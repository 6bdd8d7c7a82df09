"""§6 Financial Communications: ``POST /services/ClientRequest/...`` with credentials in the JSON body.

The four calls carry ``userName`` and ``password`` in the body (§6), so they do not go through the
Bearer token of the other services. The body is read as on every other Aruba call
(``bodies.py``: 415 unless JSON, 400 when missing or unreadable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response

from emulator.core.http import json_response
from emulator.providers.aruba import financial
from emulator.providers.aruba.financial import InfoRequest, TransmissionRequest
from emulator.providers.aruba.upload_routes import body_fields

if TYPE_CHECKING:
    from emulator.providers.aruba.routes import ArubaApi

BASE = "/services/ClientRequest"


def install(bp: Blueprint, api: ArubaApi) -> None:
    """Add the routes of §6 (no tasks: the lifecycle is computed from stored instants)."""
    sandbox = api.sandbox

    def office() -> financial.Office:
        return financial.Office(sandbox.ids, sandbox.signer, sandbox.clock.now())

    @bp.post(f"{BASE}/CreateTransmissionRequest")
    def create_transmission_request() -> Response:
        request = TransmissionRequest.of(body_fields("TransmissionRequest", *TransmissionRequest.FIELDS))
        with sandbox.transaction() as session:
            return json_response(financial.create_transmission_request(session, office(), request))

    @bp.post(f"{BASE}/CreateTransmissionRequestList")
    def create_transmission_request_list() -> Response:
        request = TransmissionRequest.of(body_fields("TransmissionRequest", *TransmissionRequest.FIELDS))
        with sandbox.transaction() as session:
            return json_response(financial.create_transmission_request_list(session, office(), request))

    @bp.post(f"{BASE}/GetTransmissionInfoRequest")
    def get_transmission_info_request() -> Response:
        request = InfoRequest.of(body_fields("TransmissionInfoRequest", *InfoRequest.FIELDS))
        with sandbox.transaction() as session:
            info = financial.get_transmission_info_request(session, sandbox.clock.now(), request)
        return json_response(info)

    @bp.post(f"{BASE}/pdd")
    def pdd() -> Response:
        request = InfoRequest.of(body_fields("TransmissionInfoRequest", *InfoRequest.FIELDS))
        with sandbox.transaction() as session:
            package = financial.pdd(session, sandbox.clock.now(), request)
        # Accept-Ranges as the document shows; like Spring, a Range on a POST is not honoured.
        return Response(
            package.content,
            mimetype="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{package.name}"',
                "Accept-Ranges": "bytes",
            },
        )
