"""§3 SLA: calls per minute per IP (429 with Retry-After) and files of at most 5 MB (413)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from emulator.providers.aruba.models import ArubaSlaWindow
from emulator.providers.aruba.sla import MAX_UPLOAD_BODY, limit_for
from emulator.state import Sandbox
from tests.conftest import advance, make_config
from tests.providers.aruba.helpers import bearer, token

UPLOAD = "/aruba/services/invoice/upload"
UPLOAD_SIGNED = "/aruba/services/invoice/uploadSigned"
FIND_IN = "/aruba/services/invoice/in/getInvoiceWithUnsignedFile?filename=x.xml"
FIND_OUT = "/aruba/services/invoice/out/getByFilename?filename=x.xml"
NOTIFICATIONS_IN = "/aruba/services/notification/in/getByFilename?filename=x.xml"
NOTIFICATIONS_OUT = "/aruba/services/notification/out/getByFilename?filename=x.xml"
UPLOAD_MESSAGE = "Too many requests: at most 30 requests per minute per IP to send invoices (Upload invoice)"


def calls(client: FlaskClient, method: str, url: str, n: int, **kwargs: Any) -> list[int]:
    return [client.open(url, method=method, **kwargs).status_code for _ in range(n)]


def assert_429(response: Any, message: str, retry_after: int, path: str) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == str(retry_after)
    body = response.get_json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert (body["status"], body["error"], body["path"]) == (429, "Too Many Requests", path)
    assert body["message"] == message


def test_the_31st_upload_in_a_minute_is_429_until_the_next_minute(client: FlaskClient) -> None:
    # Counted at the gateway, before authentication: unauthenticated calls count too.
    assert set(calls(client, "POST", UPLOAD, 30, json={})) == {401}
    assert_429(
        client.post(UPLOAD, json={}),
        f"{UPLOAD_MESSAGE}; retry in 60 seconds",
        60,
        "/services/invoice/upload",
    )
    advance(client, 45)
    assert_429(
        client.post(UPLOAD, json={}), f"{UPLOAD_MESSAGE}; retry in 15 seconds", 15, "/services/invoice/upload"
    )
    advance(client, 15)
    assert client.post(UPLOAD, json={}).status_code == 401


def test_upload_signed_has_its_own_allowance(client: FlaskClient) -> None:
    calls(client, "POST", UPLOAD, 30, json={})
    assert set(calls(client, "POST", UPLOAD_SIGNED, 30, json={})) == {401}
    assert_429(
        client.post(UPLOAD_SIGNED, json={}),
        "Too many requests: at most 30 requests per minute per IP to send invoices that have already been "
        "signed (Upload invoice signed); retry in 60 seconds",
        60,
        "/services/invoice/uploadSigned",
    )


def test_find_received_allows_12_calls_a_minute_for_every_method_of_the_chapter(client: FlaskClient) -> None:
    tok = token(client)
    advance(client, 20)
    statuses = calls(client, "GET", FIND_IN, 6, headers=bearer(tok))
    statuses += calls(client, "GET", "/aruba/services/invoice/in/12345", 6, headers=bearer(tok))
    assert 429 not in statuses
    assert_429(
        client.get(FIND_IN, headers=bearer(tok)),
        "Too many requests: at most 12 requests per minute per IP to find received invoices "
        "(Find Invoices Received); retry in 40 seconds",
        40,
        "/services/invoice/in/getInvoiceWithUnsignedFile",
    )
    # The other chapters keep their own allowance; sendEsitoCommittente (a POST) is no find.
    for url in (FIND_OUT, NOTIFICATIONS_IN, NOTIFICATIONS_OUT):
        assert client.get(url, headers=bearer(tok)).status_code != 429
    esito = client.post("/aruba/services/invoice/in/sendEsitoCommittente", json={}, headers=bearer(tok))
    assert esito.status_code == 400


@pytest.mark.parametrize(
    ("url", "description"),
    [
        (FIND_OUT, "find sent invoices (Find Invoices Sent)"),
        (
            NOTIFICATIONS_IN,
            "find notifications for received invoices (Find Notifications on Invoices Received)",
        ),
        (NOTIFICATIONS_OUT, "find notifications for sent invoices (Find Notifications on Invoices Sent)"),
    ],
)
def test_the_other_find_chapters_allow_12_calls_a_minute(
    client: FlaskClient, url: str, description: str
) -> None:
    assert 429 not in calls(client, "GET", url, 12)
    response = client.get(url)
    assert response.status_code == 429
    assert response.get_json()["message"] == (
        f"Too many requests: at most 12 requests per minute per IP to {description}; retry in 60 seconds"
    )


def test_the_limits_are_per_client_ip(client: FlaskClient) -> None:
    calls(client, "POST", UPLOAD, 30, json={})
    assert client.post(UPLOAD, json={}).status_code == 429
    elsewhere = client.post(UPLOAD, json={}, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert elsewhere.status_code == 401
    # X-Forwarded-For is not trusted: the connection's address counts.
    spoofed = client.post(UPLOAD, json={}, headers={"X-Forwarded-For": "10.0.0.8"})
    assert spoofed.status_code == 429


def test_counters_live_in_the_database_and_a_reset_clears_them(client: FlaskClient, sandbox: Sandbox) -> None:
    calls(client, "GET", FIND_OUT, 3)
    with sandbox.transaction() as session:
        rows = session.execute(select(ArubaSlaWindow)).scalars().all()
        assert [(r.client_ip, r.category, r.calls) for r in rows] == [("127.0.0.1", "invoice-out", 3)]
        assert rows[0].window_start.isoformat() == "2026-03-02T08:00:00+00:00"
    calls(client, "POST", UPLOAD, 30, json={})
    assert client.post("/_sandbox/reset").status_code == 200
    assert client.post(UPLOAD, json={}).status_code == 401


def test_a_request_larger_than_a_5_mb_file_is_413_before_authentication(client: FlaskClient) -> None:
    too_big = b'{"dataFile": "' + b"A" * MAX_UPLOAD_BODY + b'"}'
    for url, path in (
        (UPLOAD, "/services/invoice/upload"),
        (UPLOAD_SIGNED, "/services/invoice/uploadSigned"),
    ):
        response = client.post(url, data=too_big, content_type="application/json")
        assert response.status_code == 413
        body = response.get_json()
        assert (body["status"], body["error"], body["path"]) == (413, "Request Entity Too Large", path)
        assert body["message"] == (
            f"Maximum upload size exceeded: the request body is {len(too_big)} bytes, more than a file of "
            f"5 MB in base64 can be ({MAX_UPLOAD_BODY} bytes)"
        )
    fits = b'{"dataFile": "' + b"A" * (MAX_UPLOAD_BODY - 20) + b'"}'
    assert client.post(UPLOAD, data=fits, content_type="application/json").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "category"),
    [
        ("POST", "/aruba/services/invoice/upload", "upload"),
        ("POST", "/aruba/services/invoice/uploadSigned", "uploadSigned"),
        ("GET", "/aruba/services/invoice/out/findByUsername", "invoice-out"),
        ("HEAD", "/aruba/services/invoice/out/42", "invoice-out"),
        ("GET", "/aruba/services/invoice/in/pdd", "invoice-in"),
        ("GET", "/aruba/services/notification/out/getByInvoiceFilename", "notification-out"),
        ("GET", "/aruba/services/notification/in/7", "notification-in"),
        ("POST", "/aruba/services/invoice/in/sendEsitoCommittente", None),
        ("GET", "/aruba/services/invoice/upload", None),
        ("POST", "/aruba/services/sdisimulator/invoiceIn", None),
        ("POST", "/aruba/auth/signin", None),
        ("GET", "/aruba/auth/userInfo", None),
    ],
)
def test_the_sla_categories(method: str, path: str, category: str | None) -> None:
    limit = limit_for(method, path)
    assert (limit.category if limit else None) == category


class TestSwitchedOff:
    @pytest.fixture
    def config(self) -> Any:
        return make_config(aruba_sla=False)

    def test_no_429_and_no_413(self, client: FlaskClient, sandbox: Sandbox) -> None:
        assert sandbox.config.aruba_sla is False
        assert 429 not in calls(client, "POST", UPLOAD, 40, json={})
        assert 429 not in calls(client, "GET", FIND_IN, 15)
        too_big = b'{"dataFile": "' + b"A" * MAX_UPLOAD_BODY + b'"}'
        assert client.post(UPLOAD, data=too_big, content_type="application/json").status_code == 401
        with sandbox.transaction() as session:
            assert session.execute(select(ArubaSlaWindow)).first() is None
