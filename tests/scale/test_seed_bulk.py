"""Bulk seeding (template replication): what it writes looks, through every API, as the create path's.

A bulk-seeded store and a create-path one from the same plan are compared; the clones' SDI messages are
stored unsigned and signed when read, verifiable by a client like any other."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import func, select

from emulator.app import create_app
from emulator.commands.seed import SeedError, SeedOptions, seed
from emulator.config import Config
from emulator.core.clock import ROME
from emulator.core.xmlsafe import parse_xml
from emulator.providers.easytracking.models import EtDocument, EtPassiveInvoice
from emulator.sdi.models import SdiEvent, SdiInvoice, SdiNotification
from emulator.sdi.signing import client_bytes, unsigned_bytes
from emulator.state import Sandbox
from tests.conftest import advance, make_config
from tests.providers.easytracking.helpers import bearer, token

INVOICES = 160
ACTIVE = "/easytracking/api/v4/DownloadInvoices/active-invoices"
PASSIVE = "/easytracking/api/v4/DownloadInvoices/passive-invoices"


def _seeded(bulk: bool) -> tuple[Flask, Sandbox]:
    app = create_app(make_config(xsd_dir=None))
    sandbox: Sandbox = app.extensions["fattura_sandbox"]
    options = SeedOptions(invoices=INVOICES, provider="easytracking", seed=11, months=2, bulk=bulk)
    seed(sandbox.config, options, sandbox=sandbox)
    return app, sandbox


@pytest.fixture(scope="module")
def bulk() -> tuple[Flask, Sandbox]:
    return _seeded(True)


@pytest.fixture(scope="module")
def created() -> tuple[Flask, Sandbox]:
    return _seeded(False)


def _clones(sandbox: Sandbox) -> list[Any]:
    """The SDI invoices whose notifications are stored unsigned: the clones, not the templates."""
    with sandbox.store.read() as session:
        ids = select(SdiNotification.invoice_id).where(SdiNotification.signed.is_(False))
        columns = (
            SdiInvoice.id,
            SdiInvoice.sdi_id,
            SdiInvoice.file_name,
            SdiInvoice.sender_account_id,
            SdiInvoice.recipient_account_id,
        )
        return list(session.execute(select(*columns).where(SdiInvoice.id.in_(ids)).order_by(SdiInvoice.id)))


def _listed(client: FlaskClient, path: str) -> list[dict[str, Any]]:
    response = client.get(path, query_string={"top": 1000}, headers=bearer(token(client)))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict)
    items: list[dict[str, Any]] = body["invoices"]
    return items


def test_same_plan_same_shape(bulk: tuple[Flask, Sandbox], created: tuple[Flask, Sandbox]) -> None:
    views: list[dict[str, Any]] = []
    for _, sandbox in (bulk, created):
        with sandbox.store.read() as session:
            views.append(
                {
                    "invoices": session.execute(select(func.count()).select_from(SdiInvoice)).scalar_one(),
                    "documents": session.execute(select(func.count()).select_from(EtDocument)).scalar_one(),
                    "passive": session.execute(
                        select(func.count()).select_from(EtPassiveInvoice)
                    ).scalar_one(),
                    "kinds": set(session.execute(select(SdiNotification.type)).scalars()),
                    "states": set(session.execute(select(SdiInvoice.state)).scalars()),
                    "numbers": len(set(session.execute(select(SdiInvoice.supplier_vat, SdiInvoice.number)))),
                    "sdi_ids": len(set(session.execute(select(SdiInvoice.sdi_id)).scalars())),
                    "files": len(set(session.execute(select(SdiInvoice.file_name)).scalars())),
                }
            )
    assert views[0]["invoices"] == views[1]["invoices"] > 100
    assert views[0]["documents"] == views[1]["documents"]
    assert views[0]["passive"] == views[1]["passive"] > 0
    assert views[0]["kinds"] == views[1]["kinds"]
    assert {"delivered", "rejected", "not_delivered"} <= views[0]["states"]
    # Every invoice its own number (per supplier), SDI id and file name, as on the create path.
    for key in ("numbers", "sdi_ids", "files"):
        assert views[0][key] == views[0]["invoices"], key
    assert len(_clones(bulk[1])) > INVOICES // 3


def test_a_clone_is_consistent_everywhere(bulk: tuple[Flask, Sandbox]) -> None:
    _, sandbox = bulk
    clone = _clones(sandbox)[-1]
    with sandbox.store.read() as session:
        invoice = session.get(SdiInvoice, clone.id)
        assert invoice is not None
        assert invoice.hash == hashlib.sha256(invoice.content).hexdigest()
        parsed = parse_xml(invoice.content)
        assert parsed.findtext(".//DatiGeneraliDocumento/Numero") == invoice.number
        assert parsed.findtext(".//DatiGeneraliDocumento/Data") == invoice.date
        assert parsed.findtext(".//ProgressivoInvio") == invoice.progressive
        received_day = invoice.received_at.astimezone(ROME).date().isoformat()
        assert invoice.date == received_day  # issued the day it was sent, like the create path's
        for notification in invoice.notifications:
            message = parse_xml(notification.content)
            assert message.findtext("IdentificativoSdI") == str(invoice.sdi_id)
            assert message.findtext("NomeFile") == invoice.file_name
            if message.findtext("Hash") is not None:
                assert message.findtext("Hash") == invoice.hash
            if message.findtext("MessageId") is not None:
                assert message.findtext("MessageId") == notification.message_id
            assert notification.file_name.startswith(invoice.file_name.removesuffix(".xml") + "_")


def test_a_client_verifies_a_clones_signature_like_a_create_path_ones(bulk: tuple[Flask, Sandbox]) -> None:
    app, sandbox = bulk
    clone = next(c for c in _clones(sandbox) if c.sender_account_id is not None)
    with sandbox.store.read() as session:
        stored = session.execute(
            select(SdiNotification.content, SdiNotification.signed)
            .where(SdiNotification.invoice_id == clone.id, SdiNotification.type != "MT")
            .order_by(SdiNotification.id)
        ).first()
        assert stored is not None and stored.signed is False
        assert b"SignatureValue" not in stored.content
        seen = (
            session.execute(
                select(SdiNotification).where(
                    SdiNotification.invoice_id == clone.id, SdiNotification.type != "MT"
                )
            )
            .scalars()
            .first()
        )
        assert seen is not None
        seen_content = seen.content
    assert sandbox.signer.verify_xml(seen_content)  # the ORM reader sees it signed
    assert client_bytes(stored.content, False, sandbox.signer) == seen_content  # the same bytes each read
    assert unsigned_bytes(seen_content) == stored.content
    # The Easy Tracking client gets it signed in InvoiceNotifications.
    client = app.test_client()
    with sandbox.store.read() as session:
        progressivo = session.execute(
            select(EtDocument.progressivo_invio).where(EtDocument.invoice_id == clone.id)
        ).scalar_one()
        username = "sandbox" if clone.sender_account_id == 1 else "other"
    response = client.get(
        "/easytracking/api/v4/InvoiceNotifications",
        query_string={"progressivoInvio": progressivo},
        headers=bearer(token(client, username)),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    stati = etree.fromstring(response.get_data())
    sdi_roots = [stato[0] for stato in stati if stato[0].tag.startswith("{http://ivaservizi")]
    assert sdi_roots
    expected = parse_xml(seen_content)
    value = "{http://www.w3.org/2000/09/xmldsig#}SignatureValue"
    assert sdi_roots[0].findtext(f".//{value}") == expected.findtext(f".//{value}")
    assert sdi_roots[0].findtext(f".//{value}")


def test_lists_show_clones_like_created_invoices(
    bulk: tuple[Flask, Sandbox], created: tuple[Flask, Sandbox]
) -> None:
    for path in (ACTIVE, PASSIVE):
        bulk_items = _listed(bulk[0].test_client(), path)
        created_items = _listed(created[0].test_client(), path)
        assert len(bulk_items) == len(created_items) > 0, path
        assert {frozenset(i) for i in bulk_items} == {frozenset(i) for i in created_items}, path


def test_ui_list_and_state_show_clones(bulk: tuple[Flask, Sandbox]) -> None:
    app, sandbox = bulk
    client = app.test_client()
    clone = _clones(sandbox)[0]
    tenant = "sandbox" if 1 in (clone.sender_account_id, clone.recipient_account_id) else "other"
    page = client.get(f"/_sandbox/ui/tenants/easytracking/{tenant}")
    assert page.status_code == 200
    assert str(clone.sdi_id) in page.get_data(as_text=True)
    detail = client.get(f"/_sandbox/ui/invoices/{clone.sdi_id}")
    assert detail.status_code == 200, detail.get_data(as_text=True)[:500]
    assert clone.file_name in detail.get_data(as_text=True)
    with sandbox.store.read() as session:
        signed_one = session.execute(
            select(SdiNotification.id).where(
                SdiNotification.invoice_id == clone.id, SdiNotification.signed.is_(False)
            )
        ).scalar()
    assert signed_one is not None
    download = client.get(f"/_sandbox/ui/notifications/{signed_one}/xml")
    assert download.status_code == 200
    assert sandbox.signer.verify_xml(download.get_data())


def test_a_young_clone_goes_on_with_its_lifecycle_and_the_create_path_after_it() -> None:
    app, sandbox = _seeded(True)
    client = app.test_client()
    with sandbox.store.read() as session:
        pending = session.execute(
            select(func.count()).select_from(SdiEvent).where(SdiEvent.status == "pending")
        ).scalar_one()
        before_ids = session.execute(select(func.max(SdiInvoice.sdi_id))).scalar_one()
        due = session.execute(
            select(func.min(SdiEvent.due_at)).where(SdiEvent.status == "pending")
        ).scalar_one()
    assert pending > 0  # the youngest clones are still on their way
    assert due > sandbox.clock.now()  # nothing overdue: each waits for its own instant
    advance(client, 30 * 86400)
    with sandbox.store.read() as session:
        still = session.execute(
            select(func.count()).select_from(SdiEvent).where(SdiEvent.status == "pending")
        ).scalar_one()
    assert still < pending
    # The sequences moved past the clones: a new upload gets a fresh SDI id and file name.
    body = re.sub(
        rb"<Numero>[^<]*</Numero>",
        b"<Numero>NEW-1</Numero>",
        _first_sent_xml(sandbox),
    )
    body = re.sub(
        rb"<ProgressivoInvio>[^<]*</ProgressivoInvio>", b"<ProgressivoInvio>NEW01</ProgressivoInvio>", body
    )
    response = client.post(
        "/easytracking/api/v4/ActiveInvoices", data=body, headers=bearer(token(client, "sandbox"))
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    with sandbox.store.read() as session:
        newest = session.execute(select(SdiInvoice).order_by(SdiInvoice.id.desc()).limit(1)).scalar_one()
        assert newest.sdi_id > before_ids
        same_name = (
            select(func.count()).select_from(SdiInvoice).where(SdiInvoice.file_name == newest.file_name)
        )
        assert session.execute(same_name).scalar_one() == 1


def _first_sent_xml(sandbox: Sandbox) -> bytes:
    with sandbox.store.read() as session:
        return session.execute(select(EtDocument.xml).where(EtDocument.account_id == 1).limit(1)).scalar_one()


def test_bulk_refuses_providers_it_does_not_know() -> None:
    sandbox: Sandbox = create_app(make_config(xsd_dir=None)).extensions["fattura_sandbox"]
    with pytest.raises(SeedError) as raised:
        seed(sandbox.config, SeedOptions(invoices=5, provider="aruba", bulk=True), sandbox=sandbox)
    assert str(raised.value) == "bulk seeding does not know provider(s) aruba yet"


def test_an_older_store_gains_the_signed_column_with_its_notifications_signed(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    app = create_app(make_config(db=str(db), xsd_dir=None))
    sandbox: Sandbox = app.extensions["fattura_sandbox"]
    seed(
        sandbox.config, SeedOptions(invoices=4, provider="easytracking", seed=2, bulk=False), sandbox=sandbox
    )
    sandbox.store.dispose()
    with sqlite3.connect(db) as connection:
        connection.execute("ALTER TABLE sdi_notifications DROP COLUMN signed")
    reopened = Sandbox(Config(db=str(db)))
    with reopened.store.read() as session:
        notifications = list(session.execute(select(SdiNotification)).scalars())
        assert notifications and all(n.signed for n in notifications)
        assert all(reopened.signer.verify_xml(n.content) for n in notifications if n.type != "MT")
