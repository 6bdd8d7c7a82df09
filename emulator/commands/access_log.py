"""The server's access log: one record per request on ``fattura_sandbox.access`` (WSGI middleware).

Off unless asked for (``serve --access-log`` / FATTURA_SANDBOX_ACCESS_LOG=1): a busy client makes
many requests, and a parent process that never reads the server's output must not block it.
With ``--log-format json`` each record carries method, path, status and duration_ms as keys.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("fattura_sandbox.access")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class AccessLog:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: dict[str, int] = {}

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            try:
                seen["status"] = int(status.split(" ", 1)[0])
            except ValueError:
                seen["status"] = 0
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = self.app(environ, recording_start_response)
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            duration = round((time.perf_counter() - started) * 1000, 2)
            method = environ.get("REQUEST_METHOD", "")
            path = environ.get("PATH_INFO", "")
            status = seen.get("status", 0)
            log.info(
                "%s %s %s %.2fms",
                method,
                path,
                status,
                duration,
                extra={"method": method, "path": path, "status": status, "duration_ms": duration},
            )
