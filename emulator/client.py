"""A small typed client of the sandbox's control API (``/_sandbox``, contracts/sandbox.yaml).

Standard library only (urllib), so it works with the base install and in any test suite::

    from emulator.client import SandboxClient

    sandbox = SandboxClient("http://127.0.0.1:8080")
    sandbox.reset()
    account = sandbox.account("aruba")                      # tenant "sandbox"
    invoices = sandbox.incoming_invoices(account.vat, count=2, signed=True)
    sandbox.force("IT01879020517_abc12.xml.p7m", "NS", errors=["00305"])
    sandbox.advance(3600)
    rejected = sandbox.journal(provider="aruba", violations_only=True)

Every answer is a dataclass; an error answer of the control API raises :class:`SandboxError` with
its HTTP status, code and message (``status`` is None when the sandbox could not be reached).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Account",
    "Callback",
    "FaultRule",
    "ForcedNotification",
    "Health",
    "IncomingInvoice",
    "JournalEntry",
    "SandboxClient",
    "SandboxError",
    "Violation",
]

CONTROL_PREFIX = "/_sandbox"
NOTIFICATION_TYPES = ("RC", "NS", "MC", "AT", "NE_EC01", "NE_EC02", "DT")
JOURNAL_PAGE = 5000  # the largest page the journal answers


class SandboxError(Exception):
    """An error answer of the control API (or no answer at all: ``status`` None)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        where = f"{method} {url}: " if method else ""
        label = f"{status} {code}" if code else str(status)
        super().__init__(f"{where}{label}: {message}")
        self.message = message
        self.status = status
        self.code = code
        self.details: dict[str, Any] = dict(details or {})
        self.method = method
        self.url = url


def _instant(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


def _required_instant(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


@dataclass(frozen=True)
class Health:
    status: str
    version: str | None
    now: datetime | None
    providers: list[str]
    xsd_validation: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Health:
        return cls(
            status=str(data["status"]),
            version=data.get("version"),
            now=_instant(data.get("now")),
            providers=list(data.get("providers") or []),
            xsd_validation=bool(data.get("xsd_validation", False)),
        )


@dataclass(frozen=True)
class Account:
    """A seeded account: the credentials a client under test logs in with, and its fiscal ids."""

    provider: str
    tenant: str
    username: str
    email: str | None
    password: str
    token: str | None
    vat_numbers: list[str]
    fiscal_codes: list[str]
    name: str | None = None
    recipient_code: str | None = None
    pec: str | None = None
    pa_office_code: str | None = None
    p7m_encoding: str | None = None
    callback_url: str | None = None
    callback_api_key: str | None = None

    @property
    def vat(self) -> str:
        """The account's first P.IVA (11 digits, no country prefix)."""
        return self.vat_numbers[0]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Account:
        return cls(
            provider=str(data["provider"]),
            tenant=str(data["tenant"]),
            username=str(data["username"]),
            email=data.get("email"),
            password=str(data["password"]),
            token=data.get("token"),
            vat_numbers=list(data.get("vat_numbers") or []),
            fiscal_codes=list(data.get("fiscal_codes") or []),
            name=data.get("name"),
            recipient_code=data.get("recipient_code"),
            pec=data.get("pec"),
            pa_office_code=data.get("pa_office_code"),
            p7m_encoding=data.get("p7m_encoding"),
            callback_url=data.get("callback_url"),
            callback_api_key=data.get("callback_api_key"),
        )


@dataclass(frozen=True)
class IncomingInvoice:
    """A passive invoice the SDI delivered to a sandbox account."""

    sdi_id: int
    file_name: str
    metadata_file_name: str | None
    received_at: datetime
    provider: str
    tenant: str
    signed: bool
    encoding: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IncomingInvoice:
        recipient = data.get("recipient") or {}
        return cls(
            sdi_id=int(data["sdi_id"]),
            file_name=str(data["file_name"]),
            metadata_file_name=data.get("metadata_file_name"),
            received_at=_required_instant(data["received_at"]),
            provider=str(recipient.get("provider", "")),
            tenant=str(recipient.get("tenant", "")),
            signed=bool(data.get("signed", False)),
            encoding=data.get("encoding"),
        )


@dataclass(frozen=True)
class ForcedNotification:
    """The notification the SDI emitted on request (``type`` is NE for NE_EC01/NE_EC02)."""

    type: str
    file_name: str
    sdi_id: int
    invoice_file_name: str
    state: str
    emitted_at: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ForcedNotification:
        return cls(
            type=str(data["type"]),
            file_name=str(data["file_name"]),
            sdi_id=int(data["sdi_id"]),
            invoice_file_name=str(data["invoice_file_name"]),
            state=str(data["state"]),
            emitted_at=_required_instant(data["emitted_at"]),
        )


@dataclass(frozen=True)
class Violation:
    """Where a request broke the provider's contract (``body.x``, ``query.limit``, ...) and why."""

    where: str
    why: str


@dataclass(frozen=True)
class JournalEntry:
    """One request a provider served, with what the contract thinks of it."""

    id: int
    at: datetime
    real_at: datetime
    provider: str
    tenant: str | None
    method: str
    path: str
    full_path: str
    query: dict[str, list[str]]
    status: int
    duration_ms: float
    operation: str | None
    violations: list[Violation]
    fault: dict[str, Any] | None
    request: dict[str, Any] = field(repr=False)
    response: dict[str, Any] = field(repr=False)

    @property
    def request_body(self) -> str | None:
        """The request body as recorded (text, or base64 when not UTF-8; cut past the body limit)."""
        content: str | None = (self.request.get("body") or {}).get("content")
        return content

    @property
    def response_body(self) -> str | None:
        content: str | None = (self.response.get("body") or {}).get("content")
        return content

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JournalEntry:
        return cls(
            id=int(data["id"]),
            at=_required_instant(data["at"]),
            real_at=_required_instant(data["real_at"]),
            provider=str(data["provider"]),
            tenant=data.get("tenant"),
            method=str(data["method"]),
            path=str(data["path"]),
            full_path=str(data["full_path"]),
            query={str(k): list(v) for k, v in (data.get("query") or {}).items()},
            status=int(data["status"]),
            duration_ms=float(data["duration_ms"]),
            operation=data.get("operation"),
            violations=[Violation(str(v["where"]), str(v["why"])) for v in data.get("violations") or []],
            fault=data.get("fault"),
            request=dict(data.get("request") or {}),
            response=dict(data.get("response") or {}),
        )


@dataclass(frozen=True)
class Callback:
    """A callback (webhook) delivery a provider made or still owes, with its attempts."""

    id: int
    provider: str
    tenant: str
    event: str
    url: str
    status: str
    created_at: datetime
    attempts: list[dict[str, Any]]
    next_attempt_at: datetime | None
    headers: dict[str, str]
    body: dict[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Callback:
        return cls(
            id=int(data["id"]),
            provider=str(data["provider"]),
            tenant=str(data["tenant"]),
            event=str(data["event"]),
            url=str(data["url"]),
            status=str(data["status"]),
            created_at=_required_instant(data["created_at"]),
            attempts=list(data.get("attempts") or []),
            next_attempt_at=_instant(data.get("next_attempt_at")),
            headers=dict(data.get("headers") or {}),
            body=dict(data.get("body") or {}),
        )


@dataclass(frozen=True)
class FaultRule:
    """A fault rule (``effect`` as given: ``{"type": "error", "status": 503}``, ...)."""

    id: int
    order: int
    provider: str
    method: str | None
    path: str | None
    tenant: str | None
    effect: dict[str, Any]
    count: int | None
    remaining: int | None
    probability: float
    expires_at: datetime | None
    created_at: datetime
    matched: int
    hits: int
    state: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        return cls(
            id=int(data["id"]),
            order=int(data["order"]),
            provider=str(data["provider"]),
            method=data.get("method"),
            path=data.get("path"),
            tenant=data.get("tenant"),
            effect=dict(data["effect"]),
            count=data.get("count"),
            remaining=data.get("remaining"),
            probability=float(data["probability"]),
            expires_at=_instant(data.get("expires_at")),
            created_at=_required_instant(data["created_at"]),
            matched=int(data["matched"]),
            hits=int(data["hits"]),
            state=str(data["state"]),
        )


class SandboxClient:
    """The control API of the sandbox at ``base_url`` (its root, e.g. ``http://127.0.0.1:8080``)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._providers: list[str] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    # -- HTTP --------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str | None] | None = None,
    ) -> Any:
        url = self.base_url + CONTROL_PREFIX + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw: bytes = response.read()
                content_type = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            raise self._error(method, url, exc.code, exc.read()) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SandboxError(
                f"the sandbox did not answer ({reason})", status=None, method=method, url=url
            ) from exc
        if not raw:
            return None
        if content_type == "application/json":
            return json.loads(raw)
        return raw.decode("utf-8")

    @staticmethod
    def _error(method: str, url: str, status: int, raw: bytes) -> SandboxError:
        try:
            error = json.loads(raw)["error"]
            return SandboxError(
                str(error["message"]),
                status=status,
                code=error.get("code"),
                details=error.get("details"),
                method=method,
                url=url,
            )
        except (ValueError, KeyError, TypeError):
            text = raw.decode("utf-8", "replace").strip() or "no message"
            return SandboxError(text[:500], status=status, method=method, url=url)

    # -- lifecycle ---------------------------------------------------------------------------

    def health(self) -> Health:
        """``GET /_sandbox/health``: raises SandboxError while the sandbox is not ready."""
        return Health.from_json(self._call("GET", "/health"))

    def reset(self) -> None:
        """All state gone (invoices, journal, faults, ...), default accounts seeded again.

        The server keeps its virtual time (the pytest plugin sets it back to its start)."""
        self._call("POST", "/reset")

    def provider_url(self, provider: str) -> str:
        """The base URL a client of ``provider`` configures, e.g. ``http://127.0.0.1:8080/aruba``."""
        if self._providers is None:
            self._providers = self.health().providers
        if provider not in self._providers:
            raise SandboxError(
                f"No provider {provider!r}; the sandbox serves {', '.join(self._providers)}",
                status=404,
                code="not_found",
            )
        return f"{self.base_url}/{provider}"

    # -- clock -------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The current virtual instant."""
        return _required_instant(self._call("GET", "/clock")["now"])

    def frozen(self) -> bool:
        """Whether virtual time moves only through :meth:`advance`."""
        return bool(self._call("GET", "/clock")["frozen"])

    def advance(self, seconds: float) -> datetime:
        """Move virtual time forward; everything that fell due happens. Returns the new instant."""
        answer = self._call("POST", "/clock", {"advance_seconds": seconds})
        return _required_instant(answer["now"])

    # -- accounts ----------------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        return [Account.from_json(a) for a in self._call("GET", "/accounts")["accounts"]]

    def account(self, provider: str, tenant: str = "sandbox") -> Account:
        """The seeded account of ``provider`` and ``tenant``: credentials and fiscal ids."""
        for account in self.accounts():
            if account.provider == provider and account.tenant == tenant:
                return account
        raise SandboxError(
            f"No account {tenant!r} of provider {provider!r}", status=404, code="not_found"
        )

    def update_account(self, provider: str, tenant: str = "sandbox", **settings: Any) -> Account:
        """PATCH the account's settings: ``p7m_encoding``, ``callback_url``, ``callback_api_key``."""
        path = f"/accounts/{urllib.parse.quote(provider, safe='')}/{urllib.parse.quote(tenant, safe='')}"
        return Account.from_json(self._call("PATCH", path, settings))

    # -- the SDI -----------------------------------------------------------------------------

    def incoming_invoices(
        self,
        recipient: str,
        count: int = 1,
        *,
        signed: bool = False,
        pa: bool = False,
        xml: str | bytes | None = None,
        encoding: str | None = None,
        document_type: str | None = None,
    ) -> list[IncomingInvoice]:
        """The SDI delivers ``count`` realistic invoices (or the given ``xml``) to the account that
        owns ``recipient`` (a P.IVA or codice fiscale)."""
        body: dict[str, Any] = {"recipient": recipient, "signed": signed}
        if xml is not None:
            body["xml"] = xml.decode("utf-8") if isinstance(xml, bytes) else xml
        else:
            body["count"] = count
            body["pa"] = pa
            if document_type is not None:
                body["document_type"] = document_type
        if encoding is not None:
            body["encoding"] = encoding
        answer = self._call("POST", "/incoming-invoices", body)
        return [IncomingInvoice.from_json(i) for i in answer["invoices"]]

    def force(
        self,
        invoice: str | int,
        type: str,
        errors: Sequence[str | Mapping[str, str]] | None = None,
    ) -> ForcedNotification:
        """The SDI emits notification ``type`` (RC, NS, MC, AT, NE_EC01, NE_EC02, DT) for a sent
        invoice (its SDI file name, IdentificativoSdI or provider id). ``errors``: the NS codes,
        as strings (``["00305"]``) or objects (``[{"code": "00305", "description": "..."}]``)."""
        body: dict[str, Any] = {"invoice": invoice, "type": type}
        if errors is not None:
            body["errors"] = [{"code": e} if isinstance(e, str) else dict(e) for e in errors]
        return ForcedNotification.from_json(self._call("POST", "/sdi/notifications", body))

    def certificate(self) -> str:
        """The PEM certificate the sandbox's SDI signs its files with."""
        pem: str = self._call("GET", "/sdi/certificate")
        return pem

    # -- callbacks ---------------------------------------------------------------------------

    def callbacks(
        self,
        provider: str | None = None,
        tenant: str | None = None,
        status: str | None = None,
        event: str | None = None,
    ) -> list[Callback]:
        """The callback deliveries, oldest first, that match every filter given."""
        query = {"provider": provider, "tenant": tenant, "status": status, "event": event}
        return [Callback.from_json(c) for c in self._call("GET", "/callbacks", query=query)["callbacks"]]

    def callback(self, callback_id: int) -> Callback:
        return Callback.from_json(self._call("GET", f"/callbacks/{int(callback_id)}"))

    # -- journal -----------------------------------------------------------------------------

    def journal(
        self,
        provider: str | None = None,
        tenant: str | None = None,
        since: int | datetime | None = None,
        violations_only: bool = False,
    ) -> list[JournalEntry]:
        """Every matching request the providers served, oldest first (all pages are read).

        ``since``: an entry id (entries after it) or a virtual instant (entries at or after it)."""
        cursor: str = "0"
        if isinstance(since, datetime):
            cursor = since.isoformat()
        elif since is not None:
            cursor = str(int(since))
        entries: list[JournalEntry] = []
        while True:
            query = {
                "provider": provider,
                "tenant": tenant,
                "since": cursor,
                "violations": "true" if violations_only else None,
                "limit": str(JOURNAL_PAGE),
            }
            page = self._call("GET", "/journal", query=query)
            entries.extend(JournalEntry.from_json(e) for e in page["entries"])
            if not page["more"] or not page["entries"]:
                return entries
            cursor = str(entries[-1].id)

    def journal_entry(self, entry_id: int) -> JournalEntry:
        return JournalEntry.from_json(self._call("GET", f"/journal/{int(entry_id)}"))

    def clear_journal(self) -> None:
        self._call("DELETE", "/journal")

    # -- faults ------------------------------------------------------------------------------

    def add_fault(
        self,
        provider: str,
        effect: Mapping[str, Any],
        *,
        method: str | None = None,
        path: str | None = None,
        tenant: str | None = None,
        count: int | None = None,
        probability: float | None = None,
        expires_at: datetime | None = None,
        ttl_seconds: float | None = None,
        position: int | None = None,
    ) -> FaultRule:
        """Make matching provider requests fail: ``effect`` is ``{"type": "error", "status": 503}``,
        ``{"type": "throttle", "retry_after": 30}``, ``{"type": "latency", "ms": 200}``,
        ``{"type": "drop"}`` or ``{"type": "truncate", "fraction": 0.5}``; ``path`` a glob below
        the provider's prefix (``/services/invoice/*``) or ``regex:...``."""
        body: dict[str, Any] = {"provider": provider, "effect": dict(effect)}
        optional: dict[str, Any] = {
            "method": method.upper() if method else None,
            "path": path,
            "tenant": tenant,
            "count": count,
            "probability": probability,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "ttl_seconds": ttl_seconds,
            "position": position,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return FaultRule.from_json(self._call("POST", "/faults", body))

    def faults(self) -> list[FaultRule]:
        """Every fault rule, in the order they are tried, with their hits."""
        return [FaultRule.from_json(f) for f in self._call("GET", "/faults")["faults"]]

    def delete_fault(self, fault_id: int) -> None:
        self._call("DELETE", f"/faults/{int(fault_id)}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")
