"""A passive list of 100000 invoices and one more: the real limit, the time, the rows in order."""

from __future__ import annotations

import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from emulator.providers.easytracking.models import EtPassiveInvoice
from emulator.sdi.models import SdiInvoice
from emulator.state import Sandbox
from tests.providers.easytracking.helpers import SANDBOX_VAT, bearer, token
from tests.providers.easytracking.passive_helpers import incoming, message

URL = "/easytracking/api/v10/DownloadInvoices/passive-invoices"
COPIES = 100_000  # plus the delivered original: 100001 matches


def _clone_delivered_invoice(sandbox: Sandbox, copies: int) -> None:
    """``copies`` copies of the one delivered invoice and its passive document, in SQL (seconds, not
    the hours the SDI engine would take): new ids, sdi ids, docIds, the rest the same."""
    invoices = [c.name for c in SdiInvoice.__table__.columns]
    documents = [c.name for c in EtPassiveInvoice.__table__.columns]
    shifted = {"id": "id + n", "sdi_id": "sdi_id + n"}
    with sandbox.transaction() as session:
        session.execute(
            text(
                f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {copies}) "
                f"INSERT INTO sdi_invoices ({', '.join(invoices)}) "
                f"SELECT {', '.join(shifted.get(c, c) for c in invoices)} FROM sdi_invoices, seq"
            )
        )
        shifted = {"id": "id + n", "invoice_id": "invoice_id + n"}
        session.execute(
            text(
                f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {copies}) "
                f"INSERT INTO easytracking_passive_invoices ({', '.join(documents)}) "
                f"SELECT {', '.join(shifted.get(c, c) for c in documents)} "
                "FROM easytracking_passive_invoices, seq"
            )
        )


def test_past_the_limit_413_below_it_the_whole_list_in_order(app: Flask, client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT, count=1)
    sandbox: Sandbox = app.extensions["fattura_sandbox"]
    _clone_delivered_invoice(sandbox, COPIES)
    for query in ({}, {"top": "100000"}):
        too_many = client.get(URL, query_string=query, headers=bearer(tok))
        assert too_many.status_code == 413, query
        assert message(too_many) == "More than 100000 elements: narrow the date range or the filters"
    started = time.perf_counter()
    response = client.get(URL, query_string={"top": "99999"}, headers=bearer(tok))
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == len(body["invoices"]) == 99_999
    ids = [item["id"] for item in body["invoices"]]
    assert ids == list(range(ids[0], ids[0] + 99_999))
    assert {item["fileName"] for item in body["invoices"]} == {body["invoices"][0]["fileName"]}
    # 0.8 s measured in-process on an idle core; generous for a loaded CI machine.
    assert elapsed < 8, elapsed
