"""Openapi.it IT-configurations: create, list, get, patch (whole, store, cash register), delete."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from emulator.core.tenancy import Account
from emulator.providers.openapi.configurations import callbacks_for, configuration_of
from emulator.providers.openapi.models import OpenapiReceipt
from emulator.state import Sandbox

TOKEN = "0605df661073c2a58bb2908a3537beb624c1dfe9"
OTHER = "f5d4c497810ec9a7c565826b9be96e720a260dd9"
VAT = "31847260010"
URL = "/openapi/IT-configurations"
ROMA = {
    "street_address": "Via Roma",
    "street_number": "10",
    "zip_code": "00100",
    "city": "Roma",
    "province": "RM",
}
TORINO = {
    "street_address": "Corso Vittorio Emanuele II",
    "street_number": "64",
    "zip_code": "10121",
    "city": "Torino",
    "province": "TO",
}
START_UNIX = 1772438400  # 2026-03-02T09:00:00+01:00


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(
    client: FlaskClient, method: str, path: str = URL, body: Any = None, token: str = TOKEN
) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"headers": auth(token)}
    if body is not None:
        kwargs["json"] = body
    response = client.open(path, method=method, **kwargs)
    return response.status_code, response.get_json()


def error(message: str, code: int) -> dict[str, Any]:
    return {"data": None, "success": False, "message": message, "error": code}


def invalid(detail: str) -> dict[str, Any]:
    return error(f"Validation Error: {detail}", 422)


def create(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    body = {"fiscal_id": VAT, "name": "Sandbox Commerce", "email": "sandbox@example.com", **fields}
    status, answer = call(client, "POST", body=body)
    assert status == 200, answer
    data: dict[str, Any] = answer["data"]
    return data


def callback(url: str = "https://example.com/hook", **extra: Any) -> dict[str, Any]:
    return {
        "method": "JSON",
        "url": url,
        "user_id": "",
        "username": "",
        "field": "data",
        "headers": {},
        "data": {},
        "retry": 0,
        "scope": None,
        "domain": None,
        "custom": None,
        **extra,
    }


# -- create ----------------------------------------------------------------------------------------


def test_create_minimal_defaults(client: FlaskClient) -> None:
    status, body = call(client, "POST", body={"fiscal_id": VAT, "name": "Sandbox", "email": "s@example.com"})
    assert status == 200
    data = body["data"]
    assert body["success"] is True and body["message"] == "" and body["error"] is None
    assert len(data.pop("id")) == 24
    assert data == {
        "fiscal_id": VAT,
        "name": "Sandbox",
        "email": "s@example.com",
        "receipts_authentication": None,
        "api_configurations": [],
        "receipts": False,
        "customer_invoice": False,
        "supplier_invoice": False,
        "active": True,
        "merchant_address": None,
        "stores": [],
        "create_timestamp": START_UNIX,
    }


def test_create_full(client: FlaskClient) -> None:
    data = create(
        client,
        receipts=True,
        customer_invoice=True,
        supplier_invoice=True,
        merchant_address=TORINO,
        receipts_authentication={"taxCode": "GRCDVD83R05L219E", "password": "secret", "pin": "1234"},
        stores=[
            {
                "label": "Negozio Centro",
                "address": ROMA,
                "cash_registers": [{"label": "Cassa 1"}, {"label": "Cassa 2"}],
            }
        ],
        api_configurations=[
            {"event": "receipt", "callback": {"url": "https://example.com/r", "custom": {"my_id": "1"}}},
            {
                "event": "customer_invoice",
                "callback": {"url": "http://example.com/c", "method": "post", "retry": 3},
            },
            {
                "event": "supplier-invoice",
                "callback": {"url": "https://example.com/s", "headers": {"X-Key": "k"}},
            },
        ],
    )
    assert data["receipts"] is data["customer_invoice"] is data["supplier_invoice"] is True
    assert data["receipts_authentication"] == {"taxCode": "GRCDVD83R05L219E"}
    assert data["merchant_address"] == TORINO
    [store] = data["stores"]
    assert len(store["store_id"]) == 24 and store["label"] == "Negozio Centro" and store["address"] == ROMA
    assert [r["label"] for r in store["cash_registers"]] == ["Cassa 1", "Cassa 2"]
    assert all(len(r["cr_id"]) == 24 for r in store["cash_registers"])
    assert data["api_configurations"] == [
        {"event": "receipt", "callback": callback("https://example.com/r", custom={"my_id": "1"})},
        {"event": "customer-invoice", "callback": callback("http://example.com/c", method="POST", retry=3)},
        {"event": "supplier-invoice", "callback": callback("https://example.com/s", headers={"X-Key": "k"})},
    ]


def test_create_required_fields(client: FlaskClient) -> None:
    base = {"fiscal_id": VAT, "name": "Sandbox", "email": "s@example.com"}
    for field in ("fiscal_id", "name", "email"):
        body = {k: v for k, v in base.items() if k != field}
        assert call(client, "POST", body=body) == (422, invalid(f"Missing required field: {field}"))
    assert call(client, "POST", body={**base, "name": " "}) == (
        422,
        invalid("name must be a non-empty string"),
    )
    assert call(client, "POST", body={**base, "fiscal_id": 5}) == (
        422,
        invalid("fiscal_id must be a non-empty string"),
    )
    assert call(client, "POST", body={**base, "email": "nope"}) == (
        422,
        invalid("email must be a valid e-mail address"),
    )
    assert call(client, "POST", body={**base, "colour": "red"}) == (422, invalid("unknown field colour"))
    assert call(client, "POST", body={**base, "receipts": "yes"}) == (
        422,
        invalid("receipts must be a boolean"),
    )
    assert call(client, "POST", body=[base]) == (400, error("Invalid input data", 400))
    assert call(client, "GET")[1]["data"] == []


def test_create_not_json(client: FlaskClient) -> None:
    response = client.post(URL, data="{", content_type="application/json", headers=auth())
    assert response.status_code == 400
    assert response.get_json() == error("Invalid JSON body", 400)
    response = client.post(URL, data="a=b", content_type="application/x-www-form-urlencoded", headers=auth())
    assert response.status_code == 415
    assert response.get_json() == error(
        "Unsupported Content-Type application/x-www-form-urlencoded: application/json expected", 415
    )


def test_create_unauthenticated(client: FlaskClient) -> None:
    assert call(client, "POST", body={"fiscal_id": VAT}, token="bad") == (401, error("Unauthorized", 401))


def test_create_fiscal_id_tenant_rule(client: FlaskClient) -> None:
    body = {"name": "X", "email": "x@example.com"}
    assert call(client, "POST", body={**body, "fiscal_id": "27609130722"}) == (
        403,
        error("Unauthorized access", 403),
    )
    assert call(client, "POST", body={**body, "fiscal_id": "12345678901"}) == (
        404,
        error("Fiscal ID not found or not registered", 111),
    )
    # the account's codice fiscale and lower-case forms are its own
    status, answer = call(client, "POST", body={**body, "fiscal_id": "grcdvd83r05l219e"})
    assert status == 200 and answer["data"]["fiscal_id"] == "GRCDVD83R05L219E"


def test_create_duplicate_409(client: FlaskClient) -> None:
    create(client)
    body = {"fiscal_id": VAT, "name": "Again", "email": "a@example.com"}
    assert call(client, "POST", body=body) == (
        409,
        error(f"IT-configuration already exists for fiscal_id {VAT}", 409),
    )


def test_receipts_need_merchant_address(client: FlaskClient) -> None:
    body = {"fiscal_id": VAT, "name": "S", "email": "s@example.com", "receipts": True}
    assert call(client, "POST", body=body) == (
        422,
        invalid("merchant_address is required when receipts is true"),
    )
    create(client)
    assert call(client, "PATCH", f"{URL}/{VAT}", {"receipts": True}) == (
        422,
        invalid("merchant_address is required when receipts is true"),
    )
    status, answer = call(client, "PATCH", f"{URL}/{VAT}", {"receipts": True, "merchant_address": ROMA})
    assert status == 200 and answer["data"]["receipts"] is True
    assert call(client, "PATCH", f"{URL}/{VAT}", {"merchant_address": None}) == (
        422,
        invalid("merchant_address is required when receipts is true"),
    )


# -- addresses -----------------------------------------------------------------------------------


def test_address_validation(client: FlaskClient) -> None:
    def attempt(address: Any) -> tuple[int, Any]:
        return call(
            client,
            "POST",
            body={"fiscal_id": VAT, "name": "S", "email": "s@example.com", "merchant_address": address},
        )

    assert attempt("Via Roma") == (422, invalid("merchant_address must be an object"))
    missing = {k: v for k, v in ROMA.items() if k != "city"}
    assert attempt(missing) == (422, invalid("Missing required field: merchant_address.city"))
    assert attempt({**ROMA, "zip_code": "0010"}) == (
        422,
        invalid("merchant_address.zip_code must be exactly 5 digits"),
    )
    assert attempt({**ROMA, "zip_code": "001000"}) == (
        422,
        invalid("merchant_address.zip_code must be at most 5 characters"),
    )
    assert attempt({**ROMA, "province": "rm"}) == (
        422,
        invalid("merchant_address.province must be 2 uppercase letters"),
    )
    assert attempt({**ROMA, "street_address": "x" * 61}) == (
        422,
        invalid("merchant_address.street_address must be at most 60 characters"),
    )
    assert attempt({**ROMA, "street_number": 10}) == (
        422,
        invalid("merchant_address.street_number must be a non-empty string"),
    )
    assert attempt({**ROMA, "country": "IT"}) == (422, invalid("unknown field merchant_address.country"))
    assert attempt({**ROMA, "zip_code": "99999"}) == (
        422,
        invalid("merchant_address: zip_code 99999 is not a valid Italian CAP"),
    )
    assert attempt({**ROMA, "province": "MI"}) == (
        422,
        invalid("merchant_address: province MI does not match zip_code 00100 (expected RM)"),
    )
    assert attempt({**ROMA, "zip_code": "00184", "city": "Milano"}) == (
        422,
        invalid("merchant_address: city Milano does not match zip_code 00184 and province RM"),
    )
    # accents, case and apostrophes are ignored; bilingual names accepted
    forli = {**ROMA, "zip_code": "47121", "city": "FORLI", "province": "FC"}
    status, answer = attempt(forli)
    assert status == 200 and answer["data"]["merchant_address"] == forli


def test_address_other_comuni(client: FlaskClient) -> None:
    create(client)
    for address in (
        {**ROMA, "zip_code": "39100", "city": "Bozen", "province": "BZ"},
        {**ROMA, "zip_code": "70132", "city": "Bari", "province": "BA"},
        {**ROMA, "zip_code": "20121", "city": "Milano", "province": "MI"},
        {**ROMA, "zip_code": "20100", "city": "milano", "province": "MI"},
        {**ROMA, "zip_code": "07041", "city": "Alghero", "province": "SS"},
        {**ROMA, "zip_code": "39012", "city": "Meran", "province": "BZ"},
    ):
        status, answer = call(client, "PATCH", f"{URL}/{VAT}", {"merchant_address": address})
        assert status == 200, answer
        assert answer["data"]["merchant_address"] == address


def test_patch_merchant_address_merges(client: FlaskClient) -> None:
    create(client, merchant_address=ROMA)
    status, answer = call(client, "PATCH", f"{URL}/{VAT}", {"merchant_address": {"street_number": "12/A"}})
    assert status == 200 and answer["data"]["merchant_address"] == {**ROMA, "street_number": "12/A"}
    assert call(client, "PATCH", f"{URL}/{VAT}", {"merchant_address": {"zip_code": "20121"}}) == (
        422,
        invalid("merchant_address: province RM does not match zip_code 20121 (expected MI)"),
    )
    status, answer = call(
        client,
        "PATCH",
        f"{URL}/{VAT}",
        {"merchant_address": {"zip_code": "20121", "province": "MI", "city": "Milano"}},
    )
    assert status == 200 and answer["data"]["merchant_address"]["city"] == "Milano"


# -- list / get ------------------------------------------------------------------------------------


def test_list_only_the_accounts(client: FlaskClient) -> None:
    first = create(client)
    second = create(client, fiscal_id="31847270100")
    call(
        client, "POST", body={"fiscal_id": "27609130722", "name": "O", "email": "o@example.com"}, token=OTHER
    )
    status, answer = call(client, "GET")
    assert status == 200
    assert answer == {"data": [first, second], "success": True, "message": "", "error": None}
    status, answer = call(client, "GET", token=OTHER)
    assert [c["fiscal_id"] for c in answer["data"]] == ["27609130722"]


def test_get(client: FlaskClient) -> None:
    created = create(client)
    assert call(client, "GET", f"{URL}/{VAT}") == (
        200,
        {"data": created, "success": True, "message": "", "error": None},
    )
    assert call(client, "GET", f"{URL}/31847270100") == (
        404,
        error("Fiscal ID not found or not registered", 111),
    )
    assert call(client, "GET", f"{URL}/NOTAFISCALID") == (
        404,
        error("Fiscal ID not found or not registered", 111),
    )
    assert call(client, "GET", f"{URL}/{VAT}", token=OTHER) == (403, error("Unauthorized access", 403))


# -- patch -----------------------------------------------------------------------------------------


def test_patch_fixed_fields_670(client: FlaskClient) -> None:
    created = create(client)
    for field in ("fiscal_id", "name", "email"):
        assert call(client, "PATCH", f"{URL}/{VAT}", {field: created[field]}) == (
            400,
            error(f"Invalid field: {field}. Fields fiscal_id, name, email are not editable.", 670),
        )


def test_patch_switches_and_read_only_fields(client: FlaskClient) -> None:
    created = create(client)
    body = {"customer_invoice": True, "id": "x", "create_timestamp": 1, "active": False}
    status, answer = call(client, "PATCH", f"{URL}/{VAT}", body)
    assert status == 200
    assert answer["data"] == {**created, "customer_invoice": True}
    assert call(client, "PATCH", f"{URL}/{VAT}", {"supplier_invoice": 1}) == (
        422,
        invalid("supplier_invoice must be a boolean"),
    )
    assert call(client, "PATCH", f"{URL}/{VAT}", {"bogus": 1}) == (422, invalid("unknown field bogus"))
    assert call(client, "PATCH", f"{URL}/31847270100", {"receipts": False}) == (
        404,
        error("Fiscal ID not found or not registered", 111),
    )
    assert call(client, "PATCH", f"{URL}/{VAT}", {"receipts": False}, token=OTHER) == (
        403,
        error("Unauthorized access", 403),
    )


def test_patch_receipts_authentication_merges_and_hides_secrets(client: FlaskClient) -> None:
    create(client, receipts_authentication={"taxCode": "A", "password": "p", "pin": "1"})
    status, answer = call(client, "PATCH", f"{URL}/{VAT}", {"receipts_authentication": {"password": "new"}})
    assert status == 200 and answer["data"]["receipts_authentication"] == {"taxCode": "A"}
    assert call(client, "PATCH", f"{URL}/{VAT}", {"receipts_authentication": {"pin": 1}}) == (
        422,
        invalid("receipts_authentication.pin must be a string"),
    )
    assert call(client, "PATCH", f"{URL}/{VAT}", {"receipts_authentication": {"user": "x"}}) == (
        422,
        invalid("unknown field receipts_authentication.user"),
    )


def test_patch_events_replace_add_remove(client: FlaskClient, sandbox: Sandbox) -> None:
    create(
        client,
        api_configurations=[
            {"event": "receipt", "callback": {"url": "https://example.com/r"}},
            {"event": "receipt-error", "callback": {"url": "https://example.com/e"}},
        ],
    )
    body = {
        "api_configurations": [
            {"event": "receipt", "callback": None},
            {"event": "receipt-error", "callback": {"url": "https://example.com/e2", "retry": 5}},
            {"event": "customer-invoice", "callback": {"url": "https://example.com/c"}},
        ]
    }
    status, answer = call(client, "PATCH", f"{URL}/{VAT}", body)
    assert status == 200
    assert answer["data"]["api_configurations"] == [
        {"event": "receipt-error", "callback": callback("https://example.com/e2", retry=5)},
        {"event": "customer-invoice", "callback": callback("https://example.com/c")},
    ]
    with sandbox.transaction() as session:
        account = session.execute(select(Account).where(Account.token == TOKEN)).scalar_one()
        config = configuration_of(session, account, VAT.lower())
        assert callbacks_for(config, "receipt") is None
        assert callbacks_for(config, "customer_invoice") == callback("https://example.com/c")
        assert callbacks_for(config, "receipt-error") == callback("https://example.com/e2", retry=5)


def test_event_and_callback_validation(client: FlaskClient) -> None:
    create(client)
    path = f"{URL}/{VAT}"

    def events(*entries: Any) -> tuple[int, Any]:
        return call(client, "PATCH", path, {"api_configurations": list(entries)})

    ok = {"url": "https://example.com/x"}
    assert call(client, "PATCH", path, {"api_configurations": {}}) == (
        422,
        invalid("api_configurations must be an array"),
    )
    assert events() == (422, invalid("api_configurations must have at least 1 item"))
    assert events("receipt") == (422, invalid("api_configurations[0] must be an object"))
    assert events({"callback": ok}) == (422, invalid("Missing required field: api_configurations[0].event"))
    assert events({"event": "invoice", "callback": ok}) == (
        422,
        invalid(
            "api_configurations[0].event must be one of receipt, receipt-credentials, receipt-retry, "
            "receipt-error, customer-invoice, supplier-invoice"
        ),
    )
    assert events({"event": "receipt"}) == (
        422,
        invalid("Missing required field: api_configurations[0].callback"),
    )
    assert events({"event": "receipt", "callback": ok}, {"event": "receipt", "callback": ok}) == (
        422,
        invalid("event receipt appears twice"),
    )
    assert events({"event": "receipt", "callback": ok, "x": 1}) == (
        422,
        invalid("unknown field api_configurations[0].x"),
    )
    cb = "api_configurations[0].callback"
    cases = [
        ("x", f"{cb} must be an object"),
        ({}, f"Missing required field: {cb}.url"),
        ({"url": "ftp://example.com"}, f"{cb}.url must be an absolute http(s) URL"),
        ({"url": "/relative"}, f"{cb}.url must be an absolute http(s) URL"),
        ({"url": 5}, f"{cb}.url must be an absolute http(s) URL"),
        ({**ok, "method": "GET"}, f"{cb}.method must be POST or JSON"),
        ({**ok, "field": ""}, f"{cb}.field must be a non-empty string"),
        ({**ok, "headers": {"a": 1}}, f"{cb}.headers must be an object of strings"),
        ({**ok, "headers": ["a"]}, f"{cb}.headers must be an object of strings"),
        ({**ok, "retry": -1}, f"{cb}.retry must be an integer from 0 to 5"),
        ({**ok, "retry": 6}, f"{cb}.retry must be an integer from 0 to 5"),
        ({**ok, "retry": "1"}, f"{cb}.retry must be an integer from 0 to 5"),
        ({**ok, "retry": True}, f"{cb}.retry must be an integer from 0 to 5"),
        ({**ok, "scope": 1}, f"{cb}.scope must be a string"),
        ({**ok, "data": []}, f"{cb}.data must be an object"),
        ({**ok, "timeout": 5}, f"unknown field {cb}.timeout"),
    ]
    for value, message in cases:
        assert events({"event": "receipt", "callback": value}) == (422, invalid(message)), value
    status, answer = events(
        {"event": "receipt", "callback": {**ok, "method": "POST", "field": "payload", "custom": "abc"}}
    )
    assert status == 200
    assert answer["data"]["api_configurations"] == [
        {"event": "receipt", "callback": callback(ok["url"], method="POST", field="payload", custom="abc")}
    ]


# -- stores and cash registers -------------------------------------------------------------------


def test_store_validation_on_create(client: FlaskClient) -> None:
    def attempt(stores: Any) -> tuple[int, Any]:
        return call(
            client, "POST", body={"fiscal_id": VAT, "name": "S", "email": "s@example.com", "stores": stores}
        )

    assert attempt({}) == (422, invalid("stores must be an array"))
    assert attempt([{}]) == (422, invalid("Missing required field: stores[0].label"))
    assert attempt([{"label": "x" * 51}]) == (422, invalid("stores[0].label must be at most 50 characters"))
    assert attempt([{"label": "A"}, {"label": " a "}]) == (422, invalid("store label a appears twice"))
    assert attempt([{"label": "A", "address": {**ROMA, "province": "TO"}}]) == (
        422,
        invalid("stores[0].address: province TO does not match zip_code 00100 (expected RM)"),
    )
    assert attempt([{"label": "A", "cash_registers": [{"label": "C"}, {"label": "c"}]}]) == (
        422,
        invalid("cash register label c appears twice in stores[0]"),
    )
    assert attempt([{"label": "A", "cash_registers": [{}]}]) == (
        422,
        invalid("Missing required field: stores[0].cash_registers[0].label"),
    )
    assert attempt([{"label": "A", "cash_registers": {}}]) == (
        422,
        invalid("stores[0].cash_registers must be an array"),
    )
    assert attempt([{"label": "A", "store_id": "nothex"}]) == (
        422,
        invalid("stores[0].store_id must be 24 lowercase hex digits not used yet"),
    )
    given = "665a1b2c3d4e5f6a7b8c9d0e"
    status, answer = attempt(
        [{"label": "A", "store_id": given, "cash_registers": [{"label": "C", "cr_id": given}]}]
    )
    assert (status, answer) == (
        422,
        invalid("stores[0].cash_registers[0].cr_id must be 24 lowercase hex digits not used yet"),
    )
    status, answer = attempt([{"label": "A", "store_id": given}])
    assert status == 200 and answer["data"]["stores"] == [
        {"store_id": given, "label": "A", "address": None, "cash_registers": []}
    ]


def test_patch_stores_by_label_is_additive(client: FlaskClient) -> None:
    created = create(
        client, stores=[{"label": "Centro", "address": ROMA, "cash_registers": [{"label": "Cassa 1"}]}]
    )
    [centro] = created["stores"]
    body = {
        "stores": [
            {
                "label": "centro",
                "address": {"street_address": "Via Nuova"},
                "cash_registers": [{"label": "Cassa 2"}],
            },
            {"label": "Torino", "address": TORINO},
        ]
    }
    status, answer = call(client, "PATCH", f"{URL}/{VAT}", body)
    assert status == 200
    updated, torino = answer["data"]["stores"]
    assert updated["store_id"] == centro["store_id"] and updated["label"] == "Centro"
    assert updated["address"] == {**ROMA, "street_address": "Via Nuova"}
    assert updated["cash_registers"][0] == centro["cash_registers"][0]
    assert [r["label"] for r in updated["cash_registers"]] == ["Cassa 1", "Cassa 2"]
    assert torino["label"] == "Torino" and torino["address"] == TORINO and torino["cash_registers"] == []
    # stores are never removed
    status, answer = call(client, "PATCH", f"{URL}/{VAT}", {"stores": []})
    assert status == 200 and len(answer["data"]["stores"]) == 2


def test_granular_store_patch(client: FlaskClient) -> None:
    created = create(client, stores=[{"label": "A", "cash_registers": [{"label": "C1"}]}, {"label": "B"}])
    store_a, store_b = created["stores"]
    path = f"{URL}/{VAT}/stores/{store_a['store_id']}"
    status, answer = call(
        client, "PATCH", path, {"label": "A2", "address": ROMA, "cash_registers": [{"label": "C2"}]}
    )
    assert status == 200 and answer["success"] is True
    first = answer["data"]["stores"][0]
    assert first["label"] == "A2" and first["address"] == ROMA
    assert [r["label"] for r in first["cash_registers"]] == ["C1", "C2"]
    assert answer["data"]["stores"][1] == store_b
    assert call(client, "PATCH", path, {"label": "b"}) == (422, invalid("store label b is already used"))
    assert call(client, "PATCH", path, {"label": ""}) == (
        422,
        invalid("store.label must be a non-empty string"),
    )
    assert call(client, "PATCH", path, {"colour": "red"}) == (422, invalid("unknown field store.colour"))
    assert call(client, "PATCH", path, {"address": {"zip_code": "20121"}}) == (
        422,
        invalid("store.address: province RM does not match zip_code 20121 (expected MI)"),
    )
    assert call(client, "PATCH", f"{URL}/{VAT}/stores/{'0' * 24}", {"label": "Z"}) == (
        404,
        error("Store not found", 404),
    )
    assert call(client, "PATCH", path, {"label": "Z"}, token=OTHER) == (
        403,
        error("Unauthorized access", 403),
    )


def test_granular_cash_register_patch(client: FlaskClient) -> None:
    created = create(client, stores=[{"label": "A", "cash_registers": [{"label": "C1"}, {"label": "C2"}]}])
    [store] = created["stores"]
    c1, c2 = store["cash_registers"]
    path = f"{URL}/{VAT}/stores/{store['store_id']}/cash_registers/{c1['cr_id']}"
    status, answer = call(client, "PATCH", path, {"label": "Cassa Ingresso"})
    assert status == 200
    assert answer["data"]["stores"][0]["cash_registers"] == [
        {"cr_id": c1["cr_id"], "label": "Cassa Ingresso"},
        c2,
    ]
    assert call(client, "PATCH", path, {"label": "c2"}) == (
        422,
        invalid("cash register label c2 is already used in store A"),
    )
    assert call(client, "PATCH", path, {"label": "x" * 51}) == (
        422,
        invalid("cash_register.label must be at most 50 characters"),
    )
    assert call(client, "PATCH", path, {"address": ROMA}) == (
        422,
        invalid("unknown field cash_register.address"),
    )
    missing = f"{URL}/{VAT}/stores/{store['store_id']}/cash_registers/{'f' * 24}"
    assert call(client, "PATCH", missing, {"label": "Z"}) == (404, error("Cash register not found", 404))
    assert call(
        client, "PATCH", f"{URL}/{VAT}/stores/{'f' * 24}/cash_registers/{c1['cr_id']}", {"label": "Z"}
    ) == (
        404,
        error("Store not found", 404),
    )


# -- delete ----------------------------------------------------------------------------------------


def test_delete(client: FlaskClient) -> None:
    create(client)
    assert call(client, "DELETE", f"{URL}/{VAT}", token=OTHER) == (403, error("Unauthorized access", 403))
    assert call(client, "DELETE", f"{URL}/{VAT}") == (
        200,
        {"data": None, "success": True, "message": f"Deleted configuration for id: {VAT}", "error": None},
    )
    assert call(client, "GET", f"{URL}/{VAT}") == (404, error("Fiscal ID not found or not registered", 111))
    assert call(client, "DELETE", f"{URL}/{VAT}") == (
        404,
        error("Fiscal ID not found or not registered", 111),
    )
    # the fiscal id may be configured again
    create(client)


def test_delete_refused_once_receipts_were_sent(client: FlaskClient, sandbox: Sandbox) -> None:
    create(client, receipts=True, merchant_address=ROMA)
    with sandbox.transaction() as session:
        account = session.execute(select(Account).where(Account.token == TOKEN)).scalar_one()
        now = sandbox.clock.now()
        session.add(
            OpenapiReceipt(
                public_id="a" * 24,
                account_id=account.id,
                fiscal_id=VAT,
                type="sale",
                status="ready",
                document={},
                created_at=now,
                updated_at=now,
            )
        )
    assert call(client, "DELETE", f"{URL}/{VAT}") == (
        409,
        error(f"Configuration cannot be deleted: receipts have been sent for fiscal_id {VAT}", 409),
    )
    assert call(client, "GET", f"{URL}/{VAT}")[0] == 200
