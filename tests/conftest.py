"""Shared fixtures: a fresh in-memory sandbox per test, with a frozen virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from emulator.app import create_app
from emulator.config import Config
from emulator.state import Sandbox

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
XSD_DIR = REFERENCE / "xsd"
# A Monday morning in Rome; tests move the clock from here, they never sleep.
START = "2026-03-02T09:00:00+01:00"


def make_config(**overrides: object) -> Config:
    base = Config(
        db=":memory:",
        xsd_dir=XSD_DIR if XSD_DIR.is_dir() else None,
        clock_start=START,
        clock_frozen=True,
        seed=1234,
    )
    return base.with_overrides(**overrides)


@pytest.fixture
def config() -> Config:
    return make_config()


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    application = create_app(config)
    yield application
    application.extensions["fattura_sandbox"].close()


@pytest.fixture
def sandbox(app: Flask) -> Sandbox:
    sandbox: Sandbox = app.extensions["fattura_sandbox"]
    return sandbox


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def advance(client: FlaskClient, seconds: int) -> dict[str, object]:
    response = client.post("/_sandbox/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, object] = response.get_json()
    return body
