"""The extra-schema checks Aruba runs before handing a file to the SDI (§7.5.2, FATRSM212).

The checks are the SDI's own (``emulator.sdi.validation`` and ``emulator.sdi.content_rules``): the
file fails when the sandbox SDI's validator finds one of the codes of the table of §7.5.2
(``MESSAGES``); codes outside the table are left to the SDI, which rejects the file after Aruba
has sent it.

Decisions: the status description names one error, the lowest code found (the table's order), as
``FATRSM212 - Errore di validazione: <code> - <message>`` with the document's message (the
simplified invoice's where the table gives one), without the value the SDI quotes. Stray spaces
inside the document's angle brackets (``< Natura>``, ``2.2.2.1< AliquotaIVA>``) are dropped.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from emulator.sdi.fatturapa import ParsedInvoice
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


def extra_schema_error(
    validator: SdiValidator,
    file_name: str,
    xml: bytes,
    root: etree._Element,
    parsed: ParsedInvoice,
    received_at: datetime,
) -> str | None:
    """``<code> - <message>`` of the first failed check, or None when the invoice passes them all.

    ``root`` (``xml`` as the caller parsed it) is not read: the validator parses ``xml`` itself.
    """
    sdi_errors = validator.validate(
        file_name,
        xml,
        received_at=received_at,
        is_duplicate_file_name=lambda _name: False,
        is_duplicate_invoice=lambda _parsed, _body: False,
    )
    codes = {e.code for e in sdi_errors if e.code in MESSAGES}
    if not codes:
        return None
    code = min(codes)
    ordinary, simplified = MESSAGES[code]
    message = simplified if parsed.simplified and simplified else ordinary
    return f"{code} - {message}"
