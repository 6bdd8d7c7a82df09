"""A well-behaved Aruba Fatturazione Elettronica client: what `fattura-sandbox certify --provider
aruba` passes.

- signs in once (§5.1, password grant); renews the access token with the refresh grant (§5.2) before
  it expires or on a 401, and signs in again only when the refresh token is refused;
- sends FATTURA_SANDBOX_INVOICES invoices (§7.3 upload; IdTrasmittente is Aruba PEC's, §7.1);
- every POLL_SECONDS, within the SLA (§3: 12 finds per minute per chapter, 30 uploads) kept by a
  local rate limiter: reads the sent invoices (§8.2 findByUsername, pages of 100, to the last page)
  and, for each invoice whose status changed, its notifications (§11 getByInvoiceFilename);
  reads the received invoices (§9.1, pages of 100, to the last page) and downloads each new one
  once (§9.2 getByFilename). Aruba has no "downloaded" flag: the client remembers the file names
  it has (a real integration stores them with the invoice);
- 429: waits Retry-After; 5xx and dropped connections: exponential back-off with jitter (_common);
- stops after FATTURA_SANDBOX_RUN_SECONDS.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import requests
from _common import Env, GiveUp, RateLimiter, call, invoice_xml, log

ARUBA_TRANSMITTER = "01879020517"  # §7.1: the IdTrasmittente of every upload
POLL_SECONDS = 5.0  # 12 finds a minute: one round every 5 s at most
MIN_PAUSE_SECONDS = 2.0
PAGE_SIZE = 100  # documented maximum


class Aruba:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.http = requests.Session()
        self.access: str | None = None
        self.refresh: str | None = None
        self.renew_at = 0.0
        self.limits = {
            k: RateLimiter(env, n) for k, n in (("upload", 30), ("out", 12), ("in", 12), ("nout", 12))
        }

    def _token(self, form: dict[str, str]) -> bool:
        response = call(self.env, self.http, "POST", self.env.base_url + "/auth/signin", data=form)
        if response.status_code != 200:
            log("signin", form["grant_type"], response.status_code, response.text[:200])
            return False
        token = response.json()
        self.access, self.refresh = token["access_token"], token.get("refresh_token")
        self.renew_at = time.monotonic() + max(30.0, float(token.get("expires_in", 1800)) - 60)
        log("token by", form["grant_type"])
        return True

    def authenticate(self) -> None:
        if self.refresh and self._token({"grant_type": "refresh_token", "refresh_token": self.refresh}):
            return
        form = {"grant_type": "password", "username": self.env.username, "password": self.env.password}
        if not self._token(form):
            raise GiveUp("sign-in refused")

    def request(self, limit: str, method: str, path: str, **kwargs: Any) -> requests.Response | None:
        if self.access is None or time.monotonic() >= self.renew_at:
            self.authenticate()
        for renewed in (False, True):
            if not self.limits[limit].acquire():
                return None  # the run ends before the SLA allows another call
            headers = {"Authorization": f"Bearer {self.access}"}
            response = call(self.env, self.http, method, self.env.base_url + path, headers=headers, **kwargs)
            if response.status_code != 401 or renewed:
                return response
            self.authenticate()  # expired: refresh grant first, password only if that fails
        return None

    def pages(self, limit: str, path: str, **params: str) -> Iterator[dict[str, Any]]:
        """Every item of a paginated find, page 1 to the last."""
        page = 1
        while True:
            response = self.request(limit, "GET", path, params={**params, "page": page, "size": PAGE_SIZE})
            if response is None or response.status_code != 200:
                if response is not None:
                    log(path, response.status_code, response.text[:200])
                return
            body = response.json()
            yield from body["content"]
            if body.get("last", True) or page >= body.get("totalPages", 0):
                return
            page += 1


def main() -> int:
    env = Env.load()
    client = Aruba(env)
    statuses: dict[str, str] = {}
    downloaded: set[str] = set()
    # A Premium user (like the sandbox's) must name its party in every find (§8.2, §9.1).
    mine = {"username": env.username}
    try:
        for n in range(1, env.invoices + 1):
            xml = invoice_xml(supplier=env.vat, transmitter=ARUBA_TRANSMITTER, number=n)
            payload = {"dataFile": base64.b64encode(xml).decode("ascii"), "credential": "", "domain": ""}
            response = client.request("upload", "POST", "/services/invoice/upload", json=payload)
            log(
                "upload",
                n,
                response.status_code if response else None,
                response.text[:200] if response else "",
            )
    except GiveUp as exc:
        log("upload abandoned:", exc)
    while env.remaining() > 0:
        round_started = time.monotonic()
        try:
            sent = client.pages(
                "out",
                "/services/invoice/out/findByUsername",
                **mine,
                countrySender="IT",
                vatcodeSender=env.vat,
            )
            for item in sent:
                name, status = item["filename"], item["invoices"][0]["status"]
                if statuses.get(name) != status:  # new, or its status changed
                    client.request(
                        "nout",
                        "GET",
                        "/services/notification/out/getByInvoiceFilename",
                        params={"invoiceFilename": name},
                    )
                statuses[name] = status
            received = [
                i["filename"]
                for i in client.pages(
                    "in",
                    "/services/invoice/in/findByUsername",
                    **mine,
                    countryReceiver="IT",
                    vatcodeReceiver=env.vat,
                )
            ]
            for name in received:
                if name in downloaded:
                    continue
                got = client.request(
                    "in",
                    "GET",
                    "/services/invoice/in/getByFilename",
                    params={"filename": name, "includeFile": "true"},
                )
                if got is not None and got.status_code == 200:
                    downloaded.add(name)
        except GiveUp as exc:
            log("round abandoned:", exc)
        # A round slowed down by retries still leaves a pause before the same finds come again.
        env.sleep(max(MIN_PAUSE_SECONDS, POLL_SECONDS - (time.monotonic() - round_started)))
    log("done:", len(statuses), "sent invoices followed,", len(downloaded), "received invoices downloaded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
