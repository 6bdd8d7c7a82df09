"""Persistent state of one sandbox instance: SQLAlchemy over SQLite (file or memory) or any URL.

Every model of every package registers on ``Base``; ``Store`` owns the engine, serialises writes
(SQLite allows one writer) and knows how to wipe everything for ``POST /_sandbox/reset``.

A database written by an earlier version keeps its data: tables it lacks are created, and columns
its tables lack are added (``add_missing_columns``) with the column's default for the rows already
there. Columns are only ever added, never changed or dropped, so this is all the migration the
schema needs as long as models only grow.

Several processes (``serve`` workers) may share one SQLite file. What is shared is what is in the
database: every write transaction begins IMMEDIATE (the file's write lock, waited for up to
``BUSY_TIMEOUT_MS``), so sequences (``next_value``), the start count behind each process's id
generation, the meta anchors and every resource are read and written without lost or duplicated
updates, and no "database is locked" reaches a client short of a 30 s wait. What each process keeps
in memory is its own: the virtual clock (loaded from the meta anchors at start, so moving or freezing
time through one process is not seen by the others until they restart) and any cache a process
keeps of what is stored (fault rules, journal and accounts are rows, shared; a cached copy is not).
Each process runs its own ticker over the due work; the write lock keeps one event from running
twice. A multi-process deployment therefore suits a sandbox
whose clock is left alone; tests that drive time belong on a single process.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    String,
    Text,
    TypeDecorator,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Meta(Base):
    """Small key/value facts of the instance: clock anchors, signing key, sequences."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Sequence(Base):
    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


# Keys of Meta that survive a reset: they describe the instance, not its state.
PERSISTENT_META_KEYS = frozenset(
    {"clock_virtual_anchor", "clock_wall_anchor", "signer_key", "signer_cert", "starts"}
)


BUSY_TIMEOUT_MS = 30_000

# Execution option marking a read-only transaction: it begins deferred (BEGIN), not IMMEDIATE.
_READ_ONLY = "fattura_sandbox_read_only"


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        memory = ":memory:" in url or url in ("sqlite://", "sqlite:///")
        if memory:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling begins late (at the first write) and deferred;
            # SQLAlchemy's documented recipe hands BEGIN to the "begin" event below instead.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            # A write transaction takes the database's write lock when it starts: a deferred one
            # that read first and then writes fails at once with SQLITE_BUSY when another process
            # wrote in between (WAL), whatever the busy timeout; an immediate one waits its turn.
            read_only = connection.get_execution_options().get(_READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )
        self._lock = threading.RLock()
        with self.engine.begin() as connection:
            # In one (immediate) transaction: processes starting together on a new file do not
            # race to create the same table or add the same column.
            Base.metadata.create_all(connection)
            add_missing_columns(connection)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed on success, rolled back on any exception.

        On SQLite it holds the database's write lock from its first statement to its end (other
        processes' writers wait, up to ``BUSY_TIMEOUT_MS``), so a read-then-write cannot be
        overtaken by another process and nothing it reads goes stale before it commits.
        """
        with self._lock, self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work: a consistent snapshot, rolled back at the end.

        It does not take the write lock (a deferred BEGIN) so, on a SQLite file in WAL mode, reads
        run alongside a writer. Writing in it is a programming error (it may fail with
        SQLITE_BUSY under another process's write); use ``transaction()`` for that.
        """
        if self._shares_one_connection():
            lock: Any = self._lock
        else:
            lock = nullcontext()
        with lock, self._read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def _shares_one_connection(self) -> bool:
        return isinstance(self.engine.pool, StaticPool)

    def wipe(self) -> None:
        """Delete every row of every table except the instance facts in PERSISTENT_META_KEYS."""
        with self.transaction() as session:
            for table in reversed(Base.metadata.sorted_tables):
                if table.name == Meta.__tablename__:
                    session.execute(table.delete().where(table.c.key.not_in(PERSISTENT_META_KEYS)))
                else:
                    session.execute(table.delete())

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (after a bulk write: a big log makes the
        next reader's first queries slow). Nothing to do for a database in memory or another engine."""
        if not self.url.startswith("sqlite") or self._shares_one_connection():
            return
        with self._lock:
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                cursor.close()
            finally:
                raw.close()

    def dispose(self) -> None:
        self.engine.dispose()


def add_missing_columns(bind: Engine | Connection) -> list[str]:
    """Add to existing tables the columns the models have and they lack → ``["table.column", ...]``."""
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            return add_missing_columns(connection)
    existing = inspect(bind)
    added: list[str] = []
    for table in Base.metadata.sorted_tables:
        present = {c["name"] for c in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                bind.execute(text(_add_column_sql(bind.engine, table.name, column)))
                added.append(f"{table.name}.{column.name}")
    return added


def _add_column_sql(engine: Engine, table: str, column: Column[Any]) -> str:
    preparer = engine.dialect.identifier_preparer
    kind = column.type.compile(dialect=engine.dialect)
    sql = f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {preparer.quote(column.name)} {kind}"
    scalar = column.default is not None and column.default.is_scalar
    default = getattr(column.default, "arg", None) if scalar else None
    if isinstance(default, bool):
        default = int(default)
    if isinstance(default, int | float):
        sql += f" DEFAULT {default}"
    elif isinstance(default, str):
        sql += " DEFAULT '" + default.replace("'", "''") + "'"
    # A NOT NULL column can be added to rows that exist only with a default; without one it stays
    # nullable in the old database (the models always write it).
    if not column.nullable and default is not None:
        sql += " NOT NULL"
    return sql


def get_meta(session: Session, key: str) -> str | None:
    row = session.get(Meta, key)
    return None if row is None else row.value


def set_meta(session: Session, key: str, value: str) -> None:
    row = session.get(Meta, key)
    if row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value


def instance_secret(session: Session, key: str) -> str:
    """A random secret kept under ``key`` (made on first use; a reset wipes it, so tokens die)."""
    value = get_meta(session, key)
    if value is None:
        value = secrets.token_hex(32)
        set_meta(session, key, value)
    return value


def next_value(session: Session, name: str, start: int = 1) -> int:
    """Next number of a named sequence (persisted, so ids never repeat across restarts)."""
    row = session.execute(select(Sequence).where(Sequence.name == name)).scalar_one_or_none()
    if row is None:
        session.add(Sequence(name=name, value=start))
        session.flush()
        return start
    row.value += 1
    return row.value


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware instants stored as naive UTC (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)
