"""Crash safety: a served sandbox killed with SIGKILL under concurrent uploads loses nothing it
acknowledged, duplicates nothing, and leaves a SQLite file that passes its integrity checks."""

from __future__ import annotations

import base64
import itertools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

from emulator.core.ids import base36
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from tests.providers.aruba.helpers import ARUBA_TRANSMITTER
from tests.providers.aruba.helpers import SANDBOX_VAT as ARUBA_VAT
from tests.providers.easytracking.helpers import CREDENTIALS
from tests.providers.easytracking.helpers import SANDBOX_VAT as ET_VAT

XSD_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "xsd"
ET_UPLOAD = "/easytracking/api/v4/ActiveInvoices"
ARUBA_UPLOAD = "/aruba/services/invoice/upload"
ARUBA_SERVICES = "/aruba/services"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db: Path, port: int, *, within: float = 30) -> subprocess.Popen[bytes]:
    """``fattura-sandbox serve`` on ``db``, healthy when this returns."""
    env = {**os.environ, "FATTURA_SANDBOX_CLOCK_FROZEN": "1", "FATTURA_SANDBOX_ARUBA_SLA": "0"}
    command = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--db", str(db)]
    if XSD_DIR.is_dir():
        command += ["--xsd-dir", str(XSD_DIR)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if requests.get(f"{base}/_sandbox/health", timeout=0.5).status_code == 200:
                return process
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    output = process.communicate(timeout=10)[0]
    raise AssertionError(f"sandbox on {port} not healthy: {output.decode(errors='replace')}")


def stop(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if process.poll() is None:
        if kill:
            os.kill(process.pid, signal.SIGKILL)
        else:
            process.terminate()
    process.communicate(timeout=15)


def et_token(base: str) -> str:
    response = requests.post(f"{base}/easytracking/api/Token/AccessToken", json=CREDENTIALS, timeout=10)
    assert response.status_code == 200, response.text
    value: str = response.json()
    return value


def aruba_token(base: str) -> str:
    response = requests.post(
        f"{base}/aruba/auth/signin",
        data={"grant_type": "password", "username": "sandbox", "password": "sandbox"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    value: str = response.json()["access_token"]
    return value


def et_invoice(serial: int) -> bytes:
    """A valid invoice of easytracking/sandbox whose ProgressivoInvio and number say ``serial``."""
    return _invoice(serial, ET_VAT, ("IT", ET_VAT), progressive=base36(serial).rjust(5, "0"))


def aruba_invoice(serial: int) -> bytes:
    return _invoice(serial, ARUBA_VAT, ("IT", ARUBA_TRANSMITTER), progressive=None)


def _invoice(serial: int, vat: str, transmitter: tuple[str, str], progressive: str | None) -> bytes:
    import datetime as dt

    return (
        InvoiceGenerator(serial)
        .generate(
            supplier=PartySpec(vat=vat, fiscal_code=vat, name="Sandbox Software S.r.l."),
            customer=PartySpec(vat="01879020517", name="Cliente Prova S.p.A."),
            pa=False,
            document_type="TD01",
            issue_date=dt.date(2026, 3, 1),
            number=number_of(serial),
            transmitter=transmitter,
            progressive=progressive,
            recipient_code="M5UXCR1",
            causale=None,
        )
        .xml
    )


def number_of(serial: int) -> str:
    return f"CR-{serial}"


@dataclass
class Outcome:
    """What the clients saw: acknowledged uploads by serial (→ their id), and those unanswered."""

    et_acked: dict[int, str] = field(default_factory=dict)
    aruba_acked: dict[int, str] = field(default_factory=dict)
    sent: set[int] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def upload_load(
    base: str,
    serials: itertools.count[int],
    outcome: Outcome,
    stop_event: threading.Event,
    *,
    threads: int = 8,
) -> list[threading.Thread]:
    """``threads`` clients uploading distinct invoices (even serials to ET, odd to Aruba) until
    ``stop_event`` or the server is gone."""
    et, aruba = et_token(base), aruba_token(base)
    next_serial: Callable[[], int] = serials.__next__

    def upload_one(http: requests.Session) -> bool:
        """One upload, its answer recorded → whether the server answered."""
        with outcome.lock:
            serial = next_serial()
            outcome.sent.add(serial)
        try:
            if serial % 2 == 0:
                response = http.post(
                    base + ET_UPLOAD,
                    data=et_invoice(serial),
                    headers={"Authorization": f"Bearer {et}", "Content-Type": "application/xml"},
                    timeout=10,
                )
            else:
                data_file = base64.b64encode(aruba_invoice(serial)).decode()
                response = http.post(
                    base + ARUBA_UPLOAD,
                    json={"dataFile": data_file},
                    headers={"Authorization": f"Bearer {aruba}"},
                    timeout=10,
                )
        except requests.RequestException:
            return False  # the server died under this request: unacknowledged
        with outcome.lock:
            if response.status_code not in (200, 202):
                outcome.refused.append(f"{serial}: {response.status_code} {response.text[:200]}")
            elif serial % 2 == 0:
                outcome.et_acked[serial] = response.json()["progressivoInvio"]
            else:
                body = response.json()
                if body.get("errorCode") not in ("0000", ""):
                    outcome.refused.append(f"{serial}: {body}")
                else:
                    outcome.aruba_acked[serial] = body["uploadFileName"]
        return True

    def client() -> None:
        try:
            with requests.Session() as http:
                while not stop_event.is_set() and upload_one(http):
                    pass
        except Exception as exc:  # a broken client must fail the test, not vanish
            with outcome.lock:
                outcome.refused.append(f"client error: {exc!r}")

    with requests.Session() as http:  # one of each first: the server loads its schemas
        assert upload_one(http) and upload_one(http)
    workers = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    return workers


def check_database(db: Path, outcome: Outcome) -> None:
    """Every acknowledged upload exactly once, every other at most once, ids unique, file sound."""
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        et_rows = connection.execute(
            "SELECT number, progressivo_invio FROM easytracking_documents WHERE number LIKE 'CR-%'"
        ).fetchall()
        aruba_rows = connection.execute(
            "SELECT json_extract(bodies, '$[0].number'), filename FROM aruba_invoices WHERE direction = 'out'"
        ).fetchall()
        for table, column in [
            ("easytracking_documents", "id"),
            ("aruba_invoices", "id"),
            ("aruba_invoices", "filename"),
            ("sdi_invoices", "sdi_id"),
            ("sdi_invoices", "file_name"),
        ]:
            duplicated = connection.execute(
                f"SELECT {column}, count(*) FROM {table} GROUP BY {column} HAVING count(*) > 1"
            ).fetchall()
            assert duplicated == [], (table, column)
    et_numbers = [number for number, _ in et_rows]
    aruba_numbers = [number for number, _ in aruba_rows]
    assert len(et_numbers) == len(set(et_numbers)) and len(aruba_numbers) == len(set(aruba_numbers))
    assert {int(n[3:]) for n in et_numbers} <= outcome.sent
    assert {int(n[3:]) for n in aruba_numbers} <= outcome.sent
    assert dict(et_rows).keys() >= {number_of(s) for s in outcome.et_acked}
    for serial, progressivo in outcome.et_acked.items():
        assert dict(et_rows)[number_of(serial)] == progressivo
    for serial, filename in outcome.aruba_acked.items():
        assert dict(aruba_rows).get(number_of(serial)) == filename, serial


def check_through_the_api(base: str, db: Path, outcome: Outcome) -> None:
    """The acknowledged uploads as a client finds them after the restart (a sample of each)."""
    et, aruba = et_token(base), aruba_token(base)
    with requests.Session() as http:
        for progressivo in sorted(outcome.et_acked.values())[-15:]:
            found = http.get(
                f"{base}/easytracking/api/v4/InvoiceNotifications?progressivoInvio={progressivo}",
                headers={"Authorization": f"Bearer {et}"},
                timeout=10,
            )
            assert found.status_code == 200, (progressivo, found.status_code, found.text)
            assert found.text.count("<TipoNotifica>OI</TipoNotifica>") == 1, found.text
        for filename in sorted(outcome.aruba_acked.values())[-15:]:
            found = http.get(
                f"{base}{ARUBA_SERVICES}/invoice/out/getByFilename?filename={quote(filename)}",
                headers={"Authorization": f"Bearer {aruba}"},
                timeout=10,
            )
            assert found.status_code == 200, (filename, found.status_code, found.text)
            assert found.json()["filename"] == filename
        listed = http.get(
            f"{base}{ARUBA_SERVICES}/invoice/out/findByUsername?username=sandbox&countrySender=IT&vatcodeSender={ARUBA_VAT}&size=100",
            headers={"Authorization": f"Bearer {aruba}"},
            timeout=10,
        )
        assert listed.status_code == 200, listed.text
        with sqlite3.connect(db) as connection:
            (stored,) = connection.execute(
                "SELECT count(*) FROM aruba_invoices WHERE direction = 'out'"
            ).fetchone()
        assert listed.json()["totalElements"] == stored >= len(outcome.aruba_acked)


def test_acknowledged_uploads_survive_sigkill_exactly_once(tmp_path: Path) -> None:
    db, port = tmp_path / "crash.db", free_port()
    outcome = Outcome()
    serials = itertools.count(1)
    for round_, load_seconds in enumerate((1.0, 1.6, 1.3)):
        process = start_server(db, port)
        base = f"http://127.0.0.1:{port}"
        if round_:
            check_through_the_api(base, db, outcome)
        stop_event = threading.Event()
        acked_before = len(outcome.et_acked) + len(outcome.aruba_acked)
        workers = upload_load(base, serials, outcome, stop_event)
        time.sleep(load_seconds)
        stop(process, kill=True)  # mid-flight: the clients are still sending
        stop_event.set()
        for worker in workers:
            worker.join(timeout=15)
        assert outcome.refused == []
        assert len(outcome.et_acked) + len(outcome.aruba_acked) > acked_before + 10
        check_database(db, outcome)
    process = start_server(db, port)
    try:
        check_through_the_api(f"http://127.0.0.1:{port}", db, outcome)
    finally:
        stop(process)
    check_database(db, outcome)
    assert outcome.et_acked and outcome.aruba_acked
