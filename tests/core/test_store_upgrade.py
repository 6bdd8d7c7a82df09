"""A database written by an earlier version keeps its rows and gains the columns it lacks."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from emulator.core.store import Store


def test_columns_added_since_the_database_was_written_are_added_with_their_defaults(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Store(url).dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        # An older version: the outbox without its back-off columns, A-Cube invoices without stamp.
        connection.execute(text("ALTER TABLE webhook_deliveries DROP COLUMN interval_growth"))
        connection.execute(text("ALTER TABLE acube_invoices DROP COLUMN stamp"))
        connection.execute(
            text(
                "INSERT INTO accounts"
                " (provider, tenant, username, password, vat_numbers, fiscal_codes, profile) VALUES"
                " ('acube', 't', 'u', 'p', '[]', '[]', '{}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO acube_invoices"
                " (uuid, account_id, type, file_name, xml, to_pa, created_at, downloaded) VALUES"
                " ('u-1', 1, 0, 'f.xml', x'3c612f3e', 0, '2026-01-01 00:00:00', 0)"
            )
        )
    engine.dispose()

    store = Store(url)
    columns = {c["name"] for c in inspect(store.engine).get_columns("acube_invoices")}
    assert {"stamp", "archived_at"} <= columns
    assert "interval_growth" in {c["name"] for c in inspect(store.engine).get_columns("webhook_deliveries")}
    with store.engine.connect() as connection:
        row = connection.execute(text("SELECT uuid, stamp FROM acube_invoices")).one()
    assert tuple(row) == ("u-1", 0)
    store.dispose()


def test_a_current_database_is_left_as_it_is(tmp_path: Path) -> None:
    from emulator.core.store import add_missing_columns

    store = Store(f"sqlite:///{tmp_path / 'new.db'}")
    assert add_missing_columns(store.engine) == []
    store.dispose()
