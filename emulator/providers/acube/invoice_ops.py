"""A-Cube's invoice operations that file nothing: convert, validate; and the downloaded flag.

- ``POST /invoices/convert``: the JSON form of an XML invoice, or the XML of a JSON one (``convert``);
  what cannot be converted is 400 "Invalid input". Nothing is stored.
- ``POST /invoices/validate``: the checks of ``POST /invoices`` (``service.check_invoice``), then the
  sandbox SDI's own checks (``SdiValidator``: schema, header, bodies and content rules), so that the
  client learns before sending what the SDI would reject with an NS. Valid: 202 with no body;
  otherwise 400 with one violation per SDI error (``code`` the SDI's error code, ``message``
  "<code>: <description>"). Nothing is stored or sent.
- ``POST /invoices/downloaded`` ``{"uuids": [...], "downloaded": bool}``: sets or clears the flag
  on the account's invoices, all or nothing.

Decisions where the page is silent:

- validate checks the invoice as the SDI would receive it now (the virtual clock: a future date is
  00403) under a file name A-Cube would give it, so the file name checks (00001, 00002) never fail.
- downloaded: ``uuids`` absent or empty changes nothing and is 200 (contract; null is a 400, as any
  non-array). A uuid that is not one of the account's invoices (sent or received; drafts are not
  invoices here) is 404 "Not Found" and nothing changes. The same uuid twice is the same invoice.
  ``downloaded: true`` on an invoice already downloaded keeps its ``downloaded_at`` (the first
  download); ``false`` clears both.

Limitations: validate does not look for duplicates (00404, an invoice with the same number, date and
supplier already sent), which depend on what the SDI has when the invoice reaches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, NotFound
from emulator.core.tenancy import Account
from emulator.providers.acube import records, service
from emulator.providers.acube.convert import ConversionError, xml_to_json
from emulator.providers.acube.models import AcubeInvoice
from emulator.sdi.validation import SdiError, SdiValidator
from emulator.state import Sandbox

# validate: the file name the SDI is shown (A-Cube's prefix; a valid, unused-looking name).
VALIDATION_FILE_NAME = f"{service.FILE_PREFIX}00000.xml"
# downloaded: uuids are looked up this many at a time (SQLite limits the parameters of one query).
LOOKUP_CHUNK = 500


class InvalidInvoice(BadRequest):
    """400 with one API Platform violation per SDI error the invoice would get."""

    def __init__(self, errors: list[SdiError]) -> None:
        messages = [f"{e.code}: {e.description}" for e in errors]
        super().__init__("\n".join(messages))
        self.details["violations"] = [
            {"propertyPath": "", "message": message, "code": e.code}
            for e, message in zip(errors, messages, strict=True)
        ]


# -- convert --------------------------------------------------------------------------------------


def json_of_xml(xml: bytes, xsd_dir: Path | None) -> dict[str, Any]:
    """The JSON form of a FatturaPA XML; 400 "Invalid input" when it cannot be converted."""
    if not xml.strip():
        raise service.InvalidInput("", "The request body is empty: a FatturaPA XML invoice is expected.")
    try:
        return xml_to_json(xml, xsd_dir=xsd_dir)
    except (ConversionError, FileNotFoundError) as exc:
        raise service.InvalidInput("", f"The invoice cannot be converted to JSON: {exc}") from None


# -- validate -------------------------------------------------------------------------------------


def validate_invoice(sandbox: Sandbox, account: Account, xml: bytes) -> None:
    """Nothing when the invoice would be accepted; ``InvalidInput`` / ``InvalidInvoice`` otherwise."""
    service.check_invoice(account, xml)
    errors = sdi_errors(sandbox.engine.validator, xml, sandbox.clock.now())
    if errors:
        raise InvalidInvoice(errors)


def sdi_errors(validator: SdiValidator, xml: bytes, at: datetime) -> list[SdiError]:
    """What the SDI would reject the invoice for if it received it at ``at`` (empty: nothing)."""
    return validator.validate(
        VALIDATION_FILE_NAME,
        xml,
        received_at=at,
        is_duplicate_file_name=lambda _name: False,
        is_duplicate_invoice=lambda _parsed, _body: False,
    )


# -- downloaded -----------------------------------------------------------------------------------


def set_downloaded(sandbox: Sandbox, session: Session, account: Account, payload: object) -> None:
    """``POST /invoices/downloaded``: set or clear the flag of every invoice named, or of none."""
    uuids, downloaded = _downloaded_request(payload)
    rows = {row.uuid: row for row in _rows(session, account, sorted(set(uuids)))}
    missing = [uuid for uuid in uuids if uuid not in rows]
    if missing:
        raise NotFound("Not Found")
    now = sandbox.clock.now()
    for row in rows.values():
        if not downloaded:
            row.downloaded, row.downloaded_at = False, None
        elif not row.downloaded:
            row.downloaded, row.downloaded_at = True, now
    session.flush()


def _downloaded_request(payload: object) -> tuple[list[str], bool]:
    if not isinstance(payload, dict):
        raise service.InvalidInput("", "The request body must be a JSON object.")
    if "downloaded" not in payload or payload["downloaded"] is None:
        raise service.InvalidInput("downloaded", "This value should not be null.")
    downloaded = payload["downloaded"]
    if not isinstance(downloaded, bool):
        raise service.InvalidInput("downloaded", "This value should be of type bool.")
    if "uuids" not in payload:
        return [], downloaded
    uuids = payload["uuids"]
    if not isinstance(uuids, list) or not all(isinstance(uuid, str) for uuid in uuids):
        raise service.InvalidInput("uuids", "This value should be of type array of strings.")
    return uuids, downloaded


def _rows(session: Session, account: Account, uuids: list[str]) -> Iterator[AcubeInvoice]:
    for start in range(0, len(uuids), LOOKUP_CHUNK):
        chunk = uuids[start : start + LOOKUP_CHUNK]
        query = records.owned_by(account).where(AcubeInvoice.uuid.in_(chunk))
        yield from session.execute(query).scalars()

