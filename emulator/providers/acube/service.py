"""A-Cube's invoice operations: create (``POST /invoices``), get one (the collection is ``collection.py``).

Decisions where the page is silent:

- A-Cube is the transmitter: it names each file ``IT10442360961_<5 base62>.xml``. 10442360961 is
  taken as A-Cube S.r.l.'s VAT number (the page does not give it; the number is checksum-valid,
  which is all the SDI checks). The invoice's own IdTrasmittente is sent as the client wrote it.
- ``POST /invoices`` checks synchronously what A-Cube answers 400 "Invalid input" for: XML that
  does not parse, is not a FatturaPA, lacks a required element (the sandbox's structural check),
  or whose supplier (the customer, for self-billing) is none of the account's fiscal ids. The
  body is API Platform's validation error (``violations``). The rest is the SDI's business (NS).
- The invoice is "waiting" for ``SENDING_SECONDS`` of virtual time, then A-Cube hands it to the
  SDI (task ``acube.send_invoice``) and it is "sent".

Limitations: ``payload`` is null when the sandbox runs without the FatturaPA schemas (``--xsd-dir``).
"""

from __future__ import annotations

import json
import string
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, NotFound
from emulator.core.ids import IdFactory
from emulator.core.tasks import AfterCommit, ScheduledTask, TaskHandler
from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.acube import records
from emulator.providers.acube.convert import ConversionError, json_to_xml, xml_to_json
from emulator.providers.acube.models import AcubeInvoice
from emulator.sdi.fatturapa import NotAnInvoiceError, ParsedInvoice, parse_invoice
from emulator.sdi.models import SdiInvoice, SdiNotification
from emulator.sdi.notifications import parse_notification
from emulator.sdi.validation import structural_error
from emulator.state import Sandbox

ACUBE_VAT = "10442360961"
FILE_PREFIX = f"IT{ACUBE_VAT}_"
NAME_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
SEND_INVOICE = "acube.send_invoice"
SENDING_SECONDS = 5
CHANNEL = "acube"


class InvalidInput(BadRequest):
    """API Platform's 400 with violations: ``detail`` is "<propertyPath>: <message>"."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.details["violations"] = [{"propertyPath": path, "message": message, "code": None}]


# -- create ---------------------------------------------------------------------------------------


def xml_of_json(payload: object, xsd_dir: Path | None = None) -> bytes:
    try:
        return json_to_xml(payload, xsd_dir=xsd_dir)
    except (ConversionError, FileNotFoundError) as exc:
        raise InvalidInput("", f"The invoice cannot be converted to FatturaPA XML: {exc}") from None


def invoice_xml_of_json(payload: object, xsd_dir: Path | None = None) -> bytes:
    """An invoice's JSON form (``POST /invoices``, convert, validate, a draft sent) as XML.

    Unlike a draft, an invoice needs its header and at least one body (the page marks both
    required): API Platform's "This value should not be blank." otherwise.
    """
    xml = xml_of_json(payload, xsd_dir)  # first: what the JSON form itself gets wrong
    if isinstance(payload, dict):
        if not payload.get("fattura_elettronica_header"):
            raise InvalidInput("fattura_elettronica_header", "This value should not be blank.")
        if not payload.get("fattura_elettronica_body"):
            raise InvalidInput("fattura_elettronica_body", "This value should not be blank.")
    return xml


def create_invoice(sandbox: Sandbox, session: Session, account: Account, xml: bytes) -> dict[str, str]:
    """Check the invoice, file it as "waiting" and schedule its sending to the SDI → ``{"uuid"}``."""
    parsed = check_invoice(account, xml)
    now = sandbox.clock.now()
    row = AcubeInvoice(
        uuid=sandbox.ids.guid(),
        account_id=account.id,
        type=records.SENT,
        file_name=new_file_name(session, sandbox.ids),
        xml=xml,
        created_at=now,
        downloaded=False,
    )
    records.describe(row, parsed)
    session.add(row)
    session.flush()
    due = now + timedelta(seconds=SENDING_SECONDS)
    sandbox.tasks.schedule(session, SEND_INVOICE, due, {"invoice": row.id})
    return {"uuid": row.uuid}


def check_invoice(account: Account, xml: bytes) -> ParsedInvoice:
    """What ``POST /invoices`` refuses with 400 "Invalid input" (module docstring); the parsed invoice."""
    if not xml.strip():
        raise InvalidInput("", "The request body is empty: a FatturaPA XML invoice is expected.")
    try:
        root = parse_xml(xml)
        parsed = parse_invoice(root)
    except NotAnInvoiceError as exc:
        raise InvalidInput("", f"Not a FatturaPA invoice: {exc}") from None
    except ValueError as exc:
        raise InvalidInput("", f"The XML cannot be read: {exc}") from None
    problem = structural_error(root)
    if problem is not None:
        raise InvalidInput("", f"The invoice is not a valid FatturaPA: {problem}")
    owner = parsed.owner
    if not account.owns(owner.vat, owner.fiscal_code):
        path = "fattura_elettronica_header.cessionario_committente" if parsed.issuer_role == "CC" else (
            "fattura_elettronica_header.cedente_prestatore"
        )
        shown = owner.vat or owner.fiscal_code or "(none)"
        raise InvalidInput(path, f"The sender {shown} is not one of the fiscal ids of your account.")
    return parsed


def new_file_name(session: Session, ids: IdFactory) -> str:
    """``IT10442360961_<5 base62>.xml``, its stem used by no SDI or A-Cube file."""
    while True:
        stem = FILE_PREFIX + "".join(NAME_ALPHABET[ids.randint(0, len(NAME_ALPHABET) - 1)] for _ in range(5))
        prefix = stem.lower() + "."
        taken = session.execute(
            select(func.count()).select_from(SdiInvoice).where(func.lower(SdiInvoice.file_name).startswith(prefix))
        ).scalar_one() or session.execute(
            select(func.count()).select_from(AcubeInvoice).where(func.lower(AcubeInvoice.file_name).startswith(prefix))
        ).scalar_one()
        if not taken:
            return stem + ".xml"


def send_invoice_handler(sandbox: Sandbox) -> TaskHandler:
    def handler(session: Session, task: ScheduledTask) -> AfterCommit | None:
        row = session.get(AcubeInvoice, task.payload.get("invoice"))
        if row is not None and row.type == records.SENT and row.invoice is None:
            reception = sandbox.engine.receive(
                session,
                file_name=row.file_name,
                content=row.xml,
                channel=CHANNEL,
                sender_account_id=row.account_id,
                at=task.due_at,
            )
            row.invoice = reception.invoice
            session.flush()
            # webhooks builds its bodies with this module's invoice_view: imported here, not at the top.
            from emulator.providers.acube import webhooks

            webhooks.invoice_sent(sandbox, session, row, task.due_at)
        return None

    return handler


# -- read -----------------------------------------------------------------------------------------


def payload_text(payload: object) -> str | None:
    """``payload`` as the page shows it: a string, the JSON text of the invoice's JSON form."""
    return None if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _payload(xml: bytes | None, xsd_dir: Path | None) -> dict[str, Any] | None:
    """The JSON form of the stored XML; null when there are no schemas to convert with."""
    if xml is None or xsd_dir is None:
        return None
    try:
        return xml_to_json(xml, xsd_dir=xsd_dir)
    except (ConversionError, FileNotFoundError):
        return None


def get_invoice(session: Session, account: Account, reference: str) -> AcubeInvoice:
    row = records.find(session, account, reference)
    if row is None:
        raise NotFound("Not Found")
    return row


def invoice_view(row: AcubeInvoice, xsd_dir: Path | None = None) -> dict[str, Any]:
    """The Invoice resource (keys as the page's sample); ``payload`` is the FatturaPA in JSON form."""
    sdi = row.invoice
    notifications = records.notifications_of(row)
    rejected = records.marking_of(row) == "rejected"
    # Imported here: preservation's model module need not be loaded for the rest of this one.
    from emulator.providers.acube.preservation import preservation_of

    legally_stored, preserved_document = preservation_of(row)
    return {
        "created_at": records.rome(row.created_at),
        "uuid": row.uuid,
        "type": row.type,
        "payload": payload_text(_payload(row.xml, xsd_dir)),
        "sender": _party(row.sender_name, row.sender_vat, row.sender_cf, row.sender_country),
        "recipient": _party(row.recipient_name, row.recipient_vat, row.recipient_cf, row.recipient_country),
        "notifications": [
            {"uuid": records.notification_uuid(n), "type": n.type, "created_at": records.rome(n.emitted_at)}
            for n in notifications
        ],
        "sdi_file_name": sdi.file_name if sdi is not None else None,
        "sdi_file_id": str(sdi.sdi_id) if sdi is not None else None,
        "signed": row.file_name.lower().endswith(".p7m"),
        "legally_stored": legally_stored,
        "preserved_document": preserved_document,
        "downloaded": row.downloaded,
        "downloaded_at": records.rome(row.downloaded_at),
        "marking": records.marking_of(row),
        "notice": _notice(notifications) if rejected else None,
        "retry_information": [],
        "transmission_format": row.transmission_format,
        "document_type": row.document_type,
        "to_pa": row.to_pa,
    }


def _party(name: str | None, vat: str | None, cf: str | None, country: str | None) -> dict[str, Any]:
    return {
        "business_name": name,
        "business_vat_number_code": vat,
        "business_fiscal_code": cf,
        "business_country": country,
    }


def _notice(notifications: list[SdiNotification]) -> str | None:
    """The NS's errors, "<code>: <description>" joined by "; "."""
    for notification in notifications:
        if notification.type == "NS":
            try:
                errors = parse_notification(notification.content).errors
            except ValueError:
                return None
            return "; ".join(f"{e.code}: {e.description}" for e in errors) or None
    return None
