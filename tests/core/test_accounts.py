from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from stdnum.it import codicefiscale, iva

from emulator.core.accounts import (
    DEFAULT_ACCOUNTS_FILE,
    PROVIDERS,
    AccountAddress,
    AccountFileError,
    AccountSpec,
    load_account_specs,
)


@pytest.fixture(scope="module")
def specs() -> list[AccountSpec]:
    return load_account_specs(DEFAULT_ACCOUNTS_FILE)


@pytest.fixture()
def entries() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(DEFAULT_ACCOUNTS_FILE.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def index_of(entries: list[dict[str, Any]], provider: str, tenant: str) -> int:
    return next(i for i, e in enumerate(entries) if (e["provider"], e["tenant"]) == (provider, tenant))


# -- the default file ---------------------------------------------------------------------------


def test_default_file_is_in_fixtures() -> None:
    assert DEFAULT_ACCOUNTS_FILE.parent.name == "fixtures"
    assert DEFAULT_ACCOUNTS_FILE.is_file()


def test_every_provider_has_a_sandbox_and_an_other_tenant(specs: list[AccountSpec]) -> None:
    assert sorted((s.provider, s.tenant) for s in specs) == sorted(
        (p, t) for p in PROVIDERS for t in ("sandbox", "other")
    )


@pytest.mark.parametrize("tenant", ["sandbox", "other"])
def test_credentials(specs: list[AccountSpec], tenant: str) -> None:
    for spec in (s for s in specs if s.tenant == tenant):
        assert (spec.username, spec.password, spec.email) == (tenant, tenant, f"{tenant}@example.com")


def test_only_openapi_has_fixed_tokens(specs: list[AccountSpec]) -> None:
    tokens = {s.label: s.token for s in specs}
    assert all(token is None for label, token in tokens.items() if not label.startswith("openapi/"))
    openapi = [tokens["openapi/sandbox"], tokens["openapi/other"]]
    assert all(isinstance(t, str) and len(t) == 40 and t.isalnum() for t in openapi)
    assert openapi[0] != openapi[1]


def test_vat_numbers_are_valid_and_counted_per_tenant(specs: list[AccountSpec]) -> None:
    for spec in specs:
        assert len(spec.vat_numbers) == (2 if spec.tenant == "sandbox" else 1), spec.label
        for vat in spec.vat_numbers:
            assert len(vat) == 11 and vat.isdigit() and iva.is_valid(vat), (spec.label, vat)


def test_fiscal_codes_are_the_companies_and_one_person(specs: list[AccountSpec]) -> None:
    for spec in specs:
        assert all(codicefiscale.is_valid(code) for code in spec.fiscal_codes), spec.label
        assert set(spec.vat_numbers) <= set(spec.fiscal_codes)
        personal = [code for code in spec.fiscal_codes if len(code) == 16]
        assert len(personal) == 1, spec.label


def test_fiscal_ids_are_disjoint_between_accounts(specs: list[AccountSpec]) -> None:
    seen: dict[str, str] = {}
    for spec in specs:
        for fiscal_id in spec.fiscal_ids:
            assert fiscal_id not in seen, f"{fiscal_id} in {seen.get(fiscal_id)} and {spec.label}"
            seen[fiscal_id] = spec.label


def test_profile(specs: list[AccountSpec]) -> None:
    codes: dict[str, set[str]] = {}
    for spec in specs:
        assert spec.name and len(spec.name) <= 80
        assert isinstance(spec.address, AccountAddress)
        assert spec.address.country == "IT" and len(spec.address.zip) == 5 and spec.address.province
        assert spec.pec and "@" in spec.pec
        assert len(spec.recipient_code) == 7 and spec.recipient_code != "0000000"
        assert spec.recipient_code.isalnum() and spec.recipient_code.isupper()
        codes.setdefault(spec.provider, set()).add(spec.recipient_code)
        if spec.tenant == "other":
            assert spec.pa_office_code is not None and len(spec.pa_office_code) == 6
        else:
            assert spec.pa_office_code is None
    assert all(len(c) == 1 for c in codes.values()), "one intermediary code per provider"
    assert len({next(iter(c)) for c in codes.values()}) == len(PROVIDERS)


def test_specs_are_immutable(specs: list[AccountSpec]) -> None:
    assert isinstance(specs[0].vat_numbers, tuple) and isinstance(specs[0].fiscal_codes, tuple)
    with pytest.raises(AttributeError):
        specs[0].name = "x"  # type: ignore[misc]


def test_a_replacement_file_is_read(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    specs = load_account_specs(write(tmp_path, entries[:1]))
    assert [s.label for s in specs] == [f"{entries[0]['provider']}/{entries[0]['tenant']}"]


def test_optional_keys_may_be_left_out(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    entry = entries[0]
    for key in ("token", "pec", "pa_office_code"):
        entry.pop(key)
    [spec] = load_account_specs(write(tmp_path, [entry]))
    assert (spec.token, spec.pec, spec.pa_office_code) == (None, None, None)


# -- bad files ----------------------------------------------------------------------------------


def expect_error(path: Path, *fragments: str) -> None:
    with pytest.raises(AccountFileError) as caught:
        load_account_specs(path)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message


def test_error_is_a_value_error() -> None:
    assert issubclass(AccountFileError, ValueError)


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.json", "cannot be read", "nope.json")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('{"accounts": []}', "JSON list"),
        ("[]", "no accounts"),
        ("[1]", "entry 1"),
    ],
)
def test_malformed_file(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(text, encoding="utf-8")
    expect_error(path, fragment)


def test_unknown_provider(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    entries[2]["provider"] = "fatturapa-cloud"
    expect_error(write(tmp_path, entries), "entry 3 (fatturapa-cloud/", "unknown provider 'fatturapa-cloud'")


def test_duplicate_provider_and_tenant(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    first = index_of(entries, "aruba", "sandbox")
    twin = copy.deepcopy(entries[first])
    twin.update(username="twin", email="twin@example.com", vat_numbers=[], fiscal_codes=["RSSMRA80A01H501U"])
    entries.append(twin)
    expect_error(
        write(tmp_path, entries),
        f"entry {len(entries)} (aruba/sandbox)",
        "provider and tenant",
        f"entry {first + 1} (aruba/sandbox)",
    )


def test_fiscal_id_shared_between_accounts(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    owner = index_of(entries, "easytracking", "sandbox")
    thief = index_of(entries, "acube", "other")
    stolen = entries[owner]["vat_numbers"][1]
    entries[thief]["vat_numbers"].append(stolen)
    expect_error(
        write(tmp_path, entries),
        f"entry {thief + 1} (acube/other)",
        f"fiscal id '{stolen}'",
        f"entry {owner + 1} (easytracking/sandbox)",
    )


def test_personal_fiscal_code_shared_between_accounts(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    personal = next(c for c in entries[0]["fiscal_codes"] if len(c) == 16)
    entries[5]["fiscal_codes"].append(personal)
    expect_error(write(tmp_path, entries), "entry 6", f"fiscal id '{personal}'", "entry 1")


@pytest.mark.parametrize("vat", ["09382170159", "IT09382170158", "0938217015", "00000000000", 9382170158])
def test_invalid_vat_number(tmp_path: Path, entries: list[dict[str, Any]], vat: Any) -> None:
    entries[1]["vat_numbers"] = [vat]
    expect_error(write(tmp_path, entries), "entry 2 (easytracking/other)", "vat_numbers")


@pytest.mark.parametrize("code", ["BNCMRC78E14F205X", "bncmrc78e14f205d", "BNCMRC78E14F205", "09382170159"])
def test_invalid_fiscal_code(tmp_path: Path, entries: list[dict[str, Any]], code: str) -> None:
    entries[3]["fiscal_codes"].append(code)
    expect_error(write(tmp_path, entries), "entry 4 (aruba/other)", "fiscal_codes", repr(code))


def test_an_account_must_own_a_fiscal_id(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    entries[0].update(vat_numbers=[], fiscal_codes=[])
    expect_error(write(tmp_path, entries), "entry 1", "owns no fiscal id")


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("recipient_code", "0000000", "'recipient_code' cannot be 0000000"),
        ("recipient_code", "krrh6b9", "'recipient_code'"),
        ("pa_office_code", "UF12", "'pa_office_code'"),
        ("email", "not-an-email", "'email'"),
        ("password", "", "'password' must be a non-empty string"),
        ("tenant", "Other Tenant", "'tenant'"),
        ("name", "X" * 81, "longer than 80"),
        ("address", "Via Roma 1", "'address' must be an object"),
    ],
)
def test_invalid_field(
    tmp_path: Path, entries: list[dict[str, Any]], key: str, value: Any, fragment: str
) -> None:
    entries[6][key] = value
    expect_error(write(tmp_path, entries), "entry 7", fragment)


def test_invalid_address(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    entries[4]["address"]["zip"] = "187"
    expect_error(write(tmp_path, entries), "entry 5 (acube/sandbox): address", "'zip'")


def test_missing_and_unknown_keys(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    del entries[0]["recipient_code"]
    expect_error(write(tmp_path, entries), "entry 1", "missing key(s): recipient_code")
    entries[0]["recipient_code"] = "DTI1I04"
    entries[0]["vat_number"] = "09382170158"
    expect_error(write(tmp_path, entries), "entry 1", "unknown key(s): vat_number")


def test_duplicate_token_username_and_office_code(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    sandbox, other = index_of(entries, "openapi", "sandbox"), index_of(entries, "openapi", "other")
    entries[other]["token"] = entries[sandbox]["token"]
    expect_error(write(tmp_path, entries), "token", f"entry {sandbox + 1} (openapi/sandbox)")
    entries[other]["token"] = None
    entries[other]["username"] = "sandbox"
    expect_error(write(tmp_path, entries), f"entry {other + 1} (openapi/other)", "username 'sandbox'")
