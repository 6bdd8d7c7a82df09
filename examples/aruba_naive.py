"""A naive Aruba client: the classic integration bugs, each deliberate and marked BUG.

`fattura-sandbox certify --provider aruba -- python examples/aruba_naive.py` fails it;
examples/README.md lists which check each bug fails. Do not copy this client.
"""

from __future__ import annotations

import base64
from typing import Any

import requests
from _common import Env, invoice_xml, log

ARUBA_TRANSMITTER = "01879020517"
# Not a politeness delay: a cap so the demonstration cannot flood the journal of a long run.
MAX_CALLS = 600


class Naive:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.calls = 0

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        # BUG (sign-in storm): a password sign-in before every call; the refresh grant never used.
        form = {"grant_type": "password", "username": self.env.username, "password": self.env.password}
        token = requests.post(self.env.base_url + "/auth/signin", data=form, timeout=15).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        while True:
            self.calls += 2
            response = requests.request(
                method, self.env.base_url + path, headers=headers, timeout=15, **kwargs
            )
            if response.status_code == 429 and self.calls < MAX_CALLS:
                continue  # BUG (retries): Retry-After ignored, retried at once
            if response.status_code >= 500:
                # BUG (retries): one 5xx and the client gives up for good.
                raise SystemExit(f"{method} {path}: server error {response.status_code}, giving up")
            return response


def main() -> int:
    env = Env.load()
    client = Naive(env)
    sent: list[str] = []
    mine = {"username": env.username, "countryReceiver": "IT", "vatcodeReceiver": env.vat}
    for n in range(1, env.invoices + 1):
        xml = invoice_xml(supplier=env.vat, transmitter=ARUBA_TRANSMITTER, number=n)
        payload = {"dataFile": base64.b64encode(xml).decode("ascii"), "credential": "", "domain": ""}
        response = client.request("POST", "/services/invoice/upload", json=payload)
        if response.ok and response.json().get("uploadFileName"):
            sent.append(response.json()["uploadFileName"])
    # BUG (contract, batch maximum): size may be at most 100.
    client.request("GET", "/services/invoice/in/findByUsername", params={**mine, "size": 500})
    while env.remaining() > 0 and client.calls < MAX_CALLS:
        # BUG (polling): every sent invoice's status read again at once, no pause, whatever the SLA.
        for name in sent:
            client.request("GET", "/services/invoice/out/getByFilename", params={"filename": name})
        # BUG (pagination): only the first page (default size 10), never page 2 and beyond.
        found = client.request("GET", "/services/invoice/in/findByUsername", params=mine)
        names = [item["filename"] for item in found.json().get("content", [])] if found.ok else []
        # BUG (double download): every listed invoice downloaded again every round.
        for name in names:
            client.request("GET", "/services/invoice/in/getByFilename", params={"filename": name})
    log("naive client done after", client.calls, "calls")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
