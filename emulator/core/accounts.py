"""The default accounts the sandbox seeds at start and after every reset, read from a JSON file.

The file (``fixtures/accounts.json`` in a source checkout, or any file given by
``--accounts-file`` / ``FATTURA_SANDBOX_ACCOUNTS_FILE``) is a JSON list with one object per
account; ``fixtures/README.md`` documents an entry. It is validated strictly when loaded, so a
typo in a user's own file fails at start with a message naming the entry, instead of surfacing
later as a login that never works or an invoice delivered to nobody.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stdnum.it import codicefiscale, iva

from emulator.core.webhooks import RETRY_POLICIES, check_api_key, check_callback_url
from emulator.sdi.signing import P7M_ENCODINGS

DEFAULT_ACCOUNTS_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "accounts.json"

PROVIDERS = ("easytracking", "aruba", "acube", "openapi")
DEFAULT_P7M_ENCODING = "der"

_REQUIRED_KEYS = frozenset(
    {
        "provider",
        "tenant",
        "username",
        "email",
        "password",
        "vat_numbers",
        "fiscal_codes",
        "name",
        "address",
        "recipient_code",
    }
)
_OPTIONAL_KEYS = frozenset(
    {"token", "pec", "pa_office_code", "p7m_encoding", "premium", "callback_url", "callback_api_key"}
)
_ADDRESS_REQUIRED = frozenset({"street", "zip", "city", "country"})
_ADDRESS_OPTIONAL = frozenset({"number", "province"})

_TENANT_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_VAT_RE = re.compile(r"[0-9]{11}")
_FISCAL_CODE_RE = re.compile(r"[0-9]{11}|[A-Z0-9]{16}")
_RECIPIENT_CODE_RE = re.compile(r"[A-Z0-9]{7}")
_PA_OFFICE_CODE_RE = re.compile(r"[A-Z0-9]{6}")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ZIP_RE = re.compile(r"[0-9]{5}")
_CODE2_RE = re.compile(r"[A-Z]{2}")
_NO_CHANNEL = "0000000"
_MAX_NAME = 80  # Denominazione is at most 80 characters in FatturaPA


class AccountFileError(ValueError):
    """The accounts file is missing, is not JSON, or an entry is not a valid account."""


@dataclass(frozen=True)
class AccountAddress:
    street: str
    number: str | None
    zip: str
    city: str
    province: str | None
    country: str


@dataclass(frozen=True)
class AccountSpec:
    """One account as the file describes it (``tenancy.seed_accounts`` turns it into a row)."""

    provider: str
    tenant: str
    username: str
    email: str
    password: str
    token: str | None
    vat_numbers: tuple[str, ...]
    fiscal_codes: tuple[str, ...]
    name: str
    address: AccountAddress
    pec: str | None
    recipient_code: str
    pa_office_code: str | None
    # How signed incoming invoices reach this account unless a request says otherwise.
    p7m_encoding: str = DEFAULT_P7M_ENCODING
    # A provider's paid tier for several fiscal ids (Aruba "Premium": finds must name the party).
    premium: bool = False
    # Where the provider's push callbacks go (providers with callbacks only), and the static key
    # sent as their Authorization header; the control API can change both.
    callback_url: str | None = None
    callback_api_key: str | None = None

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.tenant}"

    @property
    def fiscal_ids(self) -> frozenset[str]:
        """Every fiscal id the account owns (a company's codice fiscale usually equals its P.IVA)."""
        return frozenset(self.vat_numbers) | frozenset(self.fiscal_codes)


def load_account_specs(path: Path) -> list[AccountSpec]:
    """Read and validate the accounts file; raise ``AccountFileError`` naming the faulty entry."""
    entries = _read_entries(path)
    specs = [_parse_entry(path, index, entry) for index, entry in enumerate(entries, start=1)]
    _check_unique(path, specs)
    return specs


# -- reading ------------------------------------------------------------------------------------


def _read_entries(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AccountFileError(f"accounts file {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise AccountFileError(f"accounts file {path}: not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise AccountFileError(f"accounts file {path}: must be a JSON list of account objects")
    if not data:
        raise AccountFileError(f"accounts file {path}: contains no accounts")
    return data


class _Entry:
    """Typed access to one entry's fields; every problem becomes an error naming the entry."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    @classmethod
    def of(cls, path: Path, index: int, data: Mapping[str, Any]) -> _Entry:
        provider, tenant = data.get("provider"), data.get("tenant")
        label = f" ({provider}/{tenant})" if isinstance(provider, str) and isinstance(tenant, str) else ""
        return cls(data, f"accounts file {path}: entry {index}{label}")

    def error(self, message: str) -> AccountFileError:
        return AccountFileError(f"{self.where}: {message}")

    def text(self, key: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{key!r} must be a non-empty string")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.error(f"{key!r} {value!r} is not valid{hint}")
        return value

    def optional_text(self, key: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> str | None:
        if self.data.get(key) is None:
            return None
        return self.text(key, pattern, hint)

    def ids(self, key: str, check: Callable[[str], bool], kind: str) -> tuple[str, ...]:
        values = self.data.get(key)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.error(f"{key!r} must be a list of strings")
        for value in values:
            if not check(value):
                raise self.error(f"{key!r}: {value!r} is not a valid {kind}")
        if len(set(values)) != len(values):
            raise self.error(f"{key!r} lists the same id twice")
        return tuple(values)


def _parse_entry(path: Path, index: int, data: Any) -> AccountSpec:
    if not isinstance(data, dict):
        raise AccountFileError(f"accounts file {path}: entry {index} must be a JSON object")
    entry = _Entry.of(path, index, data)
    _check_keys(entry, data, _REQUIRED_KEYS, _OPTIONAL_KEYS)
    provider = entry.text("provider")
    if provider not in PROVIDERS:
        raise entry.error(f"unknown provider {provider!r} (expected one of {', '.join(PROVIDERS)})")
    vat_numbers = entry.ids("vat_numbers", _is_vat, "P.IVA (11 digits, no country prefix, valid check digit)")
    fiscal_codes = entry.ids("fiscal_codes", _is_fiscal_code, "codice fiscale (16 characters or 11 digits)")
    if not vat_numbers and not fiscal_codes:
        raise entry.error("the account owns no fiscal id (vat_numbers and fiscal_codes are both empty)")
    name = entry.text("name")
    if len(name) > _MAX_NAME:
        raise entry.error(f"'name' is longer than {_MAX_NAME} characters")
    return AccountSpec(
        provider=provider,
        tenant=entry.text("tenant", _TENANT_RE, " (lowercase letters, digits, '-' and '_')"),
        username=entry.text("username"),
        email=entry.text("email", _EMAIL_RE),
        password=entry.text("password"),
        token=entry.optional_text("token"),
        vat_numbers=vat_numbers,
        fiscal_codes=fiscal_codes,
        name=name,
        address=_parse_address(entry),
        pec=entry.optional_text("pec", _EMAIL_RE),
        recipient_code=_recipient_code(entry),
        pa_office_code=entry.optional_text(
            "pa_office_code", _PA_OFFICE_CODE_RE, " (6 uppercase letters/digits)"
        ),
        p7m_encoding=_p7m_encoding(entry),
        premium=_premium(entry),
        callback_url=_callback_setting(entry, provider, "callback_url", check_callback_url),
        callback_api_key=_callback_setting(entry, provider, "callback_api_key", check_api_key),
    )


def _callback_setting(entry: _Entry, provider: str, key: str, check: Callable[[object], str]) -> str | None:
    value = entry.data.get(key)
    if value is None:
        return None
    if provider not in RETRY_POLICIES:
        raise entry.error(f"{key!r}: the sandbox makes no callbacks for {provider} accounts")
    try:
        return check(value)
    except ValueError as exc:
        raise entry.error(str(exc)) from None


def _premium(entry: _Entry) -> bool:
    value = entry.data.get("premium", False)
    if not isinstance(value, bool):
        raise entry.error("'premium' must be true or false")
    return value


def _p7m_encoding(entry: _Entry) -> str:
    value = entry.data.get("p7m_encoding", DEFAULT_P7M_ENCODING)
    if value not in P7M_ENCODINGS:
        raise entry.error(f"'p7m_encoding' must be one of {', '.join(P7M_ENCODINGS)}")
    return str(value)


def _check_keys(
    entry: _Entry, data: Mapping[str, Any], required: frozenset[str], optional: frozenset[str]
) -> None:
    missing = sorted(required - data.keys())
    if missing:
        raise entry.error(f"missing key(s): {', '.join(missing)}")
    unknown = sorted(data.keys() - required - optional)
    if unknown:
        raise entry.error(f"unknown key(s): {', '.join(unknown)}")


def _recipient_code(entry: _Entry) -> str:
    code = entry.text("recipient_code", _RECIPIENT_CODE_RE, " (7 uppercase letters/digits)")
    if code == _NO_CHANNEL:
        raise entry.error(f"'recipient_code' cannot be {_NO_CHANNEL} (that means 'no channel')")
    return code


def _parse_address(entry: _Entry) -> AccountAddress:
    data = entry.data.get("address")
    if not isinstance(data, dict):
        raise entry.error("'address' must be an object")
    address = _Entry(data, f"{entry.where}: address")
    _check_keys(address, data, _ADDRESS_REQUIRED, _ADDRESS_OPTIONAL)
    country = address.text("country", _CODE2_RE, " (two uppercase letters)")
    province = address.optional_text("province", _CODE2_RE, " (two uppercase letters)")
    if country == "IT" and province is None:
        raise address.error("'province' is required for an Italian address")
    return AccountAddress(
        street=address.text("street"),
        number=address.optional_text("number"),
        zip=address.text("zip", _ZIP_RE, " (5 digits)"),
        city=address.text("city"),
        province=province,
        country=country,
    )


def _is_vat(value: str) -> bool:
    return bool(_VAT_RE.fullmatch(value)) and iva.is_valid(value)


def _is_fiscal_code(value: str) -> bool:
    return bool(_FISCAL_CODE_RE.fullmatch(value)) and codicefiscale.is_valid(value)


# -- across entries -----------------------------------------------------------------------------


def _check_unique(path: Path, specs: list[AccountSpec]) -> None:
    _unique(path, specs, "provider and tenant", lambda s: [(s.provider, s.tenant)])
    _unique(path, specs, "username", lambda s: [(s.provider, s.username)])
    _unique(path, specs, "email", lambda s: [(s.provider, s.email.lower())])
    _unique(path, specs, "token", lambda s: [s.token] if s.token else [])
    _unique(path, specs, "pa_office_code", lambda s: [s.pa_office_code] if s.pa_office_code else [])
    _unique(path, specs, "fiscal id", lambda s: sorted(s.fiscal_ids))


def _unique(
    path: Path, specs: list[AccountSpec], what: str, keys: Callable[[AccountSpec], list[Any]]
) -> None:
    """Each key may belong to one account only (the same provider for provider-scoped keys)."""
    owner: dict[Any, tuple[int, AccountSpec]] = {}
    for index, spec in enumerate(specs, start=1):
        for key in keys(spec):
            if key in owner:
                first_index, first = owner[key]
                shown = key[-1] if isinstance(key, tuple) else key
                raise AccountFileError(
                    f"accounts file {path}: entry {index} ({spec.label}): {what} {shown!r} "
                    f"already belongs to entry {first_index} ({first.label})"
                )
            owner[key] = (index, spec)
