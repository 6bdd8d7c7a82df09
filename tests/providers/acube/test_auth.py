"""A-Cube authentication: POST /login → JWT for 24 virtual hours; Lexik's 401s; API Platform's errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from flask import Blueprint, Flask, Response
from flask.testing import FlaskClient

from emulator.core.http import json_response
from emulator.providers.acube.routes import AcubeApi
from emulator.state import Sandbox
from tests.conftest import advance

LOGIN = "/acube/login"
# A tiny route behind AcubeApi.authenticated, mounted under /acube by this module only: the
# document's simplest authenticated operation (GET /invoices) needs the invoice logic that follows.
PROBE = "/acube/test-only/whoami"
PROBLEM_TYPE = "https://tools.ietf.org/html/rfc2616#section-10"


@pytest.fixture
def client(app: Flask, sandbox: Sandbox) -> Iterator[FlaskClient]:
    api = AcubeApi(sandbox)
    bp = Blueprint("acube_test_only", __name__)

    @bp.get("/whoami")
    def whoami() -> Response:
        return api.authenticated(
            lambda session, account: json_response({"email": account.email, "tenant": account.tenant})
        )

    app.register_blueprint(bp, url_prefix="/acube/test-only")
    yield app.test_client()


def login(client: FlaskClient, email: str = "sandbox@example.com", password: str = "sandbox") -> Any:
    return client.post(LOGIN, json={"email": email, "password": password})


def token_of(client: FlaskClient, email: str = "sandbox@example.com", password: str = "sandbox") -> str:
    response = login(client, email, password)
    assert response.status_code == 200, response.get_data(as_text=True)
    token: str = response.get_json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_lexik_401(response: Any, message: str) -> None:
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    assert response.get_json() == {"code": 401, "message": message}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def assert_problem(response: Any, status: int, detail: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json() == {
        "type": PROBLEM_TYPE,
        "title": "An error occurred",
        "status": status,
        "detail": detail,
    }


# --- login -------------------------------------------------------------------------------------


def test_login_answers_a_token_only(client: FlaskClient) -> None:
    response = login(client)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["token"]
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["username"] == "sandbox@example.com"
    assert claims["roles"] == ["ROLE_USER"]
    assert claims["exp"] - claims["iat"] == 24 * 3600
    # The test clock starts at 2026-03-02 09:00 Europe/Rome = 08:00 UTC (virtual time, not the wall's).
    assert claims["iat"] == 1772438400


def test_each_seeded_account_signs_in_as_itself(client: FlaskClient) -> None:
    mine = client.get(PROBE, headers=bearer(token_of(client)))
    assert mine.status_code == 200
    assert mine.get_json() == {"email": "sandbox@example.com", "tenant": "sandbox"}
    other = client.get(PROBE, headers=bearer(token_of(client, "other@example.com", "other")))
    assert other.get_json() == {"email": "other@example.com", "tenant": "other"}


def test_the_email_is_case_insensitive(client: FlaskClient) -> None:
    assert login(client, "Sandbox@Example.COM").status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("sandbox@example.com", "wrong"),
        ("sandbox@example.com", "Sandbox"),
        ("sandbox@example.com", ""),
        ("nobody@example.com", "sandbox"),
        ("", "sandbox"),
        ("sandbox", "sandbox"),  # the username is not the login; the e-mail is
        ("other@example.com", "sandbox"),  # another account's password
        ("sandbox@example.com", "\ud800"),  # a lone surrogate is a valid JSON string
    ],
)
def test_wrong_credentials_are_lexiks_401(client: FlaskClient, email: str, password: str) -> None:
    assert_lexik_401(login(client, email, password), "Invalid credentials.")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"password": "sandbox"}, 'The key "email" must be provided.'),
        ({"email": "sandbox@example.com"}, 'The key "password" must be provided.'),
        ({}, 'The key "email" must be provided.'),
        ({"email": 1, "password": "sandbox"}, 'The key "email" must be a string.'),
        ({"email": None, "password": "sandbox"}, 'The key "email" must be a string.'),
        ({"email": "sandbox@example.com", "password": ["sandbox"]}, 'The key "password" must be a string.'),
        ([{"email": "sandbox@example.com", "password": "sandbox"}], "Invalid JSON."),
        ("sandbox", "Invalid JSON."),
        (42, "Invalid JSON."),
    ],
)
def test_malformed_bodies_are_400_problems(client: FlaskClient, body: Any, detail: str) -> None:
    assert_problem(client.post(LOGIN, json=body), 400, detail)


def test_a_json_null_body_is_400(client: FlaskClient) -> None:
    response = client.post(LOGIN, data="null", content_type="application/json")
    assert_problem(response, 400, "Invalid JSON.")


@pytest.mark.parametrize("raw", [b"", b"{", b"{'email': 'x'}", b"\xff\xfe\x00", b"[" * 100_000])
def test_unparsable_json_is_400(client: FlaskClient, raw: bytes) -> None:
    response = client.post(LOGIN, data=raw, content_type="application/json")
    assert_problem(response, 400, "Invalid JSON.")


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        (None, "none"),
    ],
)
def test_a_body_not_declared_json_is_415(client: FlaskClient, content_type: str | None, shown: str) -> None:
    kwargs: dict[str, Any] = {"data": '{"email": "sandbox@example.com", "password": "sandbox"}'}
    if content_type is not None:
        kwargs["content_type"] = content_type
    response = client.post(LOGIN, **kwargs)
    assert_problem(
        response,
        415,
        f'The content-type "{shown}" is not supported. Supported MIME types are "application/json".',
    )


def test_a_json_ld_body_is_accepted(client: FlaskClient) -> None:
    response = client.post(
        LOGIN,
        data='{"email": "sandbox@example.com", "password": "sandbox"}',
        content_type="application/ld+json",
    )
    assert response.status_code == 200


def test_errors_are_hydra_when_the_client_asks_for_json_ld(client: FlaskClient) -> None:
    response = client.post(LOGIN, json={"email": 1}, headers={"Accept": "application/ld+json"})
    assert response.status_code == 400
    assert response.mimetype == "application/ld+json"
    assert response.get_json() == {
        "@context": "/contexts/Error",
        "@type": "hydra:Error",
        "hydra:title": "An error occurred",
        "hydra:description": 'The key "email" must be a string.',
    }


def test_login_only_accepts_post(client: FlaskClient) -> None:
    response = client.get(LOGIN)
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 405
    assert "POST" in response.headers["Allow"]


def test_there_is_no_refresh_endpoint(client: FlaskClient) -> None:
    response = client.post("/acube/token/refresh", json={"refresh_token": "x"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


# --- the bearer JWT ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic c2FuZGJveDpzYW5kYm94"},
        {"Authorization": "Bearer a b"},
        {"Authorization": "JWT abc"},
    ],
)
def test_no_bearer_token_is_jwt_token_not_found(client: FlaskClient, headers: dict[str, str]) -> None:
    assert_lexik_401(client.get(PROBE, headers=headers), "JWT Token not found")


def test_the_bearer_prefix_is_case_insensitive(client: FlaskClient) -> None:
    response = client.get(PROBE, headers={"Authorization": f"bearer {token_of(client)}"})
    assert response.status_code == 200


def _forged(**changes: Any) -> str:
    claims: dict[str, Any] = {
        "iat": 1772438400,
        "exp": 1772438400 + 86400,
        "roles": ["ROLE_USER"],
        "username": "sandbox@example.com",
        "iss": "fattura-sandbox/acube",
    }
    claims.update(changes)
    return jwt.encode(claims, "not-the-sandbox-secret-but-long-enough-for-hs256", algorithm="HS256")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b.c",
        _forged(),
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1c2VybmFtZSI6InNhbmRib3hAZXhhbXBsZS5jb20ifQ.",
    ],
)
def test_a_token_the_sandbox_did_not_sign_is_invalid(client: FlaskClient, token: str) -> None:
    assert_lexik_401(client.get(PROBE, headers={"Authorization": f"Bearer {token}"}), "Invalid JWT Token")


def test_a_tampered_token_is_invalid(client: FlaskClient) -> None:
    header, payload, signature = token_of(client).split(".")
    other_payload = token_of(client, "other@example.com", "other").split(".")[1]
    tampered = f"{header}.{other_payload}.{signature}"
    assert_lexik_401(client.get(PROBE, headers=bearer(tampered)), "Invalid JWT Token")
    assert payload != other_payload


def test_the_token_lasts_24_hours_of_virtual_time(client: FlaskClient) -> None:
    token = token_of(client)
    advance(client, 24 * 3600 - 1)
    assert client.get(PROBE, headers=bearer(token)).status_code == 200
    advance(client, 1)
    assert_lexik_401(client.get(PROBE, headers=bearer(token)), "Expired JWT Token")
    # Logging in again is the only way on, as at A-Cube.
    fresh = token_of(client)
    assert client.get(PROBE, headers=bearer(fresh)).status_code == 200


def test_a_reset_invalidates_every_token(client: FlaskClient) -> None:
    token = token_of(client)
    assert client.post("/_sandbox/reset").status_code == 200
    assert_lexik_401(client.get(PROBE, headers=bearer(token)), "Invalid JWT Token")
    # The seeded accounts are back and sign in again.
    assert client.get(PROBE, headers=bearer(token_of(client))).status_code == 200


def test_tokens_survive_a_restart_of_the_same_database(tmp_path: Any) -> None:
    from emulator.app import create_app
    from tests.conftest import make_config

    config = make_config(db=str(tmp_path / "sandbox.db"))
    first = create_app(config)
    try:
        token = token_of(first.test_client())
    finally:
        first.extensions["fattura_sandbox"].close()
    second = create_app(config)
    try:
        sandbox: Sandbox = second.extensions["fattura_sandbox"]
        with second.test_request_context(headers=bearer(token)):
            assert AcubeApi(sandbox).authenticated(
                lambda session, account: json_response({"email": account.email})
            ).get_json() == {"email": "sandbox@example.com"}
    finally:
        second.extensions["fattura_sandbox"].close()


def test_other_providers_do_not_accept_acube_tokens(client: FlaskClient) -> None:
    token = token_of(client)
    aruba = client.get("/aruba/auth/userInfo", headers=bearer(token))
    assert aruba.status_code == 401
    assert aruba.get_json()["error"] == "unauthorized"
    aruba_signin = client.post(
        "/aruba/auth/signin",
        data={"grant_type": "password", "username": "sandbox", "password": "sandbox"},
    )
    assert aruba_signin.status_code == 200


def test_other_providers_errors_keep_their_own_format(client: FlaskClient) -> None:
    response = client.post("/aruba/auth/signin", json={})
    assert response.status_code == 400
    assert set(response.get_json()) == {"error", "error_description"}


def test_the_sandbox_lists_acube_and_resolves_no_acube_reference_yet(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    providers = client.get("/_sandbox/health").get_json()["providers"]
    assert providers == ["easytracking", "aruba", "acube", "openapi"]
    from emulator.providers.acube import PROVIDER

    with sandbox.transaction() as session:
        assert PROVIDER.resolve_invoice(session, "095be615-a8ad-4c33-8e9c-c7612fbf6c9f") == []
