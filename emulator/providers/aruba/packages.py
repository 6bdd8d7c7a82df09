"""Zips of one invoice: getZipByFilename (§8.4, §9.3) and the preservation package, pdd (§8.6, §9.6).

- getZipByFilename: ``<filename>.zip`` with the invoice file as stored and every SDI file the
  account has for it, under their SDI names (on a received invoice the metadata file MT too).
- pdd: ``<stem>.conservazione.zip`` (``IT01879020517_jtlk1.conservazione.zip`` for
  ``IT01879020517_jtlk1.xml.p7m``, as the document's example): the same files plus an index,
  ``IdC_<stem>.xml``, laid out after the UNI 11386 (SInCRO) "indice di conservazione": for each
  file its name, format and SHA-256 (base64), the preservation manager (Aruba PEC S.p.A.) and the
  preservation instant. Available (``pddAvailable``) once the SDI has the file; 404 otherwise.

Each zip entry carries the instant its file was stored (Europe/Rome), so the same package is
byte-for-byte the same whenever it is downloaded.

Decisions: pdd takes ``invoiceFilename`` or ``invoiceId``; given both, they must name the same
invoice (404 otherwise); given neither, 400.

Limitations: the index is not signed by a preservation manager and is not validated against the
SInCRO schema; the preservation instant is when the invoice's latest file was stored (a real
archive preserves in daily batches).
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy.orm import Session

from emulator.core.clock import ROME
from emulator.core.errors import BadRequest, NotFound
from emulator.core.tenancy import Account
from emulator.providers.aruba.finding import find_invoice
from emulator.providers.aruba.models import ArubaInvoice
from emulator.providers.aruba.records import last_update, notifications_of
from emulator.providers.aruba.views import pdd_available

SINCRO_NS = "http://www.uni.com/U3011/sincro/"
ARUBA_NAME = "Aruba PEC S.p.A."
ARUBA_VAT = "01879020517"
INVOICE_SUFFIXES = (".xml.p7m", ".xml", ".p7m")
MISSING_REFERENCE = "One of the request parameters 'invoiceFilename' and 'invoiceId' is mandatory"


@dataclass(frozen=True)
class Download:
    filename: str
    content: bytes


@dataclass(frozen=True)
class _Entry:
    name: str
    content: bytes
    stored_at: datetime


def get_zip_by_filename(session: Session, account: Account, direction: str, filename: str) -> Download:
    """getZipByFilename (§8.4, §9.3)."""
    row = find_invoice(session, account, direction, filename=filename)
    return Download(f"{row.filename}.zip", _zip(_entries(row)))


def pdd(
    session: Session,
    account: Account,
    direction: str,
    *,
    invoice_filename: str | None,
    invoice_id: int | None,
) -> Download:
    """pdd (§8.6, §9.6): the preservation package, 404 while ``pddAvailable`` is false."""
    if invoice_filename is None and invoice_id is None:
        raise BadRequest(MISSING_REFERENCE)
    row = find_invoice(session, account, direction, filename=invoice_filename, invoice_id=invoice_id)
    if not pdd_available(row):
        raise NotFound(f"The preservation package of the invoice {row.filename} is not available")
    stem = invoice_stem(row.filename)
    entries = _entries(row)
    preserved_at = last_update(row)
    index = _Entry(f"IdC_{stem}.xml", preservation_index(row, entries, preserved_at), preserved_at)
    return Download(f"{stem}.conservazione.zip", _zip([*entries, index]))


def invoice_stem(filename: str) -> str:
    lowered = filename.lower()
    for suffix in INVOICE_SUFFIXES:
        if lowered.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return filename


def _entries(row: ArubaInvoice) -> list[_Entry]:
    entries = [_Entry(row.filename, row.content, row.created_at)]
    names = {row.filename}
    for notification in notifications_of(row):
        if notification.file_name not in names:
            names.add(notification.file_name)
            entries.append(_Entry(notification.file_name, notification.content, notification.emitted_at))
    return entries


def _zip(entries: list[_Entry]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            local = entry.stored_at.astimezone(ROME)
            info = zipfile.ZipInfo(entry.name, date_time=_zip_time(local))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.content)
    return buffer.getvalue()


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    if moment.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


# -- the preservation index ----------------------------------------------------------------------


def _s(name: str) -> str:
    return f"{{{SINCRO_NS}}}{name}"


def _add(parent: etree._Element, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, _s(name), {_s(k): v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def _format(name: str) -> tuple[str, str]:
    """(extension, MIME type) of a file in the package."""
    if name.lower().endswith(".p7m"):
        return "p7m", "application/pkcs7-mime"
    if name.lower().endswith(".zip"):
        return "zip", "application/zip"
    return "xml", "text/xml"


def preservation_index(row: ArubaInvoice, entries: list[_Entry], preserved_at: datetime) -> bytes:
    """The package's index: every file with its SHA-256, who preserved them and when."""
    root = etree.Element(_s("IdC"), {_s("url"): SINCRO_NS, _s("version"): "1.0"}, nsmap={"sincro": SINCRO_NS})
    description = _add(root, "SelfDescription")
    _add(description, "ID", f"PDD-{row.direction.upper()}-{row.id}", scheme="local")
    application = _add(description, "CreatingApplication")
    _add(application, "Name", "Aruba Fatturazione Elettronica - Conservazione (fattura-sandbox)")
    _add(application, "Version", "1.7.0")
    _add(application, "Producer", ARUBA_NAME)
    volume = _add(root, "VdC")
    _add(volume, "ID", f"FE-{row.direction.upper()}-{preserved_at.astimezone(ROME).year}", scheme="local")
    group = _add(root, "FileGroup")
    _add(group, "Label", row.filename)
    for entry in entries:
        extension, mime = _format(entry.name)
        item = _add(group, "File", encoding="binary", extension=extension, format=mime)
        _add(item, "ID", entry.name, scheme="local")
        _add(item, "Path", entry.name)
        digest = base64.b64encode(hashlib.sha256(entry.content).digest()).decode("ascii")
        _add(item, "Hash", digest, function="SHA-256")
    process = _add(root, "Process")
    agent = _add(process, "Agent", type="organization", role="PreservationManager")
    _add(_add(agent, "AgentName"), "FormalName", ARUBA_NAME)
    _add(agent, "Agent_ID", f"IT{ARUBA_VAT}", scheme="VATRegistrationNumber")
    local = preserved_at.astimezone(ROME)
    reference = _add(process, "TimeReference")
    _add(
        reference,
        "AttachedTimeStamp",
        local.isoformat(timespec="seconds"),
        normal=local.replace(tzinfo=None).isoformat(timespec="seconds"),
    )
    _add(process, "LawAndRegulations", "DPCM 3 dicembre 2013; DMEF 17 giugno 2014")
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)
