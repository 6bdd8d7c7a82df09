"""Every inspector page and action through the Flask test client (no browser)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask.testing import FlaskClient

from emulator.core.webhooks import WebhookAttempt, WebhookDelivery
from emulator.journal.models import JournalEntry
from emulator.state import Sandbox
from tests.providers.easytracking.helpers import bearer, token
from tests.ui.helpers import UI, notice_of, send_invoice

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_home_lists_providers_and_tenants_with_counts(client: FlaskClient) -> None:
    send_invoice(client)
    html = client.get(f"{UI}/").get_data(as_text=True)
    for provider in ("easytracking", "aruba", "acube", "openapi"):
        assert f'href="{UI}/tenants/{provider}/sandbox"' in html
    row = re.search(r"<td>easytracking</td>.*?</tr>", html, re.S)
    assert row is not None
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(0)) == ["1", "0"]
    assert "2026-03-02 09:00:00" in html  # the virtual clock, Rome time
    assert client.get(UI).status_code == 308  # /_sandbox/ui -> /_sandbox/ui/


def test_clock_buttons_advance_virtual_time(client: FlaskClient, sandbox: Sandbox) -> None:
    before = sandbox.clock.now()
    response = client.post(f"{UI}/clock", data={"seconds": "3600"})
    assert response.status_code == 303
    assert (sandbox.clock.now() - before).total_seconds() == 3600
    assert notice_of(client, response.location).startswith("ok: Virtual clock advanced by 3600 s")
    client.post(f"{UI}/clock", data={"seconds": str(15 * 86400)})
    assert (sandbox.clock.now() - before).total_seconds() == 3600 + 15 * 86400
    client.post(f"{UI}/clock", data={"seconds": "1.5"})
    assert (sandbox.clock.now() - before).total_seconds() == 3600 + 15 * 86400 + 1.5


def test_clock_refuses_bad_seconds_with_a_message(client: FlaskClient, sandbox: Sandbox) -> None:
    before = sandbox.clock.now()
    for raw, message in [
        ("abc", "Seconds must be a number"),
        ("", "Seconds must be a number"),
        ("nan", "finite"),
        ("inf", "finite"),
        ("-5", "only moves forward"),
        ("1e12", "limited to 100 years"),
    ]:
        response = client.post(f"{UI}/clock", data={"seconds": raw})
        assert response.status_code == 303, raw
        assert message in notice_of(client, response.location), raw
    assert sandbox.clock.now() == before


def test_advancing_the_clock_makes_due_sdi_events_happen(client: FlaskClient) -> None:
    sdi_id = send_invoice(client)
    client.post(f"{UI}/clock", data={"seconds": str(86400)})
    html = client.get(f"{UI}/invoices/{sdi_id}").get_data(as_text=True)
    assert 'data-type="RC"' in html or 'data-type="MC"' in html or 'data-type="NS"' in html


def test_reset_needs_confirmation(client: FlaskClient) -> None:
    send_invoice(client)
    page = client.get(f"{UI}/reset").get_data(as_text=True)
    assert 'name="confirm"' in page and 'method="post"' in page
    refused = client.post(f"{UI}/reset", data={})
    assert refused.status_code == 303
    assert "confirmation" in notice_of(client, refused.location)
    assert "data-sdi-id" in client.get(f"{UI}/tenants/easytracking/sandbox").get_data(as_text=True)
    done = client.post(f"{UI}/reset", data={"confirm": "yes"})
    assert "Sandbox reset" in notice_of(client, done.location)
    assert "data-sdi-id" not in client.get(f"{UI}/tenants/easytracking/sandbox").get_data(as_text=True)


def test_tenant_page_lists_sent_invoices_with_provider_id_and_badge(client: FlaskClient) -> None:
    sdi_id = send_invoice(client)
    html = client.get(f"{UI}/tenants/easytracking/sandbox").get_data(as_text=True)
    row = re.search(rf'<tr data-sdi-id="{sdi_id}">.*?</tr>', html, re.S)
    assert row is not None
    listed = client.get("/easytracking/api/v4/ActiveInvoices", headers=bearer(token(client))).get_json()
    progressivo = str(listed[0]["progressivoInvio"]) if isinstance(listed, list) else None
    if progressivo:
        assert progressivo in row.group(0)
    assert 'class="badge badge-pending" data-state="received"' in row.group(0)
    assert "Sandbox Software S.r.l." in row.group(0)
    assert f'href="{UI}/invoices/{sdi_id}"' in row.group(0)


def test_tenant_filters_and_bad_parameters(client: FlaskClient) -> None:
    sdi_id = send_invoice(client)
    base = f"{UI}/tenants/easytracking/sandbox"
    assert str(sdi_id) in client.get(f"{base}?direction=sent&state=received").get_data(as_text=True)
    assert str(sdi_id) not in client.get(f"{base}?direction=received").get_data(as_text=True)
    assert str(sdi_id) not in client.get(f"{base}?state=rejected").get_data(as_text=True)
    for query in ["direction=up", "state=bogus", "page=0", "page=abc", "page=99999999999999999999"]:
        response = client.get(f"{base}?{query}")
        assert response.status_code == 400, query
        assert response.content_type.startswith("text/html")
    assert client.get(f"{base}?page=7").status_code == 200  # past the end: the last page
    assert client.get(f"{UI}/tenants/easytracking/nobody").status_code == 404
    assert client.get(f"{UI}/tenants/{XSS}/x").status_code == 404


def test_deliver_incoming_invoices_and_paging(client: FlaskClient) -> None:
    target = f"{UI}/tenants/aruba/sandbox"
    response = client.post(f"{target}/incoming", data={"count": "51", "signed": "1"})
    assert response.status_code == 303
    assert notice_of(client, response.location).startswith("ok: Delivered 51 incoming invoice(s)")
    first = client.get(f"{target}?direction=received").get_data(as_text=True)
    assert first.count("data-sdi-id=") == 50
    assert "page 1 of 2" in first and "badge-ok" in first
    second = client.get(f"{target}?direction=received&page=2").get_data(as_text=True)
    assert second.count("data-sdi-id=") == 1
    home = client.get(f"{UI}/").get_data(as_text=True)
    row = re.search(r"<td>aruba</td>\s*<td><a[^>]*>sandbox</a>.*?</tr>", home, re.S)
    assert row is not None and re.findall(r'<td class="num">(\d+)</td>', row.group(0)) == ["0", "51"]


def test_deliver_incoming_errors_are_messages(client: FlaskClient) -> None:
    target = f"{UI}/tenants/aruba/sandbox"
    for data, message in [
        ({"count": "0"}, "count must be an integer between 1 and 100"),
        ({"count": "x"}, "count must be a whole number"),
        ({"count": "1", "pa": "1"}, "has no PA office code"),
    ]:
        response = client.post(f"{target}/incoming", data=data)
        assert response.status_code == 303
        assert message in notice_of(client, response.location)
    pa = client.post(f"{UI}/tenants/aruba/other/incoming", data={"count": "1", "pa": "1"})
    assert notice_of(client, pa.location).startswith("ok: Delivered 1")
    assert client.post(f"{UI}/tenants/aruba/nobody/incoming", data={}).status_code == 404


def test_invoice_page_timeline_rendering_and_xml(client: FlaskClient) -> None:
    sdi_id = send_invoice(client)
    html = client.get(f"{UI}/invoices/{sdi_id}").get_data(as_text=True)
    assert 'id="timeline"' in html and "scheduled" in html
    iframe = f'<iframe class="rendered" sandbox="" title="The invoice rendered" src="{UI}/invoices/{sdi_id}'
    assert iframe + '/rendered"' in html
    assert "&lt;p:FatturaElettronica" in html or "&lt;FatturaElettronica" in html
    for kind in ("RC", "MC", "AT", "NE_EC01", "NE_EC02", "DT", "NS"):
        assert f'id="force-{kind}"' in html
    assert '<option value="00305" selected>' in html
    rendered = client.get(f"{UI}/invoices/{sdi_id}/rendered")
    assert rendered.status_code == 200
    assert rendered.headers["Content-Security-Policy"].startswith("sandbox;")
    assert "<script" not in rendered.get_data(as_text=True)
    raw = client.get(f"{UI}/invoices/{sdi_id}/xml")
    assert raw.content_type.startswith("text/plain") and raw.headers["X-Content-Type-Options"] == "nosniff"


def test_force_ns_with_a_code_shows_the_rejection(client: FlaskClient) -> None:
    sdi_id = send_invoice(client)
    response = client.post(f"{UI}/invoices/{sdi_id}/force", data={"type": "NS", "code": "00305"})
    assert response.status_code == 303
    assert notice_of(client, response.location).startswith("ok: Forced NS")
    html = client.get(response.location).get_data(as_text=True)
    assert 'class="badge badge-bad" data-state="rejected"' in html
    errors = re.search(r'<ul class="errors">(.*?)</ul>', html, re.S)
    assert errors is not None
    assert '<span class="code">00305</span> 1.4.1.1.2 &lt;IdCodice&gt; non valido' in errors.group(1)
    link = re.search(rf'href="({UI}/notifications/\d+)" class="mono">[^<]*_NS_', html)
    assert link is not None
    notification = client.get(link.group(1)).get_data(as_text=True)
    assert "00305" in notification and "&lt;Codice&gt;00305&lt;/Codice&gt;" in notification
    assert b"<Codice>00305</Codice>" in client.get(link.group(1) + "/xml").data
    tenant = client.get(f"{UI}/tenants/easytracking/sandbox?state=rejected").get_data(as_text=True)
    assert f'data-sdi-id="{sdi_id}"' in tenant


def test_every_forced_outcome_button(client: FlaskClient) -> None:
    pa = send_invoice(client, pa=True)
    for kind, state in [("MC", "not_delivered"), ("RC", "delivered"), ("NE_EC02", "refused")]:
        response = client.post(f"{UI}/invoices/{pa}/force", data={"type": kind})
        assert notice_of(client, response.location).endswith(f"the invoice is now {state}"), kind
    for seed, (kind, state) in enumerate(
        [("AT", "undeliverable"), ("DT", "expired"), ("NE_EC01", "accepted")]
    ):
        other = send_invoice(client, seed=seed + 10, pa=True)
        response = client.post(f"{UI}/invoices/{other}/force", data={"type": kind})
        assert notice_of(client, response.location).endswith(f"the invoice is now {state}"), kind
        html = client.get(f"{UI}/invoices/{other}").get_data(as_text=True)
        assert f'data-state="{state}"' in html


def test_force_errors_are_messages_not_500(client: FlaskClient) -> None:
    sdi_id = send_invoice(client)
    for data, message in [
        ({"type": "XX"}, "type must be one of"),
        ({}, "type must be one of"),
        ({"type": "NS", "code": "99999"}, "Unknown SDI error code"),
        ({"type": "NE_EC01"}, "does not emit"),
    ]:
        response = client.post(f"{UI}/invoices/{sdi_id}/force", data=data)
        assert response.status_code == 303, data
        assert message in notice_of(client, response.location), data
    assert client.post(f"{UI}/invoices/12345/force", data={"type": "RC"}).status_code == 404


def test_unknown_ids_and_paths_are_404_pages(client: FlaskClient) -> None:
    for path in [
        "/invoices/1",
        "/invoices/0",
        "/invoices/99999999999999999999999",
        "/invoices/abc",
        "/invoices/1/rendered",
        "/invoices/1/xml",
        "/notifications/5",
        "/notifications/5/xml",
        "/journal/77",
        "/journal/999999999999999999999",
        "/nothing/here",
        "/static/nope.css",
    ]:
        response = client.get(UI + path)
        assert response.status_code == 404, path
    assert client.post(f"{UI}/nothing").status_code == 404
    assert client.post(f"{UI}/").status_code == 405


def _journal_entry(sandbox: Sandbox, *, violations: list[dict[str, str]], tenant: str = "sandbox") -> int:
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    with sandbox.transaction() as session:
        entry = JournalEntry(
            at=now,
            real_at=now,
            provider="aruba",
            tenant=tenant,
            method="POST",
            path="/aruba/services/invoice/upload",
            full_path="/aruba/services/invoice/upload",
            query={},
            status=400,
            duration_ms=1.25,
            request_headers={"X-Test": XSS},
            request_content_type="application/json",
            request_body={"json": {"evil": XSS}},
            response_content_type="application/json",
            response_headers={},
            fault=None,
            response_body={"json": {}},
            operation="POST /services/invoice/upload",
            violations=violations,
            has_violations=bool(violations),
        )
        session.add(entry)
        session.flush()
        return entry.id


def test_journal_newest_first_filters_and_violations_highlighted(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    send_invoice(client)  # journals the token and upload calls
    bad = _journal_entry(sandbox, violations=[{"where": "body.dataFile", "why": "the property is required"}])
    html = client.get(f"{UI}/journal").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'<td><a href="/_sandbox/ui/journal/\d+">(\d+)</a></td>', html)]
    assert ids == sorted(ids, reverse=True) and ids[0] == bad and len(ids) >= 3
    row = re.search(r'<tr class="violation">.*?</tr>', html, re.S)
    assert row is not None
    assert '<span class="where">body.dataFile</span>: the property is required' in row.group(0)
    only = client.get(f"{UI}/journal?violations=1").get_data(as_text=True)
    assert re.findall(r'<td><a href="/_sandbox/ui/journal/\d+">(\d+)</a></td>', only) == [str(bad)]
    easy = client.get(f"{UI}/journal?provider=easytracking&tenant=sandbox").get_data(as_text=True)
    assert str(bad) not in re.findall(r'journal/(\d+)"', easy) and "easytracking" in easy
    assert client.get(f"{UI}/journal?provider=nope").status_code == 400
    assert client.get(f"{UI}/journal?violations=maybe").status_code == 400
    assert client.get(f"{UI}/journal?before=-1").status_code == 400
    detail = client.get(f"{UI}/journal/{bad}").get_data(as_text=True)
    assert 'class="panel violation"' in detail and "body.dataFile" in detail and "X-Test" in detail


def test_journal_pages_by_older_entries(client: FlaskClient, sandbox: Sandbox) -> None:
    for _ in range(55):
        _journal_entry(sandbox, violations=[])
    html = client.get(f"{UI}/journal").get_data(as_text=True)
    assert html.count('<td><a href="/_sandbox/ui/journal/') == 50
    older = re.search(r'href="(/_sandbox/ui/journal\?before=\d+)">older', html)
    assert older is not None
    assert client.get(older.group(1)).get_data(as_text=True).count('<td><a href="/_sandbox/ui/journal/') == 5


def test_jobs_and_webhook_deliveries_of_the_tenant(client: FlaskClient, sandbox: Sandbox) -> None:
    tok = token(client)
    client.post(
        "/easytracking/api/v4/ActiveInvoices",
        data=__import__("tests.providers.easytracking.helpers", fromlist=["invoice"]).invoice(
            progressive="L0001"
        ),
        headers={**bearer(tok), "Content-Type": "application/xml"},
    )
    booked = client.post(
        "/easytracking/api/v4/DownloadInvoices/active/progressivo-invio/jobs",
        json={"progressivoInvio": ["L0001"]},
        headers=bearer(tok),
    )
    assert booked.status_code == 202
    job_id = booked.get_json()["jobId"]
    html = client.get(f"{UI}/tenants/easytracking/sandbox").get_data(as_text=True)
    job = re.search(rf"<tr><td class=\"mono\">{job_id}</td>.*?</tr>", html, re.S)
    assert job is not None and "preparing" in job.group(0)
    client.post(f"{UI}/clock", data={"seconds": "3600"})
    assert 'badge-ok">ready' in client.get(f"{UI}/tenants/easytracking/sandbox").get_data(as_text=True)
    client.post(f"{UI}/clock", data={"seconds": str(2 * 86400)})
    assert 'badge-warn">expired' in client.get(f"{UI}/tenants/easytracking/sandbox").get_data(as_text=True)

    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    with sandbox.transaction() as session:
        delivery = WebhookDelivery(
            provider="aruba",
            tenant="sandbox",
            event="invoice-out",
            url="http://localhost:9/hook?x=<b>",
            headers={},
            body={},
            status="failed",
            created_at=at,
            next_attempt_at=None,
            max_attempts=2,
            interval_seconds=60,
            interval_growth=1.0,
            max_interval_seconds=None,
        )
        delivery.attempts = [
            WebhookAttempt(number=1, at=at, status_code=500, error=None, duration_ms=3),
            WebhookAttempt(number=2, at=at, status_code=None, error="connection refused", duration_ms=1),
        ]
        session.add(delivery)
    aruba = client.get(f"{UI}/tenants/aruba/sandbox").get_data(as_text=True)
    section = re.search(r'<table class="grid" id="deliveries">.*?</table>', aruba, re.S)
    assert section is not None
    assert "invoice-out" in section.group(0) and "2 / 2" in section.group(0)
    assert "→ 500" in section.group(0) and "→ connection refused" in section.group(0)
    assert "hook?x=&lt;b&gt;" in section.group(0) and 'badge-bad">failed' in section.group(0)


def test_changes_token_moves_when_something_happens(client: FlaskClient) -> None:
    first = client.get(f"{UI}/changes").get_json()
    assert first["changed"] is True
    same = client.get(f"{UI}/changes?since={first['token']}").get_json()
    assert same == {"token": first["token"], "changed": False}
    page = client.get(f"{UI}/tenants/easytracking/sandbox").get_data(as_text=True)
    assert f'data-token="{first["token"]}"' in page
    send_invoice(client)
    assert client.get(f"{UI}/changes?since={first['token']}").get_json()["changed"] is True
    second = client.get(f"{UI}/changes").get_json()["token"]
    client.post(f"{UI}/clock", data={"seconds": "1"})
    assert client.get(f"{UI}/changes?since={second}").get_json()["changed"] is True


def test_pages_carry_the_live_update_script_and_work_without_it(client: FlaskClient) -> None:
    html = client.get(f"{UI}/").get_data(as_text=True)
    assert f'<script src="{UI}/static/ui.js" defer></script>' in html
    assert 'data-changes="/_sandbox/ui/changes"' in html and '<main id="content"' in html
    script = client.get(f"{UI}/static/ui.js").get_data(as_text=True)
    assert "setInterval(poll, 2000)" in script
    assert client.get(f"{UI}/static/ui.css").status_code == 200
    # Every form of the UI is a POST with a plain action (POST-redirect-GET), no JS needed.
    assert all(m == "post" for m in re.findall(r'<form method="(\w+)" action="[^"]+" class="inline"', html))


def test_cross_site_posts_are_refused(client: FlaskClient, sandbox: Sandbox) -> None:
    before = sandbox.clock.now()
    for headers in [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}]:
        response = client.post(f"{UI}/clock", data={"seconds": "60"}, headers=headers)
        assert response.status_code == 403
    ok = client.post(f"{UI}/clock", data={"seconds": "60"}, headers={"Origin": "http://localhost"})
    assert ok.status_code == 303
    assert (sandbox.clock.now() - before).total_seconds() == 60


def test_attacker_controlled_text_is_escaped(client: FlaskClient, sandbox: Sandbox) -> None:
    sdi_id = send_invoice(client, causale=XSS)
    _journal_entry(sandbox, violations=[{"where": XSS, "why": XSS}], tenant=XSS)
    pages = [
        f"{UI}/invoices/{sdi_id}",
        f"{UI}/journal",
        f"{UI}/journal?tenant={XSS}",
        f"{UI}/tenants/easytracking/sandbox",
        f"{UI}/invoices/{sdi_id}/rendered",
    ]
    sandbox.settle()
    with sandbox.transaction() as session:
        entry_id = session.query(JournalEntry.id).order_by(JournalEntry.id.desc()).first()
    assert entry_id is not None
    pages.append(f"{UI}/journal/{entry_id[0]}")
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
    invoice_html = client.get(f"{UI}/invoices/{sdi_id}").get_data(as_text=True)
    assert (
        "&amp;lt;script&amp;gt;alert(&#34;x&#34;)&amp;lt;/script&amp;gt;" in invoice_html
    )  # XML source shown
    assert "script-src 'self'" in client.get(f"{UI}/").headers["Content-Security-Policy"]
