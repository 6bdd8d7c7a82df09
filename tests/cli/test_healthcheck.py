"""``fattura-sandbox healthcheck``: the same host/port settings as ``serve``, stdlib only, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from emulator.app import create_app
from emulator.commands import healthcheck
from emulator.config import ENV_PREFIX, Config, config_from_env
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sandbox_port() -> Iterator[int]:
    server = make_server("127.0.0.1", 0, create_app(make_config()), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "emulator", "healthcheck", *args],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_healthy_sandbox_on_the_port_of_the_environment(sandbox_port: int) -> None:
    done = _run(env={"FATTURA_SANDBOX_PORT": str(sandbox_port)})
    assert done.returncode == 0, done.stderr
    assert f"http://127.0.0.1:{sandbox_port}/_sandbox/health ok" in done.stderr


def test_flag_wins_over_environment_and_wildcard_host_means_loopback(sandbox_port: int) -> None:
    done = _run(
        "--port", str(sandbox_port), env={"FATTURA_SANDBOX_PORT": "1", "FATTURA_SANDBOX_HOST": "0.0.0.0"}
    )
    assert done.returncode == 0, done.stderr


def test_nothing_listening_is_unhealthy_with_one_line_why() -> None:
    done = _run("--port", "1", "--timeout", "1")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("fattura-sandbox healthcheck: unhealthy: http://127.0.0.1:1/_sandbox/health")
    assert "not reachable" in lines[0]


def test_bad_port_in_the_environment_is_a_usage_error() -> None:
    done = _run(env={"FATTURA_SANDBOX_PORT": "eighty"})
    assert done.returncode == 2
    assert "FATTURA_SANDBOX_PORT must be a port number, not 'eighty'" in done.stderr


class _Answer(BaseHTTPRequestHandler):
    status = 200
    body = b"{}"

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (503, b'{"status": "ok"}', "answered HTTP 503"),
        (200, b'{"status": "starting"}', "answered 200 with status 'starting', not 'ok'"),
        (200, b"<html>", "answered 200 but not with JSON"),
    ],
)
def test_a_server_that_is_not_ready_is_unhealthy(status: int, body: bytes, reason: str) -> None:
    handler = type("Handler", (_Answer,), {"status": status, "body": body})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = healthcheck.health_url("127.0.0.1", server.server_port)
        result = healthcheck.check(url, timeout=5)
    finally:
        server.shutdown()
    assert not result.healthy
    assert result.reason == f"{url} {reason}"


def test_settings_resolve_like_the_servers_config() -> None:
    # healthcheck cannot import emulator.config (it imports SQLAlchemy): its defaults and names must agree.
    assert (Config().host, Config().port) == (healthcheck.DEFAULT_HOST, healthcheck.DEFAULT_PORT)
    assert healthcheck.HOST_ENV == ENV_PREFIX + "HOST" and healthcheck.PORT_ENV == ENV_PREFIX + "PORT"
    env = {"FATTURA_SANDBOX_HOST": "10.1.2.3", "FATTURA_SANDBOX_PORT": "9100"}
    served = config_from_env(env)
    assert healthcheck.resolve_target(None, None, env) == (served.host, served.port)
    assert healthcheck.resolve_target("::", 9000, {}) == ("::1", 9000)
    assert healthcheck.health_url("::1", 9000) == "http://[::1]:9000/_sandbox/health"
    with pytest.raises(ValueError, match="between 1 and 65535"):
        healthcheck.resolve_target(None, 70000, {})


def test_runs_without_flask_or_sqlalchemy_and_fast() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); from emulator.cli import main; "
        "rc = main(['healthcheck', '--port', '1', '--timeout', '1']); "
        "print(rc, 'flask' in sys.modules, 'sqlalchemy' in sys.modules, time.perf_counter() - t)"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    elapsed = time.perf_counter() - started
    rc, flask, sqlalchemy, inside = done.stdout.split()
    assert (rc, flask, sqlalchemy) == ("1", "False", "False")
    # 0.12-0.25 s measured (target 0.5 s); the margin is for a loaded test machine.
    assert float(inside) < 1.0
    assert elapsed < 5  # interpreter start included, on a loaded machine


def test_json_is_what_the_health_endpoint_answers(sandbox_port: int) -> None:
    result = healthcheck.check(healthcheck.health_url("127.0.0.1", sandbox_port), timeout=5)
    assert result.healthy
    assert json.loads(json.dumps({"reason": result.reason}))["reason"].endswith(" ok")
