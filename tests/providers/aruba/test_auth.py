"""Aruba §5: signin with the password and refresh_token grants, userInfo, 401 on every other call."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import advance

SIGNIN = "/aruba/auth/signin"
USER_INFO = "/aruba/auth/userInfo"
FULL_AUTHENTICATION = "Full authentication is required to access this resource"
HTTP_DATE = (
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} GMT$"
)


def signin(client: FlaskClient, **form: str) -> Any:
    return client.post(SIGNIN, data=form, content_type="application/x-www-form-urlencoded;charset=UTF-8")


def password_grant(client: FlaskClient, username: str = "sandbox", password: str = "sandbox") -> Any:
    return signin(client, grant_type="password", username=username, password=password)


def test_signin_answers_the_documented_fields(client: FlaskClient) -> None:
    response = password_grant(client)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == [
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "userName",
        "as:client_id",
        ".issued",
        ".expires",
    ]
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    assert body["userName"] == "sandbox"
    assert body["as:client_id"] == "Auth"
    # The test clock starts at 2026-03-02 09:00 Europe/Rome = 08:00 GMT.
    assert body[".issued"] == "Mon, 02 Mar 2026 08:00:00 GMT"
    assert body[".expires"] == "Mon, 02 Mar 2026 08:30:00 GMT"
    assert body["access_token"] != body["refresh_token"]


@pytest.mark.parametrize(
    ("form", "error", "fragment"),
    [
        (
            {"grant_type": "password", "username": "sandbox", "password": "wrong"},
            "invalid_grant",
            "incorrect",
        ),
        (
            {"grant_type": "password", "username": "nobody", "password": "sandbox"},
            "invalid_grant",
            "incorrect",
        ),
        ({"grant_type": "password", "username": "sandbox"}, "invalid_grant", "incorrect"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant", "refresh token"),
        ({"grant_type": "refresh_token"}, "invalid_grant", "refresh token"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type", "client_credentials"),
        ({"username": "sandbox", "password": "sandbox"}, "unsupported_grant_type", "grant_type"),
    ],
)
def test_signin_errors_are_oauth_errors(
    client: FlaskClient, form: dict[str, str], error: str, fragment: str
) -> None:
    response = signin(client, **form)
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert fragment in body["error_description"]


def test_the_documented_wrong_password_message(client: FlaskClient) -> None:
    body = password_grant(client, password="nope").get_json()
    assert body == {"error": "invalid_grant", "error_description": "The user name or password is incorrect."}


def test_credentials_in_the_query_string_are_refused(client: FlaskClient) -> None:
    response = client.post(
        f"{SIGNIN}?username=sandbox&password=sandbox&grant_type=password",
        data={"grant_type": "password", "username": "sandbox", "password": "sandbox"},
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert "query string" in body["error_description"]


def test_signin_requires_a_form_body(client: FlaskClient) -> None:
    response = client.post(
        SIGNIN, json={"grant_type": "password", "username": "sandbox", "password": "sandbox"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in response.get_json()["error_description"]


def test_the_token_lasts_30_minutes_of_virtual_time(client: FlaskClient) -> None:
    token = password_grant(client).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    advance(client, 29 * 60 + 59)
    assert client.get(USER_INFO, headers=headers).status_code == 200
    advance(client, 1)
    expired = client.get(USER_INFO, headers=headers)
    assert expired.status_code == 401
    assert expired.get_json()["error_description"] == FULL_AUTHENTICATION


def test_refresh_gives_a_new_pair_until_60_minutes_after_issue(client: FlaskClient) -> None:
    first = password_grant(client).get_json()
    advance(client, 45 * 60)  # the access token expired 15 minutes ago; the refresh token lives on
    refreshed = signin(client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.status_code == 200
    second = refreshed.get_json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second[".issued"] == "Mon, 02 Mar 2026 08:45:00 GMT"
    assert (
        client.get(USER_INFO, headers={"Authorization": f"Bearer {second['access_token']}"}).status_code
        == 200
    )
    # A refresh token is spent by its use.
    again = signin(client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"
    advance(client, 60 * 60)
    late = signin(client, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert late.status_code == 400
    assert late.get_json() == {
        "error": "invalid_grant",
        "error_description": "The refresh token is invalid or expired.",
    }


def test_refresh_token_valid_exactly_until_60_minutes(client: FlaskClient) -> None:
    first = password_grant(client).get_json()
    advance(client, 60 * 60 - 1)
    assert signin(client, grant_type="refresh_token", refresh_token=first["refresh_token"]).status_code == 200
    second = password_grant(client).get_json()
    advance(client, 60 * 60)
    assert (
        signin(client, grant_type="refresh_token", refresh_token=second["refresh_token"]).status_code == 400
    )


def test_user_info_has_the_documented_fields(client: FlaskClient) -> None:
    token = password_grant(client).get_json()["access_token"]
    response = client.get(USER_INFO, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "username": "sandbox",
        "pec": body["pec"],
        "userDescription": body["userDescription"],
        "countryCode": "IT",
        "vatCode": "20493810483",
        "fiscalCode": body["fiscalCode"],
        "accountStatus": {"expired": False, "expirationDate": "2027-03-02"},
        "usageStatus": {"usedSpaceKB": 0, "maxSpaceKB": 1048576},
    }
    assert body["pec"] and body["userDescription"] and body["fiscalCode"]


def test_used_space_counts_received_invoices(client: FlaskClient) -> None:
    token = password_grant(client).get_json()["access_token"]
    created = client.post("/_sandbox/incoming-invoices", json={"recipient": "20493810483", "count": 2})
    assert created.status_code == 201
    used = client.get(USER_INFO, headers={"Authorization": f"Bearer {token}"}).get_json()["usageStatus"]
    assert used["usedSpaceKB"] > 0


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic c2FuZGJveDpzYW5kYm94", "Bearer not-a-token", "bearer x y"],
)
def test_calls_without_a_valid_token_get_401(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = client.get(USER_INFO, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized", "error_description": FULL_AUTHENTICATION}
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_a_reset_invalidates_tokens(client: FlaskClient) -> None:
    body = password_grant(client).get_json()
    client.post("/_sandbox/reset")
    assert (
        client.get(USER_INFO, headers={"Authorization": f"Bearer {body['access_token']}"}).status_code == 401
    )
    refreshed = signin(client, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 400


def test_unknown_paths_get_spring_errors(client: FlaskClient) -> None:
    response = client.get("/aruba/services/nothing-here")
    assert response.status_code == 404
    body = response.get_json()
    assert set(body) == {"timestamp", "status", "error", "message", "path"}
    assert (body["status"], body["error"], body["path"]) == (404, "Not Found", "/services/nothing-here")
    assert body["timestamp"].startswith("2026-03-02T08:00:00.000")


def test_http_dates_have_the_documented_shape(client: FlaskClient) -> None:
    body = password_grant(client).get_json()
    assert re.match(HTTP_DATE, body[".issued"]) and re.match(HTTP_DATE, body[".expires"])
