"""Schemathesis negative fuzzing of every operation of every contract: no 5xx, errors in the
provider's own format.

One app for the module, a valid token of each provider's ``sandbox`` account on every case, only
negative data (invalid bodies, parameters of the wrong type or shape), a few derandomized examples
per operation. The one documented 5xx (Aruba's esito refusals) is allowed where it is documented.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
import yaml
from flask import Flask
from schemathesis.checks import not_a_server_error

from emulator.app import create_app
from tests.conftest import make_config
from tests.contracts import CONTRACTS
from tests.contracts import harness as contract_harness
from tests.reliability.conftest import OPENAPI_BASIC, provider_headers

EXAMPLES = 6
APP: Flask = create_app(make_config())
_close_app = contract_harness.closing(APP)
HEADERS = provider_headers(APP)
# Aruba documents every refusal of an esito as HTTP 500 ("otherwise HTTP status code 500").
DOCUMENTED_5XX = {("aruba", "sendEsitoCommittente")}


def negative_config() -> Any:
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "negative",
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
        }
    )


def _schema(provider: str) -> Any:
    def auth(schema: Any) -> None:
        def value(case: schemathesis.Case) -> str | None:
            if provider == "openapi" and contract_harness.operation_id(case) == "createToken":
                return OPENAPI_BASIC
            return HEADERS[provider].get("Authorization")

        contract_harness.authorize(schema, value)

    return contract_harness.operation_schema(CONTRACTS / f"{provider}.yaml", APP, negative_config(), auth)


easytracking = _schema("easytracking")
aruba = _schema("aruba")
acube = _schema("acube")
openapi = _schema("openapi")
sandbox = _schema("sandbox")


def check(provider: str, case: schemathesis.Case) -> None:
    response = case.call()
    if (provider, contract_harness.operation_id(case)) in DOCUMENTED_5XX and response.status_code == 500:
        assert response.json()["status"] == 500
        return
    case.validate_response(response, checks=[not_a_server_error])
    if 400 <= response.status_code < 500 and response.request.method != "HEAD":
        assert response.headers.get("content-type", [""])[0].startswith("application/"), response.text[:200]


SETTINGS = hypothesis.settings(
    deadline=None, suppress_health_check=list(hypothesis.HealthCheck), max_examples=EXAMPLES
)


@easytracking.parametrize()
@SETTINGS
def test_easytracking(case: schemathesis.Case) -> None:
    check("easytracking", case)


@aruba.parametrize()
@SETTINGS
def test_aruba(case: schemathesis.Case) -> None:
    check("aruba", case)


@acube.parametrize()
@SETTINGS
def test_acube(case: schemathesis.Case) -> None:
    check("acube", case)


@openapi.parametrize()
@SETTINGS
def test_openapi(case: schemathesis.Case) -> None:
    check("openapi", case)


@sandbox.parametrize()
@SETTINGS
def test_sandbox(case: schemathesis.Case) -> None:
    check("sandbox", case)


@pytest.mark.parametrize(
    ("provider", "schema"),
    [
        ("easytracking", easytracking),
        ("aruba", aruba),
        ("acube", acube),
        ("openapi", openapi),
        ("sandbox", sandbox),
    ],
    ids=str,
)
def test_every_operation_is_fuzzed(provider: str, schema: Any) -> None:
    document = yaml.safe_load((CONTRACTS / f"{provider}.yaml").read_text())
    declared = {
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert contract_harness.operation_ids(schema) == declared
