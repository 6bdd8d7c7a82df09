"""Openapi.it authentication: the OAuth token call, bearer checks in virtual time, scopes."""

from __future__ import annotations

import base64

from flask.testing import FlaskClient

from tests.conftest import advance

TOKEN = "0605df661073c2a58bb2908a3537beb624c1dfe9"
UNAUTHORIZED = {"data": None, "success": False, "message": "Unauthorized", "error": 401}


def basic(user: str = "sandbox@example.com", key: str = "sandbox") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def issue(client: FlaskClient, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    response = client.post("/openapi/oauth/tokens", json=body, headers=headers or basic())
    return response.status_code, response.get_json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_issued_with_scopes_and_ttl(client: FlaskClient) -> None:
    scopes = ["GET:test.invoice.openapi.com/IT-configurations"]
    status, body = issue(client, {"scopes": scopes, "ttl": 3600, "name": "ci"})
    assert status == 200
    assert body["success"] is True and body["error"] is None and body["message"] == ""
    data = body["data"]
    assert data["scopes"] == scopes and data["name"] == "ci"
    assert len(data["token"]) == 40
    assert len(data["id"]) == 24 and all(c in "0123456789abcdef" for c in data["id"])
    # 2026-03-02T09:00:00+01:00 + 1 hour, as a Unix time
    assert data["expire"] == 1772438400 + 3600
    response = client.get("/openapi/IT-configurations", headers=bearer(data["token"]))
    assert response.status_code == 200
    assert response.get_json() == {"data": [], "success": True, "message": "", "error": None}


def test_token_default_ttl_is_a_year(client: FlaskClient) -> None:
    status, body = issue(client, {"scopes": ["*:invoice.openapi.com/"]})
    assert status == 200
    assert body["data"]["expire"] == 1772438400 + 365 * 24 * 3600
    assert body["data"]["name"] is None


def test_token_wrong_credentials_401(client: FlaskClient) -> None:
    for headers in (
        basic(key="wrong"),
        basic(user="nobody@example.com"),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer " + TOKEN},
        {},
    ):
        response = client.post(
            "/openapi/oauth/tokens", json={"scopes": ["*:invoice.openapi.com/"]}, headers=headers
        )
        assert response.status_code == 401
        assert response.get_json() == UNAUTHORIZED
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_token_validation_422(client: FlaskClient) -> None:
    cases = [
        ({}, "missing scopes array", 70),
        ({"scopes": []}, "missing scopes array", 70),
        ({"scopes": "GET:invoice.openapi.com/"}, "missing scopes array", 70),
        ({"scopes": ["invoice.openapi.com"]}, "invalid scopes format", 80),
        ({"scopes": ["FETCH:invoice.openapi.com/"]}, "invalid scopes format", 80),
        ({"scopes": ["GET:company.openapi.com/"]}, "Invalid scopes specified or API not enabled", 90),
        (
            {"scopes": ["*:invoice.openapi.com/"], "ttl": 0},
            "ttl must be an integer from 1 to 31536000 seconds",
            100,
        ),
        (
            {"scopes": ["*:invoice.openapi.com/"], "ttl": 31536001},
            "ttl must be an integer from 1 to 31536000 seconds",
            100,
        ),
        (
            {"scopes": ["*:invoice.openapi.com/"], "ttl": "60"},
            "ttl must be an integer from 1 to 31536000 seconds",
            100,
        ),
        (
            {"scopes": ["*:invoice.openapi.com/"], "ttl": True},
            "ttl must be an integer from 1 to 31536000 seconds",
            100,
        ),
        ({"scopes": ["*:invoice.openapi.com/"], "name": 5}, "name must be a string", 110),
    ]
    for payload, message, code in cases:
        status, body = issue(client, payload)
        assert status == 422, payload
        assert body == {"data": None, "success": False, "message": message, "error": code}


def test_token_body_not_json(client: FlaskClient) -> None:
    response = client.post(
        "/openapi/oauth/tokens", data="x", content_type="application/json", headers=basic()
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "data": None,
        "success": False,
        "message": "Invalid JSON body",
        "error": 400,
    }
    response = client.post("/openapi/oauth/tokens", json=["a"], headers=basic())
    assert response.status_code == 400
    assert response.get_json() == {
        "data": None,
        "success": False,
        "message": "Invalid JSON body",
        "error": 400,
    }


def test_bearer_missing_or_unknown_401(client: FlaskClient) -> None:
    for headers in ({}, bearer("nope"), {"Authorization": "Bearer "}, {"Authorization": f"Token {TOKEN}"}):
        response = client.get("/openapi/IT-configurations", headers=headers)
        assert response.status_code == 401
        assert response.get_json() == UNAUTHORIZED
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_token_expires_in_virtual_time(client: FlaskClient) -> None:
    _, body = issue(client, {"scopes": ["*:test.invoice.openapi.com/"], "ttl": 60})
    token = body["data"]["token"]
    advance(client, 59)
    assert client.get("/openapi/IT-configurations", headers=bearer(token)).status_code == 200
    advance(client, 1)
    response = client.get("/openapi/IT-configurations", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json() == UNAUTHORIZED


def test_scope_not_covering_the_call_403(client: FlaskClient) -> None:
    _, body = issue(client, {"scopes": ["GET:invoice.openapi.com/IT-invoices"]})
    token = body["data"]["token"]
    response = client.get("/openapi/IT-configurations", headers=bearer(token))
    assert response.status_code == 403
    assert response.get_json() == {
        "data": None,
        "success": False,
        "message": "Permission denied: the token has no scope for GET /IT-configurations",
        "error": 403,
    }
    response = client.post("/openapi/IT-invoices", json={}, headers=bearer(token))
    assert response.status_code == 403
    assert response.get_json()["message"] == "Permission denied: the token has no scope for POST /IT-invoices"


def test_scope_method_and_wildcards(client: FlaskClient) -> None:
    _, body = issue(client, {"scopes": ["*:test.invoice.openapi.com/IT-configurations"]})
    token = body["data"]["token"]
    assert client.get("/openapi/IT-configurations", headers=bearer(token)).status_code == 200
    assert client.get("/openapi/IT-configurations/31847260010", headers=bearer(token)).status_code == 404
    _, body = issue(client, {"scopes": ["GET:invoice.openapi.com/IT-configurations"]})
    token = body["data"]["token"]
    response = client.post("/openapi/IT-configurations", json={}, headers=bearer(token))
    assert response.status_code == 403


def test_ready_made_token_calls_everything_and_never_expires(client: FlaskClient) -> None:
    advance(client, 2 * 365 * 24 * 3600)
    response = client.get("/openapi/IT-configurations", headers=bearer(TOKEN))
    assert response.status_code == 200
    response = client.post(
        "/openapi/IT-configurations",
        json={"fiscal_id": "31847260010", "name": "Sandbox", "email": "a@example.com"},
        headers=bearer(TOKEN),
    )
    assert response.status_code == 200


def test_issued_token_acts_as_its_account(client: FlaskClient) -> None:
    _, body = issue(client, {"scopes": ["*:invoice.openapi.com/"]}, basic("other@example.com", "other"))
    token = body["data"]["token"]
    response = client.post(
        "/openapi/IT-configurations",
        json={"fiscal_id": "27609130722", "name": "Other", "email": "o@example.com"},
        headers=bearer(token),
    )
    assert response.status_code == 200
    response = client.get("/openapi/IT-configurations", headers=bearer(TOKEN))
    assert response.get_json()["data"] == []
