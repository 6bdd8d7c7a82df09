"""Which requests a rule hits: provider, method, path (glob or regex), tenant; count, probability
(seeded, repeatable), expiry in virtual time, order (first rule that fires wins)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from emulator.app import create_app
from emulator.faults.service import path_matches
from tests.conftest import advance, make_config
from tests.faults.helpers import ET_NEW, add_rule, bearer, et_token, rules

ERROR_503 = {"type": "error", "status": 503}


def test_rule_matches_its_provider_only_and_never_the_control_api(client: FlaskClient) -> None:
    add_rule(client, provider="aruba", effect=ERROR_503)
    assert client.get("/aruba/auth/userInfo").status_code == 503
    assert client.get(ET_NEW).status_code == 401  # Easy Tracking served normally
    assert client.get("/_sandbox/health").status_code == 200


def test_rule_matches_method(client: FlaskClient) -> None:
    add_rule(client, provider="easytracking", method="POST", effect=ERROR_503)
    assert client.get(ET_NEW).status_code == 401
    assert client.post(ET_NEW).status_code == 503


def test_rule_matches_path_glob_and_regex(client: FlaskClient) -> None:
    add_rule(client, provider="easytracking", path="/api/v4/InvoiceNotifications/*", effect=ERROR_503)
    add_rule(
        client,
        provider="easytracking",
        path="regex:/api/v[0-9]+/ActiveInvoices(/.*)?",
        effect={"type": "error", "status": 502},
    )
    assert client.get(ET_NEW).status_code == 503
    assert client.get("/easytracking/api/v4/ActiveInvoices/abc").status_code == 502
    assert client.get("/easytracking/api/v2/ActiveInvoices").status_code == 502
    # Query strings are not part of the path; other paths are served.
    assert client.get(ET_NEW + "?top=5").status_code == 503
    assert client.get("/easytracking/api/v4/PassiveInvoices").status_code != 503


def test_path_syntax() -> None:
    assert path_matches("/api/v4/*", "/api/v4/a/b")
    assert not path_matches("/api/v4/*", "/api/v40")
    assert not path_matches("/API/*", "/api/v4")  # case-sensitive
    assert path_matches("/api/v?/x", "/api/v4/x")
    assert path_matches("regex:/api/v[24]/x", "/api/v2/x")
    assert not path_matches("regex:/api/v[24]/x", "/api/v2/x/y")  # the whole path
    assert not path_matches("regex:/api", "/api/v2")


def test_rule_matches_tenant(client: FlaskClient) -> None:
    sandbox_token = et_token(client, "sandbox")
    other_token = et_token(client, "other")
    add_rule(client, provider="easytracking", tenant="other", effect=ERROR_503)
    assert client.get(ET_NEW, headers=bearer(sandbox_token)).status_code == 200
    assert client.get(ET_NEW, headers=bearer(other_token)).status_code == 503
    assert client.get(ET_NEW).status_code == 401  # no credentials: no tenant, no fault
    # A login call names the tenant of its credentials.
    body = {"apiName": "a", "clientName": "b", "clientSecret": "c", "username": "other", "password": "other"}
    assert client.post("/easytracking/api/Token/AccessToken", json=body).status_code == 503


def test_count_spends_the_rule(client: FlaskClient) -> None:
    rule = add_rule(client, provider="easytracking", effect=ERROR_503, count=2)
    assert [client.get(ET_NEW).status_code for _ in range(4)] == [503, 503, 401, 401]
    (listed,) = rules(client)
    assert (listed["id"], listed["remaining"], listed["hits"], listed["matched"], listed["state"]) == (
        rule["id"],
        0,
        2,
        2,
        "spent",
    )


def test_first_rule_that_fires_wins_and_spent_rules_let_the_next_one_fire(client: FlaskClient) -> None:
    add_rule(client, provider="easytracking", effect={"type": "error", "status": 500})
    add_rule(client, provider="easytracking", effect={"type": "error", "status": 502}, count=1, position=0)
    assert [client.get(ET_NEW).status_code for _ in range(3)] == [502, 500, 500]
    assert [(r["hits"], r["state"]) for r in rules(client)] == [(1, "spent"), (2, "active")]


def test_rule_that_does_not_fire_lets_the_next_one_try(client: FlaskClient) -> None:
    add_rule(client, provider="easytracking", effect=ERROR_503, probability=0)
    add_rule(client, provider="easytracking", effect={"type": "error", "status": 500})
    assert client.get(ET_NEW).status_code == 500
    assert [(r["matched"], r["hits"]) for r in rules(client)] == [(1, 0), (1, 1)]


def test_expiry_in_virtual_time(client: FlaskClient) -> None:
    add_rule(client, provider="easytracking", effect=ERROR_503, ttl_seconds=60)
    add_rule(
        client,
        provider="easytracking",
        effect={"type": "error", "status": 500},
        expires_at="2026-03-02T09:05:00+01:00",
    )
    assert client.get(ET_NEW).status_code == 503
    advance(client, 59)
    assert client.get(ET_NEW).status_code == 503
    advance(client, 1)
    assert client.get(ET_NEW).status_code == 500
    advance(client, 240)
    assert client.get(ET_NEW).status_code == 401
    assert [r["state"] for r in rules(client)] == ["expired", "expired"]


def _pattern(app: Flask, requests: int = 24) -> tuple[list[int], dict[str, object]]:
    client = app.test_client()
    add_rule(client, provider="easytracking", effect=ERROR_503, probability=0.5)
    statuses = [client.get(ET_NEW).status_code for _ in range(requests)]
    (rule,) = rules(client)
    return statuses, rule


def test_probability_is_repeatable_with_a_seed(app: Flask) -> None:
    statuses, rule = _pattern(app)
    assert {503, 401} == set(statuses)
    assert rule["hits"] == statuses.count(503)
    assert rule["matched"] == 24
    again = create_app(make_config())
    other_seed = create_app(make_config(seed=99))
    try:
        assert _pattern(again)[0] == statuses
        assert _pattern(other_seed)[0] != statuses
        # After a reset the same seed fires the same pattern again.
        client = again.test_client()
        assert client.post("/_sandbox/reset").status_code == 200
        assert _pattern(again)[0] == statuses
    finally:
        again.extensions["fattura_sandbox"].close()
        other_seed.extensions["fattura_sandbox"].close()
