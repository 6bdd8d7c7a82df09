"""End to end in headless Chromium: an invoice uploaded through a provider API appears in the
inspector by itself, is forced to an NS 00305 with a button, and shows the rejection and its code.

Needs Debian's ``chromium`` (/usr/bin/chromium) and the ``playwright`` Python package (no
``playwright install``: the system browser is used). Set ``FATTURA_SANDBOX_UI_SCREENSHOTS`` to a
directory to keep a screenshot of the invoice page after the NS.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from emulator.app import create_app
from tests.conftest import make_config
from tests.providers.easytracking.helpers import CREDENTIALS, invoice

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)"),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="the playwright Python package is missing (pip install playwright)",
    ),
]


@pytest.fixture
def base_url() -> Iterator[str]:
    app = create_app(make_config())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="ui-e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["fattura_sandbox"].close()


@pytest.fixture
def page(base_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 1000})
            tab = context.new_page()
            tab.set_default_timeout(15_000)
            yield tab
        finally:
            browser.close()


def upload_through_easytracking(base_url: str) -> str:
    session = requests.Session()
    token = session.post(f"{base_url}/easytracking/api/Token/AccessToken", json=CREDENTIALS, timeout=10)
    assert token.status_code == 200, token.text
    response = session.post(
        f"{base_url}/easytracking/api/v4/ActiveInvoices",
        data=invoice(seed=7, number="E2E-1"),
        headers={"Authorization": f"Bearer {token.json()}", "Content-Type": "application/xml"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["progressivoInvio"])


def test_upload_appears_live_then_forced_ns_shows_the_rejection(page: Any, base_url: str) -> None:
    from playwright.sync_api import expect

    page.goto("/_sandbox/ui/tenants/easytracking/sandbox")
    expect(page.locator("#invoices")).to_contain_text("No invoices")
    page.evaluate("window.__notReloaded = true")

    progressivo = upload_through_easytracking(base_url)

    row = page.locator("#invoices tr[data-sdi-id]")
    expect(row).to_have_count(1)  # the live update brought it in (polling every 2 s)
    expect(row).to_contain_text(progressivo)
    expect(row).to_contain_text("E2E-1")
    expect(row.locator(".badge")).to_have_text("received")
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded instead of updated"

    row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text(".xml")
    page.select_option("#ns-code", "00305")
    page.click("#force-NS")

    expect(page.locator("h1 .badge")).to_have_text("rejected")
    expect(page.locator("h1 .badge")).to_have_class("badge badge-bad")
    ns = page.locator('#timeline li[data-type="NS"]')
    expect(ns).to_contain_text("Notifica di scarto")
    expect(ns.locator(".errors .code")).to_have_text("00305")
    expect(ns.locator(".errors")).to_contain_text("<IdCodice> non valido")
    expect(page.locator("#notice")).to_contain_text("Forced NS")
    assert page.locator("iframe.rendered").get_attribute("sandbox") == ""

    keep = os.environ.get("FATTURA_SANDBOX_UI_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(keep) / "invoice-after-ns.png"), full_page=True)
