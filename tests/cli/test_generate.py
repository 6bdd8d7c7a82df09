"""``fattura-sandbox invoice generate``: valid FatturaPA on stdout, triggers, signing, usage errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.core.xmlsafe import parse_xml
from emulator.sdi.fatturapa import parse_invoice
from emulator.sdi.lifecycle import Event, Flow
from emulator.sdi.outcomes import Delays, OutcomePolicy
from emulator.sdi.signing import unwrap_p7m
from emulator.sdi.validation import load_fatturapa_schema, load_fsm_schema, schema_error
from tests.conftest import XSD_DIR

needs_xsd = pytest.mark.skipif(not XSD_DIR.is_dir(), reason="the official schemas are not here")


def _generate(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    code = main(["invoice", "generate", *args])
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


@needs_xsd
@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--type", "TD04"],
        ["--type", "TD06"],
        ["--type", "TD24"],
        ["--pa"],
        ["--pa", "--outcome", "NE-EC02"],
        ["--outcome", "NS:00305"],
        ["--simplified"],
        ["--simplified", "--type", "TD08"],
        ["--supplier", "IT09382170158", "--customer", "14725830377"],
    ],
)
def test_valid_against_the_official_schema(
    capsysbinary: pytest.CaptureFixture[bytes], args: list[str]
) -> None:
    code, out, err = _generate(capsysbinary, "--seed", "5", "--xsd-dir", str(XSD_DIR), *args)
    assert code == 0, err
    root = parse_xml(out)
    schema = load_fsm_schema(XSD_DIR) if "--simplified" in args else load_fatturapa_schema(XSD_DIR)
    assert schema is not None
    assert schema_error(schema, root) is None


def test_options_shape_the_invoice(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, _ = _generate(
        capsysbinary,
        "--type",
        "td04",
        "--supplier",
        "IT09382170158",
        "--customer",
        "14725830377",
        "--seed",
        "3",
    )
    assert code == 0
    parsed = parse_invoice(parse_xml(out))
    assert parsed.supplier.vat == "09382170158"
    assert parsed.customer.vat == "14725830377"
    assert parsed.first_body is not None and parsed.first_body.document_type == "TD04"
    assert parsed.versione == "FPR12"


def test_same_seed_same_invoice(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    first = _generate(capsysbinary, "--seed", "9", "--date", "2026-01-15")[1]
    second = _generate(capsysbinary, "--seed", "9", "--date", "2026-01-15")[1]
    assert first == second
    assert b"<Data>2026-01-15</Data>" in first


@pytest.mark.parametrize(
    ("outcome", "flow", "event", "code"),
    [
        ("NS:00305", Flow.B2B, Event.NS, "00305"),
        ("MC", Flow.B2B, Event.MC, None),
        ("NE-EC01", Flow.PA, Event.RC, None),  # a PA-only outcome makes a PA invoice
        ("DT", Flow.PA, Event.RC, None),
    ],
)
def test_outcome_trigger_is_the_one_the_sdi_obeys(
    capsysbinary: pytest.CaptureFixture[bytes], outcome: str, flow: Flow, event: Event, code: str | None
) -> None:
    status, out, _ = _generate(capsysbinary, "--outcome", outcome, "--seed", "2")
    assert status == 0
    parsed = parse_invoice(parse_xml(out))
    assert f"SANDBOX:{outcome}".encode() in out
    assert (parsed.versione == "FPA12") is (flow is Flow.PA)
    plan = OutcomePolicy(Delays()).plan(parsed, [], flow)
    assert plan[0].event is event
    if code is not None:
        assert plan[0].params["errors"][0]["code"] == code
    if outcome == "NE-EC01":
        assert [p.event for p in plan] == [Event.RC, Event.NE_EC01]


def test_signed_p7m_on_a_pipe(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, err = _generate(capsysbinary, "--signed", "--seed", "4", "--print-file-name")
    assert code == 0
    assert re.fullmatch(r"IT\w{11,16}_\w{5}\.xml\.p7m", err.strip())
    xml = unwrap_p7m(out)
    assert parse_invoice(parse_xml(xml)).versione == "FPR12"


def test_signed_refuses_a_terminal(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    code, out, err = _generate(capsysbinary, "--signed")
    assert code == 2
    assert out == b""
    assert "--signed writes a binary .p7m; redirect stdout to a file" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "TD99"], "--type must be one of TD01, TD02, TD04, TD05, TD06, TD24"),
        (
            ["--simplified", "--type", "TD01"],
            "--type of a simplified invoice must be one of TD07, TD08, TD09",
        ),
        (["--simplified", "--pa"], "--simplified and --pa cannot go together"),
        (["--simplified", "--outcome", "RC"], "--outcome needs a Causale"),
        (["--outcome", "XX"], "--outcome must be one of RC, NS:<code>"),
        (["--outcome", "NS:99999"], "99999 is not an SDI error code the sandbox knows"),
        (["--supplier", "123"], "--supplier must be an Italian P.IVA"),
        (["--customer", "09382170159"], "--customer 09382170159 is not a valid P.IVA"),
        (["--date", "15/01/2026"], "--date must be YYYY-MM-DD"),
    ],
)
def test_usage_errors(capsysbinary: pytest.CaptureFixture[bytes], args: list[str], message: str) -> None:
    code, out, err = _generate(capsysbinary, *args)
    assert code == 2
    assert out == b""
    assert err.startswith("fattura-sandbox invoice generate: ")
    assert message in err


def test_schema_directory_without_schemas(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    code, out, err = _generate(capsysbinary, "--xsd-dir", str(tmp_path))
    assert code == 1
    assert out == b""
    assert "cannot load the schemas in" in err


def test_unknown_subaction_is_argparse_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["invoice", "make"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'make'" in capsys.readouterr().err
