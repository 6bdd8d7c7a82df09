"""The outbox of HTTP callbacks providers make to their clients (Aruba §13, A-Cube; Openapi.it later).

A delivery is one JSON POST a provider owes one account's endpoint: provider, account, event name,
target URL, headers and body, fixed when the provider enqueues it. Each attempt is a task of
``sandbox.tasks`` (kind ``webhook.deliver``) due at a virtual instant. The task's handler records the
attempt (at the task's due instant) inside the store's transaction and hands back an ``AfterCommit``
that makes the POST outside the store's lock, so a client that calls the sandbox back while it
handles the delivery is served. The outcome is recorded in a new transaction: a 2xx answer delivers
it; anything else (another status, a refused connection, a timeout) schedules the next attempt at the
failed attempt's instant plus the provider's interval, until the provider's retries are spent and
the delivery is ``failed``. Retry policies are data per provider (``RETRY_POLICIES``), copied onto
the delivery when it is enqueued. A policy's interval is fixed unless it has a ``growth`` factor:
then each wait is the previous one times the factor (whole seconds, rounded down), up to
``max_interval`` when one is given.

A provider that must act when a delivery succeeds (A-Cube marks a received invoice downloaded)
registers a callback for its provider and event with ``on_delivered``: it runs inside the
transaction that records the 2xx attempt, with the attempt's virtual instant.

The HTTP client is injectable: the sandbox's ``webhook_transport`` (``post_json`` unless replaced;
tests record deliveries or simulate failing endpoints with it).

Limitations:
- A delivery keeps the URL and headers it was created with: changing or removing an account's
  callback settings affects later deliveries only, not the retries of earlier ones.
- An attempt whose outcome never gets recorded (the process stopped during the POST) stays without
  outcome and the delivery stays ``pending`` with no next attempt.
- ``duration_ms`` is measured on the wall clock: it is how long the client's endpoint took, not
  virtual time. Virtual time does not move while the POST is made.
- Redirects are not followed (a 3xx is a failed attempt) and proxy settings of the environment are
  ignored: callbacks go straight to the registered host, which in a sandbox is usually local.
- The delivery's schedule columns (``interval_growth``, ``max_interval_seconds``) are created with the
  table: a database file created before they existed must be reset (there are no migrations).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode, urlsplit

from sqlalchemy import Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from emulator.core.store import Base, UTCDateTime
from emulator.core.tasks import AfterCommit, ScheduledTask, TaskQueue

if TYPE_CHECKING:
    from emulator.core.tenancy import Account

TASK_KIND = "webhook.deliver"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
# Wall seconds the client's endpoint has to answer one attempt.
TIMEOUT_SECONDS = 5.0
MAX_URL_LENGTH = 2000
MAX_API_KEY_LENGTH = 512
# SQLite integers are signed 64-bit: a larger id cannot exist (and must not reach the database).
MAX_ID = 2**63 - 1
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
# No retry waits longer than this (a growing interval stays a representable instant).
MAX_RETRY_DELAY_SECONDS = 366 * 24 * 3600
USER_AGENT = "fattura-sandbox-callbacks"


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failed delivery is tried again, and how far apart (virtual time).

    The first retry comes ``interval`` after the first attempt; each later wait is the previous one
    times ``growth`` (1: a fixed interval), never more than ``max_interval`` when one is given.
    """

    retries: int
    interval: timedelta
    growth: float = 1.0
    max_interval: timedelta | None = None

    def __post_init__(self) -> None:
        if self.retries < 0 or self.interval <= timedelta(0) or self.growth < 1:
            raise ValueError("a retry policy needs retries >= 0, a positive interval and growth >= 1")

    @property
    def attempts(self) -> int:
        return 1 + self.retries

    def delay_after(self, failed_attempts: int) -> timedelta:
        """The wait before the next attempt once ``failed_attempts`` (>= 1) attempts have failed."""
        cap = int(self.max_interval.total_seconds()) if self.max_interval is not None else None
        return timedelta(
            seconds=retry_delay_seconds(int(self.interval.total_seconds()), self.growth, cap, failed_attempts)
        )


def retry_delay_seconds(interval: int, growth: float, cap: int | None, failed_attempts: int) -> int:
    """``interval * growth ** (failed_attempts - 1)`` in whole seconds, at most ``cap`` (and a year)."""
    limit = min(cap, MAX_RETRY_DELAY_SECONDS) if cap is not None else MAX_RETRY_DELAY_SECONDS
    delay = float(interval)
    for _ in range(max(failed_attempts - 1, 0)):
        if delay >= limit:
            break
        delay *= growth
    return min(int(delay), limit)


# Per provider: a provider that makes callbacks adds its line (accounts of the providers listed here
# may register a callback URL).
RETRY_POLICIES: dict[str, RetryPolicy] = {
    # §13: "If a callback is not successful, 10 more attempts will be made at 3-hour intervals".
    "aruba": RetryPolicy(retries=10, interval=timedelta(hours=3)),
    # A-Cube documents 15 attempts every 300 s "with back-off": 15 attempts in all (the first and 14
    # retries). The back-off chosen: the first retry 300 s after the first attempt, each wait then
    # doubles up to one hour (300, 600, 1200, 2400, then 3600 s): the 15th attempt comes 11 h 15 min
    # after the first.
    "acube": RetryPolicy(
        retries=14, interval=timedelta(seconds=300), growth=2.0, max_interval=timedelta(hours=1)
    ),
}

# (provider, event) -> what to do, in the recording transaction, when a delivery gets a 2xx answer.
OnDelivered = Callable[[Session, "WebhookDelivery", datetime], None]


def on_delivered(host: WebhookHost, provider: str, event: str, callback: OnDelivered) -> None:
    """Run ``callback(session, delivery, at)`` when a delivery of this provider and event succeeds.

    ``at`` is the virtual instant of the successful attempt. One callback per provider and event
    and sandbox: registering again replaces it.
    """
    host.webhook_on_delivered[(provider, event)] = callback


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default=PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_attempts: Mapped[int] = mapped_column(Integer)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    interval_growth: Mapped[float] = mapped_column(Float, default=1.0)
    max_interval_seconds: Mapped[int | None] = mapped_column(Integer)

    attempts: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.number", cascade="all, delete-orphan"
    )


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Outcome, recorded after the POST: the HTTP status, or the error that prevented one.
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempts")


# -- the HTTP client -----------------------------------------------------------------------------


class Transport(Protocol):
    """POST ``body`` to ``url``; the HTTP status of the answer, or an exception when there is none."""

    def __call__(self, url: str, *, headers: Mapping[str, str], body: bytes, timeout: float) -> int: ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post_json(url: str, *, headers: Mapping[str, str], body: bytes, timeout: float) -> int:
    """The default transport: the standard library's HTTP client, no proxy, no redirects."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"User-Agent": USER_AGENT, **headers}
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(64 * 1024)
            return int(response.status)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code)


def describe_error(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return "timeout: no answer within the time limit"
        return f"connection error: {reason}"
    if isinstance(error, TimeoutError):
        return "timeout: no answer within the time limit"
    return f"{type(error).__name__}: {error}"


# -- registration --------------------------------------------------------------------------------


class WebhookHost(Protocol):
    """What the outbox needs of the sandbox."""

    @property
    def tasks(self) -> TaskQueue: ...

    def transaction(self) -> AbstractContextManager[Session]: ...

    webhook_transport: Transport
    webhook_on_delivered: dict[tuple[str, str], OnDelivered]


def install(host: WebhookHost) -> None:
    """Register the delivery task's handler (the sandbox does, once)."""
    host.tasks.register(TASK_KIND, partial(_attempt, host))


def transport_of(host: WebhookHost) -> Transport:
    return host.webhook_transport


def enqueue(
    session: Session,
    tasks: TaskQueue,
    *,
    provider: str,
    tenant: str,
    account_id: int | None,
    event: str,
    url: str,
    headers: Mapping[str, str],
    body: dict[str, Any],
    at: datetime,
    policy: RetryPolicy | None = None,
) -> WebhookDelivery:
    """A delivery whose first attempt is due at ``at`` (the virtual instant of what it reports)."""
    policy = policy or RETRY_POLICIES[provider]
    delivery = WebhookDelivery(
        provider=provider,
        tenant=tenant,
        account_id=account_id,
        event=event,
        url=url,
        headers=dict(headers),
        body=body,
        status=PENDING,
        created_at=at,
        next_attempt_at=at,
        max_attempts=policy.attempts,
        interval_seconds=int(policy.interval.total_seconds()),
        interval_growth=policy.growth,
        max_interval_seconds=(
            int(policy.max_interval.total_seconds()) if policy.max_interval is not None else None
        ),
    )
    session.add(delivery)
    session.flush()
    tasks.schedule(session, TASK_KIND, at, {"delivery": delivery.id})
    return delivery


ACCOUNT_HEADERS = {"Content-Type": JSON_CONTENT_TYPE, "Accept": "application/json"}


def enqueue_to_account(
    session: Session, tasks: TaskQueue, account: Account, event: str, body: dict[str, Any], at: datetime
) -> WebhookDelivery | None:
    """A JSON delivery to the callback URL the account registered, at ``<callback_url>/<event>``.

    ``callback_url`` / ``callback_api_key`` are the account's settings (accounts file or
    ``PATCH /_sandbox/accounts/<provider>/<tenant>``); the key, when set, is sent as the
    ``Authorization`` header exactly as registered. None when the account registered no URL.
    """
    url = account.profile.get("callback_url")
    if not url:
        return None
    headers = dict(ACCOUNT_HEADERS)
    api_key = account.profile.get("callback_api_key")
    if api_key:
        headers["Authorization"] = str(api_key)
    return enqueue(
        session,
        tasks,
        provider=account.provider,
        tenant=account.tenant,
        account_id=account.id,
        event=event,
        url=join_url(str(url), event),
        headers=headers,
        body=body,
        at=at,
    )


# -- attempts ------------------------------------------------------------------------------------


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def encode_body(headers: Mapping[str, Any], body: dict[str, Any]) -> bytes:
    """The body as JSON; as form fields when the delivery's Content-Type is form-urlencoded.

    A form field whose value is not a string carries that value as JSON (Openapi.it's ``POST``
    callbacks: the JSON payload in one field).
    """
    content_type = next((str(v) for k, v in headers.items() if str(k).lower() == "content-type"), "")
    if content_type.split(";")[0].strip().lower() == FORM_CONTENT_TYPE:
        fields = {
            str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":"))
            for k, v in body.items()
        }
        return urlencode(fields).encode("ascii")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class _Post:
    delivery_id: int
    attempt_id: int
    at: datetime
    url: str
    headers: dict[str, str]
    body: bytes


def _attempt(host: WebhookHost, session: Session, task: ScheduledTask) -> AfterCommit | None:
    """Task handler: record the attempt now, make the POST after the commit."""
    delivery_id = task.payload.get("delivery")
    delivery = session.get(WebhookDelivery, delivery_id) if isinstance(delivery_id, int) else None
    if delivery is None or delivery.status != PENDING:
        return None
    attempt = WebhookAttempt(delivery=delivery, number=len(delivery.attempts) + 1, at=task.due_at)
    session.add(attempt)
    session.flush()
    post = _Post(
        delivery_id=delivery.id,
        attempt_id=attempt.id,
        at=task.due_at,
        url=delivery.url,
        headers={str(k): str(v) for k, v in delivery.headers.items()},
        body=encode_body(delivery.headers, delivery.body),
    )
    return partial(_post_and_record, host, post)


def _post_and_record(host: WebhookHost, post: _Post) -> None:
    transport = transport_of(host)
    status_code: int | None = None
    error: str | None = None
    started = time.perf_counter()
    try:
        status_code = int(transport(post.url, headers=post.headers, body=post.body, timeout=TIMEOUT_SECONDS))
    except Exception as exc:  # whatever the endpoint or the network does, it is the attempt's outcome
        error = describe_error(exc)
    duration_ms = int((time.perf_counter() - started) * 1000)
    with host.transaction() as session:
        _record(session, host, post, status_code, error, duration_ms)


def _record(
    session: Session,
    host: WebhookHost,
    post: _Post,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    attempt = session.get(WebhookAttempt, post.attempt_id)
    delivery = session.get(WebhookDelivery, post.delivery_id)
    if attempt is None or delivery is None:  # the sandbox was reset during the POST
        return
    attempt.status_code, attempt.error, attempt.duration_ms = status_code, error, duration_ms
    if status_code is not None and 200 <= status_code < 300:
        delivery.status, delivery.next_attempt_at = DELIVERED, None
        callback = host.webhook_on_delivered.get((delivery.provider, delivery.event))
        if callback is not None:
            callback(session, delivery, post.at)
    elif len(delivery.attempts) >= delivery.max_attempts:
        delivery.status, delivery.next_attempt_at = FAILED, None
    else:
        delay = retry_delay_seconds(
            delivery.interval_seconds,
            delivery.interval_growth,
            delivery.max_interval_seconds,
            len(delivery.attempts),
        )
        retry_at = post.at + timedelta(seconds=delay)
        delivery.next_attempt_at = retry_at
        host.tasks.schedule(session, TASK_KIND, retry_at, {"delivery": delivery.id})
    session.flush()


# -- reading -------------------------------------------------------------------------------------


def find_deliveries(
    session: Session,
    *,
    provider: str | None = None,
    tenant: str | None = None,
    status: str | None = None,
    event: str | None = None,
) -> list[WebhookDelivery]:
    """Deliveries in the order they were made, narrowed by any of the filters given."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if provider is not None:
        query = query.where(WebhookDelivery.provider == provider)
    if tenant is not None:
        query = query.where(WebhookDelivery.tenant == tenant)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if event is not None:
        query = query.where(WebhookDelivery.event == event)
    return list(session.execute(query).scalars())


def find_delivery(session: Session, delivery_id: int) -> WebhookDelivery | None:
    if not 1 <= delivery_id <= MAX_ID:
        return None
    return session.get(WebhookDelivery, delivery_id)


def delivery_view(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "provider": delivery.provider,
        "tenant": delivery.tenant,
        "event": delivery.event,
        "url": delivery.url,
        "status": delivery.status,
        "created_at": delivery.created_at.isoformat(),
        "attempts": [
            {
                "at": attempt.at.isoformat(),
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
            }
            for attempt in delivery.attempts
        ],
        "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None,
        "headers": dict(delivery.headers),
        "body": delivery.body,
    }


# -- settings ------------------------------------------------------------------------------------


def check_callback_url(value: object) -> str:
    """An http(s) URL with a host, any port; ``ValueError`` with a readable reason otherwise.

    Unlike the real services (Aruba accepts only port 80 for http and 443 for https), any port is
    accepted, so that a client can receive callbacks on localhost while it is tested.
    """
    example = "like https://erp.example.com/callbacks or http://localhost:9000/aruba"
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"callback_url must be an http or https URL, {example}")
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"callback_url is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError("callback_url must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(f"callback_url is not a valid URL, {example}") from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"callback_url must be an http or https URL with a host, {example}")
    if port == 0:
        raise ValueError("callback_url must not use port 0")
    if parts.username is not None or parts.password is not None:
        raise ValueError("callback_url must not contain credentials: register callback_api_key instead")
    if parts.fragment:
        raise ValueError("callback_url must not have a fragment (#...)")
    return value


def check_api_key(value: object) -> str:
    """A static key sent as the Authorization header: printable ASCII, no line breaks."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_API_KEY_LENGTH
        or not all(" " <= ch <= "~" for ch in value)
        or value != value.strip()
    ):
        raise ValueError(
            f"callback_api_key must be 1 to {MAX_API_KEY_LENGTH} printable ASCII characters without "
            "leading or trailing spaces (it is sent as the Authorization header)"
        )
    return value


def join_url(base: str, method: str) -> str:
    """``base`` with ``/method`` appended to its path (its query string, if any, kept)."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/") + "/" + method
    return parts._replace(path=path).geturl()
