"""The journal's batches: requests never wait for their entry; readers always see every entry."""

from __future__ import annotations

import threading
import time

from flask.testing import FlaskClient

from emulator.journal.batching import BatchWriter
from emulator.state import Sandbox
from tests.providers.easytracking.helpers import bearer, token


def test_a_full_batch_is_written_without_waiting_for_its_deadline_in_order() -> None:
    batches: list[list[int]] = []
    writer: BatchWriter[int] = BatchWriter(batches.append, batch_size=3, max_age=60)
    for item in range(7):
        writer.add(item)
    deadline = time.monotonic() + 5
    while not batches and time.monotonic() < deadline:
        time.sleep(0.01)  # the writer thread is real: its first write comes well before 60 s
    assert batches and len(batches[0]) >= 3
    writer.flush()
    assert [item for batch in batches for item in batch] == list(range(7))
    writer.stop()


def test_a_partial_batch_is_written_at_its_deadline() -> None:
    written = threading.Event()
    writer: BatchWriter[int] = BatchWriter(lambda batch: written.set(), batch_size=100, max_age=0.01)
    writer.add(1)
    assert written.wait(5)
    writer.stop()


def test_a_failing_write_is_logged_and_does_not_reach_the_caller() -> None:
    def broken(batch: list[int]) -> None:
        raise RuntimeError("disk full")

    writer: BatchWriter[int] = BatchWriter(broken, batch_size=100, max_age=60)
    writer.add(1)
    writer.flush()  # no exception
    assert writer.waiting() == 0
    writer.stop()


def test_after_stop_an_entry_is_written_at_once() -> None:
    batches: list[list[int]] = []
    writer: BatchWriter[int] = BatchWriter(batches.append, batch_size=100, max_age=60)
    writer.add(1)
    writer.stop()
    assert batches == [[1]]
    writer.add(2)
    assert batches == [[1], [2]]


def test_the_control_api_sees_every_answered_request(client: FlaskClient) -> None:
    auth = bearer(token(client))
    for _ in range(5):
        client.get("/easytracking/api/v4/InvoiceNotifications?progressivoInvio=1", headers=auth)
    entries = client.get("/_sandbox/journal?provider=easytracking").get_json()["entries"]
    assert [e["path"] for e in entries][-5:] == ["/api/v4/InvoiceNotifications"] * 5


def test_a_reset_leaves_no_entry_of_before(client: FlaskClient, sandbox: Sandbox) -> None:
    auth = bearer(token(client))
    client.get("/easytracking/api/v4/InvoiceNotifications?progressivoInvio=1", headers=auth)
    assert client.post("/_sandbox/reset").status_code in (200, 204)
    assert client.get("/_sandbox/journal").get_json()["entries"] == []
