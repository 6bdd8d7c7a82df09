"""The Aruba examples against a real sandbox: what each did, read back from the journal."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.examples.conftest import Sandbox, calls, gaps, serving

SIGNIN = "/auth/signin"


def grants(journal: list[dict[str, object]]) -> list[str]:
    bodies = [str(e["request"]["body"]["content"]) for e in calls(journal, "POST", SIGNIN)]  # type: ignore[index]
    return ["refresh" if "grant_type=refresh_token" in b else "password" for b in bodies]


@pytest.fixture(scope="module")
def no_sla(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox without Aruba's SLA, so the naive client's loops are not cut short by 429s."""
    with serving(tmp_path_factory.mktemp("no-sla"), aruba_sla="0") as sandbox:
        yield sandbox


def test_the_good_client_sends_follows_and_downloads_each_received_invoice_once(sandbox: Sandbox) -> None:
    vat = sandbox.account("aruba")["vat_numbers"][0]
    incoming = sandbox.control("POST", "/incoming-invoices", json={"recipient": vat, "count": 3})["invoices"]
    # Aruba hands the uploads to the SDI after 60 virtual seconds, the SDI answers RC later.
    timer = threading.Timer(2.5, sandbox.control, ("POST", "/clock"), {"json": {"advance_seconds": 400}})
    timer.start()
    done = sandbox.run("aruba_good.py", "aruba", seconds=7, invoices=2)
    timer.join()
    assert done.returncode == 0, done.stderr
    journal = sandbox.journal("aruba")

    assert [e for e in journal if e["violations"]] == []
    assert [e for e in journal if e["status"] == 429] == []  # the SLA was respected
    assert grants(journal) == ["password"]  # one token for the whole run
    uploads = calls(journal, "POST", "/services/invoice/upload")
    assert [e["status"] for e in uploads] == [200, 200]
    assert all('"errorCode": "0000"' in e["response"]["body"]["content"] for e in uploads), uploads
    sent = calls(journal, "GET", "/invoice/out/findByUsername")
    assert len(sent) >= 2 and min(gaps(sent)) >= 4.9
    assert all(e["query"]["size"] == ["100"] for e in sent)
    assert len(calls(journal, "GET", "/notification/out/getByInvoiceFilename")) >= 2  # on each status change
    downloads = Counter(e["query"]["filename"][0] for e in calls(journal, "GET", "/invoice/in/getByFilename"))
    assert downloads == Counter({i["file_name"]: 1 for i in incoming})


def test_the_good_client_refreshes_an_expired_token_and_honours_retry_after(sandbox: Sandbox) -> None:
    sandbox.control(
        "POST",
        "/faults",
        json={
            "provider": "aruba",
            "method": "GET",
            "path": "/services/invoice/in/findByUsername",
            "effect": {"type": "throttle", "retry_after": 2},
            "count": 1,
        },
    )
    # The access token lives 30 virtual minutes: 31 of them pass while the client runs.
    timer = threading.Timer(2.5, sandbox.control, ("POST", "/clock"), {"json": {"advance_seconds": 31 * 60}})
    timer.start()
    done = sandbox.run("aruba_good.py", "aruba", seconds=8, invoices=1)
    timer.join()
    assert done.returncode == 0, done.stderr
    journal = sandbox.journal("aruba")

    assert grants(journal) == ["password", "refresh"]
    assert len([e for e in journal if e["status"] == 401]) == 1
    received = calls(journal, "GET", "/invoice/in/findByUsername")
    assert [e["status"] for e in received[:2]] == [429, 200] and gaps(received)[0] >= 2.0
    assert [e for e in journal if e["violations"]] == []


def test_the_naive_client_shows_every_bug_it_was_written_with(no_sla: Sandbox) -> None:
    no_sla.control("POST", "/reset")
    vat = no_sla.account("aruba")["vat_numbers"][0]
    no_sla.control("POST", "/incoming-invoices", json={"recipient": vat, "count": 11})
    no_sla.control(
        "POST",
        "/faults",
        json={
            "provider": "aruba",
            "path": "/services/invoice/out/getByFilename",
            "effect": {"type": "throttle", "retry_after": 30},
            "count": 3,
        },
    )
    done = no_sla.run("aruba_naive.py", "aruba", seconds=3, invoices=1)
    assert done.returncode == 0, done.stderr
    journal = no_sla.journal("aruba")

    signins = calls(journal, "POST", SIGNIN)
    assert set(grants(journal)) == {"password"} and len(signins) >= 10  # sign-in storm, never refreshed
    assert [e["query"].get("size") for e in journal if e["violations"]] == [["500"]]
    polled = calls(journal, "GET", "/invoice/out/getByFilename")
    assert [e["status"] for e in polled[:4]] == [429, 429, 429, 200]
    assert max(gaps(polled[:4])) < 1.0  # Retry-After: 30 ignored
    listed = calls(journal, "GET", "/invoice/in/findByUsername")
    assert all(e["query"].get("page") is None for e in listed)  # page 2 (11 invoices) never read
    downloads = Counter(e["query"]["filename"][0] for e in calls(journal, "GET", "/invoice/in/getByFilename"))
    assert len(downloads) == 10 and min(downloads.values()) >= 2  # the same invoices downloaded again
