"""Synthetic journal entries (the shape of GET /_sandbox/journal's entries) for the checks' tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Journal:
    def __init__(self, provider: str = "easytracking") -> None:
        self.provider = provider
        self.entries: list[dict[str, Any]] = []

    def add(
        self,
        operation: str | None,
        *,
        t: float,
        virtual: float | None = None,
        status: int = 200,
        method: str = "GET",
        path: str = "/x",
        query: dict[str, list[str]] | None = None,
        auth: str | None = "tok1",
        request: Any = None,
        response: Any = None,
        violations: list[dict[str, str]] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        def body(value: Any) -> dict[str, Any]:
            if value is None:
                content = None
            elif isinstance(value, str | bytes):
                content = value.decode() if isinstance(value, bytes) else value
            else:
                content = json.dumps(value)
            return {"size": len(content or ""), "truncated": False, "base64": False, "content": content}

        headers = {} if auth is None else {"Authorization": f"Bearer ***#{auth}"}
        entry = {
            "id": len(self.entries) + 1,
            "at": (T0 + timedelta(seconds=t if virtual is None else virtual)).isoformat(),
            "real_at": (T0 + timedelta(seconds=t)).isoformat(),
            "provider": self.provider,
            "tenant": "sandbox",
            "method": method,
            "path": path,
            "full_path": f"/{self.provider}{path}",
            "query": query or {},
            "status": status,
            "duration_ms": 1.0,
            "operation": operation,
            "violations": violations or [],
            "request": {"headers": headers, "content_type": "application/json", "body": body(request)},
            "response": {
                "headers": response_headers or {},
                "content_type": "application/json",
                "body": body(response),
            },
        }
        self.entries.append(entry)
        return entry
