"""``fattura-sandbox healthcheck``: is the sandbox on this port ready? For container HEALTHCHECKs.

Stdlib only and fast: no Flask, no SQLAlchemy (``emulator.config`` imports them, so the port and host
settings are read here the same way ``Config`` reads them: flag, else environment, else default;
tests keep the two in step).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

HEALTH_PATH = "/_sandbox/health"
HOST_ENV = "FATTURA_SANDBOX_HOST"
PORT_ENV = "FATTURA_SANDBOX_PORT"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_TIMEOUT = 3.0
# A server bound to every interface is reached through the loopback.
WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


@dataclass(frozen=True)
class HealthResult:
    healthy: bool
    reason: str


def resolve_target(
    host: str | None, port: int | None, environ: Mapping[str, str] | None = None
) -> tuple[str, int]:
    """The address ``serve`` would listen on with the same flags and environment."""
    env = os.environ if environ is None else environ
    chosen_host = host if host is not None else (env.get(HOST_ENV) or DEFAULT_HOST)
    if port is not None:
        chosen_port = port
    else:
        raw = env.get(PORT_ENV) or ""
        try:
            chosen_port = int(raw) if raw else DEFAULT_PORT
        except ValueError:
            raise ValueError(f"{PORT_ENV} must be a port number, not {raw!r}") from None
    if not 0 < chosen_port < 65536:
        raise ValueError(f"the port must be between 1 and 65535, not {chosen_port}")
    return WILDCARD_HOSTS.get(chosen_host.strip(), chosen_host.strip()), chosen_port


def health_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}{HEALTH_PATH}"


def check(url: str, timeout: float) -> HealthResult:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = response.status
            body = response.read(65536)
    except urllib.error.HTTPError as exc:
        return HealthResult(False, f"{url} answered HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return HealthResult(False, f"{url} is not reachable: {reason}")
    if status != 200:
        return HealthResult(False, f"{url} answered HTTP {status}")
    try:
        payload = json.loads(body)
    except ValueError:
        return HealthResult(False, f"{url} answered 200 but not with JSON")
    if not isinstance(payload, dict) or payload.get("status") != "ok":
        shown = payload.get("status") if isinstance(payload, dict) else payload
        return HealthResult(False, f"{url} answered 200 with status {shown!r}, not 'ok'")
    return HealthResult(True, f"{url} ok")
