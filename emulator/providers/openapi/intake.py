"""Openapi.it ``POST /IT-invoices_import`` and ``POST /IT-invoices_validate`` (services, no Flask).

Import files an invoice that went through another system as an ``OpenapiInvoice`` with
``imported=True``; nothing is sent to the SDI and no webhook fires. Validate checks a FatturaPA
document against the official schemas and stores nothing.

Import, as decided:
- The body is ``InvoiceImportRequest`` JSON: ``invoice`` is the XML itself or the XML in Base64
  (whitespace inside the Base64 is ignored); ``details`` optionally carries ``sdi_id``,
  ``sdi_filename``, ``sdi_status`` (the document's enum of definitive statuses), ``sdi_message``,
  ``sdi_update_date`` (date-time) and ``invoice_date`` (date). A body sent as ``application/xml`` /
  ``text/xml`` is taken as the raw invoice with no details.
- Direction: the account's configuration of the supplier's fiscal id (IdFiscaleIVA code or
  CodiceFiscale) makes it ``outgoing``; else of the customer's, ``incoming``. When both parties are
  the account's configured companies the invoice is ``outgoing``. When neither is: a fiscal id of
  the account's own that has no configuration, or ids nobody holds, answer 404 (error 111 "Fiscal ID
  not found or not registered"); a party that is another tenant's company answers 403 "Unauthorized
  access". ``customer_invoice`` / ``supplier_invoice`` do not gate imports (the document asks for
  them on sending only).
- State: an ``incoming`` invoice is ``RECEIVED`` / ``sdi_status`` ``RECEIVED`` (a ``sdi_status``
  given for it is ignored: it names outbound outcomes). An ``outgoing`` one is ``DONE``, or
  ``ERROR`` when ``details.sdi_status`` is ``REJECTED``; its ``sdi_status`` is the one given, or
  none when none is given (the sandbox does not invent the outcome of another system's sending).
- Duplicates answer 400 (the document lists 200/400/403/404 only, so no 409): an ``sdi_id`` already
  known anywhere in the system (the document: "unique within the system"), or an invoice of the same
  company, document number, issue date and direction in the account (imported or sent here).
- Invalid input answers 400 ``"Invalid input data: <why>"``: not JSON, no ``invoice`` string,
  ``details`` of the wrong shape, neither XML nor Base64 XML, XML not well-formed, not a
  FatturaPA document, no number / date / party ids.

Validate, as decided:
- 200 ``{"data": {"valid": true, "message": "XML structure is valid."}, ...}``.
- 422 ``message`` "XML Validation Failed: " followed by every schema error as ``line N: ...``
  joined by "; ", ``data`` null (as the document's example), and the same list in ``errors``:
  ``[{"line": N, "message": ...}]`` (an extra member, ignored by clients that do not know it).
  Not well-formed XML, a root that is not FatturaElettronica(Semplificata) and oversize documents
  are 422 as well: they are what the validation found.
- 400 "Request body is empty" for an empty (or whitespace) body.
- The ordinary schema (FatturaPA 1.2.3) or the simplified one (FSM 1.0.2) by the root's
  namespace; without a schema directory the sandbox's structural check stands in (one error).

The answer's ``data`` is the invoice as ``GET /IT-invoices/{id}`` shows it (``invoices.invoice_view``).

Limitations:
- A signed (.p7m) invoice is not unpacked for import; only the first body of a batch is read for
  the business keys.
- Import does not check the invoice against the schema (it already went through the SDI).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.errors import SandboxError
from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.openapi import configurations, invoices, states
from emulator.providers.openapi.auth import new_id
from emulator.providers.openapi.errors import OpenapiError
from emulator.providers.openapi.models import OpenapiConfiguration, OpenapiInvoice
from emulator.sdi import validation
from emulator.sdi.fatturapa import (
    FSM_NS,
    NotAnInvoiceError,
    ParsedInvoice,
    Party,
    parse_invoice,
    root_name,
)

if TYPE_CHECKING:
    from emulator.state import Sandbox

INVALID = "Invalid input data"
EMPTY = "Request body is empty"
VALIDATION_FAILED = "XML Validation Failed"
VALID_MESSAGE = "XML structure is valid."
OUTGOING, INCOMING = "outgoing", "incoming"
IMPORT_STATUSES = (
    states.DELIVERED,
    states.ACCEPTED,
    states.REJECTED,
    states.TERMS_EXPIRED,
    states.NOT_DELIVERED,
)
_DETAIL_STRINGS = ("sdi_id", "sdi_filename", "sdi_message")
MAX_ERRORS = 50


class InvalidInput(OpenapiError):
    """400 ``Invalid input data: <why>``."""

    def __init__(self, why: str) -> None:
        super().__init__(f"{INVALID}: {why}", status=400)


# -- import --------------------------------------------------------------------------------------


def import_invoice(
    sandbox: Sandbox, session: Session, account: Account, body: bytes, content_type: str
) -> dict[str, Any]:
    """File an invoice sent or received elsewhere; the JSON answer (the invoice in ``data``)."""
    xml, details = _import_request(body, content_type)
    parsed = _parse(xml)
    first = parsed.first_body
    if first is None or not first.number or first.parsed_date is None:
        raise InvalidInput("the invoice has no document number or date (DatiGeneraliDocumento)")
    config, direction = _detect(session, account, parsed)
    state, sdi_status = _state(direction, details.get("sdi_status"))
    now = sandbox.clock.now()
    extra = {
        key: details[key] for key in ("sdi_message", "sdi_update_date", "invoice_date") if key in details
    }
    extra.setdefault("invoice_date", first.parsed_date.isoformat())
    row = OpenapiInvoice(
        public_id=new_id(sandbox.ids),
        account_id=account.id,
        fiscal_id=config.fiscal_id,
        direction=direction,
        state=state,
        sdi_status=sdi_status,
        imported=True,
        invoice_id=None,
        sdi_id=details.get("sdi_id"),
        file_name=details.get("sdi_filename"),
        xml=xml,
        details=extra,
        created_at=now,
        updated_at=now,
    )
    invoices.describe(row, parsed)  # type, number, date, counterparty: as for invoices sent here
    _check_duplicates(session, row)
    session.add(row)
    session.flush()
    return {"data": invoices.invoice_view(row), "success": True, "message": "", "error": None}


def _import_request(body: bytes, content_type: str) -> tuple[bytes, dict[str, Any]]:
    mimetype = (content_type or "").split(";")[0].strip().lower()
    if not body.strip():
        raise InvalidInput("the request body is empty")
    if mimetype in {"application/xml", "text/xml"}:
        return body, {}
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput("the body is not valid JSON (InvoiceImportRequest expected)") from None
    if not isinstance(payload, dict):
        raise InvalidInput("the body must be a JSON object with an 'invoice' string")
    invoice = payload.get("invoice")
    if not isinstance(invoice, str) or not invoice.strip():
        raise InvalidInput("'invoice' is required: the XML, raw or Base64-encoded, as a string")
    return _decode_invoice(invoice), _details(payload.get("details"))


def _decode_invoice(value: str) -> bytes:
    text = value.strip().lstrip("\ufeff")
    if text.startswith("<"):
        return value.encode("utf-8")  # stored as given
    try:
        decoded = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("'invoice' is neither XML nor Base64-encoded XML") from None
    if not decoded.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise InvalidInput("'invoice' is Base64 but does not encode an XML document")
    return decoded


def _details(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("'details' must be an object")
    details: dict[str, Any] = {}
    for key in _DETAIL_STRINGS:
        item = value.get(key)
        if item is None:
            continue
        if key == "sdi_id" and isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise InvalidInput(f"'details.{key}' must be a non-empty string")
        details[key] = item.strip()
    if len(details.get("sdi_id", "")) > 20:
        raise InvalidInput("'details.sdi_id' is longer than 20 characters")
    if len(details.get("sdi_filename", "")) > 160:
        raise InvalidInput("'details.sdi_filename' is longer than 160 characters")
    status = value.get("sdi_status")
    if status is not None:
        if status not in IMPORT_STATUSES:
            raise InvalidInput(f"'details.sdi_status' must be one of {', '.join(IMPORT_STATUSES)}")
        details["sdi_status"] = status
    update = value.get("sdi_update_date")
    if update is not None:
        details["sdi_update_date"] = _date_time(update)
    invoice_date = value.get("invoice_date")
    if invoice_date is not None:
        try:
            if not isinstance(invoice_date, str) or len(invoice_date) != 10:
                raise ValueError(invoice_date)
            details["invoice_date"] = dt.date.fromisoformat(invoice_date).isoformat()
        except ValueError:
            raise InvalidInput("'details.invoice_date' must be a date (YYYY-MM-DD)") from None
    return details


def _date_time(value: object) -> str:
    if isinstance(value, str) and len(value) >= 19:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed.isoformat() if parsed.tzinfo else parsed.isoformat() + "Z"
    raise InvalidInput("'details.sdi_update_date' must be a date-time (e.g. 2026-03-02T10:00:00Z)")


def _parse(xml: bytes) -> ParsedInvoice:
    try:
        root = parse_xml(xml)
    except ValueError as error:
        raise InvalidInput(f"the invoice is not a valid XML document ({error})") from None
    try:
        return parse_invoice(root)
    except NotAnInvoiceError as error:
        raise InvalidInput(f"the document is not a FatturaPA invoice: {error}") from None


def _ids(party: Party) -> list[str]:
    found = [value.strip().upper() for value in (party.vat, party.fiscal_code) if value and value.strip()]
    return list(dict.fromkeys(found))


def _detect(session: Session, account: Account, parsed: ParsedInvoice) -> tuple[OpenapiConfiguration, str]:
    """The account's configuration the invoice belongs to, and the direction it has for it."""
    candidates = [(fid, OUTGOING) for fid in _ids(parsed.supplier)]
    candidates += [(fid, INCOMING) for fid in _ids(parsed.customer)]
    if not candidates:
        raise InvalidInput("the invoice names no fiscal id for its supplier or customer")
    failures: list[SandboxError] = []
    for fiscal_id, direction in candidates:
        try:
            return configurations.configuration_of(session, account, fiscal_id), direction
        except SandboxError as error:
            failures.append(error)
    if any(fid in account.fiscal_ids for fid, _ in candidates):
        raise configurations.FiscalIdNotFound()
    if any(error.status == 403 for error in failures):
        raise configurations.FiscalIdForbidden()
    raise configurations.FiscalIdNotFound()


def _check_duplicates(session: Session, row: OpenapiInvoice) -> None:
    """400 when the SDI id is known, or the account has the same company/number/date/direction."""
    if row.sdi_id is not None:
        clash = session.execute(select(OpenapiInvoice.id).where(OpenapiInvoice.sdi_id == row.sdi_id)).first()
        if clash is not None:
            raise InvalidInput(f"an invoice with SDI ID {row.sdi_id} already exists")
    query = select(OpenapiInvoice.id).where(
        OpenapiInvoice.account_id == row.account_id,
        OpenapiInvoice.fiscal_id == row.fiscal_id,
        OpenapiInvoice.direction == row.direction,
        OpenapiInvoice.document_number == row.document_number,
        OpenapiInvoice.issue_date == row.issue_date,
    )
    if session.execute(query).first() is not None:
        raise InvalidInput(
            f"duplicate invoice: {row.direction} invoice {row.document_number} of {row.issue_date} "
            f"already exists for {row.fiscal_id}"
        )


def _state(direction: str, sdi_status: str | None) -> tuple[str, str | None]:
    if direction == INCOMING:
        return states.INCOMING
    if sdi_status == states.REJECTED:
        return states.ERROR, sdi_status
    return states.DONE, sdi_status


# -- validate ------------------------------------------------------------------------------------


def validate_invoice(
    sandbox: Sandbox, session: Session, account: Account, body: bytes, content_type: str
) -> tuple[int, dict[str, Any]]:
    """Check the document against the official schema: (200, valid) or (422, errors); stores nothing."""
    if not body.strip():
        raise OpenapiError(EMPTY, status=400)
    errors = schema_errors(body, sandbox.config.xsd_dir)
    if not errors:
        data = {"valid": True, "message": VALID_MESSAGE}
        return 200, {"data": data, "success": True, "message": "", "error": None}
    shown = "; ".join(f"line {e['line']}: {e['message']}" if e["line"] else e["message"] for e in errors)
    message = f"{VALIDATION_FAILED}: {shown}"
    return 422, {"data": None, "success": False, "message": message, "error": 422, "errors": errors}


def schema_errors(xml: bytes, xsd_dir: Path | None) -> list[dict[str, Any]]:
    """Every complaint about the document (``line`` 0 when unknown); empty when it is valid."""
    try:
        root = parse_xml(xml)
        root_name(root)
        parse_invoice(root)
    except (ValueError, NotAnInvoiceError) as error:
        return [{"line": _line_of(error), "message": str(error)}]
    if xsd_dir is None:
        problem = validation.structural_error(root)
        return [] if problem is None else [{"line": 0, "message": problem}]
    namespace, _ = root_name(root)
    schema = (
        validation.load_fsm_schema(xsd_dir)
        if namespace == FSM_NS
        else validation.load_fatturapa_schema(xsd_dir)
    )
    if schema is None:
        problem = validation.structural_error(root)
        return [] if problem is None else [{"line": 0, "message": problem}]
    with validation._SCHEMA_LOCK:  # the error log lives on the shared, cached schema object
        if schema.validate(root):
            return []
        entries = list(cast(list[Any], schema.error_log))
    return [
        {"line": int(entry.line or 0), "message": " ".join(str(entry.message).split())}
        for entry in entries[:MAX_ERRORS]
    ]


def _line_of(error: BaseException) -> int:
    cause = error.__context__
    if isinstance(cause, etree.XMLSyntaxError) and cause.lineno:
        return int(cause.lineno)
    return 0
