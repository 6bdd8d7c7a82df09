"""Boxes with invoices in them, for the find tests (§8, §9, §11, §12).

Sent files are put in an account's "out" box the way an upload ends: the SDI receives the file
and an ``ArubaInvoice`` (status "Inviata") points to it; ``handed=False`` leaves the file with
Aruba ("Presa in carico"). Received files come from ``POST /_sandbox/incoming-invoices``.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.aruba import records
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.fatturapa import parse_invoice
from emulator.state import Sandbox
from tests.providers.aruba.helpers import ARUBA_TRANSMITTER, bearer, invoice

BASE = "/aruba/services"


@dataclass(frozen=True)
class Sent:
    id: int
    filename: str
    sdi_id: int | None


def sent(
    sandbox: Sandbox,
    *,
    tenant: str = "sandbox",
    seed: int = 1,
    xml: bytes | None = None,
    signed: bool = False,
    handed: bool = True,
    status: str = records.SENT,
    description: str | None = None,
    **invoice_fields: Any,
) -> Sent:
    """One file in the account's sent box; the SDI has it unless ``handed`` is false."""
    body = xml if xml is not None else invoice(seed=seed, **invoice_fields)
    content = sandbox.signer.make_p7m(body) if signed else body
    with sandbox.transaction() as session:
        account = session.execute(
            select(Account).where(Account.provider == "aruba", Account.tenant == tenant)
        ).scalar_one()
        row_id = records.next_invoice_id(session, sandbox.ids)
        filename = f"IT{ARUBA_TRANSMITTER}_{row_id % 100000:05d}.xml" + (".p7m" if signed else "")
        now = sandbox.clock.now()
        row = ArubaInvoice(
            id=row_id,
            account_id=account.id,
            direction=records.OUT,
            filename=filename,
            content=content,
            status=status if not handed else records.SENT,
            status_description=description,
            created_at=now,
            updated_at=now,
        )
        with contextlib.suppress(ValueError):
            records.describe_file(row, parse_invoice(parse_xml(body)))
        if handed:
            reception = sandbox.engine.receive(
                session, file_name=filename, content=content, channel="aruba", sender_account_id=account.id
            )
            row.invoice = reception.invoice
            row.invoice_id = reception.invoice.id
        session.add(row)
        session.flush()
        return Sent(row.id, row.filename, row.invoice.sdi_id if row.invoice is not None else None)


def received(
    client: FlaskClient, *, recipient: str = "20493810483", count: int = 1, signed: bool = False, **extra: Any
) -> list[dict[str, Any]]:
    response = client.post(
        "/_sandbox/incoming-invoices",
        json={"recipient": recipient, "count": count, "signed": signed, **extra},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    invoices: list[dict[str, Any]] = response.get_json()["invoices"]
    return invoices


def force(client: FlaskClient, invoice_file_name: str, kind: str) -> dict[str, Any]:
    response = client.post("/_sandbox/sdi/notifications", json={"invoice": invoice_file_name, "type": kind})
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def get(client: FlaskClient, tok: str, path: str, **query: Any) -> Any:
    return client.get(f"{BASE}{path}", query_string=query, headers=bearer(tok))


def row_id(sandbox: Sandbox, filename: str, direction: str, tenant: str = "sandbox") -> int:
    with sandbox.transaction() as session:
        value: int = session.execute(
            select(ArubaInvoice.id)
            .join(Account, Account.id == ArubaInvoice.account_id)
            .where(
                ArubaInvoice.filename == filename,
                ArubaInvoice.direction == direction,
                Account.provider == "aruba",
                Account.tenant == tenant,
            )
        ).scalar_one()
        return value


def assert_spring_error(response: Any, status: int, message: str, path: str) -> None:
    """Spring Boot's default error body, with the exact message."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert body["status"] == status
    assert body["message"] == message
    assert body["path"] == path


def open_zip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
