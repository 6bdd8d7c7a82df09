"""``fattura-sandbox seed``: a history every provider sees, outcomes of every kind, a summary, fast."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from emulator.app import create_app
from emulator.cli import main
from emulator.commands.seed import Progress, SeedOptions, progress_for, seed
from emulator.config import Config
from emulator.providers.acube.models import AcubeInvoice
from emulator.providers.aruba.models import ArubaInvoice
from emulator.providers.easytracking.models import EtDocument
from emulator.providers.openapi.models import OpenapiInvoice
from emulator.sdi.models import SdiInvoice, SdiNotification
from emulator.state import Sandbox
from tests.conftest import make_config


def _wired() -> Sandbox:
    """A sandbox with its providers wired in (their task handlers and SDI listeners), no XSD."""
    sandbox: Sandbox = create_app(make_config(xsd_dir=None)).extensions["fattura_sandbox"]
    return sandbox


CODICE = re.compile(rb"<Codice>(\d{5})</Codice>")


def test_two_hundred_invoices_fast_into_the_database_serve_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "seeded.db"
    code = main(
        [
            "seed",
            "--invoices",
            "200",
            "--db",
            str(db),
            "--provider",
            "easytracking",
            "--seed",
            "1",
            "--format",
            "json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seconds"] < 10  # 3 s measured on an idle machine; the imports are not counted
    assert summary["invoices"] == 200
    kept = summary["sent"] + summary["received"]
    assert kept + summary["refused_by_provider"] + summary["refused_by_sdi"] == 200
    assert summary["refused_by_provider"] == 0
    assert sum(s["count"] for s in summary["states"]) == kept
    # The store keeps the history: a later `serve` on the same file sees it, the clock about now.
    sandbox = Sandbox(Config(db=str(db)))
    with sandbox.transaction() as session:
        assert session.execute(select(func.count()).select_from(SdiInvoice)).scalar_one() == kept
        sent = session.execute(select(func.count()).select_from(EtDocument)).scalar_one()
        assert sent == summary["sent"]
        first = session.execute(select(func.min(SdiInvoice.received_at))).scalar_one()
    assert (sandbox.clock.now() - first).days > 100  # spread over the past months


def test_every_provider_every_outcome() -> None:
    sandbox = _wired()
    options = SeedOptions(invoices=90, seed=3, months=2, batch_size=25)
    summary = seed(sandbox.config, options, sandbox=sandbox)
    assert summary.invoices == 90
    assert summary.refused_by_provider == 0
    with sandbox.transaction() as session:
        # Each provider filed its sent invoices through its own create path.
        assert session.execute(select(func.count()).select_from(EtDocument)).scalar_one() > 0
        aruba_out = select(func.count()).select_from(ArubaInvoice).where(ArubaInvoice.direction == "out")
        assert session.execute(aruba_out).scalar_one() > 0
        acube_sent = select(func.count()).select_from(AcubeInvoice).where(AcubeInvoice.type == 0)
        assert session.execute(acube_sent).scalar_one() > 0
        assert session.execute(select(func.count()).select_from(OpenapiInvoice)).scalar_one() > 0
        kinds = set(session.execute(select(SdiNotification.type)).scalars())
        states = set(session.execute(select(SdiInvoice.state)).scalars())
        ns_files = session.execute(select(SdiNotification.content).where(SdiNotification.type == "NS"))
        ns_codes = {code for content in ns_files.scalars() for code in CODICE.findall(content)}
    assert {"RC", "NS", "MC", "NE", "DT", "MT"} <= kinds
    assert {"delivered", "rejected", "not_delivered"} <= states
    assert ns_codes - {b"00200"}  # real codes, not only the generic one
    assert {"sent", "received"} <= {direction for (_, _, direction, _) in summary.states}
    assert {p for (p, _, _, _) in summary.states} == {"easytracking", "aruba", "acube", "openapi"}
    rendered = summary.render()
    assert rendered.startswith("seeded 90 invoices (")
    assert "provider     tenant   direction state" in rendered


def test_same_seed_same_history() -> None:
    views = []
    for _ in range(2):
        sandbox = _wired()
        seed(sandbox.config, SeedOptions(invoices=12, provider="acube", seed=8), sandbox=sandbox)
        with sandbox.transaction() as session:
            views.append(sorted(session.execute(select(SdiInvoice.state, SdiInvoice.number)).all()))
    assert views[0] == views[1]


def test_filters_that_match_no_account(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["seed", "--invoices", "5", "--db", ":memory:", "--tenant", "nobody", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "fattura-sandbox seed: no sandbox account matches provider=any tenant=nobody" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--invoices", "0"], "--invoices must be at least 1"),
        (["--invoices", "3", "--months", "0"], "--months must be at least 1"),
        (["--invoices", "3", "--batch-size", "0"], "the batch size must be at least 1"),
    ],
)
def test_bad_numbers(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["seed", "--db", ":memory:", "--quiet", *args]) == 2
    assert f"fattura-sandbox seed: {message}" in capsys.readouterr().err


def test_invoices_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["seed"])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --invoices" in capsys.readouterr().err


def test_progress_bar_only_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = Progress(200, stream, enabled=True)
    bar.update(100)
    bar.close()
    assert "seeding [###############---------------] 100/200" in stream.getvalue()
    assert stream.getvalue().endswith("\n")
    assert not progress_for(10, quiet=False, stream=io.StringIO()).enabled  # not a TTY
    tty = io.StringIO()
    tty.isatty = lambda: True  # type: ignore[method-assign]
    assert progress_for(10, quiet=False, stream=tty).enabled
    assert not progress_for(10, quiet=True, stream=tty).enabled


def test_a_thousand_easy_tracking_invoices_are_replicated_from_templates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bulk.db"
    args = ["seed", "--invoices", "1000", "--db", str(db), "--provider", "easytracking", "--seed", "4"]
    assert main([*args, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seconds"] < 20  # 3 s measured (templates ~2 s, 1 000 clones ~0.5 s); 36 s one by one
    kept = summary["sent"] + summary["received"]
    assert kept == 1000 and summary["refused_by_provider"] == summary["refused_by_sdi"] == 0
    assert sum(s["count"] for s in summary["states"]) == kept
    sandbox = Sandbox(Config(db=str(db)))
    with sandbox.transaction() as session:
        assert session.execute(select(func.count()).select_from(SdiInvoice)).scalar_one() == kept
        unsigned = select(func.count()).select_from(SdiNotification).where(SdiNotification.signed.is_(False))
        assert session.execute(unsigned).scalar_one() > 500  # the clones' messages, signed when read
        first = session.execute(select(func.min(SdiInvoice.received_at))).scalar_one()
    assert (sandbox.clock.now() - first).days > 100
