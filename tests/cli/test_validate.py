"""``fattura-sandbox validate``: the SDI's checks offline; exit 0 / 1 (NS) / 2 (unreadable, usage)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.commands.generate import GenerateOptions, check_options, generate
from emulator.sdi.signing import SandboxSigner
from tests.conftest import XSD_DIR


def _invoice(directory: Path, seed: int = 1, **options: object) -> Path:
    made = generate(check_options(GenerateOptions(seed=seed, issue_date=dt.date(2026, 3, 2), **options)))  # type: ignore[arg-type]
    path = directory / made.file_name
    path.write_bytes(made.xml)
    return path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["validate", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_valid_files_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _invoice(tmp_path, 1), _invoice(tmp_path, 2, simplified=True)
    code = main(["validate", str(first), str(second)])
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [f"{first}: OK", f"{second}: OK"]


@pytest.mark.skipif(not XSD_DIR.is_dir(), reason="the official schemas are not here")
def test_schema_errors_with_the_xsd(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _invoice(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"<Divisa>EUR</Divisa>", b"<Divisa>EURO</Divisa>"))
    code, report = _json(capsys, str(path), "--xsd-dir", str(XSD_DIR))
    assert code == 1
    files = report["files"]
    assert isinstance(files, list)
    assert files[0]["result"] == "NS"
    assert files[0]["errors"][0]["code"] == "00200"


def test_file_name_rule_uses_the_files_own_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _invoice(tmp_path)
    renamed = path.rename(tmp_path / "fattura.xml")
    code = main(["validate", str(renamed)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0] == f"{renamed}: NS (1 error)"
    assert "00001 Nome file non valido : fattura.xml" in out


def test_content_rules_and_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _invoice(tmp_path)
    copy = tmp_path / (path.name[:-9] + "ZZZZZ.xml")
    copy.write_bytes(path.read_bytes())
    code, report = _json(capsys, str(path), str(copy), str(path))
    assert code == 1
    assert report["ok"] is False
    files = report["files"]
    assert isinstance(files, list)
    assert files[0]["result"] == "OK"
    assert [e["code"] for e in files[1]["errors"]] == ["00404"]  # same supplier, number and date
    assert [e["code"] for e in files[2]["errors"]] == ["00002"]  # the same file name again


def test_p7m_envelopes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _invoice(tmp_path)
    signed = tmp_path / (path.name + ".p7m")
    signed.write_bytes(SandboxSigner.generate(dt.datetime.now(dt.UTC)).make_p7m(path.read_bytes()))
    broken = tmp_path / (path.name[:-9] + "BROKE.xml.p7m")
    broken.write_bytes(b"not a p7m")
    code, report = _json(capsys, str(signed), str(broken))
    assert code == 1
    files = report["files"]
    assert isinstance(files, list)
    assert files[0]["result"] == "OK"
    assert files[1]["errors"][0]["code"] == "00102"


def test_not_xml_is_a_format_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "IT09382170158_00001.xml"
    path.write_bytes(b"<FatturaElettronica")
    code, report = _json(capsys, str(path))
    assert code == 1
    files = report["files"]
    assert isinstance(files, list)
    assert files[0]["errors"][0]["code"] == "00200"
    assert files[0]["errors"][0]["description"]


def test_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _invoice(tmp_path)
    missing = tmp_path / "IT09382170158_00009.xml"
    code = main(["validate", str(good), str(missing)])
    out = capsys.readouterr().out
    assert code == 2
    assert f"{missing}: UNREADABLE (No such file or directory)" in out


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as no_files:
        main(["validate"])
    assert no_files.value.code == 2
    assert "the following arguments are required: FILE" in capsys.readouterr().err
    code = main(["validate", str(_invoice(tmp_path)), "--xsd-dir", str(tmp_path)])
    assert code == 2
    assert "fattura-sandbox validate: cannot load the schemas in" in capsys.readouterr().err
