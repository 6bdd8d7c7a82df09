"""Contract tests: Schemathesis runs every operation of contracts/*.yaml in-process against a fresh app.

Shared settings live here so that both documents are tested the same way: the same checks, both
generation modes, a bounded and derandomized number of examples per operation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"

# Examples per operation and generation phase: enough to reach every documented status, small
# enough to keep the whole contract suite well under two minutes.
MAX_EXAMPLES = 30

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    ignored_auth,
]


def contract_config(*, max_examples: int = MAX_EXAMPLES, extra_rejections: tuple[str, ...] = ()) -> Any:
    """A Schemathesis configuration: positive and negative data, reproducible, no example database.

    ``extra_rejections`` adds statuses a document uses for invalid input besides the usual 4xx
    (Easy Tracking answers ``top`` > 100000 with 413).
    """
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
            },
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, *extra_rejections]
                }
            },
            # Only the links the documents declare: no inferred ones.
            "phases": {"stateful": {"inference": {"algorithms": []}}},
        }
    )
