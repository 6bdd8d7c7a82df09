"""A-Cube's drafts: ``/invoices/draft`` (list, create) and ``/invoices/draft/{id}`` (get, put, delete, send).

A draft is stored as the client wrote it (the JSON form or the XML) and is not checked against the
FatturaPA rules until it is sent: header and bodies are optional. Sending it runs
``service.create_invoice``, exactly as ``POST /invoices``: the draft becomes an invoice with the
same uuid (marking "waiting", then "sent", ...) and is no longer a draft.

Decisions where the page is silent:

- Creating or replacing a draft checks only that it could be an invoice one day: a JSON object
  whose keys the converter knows (unknown keys, wrong shapes: 400), or well-formed XML whose root
  is a FatturaPA ``FatturaElettronica`` (400 otherwise, as ``POST /invoices``).
- A draft is shown as the Invoice resource (the same keys as ``GET /invoices/{uuid}``): type 0,
  marking "draft", ``payload`` its JSON form, parties, number and format read from what the draft
  already has (null where it has nothing yet).
- ``GET /invoices/draft/{id}`` of an invoice that is no longer a draft is 404; PUT, DELETE and send
  are 409 "Invoice not in draft state". Sending a draft that does not pass ``POST /invoices``'s
  checks is 409 as well, its ``detail`` and ``violations`` those of the 400 ``POST /invoices``
  would give; the draft stays a draft.
- The collection is a plain JSON array, oldest first, 30 a page, with the invoice collection's
  ``page``, ``type``, ``marking`` (a draft only matches "draft"), ``sender``, ``recipient``,
  ``invoice_number`` and ``created_at[...]``.

Limitations: without the FatturaPA schemas (``--xsd-dir``) JSON drafts are stored unchecked, their
parties are not read and they cannot be sent (409); the XML of an XML draft has a null payload.
The other filters of the page are accepted and ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.errors import Conflict, NotFound
from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.acube import collection, records, service
from emulator.providers.acube.convert import ConversionError, json_to_xml, xml_to_json
from emulator.providers.acube.draft_models import JSON_FORMAT, XML_FORMAT, AcubeDraft
from emulator.providers.acube.models import AcubeInvoice
from emulator.providers.acube.service import InvalidInput
from emulator.sdi.fatturapa import NotAnInvoiceError, parse_invoice, parse_invoice_or_none
from emulator.state import Sandbox

DRAFT = "draft"
NOT_DRAFT = "Invoice not in draft state"


class NotDraft(Conflict):
    """409: the id names an invoice of the account that is no longer a draft."""

    def __init__(self) -> None:
        super().__init__(NOT_DRAFT)


class NotSendable(Conflict):
    """409: the draft does not pass the checks of ``POST /invoices`` (the 400's violations)."""

    def __init__(self, error: InvalidInput) -> None:
        super().__init__(error.message, violations=error.details.get("violations"))


@dataclass(frozen=True)
class DraftBody:
    """What the client sent: the parsed JSON form, or the XML bytes."""

    format: str  # json | xml
    json: object = None
    xml: bytes = b""


# -- write ----------------------------------------------------------------------------------------


def create_draft(sandbox: Sandbox, session: Session, account: Account, body: DraftBody) -> dict[str, str]:
    content = _checked(body, sandbox.config.xsd_dir)
    now = sandbox.clock.now()
    draft = AcubeDraft(
        uuid=sandbox.ids.guid(),
        account_id=account.id,
        format=body.format,
        content=content,
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    session.flush()
    return {"uuid": draft.uuid}


def update_draft(
    sandbox: Sandbox, session: Session, account: Account, reference: str, body: DraftBody
) -> None:
    draft = _editable(session, account, reference)
    draft.content = _checked(body, sandbox.config.xsd_dir)
    draft.format = body.format
    draft.updated_at = sandbox.clock.now()
    session.flush()


def delete_draft(session: Session, account: Account, reference: str) -> None:
    session.delete(_editable(session, account, reference))
    session.flush()


def send_draft(sandbox: Sandbox, session: Session, account: Account, reference: str) -> dict[str, str]:
    """The draft becomes an invoice with the same uuid, created as by ``POST /invoices``."""
    draft = _editable(session, account, reference)
    try:
        xml = _xml_of(draft, sandbox.config.xsd_dir, strict=True) or b""
        created = service.create_invoice(sandbox, session, account, xml)
    except InvalidInput as error:
        raise NotSendable(error) from None
    row = records.find(session, account, created["uuid"])
    assert row is not None
    uuid = draft.uuid
    session.delete(draft)
    session.flush()
    row.uuid = uuid
    session.flush()
    return {"uuid": uuid}


def _checked(body: DraftBody, xsd_dir: Path | None) -> bytes:
    """The content to store; InvalidInput (400) when it cannot be a FatturaPA."""
    if body.format == JSON_FORMAT:
        if not isinstance(body.json, dict):
            raise InvalidInput("", f"The draft must be a JSON object, not {_kind(body.json)}.")
        if xsd_dir is not None:
            service.xml_of_json(body.json, xsd_dir)
        return json.dumps(body.json, ensure_ascii=False).encode()
    if not body.xml.strip():
        raise InvalidInput("", "The request body is empty: a FatturaPA XML invoice is expected.")
    try:
        parse_invoice(parse_xml(body.xml))
    except NotAnInvoiceError as exc:
        raise InvalidInput("", f"Not a FatturaPA invoice: {exc}") from None
    except ValueError as exc:
        raise InvalidInput("", f"The XML cannot be read: {exc}") from None
    return body.xml


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a number"


# -- find -----------------------------------------------------------------------------------------


def _find(session: Session, account: Account, reference: str) -> AcubeDraft | None:
    query = select(AcubeDraft).where(AcubeDraft.account_id == account.id, AcubeDraft.uuid == reference)
    draft: AcubeDraft | None = session.execute(query).scalar_one_or_none()
    return draft


def get_draft(session: Session, account: Account, reference: str) -> AcubeDraft:
    draft = _find(session, account, reference)
    if draft is None:
        raise NotFound("Not Found")
    return draft


def _editable(session: Session, account: Account, reference: str) -> AcubeDraft:
    """The draft; 409 when the account's invoice of that id is no longer one, 404 when it has none."""
    draft = _find(session, account, reference)
    if draft is not None:
        return draft
    if records.find(session, account, reference) is not None:
        raise NotDraft()
    raise NotFound("Not Found")


# -- read -----------------------------------------------------------------------------------------


def _xml_of(draft: AcubeDraft, xsd_dir: Path | None, *, strict: bool = False) -> bytes | None:
    """The draft as FatturaPA XML; None (InvalidInput when ``strict``) when it cannot be converted."""
    if draft.format == XML_FORMAT:
        return draft.content
    if strict:
        return service.invoice_xml_of_json(json.loads(draft.content), xsd_dir)
    if xsd_dir is None:
        return None
    try:
        return json_to_xml(json.loads(draft.content), xsd_dir=xsd_dir)
    except (ConversionError, FileNotFoundError, ValueError):
        return None


def _payload(draft: AcubeDraft, xsd_dir: Path | None) -> Any:
    if draft.format == JSON_FORMAT:
        return json.loads(draft.content)
    if xsd_dir is None:
        return None
    try:
        return xml_to_json(draft.content, xsd_dir=xsd_dir)
    except (ConversionError, FileNotFoundError):
        return None


def _as_invoice(draft: AcubeDraft, xsd_dir: Path | None) -> AcubeInvoice:
    """A transient (never stored) invoice row with what the draft has: parties, number, format."""
    xml = _xml_of(draft, xsd_dir)
    row = AcubeInvoice(
        uuid=draft.uuid,
        account_id=draft.account_id,
        type=records.SENT,
        file_name="",
        xml=xml or b"",
        created_at=draft.created_at,
        downloaded=False,
        to_pa=False,
    )
    parsed = parse_invoice_or_none(xml)
    if parsed is not None:
        records.describe(row, parsed)
    return row


def draft_view(draft: AcubeDraft, xsd_dir: Path | None = None) -> dict[str, Any]:
    """The Invoice resource of a draft: type 0, marking "draft", no SDI file, no notifications."""
    return _view(draft, _as_invoice(draft, xsd_dir), xsd_dir)


def _view(draft: AcubeDraft, row: AcubeInvoice, xsd_dir: Path | None) -> dict[str, Any]:
    view = service.invoice_view(row, None)
    view["payload"] = service.payload_text(_payload(draft, xsd_dir))
    view["marking"] = DRAFT
    view["notice"] = None
    return view


def list_drafts(
    session: Session, account: Account, args: Any, xsd_dir: Path | None = None
) -> list[dict[str, Any]]:
    """The collection's filters, order and paging on each draft as an invoice (marking "draft")."""
    chosen = collection.parse_filter(args)
    query = select(AcubeDraft).where(AcubeDraft.account_id == account.id).order_by(AcubeDraft.id)
    rows = [(draft, _as_invoice(draft, xsd_dir)) for draft in session.execute(query).scalars()]
    page = chosen.page_of(rows, lambda pair: pair[1], lambda _row: DRAFT)
    return [_view(draft, row, xsd_dir) for draft, row in page]
