"""emulator.client.SandboxClient against a live sandbox (the plugin's fattura_sandbox fixture)."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from datetime import timedelta

import pytest

from emulator import client as client_module
from emulator.client import Account, SandboxClient, SandboxError
from emulator.pytest_plugin import FatturaSandbox


def hit(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_health_and_accounts(fattura_sandbox: FatturaSandbox) -> None:
    health = fattura_sandbox.health()
    assert health.status == "ok"
    assert set(health.providers) == {"easytracking", "aruba", "acube", "openapi"}
    assert health.now == fattura_sandbox.start
    accounts = fattura_sandbox.accounts()
    assert {(a.provider, a.tenant) for a in accounts} >= {("aruba", "sandbox"), ("openapi", "other")}
    account = fattura_sandbox.account("acube")
    assert isinstance(account, Account)
    credentials = (account.username, account.email, account.password)
    assert credentials == ("sandbox", "sandbox@example.com", "sandbox")
    assert len(account.vat) == 11 and account.vat == account.vat_numbers[0]


def test_clock(fattura_sandbox: FatturaSandbox) -> None:
    start = fattura_sandbox.now()
    assert fattura_sandbox.frozen()
    assert fattura_sandbox.advance(86400.5) == start + timedelta(seconds=86400.5)
    assert fattura_sandbox.now() == start + timedelta(seconds=86400.5)


def test_incoming_invoices_and_a_forced_outcome(fattura_sandbox: FatturaSandbox) -> None:
    vat = fattura_sandbox.account("easytracking").vat
    [invoice] = fattura_sandbox.incoming_invoices(vat, signed=True, encoding="base64", document_type="TD04")
    assert (invoice.provider, invoice.tenant, invoice.signed, invoice.encoding) == (
        "easytracking",
        "sandbox",
        True,
        "base64",
    )
    assert invoice.file_name.endswith(".xml.p7m") and invoice.received_at == fattura_sandbox.now()
    assert len(fattura_sandbox.incoming_invoices(vat, count=3)) == 3
    with pytest.raises(SandboxError) as raised:
        fattura_sandbox.force(invoice.file_name, "NS", errors=["00305"])
    error = raised.value
    assert (error.status, error.code) == (409, "invalid_transition")  # delivered already
    assert "does not emit NS" in error.message


def test_update_account_and_callbacks(fattura_sandbox: FatturaSandbox) -> None:
    url = "http://127.0.0.1:9/aruba"
    updated = fattura_sandbox.update_account("aruba", callback_url=url, p7m_encoding="ber")
    assert (updated.callback_url, updated.p7m_encoding) == ("http://127.0.0.1:9/aruba", "ber")
    assert fattura_sandbox.callbacks(provider="aruba") == []
    assert fattura_sandbox.certificate().startswith("-----BEGIN CERTIFICATE-----")


def test_faults(fattura_sandbox: FatturaSandbox) -> None:
    first = fattura_sandbox.add_fault("openapi", {"type": "throttle", "retry_after": 7}, method="get")
    bad_gateway = {"type": "error", "status": 502}
    second = fattura_sandbox.add_fault("openapi", bad_gateway, position=0, ttl_seconds=60)
    assert [f.id for f in fattura_sandbox.faults()] == [second.id, first.id]
    assert first.method == "GET" and second.expires_at == fattura_sandbox.now() + timedelta(seconds=60)
    assert hit(fattura_sandbox.provider_url("openapi") + "/IT-invoices") == 502
    fattura_sandbox.delete_fault(second.id)
    assert hit(fattura_sandbox.provider_url("openapi") + "/IT-invoices") == 429
    [rule] = fattura_sandbox.faults()
    assert (rule.hits, rule.state) == (1, "active")
    fattura_sandbox.clear_faults()
    assert fattura_sandbox.faults() == []


def test_the_journal_reads_every_page(
    fattura_sandbox: FatturaSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "JOURNAL_PAGE", 2)
    base = fattura_sandbox.provider_url("aruba")
    for n in range(5):
        hit(f"{base}/services/invoice/out/{n}")
    entries = fattura_sandbox.journal()
    assert [e.path for e in entries] == [f"/services/invoice/out/{n}" for n in range(5)]
    assert [e.id for e in fattura_sandbox.journal(since=entries[1].id)] == [e.id for e in entries[2:]]
    assert len(fattura_sandbox.journal(since=fattura_sandbox.now())) == 5
    assert fattura_sandbox.journal(since=fattura_sandbox.now() + timedelta(seconds=1)) == []
    assert fattura_sandbox.journal_entry(entries[0].id) == entries[0]
    assert entries[0].response_body is not None and entries[0].status == 401


@pytest.mark.parametrize(
    ("call", "status", "code", "message"),
    [
        (lambda s: s.account("nope"), 404, "not_found", "No account 'sandbox' of provider 'nope'"),
        (lambda s: s.provider_url("nope"), 404, "not_found", "No provider 'nope'"),
        (lambda s: s.update_account("nope", p7m_encoding="der"), 404, None, None),
        (lambda s: s.update_account("aruba", colour="red"), 400, None, None),
        (lambda s: s.force("IT01234567890_zzzzz.xml", "RC"), 404, None, None),
        (lambda s: s.force("IT01234567890_zzzzz.xml", "XX"), 404, None, "No sent invoice matches"),
        (lambda s: s.force("", "RC"), 400, "bad_request", None),
        (lambda s: s.incoming_invoices("01879020517"), 404, None, None),
        (lambda s: s.incoming_invoices(s.account("aruba").vat, count=101), 400, None, None),
        (lambda s: s.advance(-1), 400, "bad_request", "Virtual time only moves forward"),
        (lambda s: s.add_fault("nope", {"type": "drop"}), 400, None, None),
        (lambda s: s.delete_fault(999999), 404, None, None),
        (lambda s: s.journal_entry(999999), 404, None, None),
        (lambda s: s.callback(999999), 404, None, None),
    ],
)
def test_errors_carry_the_status_code_and_message(
    fattura_sandbox: FatturaSandbox, call: object, status: int, code: str | None, message: str | None
) -> None:
    with pytest.raises(SandboxError) as raised:
        call(fattura_sandbox)  # type: ignore[operator]
    error = raised.value
    assert error.status == status
    assert error.message and error.code
    if code is not None:
        assert error.code == code
    if message is not None:
        assert message in error.message
    assert str(error.status) in str(error)


def test_a_sandbox_that_does_not_answer() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = SandboxClient(f"http://127.0.0.1:{port}/", timeout=5)
    assert client.base_url == f"http://127.0.0.1:{port}"
    with pytest.raises(SandboxError) as raised:
        client.health()
    assert raised.value.status is None
    assert "did not answer" in str(raised.value)
