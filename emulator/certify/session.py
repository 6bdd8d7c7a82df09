"""Certification sessions opened and closed through the control API, for clients that cannot be
wrapped in a command (a CI job against a long-running sandbox, a client in another container).

``POST /_sandbox/certification`` {provider, scenario} opens one: the answer has its ``id`` and the
``env`` the wrapped mode would give the client. The scenario's steps are then played by a thread of
the sandbox against its own control API (in-process), exactly as the runner plays them, while the
client works. ``POST /_sandbox/certification/<id>/finish`` stops the steps, judges the journal
entries of the certified provider recorded since the session opened, and answers the JSON report;
``GET /_sandbox/certification/<id>/report.html`` gives the HTML page.

Differences from the wrapped mode (``fattura-sandbox certify``): the sandbox is not fresh (the
session judges only requests recorded after it opened, but earlier state — invoices, tokens, fault
rules, the clock — stays); ``run_seconds`` is only advice, the session lasts until ``finish``; the
client's exit status and output are unknown; requests to the provider from anyone else during the
session are judged too, so give each certification its own sandbox when clients share one. Opening a
session stops the steps of any earlier session of the same provider (it can still be finished).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from emulator.certify import report as reports
from emulator.certify.control import AppControl, fetch_journal, newest_journal_id
from emulator.certify.player import Player
from emulator.certify.runner import TENANT, client_env
from emulator.certify.scenario import PROVIDERS, ScenarioError, builtin_names, load
from emulator.core.errors import BadRequest, Conflict, NotFound

MAX_SESSIONS = 50
# A session's steps are played for the scenario's run_seconds plus this (real seconds), at most.
SESSION_GRACE_SECONDS = 300


@dataclass
class CertificationSession:
    id: str
    provider: str
    player: Player
    env: dict[str, str]
    start_id: int
    report: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "provider": self.provider,
            "scenario": self.player.scenario.view(),
            "status": "finished" if self.report is not None else "running",
            "env": self.env,
            "steps": [log.view() for log in self.player.logs],
        }


class SessionRegistry:
    """The sessions of one app (the newest ``MAX_SESSIONS``, finished ones keep their report)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.control = AppControl(app)
        self._sessions: OrderedDict[str, CertificationSession] = OrderedDict()
        self._lock = threading.Lock()
        self._counter = 0

    def open(self, payload: Any, root_url: str) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise BadRequest('The body must be {"provider": "easytracking", "scenario": "happy-path"}')
        provider = payload.get("provider")
        if provider not in PROVIDERS:
            raise BadRequest(f"provider must be one of {', '.join(PROVIDERS)}")
        name = payload.get("scenario", "happy-path")
        if not isinstance(name, str) or name not in builtin_names():
            raise BadRequest(f"scenario must be one of {', '.join(builtin_names())}")
        try:
            scenario = load(name)
        except ScenarioError as exc:  # pragma: no cover - built-ins load
            raise BadRequest(str(exc)) from None
        if provider not in scenario.providers:
            raise BadRequest(f"The scenario {name} does not apply to {provider}")
        status, body = self.control.call("GET", "/accounts")
        account = next(
            (
                a
                for a in (body or {}).get("accounts", [])
                if a.get("provider") == provider and a.get("tenant") == TENANT
            ),
            None,
        )
        if status != 200 or account is None:
            raise BadRequest(f"The sandbox has no {provider}/{TENANT} account to certify with")
        start_id = newest_journal_id(self.control)
        with self._lock:
            self._counter += 1
            reference = f"c{self._counter}"
            player = Player(
                self.control,
                scenario,
                provider,
                account,
                after_id=start_id,
                max_seconds=scenario.run_seconds + SESSION_GRACE_SECONDS,
            )
            session = CertificationSession(
                id=reference,
                provider=provider,
                player=player,
                env=client_env(root_url.rstrip("/"), provider, account, scenario),
                start_id=start_id,
            )
            # One running certification per provider: the journal of a provider is shared.
            for other in self._sessions.values():
                if other.provider == provider:
                    other.player.stop()
            self._sessions[reference] = session
            while len(self._sessions) > MAX_SESSIONS:
                _, old = self._sessions.popitem(last=False)
                old.player.stop()
        player.start()
        return session.view()

    def stop_all(self) -> None:
        """Stop every session's steps (the sandbox is closing)."""
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.player.stop()

    def get(self, reference: str) -> CertificationSession:
        with self._lock:
            session = self._sessions.get(reference)
        if session is None:
            raise NotFound(f"No certification session {reference}")
        return session

    def finish(self, reference: str) -> dict[str, Any]:
        session = self.get(reference)
        with session.lock:
            if session.report is None:
                session.player.stop()
                journal = fetch_journal(self.control, after_id=session.start_id, provider=session.provider)
                session.report = reports.build(
                    session.provider,
                    session.player.scenario,
                    journal,
                    steps=[log.view() for log in session.player.logs],
                    client={"mode": "control API session", "session": session.id},
                    retry_after=session.player.retry_after,
                    mode="session",
                )
                session.report["session"] = session.id
            return session.report

    def report_html(self, reference: str) -> str:
        session = self.get(reference)
        if session.report is None:
            raise Conflict(
                f"The certification session {reference} is not finished: POST .../finish first",
                code="not_finished",
            )
        return reports.render_html(session.report)
