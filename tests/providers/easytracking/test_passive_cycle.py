"""Easy Tracking passive cycle (routes v2-v10), end to end through HTTP, with the virtual clock.

Specification: the provider's "Easy Tracking - scarico fatture passive" v12.0 (route v10) and the
sandbox's decisions on what it leaves open. Incoming invoices come from POST /_sandbox/incoming-invoices.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree

from emulator.app import create_app
from emulator.config import Config
from tests.conftest import advance, make_config
from tests.providers.easytracking.helpers import OTHER_VAT, SANDBOX_VAT, bearer, invoice, token
from tests.providers.easytracking.passive_helpers import (
    B2B_MSG_NS,
    BASE,
    FA_RE,
    FI_RE,
    FPA_NS,
    FU_RE,
    ROUTES,
    SELECT_FLAGS,
    Archive,
    assert_valid,
    book,
    book_response,
    download,
    fase,
    fetch,
    ids_of,
    incoming,
    job_url,
    listed,
    load_schema,
    localname,
    message,
    namespace,
    open_zip,
    passive,
    unwrap_fa,
)

SECOND_VAT = "09382180165"  # also owned by easytracking/sandbox
SANDBOX_CF = "BNCMRC78E14F205D"  # a personal fiscal code owned by easytracking/sandbox
SUPPLIER_VAT = "01879020517"  # nobody's in the sandbox: an outside supplier
V2_FIELDS = {"id", "senderPIVA", "senderCF", "receiverPIVA", "receiverCF", "data", "number", "documentType"}
V3_FIELDS = V2_FIELDS | {"sdiId", "dataRicezione", "fileName"}
V9_FIELDS = V3_FIELDS | {"progressivoAnnualeCaricamento", "countryChannel"}
FASE_ACTIONS = ("set-fase-1", "clear-fase-1", "set-fase-2", "clear-fase-2")


def n(route: str) -> int:
    return int(route[1:])


def given(
    seed: int,
    number: str,
    *,
    customer_vat: str = SANDBOX_VAT,
    issue_date: dt.date = dt.date(2026, 2, 27),
    progressive: str | None = None,
) -> bytes:
    """An invoice from an outside supplier to a sandbox account (its recipient code is DTI1I04)."""
    return invoice(
        seed=seed,
        supplier_vat=SUPPLIER_VAT,
        customer_vat=customer_vat,
        number=number,
        issue_date=issue_date,
        recipient_code="DTI1I04",
        progressive=progressive or f"P{seed:04d}",
    )


def by_sdi(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["sdiId"]: item for item in items}


def sdi_ids(created: list[dict[str, Any]]) -> list[str]:
    return [str(item["sdi_id"]) for item in created]


@pytest.fixture(scope="module")
def fatturapa() -> etree.XMLSchema:
    return load_schema("Schema_del_file_xml_FatturaPA_v1.2.3.xsd")


# -- routes and authentication --------------------------------------------------------------------


def test_routes_exist_only_where_documented(client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT)
    doc_id = ids_of(listed(client, tok))[0]
    for route in ROUTES:
        assert passive(client, tok, route).status_code == 200, route
        assert book_response(client, tok, [doc_id], route).status_code == 202, route
        select = book_response(client, tok, [doc_id], route, metadatoSDI=True)
        assert select.status_code == (202 if n(route) >= 5 else 404), (route, select.get_data(as_text=True))
        for action in FASE_ACTIONS:
            response = fase(client, tok, action, [doc_id], route)
            assert response.status_code == (200 if n(route) >= 3 else 404), (route, action)
    for route in ("v1", "v11"):
        assert passive(client, tok, route).status_code == 404, route
        assert book_response(client, tok, [doc_id], route).status_code == 404, route
        assert book_response(client, tok, [doc_id], route, metadatoSDI=True).status_code == 404, route
        assert client.get(job_url(str(uuid.uuid4()), route), headers=bearer(tok)).status_code == 404
        assert fase(client, tok, "set-fase-1", [doc_id], route).status_code == 404, route


def test_every_call_needs_a_valid_token(client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT)
    doc_id = ids_of(listed(client, tok))[0]
    job = book(client, tok, [doc_id])
    advance(client, 5)
    calls = [
        ("GET", f"{BASE}/v10/DownloadInvoices/passive-invoices", None),
        ("GET", f"{BASE}/v2/DownloadInvoices/passive-invoices", None),
        ("POST", f"{BASE}/v10/DownloadInvoices/jobs", {"docIds": [doc_id]}),
        ("POST", f"{BASE}/v10/DownloadInvoices/jobs-select-type", {"docIds": [doc_id], "metadatoSDI": True}),
        ("GET", job_url(job), None),
        *[("POST", f"{BASE}/v10/PassiveInvoices/{action}", {"docIds": [doc_id]}) for action in FASE_ACTIONS],
    ]
    forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    for method, url, body in calls:
        for headers in ({}, bearer("not-a-jwt"), bearer(forged)):
            response = client.open(url, method=method, json=body, headers=headers)
            assert response.status_code == 401, (method, url, headers)
            assert message(response).startswith("Authorization has been denied"), message(response)
    # none of the refused calls consumed the job or set a fase
    assert client.get(job_url(job), headers=bearer(tok)).status_code == 200
    assert ids_of(listed(client, tok, fase1="false", fase2="false")) == [doc_id]


def test_an_expired_token_is_401(client: FlaskClient) -> None:
    tok = token(client)
    advance(client, 3600)
    response = passive(client, tok)
    assert response.status_code == 401
    assert "expired" in message(response)


# -- passive-invoices: fields per route ------------------------------------------------------------


def test_item_fields_and_values_on_every_route(client: FlaskClient) -> None:
    tok = token(client)
    xml = given(1, "FT-2026/0042", issue_date=dt.date(2026, 2, 27))
    created = incoming(client, SANDBOX_VAT, xml=xml.decode())[0]
    root = etree.fromstring(xml)
    supplier_cf = root.findtext(".//CedentePrestatore/DatiAnagrafici/CodiceFiscale") or ""
    customer_cf = root.findtext(".//CessionarioCommittente/DatiAnagrafici/CodiceFiscale") or ""
    for route in ROUTES:
        items = listed(client, tok, route)
        assert len(items) == 1, route
        item = items[0]
        expected = V9_FIELDS if n(route) >= 9 else V3_FIELDS if n(route) >= 3 else V2_FIELDS
        assert set(item) == expected, (route, sorted(set(item) ^ expected))
        assert isinstance(item["id"], int) and not isinstance(item["id"], bool)
        assert {k: item[k] for k in V2_FIELDS - {"id"}} == {
            "senderPIVA": SUPPLIER_VAT,
            "senderCF": supplier_cf,
            "receiverPIVA": SANDBOX_VAT,
            "receiverCF": customer_cf,
            "data": "2026-02-27",
            "number": "FT-2026/0042",
            "documentType": "TD01",
        }, route
        if n(route) >= 3:
            assert isinstance(item["sdiId"], str) and item["sdiId"].isdigit()
            assert item["sdiId"] == str(created["sdi_id"])
            # Europe/Rome wall time of the delivery (the clock starts at 09:00 in Rome, 08:00 UTC)
            assert item["dataRicezione"] == "2026-03-02 09:00:00"
            assert item["fileName"] == created["file_name"] == "IT01879020517_P0001.xml"
        if n(route) >= 9:
            assert item["progressivoAnnualeCaricamento"] == 26000001
            assert item["countryChannel"] == 0


def test_receiver_cf_only_invoice_has_empty_receiver_piva(client: FlaskClient) -> None:
    tok = token(client)
    created = incoming(client, SANDBOX_CF)[0]
    item = by_sdi(listed(client, tok))[str(created["sdi_id"])]
    assert item["receiverPIVA"] == ""
    assert item["receiverCF"] == SANDBOX_CF
    assert item["fileName"] == created["file_name"]


def test_progressivo_annuale_counts_per_account_and_per_year(client: FlaskClient) -> None:
    mine = incoming(client, SANDBOX_VAT, count=3)
    theirs = incoming(client, OTHER_VAT, count=2)
    tok, other = token(client), token(client, "other")
    numbers = {i["sdiId"]: i["progressivoAnnualeCaricamento"] for i in listed(client, tok)}
    assert [numbers[s] for s in sdi_ids(mine)] == [26000001, 26000002, 26000003]
    numbers_other = {i["sdiId"]: i["progressivoAnnualeCaricamento"] for i in listed(client, other)}
    assert [numbers_other[s] for s in sdi_ids(theirs)] == [26000001, 26000002]
    advance(client, 305 * 86400)  # 2027-01-01 09:00 in Rome
    new_year = incoming(client, SANDBOX_VAT)
    tok = token(client)
    items = by_sdi(listed(client, tok, "v9"))
    assert items[sdi_ids(new_year)[0]]["progressivoAnnualeCaricamento"] == 27000001
    assert items[sdi_ids(new_year)[0]]["dataRicezione"] == "2027-01-01 09:00:00"
    assert {i["countryChannel"] for i in items.values()} == {0}


def test_order_is_id_ascending_and_total_counts_the_items(client: FlaskClient) -> None:
    tok = token(client)
    created = incoming(client, SANDBOX_VAT, count=4)
    items = listed(client, tok)
    assert ids_of(items) == sorted(ids_of(items)) and len(set(ids_of(items))) == 4
    assert [i["sdiId"] for i in items] == sdi_ids(created)
    limited = passive(client, tok, top="2").get_json()
    assert limited["total"] == 2
    assert ids_of(limited["invoices"]) == ids_of(items)[:2]


# -- passive-invoices: query rules ----------------------------------------------------------------


def test_v2_knows_only_dates_and_one_receiver_id(client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT, count=2)
    both = passive(client, tok, "v2", receiverPIVA=SANDBOX_VAT, receiverCF=SANDBOX_CF)
    assert both.status_code == 400
    assert "receiverPIVA" in message(both) and "receiverCF" in message(both)
    # fase1, fase2 and top are not parameters of v2: ignored, whatever their value
    for query in ({"fase1": "maybe"}, {"fase2": "true"}, {"top": "100001"}, {"top": "0"}, {"top": "1"}):
        assert len(listed(client, tok, "v2", **query)) == 2, query
    fase(client, tok, "set-fase-1", ids_of(listed(client, tok))[:1])
    assert len(listed(client, tok, "v2", fase1="false")) == 2
    # ... so they do not extend the date range either: 31 days always
    wide = passive(client, tok, "v2", invoiceDateFrom="2026-01-01", invoiceDateTo="2026-02-15", fase1="false")
    assert wide.status_code == 400
    assert "31 days" in message(wide)
    for route in ROUTES[1:]:
        assert passive(client, tok, route, receiverPIVA=SANDBOX_VAT, receiverCF=SANDBOX_CF).status_code == 200


def test_v3_adds_fase_and_top(client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT, count=3)
    for route in ROUTES[1:]:
        assert len(listed(client, tok, route, top="1")) == 1, route
        assert len(listed(client, tok, route, top="100000")) == 3, route
        too_many = passive(client, tok, route, top="100001")
        assert too_many.status_code == 413, route
        assert "100000" in message(too_many)
        for bad in ("0", "-1", "1.5", "abc", "", " 2"):
            response = passive(client, tok, route, top=bad)
            assert response.status_code == 400, (route, bad)
            assert "top" in message(response), message(response)
        for name in ("fase1", "fase2"):
            for bad in ("maybe", "1", "yes", ""):
                response = passive(client, tok, route, **{name: bad})
                assert response.status_code == 400, (route, name, bad)
                assert "true or false" in message(response) and name in message(response)


RANGE_CASES: list[tuple[dict[str, str], int, str | None]] = [
    ({"invoiceDateFrom": "2026-01-01", "invoiceDateTo": "2026-02-01"}, 200, None),  # 31 days
    ({"invoiceDateFrom": "2026-01-01", "invoiceDateTo": "2026-02-02"}, 400, "31 days"),
    (
        {
            "invoiceReceivedDateTimeFrom": "2026-01-01 00:00:00",
            "invoiceReceivedDateTimeTo": "2026-02-01 00:00:00",
        },
        200,
        None,
    ),
    (
        {
            "invoiceReceivedDateTimeFrom": "2026-01-01 00:00:00",
            "invoiceReceivedDateTimeTo": "2026-02-01 00:00:01",
        },
        400,
        "31 days",
    ),
    ({"invoiceDateFrom": "2025-03-02", "invoiceDateTo": "2026-03-02", "fase1": "false"}, 200, None),  # 365
    ({"invoiceDateFrom": "2025-03-01", "invoiceDateTo": "2026-03-02", "fase1": "false"}, 400, "365 days"),
    ({"invoiceDateFrom": "2025-03-02", "invoiceDateTo": "2026-03-02", "fase2": "true"}, 200, None),
    (
        {
            "invoiceReceivedDateTimeFrom": "2025-03-02 09:00:00",
            "invoiceReceivedDateTimeTo": "2026-03-02 09:00:00",
            "fase1": "false",
            "fase2": "false",
        },
        200,
        None,
    ),
    ({"invoiceDateFrom": "2025-06-01", "invoiceDateTo": "2026-03-02", "top": "10"}, 400, "31 days"),
    (
        {
            "invoiceDateFrom": "2026-03-01",
            "invoiceDateTo": "2026-03-02",
            "invoiceReceivedDateTimeFrom": "2026-03-01 00:00:00",
            "invoiceReceivedDateTimeTo": "2026-03-02 00:00:00",
        },
        400,
        "Only one type",
    ),
    ({"invoiceDateFrom": "2026-03-01"}, 400, "invoiceDateTo"),
    ({"invoiceDateTo": "2026-03-01"}, 400, "invoiceDateFrom"),
    ({"invoiceReceivedDateTimeFrom": "2026-03-01 00:00:00"}, 400, "invoiceReceivedDateTimeTo"),
    ({"invoiceReceivedDateTimeTo": "2026-03-01 00:00:00"}, 400, "invoiceReceivedDateTimeFrom"),
    ({"invoiceDateFrom": "2026-03-02", "invoiceDateTo": "2026-03-01"}, 400, "invoiceDateFrom"),
    ({"invoiceDateFrom": "01/03/2026", "invoiceDateTo": "2026-03-02"}, 400, "yyyy-MM-dd"),
    ({"invoiceDateFrom": "2026-02-30", "invoiceDateTo": "2026-03-02"}, 400, "yyyy-MM-dd"),
    ({"invoiceDateFrom": "2026-3-1", "invoiceDateTo": "2026-03-02"}, 400, "yyyy-MM-dd"),
    ({"invoiceDateFrom": "2026-03-01 00:00:00", "invoiceDateTo": "2026-03-02"}, 400, "yyyy-MM-dd"),
    (
        {
            "invoiceReceivedDateTimeFrom": "2026-03-01T00:00:00",
            "invoiceReceivedDateTimeTo": "2026-03-02 00:00:00",
        },
        400,
        "yyyy-MM-dd HH:mm:ss",
    ),
    (
        {"invoiceReceivedDateTimeFrom": "2026-03-01", "invoiceReceivedDateTimeTo": "2026-03-02 00:00:00"},
        400,
        "yyyy-MM-dd HH:mm:ss",
    ),
    (
        {
            "invoiceReceivedDateTimeFrom": "2026-03-01 24:00:00",
            "invoiceReceivedDateTimeTo": "2026-03-02 00:00:00",
        },
        400,
        "yyyy-MM-dd HH:mm:ss",
    ),
]


@pytest.mark.parametrize("route", ["v3", "v10"])
def test_date_range_rules(client: FlaskClient, route: str) -> None:
    tok = token(client)
    for query, status, fragment in RANGE_CASES:
        response = passive(client, tok, route, **query)
        assert response.status_code == status, (query, response.get_data(as_text=True))
        if fragment:
            assert fragment in message(response), (query, message(response))
    assert passive(client, tok, "v2", **RANGE_CASES[1][0]).status_code == 400
    assert passive(client, tok, "v2", **RANGE_CASES[0][0]).status_code == 200


def test_filter_by_receiver_ids(client: FlaskClient) -> None:
    tok = token(client)
    first = sdi_ids(incoming(client, SANDBOX_VAT))
    second = sdi_ids(incoming(client, SECOND_VAT))
    person = sdi_ids(incoming(client, SANDBOX_CF))
    incoming(client, OTHER_VAT)

    def sdis(route: str = "v10", **query: str) -> list[str]:
        return [i["sdiId"] for i in listed(client, tok, route, **query)]

    assert sdis() == first + second + person
    assert sdis(receiverPIVA=SECOND_VAT) == second
    assert sdis(receiverPIVA=SANDBOX_VAT) == first
    assert sdis(receiverCF=SANDBOX_CF) == person
    assert sdis(receiverCF=SANDBOX_CF.lower()) == person
    assert sdis(receiverPIVA=SANDBOX_VAT, receiverCF=SANDBOX_CF) == []  # AND on v3+
    assert sdis(receiverPIVA=OTHER_VAT) == []  # someone else's id: nothing, not an error
    assert sdis(receiverPIVA="01879020517") == []
    v2 = [i["receiverCF"] for i in listed(client, tok, "v2", receiverCF=SANDBOX_CF)]
    assert v2 == [SANDBOX_CF]
    assert len(listed(client, tok, "v2", receiverPIVA=SECOND_VAT)) == 1
    # receiverCF matches the invoice's CodiceFiscale: every item it returns carries it
    everything = listed(client, tok)
    for item in everything:
        if item["receiverCF"]:
            matching = listed(client, tok, receiverCF=item["receiverCF"])
            assert item["id"] in ids_of(matching)
            assert {m["receiverCF"].upper() for m in matching} == {item["receiverCF"].upper()}


def test_filter_by_invoice_date(client: FlaskClient) -> None:
    tok = token(client)
    dates = [dt.date(2026, 1, 15), dt.date(2026, 2, 10), dt.date(2026, 2, 28)]
    created = [
        incoming(client, SANDBOX_VAT, xml=given(10 + i, f"D{i}", issue_date=day).decode())[0]
        for i, day in enumerate(dates)
    ]
    sdi = sdi_ids(created)

    def sdis(route: str = "v10", **query: str) -> list[str]:
        return [i["sdiId"] for i in listed(client, tok, route, **query)]

    assert [i["data"] for i in listed(client, tok)] == ["2026-01-15", "2026-02-10", "2026-02-28"]
    assert sdis(invoiceDateFrom="2026-02-01", invoiceDateTo="2026-02-28") == sdi[1:]
    assert sdis(invoiceDateFrom="2026-02-10", invoiceDateTo="2026-02-10") == [sdi[1]]
    assert sdis(invoiceDateFrom="2026-01-01", invoiceDateTo="2026-01-31") == [sdi[0]]
    assert sdis(invoiceDateFrom="2026-03-01", invoiceDateTo="2026-03-02") == []
    assert sdis(invoiceDateFrom="2025-03-02", invoiceDateTo="2026-02-11", fase1="false") == sdi[:2]
    v2 = listed(client, tok, "v2", invoiceDateFrom="2026-02-11", invoiceDateTo="2026-03-02")
    assert [i["data"] for i in v2] == ["2026-02-28"]


def test_filter_by_received_datetime_in_rome_time(client: FlaskClient) -> None:
    tok = token(client)
    morning = sdi_ids(incoming(client, SANDBOX_VAT))
    advance(client, 2 * 3600)
    late = sdi_ids(incoming(client, SANDBOX_VAT))
    tok = token(client)

    def sdis(start: str, end: str, route: str = "v10") -> list[str]:
        items = listed(client, tok, route, invoiceReceivedDateTimeFrom=start, invoiceReceivedDateTimeTo=end)
        return [i["sdiId"] for i in items] if n(route) >= 3 else [str(i["id"]) for i in items]

    received = {i["sdiId"]: i["dataRicezione"] for i in listed(client, tok)}
    assert received == {morning[0]: "2026-03-02 09:00:00", late[0]: "2026-03-02 11:00:00"}
    assert sdis("2026-03-02 09:00:00", "2026-03-02 10:59:59") == morning
    assert sdis("2026-03-02 09:00:01", "2026-03-02 11:00:00") == late
    assert sdis("2026-03-02 11:00:00", "2026-03-02 11:00:00") == late
    # Rome time, not UTC: 08:00-08:59 (the UTC hour of the first delivery) matches nothing
    assert sdis("2026-03-02 08:00:00", "2026-03-02 08:59:59") == []
    assert sdis("2026-03-01 00:00:00", "2026-03-02 23:59:59") == morning + late
    assert len(sdis("2026-03-02 10:00:00", "2026-03-02 12:00:00", "v2")) == 1


# -- jobs -----------------------------------------------------------------------------------------


def test_job_is_202_until_ready_then_200_once(client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT)
    doc_id = ids_of(listed(client, tok))[0]
    booked = book_response(client, tok, [doc_id])
    assert booked.status_code == 202
    assert set(booked.get_json()) == {"jobId"}
    job = booked.get_json()["jobId"]
    assert len(job) == 36 and str(uuid.UUID(job)) == job.lower()
    url = job_url(job)
    waiting = client.get(url, headers=bearer(tok))
    assert waiting.status_code == 202
    assert waiting.get_json() == {"message": "Job in progress"}
    advance(client, 4)
    assert client.get(url, headers=bearer(tok)).status_code == 202
    advance(client, 1)
    ready = client.get(url, headers=bearer(tok))
    assert ready.status_code == 200
    assert ready.mimetype == "application/octet-stream"
    assert ready.data[:2] == b"PK"
    again = client.get(url, headers=bearer(tok))
    assert again.status_code == 403
    assert job in message(again)
    # a new job downloads the same document again
    assert fetch(client, tok, [doc_id]).types(doc_id) == ["FA", "MT", "FU"]


def test_job_expires_24_hours_after_booking(client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT)
    doc_id = ids_of(listed(client, tok))[0]
    early, late = book(client, tok, [doc_id]), book(client, tok, [doc_id])
    advance(client, 86399)
    tok = token(client)
    assert client.get(job_url(early), headers=bearer(tok)).status_code == 200
    advance(client, 1)
    expired = client.get(job_url(late), headers=bearer(tok))
    assert expired.status_code == 403
    assert late in message(expired)


def test_job_download_errors(client: FlaskClient) -> None:
    tok, other = token(client), token(client, "other")
    incoming(client, SANDBOX_VAT)
    doc_id = ids_of(listed(client, tok))[0]
    job = book(client, tok, [doc_id])
    advance(client, 5)
    for bad in ("not-a-guid", "1234", job[:-1], job + "0", job.replace("-", "x")):
        response = client.get(job_url(bad), headers=bearer(tok))
        assert response.status_code == 400, bad
        assert "not a valid GUID" in message(response), bad
    unknown = str(uuid.uuid4())
    response = client.get(job_url(unknown), headers=bearer(tok))
    assert response.status_code == 403
    assert unknown in message(response)
    foreign = client.get(job_url(job), headers=bearer(other))
    assert foreign.status_code == 403
    assert job in message(foreign)
    # the refused attempt did not consume the owner's job
    assert client.get(job_url(job.upper()), headers=bearer(tok)).status_code == 200


ID_LIST_CASES: list[tuple[Any, str]] = [
    ({"docIds": []}, "non-empty"),
    ({"docIds": list(range(1, 102))}, "100"),
    ({"docIds": ["1"]}, "not an integer"),
    ({"docIds": [1.5]}, "not an integer"),
    ({"docIds": [True]}, "not an integer"),
    ({"docIds": [None]}, "not an integer"),
    ({"docIds": 1}, "docIds"),
    ({"ids": [1]}, "docIds"),
    ([1, 2], "docIds"),
]


def test_doc_id_lists_are_checked_by_every_call(client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT)
    doc_id = ids_of(listed(client, tok))[0]
    # a 403 changes nothing, not even for the caller's own ids in the same list
    for action in ("set-fase-1", "set-fase-2"):
        refused = fase(client, tok, action, [doc_id, 999999])
        assert refused.status_code == 403 and "999999" in message(refused)
    assert ids_of(listed(client, tok, fase1="false", fase2="false")) == [doc_id]
    urls = [
        f"{BASE}/v10/DownloadInvoices/jobs",
        f"{BASE}/v10/DownloadInvoices/jobs-select-type",
        *[f"{BASE}/v10/PassiveInvoices/{action}" for action in FASE_ACTIONS],
    ]
    for url in urls:
        extra = {"fatturaOriginale": True} if url.endswith("select-type") else {}
        for payload, fragment in ID_LIST_CASES:
            body = {**payload, **extra} if isinstance(payload, dict) else payload
            response = client.post(url, json=body, headers=bearer(tok))
            assert response.status_code == 400, (url, payload)
            assert fragment in message(response), (url, payload, message(response))
        not_json = client.post(
            url, data="docIds", headers={**bearer(tok), "Content-Type": "application/json"}
        )
        assert not_json.status_code == 400, url
        assert "message" in not_json.get_json()
        for ids in ([999999], [doc_id, 999999]):
            response = client.post(url, json={"docIds": ids, **extra}, headers=bearer(tok))
            assert response.status_code == 403, (url, ids)
            assert "999999" in message(response), message(response)
        # exactly 100 ids is fine as far as the count goes (unknown ones are then a 403)
        hundred = client.post(url, json={"docIds": [doc_id] * 100, **extra}, headers=bearer(tok))
        assert hundred.status_code in {200, 202}, (url, hundred.get_data(as_text=True))


def test_duplicate_doc_ids_collapse(client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT, count=2)
    first, second = ids_of(listed(client, tok))
    archive = fetch(client, tok, [second, first, second, first])
    assert [e["id"] for e in archive.index] == [second] * 3 + [first] * 3


def test_jobs_files_per_route(client: FlaskClient) -> None:
    """FA, MT and FU per document in docIds order; FU on v2/v3 only for p7m; never FI."""
    tok = token(client)
    plain = incoming(client, SANDBOX_VAT)[0]
    signed = incoming(client, SANDBOX_VAT, signed=True, encoding="der")[0]
    by = by_sdi(listed(client, tok))
    plain_id, signed_id = by[str(plain["sdi_id"])]["id"], by[str(signed["sdi_id"])]["id"]
    for route in ROUTES:
        archive = fetch(client, tok, [signed_id, plain_id], route)
        with_fu = ["FA", "MT", "FU"]
        plain_types = with_fu if n(route) >= 4 else ["FA", "MT"]
        assert [(e["id"], e["fileType"]) for e in archive.index] == [(signed_id, t) for t in with_fu] + [
            (plain_id, t) for t in plain_types
        ], route
        name, data = archive.of(plain_id, "FA")
        assert name.endswith("_" + plain["file_name"])
        assert archive.of(signed_id, "FA")[0].endswith("_" + signed["file_name"])
        if n(route) >= 4:
            assert archive.of(plain_id, "FU")[1] == data


def test_file_names(client: FlaskClient) -> None:
    tok = token(client)
    created = incoming(client, SANDBOX_VAT) + incoming(client, SANDBOX_VAT, signed=True, encoding="base64")
    items = by_sdi(listed(client, tok))
    doc_ids = [items[str(c["sdi_id"])]["id"] for c in created]
    archive = fetch(client, tok, doc_ids, "v10", **dict.fromkeys(SELECT_FLAGS, True))
    numbers = []
    for doc_id, made in zip(doc_ids, created, strict=True):
        assert archive.types(doc_id) == ["FA", "MT", "FU", "FI"]
        fa_name, _ = archive.of(doc_id, "FA")
        match = FA_RE.fullmatch(fa_name)
        assert match, fa_name
        assert match["sdi"] == made["file_name"] == items[str(made["sdi_id"])]["fileName"]
        dt.datetime.strptime(match["stamp"] + "000", "%Y%m%d_%H%M%S%f")  # a real instant
        stem = fa_name.removesuffix(".p7m").removesuffix(".xml")
        assert archive.of(doc_id, "MT")[0] == stem + "_MT_001.xml"
        fu = FU_RE.fullmatch(archive.of(doc_id, "FU")[0])
        fi = FI_RE.fullmatch(archive.of(doc_id, "FI")[0])
        assert fu and fi, archive.index
        assert fu["n"] == fi["n"]
        numbers.append(fu["n"])
    assert len(set(numbers)) == len(numbers)
    assert created[1]["file_name"].endswith(".xml.p7m") and created[0]["file_name"].endswith(".xml")


def test_jobs_select_type(client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT)
    incoming(client, SANDBOX_VAT, signed=True)
    doc_ids = ids_of(listed(client, tok))
    for route in ("v5", "v10"):
        for flag, file_type in SELECT_FLAGS.items():
            archive = fetch(client, tok, doc_ids, route, **{flag: True})  # the others missing = false
            assert [(e["id"], e["fileType"]) for e in archive.index] == [(d, file_type) for d in doc_ids], (
                flag
            )
        both = fetch(
            client, tok, doc_ids, route, fatturaOriginale=False, metadatoSDI=True, fatturaIntermediario=True
        )
        assert [e["fileType"] for e in both.index] == ["MT", "FI", "MT", "FI"]
        none = book_response(client, tok, doc_ids, route, **dict.fromkeys(SELECT_FLAGS, False))
        assert none.status_code == 400
        assert any(flag in message(none) for flag in SELECT_FLAGS), message(none)
        bare = client.post(
            f"{BASE}/{route}/DownloadInvoices/jobs-select-type", json={"docIds": doc_ids}, headers=bearer(tok)
        )
        assert bare.status_code == 400
        flags = list(SELECT_FLAGS)
        for position, flag in enumerate(flags):
            valid = flags[(position + 1) % len(flags)]  # another type, chosen properly
            for bad in ("true", 1, 0, [True]):
                response = book_response(client, tok, doc_ids, route, **{flag: bad, valid: True})
                assert response.status_code == 400, (flag, bad)
                assert flag in message(response), message(response)
    assert book_response(client, tok, doc_ids, "v4", metadatoSDI=True).status_code == 404


# -- what the files are ---------------------------------------------------------------------------


def test_every_file_parses_and_agrees_with_the_list(client: FlaskClient, fatturapa: etree.XMLSchema) -> None:
    tok = token(client)
    created = incoming(client, SANDBOX_VAT, count=2) + [
        incoming(client, SANDBOX_VAT, signed=True, encoding=encoding)[0]
        for encoding in ("der", "ber", "base64", "base64x2")
    ]
    items = by_sdi(listed(client, tok))
    doc_ids = [items[str(c["sdi_id"])]["id"] for c in created]
    archive = fetch(client, tok, doc_ids, "v10", **dict.fromkeys(SELECT_FLAGS, True))
    for doc_id, made in zip(doc_ids, created, strict=True):
        item = items[str(made["sdi_id"])]
        fa_name, fa = archive.of(doc_id, "FA")
        content = unwrap_fa(fa_name, fa, made.get("encoding") if made.get("signed") else None)
        _, fu = archive.of(doc_id, "FU")
        assert content == fu, made
        invoice_root = assert_valid(fatturapa, fu)
        assert invoice_root.get("versione") == "FPR12"
        header = invoice_root.find("FatturaElettronicaHeader")
        assert header is not None
        assert header.findtext("CessionarioCommittente/DatiAnagrafici/IdFiscaleIVA/IdCodice") == SANDBOX_VAT
        body = invoice_root.find("FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento")
        assert body is not None
        assert body.findtext("Numero") == item["number"]
        assert body.findtext("Data") == item["data"]
        assert body.findtext("TipoDocumento") == item["documentType"]
        fi_root = assert_valid(fatturapa, archive.of(doc_id, "FI")[1])
        assert localname(fi_root) == "FatturaElettronica" and namespace(fi_root) == FPA_NS
        mt = etree.fromstring(archive.of(doc_id, "MT")[1])
        assert localname(mt) == "FileMetadati" and namespace(mt) == B2B_MSG_NS
        assert mt.findtext("IdentificativoSdI") == item["sdiId"]
        assert mt.findtext("NomeFile") == item["fileName"]
        assert mt.findtext("Formato") == "FPR12"
        assert mt.findtext("CodiceDestinatario") == "DTI1I04"
        assert (mt.findtext("Hash") or "").lower() == hashlib.sha256(fa).hexdigest()


def test_tenant_isolation(client: FlaskClient) -> None:
    tok, other = token(client), token(client, "other")
    mine = incoming(client, SANDBOX_VAT)
    theirs = incoming(client, OTHER_VAT)
    assert theirs[0]["recipient"] == {"provider": "easytracking", "tenant": "other"}
    their_ids = ids_of(listed(client, other))
    assert [i["sdiId"] for i in listed(client, other)] == sdi_ids(theirs)
    for route in ROUTES:
        assert not set(ids_of(listed(client, tok, route))) & set(their_ids), route
    assert [i["sdiId"] for i in listed(client, tok)] == sdi_ids(mine)
    assert listed(client, tok, receiverPIVA=OTHER_VAT) == []
    refused = [
        book_response(client, tok, their_ids),
        book_response(client, tok, their_ids, fatturaOriginale=True),
        *[fase(client, tok, action, their_ids) for action in FASE_ACTIONS],
    ]
    for response in refused:
        assert response.status_code == 403
        assert str(their_ids[0]) in message(response)
    assert ids_of(listed(client, other, fase1="false", fase2="false")) == their_ids
    job = book(client, other, their_ids)
    advance(client, 5)
    assert client.get(job_url(job), headers=bearer(tok)).status_code == 403
    assert download(client, other, job, wait=0).types(their_ids[0]) == ["FA", "MT", "FU"]


# -- fase calls -----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["v3", "v10"])
def test_fase_calls_set_and_clear(client: FlaskClient, route: str) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT, count=3)
    a, b, c = ids_of(listed(client, tok, route))

    def ids(**query: str) -> list[int]:
        return ids_of(listed(client, tok, route, **query))

    done = fase(client, tok, "set-fase-1", [a], route)
    assert done.status_code == 200 and done.data == b""
    assert ids(fase1="false") == [b, c]
    assert ids(fase1="true") == [a]
    assert ids() == [a, b, c]
    assert fase(client, tok, "set-fase-1", [a], route).status_code == 200  # again: still set
    assert ids(fase1="true") == [a]
    assert fase(client, tok, "set-fase-2", [a, b], route).status_code == 200
    assert ids(fase2="true") == [a, b]
    assert ids(fase1="false", fase2="true") == [b]
    assert ids(fase1="false", fase2="false") == [c]
    assert ids(fase1="true", fase2="false") == []
    assert ids(fase1="TRUE") == [a]
    cleared = fase(client, tok, "clear-fase-1", [a], route)
    assert cleared.status_code == 200 and cleared.data == b""
    assert ids(fase1="false") == [a, b, c]
    assert ids(fase2="true") == [a, b]  # fase 2 untouched
    assert fase(client, tok, "clear-fase-2", [b, a], route).status_code == 200
    assert ids(fase2="false") == [a, b, c]
    assert fase(client, tok, "clear-fase-2", [c], route).status_code == 200  # never set: fine
    # the flags are per invoice, not per route: v2 does not know them and lists everything
    fase(client, tok, "set-fase-1", [a, b, c], route)
    assert ids_of(listed(client, tok, "v2")) == [a, b, c]
    assert ids_of(listed(client, tok, "v9", fase1="false")) == []


def test_fase_with_a_long_date_range(client: FlaskClient) -> None:
    tok = token(client)
    incoming(client, SANDBOX_VAT, xml=given(30, "OLD-1", issue_date=dt.date(2025, 6, 1)).decode())
    incoming(client, SANDBOX_VAT, xml=given(31, "NEW-1", issue_date=dt.date(2026, 3, 1)).decode())
    first, second = ids_of(listed(client, tok))
    fase(client, tok, "set-fase-1", [second])
    year = {"invoiceDateFrom": "2025-03-02", "invoiceDateTo": "2026-03-02"}
    assert ids_of(listed(client, tok, fase1="false", **year)) == [first]
    assert ids_of(listed(client, tok, fase2="false", **year)) == [first, second]
    assert passive(client, tok, **year).status_code == 400


# -- the integrator's loop ------------------------------------------------------------------------


def integrator_round(
    client: FlaskClient, route: str, meanwhile: Callable[[], object] | None = None
) -> list[tuple[int, str]]:
    """What an integrator does: list what is new, download it in jobs of 100, mark what it got as taken.

    ``meanwhile`` runs after the list was read (more invoices arriving in the middle of a round).
    """
    tok = token(client)
    new = ids_of(listed(client, tok, route, fase1="false"))
    if meanwhile:
        meanwhile()
    taken: list[tuple[int, str]] = []
    for start in range(0, len(new), 100):
        chunk = new[start : start + 100]
        archive = fetch(client, tok, chunk, route)
        assert sorted({e["id"] for e in archive.index}) == sorted(chunk)
        for doc_id in chunk:
            assert archive.types(doc_id) == ["FA", "MT", "FU"], route
            mt = etree.fromstring(archive.of(doc_id, "MT")[1])
            taken.append((doc_id, mt.findtext("IdentificativoSdI") or ""))
        assert fase(client, tok, "set-fase-1", chunk, route).status_code == 200
    return taken


def downloaded_once(rounds: list[list[tuple[int, str]]], created: list[list[dict[str, Any]]]) -> None:
    """Round i downloaded exactly the invoices of created[i]; nothing twice."""
    for number, (got, made) in enumerate(zip(rounds, created, strict=True)):
        assert sorted(sdi for _, sdi in got) == sorted(sdi_ids(made)), number
    counts = Counter(sdi for got in rounds for _, sdi in got)
    assert all(c == 1 for c in counts.values()), counts
    ids = Counter(doc_id for got in rounds for doc_id, _ in got)
    assert all(c == 1 for c in ids.values()), ids


@pytest.mark.parametrize("route", ["v10", "v4"])
def test_integrator_loop_downloads_each_invoice_once(client: FlaskClient, route: str) -> None:
    def nothing() -> list[dict[str, Any]]:
        return []

    arrivals: list[Callable[[], list[dict[str, Any]]]] = [
        lambda: (
            incoming(client, SANDBOX_VAT, count=2)
            + incoming(client, SANDBOX_CF, signed=True, encoding="base64")
        ),
        lambda: incoming(client, SECOND_VAT, count=2, signed=True, encoding="ber"),
        nothing,
        lambda: (
            incoming(client, SANDBOX_VAT, count=100) + incoming(client, SANDBOX_VAT, count=3, signed=True)
        ),
        lambda: incoming(client, SANDBOX_VAT),
    ]
    rounds: list[list[tuple[int, str]]] = []
    created: list[list[dict[str, Any]]] = []
    for arrive in arrivals:
        created.append(arrive())
        rounds.append(integrator_round(client, route))
        advance(client, 600)
    downloaded_once(rounds, created)
    assert integrator_round(client, route) == []


def test_integrator_loop_with_invoices_arriving_mid_round(client: FlaskClient) -> None:
    """An invoice that arrives after the list was read is not marked by that round, so the next gets it."""
    first = incoming(client, SANDBOX_VAT, count=2)
    late: list[dict[str, Any]] = []
    rounds = [integrator_round(client, "v10", meanwhile=lambda: late.extend(incoming(client, SANDBOX_VAT)))]
    rounds.append(integrator_round(client, "v10"))
    downloaded_once(rounds, [first, late])
    assert integrator_round(client, "v10") == []


@contextmanager
def running(config: Config) -> Iterator[FlaskClient]:
    """A sandbox on ``config`` for the duration of the block, closed (as at a stop) afterwards."""
    app = create_app(config)
    try:
        yield app.test_client()
    finally:
        app.extensions["fattura_sandbox"].close()


def test_integrator_loop_across_a_restart(tmp_path: Path) -> None:
    config = make_config(db=str(tmp_path / "s.db"))
    with running(config) as client:
        before = incoming(client, SANDBOX_VAT, count=2) + incoming(client, SANDBOX_VAT, signed=True)
        first = integrator_round(client, "v10")
    with running(config) as client:
        tok = token(client)
        assert len(listed(client, tok, fase1="true")) == 3  # the flags survived
        assert listed(client, tok, fase1="false") == []
        after = incoming(client, SANDBOX_VAT, count=2)
        second = integrator_round(client, "v10")
        downloaded_once([first, second], [before, after])
        assert len(listed(client, token(client))) == 5
        assert integrator_round(client, "v4") == []


def test_integrator_loop_across_a_restart_with_given_invoices(tmp_path: Path) -> None:
    """The same loop across a restart, with invoices given as XML (no generator involved)."""
    config = make_config(db=str(tmp_path / "s.db"))
    with running(config) as client:
        before = [incoming(client, SANDBOX_VAT, xml=given(60 + i, f"B{i}").decode())[0] for i in range(2)]
        first = integrator_round(client, "v10")
    with running(config) as client:
        after = [incoming(client, SANDBOX_VAT, xml=given(70 + i, f"A{i}").decode())[0] for i in range(2)]
        second = integrator_round(client, "v4")
        downloaded_once([first, second], [before, after])
        items = listed(client, token(client), fase1="true")
        assert [i["sdiId"] for i in items] == sdi_ids(before + after)
        assert [i["progressivoAnnualeCaricamento"] for i in items] == [26000001 + k for k in range(4)]


def test_job_delay_follows_the_configuration() -> None:
    app = create_app(make_config(easytracking_job_seconds=60))
    try:
        client = app.test_client()
        tok = token(client)
        incoming(client, SANDBOX_VAT)
        job = book(client, tok, ids_of(listed(client, tok)))
        advance(client, 59)
        assert client.get(job_url(job), headers=bearer(tok)).status_code == 202
        advance(client, 1)
        assert client.get(job_url(job), headers=bearer(tok)).status_code == 200
    finally:
        app.extensions["fattura_sandbox"].close()


def test_archive_helper_rejects_unlisted_files() -> None:
    """The zip check used above can fail: an unlisted file, or a listed file missing, is an error."""

    def make(files: dict[str, bytes], index: list[dict[str, Any]]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in files.items():
                archive.writestr(name, data)
            archive.writestr("indice.json", json.dumps({"files": index}))
        return buffer.getvalue()

    entry = {"id": 1, "fileName": "a.xml", "fileType": "FA"}
    assert isinstance(open_zip(make({"a.xml": b"<a/>"}, [entry])), Archive)
    with pytest.raises(AssertionError):
        open_zip(make({"a.xml": b"<a/>", "b.xml": b"<b/>"}, [entry]))
    with pytest.raises(AssertionError):
        open_zip(make({}, [entry]))
