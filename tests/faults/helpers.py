"""Shared helpers of the fault tests: rules through the control API, Easy Tracking tokens."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

ET_CREDENTIALS = {
    "apiName": "openBusiness.scope.serviziweb.api",
    "clientName": "openBusiness.client.serviziweb.api",
    "clientSecret": "uKNtPmq49yjLkaYv",
    "username": "sandbox",
    "password": "sandbox",
}
ET_TOKEN = "/easytracking/api/Token/AccessToken"
ET_NEW = "/easytracking/api/v4/InvoiceNotifications/new-active-notifications"


def add_rule(client: FlaskClient, **rule: Any) -> dict[str, Any]:
    response = client.post("/_sandbox/faults", json=rule)
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def rules(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/faults")
    assert response.status_code == 200
    faults: list[dict[str, Any]] = response.get_json()["faults"]
    return faults


def et_token(client: FlaskClient, tenant: str = "sandbox") -> str:
    response = client.post(ET_TOKEN, json={**ET_CREDENTIALS, "username": tenant, "password": tenant})
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
