"""Everything one sandbox instance owns, built by ``create_app`` and reset by one call."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm import Session

from emulator.config import Config
from emulator.core import webhooks
from emulator.core.accounts import load_account_specs
from emulator.core.clock import VirtualClock, WallClock, system_wall_clock
from emulator.core.ids import IdFactory
from emulator.core.store import Store, get_meta, set_meta
from emulator.core.tasks import AfterCommit, TaskQueue
from emulator.core.tenancy import seed_accounts
from emulator.core.versions import TableVersions, VersionedValue
from emulator.sdi.engine import SdiEngine
from emulator.sdi.models import SdiInvoice
from emulator.sdi.outcomes import Delays, OutcomePolicy
from emulator.sdi.signing import SandboxSigner, register_signer
from emulator.sdi.validation import SdiValidator

log = logging.getLogger("fattura_sandbox")

# Tables whose changes the hot paths watch (TableVersions): due work, fault rules, instance facts.
DUE_TABLES = ("sdi_events", "scheduled_tasks")
WATCHED_TABLES = (*DUE_TABLES, "fault_rules", "meta")


class Sandbox:
    def __init__(self, config: Config, *, wall_clock: WallClock = system_wall_clock) -> None:
        self.config = config
        self.account_specs = load_account_specs(config.accounts_file)
        self.store = Store(config.database_url)
        self.versions = TableVersions(self.store.engine, WATCHED_TABLES)
        # The earliest pending due instant, kept while no event or task is written (see process_due).
        self._first_due: VersionedValue[datetime | None] = VersionedValue(self.versions, *DUE_TABLES)
        # Writes made after the response (the journal's batches): ``settle`` puts them in the store.
        self.deferred_writers: list[Callable[[], None]] = []
        self.ids = IdFactory(config.seed, generation=self._count_start())
        self.clock = self._load_clock(wall_clock)
        self.engine = SdiEngine(
            clock=self.clock,
            ids=self.ids,
            validator=SdiValidator(config.xsd_dir),
            policy=OutcomePolicy(Delays.from_mapping(config.sdi_delays)),
            signer=lambda: self.signer,
        )
        # Providers add a function that finds invoices by their own ids (control API lookups).
        self.invoice_resolvers: list[Callable[[Session, str], list[SdiInvoice]]] = []
        self.provider_names: list[str] = []
        # Providers register handlers for the tasks they schedule (processing delays, callbacks).
        self.tasks = TaskQueue()
        # How callbacks reach clients (tests put a fake here); the outbox's task is always registered.
        self.webhook_transport: webhooks.Transport = webhooks.post_json
        self.webhook_on_delivered: dict[tuple[str, str], webhooks.OnDelivered] = {}
        webhooks.install(self)
        self._stopped = threading.Event()
        # What must stop before the store goes (background work of other parts: certification steps).
        self.on_close: list[Callable[[], None]] = []
        self.signer = self._load_signer()
        register_signer(self.store.engine, lambda: self.signer)
        with self.store.transaction() as session:
            if not get_meta(session, "seeded"):
                self._seed(session)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.store.transaction() as session:
            yield session

    def _count_start(self) -> int:
        """How many times the sandbox started on this database before (kept by resets)."""
        with self.store.transaction() as session:
            starts = int(get_meta(session, "starts") or 0)
            set_meta(session, "starts", str(starts + 1))
        return starts

    # -- clock -----------------------------------------------------------------------------

    def _load_clock(self, wall_clock: WallClock) -> VirtualClock:
        with self.store.transaction() as session:
            virtual = get_meta(session, "clock_virtual_anchor")
            wall = get_meta(session, "clock_wall_anchor")
        if virtual and wall:
            return VirtualClock(
                virtual_anchor=datetime.fromisoformat(virtual),
                wall_anchor=datetime.fromisoformat(wall),
                frozen=self.config.clock_frozen,
                wall_clock=wall_clock,
            )
        start = datetime.fromisoformat(self.config.clock_start) if self.config.clock_start else wall_clock()
        clock = VirtualClock(virtual_anchor=start, frozen=self.config.clock_frozen, wall_clock=wall_clock)
        self._save_clock(clock)
        return clock

    def _save_clock(self, clock: VirtualClock) -> None:
        virtual, wall = clock.anchors()
        with self.store.transaction() as session:
            set_meta(session, "clock_virtual_anchor", virtual.isoformat())
            set_meta(session, "clock_wall_anchor", wall.isoformat())

    def set_clock(self, instant: datetime) -> None:
        """Virtual time at ``instant`` (see ``VirtualClock.set``), kept across a restart."""
        self.clock.set(instant)
        self._save_clock(self.clock)

    def advance_clock(self, seconds: float) -> tuple[datetime, int]:
        """Move virtual time forward and make everything that fell due happen, in order."""
        now = self.clock.advance(seconds)
        self._save_clock(self.clock)
        return now, self.process_due()

    def process_due(self) -> int:
        """Run every SDI event and task that fell due, in due order; returns how many happened.

        Work a task hands back for after the commit (an HTTP delivery) runs outside the store's
        lock; it may schedule more work that is already due (a retry), so the loop goes on until
        nothing is due.

        The earliest due instant is kept in memory until an event or task is written (by this
        process, or by another one sharing the SQLite file: the ticker notices those every second),
        so a request with nothing due costs no query.
        """
        done = 0
        while True:
            valid, first = self._first_due.peek()
            if valid and (first is None or first > self.clock.now()):
                return done
            with self.store.transaction() as session:
                now = self.clock.now()
                first = self._first_due.get(lambda: self._first_due_at(session))
                if first is None or first > now:
                    return done
                applied, effects = self._run_due(session, now)
            done += applied
            for effect in effects:
                effect()
            if not effects:
                return done

    def _first_due_at(self, session: Session) -> datetime | None:
        instants = [t for t in (self.engine.first_due_at(session), self.tasks.first_due_at(session)) if t]
        return min(instants, default=None)

    def _run_due(self, session: Session, until: datetime) -> tuple[int, list[AfterCommit]]:
        applied = 0
        effects: list[AfterCommit] = []
        while True:
            event = self.engine.next_due(session, until)
            task = self.tasks.next_due(session, until)
            if event is None and task is None:
                return applied, effects
            if task is None or (event is not None and event.due_at <= task.due_at):
                assert event is not None
                applied += self.engine.run_event(session, event)
                continue
            applied += 1
            effect = self.tasks.run(session, task)
            if effect is not None:
                effects.append(effect)
                # Deliver before going on: what the client answers may decide what is due next.
                return applied, effects

    def start_ticker(self, interval: float = 1.0) -> threading.Thread:
        """Process due work every ``interval`` wall seconds, so pushes happen without any request."""

        def tick() -> None:
            while not self._stopped.wait(interval):
                try:
                    self.settle()
                    self.versions.notice_shared_writes()  # what other processes wrote to the file
                    self.process_due()
                except Exception:  # the ticker must survive; the error is logged
                    log.exception("processing due work failed")

        thread = threading.Thread(target=tick, name="fattura-sandbox-ticker", daemon=True)
        thread.start()
        return thread

    # -- state -----------------------------------------------------------------------------

    def _load_signer(self) -> SandboxSigner:
        """The sandbox SDI's signing key and certificate, made once per database (kept by resets)."""
        with self.store.transaction() as session:
            key, cert = get_meta(session, "signer_key"), get_meta(session, "signer_cert")
            if key and cert:
                return SandboxSigner.from_pem(key.encode(), cert.encode())
            signer = SandboxSigner.generate(self.clock.now())
            key_pem, cert_pem = signer.to_pem()
            set_meta(session, "signer_key", key_pem.decode())
            set_meta(session, "signer_cert", cert_pem.decode())
            return signer

    def _seed(self, session: Session) -> None:
        seed_accounts(session, self.account_specs)
        set_meta(session, "seeded", "1")

    def settle(self) -> None:
        """Every deferred write (journal entries of answered requests) is in the store on return.

        Call it outside a store transaction, before reading what they write."""
        for flush in self.deferred_writers:
            flush()

    def reset(self) -> None:
        """All state gone, default accounts seeded again. Virtual time and the SDI key stay."""
        self.settle()
        self.store.wipe()
        with self.store.transaction() as session:
            self._seed(session)

    def close(self) -> None:
        self._stopped.set()
        for stop in self.on_close:
            stop()
        try:
            self.settle()
        except Exception:  # closing must finish; what could not be written is logged
            log.exception("writing deferred entries at close failed")
        self.versions.close()
        self.store.dispose()
