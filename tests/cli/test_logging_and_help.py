"""``--log-format text|json`` (flag before or after the command, or FATTURA_SANDBOX_LOG_FORMAT), the
access log of ``serve``, and ``--help`` complete on every command."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from werkzeug.test import Client

from emulator.app import create_app
from emulator.cli import _parser, main
from emulator.commands.access_log import AccessLog
from emulator.commands.logs import JsonFormatter, resolve_log_format
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parents[2]


def _fresh_root() -> None:
    """No handler, as in a fresh process (pytest adds its capture handlers for each test phase)."""
    logging.getLogger().handlers[:] = []


def _root_formatter() -> logging.Formatter | None:
    handlers = logging.getLogger().handlers
    return handlers[0].formatter if handlers else None


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield None
    root.handlers[:] = saved
    root.setLevel(level)


def test_json_lines_have_the_documented_keys() -> None:
    record = logging.LogRecord("fattura_sandbox.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.method, record.path, record.status, record.duration_ms = "GET", "/x", 200, 1.5
    line = json.loads(JsonFormatter().format(record))
    assert set(line) == {"timestamp", "level", "logger", "message", "method", "path", "status", "duration_ms"}
    assert (line["level"], line["logger"], line["message"], line["status"]) == (
        "INFO",
        "fattura_sandbox.access",
        "GET /x",
        200,
    )
    assert line["timestamp"].endswith("+00:00")


@pytest.mark.parametrize(
    "argv",
    [
        ["--log-format", "json", "validate", "missing.xml"],
        ["validate", "missing.xml", "--log-format", "json"],
    ],
)
def test_flag_before_or_after_the_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _fresh_root()
    assert main(argv) == 2
    assert isinstance(_root_formatter(), JsonFormatter)
    capsys.readouterr()


def test_logging_configured_by_the_host_process_is_left_alone(capsys: pytest.CaptureFixture[str]) -> None:
    _fresh_root()
    mine = logging.NullHandler()
    logging.getLogger().addHandler(mine)
    assert main(["--log-format", "json", "validate", "missing.xml"]) == 2
    assert logging.getLogger().handlers == [mine]
    capsys.readouterr()


def test_environment_and_its_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FATTURA_SANDBOX_LOG_FORMAT", "json")
    assert resolve_log_format(None) == "json"
    assert resolve_log_format("text") == "text"  # the flag wins
    monkeypatch.setenv("FATTURA_SANDBOX_LOG_FORMAT", "xml")
    assert main(["validate", "missing.xml"]) == 2
    assert (
        "FATTURA_SANDBOX_LOG_FORMAT / --log-format must be one of text, json, not 'xml'"
        in capsys.readouterr().err
    )


def test_access_log_records_every_request(caplog: pytest.LogCaptureFixture) -> None:
    client = Client(AccessLog(create_app(make_config())))
    with caplog.at_level(logging.INFO, logger="fattura_sandbox.access"):
        assert client.get("/_sandbox/health").status_code == 200
        assert client.get("/_sandbox/nowhere").status_code == 404
    records = [r for r in caplog.records if r.name == "fattura_sandbox.access"]
    assert [(r.method, r.path, r.status) for r in records] == [  # type: ignore[attr-defined]
        ("GET", "/_sandbox/health", 200),
        ("GET", "/_sandbox/nowhere", 404),
    ]
    assert all(r.duration_ms >= 0 for r in records)  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["path"] == "/_sandbox/health" and line["status"] == 200


def test_serve_access_log_is_off_unless_asked() -> None:
    assert _parser().parse_args(["serve"]).access_log is None
    assert _parser().parse_args(["serve", "--access-log", "--log-format", "json"]).access_log is True


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())


COMMANDS = ["serve", "healthcheck", "seed", "invoice generate", "validate", "contract-test", "certify"]


def test_top_level_help_lists_every_command_with_its_purpose(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys)
    for command in COMMANDS:
        assert f" {command} " in text
    assert "FATTURA_SANDBOX_LOG_FORMAT" in text
    assert "examples:" in text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            "serve",
            [
                "--host",
                "FATTURA_SANDBOX_HOST",
                "default 127.0.0.1",
                "--port",
                "FATTURA_SANDBOX_PORT",
                "default 8080",
                "--db",
                "FATTURA_SANDBOX_DB",
                "--xsd-dir",
                "FATTURA_SANDBOX_XSD_DIR",
                "--accounts-file",
                "FATTURA_SANDBOX_ACCOUNTS_FILE",
                "--seed",
                "FATTURA_SANDBOX_SEED",
                "--frozen-clock",
                "FATTURA_SANDBOX_CLOCK_FROZEN",
                "FATTURA_SANDBOX_JOURNAL_BODY_LIMIT",
                "FATTURA_SANDBOX_JOURNAL_MAX_ENTRIES",
                "--threads",
                "--access-log",
                "FATTURA_SANDBOX_ACCESS_LOG",
                "--log-format",
                "FATTURA_SANDBOX_LOG_FORMAT",
            ],
        ),
        (
            "healthcheck",
            [
                "--host",
                "FATTURA_SANDBOX_HOST",
                "--port",
                "FATTURA_SANDBOX_PORT",
                "default 8080",
                "--timeout",
                "default 3",
                "/_sandbox/health",
            ],
        ),
        (
            "seed",
            [
                "--invoices",
                "--db",
                "FATTURA_SANDBOX_DB",
                "--provider",
                "--tenant",
                "--seed",
                "--months",
                "--batch-size",
                "default 500",
                "--quiet",
                "--format",
            ],
        ),
        (
            "invoice generate",
            [
                "--type",
                "--pa",
                "--simplified",
                "--supplier",
                "--customer",
                "--outcome",
                "NS:<code>",
                "--seed",
                "--signed",
                "--xsd-dir",
                "--date",
            ],
        ),
        ("validate", ["FILE", "--xsd-dir", "FATTURA_SANDBOX_XSD_DIR", "--format", "Exit status"]),
        ("contract-test", ["--provider", "--base-url", "--max-examples", "default 30", "--junit"]),
        ("certify", ["--provider", "--scenario", "default happy-path", "--report"]),
    ],
)
def test_every_command_documents_its_options(
    capsys: pytest.CaptureFixture[str], command: str, expected: list[str]
) -> None:
    text = _help(capsys, *command.split())
    for item in expected:
        assert item in text, item
    assert "examples:" in text


def test_serve_in_json_writes_only_json_lines(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FATTURA_SANDBOX_")}
    env.update({"FATTURA_SANDBOX_LOG_FORMAT": "json", "FATTURA_SANDBOX_ACCESS_LOG": "1"})
    stdout, stderr = tmp_path / "out.log", tmp_path / "err.log"
    with stdout.open("w") as out_file, stderr.open("w") as err_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--db", str(tmp_path / "s.db")],
            env=env,
            cwd=ROOT,
            stdout=out_file,
            stderr=err_file,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20
            while main(["healthcheck", "--port", str(port), "--quiet", "--timeout", "1"]) != 0:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
            # The access record is written once the answer has gone: wait for it before stopping.
            while '"fattura_sandbox.access"' not in stderr.read_text():
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        finally:
            process.terminate()
            process.wait(timeout=20)
    assert stdout.read_text() == ""
    lines = [json.loads(line) for line in stderr.read_text().splitlines()]
    assert lines[0]["message"].startswith(f"fattura-sandbox listening on http://127.0.0.1:{port}")
    access = [line for line in lines if line["logger"] == "fattura_sandbox.access"]
    assert access[-1]["path"] == "/_sandbox/health" and access[-1]["status"] == 200
    assert {"timestamp", "level", "logger", "message", "method", "duration_ms"} <= set(access[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
