"""contracts/sandbox.yaml against the /_sandbox control API, in-process: every operation, both modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis

from emulator.app import create_app
from tests.conftest import make_config
from tests.contracts import CHECKS, CONTRACTS, contract_config

# A fresh app for this module, made before the schema is parametrized so that every generated case
# (and every probe a check sends on its own) goes to it in-process.
APP = create_app(make_config())
schema = schemathesis.openapi.from_path(CONTRACTS / "sandbox.yaml", config=contract_config())
schema.app = APP


@pytest.fixture(scope="module", autouse=True)
def _close_app() -> Iterator[None]:
    yield
    APP.extensions["fattura_sandbox"].close()


@schema.parametrize()
def test_operation_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


def test_clock_stops_before_the_end_of_the_calendar() -> None:
    """At most 100 years per call; past 9000-01-01 the answer is the documented 409, not a 500."""
    app = create_app(make_config())
    operation = schema["/clock"]["POST"]
    try:
        for _ in range(80):
            case = operation.Case(body={"advance_seconds": 100 * 365 * 86400})
            response = case.call(app=app)
            case.validate_response(response, checks=CHECKS)
            if response.status_code != 200:
                break
    finally:
        app.extensions["fattura_sandbox"].close()
    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "end_of_time", "message": "Virtual time cannot move beyond 9000-01-01"}
    }


def test_account_encoding_is_the_default_of_signed_incoming_invoices() -> None:
    """PATCH an account's p7m_encoding, then its signed incoming invoices use it; both answers conform."""
    app = create_app(make_config())
    try:
        patch = schema["/accounts/{provider}/{tenant}"]["PATCH"].Case(
            path_parameters={"provider": "easytracking", "tenant": "sandbox"},
            body={"p7m_encoding": "base64x2"},
        )
        patched = patch.call(app=app)
        patch.validate_response(patched, checks=CHECKS)
        incoming = schema["/incoming-invoices"]["POST"].Case(
            body={"recipient": "09382170158", "count": 2, "signed": True, "document_type": "TD04"}
        )
        delivered = incoming.call(app=app)
        incoming.validate_response(delivered, checks=CHECKS)
    finally:
        app.extensions["fattura_sandbox"].close()
    assert patched.status_code == 200
    assert patched.json()["p7m_encoding"] == "base64x2"
    assert delivered.status_code == 201
    assert [(i["signed"], i["encoding"]) for i in delivered.json()["invoices"]] == [(True, "base64x2")] * 2
    assert all(i["file_name"].endswith(".xml.p7m") for i in delivered.json()["invoices"])
