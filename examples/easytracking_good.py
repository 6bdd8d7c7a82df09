"""A well-behaved Easy Tracking client: what `fattura-sandbox certify --provider easytracking` passes.

- one access token (§3), reused until it expires; a 401 renews it once and repeats the call;
- sends FATTURA_SANDBOX_INVOICES invoices (v4 ActiveInvoices), built from a FatturaPA template;
- every POLL_SECONDS: reads the new notifications (v4 new-active-notifications), reads the status of
  each invoice they concern (v4 InvoiceNotifications) and marks them as taken (set-notifications-as-
  got, at most 100 ids a call);
- downloads the passive invoices not yet marked (v10 passive-invoices?fase1=false): books jobs of at
  most 100 docIds, polls each job every POLL_SECONDS until its zip is ready, downloads it once, then
  sets fase 1 so the invoices are never listed (nor downloaded) again;
- 429: waits Retry-After; 5xx and dropped connections: exponential back-off with jitter (_common);
- stops after FATTURA_SANDBOX_RUN_SECONDS.

Run: FATTURA_SANDBOX_BASE_URL=http://127.0.0.1:8080/easytracking python examples/easytracking_good.py
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import requests
from _common import Env, GiveUp, call, chunks, invoice_xml, log

CLIENT = {  # the documented client identity (README, §3)
    "apiName": "openBusiness.scope.serviziweb.api",
    "clientName": "openBusiness.client.serviziweb.api",
    "clientSecret": "uKNtPmq49yjLkaYv",
}
POLL_SECONDS = 2.0  # never poll faster than this
BATCH = 100  # documented maximum of docIds / notificationIds per call
JOB = "/api/v10/DownloadInvoices/jobs"


class EasyTracking:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.http = requests.Session()
        self.token: str | None = None
        self.token_until = 0.0  # monotonic instant after which the token is renewed anyway

    def sign_in(self) -> None:
        body = {**CLIENT, "username": self.env.username, "password": self.env.password}
        response = call(self.env, self.http, "POST", self.env.base_url + "/api/Token/AccessToken", json=body)
        response.raise_for_status()
        self.token = response.json()  # a JSON string
        self.token_until = time.monotonic() + max(60.0, _lifetime(self.token or "") - 60)
        log("signed in")

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        if self.token is None or time.monotonic() >= self.token_until:
            self.sign_in()
        for renewed in (False, True):
            auth = {**(headers or {}), "Authorization": f"Bearer {self.token}"}
            response = call(self.env, self.http, method, self.env.base_url + path, headers=auth, **kw)
            if response.status_code != 401 or renewed:
                return response
            self.sign_in()  # expired or revoked: renew once, then repeat the call
        return response

    # -- active cycle ----------------------------------------------------------------------------

    def send(self, count: int) -> None:
        for n in range(1, count + 1):
            xml = invoice_xml(supplier=self.env.vat, transmitter=self.env.vat, number=n)
            response = self.request(
                "POST", "/api/v4/ActiveInvoices", data=xml, headers={"Content-Type": "application/xml"}
            )
            log("upload", n, response.status_code, response.text[:200])

    def notifications(self) -> None:
        response = self.request(
            "GET", "/api/v4/InvoiceNotifications/new-active-notifications", params={"ownerPIVA": self.env.vat}
        )
        if response.status_code != 200:
            log("new-active-notifications", response.status_code, response.text[:200])
            return
        items = response.json()["notifications"]
        for progressivo in sorted({item["progressivoInvio"] for item in items}):
            status = self.request(
                "GET", "/api/v4/InvoiceNotifications", params={"progressivoInvio": progressivo}
            )
            log("status of", progressivo, status.status_code)
        for batch in chunks([item["notificationId"] for item in items], BATCH):
            self.request(
                "POST",
                "/api/v4/InvoiceNotifications/set-notifications-as-got",
                json={"notificationIds": batch},
            )

    # -- passive cycle ---------------------------------------------------------------------------

    def passive(self, downloaded: set[int]) -> None:
        response = self.request(
            "GET", "/api/v10/DownloadInvoices/passive-invoices", params={"fase1": "false"}
        )
        if response.status_code != 200:
            log("passive-invoices", response.status_code, response.text[:200])
            return
        ids = [item["id"] for item in response.json()["invoices"] if item["id"] not in downloaded]
        for batch in chunks(ids, BATCH):
            booked = self.request("POST", JOB, json={"docIds": batch})
            if booked.status_code != 202:
                log("booking", booked.status_code, booked.text[:200])
                continue
            job = booked.json()["jobId"]
            while self.env.remaining() > 0:
                got = self.request("GET", f"{JOB}/{job}")
                if got.status_code == 200:
                    log("job", job, "downloaded", len(got.content), "bytes")
                    downloaded.update(batch)
                    self.request("POST", "/api/v10/PassiveInvoices/set-fase-1", json={"docIds": batch})
                    break
                if got.status_code != 202:
                    log("job", job, got.status_code, got.text[:200])
                    break
                self.env.sleep(POLL_SECONDS)  # still being prepared


def _lifetime(token: str) -> float:
    """The token's lifetime in seconds (exp - iat of the JWT), 3600 when unreadable."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"] - claims["iat"])
    except (IndexError, KeyError, ValueError, TypeError):
        return 3600.0


def main() -> int:
    env = Env.load()
    client = EasyTracking(env)
    downloaded: set[int] = set()
    try:
        client.send(env.invoices)
    except GiveUp as exc:
        log("upload abandoned:", exc)
    while env.remaining() > 0:
        try:
            client.notifications()
            client.passive(downloaded)
        except GiveUp as exc:  # the server kept failing: try again next round
            log("round abandoned:", exc)
        env.sleep(POLL_SECONDS)
    log("done:", len(downloaded), "passive invoices downloaded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
