"""Bulk seeding by template replication: thousands of invoices a second, each as the create path makes it.

For each class of the plan (account, direction, PA/B2B, outcome) one template invoice goes through the
real create path at the start of the history, and the lifecycle runs on it; the rows it owns in every
table are captured at each step of that lifecycle (a *stage*: its age, its rows). Every other planned
invoice is a clone of its class's template at the stage its age has reached by the end of the history:
the same rows written with Core ``insert()`` in large transactions, with new primary keys (foreign keys
follow), instants shifted, and the per-invoice values substituted wherever they occur (SDI id, message
ids, file names, ProgressivoInvio, Easy Tracking's progressivi, invoice number, dates, file hash).
Events a young clone still has pending are written pending, due after the history's end, so the engine
applies them when the clock gets there, as for any invoice.

SDI notifications are stored unsigned (``SdiNotification.signed`` False) and signed when read: signing
each one would cost more than the rest of the seed. Clients see the same bytes (``signing.client_bytes``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Table, func, or_, select
from sqlalchemy.orm import Session

from emulator.core.ids import base36
from emulator.core.store import Base, Sequence, UTCDateTime
from emulator.sdi.signing import unsigned_bytes

ROME = ZoneInfo("Europe/Rome")
ROWS_PER_TRANSACTION = 20_000
# Tables whose rows belong to one invoice; only these are captured and cloned.
INVOICE_TABLES = (
    "sdi_invoices",
    "easytracking_documents",
    "sdi_events",
    "sdi_notifications",
    "easytracking_notifications",
    "easytracking_passive_invoices",
)
# Integer columns drawn from a named sequence by the create path (the sequences row advances by N).
SEQUENCE_COLUMNS: dict[tuple[str, str], str] = {
    ("sdi_invoices", "sdi_id"): "sdi_id",
    ("sdi_notifications", "message_id"): "message_id",
    ("easytracking_documents", "progressivo_sdi"): "easytracking_progressivo_sdi",
    ("easytracking_passive_invoices", "id"): "easytracking_passive_doc_id",
    ("easytracking_passive_invoices", "unsigned_number"): "easytracking_unsigned_file",
}
_INSTANT = re.compile(
    rb"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?)?"
)
_INSTANT_TEXT = (
    rb"(?<![\d])\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?)?(?![\d])"
)


@dataclass
class Stage:
    age: float  # seconds after the template's creation from which its rows look like this
    rows: dict[str, list[dict[str, Any]]]
    compiled: Compiled | None = None


@dataclass
class Template:
    created: datetime
    stages: list[Stage] = field(default_factory=list)

    def stage_at(self, age: float) -> Stage:
        chosen = self.stages[0]
        for stage in self.stages:
            if stage.age <= age:
                chosen = stage
        return chosen


def tables() -> dict[str, Table]:
    return {name: Base.metadata.tables[name] for name in INVOICE_TABLES if name in Base.metadata.tables}


def max_ids(session: Session) -> dict[str, int]:
    return {
        name: int(session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
        for name, table in tables().items()
    }


def capture(
    session: Session,
    since: dict[str, int],
    owners: dict[tuple[str, int], int],
    invoices: set[int] | None = None,
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """The rows of the templates, by template: ``owners`` maps (table, id) → template and learns the
    new rows through their foreign keys; ``invoices``: only the rows of these SDI invoices."""
    captured: dict[int, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    mine: dict[str, set[int]] = defaultdict(set)
    for name, table in tables().items():
        query = select(table).where(table.c.id > since[name]).order_by(table.c.id)
        if invoices is not None:
            if name == "sdi_invoices":
                query = query.where(table.c.id.in_(invoices))
            else:
                links = [
                    column.in_(mine[fk.column.table.name])
                    for column in table.columns
                    for fk in column.foreign_keys
                    if fk.column.table.name in mine
                ]
                if not links:
                    continue
                query = query.where(or_(*links))
        for row in session.execute(query):
            values = dict(row._mapping)
            owner = owners.get((name, values["id"]))
            if owner is None:
                for column in table.columns:
                    for fk in column.foreign_keys:
                        target = (fk.column.table.name, values[column.name])
                        if target in owners:
                            owner = owners[target]
            if owner is None:
                continue
            owners[(name, values["id"])] = owner
            mine[name].add(values["id"])
            if name == "sdi_notifications" and values["signed"]:
                unsigned = unsigned_bytes(values["content"])
                values["signed"] = unsigned == values["content"]
                values["content"] = unsigned
            captured[owner][name].append(values)
    return captured


class Counters:
    """The store's sequences and id ranges, advanced in memory and written back once."""

    def __init__(self, session: Session) -> None:
        self.sequences = {s.name: s.value for s in session.execute(select(Sequence)).scalars()}
        self.ids = max_ids(session)
        self.touched: set[str] = set()

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def next_value(self, name: str, start: int) -> int:
        self.touched.add(name)
        value = self.sequences[name] + 1 if name in self.sequences else start
        self.sequences[name] = value
        return value

    def save(self, session: Session) -> None:
        for name in self.touched:
            row = session.get(Sequence, name)
            if row is None:
                session.add(Sequence(name=name, value=self.sequences[name]))
            else:
                row.value = self.sequences[name]


def _shift_instant(text: bytes, delta: timedelta, days: timedelta) -> bytes:
    """An ISO date or date-time of the template's, moved to the clone's: a date by whole Rome days,
    an instant by ``delta`` and written in the same form (UTC or Rome offset, same fraction digits)."""
    match = _INSTANT.fullmatch(text)
    assert match is not None
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    if match[4] is None:
        return (date(year, month, day) + days).isoformat().encode()
    hour, minute, second = int(match[4]), int(match[5]), int(match[6])
    fraction, zone = match[7] or b"", match[8]
    micro = int((fraction[1:] + b"000000")[:6]) if fraction else 0
    local = datetime(year, month, day, hour, minute, second, micro)
    if zone == b"Z":
        moved = (local.replace(tzinfo=UTC) + delta).astimezone(UTC)
    else:
        moved = (local.replace(tzinfo=ROME).astimezone(UTC) + delta).astimezone(ROME)
    out = moved.strftime("%Y-%m-%dT%H:%M:%S").encode()
    if fraction:
        out += b"." + f"{moved.microsecond:06d}".encode()[: len(fraction) - 1]
    if zone == b"Z":
        out += b"Z"
    elif zone is not None:
        offset = moved.strftime("%z")
        out += f"{offset[:3]}:{offset[3:]}".encode()
    return out


def stored_name(received: datetime, sdi_id: int, file_name: str) -> str:
    """Easy Tracking's storage name of a passive invoice, as ``passive._stored_name`` makes it."""
    local = received.astimezone(ROME)
    stamp = local.strftime("%Y%m%d_%H%M%S") + f"{local.microsecond // 1000:03d}"
    tag = hashlib.sha1(f"{sdi_id}".encode()).hexdigest()[:2]
    return f"{stamp}.{tag}_{file_name}"


def caricamento(account_id: int, received: datetime) -> tuple[str, int]:
    """The sequence of an account's yearly upload numbers (passive.py) and its start."""
    year = received.astimezone(ROME).year % 100
    return f"easytracking_caricamento_{account_id}_{year:02d}", year * 1_000_000 + 1


@dataclass
class Compiled:
    """A stage ready to clone: every text value split into literal parts and the template's own
    per-invoice values (odd positions), which each clone maps to its own."""

    cells: list[tuple[str, int, str, str, Any]]  # (table, row index, column, kind, value or parts)
    instants: list[bytes]
    hash: bytes


def _tokens(rows: dict[str, list[dict[str, Any]]]) -> list[bytes]:
    invoice = rows["sdi_invoices"][0]
    tokens = [str(invoice["sdi_id"]).encode(), invoice["hash"].encode()]
    if invoice["number"]:
        tokens.append(invoice["number"].encode())
    if invoice["progressive"]:
        tokens += [
            b">" + invoice["progressive"].encode() + b"<",
            b"_" + invoice["progressive"].encode() + b".",
        ]
    for document in rows.get("easytracking_documents", []):
        if document["progressivo_sdi"] is not None:
            old = document["progressivo_sdi"]
            tokens += [f">{old}<".encode(), f"_{base36(old)[-5:]}".encode()]
    tokens += [n["message_id"].encode() for n in rows.get("sdi_notifications", [])]
    return tokens


def compile_stage(stage: Stage) -> Compiled:
    tokens = sorted(set(_tokens(stage.rows)), key=len, reverse=True)
    pattern = re.compile(b"(" + b"|".join(re.escape(t) for t in tokens) + b"|" + _INSTANT_TEXT + b")")
    instants: set[bytes] = set()
    cells: list[tuple[str, int, str, str, Any]] = []
    table_of = tables()

    def split(data: bytes) -> list[bytes]:
        parts = pattern.split(data)
        instants.update(p for p in parts[1::2] if _INSTANT.fullmatch(p))
        return parts

    for name, table_rows in stage.rows.items():
        table = table_of[name]
        for index, row in enumerate(table_rows):
            for column in table.columns:
                value = row[column.name]
                if value is None:
                    cells.append((name, index, column.name, "copy", None))
                elif (name, column.name) in SEQUENCE_COLUMNS or (name, column.name) in _SUBSTITUTED:
                    cells.append((name, index, column.name, "value", value))
                elif column.name == "id":
                    cells.append((name, index, "id", "id", value))
                elif column.foreign_keys:
                    target = next(iter(column.foreign_keys)).column.table.name
                    kind = "fk:" + target if target in table_of else "copy"
                    cells.append((name, index, column.name, kind, value))
                elif isinstance(column.type, UTCDateTime):
                    cells.append((name, index, column.name, "instant", value))
                elif isinstance(value, dict | list):
                    cells.append((name, index, column.name, "json", split(json.dumps(value).encode())))
                elif isinstance(value, bytes):
                    cells.append((name, index, column.name, "bytes", split(value)))
                elif isinstance(value, str):
                    cells.append((name, index, column.name, "str", split(value.encode())))
                elif column.name == "year" and isinstance(column.type, Integer):
                    cells.append((name, index, column.name, "year", value))
                else:
                    cells.append((name, index, column.name, "copy", value))
    # The invoice file first: its hash is known once it is made.
    cells.sort(key=lambda cell: (cell[0], cell[2]) != ("sdi_invoices", "content"))
    return Compiled(cells, sorted(instants), stage.rows["sdi_invoices"][0]["hash"].encode())


# Columns whose value a clone takes from the values it draws (not by substituting text).
_SUBSTITUTED = {("sdi_invoices", "progressive"), ("easytracking_documents", "progressivo_invio")}


def _join(parts: list[bytes], mapping: dict[bytes, bytes]) -> bytes:
    if len(parts) == 1:
        return parts[0]
    out = parts[:]
    out[1::2] = [mapping.get(p, p) for p in parts[1::2]]
    return b"".join(out)


def clone(
    template: Template,
    stage: Stage,
    created: datetime,
    counters: Counters,
    number: str,
    progressive: str,
) -> dict[str, list[dict[str, Any]]]:
    """The rows of one clone of ``template`` at ``stage``, made ``created``."""
    compiled = stage.compiled
    if compiled is None:
        compiled = stage.compiled = compile_stage(stage)
    delta = created - template.created
    days = created.astimezone(ROME).date() - template.created.astimezone(ROME).date()
    rows = stage.rows
    invoice = rows["sdi_invoices"][0]
    mapping: dict[bytes, bytes] = {i: _shift_instant(i, delta, days) for i in compiled.instants}
    values: dict[tuple[str, str], Any] = {}
    new_ids: dict[tuple[str, int], int] = {}
    for name, table_rows in rows.items():
        for row in table_rows:
            new_ids[(name, row["id"])] = counters.next_id(name)
    sdi_id = counters.next_value("sdi_id", 1)
    mapping[str(invoice["sdi_id"]).encode()] = str(sdi_id).encode()
    values[("sdi_invoices", "sdi_id")] = sdi_id
    if invoice["number"]:
        mapping[invoice["number"].encode()] = number.encode()
    if invoice["progressive"]:
        old_progressive = invoice["progressive"].encode()
        mapping[b">" + old_progressive + b"<"] = b">" + progressive.encode() + b"<"
        mapping[b"_" + old_progressive + b"."] = b"_" + progressive.encode() + b"."
        values[("sdi_invoices", "progressive")] = progressive
    for document in rows.get("easytracking_documents", []):
        old = document["progressivo_sdi"]
        if old is not None:
            new = counters.next_value("easytracking_progressivo_sdi", 2_275_500)
            values[("easytracking_documents", "progressivo_sdi")] = new
            mapping[f">{old}<".encode()] = f">{new}<".encode()
            mapping[f"_{base36(old)[-5:]}".encode()] = f"_{base36(new)[-5:]}".encode()
        values[("easytracking_documents", "progressivo_invio")] = (
            progressive
            if document["progressivo_invio"] == invoice["progressive"]
            else document["progressivo_invio"]
        )
    messages: dict[str, str] = {}
    for notification in rows.get("sdi_notifications", []):
        new_message = str(counters.next_value("message_id", 1))
        messages[notification["message_id"]] = new_message
        mapping[notification["message_id"].encode()] = new_message.encode()
    year = created.astimezone(ROME).year
    out: dict[str, list[dict[str, Any]]] = {
        name: [{} for _ in table_rows] for name, table_rows in rows.items()
    }
    for name, index, column, kind, value in compiled.cells:
        target = out[name][index]
        if kind == "copy":
            target[column] = value
        elif kind == "id":
            target[column] = new_ids[(name, value)]
        elif kind == "instant":
            target[column] = value + delta
        elif kind == "bytes":
            target[column] = _join(value, mapping)
            if column == "content" and name == "sdi_invoices":
                mapping[compiled.hash] = hashlib.sha256(target[column]).hexdigest().encode()
        elif kind == "str":
            target[column] = _join(value, mapping).decode()
        elif kind == "json":
            target[column] = json.loads(_join(value, mapping))
        elif kind == "value":
            if column == "message_id":
                target[column] = messages[value]
            else:
                target[column] = values.get((name, column), value)
        elif kind == "year":
            target[column] = year
        else:  # a foreign key
            target[column] = new_ids.get((kind[3:], value), value)
    for passive in out.get("easytracking_passive_invoices", []):
        # The intermediary's own numbering, from its sequences, as passive.py assigns it.
        passive["id"] = counters.next_value("easytracking_passive_doc_id", passive["id"])
        unsigned = counters.next_value("easytracking_unsigned_file", passive["unsigned_number"])
        passive["unsigned_number"] = unsigned
        sequence, start = caricamento(passive["account_id"], passive["received_at"])
        passive["progressivo_annuale"] = counters.next_value(sequence, start)
        file_name = out["sdi_invoices"][0]["file_name"]
        passive["stored_file_name"] = stored_name(passive["received_at"], sdi_id, file_name)
    return out


def write(session: Session, batch: dict[str, list[dict[str, Any]]]) -> None:
    """The rows with one driver-level executemany per table: the columns' own bind processors (the
    stored forms of instants, JSON, booleans), without Core's per-row statement handling."""
    connection = session.connection()
    dialect = connection.dialect
    table_of = tables()
    for name in INVOICE_TABLES:
        rows = batch.get(name)
        if not rows:
            continue
        columns = list(table_of[name].columns)
        processors = [c.type._cached_bind_processor(dialect) for c in columns]
        names = [c.name for c in columns]
        quoted = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
        sql = f"INSERT INTO {name} ({quoted}) VALUES ({', '.join('?' * len(names))})"
        values = [
            tuple(
                value if process is None or value is None else process(value)
                for value, process in zip((row[n] for n in names), processors, strict=True)
            )
            for row in rows
        ]
        connection.exec_driver_sql(sql, values)


@dataclass
class BigCache:
    """A big page cache while one seed transaction writes, restored after. (``synchronous`` stays:
    the store runs WAL with synchronous=NORMAL, no fsync per commit, and SQLite refuses to change
    it inside a transaction.)"""

    session: Session
    saved: int = 0

    def __enter__(self) -> BigCache:
        connection = self.session.connection()
        self.saved = int(connection.exec_driver_sql("PRAGMA cache_size").scalar() or 0)
        connection.exec_driver_sql("PRAGMA cache_size=-262144")
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.connection().exec_driver_sql(f"PRAGMA cache_size={self.saved}")
