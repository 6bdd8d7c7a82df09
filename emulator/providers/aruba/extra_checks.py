"""The extra-schema checks Aruba runs before handing a file to the SDI (§7.5.2, FATRSM212).

The codes are the SDI's, limited to the table of §7.5.2. Those the sandbox SDI already checks
(``emulator.sdi.validation``) are taken from its validator, keeping only the listed codes; the
others of the table (withholding and pension-fund blocks, linked-invoice dates, summary blocks,
discounts, the generic natures N2/N3/N6, the simplified invoice's limits) are checked here.

Decisions: the status description names one error, the lowest code found (the table's order), as
``FATRSM212 - Errore di validazione: <code> - <message>`` with the document's message (the
simplified invoice's where the table gives one). Stray spaces inside the document's angle brackets
(``< Natura>``, ``2.2.2.1< AliquotaIVA>``) are dropped. 00445 applies to invoices dated from
1 January 2021, as the document says.

Limitations: the sandbox SDI itself does not run the checks of this module, so a file that reaches
it through another provider is not rejected for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal

from lxml import etree

from emulator.sdi.fatturapa import ParsedInvoice, child, children, text, to_date, to_decimal
from emulator.sdi.validation import SdiValidator

# code -> (ordinary invoice message, simplified invoice message if different)
MESSAGES: dict[str, tuple[str, str | None]] = {
    "00305": ("1.4.1.1.2 <IdCodice> non valido", None),
    "00306": ("1.4.1.2 <CodiceFiscale> non valido", None),
    "00400": (
        "2.2.1.14 <Natura> non presente a fronte di 2.2.1.12 <AliquotaIVA> pari a zero",
        "2.2.4 <Natura> non presente a fronte di 2.2.3.2 <Aliquota> pari a zero",
    ),
    "00401": (
        "2.2.1.14 <Natura> presente a fronte di 2.2.1.12 <AliquotaIVA> diversa da zero",
        "2.2.4 <Natura> presente a fronte di 2.2.3.2 <Aliquota> diversa da zero",
    ),
    "00403": ("2.1.1.3 <Data> successiva alla data di ricezione", None),
    "00411": (
        "2.1.1.5 <DatiRitenuta> non presente a fronte di almeno un blocco 2.2.1 <DettaglioLinee> con "
        "2.2.1.13 <Ritenuta> uguale a SI",
        None,
    ),
    "00413": ("2.1.1.7.7 <Natura> non presente a fronte di 2.1.1.7.5 <AliquotaIVA> pari a zero", None),
    "00415": ("2.1.1.5 <DatiRitenuta> non presente a fronte di 2.1.1.7.6 <Ritenuta> uguale a SI", None),
    "00417": (
        "1.4.1.1 <IdFiscaleIVA> e 1.4.1.2 <CodiceFiscale> non valorizzati (almeno uno dei due deve essere "
        "valorizzato)",
        None,
    ),
    "00418": ("2.1.1.3 <Data> antecedente a 2.1.6.3 <Data>", None),
    "00419": (
        "2.2.2 <DatiRiepilogo> non presente in corrispondenza di almeno un valore di 2.1.1.7.5 "
        "<AliquotaIVA> o 2.2.1.12 <AliquotaIVA>",
        None,
    ),
    "00420": (
        "2.2.2.2 <Natura> con valore N6 (inversione contabile) a fronte di 2.2.2.7 <EsigibilitaIVA> uguale "
        "a S (scissione pagamenti)",
        None,
    ),
    "00424": (
        "2.2.1.12 <AliquotaIVA> o 2.2.2.1 <AliquotaIVA> o 2.1.1.7.5 <AliquotaIVA> non indicata in termini "
        "percentuali",
        "2.2.3.2 <Aliquota> non indicata in termini percentuali",
    ),
    "00425": ("2.1.1.4 <Numero> non contenente caratteri numerici", None),
    "00427": (
        "1.1.4 <CodiceDestinatario> di 7 caratteri a fronte di 1.1.3 <FormatoTrasmissione> con valore "
        '"FPA12" o 1.1.4 <CodiceDestinatario> di 6 caratteri a fronte di 1.1.3 <FormatoTrasmissione> con '
        'valore "FPR12"',
        None,
    ),
    "00428": ('1.1.3 <FormatoTrasmissione> con valore diverso da "FPA12" e "FPR12"', None),
    "00429": ("2.2.2.2 <Natura> non presente a fronte di 2.2.2.1 <AliquotaIVA> pari a zero", None),
    "00430": ("2.2.2.2 <Natura> presente a fronte di 2.2.2.1 <AliquotaIVA> diversa da zero", None),
    "00437": (
        "2.1.1.8.2 <Percentuale> e 2.1.1.8.3 <Importo> non presenti a fronte di 2.1.1.8.1 <Tipo> valorizzato",
        None,
    ),
    "00438": (
        "2.2.1.10.2 <Percentuale> e 2.2.1.10.3 <Importo> non presenti a fronte di 2.2.1.10.1 <Tipo> "
        "valorizzato",
        None,
    ),
    "00443": (
        "Non c’è corrispondenza tra i valori indicati nell’elemento 2.2.1.12 <AliquotaIVA> o 2.1.1.7.5 "
        "<AliquotaIVA> e quelli dell’elemento 2.2.2.1 <AliquotaIVA>",
        None,
    ),
    "00444": (
        "Non c’è corrispondenza tra i valori indicati nell’elemento 2.2.1.14 <Natura> o 2.1.1.7.7 <Natura> "
        "e quelli dell’elemento 2.2.2.2 <Natura>",
        None,
    ),
    "00445": (
        "Non è più ammesso il valore generico N2, N3 o N6 come codice natura dell’operazione",
        "Non è più ammesso il valore generico N2 o N3 come codice natura dell’operazione",
    ),
    "00460": (
        "Importo totale superiore al limite previsto per le fatture semplificate ai sensi del DPR 633/72, "
        "art. 21 bis",
        None,
    ),
    "00471": (
        "Per il valore indicato nell’elemento 2.1.1.1 <TipoDocumento> il cedente/prestatore non può essere "
        "uguale al cessionario/committente",
        None,
    ),
    "00472": (
        "Per il valore indicato nell’elemento 2.1.1.1 <TipoDocumento> il cedente/prestatore deve essere "
        "uguale al cessionario/committente",
        None,
    ),
    "00473": (
        "Per il valore indicato nell’elemento 2.1.1.1 <TipoDocumento> non è ammesso il valore IT "
        "nell’elemento 1.2.1.1.1 <IdPaese>",
        None,
    ),
    "00474": (
        "Per il valore indicato nell’elemento 2.1.1.1 <TipoDocumento> non sono ammesse linee di dettaglio "
        "con l’elemento 2.2.1.12 <AliquotaIVA> contenente valore zero",
        None,
    ),
}
GENERIC_NATURES = frozenset({"N2", "N3", "N6"})
GENERIC_NATURES_SIMPLIFIED = frozenset({"N2", "N3"})
GENERIC_NATURES_BANNED_FROM = dt.date(2021, 1, 1)
SIMPLIFIED_LIMIT = Decimal("400.00")


def extra_schema_error(
    validator: SdiValidator,
    file_name: str,
    xml: bytes,
    root: etree._Element,
    parsed: ParsedInvoice,
    received_at: datetime,
) -> str | None:
    """``<code> - <message>`` of the first failed check, or None when the invoice passes them all."""
    sdi_errors = validator.validate(
        file_name,
        xml,
        received_at=received_at,
        is_duplicate_file_name=lambda _name: False,
        is_duplicate_invoice=lambda _parsed, _body: False,
    )
    codes = {e.code for e in sdi_errors if e.code in MESSAGES}
    codes.update(simplified_errors(root) if parsed.simplified else ordinary_errors(root))
    if not codes:
        return None
    code = min(codes)
    ordinary, simplified = MESSAGES[code]
    message = simplified if parsed.simplified and simplified else ordinary
    return f"{code} - {message}"


# -- ordinary invoices --------------------------------------------------------------------------------


def ordinary_errors(root: etree._Element) -> set[str]:
    codes: set[str] = set()
    for body in children(root, "FatturaElettronicaBody"):
        codes.update(_ordinary_body_errors(body))
    return codes


def _ordinary_body_errors(body: etree._Element) -> Iterator[str]:
    general = child(body, "DatiGenerali")
    document = child(general, "DatiGeneraliDocumento")
    goods = children(body, "DatiBeniServizi")
    lines = [line for group in goods for line in children(group, "DettaglioLinee")]
    summaries = [summary for group in goods for summary in children(group, "DatiRiepilogo")]
    funds = children(document, "DatiCassaPrevidenziale")
    withholding = bool(children(document, "DatiRitenuta"))
    if not withholding and any(text(line, "Ritenuta") == "SI" for line in lines):
        yield "00411"
    for fund in funds:
        if _rate(fund) == 0 and not text(fund, "Natura"):
            yield "00413"
        if not withholding and text(fund, "Ritenuta") == "SI":
            yield "00415"
    yield from _linked_date_errors(general, document)
    yield from _summary_errors(summaries)
    if any(_discount_incomplete(d) for d in children(document, "ScontoMaggiorazione")):
        yield "00437"
    if any(_discount_incomplete(d) for line in lines for d in children(line, "ScontoMaggiorazione")):
        yield "00438"
    details = [*lines, *funds]
    detail_rates = {r for r in map(_rate, details) if r is not None}
    if any(r is not None and r not in detail_rates for r in map(_rate, summaries)):
        yield "00443"
    if _natures(details) != _natures(summaries):
        yield "00444"
    if _dated_from_2021(document) and _natures([*details, *summaries]) & GENERIC_NATURES:
        yield "00445"


def _linked_date_errors(general: etree._Element | None, document: etree._Element | None) -> Iterator[str]:
    """00418: a credit note (TD04) dated before an invoice it corrects (2.1.6 DatiFattureCollegate)."""
    day = to_date(text(document, "Data"))
    if text(document, "TipoDocumento") != "TD04" or day is None:
        return
    for linked in children(general, "DatiFattureCollegate"):
        linked_day = to_date(text(linked, "Data"))
        if linked_day is not None and day < linked_day:
            yield "00418"
            return


def _summary_errors(summaries: Iterable[etree._Element]) -> Iterator[str]:
    for summary in summaries:
        nature, rate = text(summary, "Natura"), _rate(summary)
        if nature and nature.startswith("N6") and text(summary, "EsigibilitaIVA") == "S":
            yield "00420"
        if rate == 0 and not nature:
            yield "00429"
        if rate is not None and rate != 0 and nature:
            yield "00430"


def _discount_incomplete(discount: etree._Element) -> bool:
    given = text(discount, "Percentuale") or text(discount, "Importo")
    return bool(text(discount, "Tipo")) and not given


def _rate(element: etree._Element) -> Decimal | None:
    return to_decimal(text(element, "AliquotaIVA"))


def _natures(elements: Iterable[etree._Element]) -> set[str]:
    return {n for n in (text(e, "Natura") for e in elements) if n}


def _dated_from_2021(document: etree._Element | None) -> bool:
    day = to_date(text(document, "Data"))
    return day is None or day >= GENERIC_NATURES_BANNED_FROM


# -- simplified invoices ------------------------------------------------------------------------------


def simplified_errors(root: etree._Element) -> set[str]:
    codes: set[str] = set()
    for body in children(root, "FatturaElettronicaBody"):
        codes.update(_simplified_body_errors(body))
    return codes


def _simplified_body_errors(body: etree._Element) -> Iterator[str]:
    general = child(body, "DatiGenerali")
    document = child(general, "DatiGeneraliDocumento")
    goods = children(body, "DatiBeniServizi")
    for item in goods:
        rate, nature = to_decimal(text(item, "DatiIVA", "Aliquota")), text(item, "Natura")
        if rate is not None and 0 < rate < 1:
            yield "00424"
        if rate == 0 and not nature:
            yield "00400"
        if rate is not None and rate != 0 and nature:
            yield "00401"
    if _dated_from_2021(document) and _natures(goods) & GENERIC_NATURES_SIMPLIFIED:
        yield "00445"
    amounts = [to_decimal(text(item, "Importo")) or Decimal(0) for item in goods]
    if sum(amounts, Decimal(0)) > SIMPLIFIED_LIMIT and child(general, "DatiFatturaRettificata") is None:
        yield "00460"
