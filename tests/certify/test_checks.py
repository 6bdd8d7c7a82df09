"""Each check over synthetic journal entries: a well-behaved journal passes, a naive one fails."""

from __future__ import annotations

import base64
import json
from typing import Any

from emulator.certify.checks import CHECK_NAMES, judge
from emulator.certify.checks.tokens import fingerprint
from tests.certify.journal import Journal


def verdicts(journal: Journal, **kwargs: Any) -> dict[str, Any]:
    return {r.name: r for r in judge(journal.provider, journal.entries, **kwargs)}


def jwt(exp: int) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2lnbmF0dXJl"


def test_every_check_has_a_result_in_order() -> None:
    results = judge("easytracking", [])
    assert [r.name for r in results] == list(CHECK_NAMES)
    assert {r.verdict for r in results if r.name != "coverage"} <= {"skip", "pass"}


def test_contract_violations_are_offences_with_where_and_why() -> None:
    good, bad = Journal(), Journal()
    good.add("readElectronicInvoiceStatusV4", t=0)
    bad.add("readElectronicInvoiceStatusV4", t=0, violations=[{"where": "query.x", "why": "unknown"}])
    assert verdicts(good)["contract"].verdict == "pass"
    result = verdicts(bad, required=["contract"])["contract"]
    assert result.verdict == "fail" and result.blocking
    assert result.view()["offending"][0]["why"] == "query.x: unknown"
    assert result.view()["offending"][0]["violations"] == [{"where": "query.x", "why": "unknown"}]


ET_TOKEN = "getAccessTokenV"  # not the token operation: the check keys on roles


def _et_token(journal: Journal, t: float, token: str, virtual: float | None = None) -> None:
    journal.add("getAccessToken", t=t, virtual=virtual, method="POST", auth=None, response=token)


def test_token_reuse_passes_for_one_sign_in_and_fails_for_a_storm() -> None:
    token = jwt(2_000_000_000)
    good = Journal()
    _et_token(good, 0, token)
    for n in range(3):
        good.add("readElectronicInvoiceStatusV4", t=1 + n * 2, auth=fingerprint(token))
    assert verdicts(good)["token-reuse"].verdict == "pass"

    bad = Journal()
    for n in range(3):
        _et_token(bad, n * 2, token + str(n))
        bad.add("readElectronicInvoiceStatusV4", t=n * 2 + 1, auth=fingerprint(token + str(n)))
    result = verdicts(bad)["token-reuse"]
    assert result.verdict == "fail"
    assert len(result.offences) == 2
    assert "while token" in result.offences[0].why


def test_token_renewed_after_expiry_is_fine_and_reusing_a_refused_token_is_not() -> None:
    from datetime import timedelta

    from tests.certify.journal import T0

    expires = int((T0 + timedelta(seconds=3600)).timestamp())
    first, second = jwt(expires), jwt(expires + 7200)
    good = Journal()
    _et_token(good, 0, first)
    good.add("readElectronicInvoiceStatusV4", t=1, virtual=4000, status=401, auth=fingerprint(first))
    _et_token(good, 2, second, virtual=4001)
    good.add("readElectronicInvoiceStatusV4", t=3, virtual=4002, auth=fingerprint(second))
    assert verdicts(good)["token-reuse"].verdict == "pass"

    bad = Journal()
    _et_token(bad, 0, first)
    bad.add("readElectronicInvoiceStatusV4", t=1, status=401, auth=fingerprint(first))
    bad.add("readElectronicInvoiceStatusV4", t=3, status=401, auth=fingerprint(first))
    result = verdicts(bad)["token-reuse"]
    assert result.verdict == "fail"
    assert "after the server refused it" in result.offences[0].why


def test_aruba_must_use_the_refresh_grant_after_expiry() -> None:
    answer = {"access_token": "a" * 40, "refresh_token": "r" * 40, "expires_in": 1800}
    good = Journal("aruba")
    good.add(
        "signin", t=0, method="POST", auth=None, request="grant_type=password&username=x", response=answer
    )
    good.add(
        "signin",
        t=1,
        virtual=1900,
        method="POST",
        auth=None,
        request="grant_type=refresh_token&refresh_token=***#abc",
        response={**answer, "access_token": "b" * 40},
    )
    assert verdicts(good)["token-reuse"].verdict == "pass"

    bad = Journal("aruba")
    bad.add(
        "signin", t=0, method="POST", auth=None, request="grant_type=password&username=x", response=answer
    )
    bad.add(
        "signin",
        t=1,
        virtual=1900,
        method="POST",
        auth=None,
        request="grant_type=password&username=x",
        response={**answer, "access_token": "b" * 40},
    )
    result = verdicts(bad)["token-reuse"]
    assert result.verdict == "fail"
    assert "refresh_token" in result.offences[0].why


def test_polling_floor_counts_real_or_virtual_time() -> None:
    good = Journal()
    for n in range(4):
        good.add("readElectronicInvoiceStatusV4", t=n * 1.5, query={"progressivoInvio": ["A1"]})
    # A fast poll is fine when virtual time moved as much (a clock move).
    good.add("readElectronicInvoiceStatusV4", t=4.6, virtual=100, query={"progressivoInvio": ["A1"]})
    # Different invoices are different things polled.
    good.add("readElectronicInvoiceStatusV4", t=4.7, virtual=100.1, query={"progressivoInvio": ["A2"]})
    assert verdicts(good)["polling-interval"].verdict == "pass"

    bad = Journal()
    for n in range(5):
        bad.add("readElectronicInvoiceStatusV4", t=n * 0.1, query={"progressivoInvio": ["A1"]})
    result = verdicts(bad)["polling-interval"]
    assert result.verdict == "fail" and len(result.offences) == 4


def test_jobs_downloaded_once_polled_calmly() -> None:
    path = "/api/v4/InvoiceNotifications/jobs/abc"
    good = Journal()
    good.add("bookNotificationsDownloadV4", t=0, method="POST", response="abc")
    good.add("downloadNotificationsV4", t=1, status=202, path=path)
    good.add("downloadNotificationsV4", t=2.5, status=200, path=path, response="zip")
    assert verdicts(good)["jobs"].verdict == "pass"

    bad = Journal()
    bad.add("downloadNotificationsV4", t=1, status=202, path=path)
    bad.add("downloadNotificationsV4", t=1.1, status=200, path=path)
    bad.add("downloadNotificationsV4", t=3, status=403, path=path)
    whys = [o.why for o in verdicts(bad)["jobs"].offences]
    assert any("polled 0.10 s" in w for w in whys)
    assert any("downloaded again" in w for w in whys)
    assert verdicts(Journal("aruba"))["jobs"].verdict == "skip"


def test_new_items_returned_twice_are_double_downloads_and_unacknowledged() -> None:
    items = [{"notificationId": 1}, {"notificationId": 2}]
    good = Journal()
    good.add("listNewNotificationsV4", t=0, response=items)
    good.add("markNotificationsAsTakenV4", t=1, method="POST", request={"notificationIds": [1, 2]})
    good.add("listNewNotificationsV4", t=3, response=[])
    result = verdicts(good)
    assert result["no-double-download"].verdict == "pass"
    assert result["acknowledgement"].verdict == "pass"

    bad = Journal()
    bad.add("listNewNotificationsV4", t=0, response=items)
    bad.add("listNewNotificationsV4", t=3, response=items)
    result = verdicts(bad)
    assert result["no-double-download"].verdict == "fail"
    assert len(result["no-double-download"].offences) == 2
    assert result["acknowledgement"].verdict == "fail"


def test_same_document_downloaded_twice() -> None:
    bad = Journal("aruba")
    for t in (0, 5):
        bad.add(
            "getReceivedInvoiceByFilename",
            t=t,
            path="/services/invoice/in/getByFilename",
            query={"filename": ["IT1_00001.xml"]},
        )
    result = verdicts(bad)
    assert result["no-double-download"].verdict == "fail"
    assert result["acknowledgement"].verdict == "skip"  # Aruba has no acknowledgement


def test_batch_maxima() -> None:
    good, bad = Journal(), Journal()
    good.add("bookActiveInvoicesDownloadByDocIdV4", t=0, method="POST", request={"docIds": list(range(100))})
    bad.add("bookActiveInvoicesDownloadByDocIdV4", t=0, method="POST", request={"docIds": list(range(101))})
    assert verdicts(good)["batch-maxima"].verdict == "pass"
    assert "101 items" in verdicts(bad)["batch-maxima"].offences[0].why
    aruba = Journal("aruba")
    aruba.add("findSentInvoicesByUsername", t=0, query={"size": ["500"]})
    assert verdicts(aruba)["batch-maxima"].verdict == "fail"


def test_retries_honour_retry_after_and_back_off() -> None:
    path = "/api/v4/ActiveInvoices"
    good = Journal()
    good.add(
        "sendElectronicInvoiceV4",
        t=0,
        method="POST",
        path=path,
        status=429,
        response={"message": "Too many requests: retry after 2 seconds"},
    )
    good.add("sendElectronicInvoiceV4", t=2.1, method="POST", path=path, status=503)
    good.add("sendElectronicInvoiceV4", t=2.6, method="POST", path=path, status=444)
    good.add("sendElectronicInvoiceV4", t=3.7, method="POST", path=path, status=200)
    assert verdicts(good)["retries"].verdict == "pass"

    bad = Journal()
    bad.add(
        "sendElectronicInvoiceV4", t=0, method="POST", path=path, status=429, response={"message": "slow"}
    )
    bad.add("sendElectronicInvoiceV4", t=0.05, method="POST", path=path, status=503)
    bad.add("sendElectronicInvoiceV4", t=0.1, method="POST", path=path, status=503)
    whys = [o.why for o in verdicts(bad, retry_after=2)["retries"].offences]
    assert any("Retry-After: 2" in w for w in whys)
    assert any("tight loop" in w for w in whys)
    assert any("never retried" in w for w in whys)


def test_retries_read_retry_after_from_the_answers_header() -> None:
    path = "/services/invoice/out/findByUsername"
    journal = Journal("aruba")
    throttled = {"Retry-After": "5"}
    journal.add("findSentInvoicesByUsername", t=0, path=path, status=429, response_headers=throttled)
    journal.add("findSentInvoicesByUsername", t=3, path=path, status=200)
    (offence,) = verdicts(journal, retry_after=1)["retries"].offences
    assert "Retry-After: 5" in offence.why
    journal.entries[-1]["real_at"] = journal.entries[-1]["at"] = "2026-03-02T09:00:05.5+00:00"
    assert verdicts(journal, retry_after=1)["retries"].verdict == "pass"


def test_retries_without_back_off() -> None:
    path = "/x"
    bad = Journal()
    for t in (0, 2, 2.5, 3.0):
        bad.add("sendElectronicInvoiceV4", t=t, method="POST", path=path, status=503)
    bad.add("sendElectronicInvoiceV4", t=3.5, method="POST", path=path, status=200)
    whys = [o.why for o in verdicts(bad)["retries"].offences]
    assert any("no back-off" in w for w in whys)


def test_pagination_read_to_the_end() -> None:
    good, bad = Journal("aruba"), Journal("aruba")
    for journal in (good, bad):
        journal.add(
            "findSentInvoicesByUsername",
            t=0,
            query={"page": ["1"], "size": ["10"]},
            response={"content": [1], "last": False, "number": 1},
        )
    good.add(
        "findSentInvoicesByUsername",
        t=1.5,
        query={"page": ["2"], "size": ["10"]},
        response={"content": [2], "last": True},
    )
    assert verdicts(good)["pagination"].verdict == "pass"
    assert verdicts(bad)["pagination"].verdict == "fail"


def test_invoices_sent_and_coverage() -> None:
    journal = Journal()
    journal.add("sendElectronicInvoiceV4", t=0, method="POST", status=400)
    result = verdicts(journal, invoices=1, required=["invoices-sent"])
    assert result["invoices-sent"].verdict == "fail" and result["invoices-sent"].blocking
    assert result["coverage"].verdict == "pass"
    journal.add("sendElectronicInvoiceV4", t=1, method="POST")
    assert verdicts(journal, invoices=1)["invoices-sent"].verdict == "pass"
    from emulator.certify.checks.base import entries_of
    from emulator.certify.checks.coverage import coverage_table

    table = {
        row["operation"]: row
        for row in coverage_table("easytracking", entries_of("easytracking", journal.entries))
    }
    assert table["sendElectronicInvoiceV4"]["count"] == 2
    assert table["sendElectronicInvoiceV4"]["statuses"] == {"400": 1, "200": 1}
    assert table["getAccessToken"]["count"] == 0


def test_a_check_that_raises_fails_alone() -> None:
    journal = Journal()
    journal.add("readElectronicInvoiceStatusV4", t=0)
    journal.add("readElectronicInvoiceStatusV4", t=0.1)
    journal.entries[1]["at"] = "not a date"
    results = {r.name: r for r in judge("easytracking", journal.entries)}
    assert results["polling-interval"].verdict == "fail"
    assert "the check itself failed" in results["polling-interval"].summary
    assert results["contract"].verdict == "pass"
