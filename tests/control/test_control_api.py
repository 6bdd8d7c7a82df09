"""The /_sandbox control API: health, reset, clock, accounts, incoming invoices, forced notifications."""

from __future__ import annotations

from flask.testing import FlaskClient
from stdnum.it import codicefiscale, iva

from tests.conftest import advance
from tests.providers.easytracking.helpers import SANDBOX_VAT, invoice, token, upload


def test_health_and_clock(client: FlaskClient) -> None:
    assert client.get("/_sandbox/health").get_json()["status"] == "ok"
    assert client.get("/_sandbox/clock").get_json()["now"] == "2026-03-02T08:00:00+00:00"
    moved = advance(client, 90)
    assert moved["now"] == "2026-03-02T08:01:30+00:00"
    backward = client.post("/_sandbox/clock", json={"advance_seconds": -1})
    assert backward.status_code == 400
    assert backward.get_json()["error"]["message"].startswith("Virtual time only moves forward")
    assert client.post("/_sandbox/clock", json={"advance_seconds": "x"}).status_code == 400
    assert client.post("/_sandbox/clock", data="nope").status_code == 400


def test_accounts_have_two_tenants_with_valid_disjoint_ids(client: FlaskClient) -> None:
    accounts = [
        a for a in client.get("/_sandbox/accounts").get_json()["accounts"] if a["provider"] == "easytracking"
    ]
    assert {a["tenant"] for a in accounts} == {"sandbox", "other"}
    seen: set[str] = set()
    for account in accounts:
        assert account["password"] == account["tenant"]
        for vat in account["vat_numbers"]:
            assert iva.is_valid(vat) and len(vat) == 11
        for code in account["fiscal_codes"]:
            assert codicefiscale.is_valid(code) or iva.is_valid(code)
        ids = set(account["vat_numbers"]) | set(account["fiscal_codes"])
        assert not ids & seen
        seen |= ids


def test_reset_forgets_everything_and_invalidates_tokens(client: FlaskClient) -> None:
    tok = token(client)
    assert upload(client, tok, invoice(progressive="R0001")).status_code == 200
    assert client.post("/_sandbox/reset").status_code == 200
    assert upload(client, tok, invoice(progressive="R0001")).status_code == 401
    fresh = token(client)
    listed = client.get(
        "/easytracking/api/v4/DownloadInvoices/active-invoices", headers={"Authorization": f"Bearer {fresh}"}
    ).get_json()
    assert listed == {"invoices": [], "total": 0}


def test_incoming_invoices_are_delivered_with_metadata(client: FlaskClient) -> None:
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT, "count": 3})
    assert response.status_code == 201
    created = response.get_json()["invoices"]
    assert len(created) == 3
    for item in created:
        assert item["file_name"].endswith(".xml")
        assert item["metadata_file_name"] == item["file_name"][:-4] + "_MT_001.xml"
        assert item["recipient"] == {"provider": "easytracking", "tenant": "sandbox"}
    signed = client.post(
        "/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT, "signed": True}
    ).get_json()
    assert signed["invoices"][0]["file_name"].endswith(".xml.p7m")
    unknown = client.post("/_sandbox/incoming-invoices", json={"recipient": "01879020517"})
    assert unknown.status_code == 404
    assert (
        client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT, "count": 0}).status_code
        == 400
    )


def test_forced_notifications_follow_the_lifecycle(client: FlaskClient) -> None:
    tok = token(client)
    progressivo = upload(client, tok, invoice(pa=True, progressive="S0001")).get_json()["progressivoInvio"]
    forced = client.post("/_sandbox/sdi/notifications", json={"invoice": progressivo, "type": "DT"})
    assert forced.status_code == 201, forced.get_json()
    body = forced.get_json()
    assert body["type"] == "DT" and body["state"] == "expired"
    assert body["file_name"].endswith("_DT_001.xml")
    again = client.post("/_sandbox/sdi/notifications", json={"invoice": progressivo, "type": "RC"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "invalid_transition"
    b2b = upload(client, tok, invoice(progressive="S0002", seed=5)).get_json()["progressivoInvio"]
    ns = client.post(
        "/_sandbox/sdi/notifications", json={"invoice": b2b, "type": "NS", "errors": [{"code": "00305"}]}
    )
    assert ns.status_code == 201 and ns.get_json()["state"] == "rejected"
    # the scheduled RC no longer happens
    advance(client, 3600)
    assert client.post("/_sandbox/sdi/notifications", json={"invoice": b2b, "type": "DT"}).status_code == 409
    assert (
        client.post("/_sandbox/sdi/notifications", json={"invoice": "nope", "type": "RC"}).status_code == 404
    )
    bad = client.post(
        "/_sandbox/sdi/notifications", json={"invoice": b2b, "type": "NS", "errors": [{"code": "9"}]}
    )
    assert bad.status_code == 400
