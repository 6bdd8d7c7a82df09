"""A naive Easy Tracking client: the classic integration bugs, each deliberate and marked BUG.

`fattura-sandbox certify --provider easytracking -- python examples/easytracking_naive.py` fails it;
examples/README.md lists which check each bug fails. Do not copy this client.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from _common import Env, invoice_xml, log

CLIENT = {
    "apiName": "openBusiness.scope.serviziweb.api",
    "clientName": "openBusiness.client.serviziweb.api",
    "clientSecret": "uKNtPmq49yjLkaYv",
}
# Not a politeness delay: a cap so the demonstration cannot flood the journal of a long run.
MAX_CALLS = 1000


class Naive:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.calls = 0

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        # BUG (sign-in storm): a brand-new token before every single call, never reused.
        body = {**CLIENT, "username": self.env.username, "password": self.env.password}
        token = requests.post(self.env.base_url + "/api/Token/AccessToken", json=body, timeout=15).json()
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
        self.calls += 2
        while True:
            response = requests.request(
                method, self.env.base_url + path, headers=headers, timeout=15, **kwargs
            )
            if response.status_code == 429:
                continue  # BUG (retries): Retry-After ignored, retried at once in a tight loop
            if response.status_code >= 500:
                # BUG (retries): one 5xx and the client gives up for good.
                raise SystemExit(f"{method} {path}: server error {response.status_code}, giving up")
            return response


def main() -> int:
    env = Env.load()
    client = Naive(env)
    sent: list[str] = []
    for n in range(1, env.invoices + 1):
        xml = invoice_xml(supplier=env.vat, transmitter=env.vat, number=n)
        response = client.request(
            "POST", "/api/v4/ActiveInvoices", data=xml, headers={"Content-Type": "application/xml"}
        )
        if response.status_code == 200:
            sent.append(response.json()["progressivoInvio"])
    # BUG (contract): fase1 is a boolean; "no" is not a value the contract allows.
    client.request("GET", "/api/v10/DownloadInvoices/passive-invoices", params={"fase1": "no"})
    while env.remaining() > 0 and client.calls < MAX_CALLS:
        # BUG (polling): the status of every invoice read again and again, without any pause;
        # and the new notifications are listed but never marked as taken (set-notifications-as-got).
        for progressivo in sent:
            client.request("GET", "/api/v4/InvoiceNotifications", params={"progressivoInvio": progressivo})
        client.request("GET", "/api/v4/InvoiceNotifications/new-active-notifications")
        # BUG (double download): every passive invoice, acknowledged or not, booked and downloaded
        # again every round; fase 1 is never set, so the list never shrinks.
        listed = client.request("GET", "/api/v10/DownloadInvoices/passive-invoices")
        ids = [item["id"] for item in listed.json().get("invoices", [])] if listed.ok else []
        if ids:
            # BUG (batch maximum): all ids in one job, even beyond the documented 100.
            booked = client.request("POST", "/api/v10/DownloadInvoices/jobs", json={"docIds": ids})
            if booked.status_code == 202:
                job = booked.json()["jobId"]
                # BUG (polling): the job polled in a tight loop until its zip is ready (20 ms apart,
                # far under the 1 s floor; without any pause the call budget would run out before
                # the job's 5 s are over).
                while env.remaining() > 0 and client.calls < MAX_CALLS:
                    got = client.request("GET", f"/api/v10/DownloadInvoices/jobs/{job}")
                    if got.status_code != 202:
                        log("job", job, got.status_code, len(got.content), "bytes")
                        break
                    time.sleep(0.02)
    log("naive client done after", client.calls, "calls;", time.monotonic() - env.started, "s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
