"""Which tables changed since a value was read: lets hot paths keep facts of the store in memory.

``TableVersions`` listens to every statement the engine runs: an INSERT, UPDATE or DELETE on a watched
table marks it touched on its connection, and the commit (or rollback) of that connection moves the
table's version on. Any write path counts (ORM flushes, Core bulk inserts, raw SQL).

Writes of other processes sharing a SQLite file are noticed by ``notice_shared_writes`` (the
sandbox's ticker calls it every second): when ``PRAGMA data_version``, read on a connection of its own,
says another connection committed since the last call, every stamp moves. So what another process
writes is seen within a second; this process's own writes are seen at once.

A value computed from the store is good while the stamp read *before* the computation is unchanged
(``VersionedValue``, ``VersionedCache``): whatever changed after the read moves the stamp.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")
Stamp = tuple[int, ...]


class TableVersions:
    def __init__(self, engine: Engine, tables: Iterable[str] = ()) -> None:
        self._versions: dict[str, int] = dict.fromkeys(tables, 0)
        self._lock = threading.Lock()
        self._file = _sqlite_file(engine)
        self._watcher: sqlite3.Connection | None = None
        self._seen: int | None = None
        self._epoch = 0  # moved by writes noticed on the watcher (other connections' commits)
        event.listen(engine, "after_cursor_execute", self._after_execute)
        event.listen(engine, "commit", self._settle)
        event.listen(engine, "rollback", self._settle)

    def watch(self, *tables: str) -> None:
        with self._lock:
            for table in tables:
                self._versions.setdefault(table, 0)

    def of(self, *tables: str) -> Stamp:
        return (*(self._versions[table] for table in tables), self._epoch)

    def bump(self, *tables: str) -> None:
        with self._lock:
            for table in tables or tuple(self._versions):
                self._versions[table] += 1

    def notice_shared_writes(self) -> bool:
        """Move every stamp if another connection committed to the file since the last call."""
        if self._file is None:
            return False
        with self._lock:
            if self._watcher is None:
                self._watcher = sqlite3.connect(self._file, check_same_thread=False, isolation_level=None)
            seen = self._watcher.execute("PRAGMA data_version").fetchone()[0]
            changed = self._seen is not None and seen != self._seen
            self._seen = seen
            if changed:
                self._epoch += 1
            return changed

    def close(self) -> None:
        with self._lock:
            if self._watcher is not None:
                self._watcher.close()
                self._watcher = None
            self._file = None

    def _after_execute(
        self, connection: Connection, _cursor: Any, statement: str, *_args: Any
    ) -> None:
        if statement.lstrip()[:6].upper() not in _WRITES:
            return
        touched = [table for table in self._versions if table in statement]
        if touched:
            connection.info.setdefault("touched_tables", set()).update(touched)
            self.bump(*touched)  # now, and again when it is committed or rolled back

    def _settle(self, connection: Connection) -> None:
        touched = connection.info.pop("touched_tables", None)
        if touched:
            self.bump(*touched)


def _sqlite_file(engine: Engine) -> str | None:
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return url.database


class VersionedValue(Generic[T]):
    """A value computed from the store, kept while the versions of ``tables`` stay where they were."""

    def __init__(self, versions: TableVersions, *tables: str) -> None:
        versions.watch(*tables)
        self._versions, self._tables = versions, tables
        # One tuple, replaced whole: threads never see a value with another value's stamp.
        self._entry: tuple[Stamp, T] | None = None

    def get(self, compute: Callable[[], T]) -> T:
        stamp = self._versions.of(*self._tables)
        entry = self._entry
        if entry is not None and entry[0] == stamp:
            return entry[1]
        value = compute()
        self._entry = (stamp, value)
        return value

    def peek(self) -> tuple[bool, T | None]:
        """(still valid?, the value) without computing anything."""
        entry = self._entry
        if entry is None or entry[0] != self._versions.of(*self._tables):
            return False, None
        return True, entry[1]


class VersionedCache(Generic[K, T]):
    """Values by key, each kept while the versions of ``tables`` stay as they were when it was
    computed; at most ``size`` keys (the least recently used go first)."""

    def __init__(self, versions: TableVersions, *tables: str, size: int = 4096) -> None:
        versions.watch(*tables)
        self._versions, self._tables, self._size = versions, tables, size
        self._entries: OrderedDict[K, tuple[Stamp, T]] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: K) -> T | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != self._versions.of(*self._tables):
            return None
        return entry[1]

    def get(self, key: K, compute: Callable[[], T]) -> T:
        stamp = self._versions.of(*self._tables)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == stamp:
            return entry[1]
        value = compute()
        with self._lock:
            self._entries[key] = (stamp, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value
