"""Three `serve` processes on one SQLite file under concurrent writers: no client ever sees
"database is locked" or any 5xx, no write is lost or duplicated, and sequences stay unique."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import requests

from tests.providers.easytracking.helpers import SANDBOX_VAT as ET_VAT
from tests.reliability.test_crash_safety import (
    Outcome,
    check_database,
    et_token,
    free_port,
    start_server,
    stop,
    upload_load,
)

PROCESSES = 3


def test_three_processes_on_one_file_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    ports = [free_port() for _ in range(PROCESSES)]
    processes: list[subprocess.Popen[bytes]] = []
    started: list[threading.Thread] = []
    failures: list[str] = []

    def start(port: int) -> None:
        try:
            processes.append(start_server(db, port))
        except AssertionError as exc:
            failures.append(str(exc))

    # All at once on a new file: creating the schema, counting starts and anchoring the clock race.
    for port in ports:
        started.append(threading.Thread(target=start, args=(port,)))
        started[-1].start()
    for thread in started:
        thread.join()
    try:
        assert failures == []
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        outcome = Outcome()
        serials = itertools.count(1)
        incoming: list[int] = []
        errors: list[str] = []
        stop_event = threading.Event()

        def deliver_and_poll(base: str) -> None:
            """Control-API incoming invoices, and ET status reads (which mark notifications as got)."""
            token = et_token(base)
            with requests.Session() as http:
                while not stop_event.is_set():
                    made = http.post(
                        f"{base}/_sandbox/incoming-invoices", json={"recipient": ET_VAT}, timeout=30
                    )
                    if made.status_code != 201:
                        errors.append(f"incoming: {made.status_code} {made.text[:200]}")
                        return
                    incoming.extend(invoice["sdi_id"] for invoice in made.json()["invoices"])
                    with outcome.lock:
                        progressivi = list(outcome.et_acked.values())[-3:]
                    for progressivo in progressivi:
                        read = http.get(
                            f"{base}/easytracking/api/v4/InvoiceNotifications",
                            params={"progressivoInvio": progressivo},
                            headers={"Authorization": f"Bearer {token}"},
                            timeout=30,
                        )
                        if read.status_code != 200:
                            errors.append(f"status: {read.status_code} {read.text[:200]}")

        workers = [
            worker for base in bases for worker in upload_load(base, serials, outcome, stop_event, threads=3)
        ]
        pollers = [threading.Thread(target=deliver_and_poll, args=(base,), daemon=True) for base in bases]
        for poller in pollers:
            poller.start()
        time.sleep(4)
        stop_event.set()
        for thread in workers + pollers:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in workers + pollers)

        assert outcome.refused == [] and errors == []
        assert len(outcome.et_acked) > 10 and len(outcome.aruba_acked) > 10 and len(incoming) > 5
        # Every answered upload was acknowledged: nothing unanswered, so everything sent is stored.
        assert len(outcome.et_acked) + len(outcome.aruba_acked) == len(outcome.sent)
        check_database(db, outcome)
        assert len(set(outcome.et_acked.values())) == len(outcome.et_acked)
        assert len(set(outcome.aruba_acked.values())) == len(outcome.aruba_acked)
        assert len(set(incoming)) == len(incoming)
        with sqlite3.connect(db) as connection:
            (starts,) = connection.execute("SELECT value FROM meta WHERE key = 'starts'").fetchone()
            assert starts == str(PROCESSES)
            stored = {row[0] for row in connection.execute("SELECT sdi_id FROM sdi_invoices")}
            assert set(incoming) <= stored
            (passive,) = connection.execute("SELECT count(*) FROM easytracking_passive_invoices").fetchone()
            assert passive == len(incoming)
            (documents,) = connection.execute("SELECT count(*) FROM easytracking_documents").fetchone()
            assert documents == len(outcome.et_acked)
    finally:
        for process in processes:
            stop(process)
