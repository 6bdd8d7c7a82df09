"""Each effect, in-process and against real servers (werkzeug's and waitress, the one
``fattura-sandbox serve`` uses): the provider's own error body, 429 + Retry-After, latency, a
dropped connection, a truncated body; a faulted request is still journalled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask, g
from flask.testing import FlaskClient
from waitress.server import create_server
from werkzeug.serving import make_server

from emulator.faults.effects import DroppedConnection
from tests.faults.helpers import ET_CREDENTIALS, ET_NEW, ET_TOKEN, add_rule, bearer, et_token

TIMEOUT = 5


def _werkzeug(app: Flask) -> tuple[str, Callable[[], None]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)

    return f"http://127.0.0.1:{server.server_port}", stop


def _waitress(app: Flask) -> tuple[str, Callable[[], None]]:
    server: Any = create_server(app, host="127.0.0.1", port=0, threads=2, asyncore_loop_timeout=0.05)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def stop() -> None:
        def close_all() -> None:
            for channel in list(server._map.values()):
                channel.close()

        # The loop ends once no channel is left; they are closed by the loop's own thread.
        server.trigger.pull_trigger(close_all)
        thread.join(TIMEOUT)
        server.task_dispatcher.shutdown()

    return f"http://127.0.0.1:{server.effective_port}", stop


@pytest.fixture(params=["werkzeug", "waitress"])
def base_url(request: pytest.FixtureRequest, app: Flask) -> Iterator[str]:
    start = _werkzeug if request.param == "werkzeug" else _waitress
    url, stop = start(app)
    try:
        yield url
    finally:
        stop()


def _journal(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/journal")
    assert response.status_code == 200
    entries: list[dict[str, Any]] = response.get_json()["entries"]
    return entries


# -- error and throttle: the provider's own error format ---------------------------------------------


@pytest.mark.parametrize(
    ("provider", "path"),
    [
        ("easytracking", "/easytracking/nowhere"),
        ("aruba", "/aruba/nowhere"),
        ("acube", "/acube/nowhere"),
        ("openapi", "/openapi/nowhere"),
    ],
)
def test_error_has_the_body_of_the_providers_real_errors(
    client: FlaskClient, provider: str, path: str
) -> None:
    real = client.get(path)
    assert real.status_code == 404
    rule = add_rule(client, provider=provider, effect={"type": "error", "status": 404})
    injected = client.get(path)
    assert injected.status_code == 404
    assert injected.content_type == real.content_type
    assert set(injected.get_json()) == set(real.get_json())
    assert f"fault injected by fattura-sandbox, rule {rule['id']}" in injected.get_data(as_text=True)


def test_error_bodies(client: FlaskClient) -> None:
    add_rule(client, provider="easytracking", effect={"type": "error", "status": 503}, count=1)
    add_rule(client, provider="easytracking", effect={"type": "error", "status": 500, "message": "Boom"})
    first = client.get(ET_NEW)
    assert (first.status_code, first.get_json()) == (
        503,
        {"message": "Service Unavailable (fault injected by fattura-sandbox, rule 1)"},
    )
    second = client.get(ET_NEW)
    assert (second.status_code, second.get_json()) == (500, {"message": "Boom"})


def test_throttle_is_429_with_retry_after(client: FlaskClient) -> None:
    add_rule(client, provider="aruba", effect={"type": "throttle", "retry_after": 7})
    response = client.get("/aruba/services/invoice/out/findByUsername")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.get_json() == {
        "timestamp": "2026-03-02T08:00:00.000+0000",
        "status": 429,
        "error": "Too Many Requests",
        "message": "Too many requests: retry after 7 seconds (fault injected by fattura-sandbox, rule 1)",
        "path": "/services/invoice/out/findByUsername",
    }


def test_error_and_throttle_over_a_real_server(client: FlaskClient, base_url: str) -> None:
    add_rule(client, provider="easytracking", method="GET", effect={"type": "error", "status": 502}, count=1)
    add_rule(client, provider="easytracking", method="GET", effect={"type": "throttle", "retry_after": 3})
    first = requests.get(base_url + ET_NEW, timeout=TIMEOUT)
    assert (first.status_code, first.json()) == (
        502,
        {"message": "Bad Gateway (fault injected by fattura-sandbox, rule 1)"},
    )
    second = requests.get(base_url + ET_NEW, timeout=TIMEOUT)
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "3"


def test_faulted_requests_are_journalled(client: FlaskClient) -> None:
    add_rule(client, provider="easytracking", effect={"type": "error", "status": 503}, count=1)
    assert client.get(ET_NEW).status_code == 503
    assert client.get(ET_NEW).status_code == 401
    entries = _journal(client)
    assert [(e["path"], e["status"]) for e in entries] == [
        ("/api/v4/InvoiceNotifications/new-active-notifications", 503),
        ("/api/v4/InvoiceNotifications/new-active-notifications", 401),
    ]


def test_the_rule_that_applied_is_in_flask_g(app: Flask) -> None:
    seen: list[tuple[object, object]] = []

    @app.after_request
    def _spy(response: Any) -> Any:
        seen.append((g.get("fault"), g.get("fault_effect")))
        return response

    client = app.test_client()
    add_rule(client, provider="easytracking", effect={"type": "error", "status": 503}, count=1)
    client.get(ET_NEW)
    client.get(ET_NEW)
    assert seen[-2:] == [(1, "error"), (None, None)]


# -- latency ------------------------------------------------------------------------------------------


def test_latency_delays_then_serves_normally(client: FlaskClient, base_url: str) -> None:
    token = et_token(client)
    add_rule(client, provider="easytracking", effect={"type": "latency", "ms": 150}, count=1)
    started = time.perf_counter()
    slow = requests.get(base_url + ET_NEW, headers=bearer(token), timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    assert slow.status_code == 200
    assert slow.json() == {"notifications": [], "total": 0}
    assert elapsed >= 0.15


# -- drop ---------------------------------------------------------------------------------------------


def test_drop_closes_the_connection_without_a_response(client: FlaskClient, base_url: str) -> None:
    add_rule(client, provider="easytracking", effect={"type": "drop"}, count=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(base_url + ET_NEW, timeout=TIMEOUT)
    # The server goes on serving; the rule is spent.
    after = requests.get(base_url + ET_NEW, timeout=TIMEOUT)
    assert after.status_code == 401
    assert after.json()["message"]


def test_drop_in_process_raises_a_connection_error(client: FlaskClient) -> None:
    """Flask's test client has no connection to close: the call raises ConnectionAbortedError."""
    add_rule(client, provider="easytracking", effect={"type": "drop"})
    with pytest.raises(DroppedConnection, match="connection dropped by fattura-sandbox fault rule 1"):
        client.get(ET_NEW)
    assert isinstance(DroppedConnection("x"), ConnectionAbortedError)
    (entry,) = _journal(client)
    assert entry["status"] == 444  # the journal's mark of a dropped connection


# -- truncate -----------------------------------------------------------------------------------------


def test_truncate_sends_part_of_the_body_then_closes(client: FlaskClient, base_url: str) -> None:
    add_rule(client, provider="easytracking", method="POST", effect={"type": "truncate", "fraction": 0.5})
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        requests.post(base_url + ET_TOKEN, json=ET_CREDENTIALS, timeout=TIMEOUT)
    # Headers arrive with the whole body's length; reading the body fails part way.
    response = requests.post(base_url + ET_TOKEN, json=ET_CREDENTIALS, timeout=TIMEOUT, stream=True)
    assert response.status_code == 200
    length = int(response.headers["Content-Length"])
    received = bytearray()
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        for chunk in response.iter_content(1):
            received += chunk
    assert len(received) == length // 2


def test_truncate_in_process(client: FlaskClient) -> None:
    """The test client sees the status, the whole body's Content-Length and only part of the body."""
    add_rule(client, provider="easytracking", method="POST", effect={"type": "truncate", "fraction": 0.25})
    response = client.post(ET_TOKEN, json=ET_CREDENTIALS)
    assert response.status_code == 200
    length = int(response.headers["Content-Length"])
    assert length > 8
    assert len(response.get_data()) == int(length * 0.25)
    assert response.get_data() == b'"' + response.get_data()[1:]
