"""Schemathesis hooks of a ``contract-test`` run (loaded through ``SCHEMATHESIS_HOOKS``, never imported
by the sandbox): every generated call carries ``Authorization: Bearer <token>``, and the
provider-specific checks of :mod:`emulator.contract_testing.checks` are registered.

The token is the one given, or one the provider's own auth call issues on the URL under test
(:func:`~emulator.contract_testing.login.obtain_token`). Schemathesis caches it for
``FATTURA_CONTRACT_REFRESH_SECONDS`` (600 by default: well inside an Aruba token's 30 minutes, the
shortest of the four) and logs in again when that time is up or when a call is answered 401, so a
long run against a real staging never works with an expired token and never storms the sign-in.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from emulator.contract_testing.checks import aruba_documented_500, aruba_refusal_in_body
from emulator.contract_testing.login import ENV_PREFIX, Credentials, obtain_token

PROVIDER = os.environ.get(f"{ENV_PREFIX}PROVIDER", "")
BASE_URL = os.environ.get(f"{ENV_PREFIX}BASE_URL", "")
AUTH_URL = os.environ.get(f"{ENV_PREFIX}AUTH_URL", BASE_URL)
REFRESH_SECONDS = int(os.environ.get(f"{ENV_PREFIX}REFRESH_SECONDS", "600"))


@schemathesis.auth(refresh_interval=REFRESH_SECONDS)
class ProviderBearer:
    """A bearer token of the provider, obtained lazily and renewed by Schemathesis' cache."""

    def get(self, case: schemathesis.Case[Any], context: schemathesis.AuthContext) -> str:
        return obtain_token(PROVIDER, AUTH_URL, Credentials.from_env(), base_url=BASE_URL)

    def set(self, case: schemathesis.Case[Any], data: str, context: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.check
def aruba_negative_data_rejection(ctx: Any, response: Any, case: Any) -> bool | None:
    """negative_data_rejection, taking Aruba's documented 200 refusals (errorCode, result AR..) as such."""
    if aruba_refusal_in_body(response, case):
        return None
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result


@schemathesis.check
def aruba_not_a_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """not_a_server_error, except sendEsitoCommittente's documented 500 refusal."""
    if aruba_documented_500(response, case):
        return None
    result: bool | None = not_a_server_error(ctx, response, case)
    return result
