"""How the certification talks to a sandbox's control API: over HTTP (the runner's sandbox process)
or in-process (a session opened through the control API, Flask's test client on the same app)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from flask import Flask

JOURNAL_PAGE = 5000


class ControlError(RuntimeError):
    """The control API could not be reached or answered something unexpected."""


class Control(Protocol):
    def call(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """``method`` ``/_sandbox<path>`` with a JSON body; the status and the JSON answer (or None)."""
        ...


class HttpControl:
    def __init__(self, root_url: str, timeout: float = 30.0) -> None:
        self.root_url = root_url.rstrip("/")
        self.timeout = timeout

    def call(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        url = f"{self.root_url}/_sandbox{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _json(exc.read())
        except (urllib.error.URLError, OSError) as exc:
            raise ControlError(f"{method} {url}: {exc}") from exc


class AppControl:
    def __init__(self, app: Flask) -> None:
        self.app = app

    def call(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        client = self.app.test_client()
        response = client.open(f"/_sandbox{path}", method=method, json=body, query_string=params or {})
        return response.status_code, _json(response.get_data())


def _json(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def fetch_journal(
    control: Control, *, after_id: int = 0, provider: str | None = None
) -> list[dict[str, Any]]:
    """Every journal entry after ``after_id`` (all pages), oldest first."""
    entries: list[dict[str, Any]] = []
    since = after_id
    while True:
        params = {"since": str(since), "limit": str(JOURNAL_PAGE)}
        if provider:
            params["provider"] = provider
        status, body = control.call("GET", "/journal", params=params)
        if status != 200 or not isinstance(body, dict):
            raise ControlError(f"GET /_sandbox/journal answered {status}: {body}")
        page = body.get("entries") or []
        entries.extend(page)
        if not page or not body.get("more"):
            return entries
        since = int(page[-1]["id"])


def newest_journal_id(control: Control) -> int:
    status, body = control.call("GET", "/journal", params={"limit": "1"})
    if status != 200 or not isinstance(body, dict):
        raise ControlError(f"GET /_sandbox/journal answered {status}: {body}")
    entries = body.get("entries") or []
    return int(entries[-1]["id"]) if entries else 0
