"""Certification through the control API, and the player's steps (in-process, a fake clock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from emulator.app import create_app
from emulator.certify.control import AppControl
from emulator.certify.player import Player, invoice_candidates
from emulator.certify.scenario import parse
from tests.conftest import make_config
from tests.providers.easytracking.helpers import SANDBOX_VAT, bearer, invoice, token, upload


@pytest.fixture
def app() -> Iterator[Flask]:
    application = create_app(make_config())
    yield application
    application.extensions["fattura_sandbox"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_session_judges_the_requests_made_while_open(client: FlaskClient) -> None:
    before = token(client)  # before the session: not judged
    opened = client.post(
        "/_sandbox/certification", json={"provider": "easytracking", "scenario": "happy-path"}
    )
    assert opened.status_code == 201, opened.get_json()
    session = opened.get_json()
    assert session["status"] == "running" and session["scenario"]["name"] == "happy-path"
    env = session["env"]
    assert env["FATTURA_SANDBOX_BASE_URL"] == "http://localhost/easytracking"
    assert env["FATTURA_SANDBOX_VAT"] == SANDBOX_VAT and env["FATTURA_SANDBOX_INVOICES"] == "1"
    assert env["FATTURA_SANDBOX_USERNAME"] == "sandbox"

    early = client.get(f"/_sandbox/certification/{session['id']}/report.html")
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "not_finished"

    for _ in range(3):  # a naive client: a token per call
        tok = token(client)
        assert upload(client, tok, invoice(progressive=f"S{_}")).status_code == 200
    assert before  # reused nowhere

    finished = client.post(f"/_sandbox/certification/{session['id']}/finish")
    assert finished.status_code == 200
    report = finished.get_json()
    assert report["mode"] == "session" and report["requests"] == 6
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["token-reuse"]["verdict"] == "fail"
    assert checks["invoices-sent"]["verdict"] == "pass"
    assert report["passed"] is False
    assert client.post(f"/_sandbox/certification/{session['id']}/finish").get_json() == report
    page = client.get(f"/_sandbox/certification/{session['id']}/report.html")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b"token-reuse" in page.data
    assert client.get(f"/_sandbox/certification/{session['id']}").get_json()["status"] == "finished"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"provider": "nope"}, "provider must be one of"),
        ({"provider": "aruba", "scenario": "nope"}, "scenario must be one of"),
        ([1], "The body must be"),
    ],
)
def test_session_bad_requests(client: FlaskClient, body: object, message: str) -> None:
    response = client.post("/_sandbox/certification", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]["message"]


def test_unknown_session(client: FlaskClient) -> None:
    for response in (
        client.get("/_sandbox/certification/c99"),
        client.post("/_sandbox/certification/c99/finish"),
        client.get("/_sandbox/certification/c99/report.html"),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["message"] == "No certification session c99"


SCENARIO = """
name: player
run_seconds: 5
invoices: 1
steps:
  - {after: upload, at: 1, action: outcome, type: NS, errors: [{code: "00305"}]}
  - {at: 2, action: incoming, count: 2}
  - {after: request, action: fault, rule: {effect: {type: error, status: 503}, count: 1}}
  - {after: download, action: clock, advance_seconds: 60}
  - {at: 3, action: expire_token}
"""


def test_player_runs_steps_when_their_time_and_condition_come(app: Flask, client: FlaskClient) -> None:
    now = [0.0]
    accounts = client.get("/_sandbox/accounts").get_json()["accounts"]
    account = next(a for a in accounts if a["provider"] == "easytracking" and a["tenant"] == "sandbox")
    player = Player(AppControl(app), parse(SCENARIO), "easytracking", account, clock=lambda: now[0])
    player.tick()
    assert [log.ok for log in player.logs] == [None] * 5

    tok = token(client)  # the first request: the fault step is due
    player.tick()
    assert player.logs[2].ok is True, player.logs[2].detail
    faulted = client.get("/easytracking/api/v4/InvoiceNotifications?progressivoInvio=X", headers=bearer(tok))
    assert faulted.status_code == 503
    progressivo = upload(client, tok, invoice(progressive="P0001")).get_json()["progressivoInvio"]
    player.tick()
    assert player.logs[0].ok is None  # one second after the upload
    now[0] = 1.0
    player.tick()
    assert player.logs[0].ok is True, player.logs[0].detail
    assert progressivo in player.logs[0].detail
    before = datetime.fromisoformat(client.get("/_sandbox/clock").get_json()["now"])
    now[0] = 3.0
    player.tick()
    assert player.logs[1].ok is True and player.logs[4].ok is True
    assert player.logs[3].ok is None and "never came" in player.logs[3].detail
    after = datetime.fromisoformat(client.get("/_sandbox/clock").get_json()["now"])
    assert (after - before).total_seconds() >= 3600 + 60  # past Easy Tracking's token lifetime
    assert player.logs[4].view()["at_seconds"] == 3.0


def test_invoice_candidates_prefer_ids() -> None:
    answer = {"message": "ok", "data": {"id": 42, "uploadFileName": "IT1_0001.xml"}}
    assert invoice_candidates(answer) == ["42", "IT1_0001.xml", "ok"]
    assert invoice_candidates("A0001") == ["A0001"]
