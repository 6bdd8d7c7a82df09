"""Control API for callbacks: an account's endpoint, the deliveries, reset and the accounts file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from emulator.app import create_app
from emulator.core.accounts import DEFAULT_ACCOUNTS_FILE, AccountFileError, load_account_specs
from emulator.state import Sandbox
from tests.conftest import advance, make_config
from tests.core.test_webhooks import API_KEY_MESSAGE, EXAMPLE, Recorder

ARUBA = "/_sandbox/accounts/aruba"
SANDBOX_VAT = "20493810483"  # aruba/sandbox
OTHER_VAT = "18302640505"  # aruba/other


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    transport = Recorder()
    sandbox.webhook_transport = transport  # type: ignore[attr-defined]
    return transport


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.get_json()["error"]
    return body


def incoming(client: FlaskClient, recipient: str) -> None:
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": recipient})
    assert response.status_code == 201, response.get_data(as_text=True)


# -- PATCH /accounts/aruba/<tenant> ----------------------------------------------------------------


def test_callback_settings_are_set_shown_and_removed(client: FlaskClient) -> None:
    both = client.patch(
        f"{ARUBA}/sandbox",
        json={"callback_url": "http://localhost:9000/aruba", "callback_api_key": "s3cret key"},
    )
    assert both.status_code == 200
    view = both.get_json()
    assert (view["provider"], view["tenant"], view["p7m_encoding"]) == ("aruba", "sandbox", "der")
    assert (view["callback_url"], view["callback_api_key"]) == ("http://localhost:9000/aruba", "s3cret key")
    # Settings not given are kept; several can change at once.
    encoding = client.patch(
        f"{ARUBA}/sandbox", json={"p7m_encoding": "ber", "callback_url": "https://erp.example.com/cb"}
    )
    assert encoding.status_code == 200
    assert [encoding.get_json()[k] for k in ("p7m_encoding", "callback_url", "callback_api_key")] == [
        "ber",
        "https://erp.example.com/cb",
        "s3cret key",
    ]
    key_removed = client.patch(f"{ARUBA}/sandbox", json={"callback_api_key": None}).get_json()
    assert (key_removed["callback_url"], key_removed["callback_api_key"]) == (
        "https://erp.example.com/cb",
        None,
    )
    url_removed = client.patch(f"{ARUBA}/sandbox", json={"callback_url": None}).get_json()
    assert url_removed["callback_url"] is None
    other = client.patch(f"{ARUBA}/other", json={"p7m_encoding": "der"}).get_json()
    assert (other["callback_url"], other["callback_api_key"]) == (None, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", f"callback_url must be an http or https URL, {EXAMPLE}"),
        (12, f"callback_url must be an http or https URL, {EXAMPLE}"),
        (["http://h"], f"callback_url must be an http or https URL, {EXAMPLE}"),
        ("ftp://example.com/", f"callback_url must be an http or https URL with a host, {EXAMPLE}"),
        ("http://h:70000/", f"callback_url is not a valid URL, {EXAMPLE}"),
        ("http://u:p@h/", "callback_url must not contain credentials: register callback_api_key instead"),
        ("http://h/#x", "callback_url must not have a fragment (#...)"),
    ],
)
def test_a_bad_callback_url_is_refused(client: FlaskClient, value: object, message: str) -> None:
    response = client.patch(f"{ARUBA}/sandbox", json={"callback_url": value, "callback_api_key": "k"})
    assert response.status_code == 400
    assert error_of(response) == {"code": "bad_request", "message": message}
    # Nothing changed, not even the valid key given with it.
    view = client.patch(f"{ARUBA}/sandbox", json={"p7m_encoding": "der"}).get_json()
    assert (view["callback_url"], view["callback_api_key"]) == (None, None)


@pytest.mark.parametrize("value", ["", "a\nb", "è", " k", 5, "k" * 513])
def test_a_bad_api_key_is_refused(client: FlaskClient, value: object) -> None:
    response = client.patch(f"{ARUBA}/sandbox", json={"callback_api_key": value})
    assert response.status_code == 400
    assert error_of(response) == {"code": "bad_request", "message": API_KEY_MESSAGE}


def test_accounts_of_providers_without_callbacks_cannot_register(client: FlaskClient) -> None:
    response = client.patch("/_sandbox/accounts/easytracking/sandbox", json={"callback_url": "http://h/x"})
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "bad_request",
        "message": "The sandbox makes no callbacks for easytracking accounts: callback_url cannot be set",
    }
    key = client.patch("/_sandbox/accounts/openapi/sandbox", json={"callback_api_key": None})
    assert key.status_code == 400
    assert error_of(key)["message"] == (
        "The sandbox makes no callbacks for openapi accounts: callback_api_key cannot be set"
    )


def test_acube_accounts_register_one_url_for_their_webhook_events(client: FlaskClient) -> None:
    both = client.patch(
        "/_sandbox/accounts/acube/sandbox",
        json={"callback_url": "http://localhost:9000/acube", "callback_api_key": "acube-key"},
    )
    assert both.status_code == 200
    view = both.get_json()
    assert (view["provider"], view["tenant"]) == ("acube", "sandbox")
    assert (view["callback_url"], view["callback_api_key"]) == ("http://localhost:9000/acube", "acube-key")
    removed = client.patch("/_sandbox/accounts/acube/sandbox", json={"callback_api_key": None})
    assert removed.status_code == 200
    assert (removed.get_json()["callback_url"], removed.get_json()["callback_api_key"]) == (
        "http://localhost:9000/acube",
        None,
    )
    bad = client.patch("/_sandbox/accounts/acube/sandbox", json={"callback_url": "ftp://h/x"})
    assert bad.status_code == 400
    assert error_of(bad)["message"].startswith("callback_url must be an http or https URL with a host")
    # Per-event URLs are <callback_url>/<event>: there is no setting for each.
    unknown = client.patch("/_sandbox/accounts/acube/sandbox", json={"webhooks": {}})
    assert unknown.status_code == 400
    assert error_of(unknown)["message"].startswith("Unknown setting(s): webhooks;")


def test_acube_deliveries_are_listed_by_provider(client: FlaskClient, recorder: Recorder) -> None:
    client.patch("/_sandbox/accounts/acube/sandbox", json={"callback_url": "http://h/acube"})
    client.patch(f"{ARUBA}/sandbox", json={"callback_url": "http://h/aruba"})
    incoming(client, "26174950589")  # acube/sandbox
    incoming(client, SANDBOX_VAT)
    advance(client, 0)
    acube = client.get("/_sandbox/callbacks?provider=acube").get_json()["callbacks"]
    assert [(c["tenant"], c["event"], c["url"], c["status"]) for c in acube] == [
        ("sandbox", "supplier-invoice", "http://h/acube/supplier-invoice", "delivered")
    ]
    aruba = client.get("/_sandbox/callbacks?provider=aruba").get_json()["callbacks"]
    assert [c["event"] for c in aruba] == ["createInvoice", "updateUsage"]
    assert [c.url for c in recorder.calls] == [
        "http://h/acube/supplier-invoice",
        "http://h/aruba/createInvoice",
        "http://h/aruba/updateUsage",
    ]


def test_unknown_settings_and_empty_bodies_are_refused(client: FlaskClient) -> None:
    unknown = client.patch(f"{ARUBA}/sandbox", json={"callback_url": "http://h/", "callback_secret": "x"})
    assert unknown.status_code == 400
    assert error_of(unknown)["message"] == (
        "Unknown setting(s): callback_secret; only p7m_encoding, callback_url and callback_api_key "
        "can be changed"
    )
    empty = client.patch(f"{ARUBA}/sandbox", json={})
    assert empty.status_code == 400
    assert error_of(empty)["message"] == (
        'The body must be a JSON object like {"p7m_encoding": "ber"} or '
        '{"callback_url": "http://localhost:9000/hooks", "callback_api_key": "secret"}'
    )
    missing = client.patch(f"{ARUBA}/nobody", json={"callback_url": "http://h/"})
    assert missing.status_code == 404
    assert error_of(missing) == {"code": "not_found", "message": "No sandbox account aruba/nobody"}


# -- GET /callbacks --------------------------------------------------------------------------------


def test_callbacks_are_listed_filtered_and_shown_one_by_one(client: FlaskClient, recorder: Recorder) -> None:
    recorder.respond = lambda call: 500 if "/other/" in call.url else 200
    client.patch(f"{ARUBA}/sandbox", json={"callback_url": "http://h/sandbox", "callback_api_key": "k1"})
    client.patch(f"{ARUBA}/other", json={"callback_url": "http://h/other"})
    incoming(client, SANDBOX_VAT)
    incoming(client, OTHER_VAT)
    advance(client, 0)
    listed = client.get("/_sandbox/callbacks").get_json()["callbacks"]
    assert [(c["id"], c["tenant"], c["event"], c["status"]) for c in listed] == [
        (1, "sandbox", "createInvoice", "delivered"),
        (2, "sandbox", "updateUsage", "delivered"),
        (3, "other", "createInvoice", "pending"),
        (4, "other", "updateUsage", "pending"),
    ]
    first = listed[0]
    assert first["url"] == "http://h/sandbox/createInvoice"
    assert first["headers"]["Authorization"] == "k1"
    assert first["body"]["username"] == "sandbox"
    assert listed[2]["next_attempt_at"] == "2026-03-02T11:00:00+00:00"
    assert listed[2]["attempts"] == [
        {
            "at": "2026-03-02T08:00:00+00:00",
            "status_code": 500,
            "error": None,
            "duration_ms": listed[2]["attempts"][0]["duration_ms"],
        }
    ]

    def ids(**filters: str) -> list[int]:
        response = client.get("/_sandbox/callbacks", query_string=filters)
        assert response.status_code == 200
        return [c["id"] for c in response.get_json()["callbacks"]]

    assert ids(provider="aruba") == [1, 2, 3, 4]
    assert ids(provider="acube") == []
    assert ids(tenant="other") == [3, 4]
    assert ids(status="pending") == [3, 4]
    assert ids(status="failed") == []
    assert ids(event="updateUsage") == [2, 4]
    assert ids(provider="aruba", tenant="sandbox", status="delivered", event="createInvoice") == [1]
    bad = client.get("/_sandbox/callbacks?status=done")
    assert bad.status_code == 400
    assert error_of(bad) == {
        "code": "bad_request",
        "message": "status must be one of pending, delivered, failed",
    }
    one = client.get("/_sandbox/callbacks/3")
    assert one.status_code == 200 and one.get_json() == listed[2]


@pytest.mark.parametrize("reference", ["0", "99", "abc", "-1", "1.5", "99999999999999999999999999", "٣"])
def test_an_unknown_callback_is_a_404(client: FlaskClient, reference: str) -> None:
    response = client.get(f"/_sandbox/callbacks/{reference}")
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": f"No callback {reference}"}


def test_reset_forgets_every_callback(client: FlaskClient, recorder: Recorder) -> None:
    recorder.respond = lambda call: 500
    client.patch(f"{ARUBA}/sandbox", json={"callback_url": "http://h/sandbox"})
    incoming(client, SANDBOX_VAT)
    advance(client, 0)
    assert len(client.get("/_sandbox/callbacks").get_json()["callbacks"]) == 2
    assert client.post("/_sandbox/reset").status_code == 200
    advance(client, 30 * 3600)
    assert client.get("/_sandbox/callbacks").get_json() == {"callbacks": []}
    assert len(recorder.calls) == 2  # the pending retries went with the reset
    view = client.patch(f"{ARUBA}/sandbox", json={"p7m_encoding": "der"}).get_json()
    assert view["callback_url"] is None  # the registration too: accounts are seeded again


# -- the accounts file -----------------------------------------------------------------------------


def accounts_with(tmp_path: Path, provider: str, **settings: Any) -> Path:
    accounts = json.loads(DEFAULT_ACCOUNTS_FILE.read_text())
    for entry in accounts:
        if (entry["provider"], entry["tenant"]) == (provider, "sandbox"):
            entry.update(settings)
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(accounts))
    return path


def test_the_accounts_file_can_register_callbacks(tmp_path: Path) -> None:
    path = accounts_with(
        tmp_path, "aruba", callback_url="http://localhost:9/aruba", callback_api_key="file-key"
    )
    app = create_app(make_config(accounts_file=path))
    try:
        recorder = Recorder()
        app.extensions["fattura_sandbox"].webhook_transport = recorder
        client = app.test_client()
        incoming(client, SANDBOX_VAT)
        advance(client, 0)
    finally:
        app.extensions["fattura_sandbox"].close()
    assert [call.url for call in recorder.calls] == [
        "http://localhost:9/aruba/createInvoice",
        "http://localhost:9/aruba/updateUsage",
    ]
    assert recorder.calls[0].headers["Authorization"] == "file-key"


@pytest.mark.parametrize(
    ("provider", "settings", "message"),
    [
        ("aruba", {"callback_url": "mailto:x@example.com"}, "callback_url must be an http or https URL"),
        ("aruba", {"callback_api_key": ""}, "callback_api_key must be 1 to 512 printable ASCII"),
        (
            "easytracking",
            {"callback_url": "http://h/"},
            "'callback_url': the sandbox makes no callbacks for easytracking accounts",
        ),
    ],
)
def test_bad_callback_settings_in_the_accounts_file(
    tmp_path: Path, provider: str, settings: dict[str, Any], message: str
) -> None:
    path = accounts_with(tmp_path, provider, **settings)
    with pytest.raises(AccountFileError) as raised:
        load_account_specs(path)
    assert f"({provider}/sandbox): {message}" in str(raised.value)


# -- the contract, with deliveries in it -------------------------------------------------------------


def test_callbacks_with_attempts_conform_to_the_contract() -> None:
    """Schemathesis sees no deliveries on its own: validate answers that have some, of every status."""
    import schemathesis

    from tests.contracts import CHECKS, CONTRACTS, contract_config

    schema = schemathesis.openapi.from_path(CONTRACTS / "sandbox.yaml", config=contract_config())
    app = create_app(make_config())
    try:
        sandbox = app.extensions["fattura_sandbox"]
        sandbox.webhook_transport = Recorder(respond=lambda call: 500 if "/other/" in call.url else 200)
        patch = schema["/accounts/{provider}/{tenant}"]["PATCH"].Case(
            path_parameters={"provider": "aruba", "tenant": "other"},
            body={"callback_url": "http://h/other", "callback_api_key": "k"},
        )
        patch.validate_response(patch.call(app=app), checks=CHECKS)
        client = app.test_client()
        client.patch(f"{ARUBA}/sandbox", json={"callback_url": "http://h/sandbox"})
        incoming(client, SANDBOX_VAT)
        incoming(client, OTHER_VAT)
        advance(client, 31 * 3600)
        listing = schema["/callbacks"]["GET"].Case(query={"provider": "aruba"})
        listed = listing.call(app=app)
        listing.validate_response(listed, checks=CHECKS)
        one = schema["/callbacks/{id}"]["GET"].Case(path_parameters={"id": 3})
        shown = one.call(app=app)
        one.validate_response(shown, checks=CHECKS)
    finally:
        app.extensions["fattura_sandbox"].close()
    assert {c["status"] for c in listed.json()["callbacks"]} == {"delivered", "failed"}
    assert shown.json()["status"] == "failed" and len(shown.json()["attempts"]) == 11
