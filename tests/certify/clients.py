"""Tiny Easy Tracking clients for the runner's tests (run as scripts: ``python clients.py good|naive``).

good: one token, the scenario's invoices, status polled every 1.1 s, Retry-After honoured, 5xx and
dropped connections retried with growing waits. naive: a token before every call, polling in a
tight loop, errors retried at once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from tests.providers.easytracking.helpers import CREDENTIALS, invoice

BASE = os.environ.get("FATTURA_SANDBOX_BASE_URL", "")
RUN = float(os.environ.get("FATTURA_SANDBOX_RUN_SECONDS", "1"))
INVOICES = int(os.environ.get("FATTURA_SANDBOX_INVOICES", "0"))
VAT = os.environ.get("FATTURA_SANDBOX_VAT", "")


class Failed(Exception):
    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


def call(
    method: str,
    path: str,
    body: bytes | None = None,
    token: str | None = None,
    ctype: str = "application/json",
) -> Any:
    request = urllib.request.Request(BASE + path, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", ctype)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            data = response.read()
    except urllib.error.HTTPError as exc:
        after = exc.headers.get("Retry-After")
        raise Failed(exc.code, float(after) if after else None) from None
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError):
        raise Failed(444) from None
    try:
        return json.loads(data)
    except ValueError:
        return data


def sign_in() -> str:
    creds = {
        **CREDENTIALS,
        "username": os.environ["FATTURA_SANDBOX_USERNAME"],
        "password": os.environ["FATTURA_SANDBOX_PASSWORD"],
    }
    return str(call("POST", "/api/Token/AccessToken", json.dumps(creds).encode()))


def good() -> None:
    deadline = time.monotonic() + RUN
    token = sign_in()
    sent = []
    for n in range(INVOICES):
        body = invoice(seed=n + 1, supplier_vat=VAT, progressive=f"G{n:04d}")
        answer = call("POST", "/api/v4/ActiveInvoices", body, token, "application/xml")
        sent.append(answer["progressivoInvio"])
    wait = 0.4
    while time.monotonic() < deadline:
        for progressivo in sent:
            try:
                call("GET", f"/api/v4/InvoiceNotifications?progressivoInvio={progressivo}", token=token)
                wait = 0.4
                time.sleep(1.1)
            except Failed as failure:
                if failure.status == 429:
                    time.sleep((failure.retry_after or 1) + 0.1)
                elif failure.status >= 500 or failure.status == 444:
                    time.sleep(wait)
                    wait *= 2
                else:
                    raise
        if not sent:
            time.sleep(1.1)


def naive() -> None:
    deadline = time.monotonic() + RUN
    sent = []
    for n in range(INVOICES):
        body = invoice(seed=n + 1, supplier_vat=VAT, progressive=f"N{n:04d}")
        sent.append(
            call("POST", "/api/v4/ActiveInvoices", body, sign_in(), "application/xml")["progressivoInvio"]
        )
    while time.monotonic() < deadline:
        for progressivo in sent:
            with contextlib.suppress(Failed):
                call("GET", f"/api/v4/InvoiceNotifications?progressivoInvio={progressivo}", token=sign_in())
            time.sleep(0.05)


if __name__ == "__main__":
    {"good": good, "naive": naive}[sys.argv[1]]()
