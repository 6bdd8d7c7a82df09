"""Plays a scenario's steps against a sandbox while the client runs.

Every ``POLL`` seconds the player reads the new journal entries of the certified provider (the
conditions: the client's first request, its n-th successful upload, its first download) and runs
each step whose time has come (``at`` real seconds after the start, or after its condition). A step
that fails (e.g. an outcome the invoice's state does not allow) is logged and the run goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.certify.checks.base import TOKEN_LIFETIME, roles_of
from emulator.certify.control import Control, ControlError, fetch_journal
from emulator.certify.scenario import Scenario, Step

POLL = 0.1
EXPIRY_MARGIN = 60
ID_KEYS = ("uploadFileName", "file_name", "fileName", "uuid", "id", "docId", "sdi_id", "filename")


@dataclass
class StepLog:
    step: str
    at: float | None = None
    ok: bool | None = None
    detail: str = "not run (its condition never came)"

    def view(self) -> dict[str, Any]:
        return {"step": self.step, "at_seconds": self.at, "ok": self.ok, "detail": self.detail}


def invoice_candidates(body: Any) -> list[str]:
    """Values of an upload's answer that may name the invoice (ids first), for /sdi/notifications."""
    preferred: list[str] = []
    others: list[str] = []

    def walk(node: Any, key: str | None) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for item in node[:5]:
                walk(item, key)
        elif isinstance(node, str | int) and not isinstance(node, bool) and str(node).strip():
            value = str(node).strip()
            if len(value) > 200:
                return
            (preferred if key in ID_KEYS else others).append(value)

    walk(body, None)
    seen: dict[str, None] = {}
    for value in preferred + others:
        seen.setdefault(value, None)
    return list(seen)[:20]


@dataclass
class Player:
    control: Control
    scenario: Scenario
    provider: str
    account: dict[str, Any]
    after_id: int = 0
    token_lifetime: int | None = None
    clock: Callable[[], float] = time.monotonic
    logs: list[StepLog] = field(default_factory=list)
    retry_after: float | None = None
    # Real seconds after which the player stops by itself (None: until stop()).
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        self.logs = [StepLog(s.describe()) for s in self.scenario.steps]
        self._done = [False] * len(self.scenario.steps)
        self._uploads: list[dict[str, Any]] = []
        self._first_request: float | None = None
        self._first_download: float | None = None
        self._upload_seen: list[float] = []
        self._start = self.clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for step in self.scenario.steps:
            effect = (step.params.get("rule") or {}).get("effect") or {}
            if step.action == "fault" and effect.get("type") == "throttle":
                self.retry_after = float(effect.get("retry_after", 1))

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._start = self.clock()
        self._thread = threading.Thread(target=self._loop, name="certify-player", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except ControlError as exc:  # the sandbox is gone or broken: nothing more to play
                self.logs.append(StepLog("control API", self.clock() - self._start, False, str(exc)))
                return
            if all(self._done):
                return
            if self.max_seconds is not None and self.clock() - self._start > self.max_seconds:
                return
            self._stop.wait(POLL)

    def tick(self) -> None:
        """Read the journal's news, then run every step that is due."""
        now = self.clock()
        self._observe(now)
        for n, step in enumerate(self.scenario.steps):
            if self._done[n]:
                continue
            base = self._base(step)
            if base is None or now < base + step.at:
                continue
            self._done[n] = True
            self._run(n, step, now)

    def _observe(self, now: float) -> None:
        for entry in fetch_journal(self.control, after_id=self.after_id, provider=self.provider):
            self.after_id = max(self.after_id, int(entry["id"]))
            roles = roles_of(self.provider, entry.get("operation"))
            ok = 200 <= int(entry.get("status", 0)) < 300
            if self._first_request is None:
                self._first_request = now
            if ok and "upload" in roles:
                self._uploads.append(entry)
                self._upload_seen.append(now)
            if ok and roles & {"download", "job_download"} and self._first_download is None:
                self._first_download = now

    def _base(self, step: Step) -> float | None:
        if step.after is None:
            return self._start
        if step.after == "request":
            return self._first_request
        if step.after == "download":
            return self._first_download
        if len(self._upload_seen) >= step.upload_index:
            return self._upload_seen[step.upload_index - 1]
        return None

    # -- actions ---------------------------------------------------------------------------------

    def _run(self, n: int, step: Step, now: float) -> None:
        log = self.logs[n]
        log.at = round(now - self._start, 3)
        try:
            log.ok, log.detail = self._act(step)
        except ControlError as exc:
            log.ok, log.detail = False, str(exc)

    def _act(self, step: Step) -> tuple[bool, str]:
        p = step.params
        if step.action == "incoming":
            vats = self.account.get("vat_numbers") or []
            body = {"recipient": p.get("recipient", vats[0] if vats else ""), "count": p.get("count", 1)}
            body.update({k: p[k] for k in ("document_type", "pa", "signed", "encoding", "xml") if k in p})
            return self._expect("POST", "/incoming-invoices", body, 201)
        if step.action == "clock":
            return self._expect("POST", "/clock", {"advance_seconds": p["advance_seconds"]}, 200)
        if step.action == "expire_token":
            lifetime = self.token_lifetime or TOKEN_LIFETIME.get(self.provider, 3600)
            return self._expect("POST", "/clock", {"advance_seconds": lifetime + EXPIRY_MARGIN}, 200)
        if step.action == "fault":
            return self._expect("POST", "/faults", {"provider": self.provider, **p["rule"]}, 201)
        if step.action == "clear_faults":
            return self._expect("DELETE", "/faults", None, 204)
        return self._outcome(step)

    def _outcome(self, step: Step) -> tuple[bool, str]:
        p = step.params
        if "invoice" in p:
            candidates = [str(p["invoice"])]
        else:
            upload = self._uploads[step.upload_index - 1]
            candidates = invoice_candidates(_response_json(upload))
        last = "the upload's answer names no invoice"
        for candidate in candidates:
            body: dict[str, Any] = {"invoice": candidate, "type": p["type"]}
            if "errors" in p:
                body["errors"] = p["errors"]
            status, answer = self.control.call("POST", "/sdi/notifications", body)
            if status == 201:
                return True, f"{p['type']} on {candidate}: {answer.get('file_name') if answer else ''}"
            last = f"{p['type']} on {candidate}: {status} {_message(answer)}"
            if status == 409 and "invalid_transition" in str(answer):
                return False, last
        return False, last

    def _expect(self, method: str, path: str, body: Any, expected: int) -> tuple[bool, str]:
        status, answer = self.control.call(method, path, body)
        return status == expected, f"{method} /_sandbox{path} → {status} {_message(answer)}".strip()


def _message(answer: Any) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        return str(answer["error"].get("message", ""))
    return ""


def _response_json(entry: dict[str, Any]) -> Any:
    from emulator.certify.checks.base import Entry

    return Entry(entry, frozenset()).response_json
