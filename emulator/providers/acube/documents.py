"""A-Cube's single invoice as a document: printed (HTML, PDF), its attachments, archiving a rejected one.

Decisions where the page is silent (contract: "Inferred"):

- ``X-PrintTheme`` (``standard`` by default, ``assosoftware``, ``acube``; case and surrounding blanks
  ignored) is read only when HTML or PDF is asked for; any other value is 400. Each theme has its
  own look (``emulator.sdi.rendering``'s themes of the same names, "standard" for standard). The
  notes ``dynamic[head-notes]`` / ``dynamic[foot-notes]`` are printed, escaped, at the very
  beginning and in the footer with the ``acube`` theme only.
- Attachments are the ``Allegati`` of every ``FatturaElettronicaBody``, in document order, from 0.
  The content is the decoded ``Attachment`` (still compressed when ``AlgoritmoCompressione`` says
  so), typed by ``FormatoAttachment`` (or the name's extension) when known, octet-stream otherwise.
  An index that is not a non-negative integer, is too large, or whose content is not base64 is 404.
- ``PUT /invoices/{id}/archive-rejected`` archives an invoice whose marking is "rejected" or
  "invoice-error" once: again, or any other marking, is 409 "Invoice not in rejected state".
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, Conflict, NotFound, SandboxError
from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.acube import records
from emulator.providers.acube.models import AcubeInvoice
from emulator.sdi.fatturapa import child, children, text
from emulator.sdi.rendering import render_html, render_pdf

HTML, PDF = "text/html", "application/pdf"
PRINT_THEMES = {"standard": "standard", "assosoftware": "assosoftware", "acube": "acube"}
NOTES_THEME = "acube"
REJECTED_MARKINGS = ("rejected", "invoice-error")
# FormatoAttachment (free text in the schema, usually an extension) -> media type.
ATTACHMENT_TYPES = {
    "PDF": "application/pdf",
    "XML": "application/xml",
    "TXT": "text/plain",
    "CSV": "text/csv",
    "JPG": "image/jpeg",
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "TIF": "image/tiff",
    "TIFF": "image/tiff",
    "ZIP": "application/zip",
    "RAR": "application/vnd.rar",
    "P7M": "application/pkcs7-mime",
    "DOC": "application/msword",
    "DOCX": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "XLS": "application/vnd.ms-excel",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ODT": "application/vnd.oasis.opendocument.text",
    "ODS": "application/vnd.oasis.opendocument.spreadsheet",
}
OCTET_STREAM = "application/octet-stream"
_INDEX = re.compile(r"[0-9]{1,9}")


class InvalidPrintTheme(BadRequest):
    def __init__(self, theme: str) -> None:
        names = ", ".join(f'"{name}"' for name in PRINT_THEMES)
        super().__init__(f'The print theme "{theme}" is not supported. Supported themes are {names}.')


class NotRejected(Conflict):
    def __init__(self) -> None:
        super().__init__("Invoice not in rejected state")


class CannotRender(SandboxError):
    """The stored file cannot be read as a FatturaPA (it never should: it was checked when it came in)."""

    status = 406
    code = "not_acceptable"


@dataclass(frozen=True)
class Printed:
    content: bytes
    mimetype: str
    file_name: str


@dataclass(frozen=True)
class Attachment:
    content: bytes
    mimetype: str
    file_name: str


def print_theme(value: str | None) -> str:
    """The rendering theme for the ``X-PrintTheme`` header; 400 for a theme A-Cube does not have."""
    if value is None or not value.strip():
        return PRINT_THEMES["standard"]
    theme = PRINT_THEMES.get(value.strip().lower())
    if theme is None:
        raise InvalidPrintTheme(value.strip()[:100])
    return theme


def printed(
    row: AcubeInvoice, mimetype: str, theme_header: str | None, head_notes: str | None, foot_notes: str | None
) -> Printed:
    """The invoice as HTML or PDF in the chosen theme; the notes only with the A-Cube theme."""
    theme = print_theme(theme_header)
    if theme != NOTES_THEME:
        head_notes = foot_notes = None
    stem = row.file_name.split(".", 1)[0]
    try:
        if mimetype == PDF:
            content = render_pdf(row.xml, theme=theme, head_notes=head_notes, foot_notes=foot_notes)
            return Printed(content, PDF, f"{stem}.pdf")
        page = render_html(row.xml, theme=theme, head_notes=head_notes, foot_notes=foot_notes)
    except ValueError:
        raise CannotRender(f'The invoice cannot be rendered as "{mimetype}".') from None
    return Printed(page.encode("utf-8"), HTML, f"{stem}.html")


def raw_file(row: AcubeInvoice) -> bytes:
    """The file as sent to or received from the SDI (P7M or XML); the stored XML before it is sent."""
    return row.invoice.content if row.invoice is not None else row.xml


def attachment(session: Session, account: Account, reference: str, index: str) -> Attachment:
    """The ``index``-th ``Allegati`` of the invoice, counted over its bodies."""
    row = records.find(session, account, reference)
    if row is None or not _INDEX.fullmatch(index):
        raise NotFound("Not Found")
    try:
        root = parse_xml(row.xml)
    except ValueError:
        raise NotFound("Not Found") from None
    found = [a for body in children(root, "FatturaElettronicaBody") for a in children(body, "Allegati")]
    position = int(index)
    if position >= len(found):
        raise NotFound("Not Found")
    element = found[position]
    encoded = child(element, "Attachment")
    data = "".join((encoded.text or "").split()) if encoded is not None else ""
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise NotFound("Not Found") from None
    name = text(element, "NomeAttachment") or f"attachment-{position}"
    return Attachment(content, _media_type(text(element, "FormatoAttachment"), name), name)


def _media_type(declared: str | None, name: str) -> str:
    if declared:
        known = ATTACHMENT_TYPES.get(declared.strip().lstrip(".").upper())
        if known is not None:
            return known
        if "/" in declared and re.fullmatch(r"[\w.+-]+/[\w.+-]+", declared.strip()):
            return declared.strip().lower()
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or OCTET_STREAM


def content_disposition(kind: str, file_name: str) -> str:
    """``<kind>; filename="<name>"`` (quoted, as the contract shows); ``filename*`` for non-ASCII names."""
    plain = "".join(c if c.isascii() and c.isprintable() else "_" for c in file_name)
    escaped = plain.replace("\\", "\\\\").replace('"', '\\"')
    value = f'{kind}; filename="{escaped}"'
    if plain != file_name:
        value += f"; filename*=UTF-8''{quote(file_name, safe='')}"
    return value


def archive_rejected(session: Session, account: Account, reference: str, now: datetime) -> None:
    """Archive a rejected invoice (it leaves the rejected-to-fix list); 409 unless rejected, not archived."""
    row = records.find(session, account, reference)
    if row is None:
        raise NotFound("Not Found")
    if row.archived_at is not None or records.marking_of(row) not in REJECTED_MARKINGS:
        raise NotRejected()
    row.archived_at = now
    session.flush()
