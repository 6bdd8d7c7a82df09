"""The provider-neutral callback outbox: attempts as tasks, retries in virtual time, real HTTP delivery."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from emulator.core import webhooks
from emulator.core.webhooks import RetryPolicy
from emulator.state import Sandbox

HEADERS = {"Content-Type": "application/json; charset=UTF-8", "Authorization": "static-key"}
HOURS_3 = 3 * 3600


# -- test doubles shared with the provider tests --------------------------------------------------


@dataclass
class Call:
    url: str
    headers: dict[str, str]
    body: bytes
    timeout: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def method(self) -> str:
        return self.url.rsplit("/", 1)[-1].split("?", 1)[0]


@dataclass
class Recorder:
    """A transport that records every POST and answers what ``respond`` says (200 by default)."""

    respond: Callable[[Call], int] = lambda call: 200
    calls: list[Call] = field(default_factory=list)

    def __call__(self, url: str, *, headers: Any, body: bytes, timeout: float) -> int:
        call = Call(url, dict(headers), body, timeout)
        self.calls.append(call)
        return self.respond(call)


def outcomes(*results: int | Exception) -> Callable[[Call], int]:
    """Answer the given results in turn, then 200."""
    pending = list(results)

    def respond(call: Call) -> int:
        result = pending.pop(0) if pending else 200
        if isinstance(result, Exception):
            raise result
        return result

    return respond


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) is expected


@contextmanager
def http_endpoint(
    answer: Callable[[Received], tuple[int, dict[str, str]]] = lambda r: (200, {}),
) -> Iterator[tuple[str, list[Received]]]:
    """A real HTTP server on localhost (a thread) that records what it receives; yields its base URL."""
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Received("POST", self.path, dict(self.headers.items()), self.rfile.read(length))
            received.append(request)
            status, headers = answer(request)
            payload = b'{"result":"ok"}'
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


# -- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    transport = Recorder()
    sandbox.webhook_transport = transport  # type: ignore[attr-defined]
    return transport


def enqueue(
    sandbox: Sandbox,
    *,
    url: str = "http://hooks.example/aruba/ping",
    body: dict[str, Any] | None = None,
    delay: int = 0,
    policy: RetryPolicy | None = None,
) -> int:
    with sandbox.transaction() as session:
        delivery = webhooks.enqueue(
            session,
            sandbox.tasks,
            provider="aruba",
            tenant="sandbox",
            account_id=None,
            event="ping",
            url=url,
            headers=HEADERS,
            body=body if body is not None else {"zeta": 1, "alpha": "è"},
            at=sandbox.clock.now() + timedelta(seconds=delay),
            policy=policy,
        )
        return delivery.id


def view(sandbox: Sandbox, delivery_id: int) -> dict[str, Any]:
    with sandbox.transaction() as session:
        delivery = webhooks.find_delivery(session, delivery_id)
        assert delivery is not None
        return webhooks.delivery_view(delivery)


def stamps(start: datetime, *offsets: int) -> list[str]:
    return [(start + timedelta(seconds=offset)).isoformat() for offset in offsets]


# -- delivery and retries --------------------------------------------------------------------------


def test_a_delivery_is_posted_when_due_with_its_headers_and_body(
    sandbox: Sandbox, recorder: Recorder
) -> None:
    start = sandbox.clock.now()
    delivery_id = enqueue(sandbox, delay=60)
    sandbox.process_due()
    assert recorder.calls == []
    assert view(sandbox, delivery_id)["next_attempt_at"] == stamps(start, 60)[0]
    sandbox.advance_clock(60)
    [call] = recorder.calls
    assert call.url == "http://hooks.example/aruba/ping"
    assert call.headers == HEADERS
    # Compact UTF-8 JSON, keys in the order the provider gave them.
    assert call.body == '{"zeta":1,"alpha":"è"}'.encode()
    assert call.timeout == webhooks.TIMEOUT_SECONDS == 5.0
    shown = view(sandbox, delivery_id)
    assert shown["status"] == "delivered" and shown["next_attempt_at"] is None
    assert [(a["at"], a["status_code"], a["error"]) for a in shown["attempts"]] == [
        (stamps(start, 60)[0], 200, None)
    ]
    assert isinstance(shown["attempts"][0]["duration_ms"], int)
    assert list(shown) == [
        "id", "provider", "tenant", "event", "url", "status", "created_at", "attempts",
        "next_attempt_at", "headers", "body",
    ]  # fmt: skip
    assert shown["body"] == {"zeta": 1, "alpha": "è"} and list(shown["body"]) == ["zeta", "alpha"]


def test_failures_are_retried_three_virtual_hours_apart_until_a_2xx(
    sandbox: Sandbox, recorder: Recorder
) -> None:
    recorder.respond = outcomes(500, 302, ConnectionRefusedError(111, "Connection refused"))
    start = sandbox.clock.now()
    delivery_id = enqueue(sandbox)
    sandbox.advance_clock(30 * 3600)
    assert len(recorder.calls) == 4
    shown = view(sandbox, delivery_id)
    assert shown["status"] == "delivered" and shown["next_attempt_at"] is None
    assert [a["at"] for a in shown["attempts"]] == stamps(start, 0, HOURS_3, 2 * HOURS_3, 3 * HOURS_3)
    assert [a["status_code"] for a in shown["attempts"]] == [500, 302, None, 200]
    assert [a["error"] for a in shown["attempts"]] == [
        None,
        None,
        "ConnectionRefusedError: [Errno 111] Connection refused",
        None,
    ]
    assert all(call.body == recorder.calls[0].body for call in recorder.calls)


def test_a_retry_waits_for_virtual_time(sandbox: Sandbox, recorder: Recorder) -> None:
    recorder.respond = outcomes(503)
    start = sandbox.clock.now()
    delivery_id = enqueue(sandbox)
    sandbox.process_due()
    assert len(recorder.calls) == 1
    shown = view(sandbox, delivery_id)
    assert shown["status"] == "pending" and shown["next_attempt_at"] == stamps(start, HOURS_3)[0]
    sandbox.advance_clock(HOURS_3 - 1)
    assert len(recorder.calls) == 1
    sandbox.advance_clock(1)
    assert len(recorder.calls) == 2
    assert view(sandbox, delivery_id)["status"] == "delivered"


def test_a_delivery_that_never_succeeds_fails_after_ten_retries(sandbox: Sandbox, recorder: Recorder) -> None:
    recorder.respond = lambda call: 500
    start = sandbox.clock.now()
    delivery_id = enqueue(sandbox)
    sandbox.advance_clock(29 * 3600)
    assert len(recorder.calls) == 10
    assert view(sandbox, delivery_id)["status"] == "pending"
    sandbox.advance_clock(1 * 3600)
    assert len(recorder.calls) == 11
    shown = view(sandbox, delivery_id)
    assert shown["status"] == "failed" and shown["next_attempt_at"] is None
    assert [a["at"] for a in shown["attempts"]] == stamps(start, *(k * HOURS_3 for k in range(11)))
    sandbox.advance_clock(30 * 86400)
    assert len(recorder.calls) == 11


def test_the_retry_policy_is_data_per_provider(sandbox: Sandbox, recorder: Recorder) -> None:
    assert webhooks.RETRY_POLICIES["aruba"] == RetryPolicy(retries=10, interval=timedelta(hours=3))
    recorder.respond = lambda call: 400
    start = sandbox.clock.now()
    delivery_id = enqueue(sandbox, policy=RetryPolicy(retries=1, interval=timedelta(seconds=90)))
    sandbox.advance_clock(3600)
    shown = view(sandbox, delivery_id)
    assert shown["status"] == "failed"
    assert [(a["at"], a["status_code"]) for a in shown["attempts"]] == list(
        zip(stamps(start, 0, 90), [400, 400], strict=True)
    )


def test_a_transport_error_of_any_kind_is_a_failed_attempt(sandbox: Sandbox, recorder: Recorder) -> None:
    def explode(call: Call) -> int:
        raise RuntimeError("endpoint exploded")

    recorder.respond = explode
    delivery_id = enqueue(sandbox)
    sandbox.process_due()
    shown = view(sandbox, delivery_id)
    assert shown["status"] == "pending"
    assert shown["attempts"][0]["status_code"] is None
    assert shown["attempts"][0]["error"] == "RuntimeError: endpoint exploded"


# -- the store's lock and reset --------------------------------------------------------------------


def test_the_post_happens_outside_the_store_lock(sandbox: Sandbox, recorder: Recorder) -> None:
    """Another thread can use the store while the endpoint handles the delivery (no deadlock)."""
    seen: list[str] = []

    def call_back(call: Call) -> int:
        def other_client() -> None:
            with sandbox.transaction() as session:
                delivery = webhooks.find_deliveries(session)[0]
                seen.append(delivery.status)

        thread = threading.Thread(target=other_client)
        thread.start()
        thread.join(timeout=5)
        return 200 if not thread.is_alive() else 500

    recorder.respond = call_back
    delivery_id = enqueue(sandbox)
    sandbox.process_due()
    assert seen == ["pending"]
    assert view(sandbox, delivery_id)["status"] == "delivered"


def test_a_reset_during_the_post_is_harmless(sandbox: Sandbox, recorder: Recorder) -> None:
    def reset(call: Call) -> int:
        sandbox.reset()
        return 500

    recorder.respond = reset
    enqueue(sandbox)
    sandbox.process_due()
    sandbox.advance_clock(30 * 3600)
    assert len(recorder.calls) == 1
    with sandbox.transaction() as session:
        assert webhooks.find_deliveries(session) == []


def test_reset_wipes_deliveries_and_their_pending_attempts(sandbox: Sandbox, recorder: Recorder) -> None:
    enqueue(sandbox, delay=60)
    sandbox.reset()
    sandbox.advance_clock(3600)
    assert recorder.calls == []
    with sandbox.transaction() as session:
        assert webhooks.find_deliveries(session) == []


def test_the_sandbox_installs_the_handler_once(sandbox: Sandbox, recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="already registered"):
        webhooks.install(sandbox)
    enqueue(sandbox)
    sandbox.process_due()
    assert len(recorder.calls) == 1


def test_ids_out_of_range_find_nothing(sandbox: Sandbox) -> None:
    with sandbox.transaction() as session:
        assert webhooks.find_delivery(session, 0) is None
        assert webhooks.find_delivery(session, 2**63) is None
        assert webhooks.find_delivery(session, 2**63 - 1) is None


# -- the default transport, over real HTTP ---------------------------------------------------------


def test_real_delivery_over_http_with_the_default_transport(sandbox: Sandbox) -> None:
    with http_endpoint() as (base, received):
        delivery_id = enqueue(sandbox, url=f"{base}/hooks/ping?tenant=sandbox")
        sandbox.process_due()
    [request] = received
    assert (request.method, request.path) == ("POST", "/hooks/ping?tenant=sandbox")
    assert request.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert request.headers["Authorization"] == "static-key"
    assert request.headers["User-Agent"] == "fattura-sandbox-callbacks"
    assert request.body == '{"zeta":1,"alpha":"è"}'.encode()
    shown = view(sandbox, delivery_id)
    assert shown["status"] == "delivered"
    assert shown["attempts"][0]["status_code"] == 200


def test_redirects_are_not_followed(sandbox: Sandbox) -> None:
    with http_endpoint(lambda r: (302, {"Location": "/elsewhere"})) as (base, received):
        delivery_id = enqueue(sandbox, url=f"{base}/hooks/ping")
        sandbox.process_due()
    assert [r.path for r in received] == ["/hooks/ping"]
    shown = view(sandbox, delivery_id)
    assert shown["status"] == "pending"
    assert shown["attempts"][0]["status_code"] == 302


def test_a_refused_connection_is_recorded_as_an_error(sandbox: Sandbox) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery_id = enqueue(sandbox, url=f"http://127.0.0.1:{port}/hooks")
    sandbox.process_due()
    attempt = view(sandbox, delivery_id)["attempts"][0]
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("connection error: ")
    assert "refused" in attempt["error"].lower()


def test_an_endpoint_that_does_not_answer_in_time_is_a_timeout(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.2)

    def slow(request: Received) -> tuple[int, dict[str, str]]:
        time.sleep(0.6)
        return 200, {}

    with http_endpoint(slow) as (base, _received):
        delivery_id = enqueue(sandbox, url=f"{base}/hooks")
        sandbox.process_due()
    attempt = view(sandbox, delivery_id)["attempts"][0]
    assert attempt["status_code"] is None
    assert attempt["error"] == "timeout: no answer within the time limit"
    assert view(sandbox, delivery_id)["status"] == "pending"


# -- settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:9000/aruba",
        "https://erp.example.com/callbacks",
        "HTTPS://ERP.EXAMPLE.COM",
        "http://127.0.0.1:8081/a/b/?x=1",
        "http://[::1]:8080/hooks",
    ],
)
def test_callback_urls_that_are_accepted(url: str) -> None:
    assert webhooks.check_callback_url(url) == url


EXAMPLE = "like https://erp.example.com/callbacks or http://localhost:9000/aruba"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, f"callback_url must be an http or https URL, {EXAMPLE}"),
        (42, f"callback_url must be an http or https URL, {EXAMPLE}"),
        ("  ", f"callback_url must be an http or https URL, {EXAMPLE}"),
        ("ftp://example.com/x", f"callback_url must be an http or https URL with a host, {EXAMPLE}"),
        ("localhost:9000", f"callback_url must be an http or https URL with a host, {EXAMPLE}"),
        ("http:///path", f"callback_url must be an http or https URL with a host, {EXAMPLE}"),
        ("http://host:99999/", f"callback_url is not a valid URL, {EXAMPLE}"),
        ("http://host:port/", f"callback_url is not a valid URL, {EXAMPLE}"),
        ("http://[::1/", f"callback_url is not a valid URL, {EXAMPLE}"),
        ("http://host:0/", "callback_url must not use port 0"),
        ("http://a b/", "callback_url must not contain spaces or control characters"),
        ("http://host/\n", "callback_url must not contain spaces or control characters"),
        (
            "http://user:pw@host/",
            "callback_url must not contain credentials: register callback_api_key instead",
        ),
        ("http://host/#top", "callback_url must not have a fragment (#...)"),
        ("http://host/" + "a" * 2000, "callback_url is longer than 2000 characters"),
    ],
)
def test_callback_urls_that_are_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        webhooks.check_callback_url(value)
    assert str(raised.value) == message


API_KEY_MESSAGE = (
    "callback_api_key must be 1 to 512 printable ASCII characters without leading or trailing spaces "
    "(it is sent as the Authorization header)"
)


@pytest.mark.parametrize(
    "value", ["", " key", "key ", "chiave\u00e8", "a\r\nX-Injected: 1", "k" * 513, 7, None]
)
def test_api_keys_that_are_refused(value: object) -> None:
    with pytest.raises(ValueError) as raised:
        webhooks.check_api_key(value)
    assert str(raised.value) == API_KEY_MESSAGE


def test_api_keys_that_are_accepted() -> None:
    for value in ["k", "Bearer abc.def", "x" * 512, "!#$%&'()*+,-./:;<=>?@[]^_`{|}~"]:
        assert webhooks.check_api_key(value) == value


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://h/hooks", "http://h/hooks/createInvoice"),
        ("http://h/hooks/", "http://h/hooks/createInvoice"),
        ("http://h", "http://h/createInvoice"),
        ("http://h:8080/a/b/?t=1&u=2", "http://h:8080/a/b/createInvoice?t=1&u=2"),
    ],
)
def test_a_method_is_appended_to_the_path(base: str, expected: str) -> None:
    assert webhooks.join_url(base, "createInvoice") == expected
