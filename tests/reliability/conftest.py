"""What the reliability tests share: row counts of the store, peak memory, tokens of every provider."""

from __future__ import annotations

import base64
import json
import resource

from flask import Flask
from sqlalchemy import func, select

from emulator.core.store import Base
from emulator.state import Sandbox
from tests.providers.easytracking.helpers import CREDENTIALS as EASYTRACKING_CREDENTIALS

# Tables that count requests by design, whatever their outcome: the journal records every request,
# Aruba's SLA windows count calls to enforce its documented rate limits (a refused call counts too).
RECORDING_TABLES = frozenset({"journal_entries", "aruba_sla_windows"})

OPENAPI_TOKEN = "0605df661073c2a58bb2908a3537beb624c1dfe9"  # openapi/sandbox, ready-made
OPENAPI_BASIC = "Basic " + base64.b64encode(b"sandbox@example.com:sandbox").decode()


def row_counts(app: Flask) -> dict[str, int]:
    """The number of rows in every table of the store (the journal's left out)."""
    sandbox: Sandbox = app.extensions["fattura_sandbox"]
    with sandbox.store.transaction() as session:
        return {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
            if table.name not in RECORDING_TABLES
        }


def peak_rss_mb() -> float:
    """The process's peak resident set so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def provider_headers(app: Flask) -> dict[str, dict[str, str]]:
    """A valid Authorization header of the ``sandbox`` account of every provider (and none for the
    control API), from the providers' own login calls."""
    client = app.test_client()
    easy = client.post("/easytracking/api/Token/AccessToken", json=EASYTRACKING_CREDENTIALS)
    aruba = client.post(
        "/aruba/auth/signin",
        data={"grant_type": "password", "username": "sandbox", "password": "sandbox"},
    )
    acube = client.post("/acube/login", json={"email": "sandbox@example.com", "password": "sandbox"})
    for answer in (easy, aruba, acube):
        assert answer.status_code == 200, answer.get_data(as_text=True)
    return {
        "easytracking": {"Authorization": f"Bearer {json.loads(easy.data)}"},
        "aruba": {"Authorization": f"Bearer {aruba.get_json()['access_token']}"},
        "acube": {"Authorization": f"Bearer {acube.get_json()['token']}"},
        "openapi": {"Authorization": f"Bearer {OPENAPI_TOKEN}"},
        "sandbox": {},
    }
