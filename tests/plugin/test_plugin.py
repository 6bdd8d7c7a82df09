"""The pytest plugin as a user meets it: pytester runs user test files with the fattura_sandbox fixture."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.conftest import XSD_DIR

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pytest" / "test_my_client.py"
XSD_ARGS = [f"--fattura-sandbox-xsd-dir={XSD_DIR}"] if XSD_DIR.is_dir() else []

USER_TESTS = '''
import json
import urllib.error
import urllib.request

from emulator.client import SandboxError


def get(url, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def aruba_token(sandbox):
    account = sandbox.account("aruba")
    body = f"grant_type=password&username={account.username}&password={account.password}".encode()
    request = urllib.request.Request(sandbox.provider_url("aruba") + "/auth/signin", data=body)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["access_token"]


def test_1_leaves_state_behind(fattura_sandbox):
    start = fattura_sandbox.now()
    assert fattura_sandbox.frozen()
    fattura_sandbox.incoming_invoices(fattura_sandbox.account("aruba").vat, count=2)
    fattura_sandbox.add_fault("aruba", {"type": "error", "status": 503})
    get(fattura_sandbox.provider_url("aruba") + "/services/invoice/in/findByUsername")
    assert fattura_sandbox.advance(90) == start + __import__("datetime").timedelta(seconds=90)
    assert fattura_sandbox.now() == start + __import__("datetime").timedelta(seconds=90)


def test_2_starts_afresh(fattura_sandbox):
    assert fattura_sandbox.now() == fattura_sandbox.start  # set back, although test 1 advanced it
    assert fattura_sandbox.journal() == []
    assert fattura_sandbox.faults() == []
    token = aruba_token(fattura_sandbox)
    vat = fattura_sandbox.account("aruba").vat
    url = (fattura_sandbox.provider_url("aruba") + "/services/invoice/in/findByUsername"
           f"?username=sandbox&countryReceiver=IT&vatcodeReceiver={vat}")
    status, body = get(url, {"Authorization": f"Bearer {token}"})
    assert status == 200 and body["content"] == [], body


def test_3_incoming_invoice_reaches_the_provider(fattura_sandbox):
    account = fattura_sandbox.account("aruba")
    delivered = fattura_sandbox.incoming_invoices(account.vat, count=1, signed=True)
    assert [(i.provider, i.tenant, i.signed) for i in delivered] == [("aruba", "sandbox", True)]
    token = aruba_token(fattura_sandbox)
    url = (fattura_sandbox.provider_url("aruba") + "/services/invoice/in/findByUsername"
           f"?username=sandbox&countryReceiver=IT&vatcodeReceiver={account.vat}")
    status, body = get(url, {"Authorization": f"Bearer {token}"})
    assert status == 200, body
    assert [i["filename"] for i in body["content"]] == [delivered[0].file_name]


def test_4_a_fault_503_is_what_the_client_gets(fattura_sandbox):
    rule = fattura_sandbox.add_fault("aruba", {"type": "error", "status": 503}, method="POST",
                                     path="/auth/signin", count=1)
    request = urllib.request.Request(fattura_sandbox.provider_url("aruba") + "/auth/signin",
                                     data=b"grant_type=password&username=sandbox&password=sandbox")
    try:
        urllib.request.urlopen(request)
    except urllib.error.HTTPError as exc:
        assert exc.code == 503
    else:
        raise AssertionError("no 503")
    assert aruba_token(fattura_sandbox)  # count=1: the next sign-in goes through
    [after] = fattura_sandbox.faults()
    assert (after.id, after.hits, after.state) == (rule.id, 1, "spent")
    entries = fattura_sandbox.journal(provider="aruba")
    assert [(e.status, e.fault and e.fault["effect"]) for e in entries] == [(503, "error"), (200, None)]


def test_5_journal_reading(fattura_sandbox):
    base = fattura_sandbox.provider_url("easytracking")
    get(base + "/api/v4/ActiveInvoices/123")          # no token: a 401, no contract violation
    get(base + "/api/v10/DownloadInvoices/passive-invoices?fase1=maybe")   # a bad parameter
    entries = fattura_sandbox.journal(provider="easytracking")
    assert len(entries) == 2
    assert fattura_sandbox.journal(since=entries[0].id) == entries[1:]
    assert fattura_sandbox.journal(provider="aruba") == []
    bad = fattura_sandbox.journal(violations_only=True)
    assert all(e.violations for e in bad)
    fattura_sandbox.clear_journal()
    assert fattura_sandbox.journal() == []


def test_6_the_urls_and_credentials(fattura_sandbox):
    assert fattura_sandbox.client is fattura_sandbox
    assert fattura_sandbox.url.startswith("http://127.0.0.1:")
    assert fattura_sandbox.provider_url("acube") == fattura_sandbox.url + "/acube"
    other = fattura_sandbox.credentials("acube", "other")
    assert (other.password, other.email) == ("other", "other@example.com")
    try:
        fattura_sandbox.provider_url("nope")
    except SandboxError as error:
        assert error.status == 404
'''


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    if "fattura_sandbox" not in {e.name for e in entry_points(group="pytest11")}:
        args = ("-p", "emulator.pytest_plugin", *args)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_the_package_registers_the_plugin() -> None:
    [entry] = [e for e in entry_points(group="pytest11") if e.name == "fattura_sandbox"]
    assert entry.value == "emulator.pytest_plugin"


def test_the_example_a_user_copies_passes_as_is(pytester: pytest.Pytester) -> None:
    # Another module name: examples/pytest/test_my_client.py may be imported in this process already.
    pytester.makepyfile(test_copied_client=EXAMPLE.read_text(encoding="utf-8"))
    result = run(pytester, *XSD_ARGS)
    result.assert_outcomes(passed=5)
    assert f"rootdir: {pytester.path}" in result.stdout.str()


def test_user_tests_isolation_clock_incoming_faults_journal(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = run(pytester, "-p", "no:randomly", *XSD_ARGS)
    result.assert_outcomes(passed=6)


def test_a_pinned_start_settings_from_a_conftest_and_a_flowing_clock(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfattura_sandbox_clock = flowing\n")
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="session")
def fattura_sandbox_settings():
    return {"aruba_sla": False, "seed": 7}
"""
    )
    pytester.makepyfile(
        """
from datetime import datetime

def test_settings(fattura_sandbox, fattura_sandbox_server):
    assert fattura_sandbox.start == datetime.fromisoformat("2026-03-02T09:00:00+01:00")
    assert not fattura_sandbox.frozen()
    assert fattura_sandbox.now() >= fattura_sandbox.start
    config = fattura_sandbox_server.sandbox.config
    assert (config.aruba_sla, config.seed, config.db) == (False, 7, ":memory:")
"""
    )
    result = run(pytester, "--fattura-sandbox-clock-start", "2026-03-02T09:00:00+01:00")
    result.assert_outcomes(passed=1)


def test_the_default_start_is_nine_in_rome_today(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
from datetime import datetime
from zoneinfo import ZoneInfo

def test_start(fattura_sandbox):
    rome = fattura_sandbox.now().astimezone(ZoneInfo("Europe/Rome"))
    assert rome.date() == datetime.now(ZoneInfo("Europe/Rome")).date()
    assert (rome.hour, rome.minute, rome.second) == (9, 0, 0)
    assert fattura_sandbox.frozen()
"""
    )
    run(pytester).assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--fattura-sandbox-clock-start", "2026-03-02 09:00"], "", "not an ISO-8601 instant with"),
        ([], "fattura_sandbox_clock = sometimes", "fattura_sandbox_clock is frozen or flowing"),
        (["--fattura-sandbox-xsd-dir=/no/such/dir"], "", "the XSD directory /no/such/dir does not exist"),
    ],
)
def test_bad_settings_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_it(fattura_sandbox):\n    pass\n")
    result = run(pytester, *args)
    assert message in result.stdout.str() + result.stderr.str()
    assert result.ret != 0


def test_tests_without_the_fixture_start_no_sandbox(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import sys
import threading

def test_plain():
    assert not [t for t in threading.enumerate() if t.name == "fattura-sandbox-server"]
    assert "flask" not in sys.modules and "emulator.app" not in sys.modules
"""
    )
    # In a process of its own: this one may be serving a sandbox for other tests.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_importing_the_plugin_imports_neither_flask_nor_the_sandbox() -> None:
    code = (
        "import sys, emulator.pytest_plugin\n"
        "heavy = [m for m in ('flask', 'werkzeug', 'sqlalchemy', 'lxml', 'emulator.app', 'emulator.state')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
