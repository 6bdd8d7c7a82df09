"""The Easy Tracking examples against a real sandbox: what each did, read back from the journal."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tests.examples.conftest import Sandbox, calls, gaps

FAULTS = [
    {"provider": "easytracking", "method": "POST", "path": "/api/v4/ActiveInvoices",
     "effect": {"type": "error", "status": 503}, "count": 1},
    {"provider": "easytracking", "method": "GET", "path": "/api/v10/DownloadInvoices/passive-invoices",
     "effect": {"type": "throttle", "retry_after": 2}, "count": 1},
    {"provider": "easytracking", "method": "GET", "path": "/api/v4/*/new-active-notifications",
     "effect": {"type": "drop"}, "count": 1},
]  # fmt: skip


def doc_ids(entries: list[dict[str, Any]]) -> list[int]:
    return [i for e in entries for i in json.loads(e["request"]["body"]["content"])["docIds"]]


def test_the_good_client_sends_reads_acknowledges_and_downloads_each_invoice_once(sandbox: Sandbox) -> None:
    vat = sandbox.account("easytracking")["vat_numbers"][0]
    sandbox.control("POST", "/incoming-invoices", json={"recipient": vat, "count": 3})
    done = sandbox.run("easytracking_good.py", "easytracking", seconds=7, invoices=2)
    assert done.returncode == 0, done.stderr
    journal = sandbox.journal("easytracking")

    assert [e for e in journal if e["violations"]] == []
    assert [e["status"] for e in calls(journal, "POST", "/Token/AccessToken")] == [200]  # one token
    assert [e["status"] for e in calls(journal, "POST", "/v4/ActiveInvoices")] == [200, 200]
    # Notifications read, the status of both invoices read, every new notification marked as taken.
    listed = calls(journal, "GET", "/new-active-notifications")
    assert len(listed) >= 2 and min(gaps(listed)) >= 1.9
    new = json.loads(listed[0]["response"]["body"]["content"])["notifications"]
    assert {n["progressivoInvio"] for n in new} == {
        json.loads(e["response"]["body"]["content"])["progressivoInvio"]
        for e in calls(journal, "POST", "/v4/ActiveInvoices")
    }
    got = calls(journal, "POST", "/set-notifications-as-got")
    taken = [i for e in got for i in json.loads(e["request"]["body"]["content"])["notificationIds"]]
    assert sorted(taken) == sorted(n["notificationId"] for n in new)
    assert len(calls(journal, "GET", "/v4/InvoiceNotifications")) == 2
    # Passive: one job for the three invoices, downloaded once, then fase 1 set on all three.
    booked = calls(journal, "POST", "/v10/DownloadInvoices/jobs")
    assert len(booked) == 1 and len(doc_ids(booked)) == 3
    downloads = [e for e in calls(journal, "GET", "") if "/DownloadInvoices/jobs/" in e["path"]]
    assert [e["status"] for e in downloads if e["status"] != 202] == [200]
    assert sorted(doc_ids(calls(journal, "POST", "/PassiveInvoices/set-fase-1"))) == sorted(doc_ids(booked))
    passive = calls(journal, "GET", "/passive-invoices")
    assert min(gaps(passive)) >= 1.9 and all(e["query"].get("fase1") == ["false"] for e in passive)


def test_the_good_client_retries_5xx_and_drops_with_back_off_and_honours_retry_after(
    sandbox: Sandbox,
) -> None:
    for rule in FAULTS:
        sandbox.control("POST", "/faults", json=rule)
    done = sandbox.run("easytracking_good.py", "easytracking", seconds=6, invoices=1)
    assert done.returncode == 0, done.stderr
    journal = sandbox.journal("easytracking")

    uploads = calls(journal, "POST", "/v4/ActiveInvoices")
    assert [e["status"] for e in uploads] == [503, 200]
    assert gaps(uploads)[0] >= 0.1  # backed off, not retried at once
    passive = calls(journal, "GET", "/passive-invoices")
    assert passive[0]["status"] == 429 and passive[1]["status"] == 200
    assert gaps(passive)[0] >= 2.0  # Retry-After: 2
    assert len(calls(journal, "POST", "/Token/AccessToken")) == 1
    assert "connection dropped" in done.stderr
    assert all(rule["remaining"] == 0 for rule in sandbox.control("GET", "/faults")["faults"])


def test_the_naive_client_shows_every_bug_it_was_written_with(sandbox: Sandbox) -> None:
    vat = sandbox.account("easytracking")["vat_numbers"][0]
    sandbox.control("POST", "/incoming-invoices", json={"recipient": vat, "count": 2})
    done = sandbox.run("easytracking_naive.py", "easytracking", seconds=4, invoices=1)
    assert done.returncode == 0, done.stderr
    journal = sandbox.journal("easytracking")

    tokens = calls(journal, "POST", "/Token/AccessToken")
    assert len(tokens) == len(journal) - len(tokens)  # sign-in storm: one token per call
    violations = [e for e in journal if e["violations"]]
    assert [e["query"] for e in violations] == [{"fase1": ["no"]}]
    assert len(calls(journal, "GET", "/v4/InvoiceNotifications")) >= 2  # status read every round
    polls = [e for e in journal if "/DownloadInvoices/jobs/" in e["path"] and e["status"] == 202]
    assert len(polls) >= 10 and max(gaps(polls)[:5]) < 0.5  # a job polled in a tight loop
    assert calls(journal, "POST", "/set-notifications-as-got") == []
    assert calls(journal, "POST", "/set-fase-1") == []
    booked = Counter(doc_ids(calls(journal, "POST", "/v10/DownloadInvoices/jobs")))
    assert len(booked) == 2 and min(booked.values()) >= 2  # the same invoices downloaded again
