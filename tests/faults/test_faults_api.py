"""/_sandbox/faults: create (validation, order, position), list, delete one or all, reset."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from emulator.faults import service
from tests.faults.helpers import add_rule, rules

ERROR_503 = {"type": "error", "status": 503}


def test_created_rule_is_listed_with_defaults(client: FlaskClient) -> None:
    rule = add_rule(client, provider="easytracking", path="/api/v4/*", effect=ERROR_503)
    assert rule == {
        "id": 1,
        "order": 0,
        "provider": "easytracking",
        "method": None,
        "path": "/api/v4/*",
        "tenant": None,
        "effect": {"type": "error", "status": 503},
        "count": None,
        "remaining": None,
        "probability": 1.0,
        "expires_at": None,
        "created_at": "2026-03-02T08:00:00+00:00",
        "matched": 0,
        "hits": 0,
        "state": "active",
    }
    assert rules(client) == [rule]


def test_effect_defaults_and_expiry_from_ttl(client: FlaskClient) -> None:
    rule = add_rule(client, provider="aruba", effect={"type": "truncate"}, ttl_seconds=90, count=3)
    assert rule["effect"] == {"type": "truncate", "fraction": 0.5}
    assert rule["expires_at"] == "2026-03-02T08:01:30+00:00"
    assert (rule["count"], rule["remaining"]) == (3, 3)
    absolute = add_rule(
        client, provider="aruba", effect={"type": "drop"}, expires_at="2026-03-02T10:00:00+01:00"
    )
    assert absolute["expires_at"] == "2026-03-02T09:00:00+00:00"


def test_rules_are_ordered_and_position_inserts(client: FlaskClient) -> None:
    first = add_rule(client, provider="acube", effect=ERROR_503)
    second = add_rule(client, provider="aruba", effect={"type": "drop"})
    front = add_rule(client, provider="openapi", effect={"type": "latency", "ms": 5}, position=0)
    middle = add_rule(client, provider="acube", effect={"type": "throttle", "retry_after": 1}, position=2)
    beyond = add_rule(client, provider="acube", effect=ERROR_503, position=99)
    assert (front["order"], middle["order"], beyond["order"]) == (0, 2, 4)
    listed = rules(client)
    assert [r["id"] for r in listed] == [front["id"], first["id"], middle["id"], second["id"], beyond["id"]]
    assert [r["order"] for r in listed] == [0, 1, 2, 3, 4]

    deleted = client.delete(f"/_sandbox/faults/{first['id']}")
    assert deleted.status_code == 204
    listed = rules(client)
    assert [(r["id"], r["order"]) for r in listed] == [
        (front["id"], 0),
        (middle["id"], 1),
        (second["id"], 2),
        (beyond["id"], 3),
    ]


def test_delete_unknown_rule_is_404(client: FlaskClient) -> None:
    for reference in ("42", "abc"):
        response = client.delete(f"/_sandbox/faults/{reference}")
        assert response.status_code == 404
        assert response.get_json() == {
            "error": {"code": "not_found", "message": f"No fault rule {reference}"}
        }


def test_delete_all_and_reset_clear_rules(client: FlaskClient) -> None:
    add_rule(client, provider="acube", effect=ERROR_503)
    add_rule(client, provider="aruba", effect=ERROR_503)
    assert client.delete("/_sandbox/faults").status_code == 204
    assert rules(client) == []
    add_rule(client, provider="aruba", effect=ERROR_503)
    assert client.post("/_sandbox/reset").status_code == 200
    assert rules(client) == []
    # Ids start again after a reset, so a seeded run repeats its probability rolls.
    assert add_rule(client, provider="aruba", effect=ERROR_503)["id"] == 1


def test_too_many_rules_is_409(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_RULES", 2)
    add_rule(client, provider="acube", effect=ERROR_503)
    add_rule(client, provider="acube", effect=ERROR_503)
    response = client.post("/_sandbox/faults", json={"provider": "acube", "effect": ERROR_503})
    assert response.status_code == 409
    assert response.get_json() == {
        "error": {
            "code": "too_many_faults",
            "message": "At most 2 fault rules; delete some (DELETE /_sandbox/faults)",
        }
    }


BASE: dict[str, Any] = {"provider": "easytracking", "effect": ERROR_503}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            [1],
            'The body must be a fault rule like {"provider": "easytracking", "path": "/api/v4/*", '
            '"effect": {"type": "error", "status": 503}}',
        ),
        (
            {**BASE, "colour": "red"},
            "Unknown key(s): colour; a rule takes provider, method, path, tenant, effect, count, "
            "probability, expires_at, ttl_seconds, position",
        ),
        ({"effect": ERROR_503}, "provider must be one of easytracking, aruba, acube, openapi"),
        (
            {"provider": "sdi", "effect": ERROR_503},
            "provider must be one of easytracking, aruba, acube, openapi",
        ),
        ({"provider": "aruba"}, "A rule needs an effect"),
        (
            {**BASE, "method": "get"},
            "method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (upper case), "
            "or null for any",
        ),
        ({**BASE, "path": ""}, "path must be a non-empty string"),
        ({**BASE, "path": "regex:"}, 'path "regex:" needs a regular expression after the prefix'),
        (
            {**BASE, "path": "regex:(unclosed"},
            "path is not a valid regular expression: missing ), unterminated subpattern at position 0",
        ),
        ({**BASE, "tenant": 7}, "tenant must be a non-empty string"),
        (
            {**BASE, "effect": {"type": "explode"}},
            "effect must be an object whose type is one of error, throttle, latency, drop, truncate",
        ),
        ({**BASE, "effect": {"type": "error"}}, "An error effect needs a status (400-599)"),
        ({**BASE, "effect": {"type": "error", "status": 302}}, "effect.status must be between 400 and 599"),
        ({**BASE, "effect": {"type": "error", "status": 500.5}}, "effect.status must be a whole number"),
        ({**BASE, "effect": {"type": "error", "status": True}}, "effect.status must be a number"),
        (
            {**BASE, "effect": {"type": "error", "status": 500, "message": ""}},
            "effect.message must be a non-empty string",
        ),
        (
            {**BASE, "effect": {"type": "drop", "ms": 5}},
            "Unknown key(s) in a drop effect: ms; it takes type",
        ),
        ({**BASE, "effect": {"type": "throttle"}}, "A throttle effect needs retry_after (whole seconds)"),
        (
            {**BASE, "effect": {"type": "throttle", "retry_after": -1}},
            "effect.retry_after must be between 0 and 86400",
        ),
        ({**BASE, "effect": {"type": "latency"}}, "A latency effect needs ms (milliseconds)"),
        (
            {**BASE, "effect": {"type": "latency", "ms": 30001}},
            "effect.ms must be between 0 and 30000 (30 seconds)",
        ),
        (
            {**BASE, "effect": {"type": "truncate", "fraction": 1}},
            "effect.fraction must be >= 0 and < 1 (the part of the body sent)",
        ),
        ({**BASE, "count": 0}, "count must be between 1 and 1000000000"),
        ({**BASE, "probability": 1.5}, "probability must be between 0 and 1"),
        ({**BASE, "probability": "half"}, "probability must be a number"),
        ({**BASE, "ttl_seconds": 0}, "ttl_seconds must be > 0 and at most 100 years"),
        (
            {**BASE, "ttl_seconds": 5, "expires_at": "2026-03-02T10:00:00+01:00"},
            "Give expires_at or ttl_seconds, not both",
        ),
        ({**BASE, "expires_at": "tomorrow"}, "expires_at must be an ISO-8601 date-time with offset"),
        (
            {**BASE, "expires_at": "2026-03-02T10:00:00"},
            "expires_at must carry its offset (2026-03-02T10:00:00+01:00)",
        ),
        ({**BASE, "expires_at": "0001-01-01T00:00:00+05:00"}, "expires_at is out of range"),
        ({**BASE, "position": -1}, "position must be between 0 and 1000000000"),
    ],
)
def test_bad_rules_are_400(client: FlaskClient, payload: Any, message: str) -> None:
    response = client.post("/_sandbox/faults", json=payload)
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "bad_request", "message": message}}
    assert rules(client) == []


def test_body_that_is_not_json_is_400(client: FlaskClient) -> None:
    response = client.post("/_sandbox/faults", data="{", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    assert response.get_json()["error"]["message"].startswith("The request body is not valid JSON")
