"""--no-journal / FATTURA_SANDBOX_JOURNAL=0: nothing is recorded (load tests); on by default."""

from __future__ import annotations

import pytest
from flask import Flask

from emulator.app import create_app
from emulator.cli import _config, _parser
from emulator.config import config_from_env
from tests.conftest import make_config
from tests.providers.easytracking.helpers import bearer, token


def _journalled(app: Flask) -> list[dict[str, object]]:
    client = app.test_client()
    client.get("/easytracking/api/v4/InvoiceNotifications?progressivoInvio=1", headers=bearer(token(client)))
    entries: list[dict[str, object]] = client.get("/_sandbox/journal").get_json()["entries"]
    app.extensions["fattura_sandbox"].close()
    return entries


def test_the_journal_records_by_default() -> None:
    assert config_from_env({}).journal is True
    assert [e["path"] for e in _journalled(create_app(make_config()))] == [
        "/api/Token/AccessToken",
        "/api/v4/InvoiceNotifications",
    ]


def test_switched_off_it_records_nothing_and_the_journal_reads_empty() -> None:
    assert _journalled(create_app(make_config(journal=False))) == []


def test_the_switch_from_the_environment_and_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_from_env({"FATTURA_SANDBOX_JOURNAL": "0"}).journal is False
    assert config_from_env({"FATTURA_SANDBOX_JOURNAL": "on"}).journal is True
    monkeypatch.delenv("FATTURA_SANDBOX_JOURNAL", raising=False)
    assert _config(_parser().parse_args(["serve", "--no-journal"])).journal is False
    assert _config(_parser().parse_args(["serve"])).journal is True
    monkeypatch.setenv("FATTURA_SANDBOX_JOURNAL", "0")
    assert _config(_parser().parse_args(["serve"])).journal is False
