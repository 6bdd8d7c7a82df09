"""The files of a financial communication request (§6): decoding, signature, zip, what they contain.

Every problem with what a client sends is an ``AcceptanceError`` carrying its §6.6 code; the service
answers it in ``errorCode``/``errorDescription`` (HTTP 200), as the document shows. A file larger
than the SLA's 5 MB (§3) is the one exception: 413.

What is checked, in order (the first problem is the answer):

- ``dataFile`` present and not empty (AR01), Base64 (AR03), at most 5 MB once decoded (413);
- the CAdES signature: a p7m whose signature does not verify is AR08; an XML file that is not
  signed is AR21 ("File not signed"); anything else is AR03. For a list, either the zip itself is
  signed (a p7m of the zip) or every file in it is;
- the zip of a list: a readable archive (AR03) with at least one file (AR01), at most
  ``MAX_ZIP_FILES`` (100) files of at most 5 MB each and ``MAX_ZIP_BYTES`` (20 MB) together (AR03:
  an archive that expands beyond that is refused while it is read, whatever its headers claim),
  each named ``*.xml`` or ``*.xml.p7m`` (at most 255 characters) and each name once (AR03);
- each communication: well-formed XML without DTD (AR03), the root element of one of the two
  communications of §6.5 (AR03), the one declared in ``comunicationType`` (AR20 otherwise), the
  elements the Revenue Agency's schema requires to identify it (AR03, worded like a schema error),
  and its taxpayer must be one of the account's own fiscal ids (AR09: the sandbox accounts have no
  delegations to transmit for third parties).

Communications recognised (the Revenue Agency's formats):

- LI, regular VAT payments (LIPE): ``{urn:www.agenziaentrate.gov.it:specificheTecniche:sco:ivp}Fornitura``
  with ``Intestazione/CodiceFornitura`` (IVPnn) and ``Comunicazione/Frontespizio`` (CodiceFiscale,
  AnnoImposta, PartitaIVA) and ``DatiContabili/Modulo``; the taxpayer is the Frontespizio's
  CodiceFiscale and PartitaIVA.
- DF, invoice data: ``{http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v2.0}DatiFattura``
  (or v2.1) with one of DTE (invoices issued: the taxpayer is CedentePrestatoreDTE), DTR (invoices
  received: the taxpayer is CessionarioCommittenteDTR) or ANN (cancellation of a file sent before,
  by IdFile: no taxpayer to check).

Sandbox triggers: an XML comment containing ``SANDBOX:<CODE>`` in a communication decides what
happens to it, so that every code can be reached on purpose:

- ``SANDBOX:AR05``, ``SANDBOX:AR10``, ``SANDBOX:AR99``: the request is refused with that code
  (remote signature missing, maximum number of communications reached, generic error);
- ``SANDBOX:AR06`` (never transmitted to the SDI), ``SANDBOX:AR07`` (no outcome from the SDI): the
  request is accepted and ends in error later;
- ``SANDBOX:ES01``, ``SANDBOX:ES02[:<code>]``, ``SANDBOX:ES03[:<code>]``: the SDI's outcome, with
  the error code reported in its receipt (default 00305 for ES02, 00200 for ES03).

Without a trigger the outcome mirrors the SDI's checks: ES02 (file valid with reports) when a DF
counterparty has an Italian IdFiscaleIVA that is not a valid partita IVA (00305 for a customer in
DTE, 00301 for a supplier in DTR), ES01 otherwise.

Limitations: no XSD validation (the Revenue Agency's schemas are not in the reference set), only
the structure above; the codes in the receipts are the SDI's codes of the same checks on invoices.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree
from stdnum.it import iva

from emulator.core.errors import PayloadTooLarge
from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml, strip_namespace
from emulator.sdi.signing import unwrap_p7m, verify_p7m

LI, DF = "LI", "DF"
COMMUNICATION_TYPES = (LI, DF)
MAX_FILE_BYTES = 5 * 1024 * 1024  # §3: maximum sent files size
MAX_ZIP_FILES = 100
MAX_ZIP_BYTES = 20 * 1024 * 1024
MAX_NAME_LENGTH = 255
_READ_CHUNK = 64 * 1024

IVP_NS = "urn:www.agenziaentrate.gov.it:specificheTecniche:sco:ivp"
DF_NAMESPACES = (
    "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v2.0",
    "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v2.1",
)
ROOTS: dict[str, str] = {f"{{{IVP_NS}}}Fornitura": LI} | {f"{{{ns}}}DatiFattura": DF for ns in DF_NAMESPACES}
TYPE_NAMES = {LI: "regular VAT payments (LI)", DF: "invoice data (DF)"}

# §6.6, the codes a request can be refused with, and their descriptions.
DESCRIPTIONS: dict[str, str] = {
    "SF01": "Being processed",
    "SF02": "Processed",
    "SF03": "Error",
    "AR01": "Attached file empty or missing",
    "AR02": "Access denied",
    "AR03": "Incorrect file",
    "AR04": "Request ID missing",
    "AR05": "Remote signature missing",
    "AR06": "Transmission to SDI not executed",
    "AR07": "SDI result response not received",
    "AR08": "Incorrect signature",
    "AR09": "Third-party transmission not permitted",
    "AR10": "Maximum number of invoices and financial communications reached",
    "AR20": "Incorrect Communication Type",
    "AR21": "File not signed",
    "AR99": "Generic error",
}
REFUSALS = frozenset({"AR05", "AR10", "AR99"})  # triggers answered at once
LATE_ERRORS = frozenset({"AR06", "AR07"})  # triggers that end an accepted request in error
OUTCOMES = ("ES01", "ES02", "ES03")
DEFAULT_OUTCOME_CODES = {"ES02": "00305", "ES03": "00200"}
# The errors a receipt can report (the SDI's codes of the same checks on invoices).
RECEIPT_ERRORS: dict[str, str] = {
    "00200": "File non conforme al formato",
    "00301": "IdFiscaleIVA del cedente/prestatore non valido",
    "00305": "IdFiscaleIVA del cessionario/committente non valido",
}
# DF: the counterparties in each block and the code of an invalid IdFiscaleIVA of theirs.
COUNTERPARTIES = {"DTE": ("CessionarioCommittenteDTE", "00305"), "DTR": ("CedentePrestatoreDTR", "00301")}
TRIGGER_RE = re.compile(r"SANDBOX:(?P<code>AR0[5-7]|AR10|AR99|ES0[1-3])(?::(?P<detail>\d{5}))?")


class AcceptanceError(Exception):
    """A request refused on acceptance: ``code`` of §6.6, and the details of what is wrong."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        self.code = code
        self.detail = detail
        description = DESCRIPTIONS[code]
        self.description = f"{description}: {detail}" if detail else description
        super().__init__(self.description)

    def about(self, name: str) -> AcceptanceError:
        """The same error, naming the file of the zip it is about."""
        return AcceptanceError(self.code, f"{name}: {self.detail}" if self.detail else name)


@dataclass(frozen=True)
class ReceiptError:
    code: str
    description: str


@dataclass(frozen=True)
class Communication:
    """One accepted communication file and what the SDI will do with it."""

    name: str | None  # its name in the client's zip; None for a single file
    content: bytes  # the file as received (a p7m when it was signed on its own)
    signed: bool  # whether ``content`` is a p7m
    xml: bytes
    type: str
    outcome: str  # ES01 | ES02 | ES03 | AR06 | AR07
    errors: tuple[ReceiptError, ...] = field(default=())


# -- dataFile -----------------------------------------------------------------------------------------


def decode_data_file(value: str | None) -> bytes:
    """The bytes of ``dataFile``: AR01 if missing or empty, AR03 if not Base64, 413 above 5 MB."""
    if value is None or not value.strip():
        raise AcceptanceError("AR01", "dataFile is empty or missing")
    text = re.sub(r"\s+", "", value)
    size = len(text) * 3 // 4 - text[-2:].count("=")
    if size > MAX_FILE_BYTES:
        raise PayloadTooLarge(
            f"Maximum upload size exceeded: the file is {size} bytes, "
            f"the SLA allows 5 MB ({MAX_FILE_BYTES} bytes)"
        )
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise AcceptanceError("AR03", "dataFile is not valid Base64") from None
    if not data:
        raise AcceptanceError("AR01", "dataFile is empty or missing")
    return data


def read_communication(data: bytes, declared: str, account: Account) -> Communication:
    """§6.1: one signed communication file."""
    xml, signed = _signed_content(data)
    if not signed:
        _refuse_unsigned(xml)
    return _communication(None, data, True, xml, declared, account)


def read_zip(data: bytes, declared: str, account: Account) -> list[Communication]:
    """§6.2: a zip of communication files, signed as a whole or file by file."""
    archive, signed = _signed_content(data)
    if not zipfile.is_zipfile(io.BytesIO(archive)):
        raise AcceptanceError("AR03", "dataFile is not a zip archive")
    communications = []
    for name, content in _zip_entries(archive):
        try:
            xml, entry_signed = _signed_content(content)
            if not (signed or entry_signed):
                _refuse_unsigned(xml)
            communications.append(_communication(name, content, entry_signed, xml, declared, account))
        except AcceptanceError as error:
            raise error.about(name) from None
    return communications


def _refuse_unsigned(data: bytes) -> None:
    """An XML file without signature is AR21; anything else that is not a p7m is AR03."""
    if data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"<":
        raise AcceptanceError("AR21")
    raise AcceptanceError("AR03", "the file is neither signed (p7m) nor XML")


def _signed_content(data: bytes) -> tuple[bytes, bool]:
    """(content, True) for a p7m whose signatures verify; (data, False) for anything not a p7m."""
    try:
        unwrap_p7m(data)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return data, False
    try:
        return verify_p7m(data), True
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise AcceptanceError("AR08", f"the CAdES signature does not verify ({exc})") from None


def _zip_entries(archive: bytes) -> list[tuple[str, bytes]]:
    """Every file of the zip, read with limits that hold whatever the archive's headers say."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            infos = [info for info in zipped.infolist() if not info.is_dir()]
            if not infos:
                raise AcceptanceError("AR01", "the zip archive contains no files")
            if len(infos) > MAX_ZIP_FILES:
                raise AcceptanceError("AR03", f"the zip archive has more than {MAX_ZIP_FILES} files")
            names = [info.filename for info in infos]
            for info in infos:
                if not info.filename.lower().endswith((".xml", ".xml.p7m")):
                    raise AcceptanceError(
                        "AR03", f"{info.filename}: only .xml and .xml.p7m files are allowed"
                    )
                if len(info.filename) > MAX_NAME_LENGTH:
                    raise AcceptanceError(
                        "AR03", f"a file name in the zip archive is longer than {MAX_NAME_LENGTH}"
                    )
                if names.count(info.filename) > 1:
                    raise AcceptanceError("AR03", f"the zip archive contains {info.filename} more than once")
            budget = MAX_ZIP_BYTES
            entries = []
            for info in infos:
                content = _read_entry(zipped, info, min(budget, MAX_FILE_BYTES))
                budget -= len(content)
                entries.append((info.filename, content))
    except AcceptanceError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError) as exc:
        raise AcceptanceError("AR03", f"the zip archive cannot be read ({exc})") from None
    except (ValueError, OSError, EOFError, zlib.error) as exc:
        raise AcceptanceError("AR03", f"the zip archive cannot be read ({exc})") from None
    return entries


def _read_entry(zipped: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    with zipped.open(info) as stream:
        while chunk := stream.read(_READ_CHUNK):
            size += len(chunk)
            if size > limit:
                raise AcceptanceError(
                    "AR03",
                    f"{info.filename}: the zip archive expands beyond the limits "
                    f"({MAX_FILE_BYTES} bytes a file, {MAX_ZIP_BYTES} bytes in all)",
                )
            chunks.append(chunk)
    content = b"".join(chunks)
    if not content:
        raise AcceptanceError("AR01", f"{info.filename} is empty")
    return content


# -- the communication --------------------------------------------------------------------------------


def _communication(
    name: str | None, content: bytes, signed: bool, xml: bytes, declared: str, account: Account
) -> Communication:
    try:
        root = parse_xml(xml, max_bytes=MAX_FILE_BYTES)
    except ValueError as exc:
        raise AcceptanceError("AR03", str(exc)) from None
    found = ROOTS.get(root.tag)
    if found is None:
        raise AcceptanceError(
            "AR03", f"the root element {root.tag} is not a financial communication (Fornitura or DatiFattura)"
        )
    if found != declared:
        raise AcceptanceError(
            "AR20", f"comunicationType is {declared} but the file is a communication of {TYPE_NAMES[found]}"
        )
    taxpayer = _lipe_taxpayer(root) if found == LI else _invoice_data_taxpayer(root)
    if taxpayer is not None and not _owned(account, *taxpayer):
        shown = next(value for value in taxpayer if value)
        raise AcceptanceError(
            "AR09", f"the taxpayer {shown} of the communication is not a subject of user {account.username}"
        )
    trigger = _trigger(root)
    if trigger is not None and trigger[0] in REFUSALS:
        raise AcceptanceError(trigger[0], "SANDBOX trigger")
    outcome, errors = _outcome(root, found, trigger)
    return Communication(name, content, signed, xml, found, outcome, errors)


def _owned(account: Account, vat: str | None, fiscal_code: str | None) -> bool:
    ids = account.fiscal_ids
    return all(value.upper() in ids for value in (vat, fiscal_code) if value)


def _child(parent: etree._Element, local: str, required: bool = True) -> etree._Element | None:
    ns = etree.QName(parent).namespace
    qualified = f"{{{ns}}}{local}" if ns else local
    for child in parent:
        if child.tag in (qualified, local):
            return child
    if required:
        # LIPE elements are qualified, those below DatiFattura are not (as in the two schemas).
        expected = qualified if ns == IVP_NS else local
        raise AcceptanceError(
            "AR03", f"Element '{parent.tag}': Missing child element(s). Expected is ( {expected} )."
        )
    return None


def _text(parent: etree._Element, local: str, pattern: str, required: bool = True) -> str | None:
    element = _child(parent, local, required)
    if element is None:
        return None
    value = (element.text or "").strip()
    if not re.fullmatch(pattern, value):
        raise AcceptanceError(
            "AR03",
            f"Element '{element.tag}': [facet 'pattern'] The value '{value}' is not accepted by the "
            f"pattern '{pattern}'.",
        )
    return value


def _required(element: etree._Element | None) -> etree._Element:
    assert element is not None  # _child raises when a required element is missing
    return element


CF_PATTERN = "[A-Z0-9]{11,16}"
VAT_PATTERN = "[0-9]{11}"


def _lipe_taxpayer(root: etree._Element) -> tuple[str | None, str | None]:
    header = _required(_child(root, "Intestazione"))
    _text(header, "CodiceFornitura", "IVP[0-9]{2}")
    communication = _required(_child(root, "Comunicazione"))
    front = _required(_child(communication, "Frontespizio"))
    fiscal_code = _text(front, "CodiceFiscale", CF_PATTERN)
    _text(front, "AnnoImposta", "[0-9]{4}")
    vat = _text(front, "PartitaIVA", VAT_PATTERN)
    accounts = _required(_child(communication, "DatiContabili"))
    _child(accounts, "Modulo")
    return vat, fiscal_code


def _invoice_data_taxpayer(root: etree._Element) -> tuple[str | None, str | None] | None:
    if root.get("versione") is None:
        missing = "The attribute 'versione' is required but missing."
        raise AcceptanceError("AR03", f"Element '{root.tag}': {missing}")
    blocks = [child for child in root if strip_namespace(str(child.tag)) in ("DTE", "DTR", "ANN")]
    if len(blocks) != 1:
        raise AcceptanceError(
            "AR03", f"Element '{root.tag}': exactly one of the elements DTE, DTR and ANN is expected."
        )
    block = blocks[0]
    kind = strip_namespace(str(block.tag))
    if kind == "ANN":
        _text(block, "IdFile", "[0-9]{1,18}")
        return None
    own, other = (
        ("CedentePrestatoreDTE", "CessionarioCommittenteDTE")
        if kind == "DTE"
        else (
            "CessionarioCommittenteDTR",
            "CedentePrestatoreDTR",
        )
    )
    party = _required(_child(block, own))
    ids = _required(_child(party, "IdentificativiFiscali"))
    vat_id = _required(_child(ids, "IdFiscaleIVA"))
    _text(vat_id, "IdPaese", "[A-Z]{2}")
    vat = _text(vat_id, "IdCodice", "[A-Za-z0-9]{1,28}")
    fiscal_code = _text(ids, "CodiceFiscale", CF_PATTERN, required=False)
    _child(block, other)
    return vat, fiscal_code


# -- what the SDI will do ---------------------------------------------------------------------------


def _trigger(root: etree._Element) -> tuple[str, str | None] | None:
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    comments = [node for node in outside if isinstance(node, etree._Comment)]
    for comment in [*comments, *root.iter(etree.Comment)]:
        match = TRIGGER_RE.search(comment.text or "")
        if match:
            return match["code"], match["detail"]
    return None


def _outcome(
    root: etree._Element, type_: str, trigger: tuple[str, str | None] | None
) -> tuple[str, tuple[ReceiptError, ...]]:
    if trigger is not None:
        code, detail = trigger
        if code in DEFAULT_OUTCOME_CODES:
            error = detail or DEFAULT_OUTCOME_CODES[code]
            return code, (ReceiptError(error, RECEIPT_ERRORS.get(error, f"Errore {error}")),)
        return code, ()
    errors = tuple(_counterparty_errors(root)) if type_ == DF else ()
    return ("ES02", errors) if errors else ("ES01", ())


def _counterparty_errors(root: etree._Element) -> Iterator[ReceiptError]:
    """Italian IdFiscaleIVA of the counterparties that are not valid partite IVA (reported, not refused)."""
    for block in root:
        kind = strip_namespace(str(block.tag))
        if kind not in ("DTE", "DTR"):
            continue
        local, code = COUNTERPARTIES[kind]
        for party in block:
            if strip_namespace(str(party.tag)) != local:
                continue
            ids = _child(party, "IdentificativiFiscali", required=False)
            vat_id = _child(ids, "IdFiscaleIVA", required=False) if ids is not None else None
            if vat_id is None:
                continue
            country = _child(vat_id, "IdPaese", required=False)
            number = _child(vat_id, "IdCodice", required=False)
            value = (number.text or "").strip() if number is not None else ""
            if country is not None and (country.text or "").strip() == "IT" and not iva.is_valid(value):
                yield ReceiptError(code, f"{RECEIPT_ERRORS[code]} : {value}")
