"""The 100000-element lists: the body built in chunks is byte for byte the old one; the 413 limit."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from emulator.providers.easytracking import listing, queries
from tests.providers.easytracking.helpers import bearer, invoice, token, upload
from tests.providers.easytracking.passive_helpers import incoming, message

ACTIVE = "/easytracking/api/{route}/DownloadInvoices/active-invoices"
PASSIVE = "/easytracking/api/{route}/DownloadInvoices/passive-invoices"
SANDBOX_VAT = "09382170158"


def _upload_four(client: FlaskClient, tok: str) -> None:
    for n in range(4):
        response = upload(client, tok, invoice(seed=n + 1, number=f"BIG-{n}/2026"))
        assert response.status_code == 200, response.get_data(as_text=True)


def _as_json_response(body: bytes) -> bytes:
    """What ``json_response`` gives for the same document."""
    return json.dumps(json.loads(body), ensure_ascii=False, separators=(", ", ": ")).encode()


@pytest.mark.parametrize("chunk", [1, 3, 5000])
def test_chunked_body_is_the_single_document_json_response_gave(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(listing, "CHUNK", chunk)
    tok = token(client)
    _upload_four(client, tok)
    incoming(client, SANDBOX_VAT, count=3)
    for url, count in ((ACTIVE.format(route="v4"), 4), (PASSIVE.format(route="v10"), 3)):
        response = client.get(url, headers=bearer(tok))
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        body = response.get_data()
        assert body == _as_json_response(body)
        assert len(response.get_json()["invoices"]) == response.get_json()["total"] == count
        assert int(response.headers["Content-Length"]) == len(body)
    top = client.get(ACTIVE.format(route="v3"), query_string={"top": "2"}, headers=bearer(tok)).get_json()
    assert [i["docId"] for i in top["invoices"]] == sorted(i["docId"] for i in top["invoices"])
    assert top["total"] == 2


def test_empty_list(client: FlaskClient) -> None:
    tok = token(client)
    for url in (ACTIVE.format(route="v4"), PASSIVE.format(route="v2")):
        response = client.get(url, headers=bearer(tok))
        assert response.get_data() == b'{"invoices": [], "total": 0}'


@pytest.mark.parametrize(
    "url", [ACTIVE.format(route="v4"), ACTIVE.format(route="v3"), PASSIVE.format(route="v10")]
)
def test_more_matches_than_the_limit_is_413_only_without_a_smaller_top(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """The document: 413 "greater than 100000 elements"; with top (≤ 100000) the list is just cut."""
    monkeypatch.setattr(listing, "MAX_TOP", 3)
    monkeypatch.setattr(queries, "MAX_TOP", 3)
    tok = token(client)
    _upload_four(client, tok)
    incoming(client, SANDBOX_VAT, count=4)
    for query in ({}, {"top": "3"}):
        too_many = client.get(url, query_string=query, headers=bearer(tok))
        assert too_many.status_code == 413, query
        assert message(too_many) == "More than 3 elements: narrow the date range or the filters"
    cut = client.get(url, query_string={"top": "2"}, headers=bearer(tok))
    assert cut.status_code == 200
    assert cut.get_json()["total"] == 2
