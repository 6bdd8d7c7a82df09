"""``fattura-sandbox validate FILE…``: the SDI's checks offline, with the file's own name.

The same ``SdiValidator`` the sandbox's SDI runs on every received file (file name, size, p7m
envelope, format, XSD when the schemas are given, header and content rules). Duplicates are judged
among the files of one run (the same file name twice: 00002; the same supplier, number and date
twice: 00404), since there is no store behind the command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator.sdi.fatturapa import Body, ParsedInvoice
from emulator.sdi.signing import SignatureError, unwrap_p7m
from emulator.sdi.validation import SdiError, SdiValidator, describe


@dataclass
class FileReport:
    path: str
    file_name: str
    errors: list[SdiError] = field(default_factory=list)
    unreadable: str | None = None

    @property
    def ok(self) -> bool:
        return self.unreadable is None and not self.errors

    def view(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "file_name": self.file_name,
            "result": "unreadable" if self.unreadable else ("OK" if self.ok else "NS"),
            "reason": self.unreadable,
            "errors": [
                {"code": e.code, "description": e.description, "suggestion": e.suggestion}
                for e in self.errors
            ],
        }


class OfflineValidator:
    def __init__(self, xsd_dir: Path | None) -> None:
        self._validator = SdiValidator(xsd_dir)
        self._names: set[str] = set()
        self._invoices: set[tuple[str, str, str]] = set()

    def check(self, path: Path, received_at: datetime | None = None) -> FileReport:
        report = FileReport(path=str(path), file_name=path.name)
        try:
            content = path.read_bytes()
        except OSError as exc:
            report.unreadable = exc.strerror or str(exc)
            return report
        report.errors = self._errors(path.name, content, received_at or datetime.now(UTC))
        self._names.add(path.name.lower())
        return report

    def _errors(self, name: str, content: bytes, received_at: datetime) -> list[SdiError]:
        if len(content) > self._validator.max_bytes:
            return [describe("00003")]
        xml = content
        if name.lower().endswith(".p7m"):
            try:
                xml = unwrap_p7m(content)
            except SignatureError:
                return [describe("00102")]
        return self._validator.validate(
            name,
            xml,
            received_at=received_at,
            is_duplicate_file_name=lambda n: n.lower() in self._names,
            is_duplicate_invoice=self._duplicate,
        )

    def _duplicate(self, parsed: ParsedInvoice, body: Body) -> bool:
        key = (parsed.supplier.vat or parsed.supplier.fiscal_code or "", body.number or "", body.date or "")
        if key in self._invoices:
            return True
        self._invoices.add(key)
        return False


def render_text(reports: list[FileReport]) -> str:
    lines = []
    for report in reports:
        if report.unreadable is not None:
            lines.append(f"{report.path}: UNREADABLE ({report.unreadable})")
        elif report.ok:
            lines.append(f"{report.path}: OK")
        else:
            lines.append(
                f"{report.path}: NS ({len(report.errors)} error{'s' if len(report.errors) > 1 else ''})"
            )
            for error in report.errors:
                lines.append(f"  {error.code} {error.description}")
                if error.suggestion:
                    lines.append(f"        {error.suggestion}")
    return "\n".join(lines)


def render_json(reports: list[FileReport]) -> str:
    return json.dumps(
        {
            "ok": all(r.ok for r in reports),
            "files": [r.view() for r in reports],
        },
        indent=2,
        ensure_ascii=False,
    )


def exit_status(reports: list[FileReport]) -> int:
    if any(r.unreadable is not None for r in reports):
        return 2
    return 0 if all(r.ok for r in reports) else 1
