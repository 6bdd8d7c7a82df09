"""Seeded ids repeat within a run's first start and never repeat across restarts on one database."""

from __future__ import annotations

from pathlib import Path

from emulator.core.ids import IdFactory
from emulator.state import Sandbox
from tests.conftest import make_config


def test_a_seed_gives_the_same_ids_and_a_new_generation_new_ones() -> None:
    first, again = IdFactory(7), IdFactory(7)
    assert [first.guid() for _ in range(3)] == [again.guid() for _ in range(3)]
    assert IdFactory(7, generation=1).guid() != IdFactory(7).guid()
    assert IdFactory(7, generation=1).guid() == IdFactory(7, generation=1).guid()


def test_a_restarted_seeded_sandbox_continues_with_new_ids(tmp_path: Path) -> None:
    config = make_config(db=str(tmp_path / "state.db"))
    seen = []
    for _ in range(3):
        sandbox = Sandbox(config)
        seen.append(sandbox.ids.guid())
        sandbox.reset()  # a reset keeps the count of starts
        sandbox.close()
    assert len(set(seen)) == 3
    # An in-memory sandbox always starts afresh, so a seeded run repeats exactly.
    assert Sandbox(make_config()).ids.guid() == Sandbox(make_config()).ids.guid()


def test_base36_names_do_not_clash_when_case_is_ignored() -> None:
    from emulator.core.ids import base36

    names = {base36(n)[-5:] for n in range(2_275_500, 2_285_500)}
    assert len({name.lower() for name in names}) == len(names) == 10_000
    assert base36(0) == "0" and base36(35) == "Z" and base36(36) == "10"
