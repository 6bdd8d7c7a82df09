"""Logging of the server and the commands: text lines, or JSON lines (``--log-format json``).

Stdlib only, so that every command (the healthcheck too) can configure it without importing Flask.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

LOG_FORMAT_ENV = "FATTURA_SANDBOX_LOG_FORMAT"
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Fields the access log adds to a record (``extra=``); JSON lines carry them as keys.
REQUEST_FIELDS = ("method", "path", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message (+ request fields, exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def resolve_log_format(flag: str | None, environ: dict[str, str] | None = None) -> str:
    """The flag, else FATTURA_SANDBOX_LOG_FORMAT, else text; ValueError for an unknown format."""
    env = os.environ if environ is None else environ
    value = (flag or env.get(LOG_FORMAT_ENV) or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise ValueError(
            f"{LOG_FORMAT_ENV} / --log-format must be one of {', '.join(LOG_FORMATS)}, not {value!r}"
        )
    return value


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """One handler on stderr in ``log_format``, like ``logging.basicConfig``: when the process has
    configured logging already (an embedding application, pytest), its handlers are left alone.
    A handler this function added before is replaced (``main`` called again in one process)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "fattura_sandbox", False):
            root.removeHandler(old)
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.fattura_sandbox = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
