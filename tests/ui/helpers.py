"""Building blocks of the UI tests: an invoice sent through Easy Tracking, the page's links."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.providers.easytracking.helpers import bearer, invoice, token

UI = "/_sandbox/ui"


def send_invoice(client: FlaskClient, *, seed: int = 1, causale: str | None = None, pa: bool = False) -> int:
    """Upload one invoice as easytracking/sandbox; returns its IdentificativoSdI."""
    tok = token(client)
    response = client.post(
        "/easytracking/api/v4/ActiveInvoices",
        data=invoice(seed=seed, causale=causale, pa=pa),
        headers={**bearer(tok), "Content-Type": "application/xml"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    page = client.get(f"{UI}/tenants/easytracking/sandbox").get_data(as_text=True)
    ids = re.findall(r'data-sdi-id="(\d+)"', page)
    assert ids, page
    return int(ids[0])


def notice_of(client: FlaskClient, location: str) -> str:
    html = client.get(location).get_data(as_text=True)
    match = re.search(r'<p class="notice notice-(\w+)" role="status" id="notice">(.*?)</p>', html, re.S)
    assert match, html
    return f"{match.group(1)}: {match.group(2)}"
