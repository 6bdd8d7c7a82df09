"""The request journal: entries per provider with their tenant, bodies, masking, violations, filters,
retention, DELETE and reset."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from flask import Response
from flask.testing import FlaskClient

from emulator.app import create_app
from emulator.config import config_from_env
from emulator.journal import recorder, validation
from emulator.journal.validation import Contract, RequestFacts, validate_request
from tests.conftest import advance, make_config

ET_CREDENTIALS = {
    "apiName": "openBusiness.scope.serviziweb.api",
    "clientName": "openBusiness.client.serviziweb.api",
    "clientSecret": "uKNtPmq49yjLkaYv",
    "username": "sandbox",
    "password": "sandbox",
}
ET_NEW = "/easytracking/api/v4/InvoiceNotifications/new-active-notifications"
OPENAPI_TOKEN = "0605df661073c2a58bb2908a3537beb624c1dfe9"


def journal(client: FlaskClient, **filters: Any) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/journal", query_string=filters)
    assert response.status_code == 200, response.get_data(as_text=True)
    entries: list[dict[str, Any]] = response.get_json()["entries"]
    return entries


def last(client: FlaskClient) -> dict[str, Any]:
    return journal(client)[-1]


def et_token(client: FlaskClient, username: str = "sandbox") -> str:
    body = {**ET_CREDENTIALS, "username": username, "password": username}
    response = client.post("/easytracking/api/Token/AccessToken", json=body)
    assert response.status_code == 200
    return str(response.get_json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fingerprint(value: str) -> str:
    return "***#" + hashlib.sha256(value.encode()).hexdigest()[:12]


# -- one entry per request, with its tenant --------------------------------------------------------


def test_easytracking_entries_name_the_tenant_and_mask_credentials(client: FlaskClient) -> None:
    token = et_token(client, "other")
    response = client.get(ET_NEW, headers=bearer(token), query_string={"top": "5"})
    assert response.status_code == 200
    login, call = journal(client)
    assert (login["tenant"], login["operation"], login["status"]) == ("other", "getAccessToken", 200)
    assert '"password": "***"' in login["request"]["body"]["content"]
    assert '"clientSecret": "***"' in login["request"]["body"]["content"]
    assert call["id"] > login["id"]
    assert call["provider"] == "easytracking" and call["tenant"] == "other"
    assert call["method"] == "GET"
    assert call["path"] == "/api/v4/InvoiceNotifications/new-active-notifications"
    assert call["full_path"] == ET_NEW
    assert call["query"] == {"top": ["5"]}
    assert call["operation"] == "listNewNotificationsV4"
    assert call["violations"] == []
    assert call["request"]["headers"]["Authorization"] == "Bearer " + fingerprint(token)
    assert token not in str(call)
    assert call["at"] == "2026-03-02T08:00:00+00:00"
    assert call["real_at"].endswith("+00:00")
    assert call["duration_ms"] >= 0
    assert call["response"]["content_type"] == "application/json"
    assert call["response"]["body"]["base64"] is False


def test_an_expired_token_still_names_its_tenant(client: FlaskClient) -> None:
    token = et_token(client)
    advance(client, 2 * 3600)
    response = client.get(ET_NEW, headers=bearer(token))
    assert response.status_code == 401
    entry = last(client)
    assert (entry["tenant"], entry["status"]) == ("sandbox", 401)


def test_aruba_signin_refresh_and_calls_name_the_tenant(client: FlaskClient) -> None:
    form = "application/x-www-form-urlencoded"
    signin = client.post(
        "/aruba/auth/signin",
        data={"grant_type": "password", "username": "other", "password": "other"},
        content_type=form,
    )
    assert signin.status_code == 200
    tokens = signin.get_json()
    info = client.get("/aruba/auth/userInfo", headers=bearer(tokens["access_token"]))
    assert info.status_code == 200
    refresh = client.post(
        "/aruba/auth/signin",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        content_type=form,
    )
    assert refresh.status_code == 200
    entries = journal(client, provider="aruba")
    assert [(e["tenant"], e["path"], e["status"]) for e in entries] == [
        ("other", "/auth/signin", 200),
        ("other", "/auth/userInfo", 200),
        ("other", "/auth/signin", 200),
    ]
    assert "password=%2A%2A%2A" in entries[0]["request"]["body"]["content"] or (
        "password=***" in entries[0]["request"]["body"]["content"]
    )
    assert tokens["refresh_token"] not in str(entries[2])
    assert all(e["violations"] == [] for e in entries), entries


def test_acube_login_and_calls_name_the_tenant(client: FlaskClient) -> None:
    login = client.post("/acube/login", json={"email": "other@example.com", "password": "other"})
    assert login.status_code == 200
    token = login.get_json()["token"]
    listing = client.get("/acube/invoices", headers=bearer(token))
    assert listing.status_code == 200
    wrong = client.post("/acube/login", json={"email": "sandbox@example.com", "password": "nope"})
    assert wrong.status_code == 401
    entries = journal(client, provider="acube")
    assert [(e["tenant"], e["path"], e["status"]) for e in entries] == [
        ("other", "/login", 200),
        ("other", "/invoices", 200),
        ("sandbox", "/login", 401),
    ]


def test_openapi_tokens_name_the_tenant(client: FlaskClient) -> None:
    basic = "Basic " + base64.b64encode(b"other@example.com:other").decode()
    issued = client.post(
        "/openapi/oauth/tokens",
        json={"scopes": ["*:test.invoice.openapi.com/IT-configurations"], "ttl": 60},
        headers={"Authorization": basic},
    )
    assert issued.status_code == 200
    ready = client.get("/openapi/IT-configurations", headers=bearer(OPENAPI_TOKEN))
    assert ready.status_code == 200
    advance(client, 120)
    expired = client.get("/openapi/IT-configurations", headers=bearer(issued.get_json()["data"]["token"]))
    assert expired.status_code == 401
    entries = journal(client, provider="openapi")
    assert [(e["tenant"], e["status"]) for e in entries] == [("other", 200), ("sandbox", 200), ("other", 401)]
    assert entries[0]["request"]["headers"]["Authorization"].startswith("Basic ***#")


def test_unknown_credentials_give_a_null_tenant(client: FlaskClient) -> None:
    response = client.get(ET_NEW, headers=bearer("not-a-jwt"))
    assert response.status_code == 401
    assert last(client)["tenant"] is None


def test_control_api_requests_are_not_journalled(client: FlaskClient) -> None:
    assert client.get("/_sandbox/health").status_code == 200
    assert client.get("/_sandbox/accounts").status_code == 200
    assert journal(client) == []


# -- bodies --------------------------------------------------------------------------------------------


def test_bodies_past_the_limit_are_truncated_with_their_size() -> None:
    app = create_app(make_config(journal_body_limit=100))
    try:
        client = app.test_client()
        payload = {"email": "sandbox@example.com", "password": "x" * 500}
        assert client.post("/acube/login", json=payload).status_code == 401
        body = last(client)["request"]["body"]
    finally:
        app.extensions["fattura_sandbox"].close()
    assert body["truncated"] is True
    assert body["size"] > 500
    assert len(body["content"].encode()) == 100
    assert body["base64"] is False


def test_binary_bodies_are_base64() -> None:
    app = create_app(make_config())
    try:
        client = app.test_client()
        raw = bytes(range(256))
        token = et_token(client)
        response = client.post(
            "/easytracking/api/v4/ActiveInvoices",
            data=raw,
            headers={**bearer(token), "Content-Type": "application/octet-stream"},
        )
        assert 400 <= response.status_code < 500
        entry = last(client)
    finally:
        app.extensions["fattura_sandbox"].close()
    body = entry["request"]["body"]
    assert body["base64"] is True and body["truncated"] is False and body["size"] == 256
    assert base64.b64decode(body["content"]) == raw
    assert entry["request"]["content_type"] == "application/octet-stream"


def test_a_cut_never_splits_a_utf8_character() -> None:
    view = recorder.body_view("àèì".encode(), 6, 3, "text/plain", mask=False)
    assert view == {"size": 6, "truncated": True, "base64": False, "content": "à", "streamed": False}


def test_a_streamed_response_is_recorded_by_size_only() -> None:
    def chunks() -> Any:
        raise AssertionError("the journal read the stream")
        yield b""

    response = Response(chunks(), mimetype="application/zip")
    response.direct_passthrough = True
    response.headers["Content-Length"] = "12345"
    data, size = recorder.captured_body(response)
    view = recorder.response_view(data, size, "application/zip", 100)
    assert view == {"size": 12345, "truncated": True, "base64": False, "content": None, "streamed": True}


def test_secret_headers_are_masked() -> None:
    headers = recorder.mask_headers(
        [("X-Signature-Password", "pin"), ("Authorization", "Bearer abc"), ("Accept", "application/json")]
    )
    assert headers == {
        "X-Signature-Password": "***",
        "Authorization": "Bearer " + fingerprint("abc"),
        "Accept": "application/json",
    }


# -- violations ---------------------------------------------------------------------------------------


def test_a_bad_query_parameter_is_a_violation(client: FlaskClient) -> None:
    token = et_token(client)
    client.get(ET_NEW, headers=bearer(token), query_string={"top": "many"})
    entry = last(client)
    assert entry["operation"] == "listNewNotificationsV4"
    assert entry["violations"] == [{"where": "query.top", "why": "'many' is not a valid integer"}]


def test_a_missing_required_body_field_is_a_violation(client: FlaskClient) -> None:
    token = client.post("/acube/login", json={"email": "sandbox@example.com", "password": "sandbox"})
    headers = bearer(token.get_json()["token"])
    response = client.post("/acube/invoices", json={"fattura_elettronica_body": [{}]}, headers=headers)
    assert 400 <= response.status_code < 500
    entry = last(client)
    assert entry["operation"] == "createInvoice"
    wheres = [v["where"] for v in entry["violations"]]
    assert "body.fattura_elettronica_header" in wheres
    assert any("is a required property" in v["why"] for v in entry["violations"])


def test_an_unknown_operation_is_a_violation(client: FlaskClient) -> None:
    response = client.get("/easytracking/api/v4/NoSuchThing")
    assert response.status_code == 404
    entry = last(client)
    assert entry["operation"] is None
    assert entry["violations"] == [{"where": "operation", "why": "no such operation in the contract"}]
    client.delete("/easytracking/api/Token/AccessToken")
    assert last(client)["violations"][0]["where"] == "operation"
    assert "DELETE is not documented" in last(client)["violations"][0]["why"]


def test_a_missing_bearer_token_is_a_violation(client: FlaskClient) -> None:
    assert client.get(ET_NEW).status_code == 401
    assert last(client)["violations"] == [
        {
            "where": "header.Authorization",
            "why": "the Bearer credentials of the security scheme bearer are missing",
        }
    ]


def test_a_wrong_content_type_is_a_violation(client: FlaskClient) -> None:
    client.post("/acube/login", data="email=x", content_type="text/plain")
    violations = last(client)["violations"]
    assert [v["where"] for v in violations] == ["header.Content-Type"]


def test_validation_errors_never_reach_the_request(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(validation, "_check_parameters", broken)
    token = et_token(client)
    response = client.get(ET_NEW, headers=bearer(token))
    assert response.status_code == 200
    entry = last(client)
    assert (entry["operation"], entry["violations"]) == (None, [])


def test_a_missing_contract_means_no_validation(tmp_path: Path) -> None:
    assert Contract.load("nobody", tmp_path) is None


def test_parameter_styles_of_the_contracts() -> None:
    contract = Contract(
        {
            "openapi": "3.1.0",
            "servers": [{"url": "/p"}],
            "paths": {
                "/items/{id}": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                    ],
                    "get": {
                        "operationId": "getItem",
                        "parameters": [
                            {
                                "name": "marking[]",
                                "in": "query",
                                "style": "form",
                                "explode": True,
                                "schema": {"type": "array", "items": {"enum": ["sent", "received"]}},
                            },
                            {
                                "name": "ids",
                                "in": "query",
                                "explode": False,
                                "schema": {"type": "array", "items": {"type": "integer", "maximum": 9}},
                            },
                            {
                                "name": "filter",
                                "in": "query",
                                "style": "deepObject",
                                "schema": {"type": "object", "properties": {"n": {"type": "integer"}}},
                            },
                            {
                                "name": "X-Pin",
                                "in": "header",
                                "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9]+$"},
                            },
                        ],
                    },
                },
                "/items/export": {"get": {"operationId": "export"}},
            },
        }
    )

    def check(path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Any:
        return validate_request(contract, RequestFacts("GET", path, query, headers, None, b""))

    assert check("/items/export", {}, {}) == ("export", [])
    good = {"marking[]": ["sent", "received"], "ids": ["1,2"], "filter[n]": ["3"]}
    assert check("/items/7", good, {"x-pin": "12"}) == ("getItem", [])
    bad = {"marking[]": ["lost"], "ids": ["1,20"], "filter[n]": ["x"]}
    name, violations = check("/items/x", bad, {"x-pin": "ab"})
    assert name == "getItem"
    assert [v["where"] for v in violations] == [
        "path.id",
        "query.marking[]",
        "query.ids",
        "query.filter",
        "header.X-Pin",
    ]
    assert check("/items/7", {}, {})[1] == [
        {"where": "header.X-Pin", "why": "the required header parameter is missing"}
    ]


# -- the control API ------------------------------------------------------------------------------------


def test_filters(client: FlaskClient) -> None:
    et = et_token(client)
    client.get(ET_NEW, headers=bearer(et), query_string={"top": "x"})
    advance(client, 60)
    client.post("/acube/login", json={"email": "other@example.com", "password": "other"})
    all_entries = journal(client)
    assert [e["provider"] for e in all_entries] == ["easytracking", "easytracking", "acube"]
    assert [e["provider"] for e in journal(client, provider="acube")] == ["acube"]
    assert [e["provider"] for e in journal(client, tenant="other")] == ["acube"]
    assert [e["query"] for e in journal(client, violations="true")] == [{"top": ["x"]}]
    assert len(journal(client, violations="false")) == 2
    first_id = all_entries[0]["id"]
    assert [e["id"] for e in journal(client, since=str(first_id))] == [e["id"] for e in all_entries[1:]]
    assert [e["provider"] for e in journal(client, since="2026-03-02T09:00:30+01:00")] == ["acube"]
    newest = client.get("/_sandbox/journal?limit=2").get_json()
    assert [e["id"] for e in newest["entries"]] == [e["id"] for e in all_entries[1:]]
    assert newest["more"] is True
    paged = client.get(f"/_sandbox/journal?limit=1&since={first_id}").get_json()
    assert [e["id"] for e in paged["entries"]] == [all_entries[1]["id"]] and paged["more"] is True
    one = client.get(f"/_sandbox/journal/{first_id}")
    assert one.status_code == 200 and one.get_json() == all_entries[0]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("provider=sdi", "provider must be one of easytracking, aruba, acube, openapi"),
        ("violations=yes", "violations must be true or false"),
        ("limit=0", "limit must be an integer from 1 to 5000"),
        ("limit=5001", "limit must be an integer from 1 to 5000"),
        ("since=yesterday", "since must be an entry id or an ISO-8601 instant with its offset"),
        ("since=2026-03-02T09:00:00", "since must be an entry id or an ISO-8601 instant with its offset"),
        ("tenant=", "tenant must not be empty"),
        (
            "colour=red",
            "Unknown filter(s): colour; the filters are provider, tenant, since, violations, limit",
        ),
    ],
)
def test_bad_filters_are_400(client: FlaskClient, query: str, message: str) -> None:
    response = client.get(f"/_sandbox/journal?{query}")
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "bad_request", "message": message}}


def test_unknown_entry_is_404(client: FlaskClient) -> None:
    for reference in ("99", "abc"):
        response = client.get(f"/_sandbox/journal/{reference}")
        assert response.status_code == 404
        assert response.get_json() == {
            "error": {"code": "not_found", "message": f"No journal entry {reference}"}
        }


def test_retention_keeps_at_most_max_entries() -> None:
    app = create_app(make_config(journal_max_entries=5))
    try:
        client = app.test_client()
        for _ in range(23):
            client.get(ET_NEW)
        entries = journal(client)
    finally:
        app.extensions["fattura_sandbox"].close()
    assert 1 <= len(entries) <= 5
    assert entries[-1]["id"] == 23
    assert [e["id"] for e in entries] == list(range(24 - len(entries), 24))


def test_delete_clears_and_ids_keep_increasing(client: FlaskClient) -> None:
    client.get(ET_NEW)
    old_id = last(client)["id"]
    response = client.delete("/_sandbox/journal")
    assert response.status_code == 204 and response.get_data() == b""
    assert journal(client) == []
    client.get(ET_NEW)
    assert last(client)["id"] > old_id


def test_reset_clears_the_journal(client: FlaskClient) -> None:
    client.get(ET_NEW)
    assert client.post("/_sandbox/reset").status_code == 200
    assert journal(client) == []


def test_limits_come_from_the_environment() -> None:
    config = config_from_env(
        {"FATTURA_SANDBOX_JOURNAL_BODY_LIMIT": "1024", "FATTURA_SANDBOX_JOURNAL_MAX_ENTRIES": "50"}
    )
    assert (config.journal_body_limit, config.journal_max_entries) == (1024, 50)
    assert (make_config().journal_body_limit, make_config().journal_max_entries) == (65536, 10000)


def test_since_accepts_an_offset_whose_plus_was_not_encoded(client: FlaskClient) -> None:
    client.get(ET_NEW)
    response = client.get("/_sandbox/journal?since=2026-03-02T09:00:00+01:00")
    assert response.status_code == 200
    assert len(response.get_json()["entries"]) == 1


def test_retention_deletes_the_oldest_in_batches() -> None:
    app = create_app(make_config(journal_max_entries=20))
    try:
        client = app.test_client()
        counts = []
        for _ in range(30):
            client.get(ET_NEW)
            counts.append(len(journal(client, limit="5000")))
    finally:
        app.extensions["fattura_sandbox"].close()
    # At 21 entries the one over the bound and a batch of 2 more go at once: never more than 20.
    assert max(counts) == 20
    assert counts[19:25] == [20, 18, 19, 20, 18, 19]


# -- the answer's headers and the fault that answered ----------------------------------------------


def test_an_injected_throttle_is_journalled_with_its_retry_after_and_the_rule(client: FlaskClient) -> None:
    token = et_token(client)
    effect = {"type": "throttle", "retry_after": 7}
    rule = client.post(
        "/_sandbox/faults",
        json={"provider": "easytracking", "path": "*/new-active-notifications", "effect": effect, "count": 1},
    ).get_json()
    assert client.get(ET_NEW, headers=bearer(token)).status_code == 429
    assert client.get(ET_NEW, headers=bearer(token)).status_code == 200
    throttled, after = journal(client)[-2:]
    assert (throttled["status"], throttled["response"]["headers"]["Retry-After"]) == (429, "7")
    assert throttled["fault"] == {"rule": rule["id"], "effect": "throttle"}
    assert (after["status"], after["fault"]) == (200, None)


def test_an_answer_without_a_fault_has_its_headers_and_no_fault(client: FlaskClient) -> None:
    token = et_token(client)
    client.get(ET_NEW, headers=bearer(token))
    entry = last(client)
    assert entry["fault"] is None
    assert entry["response"]["headers"]["Content-Type"].startswith("application/json")
