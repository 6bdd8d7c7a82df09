"""Sending invoices (§7): ``upload`` (Aruba signs), ``uploadSigned`` (already signed), and the processing
that hands an accepted file to the SDI after ``config.aruba_processing_seconds`` of virtual time.

An accepted file becomes an ``ArubaInvoice`` in the account's "out" box with status "Presa in
carico" and a task ``aruba.process_upload``; when it falls due, the asynchronous checks decide
"Errore Elaborazione" (with the FATRSM message as statusDescription) or "Inviata" (the SDI receives
the file at that instant, and from then on the status follows the SDI's notifications).

Decisions where the document is silent:

- File names are Aruba's: ``IT01879020517_`` and five random lowercase letters or digits, unique
  among every SDI and Aruba file (whatever the extension); ``.xml.p7m`` for ``upload`` (the stored
  and transmitted file is the CAdES-BES p7m Aruba makes of the XML) and for a p7m sent to
  ``uploadSigned``; ``.xml`` for an XML sent to ``uploadSigned`` (XAdES). A signed file is stored as
  sent (a base64 p7m stays base64).
- ``uploadSigned`` answers success with ``errorCode: ""`` and ``upload`` with ``"0000"``, as the
  document's examples. The request id (``errorDescription``) is 32 lowercase hex digits.
- Storage (0097): the space used is the size of every file in the account's boxes (sent, whatever
  their status, and received); the account's space is ``profile["max_space_kb"]`` (default: the
  1 GB that userInfo shows).
- Duplicates (0034, "File già inviato di recente"): the same account sent the same bytes (SHA-256
  of the decoded dataFile, either operation) in the last 24 virtual hours and that file is still on
  its way or went through; one that ended in "Errore Elaborazione" or was rejected by the SDI
  ("Scartata") may be sent again at once.
- An uploadSigned p7m whose signed content is empty is accepted (there is nothing to check) and
  ends in FATRSM401; a file that is not signed, or whose signature does not verify, is accepted and
  ends in FATRSM302.

Limitations: the automatic signature (``domain``/``credential``) signs with the same sandbox key as
Aruba's own signature.
"""

from __future__ import annotations

import hashlib
import string
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emulator.core.ids import IdFactory
from emulator.core.tasks import AfterCommit, ScheduledTask, TaskHandler
from emulator.core.tenancy import Account
from emulator.providers.aruba import callbacks, checks, records
from emulator.providers.aruba.checks import SyncCheckFailed, UploadedInvoice
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.fatturapa import ParsedInvoice
from emulator.sdi.models import SdiInvoice
from emulator.state import Sandbox

PROCESS_UPLOAD = "aruba.process_upload"
CHANNEL = "aruba"
FILE_PREFIX = "IT01879020517_"
NAME_ALPHABET = string.ascii_lowercase + string.digits
SIGNED, XADES = ".xml.p7m", ".xml"
DUPLICATE_WINDOW = timedelta(hours=24)
RESENDABLE = frozenset({records.PROCESSING_ERROR, "Scartata"})


def upload_invoice(
    sandbox: Sandbox,
    session: Session,
    account: Account,
    *,
    data_file: str | None,
    credential: str | None,
    domain: str | None,
) -> dict[str, Any]:
    """§7.3: an unsigned FatturaPA XML; Aruba signs it (CAdES) and sends it on."""
    now = sandbox.clock.now()
    try:
        checks.check_signature_credentials(account, credential, domain)
        xml = checks.decode_data_file(data_file)
        uploaded = checks.check_invoice(xml, sandbox.config.xsd_dir)
        _check_account(session, account, uploaded, xml, now)
    except SyncCheckFailed as failure:
        return failure.response()
    signed = sandbox.signer.make_p7m(xml, signing_time=now)
    row = _accept(sandbox, session, account, xml, signed, SIGNED, uploaded.parsed)
    return _accepted("0000", row)


def upload_signed_invoice(
    sandbox: Sandbox, session: Session, account: Account, *, data_file: str | None
) -> dict[str, Any]:
    """§7.4: a FatturaPA already signed, CAdES-BES ``.p7m`` or XAdES-BES ``.xml``; sent on as it is."""
    now = sandbox.clock.now()
    try:
        data = checks.decode_data_file(data_file)
        is_p7m, xml = checks.signed_content(data)
        empty_envelope = is_p7m and not xml.strip()
        uploaded = (
            UploadedInvoice(None, None)
            if empty_envelope
            else checks.check_invoice(xml, sandbox.config.xsd_dir)
        )
        _check_account(session, account, uploaded, data, now)
    except SyncCheckFailed as failure:
        return failure.response()
    row = _accept(sandbox, session, account, data, data, SIGNED if is_p7m else XADES, uploaded.parsed)
    return _accepted("", row)


def _check_account(
    session: Session, account: Account, uploaded: UploadedInvoice, data: bytes, now: datetime
) -> None:
    """The checks that depend on the account: delegation (0093), space (0097), duplicate (0034)."""
    if uploaded.parsed is not None:
        checks.check_delegation(session, account, uploaded.parsed)
    if records.used_bytes(session, account) + len(data) > records.max_space_kb(account) * 1024:
        raise SyncCheckFailed("0097")
    if recently_sent(session, account, _digest(data), now):
        raise SyncCheckFailed("0034")


def _accepted(code: str, row: ArubaInvoice) -> dict[str, Any]:
    return {
        "errorCode": code,
        "errorDescription": f"{checks.SYNC_MESSAGES['0000']} - {row.request_id}",
        "uploadFileName": row.filename,
    }


def _accept(
    sandbox: Sandbox,
    session: Session,
    account: Account,
    uploaded: bytes,
    content: bytes,
    extension: str,
    parsed: ParsedInvoice | None,
) -> ArubaInvoice:
    """Record the file as "Presa in carico" and schedule its processing."""
    now = sandbox.clock.now()
    row = ArubaInvoice(
        id=records.next_invoice_id(session, sandbox.ids),
        account_id=account.id,
        direction=records.OUT,
        filename=new_file_name(session, sandbox.ids, extension),
        content=content,
        status=records.TAKEN_IN_CHARGE,
        request_id=sandbox.ids.guid().replace("-", ""),
        upload_hash=_digest(uploaded),
        sender={},
        receiver={},
        # A file nobody could read still shows its status in one line (invoices[0]).
        bodies=[{"number": None, "date": None}],
        created_at=now,
        updated_at=now,
    )
    if parsed is not None:
        records.describe_file(row, parsed)
    session.add(row)
    session.flush()
    due = now + timedelta(seconds=sandbox.config.aruba_processing_seconds)
    sandbox.tasks.schedule(session, PROCESS_UPLOAD, due, {"invoice": row.id})
    return row


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_file_name(session: Session, ids: IdFactory, extension: str) -> str:
    """``IT01879020517_<5 lowercase alphanumerics><extension>``, its stem used by no SDI or Aruba file."""
    while True:
        stem = FILE_PREFIX + "".join(NAME_ALPHABET[ids.randint(0, len(NAME_ALPHABET) - 1)] for _ in range(5))
        if not _stem_taken(session, stem):
            return stem + extension


def _stem_taken(session: Session, stem: str) -> bool:
    prefix = stem.lower() + "."
    sdi = (
        select(func.count())
        .select_from(SdiInvoice)
        .where(func.lower(SdiInvoice.file_name).startswith(prefix, autoescape=True))
    )
    aruba = (
        select(func.count())
        .select_from(ArubaInvoice)
        .where(func.lower(ArubaInvoice.filename).startswith(prefix, autoescape=True))
    )
    return bool(session.execute(sdi).scalar_one() or session.execute(aruba).scalar_one())


def recently_sent(session: Session, account: Account, digest: str, now: datetime) -> bool:
    """0034: the same bytes sent in the last 24 hours, still on their way or gone through."""
    query = records.owned_by(account, records.OUT).where(
        ArubaInvoice.upload_hash == digest, ArubaInvoice.created_at > now - DUPLICATE_WINDOW
    )
    return any(records.status_of(row) not in RESENDABLE for row in session.execute(query).scalars())


# -- processing -----------------------------------------------------------------------------------


def process_upload_handler(sandbox: Sandbox) -> TaskHandler:
    def handler(session: Session, task: ScheduledTask) -> AfterCommit | None:
        invoice_id = task.payload.get("invoice")
        if isinstance(invoice_id, int):
            process_upload(sandbox, session, invoice_id, task.due_at)
        return None

    return handler


def process_upload(sandbox: Sandbox, session: Session, invoice_id: int, at: datetime) -> None:
    """The asynchronous checks at ``at``: "Errore Elaborazione", or "Inviata" and the SDI has the file."""
    row = session.get(ArubaInvoice, invoice_id)
    if row is None or row.direction != records.OUT or row.status != records.TAKEN_IN_CHARGE:
        return
    account = session.get(Account, row.account_id)
    failure = checks.processing_failure(sandbox.engine.validator, account, row.filename, row.content, at)
    if failure is not None or account is None:
        row.status = records.PROCESSING_ERROR
        row.status_description = failure
    else:
        reception = sandbox.engine.receive(
            session,
            file_name=row.filename,
            content=row.content,
            channel=CHANNEL,
            sender_account_id=account.id,
            at=at,
        )
        row.invoice = reception.invoice
        row.status = records.SENT
    row.updated_at = at
    session.flush()
    callbacks.invoice_status_changed(sandbox, session, row, at)
