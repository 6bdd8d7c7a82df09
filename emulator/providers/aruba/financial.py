"""§6 Financial Communications: CreateTransmissionRequest, CreateTransmissionRequestList,
GetTransmissionInfoRequest and pdd.

These four calls carry the user's credentials in the body (``userName``, ``password``), not a Bearer
token. Errors of a request are answered 200 with a §6.6 code: ``errorCode``/``errorDescription`` on
creation, ``result``/``error`` on GetTransmissionInfoRequest (AR02 wrong credentials, AR04 request
ID missing). pdd answers a zip, so its errors are HTTP statuses: 401 wrong credentials, 400 request ID
missing, 404 unknown request or package not available (§6.4). What the files must be is in
financial_files.py.

Lifecycle, in virtual time from the request's creation (decided on acceptance, shown when asked):

- at once: ``result`` SF01 ("Being processed"), ``fileName`` (the name Aruba gives the file as
  transmitter: ``IT01879020517_<type>_<progressive>.xml``, progressive of 5 characters);
- after ``TRANSMISSION_DELAY`` (5 minutes): the SDI has the file: ``receiptTimestamp`` and
  ``fileID`` (the SDI's IdFile), still SF01;
- after ``OUTCOME_DELAY`` (1 hour): the SDI's outcome: SF02 ("Processed") with ``elaboratedResult``
  ES01/ES02/ES03 and ``notifyResult``, the SDI's receipt in Base64;
- after another ``PRESERVATION_DELAY`` (1 hour): the file and its receipt are preserved:
  ``pddAvailable`` true and pdd serves the package.

A request forced to fail (see the triggers in financial_files.py) ends SF03 ("Error") with ``error``
naming the cause: ``AR06 - Transmission to SDI not executed`` at the transmission instant (no
fileID), ``AR07 - SDI result response not received`` at the outcome instant. ES03 (rejected) is an
outcome of a processed file, so it is SF02: the request was processed, the SDI refused the file.

Decisions where the document is silent:

- ``error`` is the description of ``result`` (§6.6): "Being processed", "Processed", and for SF03
  the code and description of the cause.
- ``requestID`` (and ``requestIDList``) are null when a request is refused; the document gives them
  a value only on success. requestIDs are 16 characters [A-Z0-9], as the examples.
- ``userID`` is optional; a value other than ``userName`` asks to transmit for another user, which a
  sandbox account (without assignors) may not: AR09.
- A requestID that is not the account's (unknown, or another account's) is AR04 in
  GetTransmissionInfoRequest and 404 in pdd: other accounts' requests do not exist for the caller.
- The requestID of a zip (CreateTransmissionRequestList) sums up its files: SF01 while any is being
  processed, SF03 if any failed, otherwise SF02 with the worst outcome (ES03 > ES02 > ES01);
  fileID, fileName, receiptTimestamp and notifyResult are null (they belong to each file). Its pdd is
  available once every file is done and all processed files are preserved; it holds all of them.
- The body is read as on every other Aruba call (bodies.request_fields): 415 unless JSON,
  400 when missing or unreadable; scalars are converted to text as Jackson does (``123`` → "123"),
  an object or array where text is expected is a 400.
- The receipt in ``notifyResult`` is the sandbox's own XML (``RicevutaComunicazione``, signed with
  XMLDSig by the sandbox SDI): IdentificativoFile, NomeFile, TipoComunicazione, DataOraRicezione,
  DataOraElaborazione, Esito, ListaErrori (ES02, ES03), MessageId.
- The preservation package holds the file as transmitted (``.xml.p7m``, or ``.xml`` for a file of a
  zip signed as a whole), its receipt (``<name>_ES_001.xml``) and ``indice.xml``, an index in the
  style of UNI 11386 SInCRO with a SHA-256 of each file. It is called
  ``<name>.conservazione.zip`` (``<requestID>.conservazione.zip`` for a zip request).

Limitations: no callbacks for financial communications (§13 has none); the delays are constants.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.clock import ROME
from emulator.core.errors import BadRequest, NotFound, Unauthorized
from emulator.core.ids import IdFactory, base36
from emulator.core.store import next_value
from emulator.core.tenancy import Account
from emulator.providers.aruba.financial_files import (
    COMMUNICATION_TYPES,
    DESCRIPTIONS,
    AcceptanceError,
    Communication,
    decode_data_file,
    read_communication,
    read_zip,
)
from emulator.providers.aruba.models import ArubaFinancialRequest
from emulator.providers.aruba.views import b64, rome_stamp, utc_stamp
from emulator.sdi.signing import SandboxSigner

PROVIDER = "aruba"
TRANSMISSION_DELAY = timedelta(minutes=5)
OUTCOME_DELAY = timedelta(hours=1)
PRESERVATION_DELAY = timedelta(hours=1)
TRANSMITTER = "IT01879020517"  # Aruba PEC S.p.A. transmits the communications (§6.4's example)
TRANSMITTER_NAME = "Aruba PEC S.p.A."
REQUEST_ID_LENGTH = 16
RECEIPT_NS = "urn:fattura-sandbox:aruba:comunicazioni:ricevuta:v1.0"
SINCRO_NS = "http://www.uni.com/U3011/sincro/"
FILE, ZIP = "file", "zip"
SEVERITY = {"ES01": 1, "ES02": 2, "ES03": 3}

# Stages of a file request, from the stored instants.
ACCEPTED, TRANSMITTED, FAILED, PROCESSED, PRESERVED = (
    "accepted",
    "transmitted",
    "failed",
    "processed",
    "preserved",
)
PENDING = (ACCEPTED, TRANSMITTED)
DONE = (PROCESSED, PRESERVED)


@dataclass(frozen=True)
class Office:
    """What the operations need from the sandbox: ids, the SDI's signature, the current instant."""

    ids: IdFactory
    signer: SandboxSigner
    now: datetime


@dataclass(frozen=True)
class TransmissionRequest:
    """The body of §6.1 and §6.2."""

    user_name: str | None
    password: str | None
    user_id: str | None
    communication_type: str | None
    data_file: str | None

    FIELDS = ("userName", "password", "userID", "comunicationType", "dataFile")

    @classmethod
    def of(cls, fields: Mapping[str, str | None]) -> TransmissionRequest:
        return cls(*(fields.get(name) for name in cls.FIELDS))


@dataclass(frozen=True)
class InfoRequest:
    """The body of §6.3 and §6.4."""

    user_name: str | None
    password: str | None
    request_id: str | None

    FIELDS = ("userName", "password", "requestID")

    @classmethod
    def of(cls, fields: Mapping[str, str | None]) -> InfoRequest:
        return cls(*(fields.get(name) for name in cls.FIELDS))


@dataclass(frozen=True)
class Package:
    name: str
    content: bytes


# -- the operations -----------------------------------------------------------------------------------


def create_transmission_request(
    session: Session, office: Office, request: TransmissionRequest
) -> dict[str, Any]:
    """§6.1: one signed communication file."""
    try:
        account = _sender(session, request)
        data = decode_data_file(request.data_file)
        communication = read_communication(data, str(request.communication_type), account)
    except AcceptanceError as error:
        return {"errorCode": error.code, "errorDescription": error.description, "requestID": None}
    row = _record_file(session, office, account, communication, parent=None)
    return {"errorCode": "", "errorDescription": "", "requestID": row.request_id}


def create_transmission_request_list(
    session: Session, office: Office, request: TransmissionRequest
) -> dict[str, Any]:
    """§6.2: a zip of communication files; a requestID for the zip and one for each file."""
    try:
        account = _sender(session, request)
        data = decode_data_file(request.data_file)
        communications = read_zip(data, str(request.communication_type), account)
    except AcceptanceError as error:
        return {
            "errorCode": error.code,
            "errorDescription": error.description,
            "requestID": None,
            "requestIDList": None,
        }
    parent = ArubaFinancialRequest(
        request_id=_new_request_id(session, office.ids),
        account_id=account.id,
        kind=ZIP,
        communication_type=str(request.communication_type),
        signed=True,
        created_at=office.now,
    )
    session.add(parent)
    session.flush()
    files = [_record_file(session, office, account, c, parent=parent) for c in communications]
    return {
        "errorCode": "",
        "errorDescription": "",
        "requestID": parent.request_id,
        "requestIDList": [{"fileName": row.source_name, "requestID": row.request_id} for row in files],
    }


def get_transmission_info_request(session: Session, now: datetime, request: InfoRequest) -> dict[str, Any]:
    """§6.3: the status of a request of the account, or AR02/AR04 in ``result``."""
    account = _account(session, request.user_name, request.password)
    if account is None:
        return _info_error("AR02")
    row = _request_of(session, account, request.request_id) if request.request_id else None
    if row is None:
        return _info_error("AR04")
    return _zip_info(session, row, now) if row.kind == ZIP else _file_info(row, now)


def pdd(session: Session, now: datetime, request: InfoRequest) -> Package:
    """§6.4: the preservation package of a request, once ``pddAvailable`` is true (404 before)."""
    account = _account(session, request.user_name, request.password)
    if account is None:
        raise Unauthorized(DESCRIPTIONS["AR02"])
    if not request.request_id:
        raise BadRequest(DESCRIPTIONS["AR04"])
    row = _request_of(session, account, request.request_id)
    if row is None:
        raise NotFound(f"Request {request.request_id} not found")
    files = _files_of(session, row) if row.kind == ZIP else [row]
    stages = [_stage(f, now) for f in files]
    if not _package_ready(stages):
        raise NotFound(f"The preservation package of request {row.request_id} is not available")
    preserved = [f for f, stage in zip(files, stages, strict=True) if stage == PRESERVED]
    name = f"{row.request_id}.conservazione.zip" if row.kind == ZIP else f"{_stem(row)}.conservazione.zip"
    return Package(name, _package(row, preserved))


# -- who sends ------------------------------------------------------------------------------------------


def _account(session: Session, user_name: str | None, password: str | None) -> Account | None:
    if not user_name or not password:
        return None
    query = select(Account).where(Account.provider == PROVIDER, Account.username == user_name)
    account = session.execute(query).scalar_one_or_none()
    if account is None or not secrets.compare_digest(account.password.encode(), password.encode()):
        return None
    return account


def _sender(session: Session, request: TransmissionRequest) -> Account:
    account = _account(session, request.user_name, request.password)
    if account is None:
        raise AcceptanceError("AR02")
    if request.user_id and request.user_id != account.username:
        raise AcceptanceError("AR09", f"userID {request.user_id} is not the user {account.username}")
    if request.communication_type not in COMMUNICATION_TYPES:
        shown = "missing" if request.communication_type is None else repr(request.communication_type)
        raise AcceptanceError("AR20", f"comunicationType is {shown}; expected LI or DF")
    return account


def _request_of(session: Session, account: Account, request_id: str) -> ArubaFinancialRequest | None:
    query = select(ArubaFinancialRequest).where(
        ArubaFinancialRequest.request_id == request_id, ArubaFinancialRequest.account_id == account.id
    )
    row: ArubaFinancialRequest | None = session.execute(query).scalar_one_or_none()
    return row


def _files_of(session: Session, parent: ArubaFinancialRequest) -> list[ArubaFinancialRequest]:
    query = (
        select(ArubaFinancialRequest)
        .where(ArubaFinancialRequest.parent_id == parent.id)
        .order_by(ArubaFinancialRequest.id)
    )
    return list(session.execute(query).scalars())


# -- accepting a file -------------------------------------------------------------------------------------


def _record_file(
    session: Session,
    office: Office,
    account: Account,
    communication: Communication,
    *,
    parent: ArubaFinancialRequest | None,
) -> ArubaFinancialRequest:
    now = office.now
    transmitted = communication.outcome != "AR06"
    row = ArubaFinancialRequest(
        request_id=_new_request_id(session, office.ids),
        account_id=account.id,
        parent_id=parent.id if parent is not None else None,
        kind=FILE,
        communication_type=communication.type,
        source_name=communication.name,
        file_name=_new_file_name(session, office.ids, communication.type),
        file_id=_new_file_id(session, office.ids) if transmitted else None,
        content=communication.content,
        signed=communication.signed,
        outcome=communication.outcome,
        created_at=now,
        transmitted_at=now + TRANSMISSION_DELAY,
        outcome_at=now + OUTCOME_DELAY,
        preserved_at=now + OUTCOME_DELAY + PRESERVATION_DELAY if communication.outcome in SEVERITY else None,
    )
    if communication.outcome in SEVERITY:
        row.receipt = _receipt(session, office, row, communication)
    session.add(row)
    session.flush()
    return row


def _new_request_id(session: Session, ids: IdFactory) -> str:
    while True:
        number = ids.randint(0, 36**REQUEST_ID_LENGTH - 1)
        candidate = _base36(number, REQUEST_ID_LENGTH)
        taken = select(ArubaFinancialRequest.id).where(ArubaFinancialRequest.request_id == candidate)
        if session.execute(taken).first() is None:
            return candidate


def _new_file_name(session: Session, ids: IdFactory, type_: str) -> str:
    """``IT01879020517_LI_0A1B2.xml``: the transmitter, the type and a progressive of 5 characters."""
    number = next_value(session, "aruba_financial_progressive", start=ids.randint(1, 36**4))
    return f"{TRANSMITTER}_{type_}_{_base36(number % 36**5 or 1, 5)}.xml"


def _new_file_id(session: Session, ids: IdFactory) -> str:
    return str(next_value(session, "aruba_financial_file_id", start=ids.randint(100_000_000, 199_999_999)))


def _base36(number: int, width: int) -> str:
    return base36(number).rjust(width, "0")


def _receipt(
    session: Session, office: Office, row: ArubaFinancialRequest, communication: Communication
) -> bytes:
    """The SDI's receipt of the file's outcome, signed by the sandbox SDI."""
    assert row.transmitted_at is not None and row.outcome_at is not None
    root = etree.Element(f"{{{RECEIPT_NS}}}RicevutaComunicazione", nsmap={"ns2": RECEIPT_NS})
    root.set("versione", "1.0")
    _add(root, "IdentificativoFile", row.file_id)
    _add(root, "NomeFile", row.file_name)
    _add(root, "TipoComunicazione", row.communication_type)
    _add(root, "DataOraRicezione", rome_stamp(row.transmitted_at))
    _add(root, "DataOraElaborazione", rome_stamp(row.outcome_at))
    _add(root, "Esito", communication.outcome)
    if communication.errors:
        errors = etree.SubElement(root, "ListaErrori")
        for error in communication.errors:
            item = etree.SubElement(errors, "Errore")
            _add(item, "Codice", error.code)
            _add(item, "Descrizione", error.description)
    message_id = next_value(session, "aruba_financial_message_id", start=office.ids.randint(10**8, 2 * 10**8))
    _add(root, "MessageId", str(message_id))
    signed = office.signer.sign_xml(root)
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def _add(parent: etree._Element, tag: str, text: str | None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


# -- what a client sees -----------------------------------------------------------------------------------


def _stage(row: ArubaFinancialRequest, now: datetime) -> str:
    assert row.transmitted_at is not None and row.outcome_at is not None
    if now < row.transmitted_at:
        return ACCEPTED
    if row.outcome == "AR06":
        return FAILED
    if now < row.outcome_at:
        return TRANSMITTED
    if row.outcome == "AR07":
        return FAILED
    if row.preserved_at is None or now < row.preserved_at:
        return PROCESSED
    return PRESERVED


def _info(
    result: str,
    error: str,
    *,
    notify: bytes | None = None,
    elaborated: str | None = None,
    receipt_at: datetime | None = None,
    file_id: str | None = None,
    file_name: str | None = None,
    pdd_available: bool = False,
) -> dict[str, Any]:
    """The answer of §6.3, keys in the document's order."""
    return {
        "result": result,
        "notifyResult": b64(notify),
        "elaboratedResult": elaborated,
        "receiptTimestamp": utc_stamp(receipt_at) if receipt_at is not None else None,
        "fileID": file_id,
        "fileName": file_name,
        "pddAvailable": pdd_available,
        "error": error,
    }


def _info_error(code: str) -> dict[str, Any]:
    return _info(code, DESCRIPTIONS[code])


def _failure(row: ArubaFinancialRequest) -> str:
    code = str(row.outcome)
    return f"{code} - {DESCRIPTIONS[code]}"


def _file_info(row: ArubaFinancialRequest, now: datetime) -> dict[str, Any]:
    stage = _stage(row, now)
    at_sdi = stage != ACCEPTED and row.file_id is not None
    done = stage in DONE
    if stage in PENDING:
        result, error = "SF01", DESCRIPTIONS["SF01"]
    elif stage == FAILED:
        result, error = "SF03", _failure(row)
    else:
        result, error = "SF02", DESCRIPTIONS["SF02"]
    return _info(
        result,
        error,
        notify=row.receipt if done else None,
        elaborated=row.outcome if done else None,
        receipt_at=row.transmitted_at if at_sdi else None,
        file_id=row.file_id if at_sdi else None,
        file_name=row.file_name,
        pdd_available=stage == PRESERVED,
    )


def _zip_info(session: Session, parent: ArubaFinancialRequest, now: datetime) -> dict[str, Any]:
    files = _files_of(session, parent)
    stages = [_stage(f, now) for f in files]
    failed = [f for f, stage in zip(files, stages, strict=True) if stage == FAILED]
    ready = _package_ready(stages)
    if any(stage in PENDING for stage in stages):
        return _info("SF01", DESCRIPTIONS["SF01"])
    if failed:
        return _info("SF03", f"{_failure(failed[0])} ({failed[0].source_name})", pdd_available=ready)
    worst = max((str(f.outcome) for f in files), key=lambda outcome: SEVERITY.get(outcome, 0))
    return _info("SF02", DESCRIPTIONS["SF02"], elaborated=worst, pdd_available=ready)


def _package_ready(stages: Sequence[str]) -> bool:
    """Every file is done and every processed one is preserved (at least one)."""
    if any(stage in PENDING or stage == PROCESSED for stage in stages):
        return False
    return PRESERVED in stages


# -- the preservation package -------------------------------------------------------------------------


def _stem(row: ArubaFinancialRequest) -> str:
    return str(row.file_name).removesuffix(".xml")


def _package(request: ArubaFinancialRequest, files: list[ArubaFinancialRequest]) -> bytes:
    entries: list[tuple[str, bytes]] = []
    for row in files:
        sent_name = f"{row.file_name}.p7m" if row.signed else str(row.file_name)
        entries.append((sent_name, row.content or b""))
        entries.append((f"{_stem(row)}_ES_001.xml", row.receipt or b""))
    moment = max(row.preserved_at for row in files if row.preserved_at is not None)
    entries.append(("indice.xml", _index(request, entries, moment)))
    stamp = moment.astimezone(ROME).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _index(request: ArubaFinancialRequest, entries: list[tuple[str, bytes]], moment: datetime) -> bytes:
    """The package's index, in the style of UNI 11386 SInCRO: each file with its SHA-256."""

    def s(tag: str) -> str:
        return f"{{{SINCRO_NS}}}{tag}"

    root = etree.Element(s("IdC"), nsmap={"sincro": SINCRO_NS})
    root.set(s("url"), SINCRO_NS)
    root.set(s("version"), "1.0")
    description = etree.SubElement(root, s("SelfDescription"))
    etree.SubElement(description, s("ID"), {s("scheme"): "local"}).text = f"PdD-{request.request_id}"
    application = etree.SubElement(description, s("CreatingApplication"))
    etree.SubElement(application, s("Name")).text = "Fatturazione Elettronica - Comunicazioni"
    etree.SubElement(application, s("Version")).text = "1.0"
    etree.SubElement(application, s("Producer")).text = TRANSMITTER_NAME
    volume = etree.SubElement(root, s("VdC"))
    etree.SubElement(volume, s("ID"), {s("scheme"): "local"}).text = request.request_id
    group = etree.SubElement(root, s("FileGroup"))
    etree.SubElement(group, s("Label")).text = f"Comunicazione {request.communication_type}"
    for name, content in entries:
        item = etree.SubElement(group, s("File"), {s("encoding"): "binary", s("format"): _format(name)})
        etree.SubElement(item, s("ID"), {s("scheme"): "local"}).text = name
        etree.SubElement(item, s("Path")).text = name
        digest = base64.b64encode(hashlib.sha256(content).digest()).decode("ascii")
        etree.SubElement(item, s("Hash"), {s("function"): "SHA-256"}).text = digest
    process = etree.SubElement(root, s("Process"))
    agent = etree.SubElement(
        process, s("Agent"), {s("type"): "organization", s("role"): "PreservationManager"}
    )
    agent_name = etree.SubElement(agent, s("AgentName"))
    etree.SubElement(agent_name, s("FormalName")).text = TRANSMITTER_NAME
    etree.SubElement(agent, s("Agent_ID"), {s("scheme"): "VATRegistrationNumber"}).text = TRANSMITTER
    time_reference = etree.SubElement(process, s("TimeReference"))
    etree.SubElement(time_reference, s("TimeInfo")).text = rome_stamp(moment)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _format(name: str) -> str:
    return "application/pkcs7-mime" if name.endswith(".p7m") else "application/xml"
