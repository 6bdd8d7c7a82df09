"""An invoice one Easy Tracking tenant sends reaches the other tenant's passive cycle."""

from __future__ import annotations

import io
import json
import zipfile

from flask.testing import FlaskClient

from tests.conftest import advance
from tests.providers.easytracking.helpers import OTHER_VAT, SANDBOX_VAT, bearer, invoice, token, upload

PASSIVE = "/easytracking/api/v10/DownloadInvoices"


def test_an_uploaded_invoice_is_delivered_to_the_customer_tenant(client: FlaskClient) -> None:
    sender = token(client)
    receiver = bearer(token(client, "other"))
    sent = invoice(seed=7, customer_vat=OTHER_VAT, number="E2E/1")
    assert upload(client, sender, sent).status_code == 200
    assert client.get(f"{PASSIVE}/passive-invoices", headers=receiver).get_json()["total"] == 0

    advance(client, 300)  # the SDI delivers (RC) two minutes after the upload

    listed = client.get(f"{PASSIVE}/passive-invoices", headers=receiver).get_json()
    assert listed["total"] == 1
    item = listed["invoices"][0]
    assert (item["senderPIVA"], item["receiverPIVA"], item["number"]) == (SANDBOX_VAT, OTHER_VAT, "E2E/1")
    assert item["fileName"].startswith("IT02470300373_")  # the intermediary's name towards the SDI
    status = client.get(
        "/easytracking/api/v4/InvoiceNotifications",
        query_string={"progressivoInvio": _last_progressivo(client, sender)},
        headers=bearer(sender),
    )
    assert b"RicevutaConsegna" in status.data

    job = client.post(f"{PASSIVE}/jobs", json={"docIds": [item["id"]]}, headers=receiver).get_json()["jobId"]
    advance(client, 10)
    zipped = client.get(f"{PASSIVE}/jobs/{job}", headers=receiver)
    assert zipped.status_code == 200
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive:
        index = json.loads(archive.read("indice.json"))["files"]
        unsigned = next(f for f in index if f["fileType"] == "FU")
        assert archive.read(unsigned["fileName"]) == sent
    # The sender's tenant does not see it in its own passive cycle.
    assert client.get(f"{PASSIVE}/passive-invoices", headers=bearer(sender)).get_json()["total"] == 0


def _last_progressivo(client: FlaskClient, tok: str) -> str:
    listed = client.get("/easytracking/api/v4/DownloadInvoices/active-invoices", headers=bearer(tok))
    progressivo: str = listed.get_json()["invoices"][-1]["progressivoInvio"]
    return progressivo
