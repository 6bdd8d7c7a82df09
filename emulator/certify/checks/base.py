"""What every check works on: journal entries (the views of GET /_sandbox/journal), the provider's
table of operation roles, and the result it gives."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

PASS, FAIL, SKIP = "pass", "fail", "skip"
MAX_OFFENDING = 50

# Roles of a provider's operations (operationIds of contracts/<provider>.yaml), by regular expression:
# token (sign-in / token / refresh), upload (an invoice sent), status (one invoice's state polled),
# list (a list polled), job_book / job_download (Easy Tracking's download jobs), download (a document
# or notification read), new_items (lists of what is new until acknowledged), ack (acknowledgements).
ROLES: dict[str, dict[str, str]] = {
    "easytracking": {
        "token": r"^getAccessToken$",
        "upload": r"^sendElectronicInvoiceV\d+$",
        "status": r"^readElectronicInvoiceStatusV\d+$",
        "list": r"^list(NewNotifications|ActiveInvoices|PassiveInvoices)V\d+$",
        "new_items": r"^listNewNotificationsV\d+$",
        "job_book": r"^book\w+V\d+$",
        "job_download": r"^download\w+V\d+$",
        "download": r"^download\w+V\d+$",
        "ack": r"^(setFase\d\w*|markNotificationsAsTakenV\d+)$",
    },
    "aruba": {
        "token": r"^signin$",
        "upload": r"^(uploadInvoice|uploadSignedInvoice)$",
        "status": r"^(getSentInvoice\w*|getSentInvoiceNotification\w*|getTransmissionInfoRequest)$",
        "list": r"^find(Sent|Received)InvoicesByUsername$",
        "download": r"^(getReceivedInvoice\w*|getReceivedInvoiceNotification\w*)$",
    },
    "acube": {
        "token": r"^login$",
        "upload": r"^createInvoice$",
        "status": r"^(listInvoiceNotifications|getNotification)$",
        "list": r"^listInvoices$",
        "download": r"^(getInvoice|getInvoiceAttachment|getPreservedDocument)$",
        "ack": r"^setInvoicesDownloaded$",
    },
    "openapi": {
        "token": r"^createToken$",
        "upload": r"^(sendInvoice|importInvoice)$",
        "status": r"^getInvoice$",
        "list": r"^list(Invoices|Receipts)$",
    },
}

# Real seconds: the floor between two polls of the same thing (status, list, job) per provider.
POLL_FLOOR_SECONDS = {"easytracking": 1.0, "aruba": 1.0, "acube": 1.0, "openapi": 1.0}
# Token lifetimes when the token's answer does not say (seconds).
TOKEN_LIFETIME = {"easytracking": 3600, "aruba": 1800, "acube": 86400, "openapi": 365 * 86400}
ARUBA_REFRESH_LIFETIME = 3600


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass
class Entry:
    """One journal entry, with what the checks ask of it."""

    raw: dict[str, Any]
    roles: frozenset[str]

    @property
    def id(self) -> int:
        return int(self.raw.get("id", 0))

    @property
    def operation(self) -> str:
        return str(self.raw.get("operation") or f"{self.raw.get('method')} {self.raw.get('path')}")

    @property
    def status(self) -> int:
        return int(self.raw.get("status", 0))

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def failed_transport(self) -> bool:
        """A server error, a dropped connection (444) or a throttle: a retry is expected."""
        return self.status >= 500 or self.status in (429, 444)

    @cached_property
    def at(self) -> datetime:
        return parse_time(self.raw["at"])

    @cached_property
    def real_at(self) -> datetime:
        return parse_time(self.raw.get("real_at") or self.raw["at"])

    @property
    def auth(self) -> str | None:
        headers = (self.raw.get("request") or {}).get("headers") or {}
        for name, value in headers.items():
            if name.lower() == "authorization" and value:
                return str(value).rpartition("#")[2] if "#" in str(value) else str(value)
        return None

    def body_text(self, side: str) -> str | None:
        body = ((self.raw.get(side) or {}).get("body")) or {}
        content = body.get("content")
        if content is None:
            return None
        if body.get("base64"):
            try:
                return base64.b64decode(content).decode("utf-8", "replace")
            except ValueError:
                return None
        return str(content)

    @cached_property
    def response_json(self) -> Any:
        return self._json("response")

    @cached_property
    def request_json(self) -> Any:
        return self._json("request")

    def _json(self, side: str) -> Any:
        text = self.body_text(side)
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return None

    @property
    def query(self) -> dict[str, list[str]]:
        return dict(self.raw.get("query") or {})

    def seconds_after(self, other: Entry) -> float:
        """Real seconds from ``other`` to this entry."""
        return (self.real_at - other.real_at).total_seconds()

    def virtual_seconds_after(self, other: Entry) -> float:
        return (self.at - other.at).total_seconds()


def roles_of(provider: str, operation: str | None) -> frozenset[str]:
    if not operation:
        return frozenset()
    table = ROLES.get(provider, {})
    return frozenset(role for role, pattern in table.items() if re.search(pattern, operation))


def entries_of(provider: str, raw: list[dict[str, Any]]) -> list[Entry]:
    rows = [r for r in raw if r.get("provider") == provider]
    rows.sort(key=lambda r: int(r.get("id", 0)))
    return [Entry(r, roles_of(provider, r.get("operation"))) for r in rows]


@dataclass
class Offence:
    entry: Entry | None
    why: str

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = {"why": self.why}
        if self.entry is not None:
            raw = self.entry.raw
            view.update(
                id=raw.get("id"),
                method=raw.get("method"),
                path=raw.get("path"),
                query=raw.get("query"),
                status=raw.get("status"),
                at=raw.get("at"),
                real_at=raw.get("real_at"),
                operation=raw.get("operation"),
                violations=raw.get("violations") or [],
                request_excerpt=(self.entry.body_text("request") or "")[:400],
            )
        return view


@dataclass
class CheckResult:
    name: str
    title: str
    explanation: str
    required: bool
    verdict: str
    summary: str
    offences: list[Offence] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return self.required and self.verdict == FAIL

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "explanation": self.explanation,
            "required": self.required,
            "verdict": self.verdict,
            "summary": self.summary,
            "offending": [o.view() for o in self.offences[:MAX_OFFENDING]],
            "offending_total": len(self.offences),
        }


@dataclass
class Context:
    provider: str
    entries: list[Entry]
    invoices: int = 0
    # Retry-After of the throttles the scenario injected, when the body does not say.
    retry_after: float | None = None


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    explanation: str
    # Returns (verdict, summary, offences); the verdict is FAIL when there are offences unless given.
    run: Callable[[Context], tuple[str, str, list[Offence]]]


def verdict_of(offences: list[Offence], passed: str, failed: str) -> tuple[str, str, list[Offence]]:
    if offences:
        return FAIL, failed.format(n=len(offences)), offences
    return PASS, passed, offences
