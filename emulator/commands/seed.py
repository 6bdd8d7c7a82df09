"""``fattura-sandbox seed``: a realistic history in the store, for load tests and the inspector.

Invoices are spread over the past months, in time order. Sent ones go through each provider's own
create path (Easy Tracking's upload, Aruba's upload with its signature and processing delay, A-Cube's
POST /invoices, Openapi.it's IT-invoices with a configuration made for the fiscal id when missing),
so each provider lists them as if a client had sent them; the outcome is chosen by the README's
``SANDBOX:`` trigger in the Causale (RC, NS with real codes, MC; PA invoices NE-EC01/EC02, DT,
MC-AT). Received ones come from suppliers through the SDI engine, as ``/_sandbox/incoming-invoices``
delivers them. The virtual clock moves through the history, so lifecycles complete on the way.

Batches of ``batch_size`` invoices share one transaction; the clock moves within a batch, and what fell
due is applied at the batch's end, each event at its own instant (``Sandbox.process_due``).

From ``BULK_FROM`` invoices, when every chosen account is of a provider ``seed_bulk`` knows (Easy
Tracking today), a few templates per class go through that same path and every other invoice is a
clone of one of them (``seed_bulk``): 100 000 invoices in under a minute instead of half an hour.

On a new store the virtual clock starts ``months`` before now and ends about now. On a store whose
clock already runs, virtual time never moves back: the history starts at its current instant and the
clock ends ``months`` later.
"""

from __future__ import annotations

import base64
import logging
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.commands import seed_bulk as bulk
from emulator.config import Config
from emulator.core.errors import SandboxError
from emulator.core.ids import base36
from emulator.core.tenancy import Account, accounts_of
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from emulator.sdi.models import SdiEvent, SdiInvoice
from emulator.state import Sandbox

log = logging.getLogger("fattura_sandbox.seed")
ROME = ZoneInfo("Europe/Rome")

PROVIDERS = ("easytracking", "aruba", "acube", "openapi")
DAY = 86400
# Real SDI rejection codes a sent invoice gets in the history (forced by the trigger).
NS_CODES = ("00305", "00311", "00404", "00423", "00400", "00200", "00306", "00403")
B2B_OUTCOMES: tuple[tuple[str | None, int], ...] = ((None, 70), ("MC", 12), ("NS", 18))
PA_OUTCOMES: tuple[tuple[str | None, int], ...] = (
    ("NE-EC01", 40),
    ("NE-EC02", 12),
    ("DT", 18),
    ("MC-AT", 10),
    ("NS", 20),
)
# From this many invoices the seed replicates templates (seed_bulk) instead of creating each one.
BULK_FROM = 1000
# The providers whose rows seed_bulk knows how to replicate.
BULK_PROVIDERS = frozenset({"easytracking"})
# Templates per class: the SDI draws some outcomes (a B2B invoice without a trigger is delivered or
# not), and the clones of a class take its templates in turn.
TEMPLATES_PER_CLASS = 8
SENT_SHARE = 0.7
PA_SHARE = 0.2


class SeedError(ValueError):
    """What prevents seeding (no account matches the filters)."""


@dataclass(frozen=True)
class SeedOptions:
    invoices: int
    provider: str | None = None
    tenant: str | None = None
    seed: int | None = None
    months: int = 6
    batch_size: int = 500
    # None: replicate templates (seed_bulk) from BULK_FROM invoices when it can; True/False: force.
    bulk: bool | None = None


@dataclass
class SeedSummary:
    invoices: int = 0
    sent: int = 0
    received: int = 0
    refused_by_provider: int = 0
    refused_by_sdi: int = 0
    seconds: float = 0.0
    start: str = ""
    end: str = ""
    # (provider, tenant, direction, state) → count, read back from the store.
    states: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)

    def render(self) -> str:
        rate = self.invoices / self.seconds if self.seconds else 0.0
        lines = [
            f"seeded {self.invoices} invoices ({self.sent} sent, {self.received} received) "
            f"in {self.seconds:.1f} s ({rate:.0f}/s), virtual time {self.start} → {self.end}",
        ]
        if self.refused_by_sdi:
            lines.append(f"{self.refused_by_sdi} generated incoming invoices rejected by the SDI (skipped)")
        if self.refused_by_provider:
            lines.append(f"{self.refused_by_provider} sent invoices refused by the provider's own checks")
        lines.append(f"{'provider':<13}{'tenant':<9}{'direction':<10}{'state':<14}{'count':>7}")
        for (provider, tenant, direction, state), count in sorted(self.states.items()):
            lines.append(f"{provider:<13}{tenant:<9}{direction:<10}{state:<14}{count:>7}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Planned:
    offset: float  # virtual seconds from the start of the history
    account_index: int
    sent: bool
    pa: bool
    outcome: str | None


class Progress:
    """A one-line progress bar on a terminal; silent elsewhere."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.stream, self.enabled = total, stream, enabled
        self.started = time.monotonic()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // max(self.total, 1)
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\rseeding [{bar}] {done}/{self.total} {rate:.0f}/s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _accounts(session: Session, options: SeedOptions) -> list[Account]:
    chosen = [
        a
        for a in accounts_of(session)
        if (options.provider is None or a.provider == options.provider)
        and (options.tenant is None or a.tenant == options.tenant)
        and a.provider in PROVIDERS
        and a.vat_numbers
    ]
    if not chosen:
        raise SeedError(
            f"no sandbox account matches provider={options.provider or 'any'} "
            f"tenant={options.tenant or 'any'}"
        )
    return chosen


def _plan(options: SeedOptions, accounts: list[Account], span: float, rng: random.Random) -> list[_Planned]:
    planned = []
    for _ in range(options.invoices):
        index = rng.randrange(len(accounts))
        sent = rng.random() < SENT_SHARE
        pa = rng.random() < PA_SHARE and (sent or bool(accounts[index].profile.get("pa_office_code")))
        outcome: str | None = None
        if sent:
            choices = PA_OUTCOMES if pa else B2B_OUTCOMES
            outcome = rng.choices([c for c, _ in choices], [w for _, w in choices])[0]
            if outcome == "NS":
                outcome = f"NS:{rng.choice(NS_CODES)}"
        planned.append(_Planned(rng.uniform(0, span), index, sent, pa, outcome))
    planned.sort(key=lambda p: p.offset)
    return planned


def _party(account: Account) -> PartySpec:
    address = account.profile.get("address") or {}
    return PartySpec(
        vat=account.vat_numbers[0],
        name=account.profile.get("name"),
        street=address.get("street"),
        number=address.get("number"),
        zip=address.get("zip"),
        city=address.get("city"),
        province=address.get("province"),
        country=address.get("country") or "IT",
    )


Sender = Callable[[Sandbox, Session, Account, bytes], bool]


def _send_easytracking(sandbox: Sandbox, session: Session, account: Account, xml: bytes) -> bool:
    from emulator.providers.easytracking import service

    service.upload_invoice(session, sandbox.engine, account, "v4", xml)
    return True


def _send_aruba(sandbox: Sandbox, session: Session, account: Account, xml: bytes) -> bool:
    from emulator.providers.aruba import upload

    answer = upload.upload_invoice(
        sandbox, session, account, data_file=base64.b64encode(xml).decode(), credential=None, domain=None
    )
    return answer.get("errorCode") == "0000"


def _send_acube(sandbox: Sandbox, session: Session, account: Account, xml: bytes) -> bool:
    from emulator.providers.acube import service

    service.create_invoice(sandbox, session, account, xml)
    return True


def _send_openapi(sandbox: Sandbox, session: Session, account: Account, xml: bytes) -> bool:
    from emulator.providers.openapi import configurations, invoices
    from emulator.providers.openapi.models import OpenapiConfiguration

    fiscal_id = account.vat_numbers[0]
    existing = session.execute(
        select(OpenapiConfiguration).where(OpenapiConfiguration.fiscal_id == fiscal_id)
    ).scalar_one_or_none()
    if existing is None:
        configurations.create_configuration(
            session,
            sandbox.ids,
            account,
            {
                "fiscal_id": fiscal_id,
                "name": account.profile.get("name") or account.username,
                "email": account.email or "sandbox@example.com",
                "customer_invoice": True,
                "supplier_invoice": True,
            },
            sandbox.clock.now(),
        )
    elif existing.document.get("customer_invoice") is not True:
        existing.document = {**existing.document, "customer_invoice": True}
    invoices.create_invoice(sandbox, session, account, xml, "application/xml")
    return True


# Who must appear as IdTrasmittente (Aruba checks it is Aruba itself; the others rewrite or accept it).
TRANSMITTERS = {"aruba": ("IT", "01879020517")}

SENDERS: dict[str, Sender] = {
    "easytracking": _send_easytracking,
    "aruba": _send_aruba,
    "acube": _send_acube,
    "openapi": _send_openapi,
}


def seed(
    config: Config,
    options: SeedOptions,
    *,
    progress: Progress | None = None,
    sandbox: Sandbox | None = None,
) -> SeedSummary:
    """Fill the store of ``config`` (or of ``sandbox``, one ``create_app`` wired: the providers' task
    handlers and SDI listeners must be there) with ``options.invoices`` invoices."""
    if options.invoices < 1:
        raise SeedError("--invoices must be at least 1")
    if options.batch_size < 1:
        raise SeedError("the batch size must be at least 1")
    if options.months < 1:
        raise SeedError("--months must be at least 1")
    span = options.months * 30 * DAY
    if sandbox is None:
        from emulator.app import create_app

        # clock_start only counts on a new store: its clock starts `months` ago and ends about now.
        start_at = datetime.now(UTC) - timedelta(seconds=span)
        app = create_app(config.with_overrides(clock_start=start_at.isoformat()))
        sandbox = app.extensions["fattura_sandbox"]
    assert sandbox is not None
    started = time.monotonic()
    rng = random.Random(options.seed)
    generator = InvoiceGenerator(rng.getrandbits(32))
    numbers = _Numbers(rng)
    with sandbox.transaction() as session:
        accounts = _accounts(session, options)
        account_ids = [a.id for a in accounts]
    plan = _plan(options, accounts, span, rng)
    summary = SeedSummary(invoices=len(plan), start=sandbox.clock.now().isoformat(timespec="seconds"))
    origin = sandbox.clock.now()
    if _bulk_applies(options, accounts):
        _seed_bulk(sandbox, plan, account_ids, generator, numbers, origin, span, summary, progress)
        return _finish(sandbox, summary, account_ids, progress, started)
    done = 0
    for first in range(0, len(plan), options.batch_size):
        batch = plan[first : first + options.batch_size]
        with sandbox.transaction() as session:
            batch_accounts = {
                a.id: a for a in session.execute(select(Account).where(Account.id.in_(account_ids))).scalars()
            }
            for item in batch:
                target = origin + timedelta(seconds=item.offset)
                ahead = (target - sandbox.clock.now()).total_seconds()
                if ahead > 0:
                    sandbox.clock.advance(ahead)
                account = batch_accounts[account_ids[item.account_index]]
                if item.sent:
                    if _send_one(sandbox, session, account, item, generator, numbers):
                        summary.sent += 1
                    else:
                        summary.refused_by_provider += 1
                elif _receive_one(sandbox, session, account, item, generator):
                    summary.received += 1
                else:
                    summary.refused_by_sdi += 1
        sandbox.advance_clock(0)  # saves the clock and applies what fell due, each at its instant
        done += len(batch)
        if progress is not None:
            progress.update(done)
    remaining = (origin + timedelta(seconds=span) - sandbox.clock.now()).total_seconds()
    sandbox.advance_clock(max(remaining, 0))
    return _finish(sandbox, summary, account_ids, progress, started)


def _finish(
    sandbox: Sandbox, summary: SeedSummary, account_ids: list[int], progress: Progress | None, started: float
) -> SeedSummary:
    if progress is not None:
        progress.close()
    summary.end = sandbox.clock.now().isoformat(timespec="seconds")
    summary.seconds = time.monotonic() - started
    with sandbox.transaction() as session:
        summary.states = _states(session, account_ids)
    sandbox.store.checkpoint()
    return summary


def _bulk_applies(options: SeedOptions, accounts: list[Account]) -> bool:
    possible = all(a.provider in BULK_PROVIDERS for a in accounts)
    if options.bulk is None:
        return possible and options.invoices >= BULK_FROM
    if options.bulk and not possible:
        others = sorted({a.provider for a in accounts} - BULK_PROVIDERS)
        raise SeedError(f"bulk seeding does not know provider(s) {', '.join(others)} yet")
    return options.bulk


_Class = tuple[int, bool, bool, str | None]


def _seed_bulk(
    sandbox: Sandbox,
    plan: list[_Planned],
    account_ids: list[int],
    generator: InvoiceGenerator,
    numbers: _Numbers,
    origin: datetime,
    span: float,
    summary: SeedSummary,
    progress: Progress | None,
) -> None:
    """Templates per class through the create path and their lifecycle, then clones (seed_bulk).

    A class has several templates: its outcome may be drawn by the SDI (no trigger: delivered or not),
    and the clones take them in turn, so the shares stay those of the create path."""
    end = origin + timedelta(seconds=span)
    chosen: dict[_Class, list[_Planned]] = {}
    for item in plan:
        found = chosen.setdefault(_class_of(item), [])
        if len(found) < (TEMPLATES_PER_CLASS if item.outcome is None else 1):
            found.append(item)
    firsts = [item for items in chosen.values() for item in items]
    made: list[bulk.Template | None] = []
    owners: dict[tuple[str, int], int] = {}
    with sandbox.transaction() as session:
        since = bulk.max_ids(session)
        accounts = {
            a.id: a for a in session.execute(select(Account).where(Account.id.in_(account_ids))).scalars()
        }
        for index, item in enumerate(firsts):
            account = accounts[account_ids[item.account_index]]
            before = bulk.max_ids(session)["sdi_invoices"]
            if item.sent:
                kept = _send_one(sandbox, session, account, item, generator, numbers)
            else:
                kept = _receive_one(sandbox, session, account, item, generator)
            session.flush()
            after = bulk.max_ids(session)["sdi_invoices"]
            made.append(bulk.Template(created=origin) if kept and after > before else None)
            _count(summary, item, made[-1] is not None)
            for invoice_id in range(before + 1, after + 1):
                owners[("sdi_invoices", invoice_id)] = index
        captured = bulk.capture(session, since, owners)
    _add_stage(made, captured, 0.0)
    while True:  # the templates' lifecycles, a stage for each template at each of its steps
        with sandbox.transaction() as session:
            due = sandbox.engine.first_due_at(session)
            if due is None or due > end:
                break
            moved = set(
                session.execute(
                    select(SdiEvent.invoice_id).where(SdiEvent.status == "pending", SdiEvent.due_at <= due)
                ).scalars()
            )
        sandbox.advance_clock(max((due - sandbox.clock.now()).total_seconds(), 0.0))
        with sandbox.transaction() as session:
            captured = bulk.capture(session, since, owners, moved)
        _add_stage(made, captured, (due - origin).total_seconds())
    sandbox.advance_clock(max((end - sandbox.clock.now()).total_seconds(), 0.0))
    templates: dict[_Class, list[bulk.Template | None]] = defaultdict(list)
    for item, template in zip(firsts, made, strict=True):
        templates[_class_of(item)].append(template)
    template_items = {id(item) for item in firsts}
    _write_clones(
        sandbox, plan, template_items, templates, account_ids, numbers, origin, end, summary, progress
    )


def _class_of(item: _Planned) -> _Class:
    return (item.account_index, item.sent, item.pa, item.outcome)


def _add_stage(
    made: list[bulk.Template | None], captured: dict[int, dict[str, list[dict[str, Any]]]], age: float
) -> None:
    for index, rows in captured.items():
        template = made[index]
        if template is not None:
            template.stages.append(bulk.Stage(age, rows))


def _count(summary: SeedSummary, item: _Planned, kept: bool) -> None:
    if item.sent:
        summary.sent += kept
        summary.refused_by_provider += not kept
    else:
        summary.received += kept
        summary.refused_by_sdi += not kept


def _write_clones(
    sandbox: Sandbox,
    plan: list[_Planned],
    template_items: set[int],
    templates: dict[_Class, list[bulk.Template | None]],
    account_ids: list[int],
    numbers: _Numbers,
    origin: datetime,
    end: datetime,
    summary: SeedSummary,
    progress: Progress | None,
) -> None:
    with sandbox.transaction() as session:
        counters = bulk.Counters(session)
        accounts = {
            a.id: a for a in session.execute(select(Account).where(Account.id.in_(account_ids))).scalars()
        }
        taken = {
            (document["account_id"], document["progressivo_invio"])
            for group in templates.values()
            for template in group
            if template is not None
            for document in template.stages[0].rows.get("easytracking_documents", [])
        }
    pending: dict[str, list[dict[str, Any]]] = {}
    rows = 0
    done = len(template_items)
    serial = 0
    turns: Counter[_Class] = Counter()

    def flush(last: bool) -> None:
        with sandbox.transaction() as session, bulk.BigCache(session):
            bulk.write(session, pending)
            if last:
                counters.save(session)
        pending.clear()

    for item in plan:
        if id(item) in template_items:
            continue
        key = _class_of(item)
        group = templates[key]
        template = group[turns[key] % len(group)]
        turns[key] += 1
        _count(summary, item, template is not None)
        done += 1
        if template is None:
            continue
        account = accounts[account_ids[item.account_index]]
        created = origin + timedelta(seconds=item.offset)
        stage = template.stage_at((end - created).total_seconds())
        while True:
            serial += 1
            progressive = "Z" + base36(serial).rjust(4, "0")
            if (account.id, progressive) not in taken:
                break
        number = numbers.next(account, created.astimezone(ROME).year)
        for name, cloned in bulk.clone(template, stage, created, counters, number, progressive).items():
            pending.setdefault(name, []).extend(cloned)
            rows += len(cloned)
        if rows >= bulk.ROWS_PER_TRANSACTION:
            flush(False)
            rows = 0
            if progress is not None:
                progress.update(done)
    flush(True)
    if progress is not None:
        progress.update(done)


class _Numbers:
    """Invoice numbers unique per supplier and year, as a real ledger keeps them (no 00404 by chance).

    A tag drawn per run keeps a second run on the same store from repeating the first one's numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.tag = "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=3))
        self._last: Counter[tuple[int, int]] = Counter()

    def next(self, account: Account, year: int) -> str:
        self._last[(account.id, year)] += 1
        return f"{self.tag}-{self._last[(account.id, year)]}/{year}"


def _send_one(
    sandbox: Sandbox,
    session: Session,
    account: Account,
    item: _Planned,
    generator: InvoiceGenerator,
    numbers: _Numbers,
) -> bool:
    today = sandbox.clock.now_rome().date()
    invoice = generator.generate(
        number=numbers.next(account, today.year),
        supplier=_party(account),
        pa=item.pa,
        issue_date=today,
        causale=f"SANDBOX:{item.outcome}" if item.outcome else None,
        transmitter=TRANSMITTERS.get(account.provider),
    )
    try:
        with session.begin_nested():
            return SENDERS[account.provider](sandbox, session, account, invoice.xml)
    except SandboxError:
        return False


def _receive_one(
    sandbox: Sandbox, session: Session, account: Account, item: _Planned, generator: InvoiceGenerator
) -> bool:
    """A supplier's invoice to ``account``; False (and nothing kept) when the SDI would reject it."""
    code = account.profile.get("pa_office_code") if item.pa else account.profile.get("recipient_code")
    invoice = generator.generate(
        customer=_party(account),
        pa=item.pa,
        issue_date=sandbox.clock.now_rome().date(),
        recipient_code=code,
    )
    nested = session.begin_nested()
    reception = sandbox.engine.deliver_incoming(
        session, file_name=invoice.file_name, content=invoice.xml, recipient_account_id=account.id
    )
    if reception.errors:
        log.warning(
            "a generated incoming invoice was rejected (%s): skipped",
            ", ".join(f"{e.code} {e.description}" for e in reception.errors),
        )
        nested.rollback()
        return False
    nested.commit()
    return True


def _states(session: Session, account_ids: list[int]) -> Counter[tuple[str, str, str, str]]:
    names = {a.id: (a.provider, a.tenant) for a in session.execute(select(Account)).scalars()}
    counts: Counter[tuple[str, str, str, str]] = Counter()
    rows = session.execute(
        select(SdiInvoice.sender_account_id, SdiInvoice.recipient_account_id, SdiInvoice.state)
    ).all()
    for sender, recipient, state in rows:
        if sender in names and sender in account_ids:
            counts[(*names[sender], "sent", state)] += 1
        if recipient in names and recipient in account_ids:
            counts[(*names[recipient], "received", state)] += 1
    return counts


def progress_for(total: int, quiet: bool, stream: TextIO = sys.stderr) -> Progress:
    return Progress(total, stream, enabled=not quiet and stream.isatty())


def summary_view(summary: SeedSummary) -> dict[str, Any]:
    return {
        "invoices": summary.invoices,
        "sent": summary.sent,
        "received": summary.received,
        "refused_by_provider": summary.refused_by_provider,
        "refused_by_sdi": summary.refused_by_sdi,
        "seconds": round(summary.seconds, 3),
        "states": [
            {"provider": p, "tenant": t, "direction": d, "state": s, "count": c}
            for (p, t, d, s), c in sorted(summary.states.items())
        ],
    }
