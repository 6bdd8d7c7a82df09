"""The checks of a run, by Schemathesis name: those of the in-process suites (tests/contracts), with
the same allowances for what a document itself calls a refusal.

Aruba answers some invalid requests 200 with the refusal in the body: upload and uploadSigned with
the synchronous check's ``errorCode`` (§7.5.1), the financial communications with a §6.6 code in
``errorCode`` (creation) or ``result`` (GetTransmissionInfoRequest); and sendEsitoCommittente's
documented refusal is a 500 (§10.1). ``aruba_negative_data_rejection`` and
``aruba_not_a_server_error`` accept exactly those and delegate everything else to Schemathesis'
own check. The functions are registered by :mod:`emulator.contract_testing.hooks`.
"""

from __future__ import annotations

import json
from typing import Any

BASE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "ignored_auth",
)
REPLACED = {
    "aruba": {
        "negative_data_rejection": "aruba_negative_data_rejection",
        "not_a_server_error": "aruba_not_a_server_error",
    }
}
# The sandbox's own crash answer: never a documented refusal.
SANDBOX_CRASH = "Internal error of the sandbox"


def checks_for(provider: str) -> list[str]:
    """The names to pass to ``schemathesis run --checks`` for ``provider``."""
    replaced = REPLACED.get(provider, {})
    return [replaced.get(name, name) for name in BASE_CHECKS]


def _operation_id(case: Any) -> str:
    return str(case.operation.definition.raw.get("operationId", ""))


def _json_body(response: Any) -> Any:
    if "json" not in (response.headers.get("content-type") or [""])[0].lower():
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def aruba_refusal_in_body(response: Any, case: Any) -> bool:
    """A 200 that is the document's refusal of the request (§7.5.1, §6.6)."""
    body = _json_body(response)
    if response.status_code != 200 or not isinstance(body, dict):
        return False
    kind = _operation_id(case)
    if kind.startswith("upload"):
        return body.get("errorCode") not in (None, "", "0000")
    if kind.startswith("createTransmissionRequest"):
        return bool(body.get("errorCode"))
    if kind == "getTransmissionInfoRequest":
        return str(body.get("result", "")).startswith("AR")
    return False


def aruba_documented_500(response: Any, case: Any) -> bool:
    """sendEsitoCommittente's refusal: a 500 with Spring's error body, not a crash."""
    body = _json_body(response)
    return (
        _operation_id(case) == "sendEsitoCommittente"
        and response.status_code == 500
        and isinstance(body, dict)
        and body.get("status") == 500
        and SANDBOX_CRASH not in str(body.get("message", ""))
    )
