"""What holds for every Easy Tracking call: authentication before validation, routes per version."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.providers.easytracking.helpers import SANDBOX_VAT, bearer, token

API = "/easytracking/api"
# (method, path after the route, body): one bad request per call that reads a body or a query.
BAD_REQUESTS = [
    ("post", "v4/InvoiceNotifications/jobs", b"{not json"),
    ("post", "v4/InvoiceNotifications/set-notifications-as-got", b"[]"),
    ("get", "v4/DownloadInvoices/active-invoices?top=0", None),
    ("get", "v4/InvoiceNotifications/new-active-notifications?top=x", None),
    ("post", "v4/DownloadInvoices/active/doc-id/jobs", b'{"docIds": []}'),
    ("post", "v4/ActiveInvoices/doc-id/set-fase-1", b'{"docIds": "1"}'),
    ("get", "v10/DownloadInvoices/passive-invoices?fase1=maybe", None),
    ("post", "v10/DownloadInvoices/jobs", b'{"docIds": [true]}'),
    ("post", "v10/DownloadInvoices/jobs-select-type", b'{"docIds": [1]}'),
    ("get", "v10/DownloadInvoices/jobs/not-a-guid", None),
    ("post", "v10/PassiveInvoices/set-fase-2", b"{}"),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_REQUESTS)
def test_a_missing_token_is_a_401_before_any_validation(
    client: FlaskClient, method: str, path: str, body: bytes | None
) -> None:
    headers = {"Content-Type": "application/json"}
    anonymous = getattr(client, method)(f"{API}/{path}", data=body, headers=headers)
    assert anonymous.status_code == 401, anonymous.get_data(as_text=True)
    assert anonymous.get_json()["message"]
    authenticated = getattr(client, method)(
        f"{API}/{path}", data=body, headers={**headers, **bearer(token(client))}
    )
    assert authenticated.status_code == 400, authenticated.get_data(as_text=True)
    assert authenticated.get_json()["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "v1/DownloadInvoices/passive-invoices"),
        ("get", "v11/DownloadInvoices/passive-invoices"),
        ("post", "v2/PassiveInvoices/set-fase-1"),
        ("post", "v4/DownloadInvoices/jobs-select-type"),
        ("post", "v5/ActiveInvoices"),
        ("get", "v10/DownloadInvoices/active-invoices"),
    ],
)
def test_calls_exist_only_from_the_route_that_introduced_them(
    client: FlaskClient, method: str, path: str
) -> None:
    response = getattr(client, method)(f"{API}/{path}", headers=bearer(token(client)))
    assert response.status_code == 404


def test_received_ranges_at_the_edges_of_the_calendar_are_answered(client: FlaskClient) -> None:
    client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT})
    headers = bearer(token(client))
    for low, high in [
        ("0001-01-01 00:00:00", "0001-01-31 00:00:00"),
        ("9999-12-01 00:00:00", "9999-12-31 23:59:59"),
    ]:
        response = client.get(
            f"{API}/v10/DownloadInvoices/passive-invoices",
            query_string={"invoiceReceivedDateTimeFrom": low, "invoiceReceivedDateTimeTo": high},
            headers=headers,
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json() == {"invoices": [], "total": 0}
