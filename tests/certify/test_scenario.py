"""The scenario format: built-ins load, files load, mistakes are explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.certify.scenario import ScenarioError, builtin_names, load, parse

BUILT_INS = [
    "expired-token",
    "happy-path",
    "incoming-invoices",
    "network-faults",
    "pa-esito-and-dt",
    "sdi-rejections",
]


def test_built_ins_load_and_apply_to_every_provider() -> None:
    assert builtin_names() == BUILT_INS
    for name in BUILT_INS:
        scenario = load(name)
        assert scenario.name == name
        assert scenario.providers == ("easytracking", "aruba", "acube", "openapi")
        assert scenario.required and "contract" in scenario.required
        assert scenario.view()["steps"]


def test_network_faults_scenario_injects_throttle_error_and_drop() -> None:
    scenario = load("network-faults")
    effects = [s.params["rule"]["effect"]["type"] for s in scenario.steps]
    assert effects == ["throttle", "error", "drop"]
    assert "retries" in scenario.required


def test_file_scenario(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nproviders: [aruba]\nrun_seconds: 2\ninvoices: 1\n"
        "steps:\n  - {after: upload, action: outcome, type: ns, errors: [{code: '00305'}]}\n"
        "  - {at: 1, action: expire_token}\n"
        "checks: {required: [contract], advisory: [retries]}\n"
    )
    scenario = load(str(path))
    assert scenario.source == str(path)
    assert scenario.providers == ("aruba",)
    assert scenario.steps[0].params == {"type": "NS", "errors": [{"code": "00305"}]}
    assert scenario.steps[0].describe() == "after upload: outcome (type=NS, errors=[{'code': '00305'}])"
    assert scenario.steps[1].describe() == "1 s: expire_token"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list", "A scenario is a mapping"),
        ("name: x\nproviders: [nope]", "providers must be"),
        ("name: x\nrun_seconds: 0", "run_seconds must be"),
        ("name: x\nsteps: [{action: explode}]", "step 1: action must be one of"),
        ("name: x\nsteps: [{action: outcome, type: RC}]", "needs after: upload"),
        ("name: x\nsteps: [{action: outcome, type: XX, after: upload}]", "outcome type must be"),
        ("name: x\nsteps: [{action: clock}]", "advance_seconds"),
        ("name: x\nsteps: [{action: fault}]", "fault needs a rule"),
        ("name: x\nsteps: [{action: clock, advance_seconds: 1, after: never}]", "after must be one of"),
        ("name: x\nchecks: {required: [telepathy]}", "Unknown check(s) telepathy"),
        ("name: [unclosed", "not valid YAML"),
    ],
)
def test_bad_scenarios_are_explained(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


def test_unknown_scenario_names_the_built_ins() -> None:
    with pytest.raises(ScenarioError, match="happy-path"):
        load("no-such-scenario")
