"""Openapi.it IT-configurations: the companies (fiscal ids) an account manages, and their settings.

A configuration holds the company's identity (``fiscal_id``, ``name``, ``email``: fixed once
created), the service switches (``receipts``, ``customer_invoice``, ``supplier_invoice``, all false
by default), the receipts credentials, the legal address (``merchant_address``), the points of sale
(``stores``, each with ``cash_registers``) and the webhooks (``api_configurations``: one ``callback``
per event). Other modules read it through ``configuration_of`` and ``callbacks_for``.

Tenant rule: an account configures only its own fiscal ids; another tenant's → 403 "Unauthorized
access"; a fiscal id no account holds (or no configuration of the account) → 404 error 111.

Decisions (the document is silent or contradicts itself):
- a body that is not a JSON object → 400 "Invalid input data"; a field that breaks the schema (missing
  required field, wrong type, unknown field, bad address, bad callback) → 422
  "Validation Error: <what>", error 422 (the document's wording for its 422s);
- creating a second configuration for a fiscal id → 409 "IT-configuration already exists for
  fiscal_id <id>", error 409;
- PATCH with ``fiscal_id``, ``name`` or ``email`` present (even unchanged) → 400 error 670
  "Invalid field: <field>. Fields fiscal_id, name, email are not editable.";
- the read-only response fields (``id``, ``create_timestamp``, ``active``) sent back in a PATCH are
  ignored, so a client may PATCH what it read (minus the three fixed fields);
- ``receipts`` true needs a ``merchant_address``, checked on the configuration as it results
  (create, or PATCH after merging);
- events: the enum's ``receipt``, ``receipt-credentials``, ``receipt-retry``, ``receipt-error``,
  ``customer-invoice``, ``supplier-invoice``; the document's examples also write
  ``customer_invoice`` / ``supplier_invoice``, accepted as aliases and stored hyphenated; an event
  may appear once per request; a PATCH entry replaces that event's callback, ``callback: null``
  removes the event, events not named are kept;
- callback: ``url`` required, absolute http(s); ``method`` ``JSON`` (default) or ``POST`` (any case,
  stored upper case); ``field`` a non-empty string (default ``data``); ``headers`` string values;
  ``retry`` an integer 0–5 (the document's maximum; its "minimum 5" is taken for a typo); ``custom``
  any JSON value, echoed; the response-only keys (``user_id``, ``username``, ``data``, ``scope``,
  ``domain``) are accepted and stored; the answer shows every key as in the document's examples;
- ``receipts_authentication``: ``taxCode``, ``password``, ``pin`` strings (or null); a PATCH merges
  them; answers show only ``taxCode`` (the secrets are never echoed);
- addresses: the five fields required strings (lengths as the schema, ``province`` two upper-case
  letters, ``zip_code`` five digits) and consistent per the CAP registry (``caps``); a PATCH of
  ``merchant_address`` or a store's ``address`` merges field by field, then checks the whole;
- stores: ``label`` required (≤ 50 characters), unique within the configuration, compared ignoring
  case and surrounding spaces; cash register labels unique within their store the same way; ids
  (``store_id``, ``cr_id``) generated as 24 hex digits — a client-supplied one is accepted when it
  is 24 hex digits not yet used in the configuration; a PATCH's ``stores`` entries update the store
  of the same label (address merged, new cash registers added by label) or add a store; nothing is
  removed; the granular PATCHes change one store (``label``, ``address``, ``cash_registers`` added by
  label) or one cash register (``label``), unknown ids → 404 "Store not found" / "Cash register not
  found" (error 404), and answer the whole configuration;
- DELETE once a receipt exists for the fiscal id → 409 "Configuration cannot be deleted: receipts
  have been sent for fiscal_id <id>", error 409; otherwise 200 with the document's message.
"""

from __future__ import annotations

import re
from copy import deepcopy
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.ids import IdFactory
from emulator.core.tenancy import Account
from emulator.providers.openapi import caps
from emulator.providers.openapi.auth import new_id
from emulator.providers.openapi.errors import OpenapiError
from emulator.providers.openapi.models import OpenapiConfiguration, OpenapiReceipt

NOT_FOUND = "Fiscal ID not found or not registered"
FORBIDDEN = "Unauthorized access"
EVENTS = (
    "receipt",
    "receipt-credentials",
    "receipt-retry",
    "receipt-error",
    "customer-invoice",
    "supplier-invoice",
)
EVENT_ALIASES = {"customer_invoice": "customer-invoice", "supplier_invoice": "supplier-invoice"}
SWITCHES = ("receipts", "customer_invoice", "supplier_invoice")
FIXED = ("fiscal_id", "name", "email")
READ_ONLY = ("id", "create_timestamp", "active")
CREATE_FIELDS = {
    *FIXED,
    *SWITCHES,
    "merchant_address",
    "stores",
    "receipts_authentication",
    "api_configurations",
}
PATCH_FIELDS = CREATE_FIELDS - set(FIXED)
ADDRESS_FIELDS = {"street_address": 60, "street_number": 10, "zip_code": 5, "city": 60, "province": 2}
AUTH_FIELDS = ("taxCode", "password", "pin")
CALLBACK_FIELDS = {
    "url",
    "method",
    "field",
    "headers",
    "retry",
    "custom",
    "user_id",
    "username",
    "data",
    "scope",
    "domain",
}
MAX_RETRY = 5
LABEL_MAX = 50
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HEX_ID = re.compile(r"^[0-9a-f]{24}$")


class FiscalIdNotFound(OpenapiError):
    """404 error 111: no configuration for that fiscal id (or no account holds it)."""

    def __init__(self) -> None:
        super().__init__(NOT_FOUND, status=404, error=111)


class FiscalIdForbidden(OpenapiError):
    """403: the fiscal id belongs to another tenant."""

    def __init__(self) -> None:
        super().__init__(FORBIDDEN, status=403)


class InvalidInput(OpenapiError):
    """400: the body is not a JSON object."""

    def __init__(self) -> None:
        super().__init__("Invalid input data", status=400)


class ConfigurationInvalid(OpenapiError):
    """422: a field breaks the schema or a documented rule."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Validation Error: {detail}", status=422)


class FieldNotEditable(OpenapiError):
    """400 error 670: PATCH may not change fiscal_id, name or email."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"Invalid field: {field}. Fields fiscal_id, name, email are not editable.", status=400, error=670
        )


class ConfigurationExists(OpenapiError):
    """409: the fiscal id is already configured."""

    def __init__(self, fiscal_id: str) -> None:
        super().__init__(f"IT-configuration already exists for fiscal_id {fiscal_id}", status=409)


class ConfigurationInUse(OpenapiError):
    """409: receipts were sent for the fiscal id, so its configuration stays."""

    def __init__(self, fiscal_id: str) -> None:
        super().__init__(
            f"Configuration cannot be deleted: receipts have been sent for fiscal_id {fiscal_id}", status=409
        )


class PartNotFound(OpenapiError):
    """404: no store / cash register with that id in the configuration."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found", status=404)


# -- for the other modules -----------------------------------------------------------------------


def check_tenant(session: Session, account: Account, fiscal_id: str) -> str:
    """The normalised fiscal id when ``account`` may use it; 403 another tenant's, 404 nobody's."""
    wanted = (fiscal_id or "").strip().upper()
    if wanted and wanted in account.fiscal_ids:
        return wanted
    others = session.execute(select(Account).where(Account.provider == account.provider)).scalars()
    if wanted and any(wanted in other.fiscal_ids for other in others if other.id != account.id):
        raise FiscalIdForbidden()
    raise FiscalIdNotFound()


def configuration_of(session: Session, account: Account, fiscal_id: str) -> OpenapiConfiguration:
    """The account's configuration of ``fiscal_id``: 403 another tenant's, 404 (111) when none."""
    wanted = check_tenant(session, account, fiscal_id)
    row = session.execute(
        select(OpenapiConfiguration).where(OpenapiConfiguration.fiscal_id == wanted)
    ).scalar_one_or_none()
    if row is None or row.account_id != account.id:
        raise FiscalIdNotFound()
    return row


def callbacks_for(config: OpenapiConfiguration, event: str) -> dict[str, Any] | None:
    """The ``callback`` object configured for ``event`` in ``api_configurations``, or None."""
    wanted = EVENT_ALIASES.get(event, event)
    for entry in config.document.get("api_configurations") or []:
        if isinstance(entry, dict) and entry.get("event") == wanted:
            callback = entry.get("callback")
            return dict(callback) if isinstance(callback, dict) else None
    return None


# -- operations ----------------------------------------------------------------------------------


def list_configurations(session: Session, account: Account) -> list[dict[str, Any]]:
    query = (
        select(OpenapiConfiguration)
        .where(OpenapiConfiguration.account_id == account.id)
        .order_by(OpenapiConfiguration.created_at, OpenapiConfiguration.id)
    )
    return [view(row) for row in session.execute(query).scalars()]


def get_configuration(session: Session, account: Account, fiscal_id: str) -> dict[str, Any]:
    return view(configuration_of(session, account, fiscal_id))


def create_configuration(
    session: Session, ids: IdFactory, account: Account, payload: Any, now: datetime
) -> dict[str, Any]:
    body = _object(payload)
    _no_unknown(body, CREATE_FIELDS | set(READ_ONLY), "")
    for field in FIXED:
        if body.get(field) is None:
            raise ConfigurationInvalid(f"Missing required field: {field}")
        if not isinstance(body[field], str) or not body[field].strip():
            raise ConfigurationInvalid(f"{field} must be a non-empty string")
    if not EMAIL.match(body["email"].strip()):
        raise ConfigurationInvalid("email must be a valid e-mail address")
    fiscal_id = check_tenant(session, account, body["fiscal_id"])
    existing = session.execute(
        select(OpenapiConfiguration).where(OpenapiConfiguration.fiscal_id == fiscal_id)
    ).scalar_one_or_none()
    if existing is not None:
        raise ConfigurationExists(fiscal_id)
    document: dict[str, Any] = {
        "fiscal_id": fiscal_id,
        "name": body["name"].strip(),
        "email": body["email"].strip(),
        "receipts": False,
        "customer_invoice": False,
        "supplier_invoice": False,
        "receipts_authentication": None,
        "merchant_address": None,
        "stores": [],
        "api_configurations": [],
    }
    _apply(document, body, ids)
    row = OpenapiConfiguration(
        public_id=new_id(ids),
        account_id=account.id,
        fiscal_id=fiscal_id,
        document=document,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return view(row)


def patch_configuration(
    session: Session, ids: IdFactory, account: Account, fiscal_id: str, payload: Any, now: datetime
) -> dict[str, Any]:
    row = configuration_of(session, account, fiscal_id)
    body = _object(payload)
    for field in FIXED:
        if field in body:
            raise FieldNotEditable(field)
    _no_unknown(body, PATCH_FIELDS | set(READ_ONLY), "")
    document = deepcopy(row.document)
    _apply(document, body, ids)
    return _save(row, document, now)


def patch_store(
    session: Session,
    ids: IdFactory,
    account: Account,
    fiscal_id: str,
    store_id: str,
    payload: Any,
    now: datetime,
) -> dict[str, Any]:
    row = configuration_of(session, account, fiscal_id)
    body = _object(payload)
    _no_unknown(body, {"label", "address", "cash_registers", "store_id"}, "store.")
    document = deepcopy(row.document)
    store = _find(document["stores"], "store_id", store_id, "Store")
    if "label" in body:
        label = _label(body["label"], "store.label")
        if any(_same(label, s["label"]) for s in document["stores"] if s is not store):
            raise ConfigurationInvalid(f"store label {label} is already used")
        store["label"] = label
    _update_store(store, body, ids, _used_ids(document), "store")
    return _save(row, document, now)


def patch_cash_register(
    session: Session,
    account: Account,
    fiscal_id: str,
    store_id: str,
    cr_id: str,
    payload: Any,
    now: datetime,
) -> dict[str, Any]:
    row = configuration_of(session, account, fiscal_id)
    body = _object(payload)
    _no_unknown(body, {"label", "cr_id"}, "cash_register.")
    document = deepcopy(row.document)
    store = _find(document["stores"], "store_id", store_id, "Store")
    register = _find(store["cash_registers"], "cr_id", cr_id, "Cash register")
    if "label" in body:
        label = _label(body["label"], "cash_register.label")
        if any(_same(label, r["label"]) for r in store["cash_registers"] if r is not register):
            raise ConfigurationInvalid(
                f"cash register label {label} is already used in store {store['label']}"
            )
        register["label"] = label
    return _save(row, document, now)


def delete_configuration(session: Session, account: Account, fiscal_id: str) -> str:
    """Delete the configuration; the answer's message."""
    row = configuration_of(session, account, fiscal_id)
    receipt = session.execute(
        select(OpenapiReceipt.id).where(OpenapiReceipt.fiscal_id == row.fiscal_id).limit(1)
    ).first()
    if receipt is not None:
        raise ConfigurationInUse(row.fiscal_id)
    session.delete(row)
    session.flush()
    return f"Deleted configuration for id: {row.fiscal_id}"


def view(row: OpenapiConfiguration) -> dict[str, Any]:
    """A configuration as the document's ITConfigurationResponse ``data``."""
    doc = row.document
    auth = doc.get("receipts_authentication")
    return {
        "fiscal_id": row.fiscal_id,
        "name": doc.get("name"),
        "email": doc.get("email"),
        "receipts_authentication": None if auth is None else {"taxCode": auth.get("taxCode")},
        "api_configurations": deepcopy(doc.get("api_configurations") or []),
        "receipts": bool(doc.get("receipts")),
        "customer_invoice": bool(doc.get("customer_invoice")),
        "supplier_invoice": bool(doc.get("supplier_invoice")),
        "active": True,
        "merchant_address": deepcopy(doc.get("merchant_address")),
        "stores": deepcopy(doc.get("stores") or []),
        "create_timestamp": int(row.created_at.timestamp()),
        "id": row.public_id,
    }


# -- validation and merging ----------------------------------------------------------------------


def _save(row: OpenapiConfiguration, document: dict[str, Any], now: datetime) -> dict[str, Any]:
    row.document = document
    row.updated_at = now
    return view(row)


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput()
    return payload


def _no_unknown(body: dict[str, Any], allowed: set[str], prefix: str) -> None:
    for key in body:
        if key not in allowed:
            raise ConfigurationInvalid(f"unknown field {prefix}{key}")


def _apply(document: dict[str, Any], body: dict[str, Any], ids: IdFactory) -> None:
    """Merge a create/PATCH body into ``document`` (validating it), then check the whole."""
    for switch in SWITCHES:
        if switch in body:
            if not isinstance(body[switch], bool):
                raise ConfigurationInvalid(f"{switch} must be a boolean")
            document[switch] = body[switch]
    if "receipts_authentication" in body:
        document["receipts_authentication"] = _authentication(
            body["receipts_authentication"], document.get("receipts_authentication")
        )
    if "merchant_address" in body:
        value = body["merchant_address"]
        document["merchant_address"] = (
            None if value is None else _address(value, document.get("merchant_address"), "merchant_address")
        )
    if "stores" in body:
        _merge_stores(document, body["stores"], ids)
    if "api_configurations" in body:
        document["api_configurations"] = _merge_events(
            document.get("api_configurations") or [], body["api_configurations"]
        )
    if document.get("receipts") and not document.get("merchant_address"):
        raise ConfigurationInvalid("merchant_address is required when receipts is true")


def _authentication(value: Any, current: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigurationInvalid("receipts_authentication must be an object")
    _no_unknown(value, set(AUTH_FIELDS), "receipts_authentication.")
    merged = dict(current or {})
    for key, item in value.items():
        if item is not None and not isinstance(item, str):
            raise ConfigurationInvalid(f"receipts_authentication.{key} must be a string")
        merged[key] = item
    return merged


def _address(value: Any, current: dict[str, Any] | None, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigurationInvalid(f"{where} must be an object")
    _no_unknown(value, set(ADDRESS_FIELDS), f"{where}.")
    merged = dict(current or {})
    merged.update(value)
    for field, limit in ADDRESS_FIELDS.items():
        item = merged.get(field)
        if item is None:
            raise ConfigurationInvalid(f"Missing required field: {where}.{field}")
        if not isinstance(item, str) or not item.strip():
            raise ConfigurationInvalid(f"{where}.{field} must be a non-empty string")
        if len(item) > limit:
            raise ConfigurationInvalid(f"{where}.{field} must be at most {limit} characters")
    if not re.fullmatch(r"\d{5}", merged["zip_code"]):
        raise ConfigurationInvalid(f"{where}.zip_code must be exactly 5 digits")
    if not re.fullmatch(r"[A-Z]{2}", merged["province"]):
        raise ConfigurationInvalid(f"{where}.province must be 2 uppercase letters")
    problem = caps.address_problem(merged["zip_code"], merged["city"], merged["province"])
    if problem is not None:
        raise ConfigurationInvalid(f"{where}: {problem}")
    return {field: merged[field] for field in ADDRESS_FIELDS}


def _label(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationInvalid(
            f"Missing required field: {where}" if value is None else f"{where} must be a non-empty string"
        )
    label = value.strip()
    if len(label) > LABEL_MAX:
        raise ConfigurationInvalid(f"{where} must be at most {LABEL_MAX} characters")
    return label


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _used_ids(document: dict[str, Any]) -> set[str]:
    used = set()
    for store in document.get("stores") or []:
        used.add(store["store_id"])
        used.update(r["cr_id"] for r in store.get("cash_registers") or [])
    return used


def _new_part_id(given: Any, used: set[str], ids: IdFactory, where: str) -> str:
    if given is not None:
        if not isinstance(given, str) or not HEX_ID.match(given) or given in used:
            raise ConfigurationInvalid(f"{where} must be 24 lowercase hex digits not used yet")
        used.add(given)
        return given
    while (fresh := new_id(ids)) in used:
        pass
    used.add(fresh)
    return fresh


def _find(items: list[dict[str, Any]], key: str, wanted: str, what: str) -> dict[str, Any]:
    for item in items:
        if item[key] == wanted.lower():
            return item
    raise PartNotFound(what)


def _merge_stores(document: dict[str, Any], value: Any, ids: IdFactory) -> None:
    if not isinstance(value, list):
        raise ConfigurationInvalid("stores must be an array")
    stores: list[dict[str, Any]] = document.setdefault("stores", [])
    used = _used_ids(document)
    seen: list[str] = []
    for index, entry in enumerate(value):
        where = f"stores[{index}]"
        if not isinstance(entry, dict):
            raise ConfigurationInvalid(f"{where} must be an object")
        _no_unknown(entry, {"label", "address", "cash_registers", "store_id"}, f"{where}.")
        label = _label(entry.get("label"), f"{where}.label")
        if any(_same(label, other) for other in seen):
            raise ConfigurationInvalid(f"store label {label} appears twice")
        seen.append(label)
        store = next((s for s in stores if _same(s["label"], label)), None)
        if store is None:
            store = {
                "store_id": _new_part_id(entry.get("store_id"), used, ids, f"{where}.store_id"),
                "label": label,
                "address": None,
                "cash_registers": [],
            }
            stores.append(store)
        _update_store(store, entry, ids, used, where)


def _update_store(
    store: dict[str, Any], entry: dict[str, Any], ids: IdFactory, used: set[str], where: str
) -> None:
    if "address" in entry:
        value = entry["address"]
        store["address"] = (
            None if value is None else _address(value, store.get("address"), f"{where}.address")
        )
    if "cash_registers" not in entry:
        return
    value = entry["cash_registers"]
    if not isinstance(value, list):
        raise ConfigurationInvalid(f"{where}.cash_registers must be an array")
    registers: list[dict[str, Any]] = store.setdefault("cash_registers", [])
    seen: list[str] = []
    for index, item in enumerate(value):
        at = f"{where}.cash_registers[{index}]"
        if not isinstance(item, dict):
            raise ConfigurationInvalid(f"{at} must be an object")
        _no_unknown(item, {"label", "cr_id"}, f"{at}.")
        label = _label(item.get("label"), f"{at}.label")
        if any(_same(label, other) for other in seen):
            raise ConfigurationInvalid(f"cash register label {label} appears twice in {where}")
        seen.append(label)
        if not any(_same(r["label"], label) for r in registers):
            registers.append(
                {"cr_id": _new_part_id(item.get("cr_id"), used, ids, f"{at}.cr_id"), "label": label}
            )


def _merge_events(current: list[dict[str, Any]], value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ConfigurationInvalid("api_configurations must be an array")
    if not value:
        raise ConfigurationInvalid("api_configurations must have at least 1 item")
    merged = {entry["event"]: entry for entry in current}
    seen: set[str] = set()
    for index, entry in enumerate(value):
        where = f"api_configurations[{index}]"
        if not isinstance(entry, dict):
            raise ConfigurationInvalid(f"{where} must be an object")
        _no_unknown(entry, {"event", "callback"}, f"{where}.")
        raw = entry.get("event")
        if raw is None:
            raise ConfigurationInvalid(f"Missing required field: {where}.event")
        event = EVENT_ALIASES.get(raw, raw) if isinstance(raw, str) else raw
        if event not in EVENTS:
            raise ConfigurationInvalid(f"{where}.event must be one of {', '.join(EVENTS)}")
        if event in seen:
            raise ConfigurationInvalid(f"event {event} appears twice")
        seen.add(event)
        if "callback" not in entry:
            raise ConfigurationInvalid(f"Missing required field: {where}.callback")
        if entry["callback"] is None:
            merged.pop(event, None)
        else:
            merged[event] = {"event": event, "callback": _callback(entry["callback"], f"{where}.callback")}
    return list(merged.values())


def _callback(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigurationInvalid(f"{where} must be an object")
    _no_unknown(value, CALLBACK_FIELDS, f"{where}.")
    url = value.get("url")
    if url is None:
        raise ConfigurationInvalid(f"Missing required field: {where}.url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigurationInvalid(f"{where}.url must be an absolute http(s) URL")
    method = value.get("method", "JSON")
    if not isinstance(method, str) or method.upper() not in ("JSON", "POST"):
        raise ConfigurationInvalid(f"{where}.method must be POST or JSON")
    field = value.get("field", "data")
    if not isinstance(field, str) or not field.strip():
        raise ConfigurationInvalid(f"{where}.field must be a non-empty string")
    headers = {} if value.get("headers") is None else value["headers"]
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigurationInvalid(f"{where}.headers must be an object of strings")
    retry = value.get("retry", 0)
    if isinstance(retry, bool) or not isinstance(retry, int) or not 0 <= retry <= MAX_RETRY:
        raise ConfigurationInvalid(f"{where}.retry must be an integer from 0 to {MAX_RETRY}")
    for key in ("user_id", "username", "scope", "domain"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise ConfigurationInvalid(f"{where}.{key} must be a string")
    data = {} if value.get("data") is None else value["data"]
    if not isinstance(data, dict):
        raise ConfigurationInvalid(f"{where}.data must be an object")
    return {
        "method": method.upper(),
        "url": url,
        "user_id": value.get("user_id") or "",
        "username": value.get("username") or "",
        "field": field,
        "headers": dict(headers),
        "data": dict(data),
        "retry": retry,
        "scope": value.get("scope"),
        "domain": value.get("domain"),
        "custom": value.get("custom"),
    }
