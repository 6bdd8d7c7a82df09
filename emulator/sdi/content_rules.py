"""The SDI's content checks on a body's withholding, pension-fund, discount, summary and nature data.

The codes are the SDI's "Elenco controlli" ones the validator (``emulator.sdi.validation``) reads from
the document itself rather than from ``ParsedInvoice``: 00411, 00413, 00415, 00418, 00420, 00429,
00430, 00437, 00438, 00443, 00444, 00445 for an ordinary invoice, 00445 and 00460 for a simplified
one. Each rule reads one ``FatturaElettronicaBody`` element and yields a ``Finding``: the code and
the value the description quotes (None where it quotes none); the validator turns findings into
``SdiError`` with the catalogue's wording.

Decisions: 00445 applies to invoices dated from 1 January 2021 (or with no readable date), as the
SDI's document says; a simplified invoice has no N6, so only N2 and N3 are generic there. 00443 quotes
each summary rate no line or pension fund uses, 00444 the first nature (lines and funds first, then
summaries) without a counterpart. 00460 quotes the sum of the ``Importo`` and does not apply to an
invoice that corrects another (``DatiFatturaRettificata``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import NamedTuple

from lxml import etree

from emulator.sdi.fatturapa import child, children, text, to_date, to_decimal

GENERIC_NATURES = frozenset({"N2", "N3", "N6"})
GENERIC_NATURES_SIMPLIFIED = frozenset({"N2", "N3"})
GENERIC_NATURES_BANNED_FROM = dt.date(2021, 1, 1)
SIMPLIFIED_LIMIT = Decimal("400.00")


class Finding(NamedTuple):
    code: str
    value: str | None = None


# -- ordinary invoices --------------------------------------------------------------------------------


def ordinary_findings(body: etree._Element) -> Iterator[Finding]:
    """The content checks of one body of a FatturaElettronica, roughly in code order."""
    general = child(body, "DatiGenerali")
    document = child(general, "DatiGeneraliDocumento")
    goods = children(body, "DatiBeniServizi")
    lines = [line for group in goods for line in children(group, "DettaglioLinee")]
    summaries = [summary for group in goods for summary in children(group, "DatiRiepilogo")]
    funds = children(document, "DatiCassaPrevidenziale")
    yield from _withholding_findings(document, lines, funds)
    yield from _linked_date_findings(general, document)
    yield from _summary_findings(summaries)
    yield from _discount_findings("00437", children(document, "ScontoMaggiorazione"))
    line_discounts = [d for line in lines for d in children(line, "ScontoMaggiorazione")]
    yield from _discount_findings("00438", line_discounts)
    details = [*lines, *funds]
    yield from _correspondence_findings(details, summaries)
    if _dated_from_2021(document):
        yield from _generic_nature_findings([*details, *summaries], GENERIC_NATURES)


def _withholding_findings(
    document: etree._Element | None, lines: Sequence[etree._Element], funds: Sequence[etree._Element]
) -> Iterator[Finding]:
    """00411/00415: a line or a pension fund subject to withholding without DatiRitenuta; 00413."""
    withholding = bool(children(document, "DatiRitenuta"))
    if not withholding and any(text(line, "Ritenuta") == "SI" for line in lines):
        yield Finding("00411")
    for fund in funds:
        if _rate(fund) == 0 and not text(fund, "Natura"):
            yield Finding("00413", text(fund, "AliquotaIVA"))
        if not withholding and text(fund, "Ritenuta") == "SI":
            yield Finding("00415")


def _linked_date_findings(
    general: etree._Element | None, document: etree._Element | None
) -> Iterator[Finding]:
    """00418: a credit note (TD04) dated before an invoice it corrects (2.1.6 DatiFattureCollegate)."""
    day = to_date(text(document, "Data"))
    if text(document, "TipoDocumento") != "TD04" or day is None:
        return
    for linked in children(general, "DatiFattureCollegate"):
        linked_day = to_date(text(linked, "Data"))
        if linked_day is not None and day < linked_day:
            yield Finding("00418", text(document, "Data"))
            return


def _summary_findings(summaries: Iterable[etree._Element]) -> Iterator[Finding]:
    for summary in summaries:
        nature, rate = text(summary, "Natura"), _rate(summary)
        if nature and nature.startswith("N6") and text(summary, "EsigibilitaIVA") == "S":
            yield Finding("00420", nature)
        if rate == 0 and not nature:
            yield Finding("00429", text(summary, "AliquotaIVA"))
        if rate is not None and rate != 0 and nature:
            yield Finding("00430", nature)


def _discount_findings(code: str, discounts: Iterable[etree._Element]) -> Iterator[Finding]:
    """A ScontoMaggiorazione with a Tipo but neither Percentuale nor Importo."""
    for discount in discounts:
        kind = text(discount, "Tipo")
        if kind and not (text(discount, "Percentuale") or text(discount, "Importo")):
            yield Finding(code, kind)


def _correspondence_findings(
    details: Sequence[etree._Element], summaries: Sequence[etree._Element]
) -> Iterator[Finding]:
    """00443: a summary rate no line or fund uses; 00444: natures differ between details and summaries."""
    detail_rates = {r for r in map(_rate, details) if r is not None}
    for summary in summaries:
        rate = _rate(summary)
        if rate is not None and rate not in detail_rates:
            yield Finding("00443", text(summary, "AliquotaIVA"))
    detail_natures, summary_natures = _natures(details), _natures(summaries)
    unmatched = [n for n in detail_natures if n not in summary_natures]
    unmatched += [n for n in summary_natures if n not in detail_natures]
    if unmatched:
        yield Finding("00444", unmatched[0])


def _generic_nature_findings(
    elements: Iterable[etree._Element], generic: frozenset[str]
) -> Iterator[Finding]:
    """00445: N2, N3 (or N6) without the detail code introduced in 2021."""
    for nature in _natures(elements):
        if nature in generic:
            yield Finding("00445", nature)


def _rate(element: etree._Element) -> Decimal | None:
    return to_decimal(text(element, "AliquotaIVA"))


def _natures(elements: Iterable[etree._Element]) -> list[str]:
    """The distinct natures of ``elements`` in document order."""
    return list(dict.fromkeys(n for n in (text(e, "Natura") for e in elements) if n))


def _dated_from_2021(document: etree._Element | None) -> bool:
    day = to_date(text(document, "Data"))
    return day is None or day >= GENERIC_NATURES_BANNED_FROM


# -- simplified invoices ------------------------------------------------------------------------------


def simplified_findings(body: etree._Element) -> Iterator[Finding]:
    """The content checks of one body of a FatturaElettronicaSemplificata (00445, 00460).

    The simplified wording of 00400, 00401 and 00424 is the validator's: they read ``ParsedInvoice``.
    """
    general = child(body, "DatiGenerali")
    document = child(general, "DatiGeneraliDocumento")
    goods = children(body, "DatiBeniServizi")
    if _dated_from_2021(document):
        yield from _generic_nature_findings(goods, GENERIC_NATURES_SIMPLIFIED)
    total = sum((to_decimal(text(item, "Importo")) or Decimal(0) for item in goods), Decimal(0))
    if total > SIMPLIFIED_LIMIT and child(general, "DatiFatturaRettificata") is None:
        yield Finding("00460", f"{total:.2f}")
