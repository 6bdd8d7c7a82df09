"""core.versions: values kept in memory are recomputed after any write to their tables, whoever made it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from emulator.core.store import Store
from emulator.core.versions import TableVersions, VersionedCache, VersionedValue


def _store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    with store.transaction() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS watched (n INTEGER)"))
        session.execute(text("CREATE TABLE IF NOT EXISTS other (n INTEGER)"))
    return store


def test_a_value_is_kept_until_its_table_is_written(tmp_path: Path) -> None:
    store = _store(tmp_path)
    versions = TableVersions(store.engine)
    value: VersionedValue[int] = VersionedValue(versions, "watched")
    computed: list[int] = []

    def compute() -> int:
        computed.append(1)
        return len(computed)

    assert value.get(compute) == 1
    assert value.get(compute) == 1
    with store.transaction() as session:
        session.execute(text("INSERT INTO other (n) VALUES (1)"))  # another table: still good
    assert value.get(compute) == 1
    with store.transaction() as session:
        session.execute(text("INSERT INTO watched (n) VALUES (1)"))
    assert value.peek() == (False, None)
    assert value.get(compute) == 2
    with store.transaction() as session:
        session.execute(text("UPDATE watched SET n = 2"))
    assert value.get(compute) == 3
    with store.transaction() as session:
        session.execute(text("DELETE FROM watched"))
    assert value.get(compute) == 4
    versions.close()
    store.dispose()


def test_a_write_that_commits_after_the_value_was_read_still_invalidates_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    versions = TableVersions(store.engine)
    cache: VersionedCache[str, int] = VersionedCache(versions, "watched")
    with store.engine.connect() as connection:
        connection.execute(text("INSERT INTO watched (n) VALUES (7)"))  # written, not committed yet
        # A reader computes meanwhile and sees nothing of the uncommitted row.
        assert cache.get("k", lambda: 0) == 0
        connection.commit()
    assert cache.peek("k") is None  # the commit moved the version: recomputed next time
    assert cache.get("k", lambda: 7) == 7
    assert cache.peek("k") == 7
    versions.close()
    store.dispose()


def test_a_rolled_back_write_only_costs_a_recomputation(tmp_path: Path) -> None:
    store = _store(tmp_path)
    versions = TableVersions(store.engine)
    value: VersionedValue[str] = VersionedValue(versions, "watched")
    value.get(lambda: "before")
    try:
        with store.transaction() as session:
            session.execute(text("INSERT INTO watched (n) VALUES (1)"))
            raise RuntimeError("abandoned")
    except RuntimeError:
        pass
    assert value.peek() == (False, None)
    versions.close()
    store.dispose()


def test_another_process_writes_are_noticed_by_the_shared_check(tmp_path: Path) -> None:
    store = _store(tmp_path)
    versions = TableVersions(store.engine)
    value: VersionedValue[int] = VersionedValue(versions, "watched")
    assert versions.notice_shared_writes() is False  # the first call only learns where things stand
    value.get(lambda: 1)
    foreign = sqlite3.connect(tmp_path / "v.db", isolation_level=None)  # as another process would
    foreign.execute("INSERT INTO watched (n) VALUES (1)")
    foreign.close()
    assert value.peek() == (True, 1)  # not seen until the check (the ticker makes it every second)
    assert versions.notice_shared_writes() is True
    assert value.peek() == (False, None)
    assert versions.notice_shared_writes() is False
    versions.close()
    store.dispose()


def test_the_cache_keeps_at_most_its_size(tmp_path: Path) -> None:
    store = _store(tmp_path)
    versions = TableVersions(store.engine)
    cache: VersionedCache[int, int] = VersionedCache(versions, "watched", size=2)
    for key in (1, 2, 3):
        cache.get(key, lambda key=key: key * 10)  # type: ignore[misc]
    assert cache.peek(1) is None
    assert (cache.peek(2), cache.peek(3)) == (20, 30)
    versions.close()
    store.dispose()
