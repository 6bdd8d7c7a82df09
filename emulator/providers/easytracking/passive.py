"""Easy Tracking passive cycle (document "Web Service Easy Tracking" passive, routes v2–v10).

One function per documented call; no Flask here. An invoice the SDI delivers (its MT addressed to
an Easy Tracking account) becomes a passive document with its own docId.

Decisions where the document is silent (written down in the README too):
- ``fileName`` in the list is the SDI file name; in the zip the original file (FA) carries the
  intermediary's storage prefix ``<yyyyMMdd_HHmmssfff>.<2 hex>_`` as the document's example shows,
  so a client must match files through ``indice.json`` ids, not names.
- Before route v4 the unsigned copy (FU) is zipped only when the original is signed; from v4 it is
  always there ("contiene sempre anche il file non firmato").
- FI ("fattura intermediario") is not described beyond its name: the sandbox serves the unsigned
  FatturaPA as the intermediary keeps it, named after FU with an ``_FI`` suffix.
- ``countryChannel`` is always 0 (Italy): the sandbox's SDI is the only channel it simulates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from emulator.core.clock import ROME
from emulator.core.errors import BadRequest, Forbidden
from emulator.core.store import next_value
from emulator.core.tenancy import Account
from emulator.providers.easytracking import jobs
from emulator.providers.easytracking.jobs import JobDownload
from emulator.providers.easytracking.listing import (
    ListColumns,
    list_body,
    list_filter,
    local_time,
    raw,
    shared_fields,
)
from emulator.providers.easytracking.models import EtPassiveInvoice
from emulator.providers.easytracking.queries import ListQuery, id_list, route_number
from emulator.providers.easytracking.service import INTERMEDIARY_VAT
from emulator.sdi.engine import SdiEngine, delivered_to
from emulator.sdi.models import SdiInvoice, SdiNotification
from emulator.sdi.notifications import MessageType, notification_file_name

PROVIDER = "easytracking"
PASSIVE_JOB = "passive-invoices"
COUNTRY_CHANNEL_ITALY = 0
# The request field of jobs-select-type that asks for each file type (§6).
SELECTABLE_TYPES = {
    "fatturaOriginale": "FA",
    "metadatoSDI": "MT",
    "fatturaNonFirmata": "FU",
    "fatturaIntermediario": "FI",
}
FILE_TYPE_ORDER = ("FA", "MT", "FU", "FI")
PASSIVE_COLUMNS = ListColumns(
    vat=SdiInvoice.customer_vat,
    fiscal_code=SdiInvoice.customer_cf,
    fase1=EtPassiveInvoice.fase1,
    fase2=EtPassiveInvoice.fase2,
    date=SdiInvoice.date,
    received_at=EtPassiveInvoice.received_at,
)
FIRST_DOC_ID = 4_574_600
FIRST_UNSIGNED_NUMBER = 4_581_900


# -- delivery ----------------------------------------------------------------------------------


def on_sdi_notification(session: Session, notification: SdiNotification) -> None:
    """Engine listener: the MT that accompanies a delivery makes the invoice a passive document."""
    invoice = notification.invoice
    account = delivered_to(session, notification, PROVIDER)
    if account is None:
        return
    exists = session.execute(
        select(EtPassiveInvoice.id).where(
            EtPassiveInvoice.account_id == account.id, EtPassiveInvoice.invoice_id == invoice.id
        )
    ).first()
    if exists:
        return
    received = notification.emitted_at
    local = received.astimezone(ROME)
    year = local.year % 100
    session.add(
        EtPassiveInvoice(
            id=next_value(session, "easytracking_passive_doc_id", start=FIRST_DOC_ID),
            account_id=account.id,
            invoice_id=invoice.id,
            metadata_id=notification.id,
            received_at=received,
            stored_file_name=_stored_name(invoice, local),
            unsigned_number=next_value(session, "easytracking_unsigned_file", start=FIRST_UNSIGNED_NUMBER),
            progressivo_annuale=next_value(
                session, f"easytracking_caricamento_{account.id}_{year:02d}", start=year * 1_000_000 + 1
            ),
            country_channel=COUNTRY_CHANNEL_ITALY,
        )
    )
    session.flush()


def _stored_name(invoice: SdiInvoice, local: datetime) -> str:
    """``20230619_141959147.a7_IT06628860964_9FKju.xml.p7m``: the intermediary's storage name."""
    stamp = local.strftime("%Y%m%d_%H%M%S") + f"{local.microsecond // 1000:03d}"
    tag = hashlib.sha1(f"{invoice.sdi_id}".encode()).hexdigest()[:2]
    return f"{stamp}.{tag}_{invoice.file_name}"


# -- list (§4) -----------------------------------------------------------------------------------


def passive_invoices(session: Session, account: Account, route: str, query: ListQuery) -> list[bytes]:
    """The JSON body in pieces; only the listed columns are read, a chunk of rows at a time."""
    version = route_number(route)
    return list_body(session, _filtered(account, query), query.top, lambda row: _item(row, version))


def _filtered(account: Account, query: ListQuery) -> Select[*tuple[Any, ...]]:
    statement: Select[*tuple[Any, ...]] = (
        select(
            SdiInvoice.supplier_vat,
            SdiInvoice.supplier_cf,
            SdiInvoice.customer_vat,
            SdiInvoice.customer_cf,
            SdiInvoice.date,
            SdiInvoice.number,
            SdiInvoice.document_type,
            EtPassiveInvoice.id,
            SdiInvoice.sdi_id,
            raw(EtPassiveInvoice.received_at),
            SdiInvoice.file_name,
            EtPassiveInvoice.progressivo_annuale,
            EtPassiveInvoice.country_channel,
        )
        .join(SdiInvoice, EtPassiveInvoice.invoice_id == SdiInvoice.id)
        .where(EtPassiveInvoice.account_id == account.id)
        .order_by(EtPassiveInvoice.id)
    )
    return list_filter(statement, PASSIVE_COLUMNS, query)


def _item(row: Sequence[Any], version: int) -> dict[str, object]:
    doc_id, sdi_id, received_at, file_name, progressivo_annuale, country_channel = row[7:]
    item: dict[str, object] = {"id": doc_id, **shared_fields(row)}
    if version >= 3:
        item["sdiId"] = str(sdi_id)
        item["dataRicezione"] = local_time(received_at)
        item["fileName"] = file_name
    if version >= 9:
        item["progressivoAnnualeCaricamento"] = progressivo_annuale
        item["countryChannel"] = country_channel
    return item


# -- jobs (§5–§7) ------------------------------------------------------------------------------


def book(session: Session, engine: SdiEngine, account: Account, route: str, payload: Any, delay: int) -> str:
    """jobs: FA, MT and FU (FU only for signed originals before v4)."""
    documents = _owned(session, account, payload)
    types = ["FA", "MT", "FU"]
    options = {"types": types, "fu_when_signed_only": route_number(route) < 4}
    return jobs.book(session, engine, account, PASSIVE_JOB, [d.id for d in documents], delay, options)


def book_select_type(session: Session, engine: SdiEngine, account: Account, payload: Any, delay: int) -> str:
    """jobs-select-type (v5+): the file types the four booleans ask for; all false → 400."""
    chosen = _chosen_types(payload)
    documents = _owned(session, account, payload)
    options = {"types": chosen, "fu_when_signed_only": False}
    return jobs.book(session, engine, account, PASSIVE_JOB, [d.id for d in documents], delay, options)


def _chosen_types(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        raise BadRequest("The request body must be a JSON object with the list 'docIds'")
    chosen = []
    for field, file_type in SELECTABLE_TYPES.items():
        value = payload.get(field, False)
        if not isinstance(value, bool):
            raise BadRequest(f"The value {value!r} is not valid for {field}: true or false is required")
        if value:
            chosen.append(file_type)
    if not chosen:
        raise BadRequest(
            "At least one of fatturaOriginale, metadatoSDI, fatturaNonFirmata and fatturaIntermediario "
            "must be true"
        )
    return chosen


def download(session: Session, engine: SdiEngine, account: Account, raw_id: str) -> JobDownload:
    job = jobs.take(session, engine, account, raw_id, PASSIVE_JOB)
    if job is None:
        return JobDownload(ready=False)
    files: list[tuple[str, bytes]] = []
    index: list[Mapping[str, object]] = []
    # One query for the documents with their invoice and metadata file, in the job's order.
    found = {
        d.id: d
        for d in session.execute(
            select(EtPassiveInvoice)
            .where(EtPassiveInvoice.id.in_(job.items))
            .options(joinedload(EtPassiveInvoice.invoice), joinedload(EtPassiveInvoice.metadata_file))
        ).scalars()
    }
    for document in (found[i] for i in job.items if i in found):
        for file in _files(document, job.options):
            files.append((file.name, file.content))
            index.append({"id": document.id, "fileName": file.name, "fileType": file.type})
    return JobDownload(ready=True, content=jobs.zip_archive(files, index))


@dataclass(frozen=True)
class _File:
    type: str
    name: str
    content: bytes


def _files(document: EtPassiveInvoice, options: Mapping[str, Any]) -> list[_File]:
    invoice = document.invoice
    types = set(options.get("types", ()))
    signed = invoice.file_name.lower().endswith(".p7m")
    unsigned_name = f"IT{INTERMEDIARY_VAT}_{document.unsigned_number}"
    unsigned = invoice.xml or invoice.content
    every = {
        "FA": _File("FA", document.stored_file_name, invoice.content),
        "MT": _File(
            "MT",
            notification_file_name(document.stored_file_name, MessageType.MT, 1),
            document.metadata_file.content,
        ),
        "FU": _File("FU", f"{unsigned_name}.xml", unsigned),
        "FI": _File("FI", f"{unsigned_name}_FI.xml", unsigned),
    }
    if options.get("fu_when_signed_only") and not signed:
        types.discard("FU")
    return [every[t] for t in FILE_TYPE_ORDER if t in types]


# -- fase flags (§8–§11) -------------------------------------------------------------------------


def set_fase(session: Session, account: Account, payload: Any, *, fase: int, value: bool) -> None:
    for document in _owned(session, account, payload):
        setattr(document, f"fase{fase}", value)


def _owned(session: Session, account: Account, payload: Any) -> list[EtPassiveInvoice]:
    """The caller's documents named by docIds; any unknown or foreign id → 403 (§5, §8)."""
    ids = id_list(payload, "docIds", integers=True)
    found = {
        d.id: d
        for d in session.execute(
            select(EtPassiveInvoice).where(
                EtPassiveInvoice.id.in_(ids), EtPassiveInvoice.account_id == account.id
            )
        ).scalars()
    }
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise Forbidden(f"One or more document ids not found or not permitted: {', '.join(missing)}")
    return [found[i] for i in ids]
