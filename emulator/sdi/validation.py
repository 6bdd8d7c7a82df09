"""The checks the SDI runs on a received invoice file, with its real error codes and descriptions.

Order follows the real Exchange System: file checks (name, duplicate name, size) stop everything;
then the format check (well-formedness and the official XSD when a schema directory is configured,
otherwise a structural check of the required elements) stops everything; then the semantic checks
run and *all* their errors are reported together, as a real NotificaScarto / RicevutaScarto lists
them. Descriptions quote the offending value with `` : value`` like the real ones, e.g.
``1.4.1.1.2 <IdCodice> non valido : 01100220307``. The checks on withholding, pension-fund,
discount, summary and nature data live in ``emulator.sdi.content_rules``; a simplified invoice
(FSM10) gets the SDI's own wording of the codes whose description names its elements
(``SIMPLIFIED_CATALOGUE``).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from lxml import etree
from stdnum.it import codicefiscale, iva

from emulator.core.xmlsafe import MalformedXmlError, UnsafeXmlError, XmlTooLargeError, parse_xml
from emulator.sdi.content_rules import Finding, ordinary_findings, simplified_findings
from emulator.sdi.fatturapa import (
    FATTURAPA_NS,
    FSM_NS,
    ORDINARY_ROOT,
    SIMPLIFIED_ROOT,
    Body,
    Discount,
    Line,
    NotAnInvoiceError,
    ParsedInvoice,
    Party,
    children,
    parse_invoice,
    root_name,
    text,
    to_date,
)

ROME = ZoneInfo("Europe/Rome")
DEFAULT_MAX_BYTES = 5 * 1024 * 1024

FATTURAPA_XSD = "Schema_del_file_xml_FatturaPA_v1.2.3.xsd"
FSM_XSD = "FatturaSemplificata_VFSM10_v1.0.2.xsd"
XMLDSIG_XSD = "xmldsig-core-schema.xsd"
XMLDSIG_URL = "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd"

# Fiscal ids used by the official FatturaPA example invoices (IT01234567890_FPR01..03). Their check
# digits are wrong, yet the real SDI checks ids against the Tax Register, which the sandbox does not
# have; it treats these as registered so that the official examples are accepted as they are.
SAMPLE_FISCAL_IDS = frozenset({"01234567890", "09876543210"})

_SUPPLIER = '"CedentePrestatore"'
_CUSTOMER = '"CessionarioCommittente"'

ERROR_CATALOGUE: dict[str, tuple[str, str]] = {
    "00001": (
        "Nome file non valido",
        "Verificare che il nome del file rispetti la nomenclatura prevista: codice paese, identificativo "
        "del trasmittente e progressivo univoco separati da underscore (es. IT01234567890_00001.xml)",
    ),
    "00002": (
        "Nome file duplicato",
        "Verificare che il file non sia già stato trasmesso; per un nuovo invio utilizzare un progressivo "
        "univoco diverso nel nome del file",
    ),
    "00003": (
        "Le dimensioni del file superano quelle ammesse",
        "Verificare che la dimensione del file non superi i 5 MB",
    ),
    "00102": (
        "File non integro (firma non valida)",
        "Verificare che la firma sia stata apposta correttamente e che il file non sia stato modificato "
        "dopo l'apposizione della firma",
    ),
    "00200": (
        "File non conforme al formato",
        "Verificare che il file sia conforme allo schema XSD della fattura elettronica",
    ),
    "00300": (
        "1.1.1.2 <IdCodice> non valido",
        'Verificare che il campo IdTrasmittente/IdCodice del "DatiTrasmissione" sia valido',
    ),
    "00301": (
        "1.2.1.1.2 <IdCodice> non valido",
        f"Verificare che il campo IdFiscaleIVA/IdCodice del {_SUPPLIER} sia valido",
    ),
    "00302": (
        "1.2.1.2 <CodiceFiscale> non valido",
        f"Verificare che il campo CodiceFiscale del {_SUPPLIER} sia valido",
    ),
    "00305": (
        "1.4.1.1.2 <IdCodice> non valido",
        f"Verificare che il campo IdFiscaleIVA/IdCodice del {_CUSTOMER} sia valido",
    ),
    "00306": (
        "1.4.1.2 <CodiceFiscale> non valido",
        f"Verificare che il campo CodiceFiscale del {_CUSTOMER} sia valido",
    ),
    "00311": (
        "1.1.4 <CodiceDestinatario> non valido",
        "Verificare che il campo CodiceDestinatario corrisponda a un canale accreditato presso il "
        "Sistema di Interscambio",
    ),
    "00312": (
        "1.1.4 <CodiceDestinatario> non attivo",
        "Verificare con il destinatario il codice da utilizzare: il canale indicato non risulta attivo",
    ),
    "00400": (
        "2.2.1.14 <Natura> non presente a fronte di 2.2.1.12 <AliquotaIVA> pari a zero",
        "Verificare che il campo Natura sia valorizzato nelle linee di dettaglio con AliquotaIVA pari a zero",
    ),
    "00401": (
        "2.2.1.14 <Natura> presente a fronte di 2.2.1.12 <AliquotaIVA> diversa da zero",
        "Verificare che il campo Natura non sia valorizzato nelle linee di dettaglio con AliquotaIVA "
        "diversa da zero",
    ),
    "00403": (
        "2.1.1.3 <Data> successiva alla data di ricezione",
        "Verificare che la data della fattura non sia successiva alla data di trasmissione del file",
    ),
    "00404": (
        "Fattura duplicata",
        "Verificare che la fattura (stesso cedente/prestatore, anno e numero) non sia già stata "
        "trasmessa e non scartata dal Sistema di Interscambio",
    ),
    "00411": (
        "2.1.1.5 <DatiRitenuta> non presente a fronte di almeno un blocco 2.2.1 <DettaglioLinee> con "
        "2.2.1.13 <Ritenuta> uguale a SI",
        "Verificare che sia presente il blocco DatiRitenuta quando almeno una linea di dettaglio è "
        "soggetta a ritenuta (Ritenuta uguale a SI)",
    ),
    "00413": (
        "2.1.1.7.7 <Natura> non presente a fronte di 2.1.1.7.5 <AliquotaIVA> pari a zero",
        "Verificare che il campo Natura sia valorizzato nei blocchi DatiCassaPrevidenziale con AliquotaIVA "
        "pari a zero",
    ),
    "00415": (
        "2.1.1.5 <DatiRitenuta> non presente a fronte di 2.1.1.7.6 <Ritenuta> uguale a SI",
        "Verificare che sia presente il blocco DatiRitenuta quando il contributo della cassa previdenziale "
        "è soggetto a ritenuta (Ritenuta uguale a SI)",
    ),
    "00417": (
        "1.4.1.1 <IdFiscaleIVA> e 1.4.1.2 <CodiceFiscale> non valorizzati (almeno uno dei due deve "
        "essere valorizzato)",
        f"Verificare che almeno uno dei campi IdFiscaleIVA e CodiceFiscale del {_CUSTOMER} sia valorizzato",
    ),
    "00418": (
        "2.1.1.3 <Data> antecedente a 2.1.6.3 <Data>",
        "Verificare che la data della nota di credito non sia antecedente alla data della fattura "
        "collegata indicata in DatiFattureCollegate",
    ),
    "00419": (
        "2.2.2 <DatiRiepilogo> non presente in corrispondenza di almeno un valore di 2.1.1.7.5 "
        "<AliquotaIVA> o 2.2.1.12 <AliquotaIVA>",
        "Verificare che per ogni aliquota IVA indicata nelle linee di dettaglio sia presente un blocco "
        "DatiRiepilogo",
    ),
    "00420": (
        "2.2.2.2 <Natura> con valore N6 (inversione contabile) a fronte di 2.2.2.7 <EsigibilitaIVA> uguale "
        "a S (scissione pagamenti)",
        "Verificare che nei DatiRiepilogo con Natura N6 (inversione contabile) il campo EsigibilitaIVA non "
        "sia valorizzato con S: inversione contabile e scissione dei pagamenti non sono compatibili",
    ),
    "00423": (
        "2.2.1.11 <PrezzoTotale> non calcolato secondo le regole definite nelle specifiche tecniche",
        "Verificare che il campo PrezzoTotale sia pari a PrezzoUnitario per Quantita, tenendo conto di "
        "eventuali sconti o maggiorazioni",
    ),
    "00424": (
        "2.2.1.12 <AliquotaIVA> o 2.2.2.1 <AliquotaIVA> o 2.1.1.7.5 <AliquotaIVA> non indicata in termini "
        "percentuali",
        'Verificare che l\'aliquota IVA sia espressa in termini percentuali (es. "22.00" e non "0.22")',
    ),
    "00425": (
        "2.1.1.4 <Numero> non contenente caratteri numerici",
        "Verificare che il campo Numero contenga almeno un carattere numerico",
    ),
    "00427": (
        "1.1.4 <CodiceDestinatario> di 7 caratteri a fronte di 1.1.3 <FormatoTrasmissione> con valore "
        '"FPA12" o 1.1.4 <CodiceDestinatario> di 6 caratteri a fronte di 1.1.3 <FormatoTrasmissione> con '
        'valore "FPR12"',
        "Verificare che il CodiceDestinatario sia di 6 caratteri per le fatture verso la PA (FPA12) e di 7 "
        "caratteri per le fatture verso privati (FPR12)",
    ),
    "00428": (
        '1.1.3 <FormatoTrasmissione> con valore diverso da "FPA12" e "FPR12"',
        "Verificare che il campo FormatoTrasmissione sia valorizzato con FPA12 o FPR12 e coincida con "
        "l'attributo versione",
    ),
    "00429": (
        "2.2.2.2 <Natura> non presente a fronte di 2.2.2.1 <AliquotaIVA> pari a zero",
        "Verificare che il campo Natura sia valorizzato nei blocchi DatiRiepilogo con AliquotaIVA pari a "
        "zero",
    ),
    "00430": (
        "2.2.2.2 <Natura> presente a fronte di 2.2.2.1 <AliquotaIVA> diversa da zero",
        "Verificare che il campo Natura non sia valorizzato nei blocchi DatiRiepilogo con AliquotaIVA "
        "diversa da zero",
    ),
    "00437": (
        "2.1.1.8.2 <Percentuale> e 2.1.1.8.3 <Importo> non presenti a fronte di 2.1.1.8.1 <Tipo> valorizzato",
        "Verificare che ogni ScontoMaggiorazione dei DatiGeneraliDocumento indichi la Percentuale o "
        "l'Importo dello sconto o della maggiorazione",
    ),
    "00438": (
        "2.2.1.10.2 <Percentuale> e 2.2.1.10.3 <Importo> non presenti a fronte di 2.2.1.10.1 <Tipo> "
        "valorizzato",
        "Verificare che ogni ScontoMaggiorazione delle linee di dettaglio indichi la Percentuale o "
        "l'Importo dello sconto o della maggiorazione",
    ),
    "00443": (
        "Non c'è corrispondenza tra i valori indicati nell'elemento 2.2.1.12 <AliquotaIVA> o 2.1.1.7.5 "
        "<AliquotaIVA> e quelli dell'elemento 2.2.2.1 <AliquotaIVA>",
        "Verificare che ogni aliquota IVA dei DatiRiepilogo sia utilizzata da almeno una linea di dettaglio "
        "o da un blocco DatiCassaPrevidenziale",
    ),
    "00444": (
        "Non c'è corrispondenza tra i valori indicati nell'elemento 2.2.1.14 <Natura> o 2.1.1.7.7 <Natura> "
        "e quelli dell'elemento 2.2.2.2 <Natura>",
        "Verificare che le nature indicate nelle linee di dettaglio e nei blocchi DatiCassaPrevidenziale "
        "siano le stesse dei DatiRiepilogo",
    ),
    "00445": (
        "Non è più ammesso il valore generico N2, N3 o N6 come codice natura dell'operazione",
        "Verificare che il campo Natura riporti il codice di dettaglio in vigore dal 1° gennaio 2021 "
        "(es. N2.2, N3.5, N6.3) e non il valore generico N2, N3 o N6",
    ),
    "00460": (
        "Importo totale superiore al limite previsto per le fatture semplificate ai sensi del DPR 633/72, "
        "art. 21 bis",
        "Verificare che l'importo complessivo della fattura semplificata non superi 400 euro (salvo che "
        "rettifichi un'altra fattura): oltre il limite emettere una fattura ordinaria",
    ),
    "00471": (
        "Per il valore indicato nell'elemento 2.1.1.1 <TipoDocumento> il cedente/prestatore non può essere "
        "uguale al cessionario/committente",
        "Verificare che cedente/prestatore e cessionario/committente siano soggetti diversi per i tipi "
        "documento TD16, TD17, TD18, TD19 e TD20",
    ),
    "00472": (
        "Per il valore indicato nell'elemento 2.1.1.1 <TipoDocumento> il cedente/prestatore deve essere "
        "uguale al cessionario/committente",
        "Verificare che cedente/prestatore e cessionario/committente siano lo stesso soggetto per i tipi "
        "documento TD21 e TD27",
    ),
    "00473": (
        "Per il valore indicato nell'elemento 2.1.1.1 <TipoDocumento> non è ammesso il valore IT "
        "nell'elemento 1.2.1.1.1 <IdPaese>",
        "Verificare che per i tipi documento TD17, TD18 e TD19 il cedente/prestatore sia un soggetto estero",
    ),
    "00474": (
        "Per il valore indicato nell'elemento 2.1.1.1 <TipoDocumento> non sono ammesse linee di dettaglio "
        "con l'elemento 2.2.1.12 <AliquotaIVA> contenente valore zero",
        "Verificare che per il tipo documento TD21 nessuna linea di dettaglio abbia AliquotaIVA pari a zero",
    ),
}


# The wording of a simplified invoice (FSM10), for the codes whose description names its elements.
SIMPLIFIED_CATALOGUE: dict[str, tuple[str, str]] = {
    "00400": (
        "2.2.4 <Natura> non presente a fronte di 2.2.3.2 <Aliquota> pari a zero",
        "Verificare che il campo Natura sia valorizzato nei blocchi DatiBeniServizi con Aliquota pari a zero",
    ),
    "00401": (
        "2.2.4 <Natura> presente a fronte di 2.2.3.2 <Aliquota> diversa da zero",
        "Verificare che il campo Natura non sia valorizzato nei blocchi DatiBeniServizi con Aliquota "
        "diversa da zero",
    ),
    "00424": (
        "2.2.3.2 <Aliquota> non indicata in termini percentuali",
        'Verificare che l\'aliquota IVA sia espressa in termini percentuali (es. "22.00" e non "0.22")',
    ),
    "00445": (
        "Non è più ammesso il valore generico N2 o N3 come codice natura dell'operazione",
        "Verificare che il campo Natura riporti il codice di dettaglio in vigore dal 1° gennaio 2021 "
        "(es. N2.2, N3.5) e non il valore generico N2 o N3",
    ),
}


@dataclass(frozen=True)
class SdiError:
    code: str
    description: str
    suggestion: str


def describe(code: str, value: str | None = None, *, simplified: bool = False) -> SdiError:
    """The SDI error for ``code``, quoting ``value`` the way the real SDI does. Unknown code: KeyError.

    ``simplified``: the error is about a simplified invoice (FSM10), described in its own terms where
    the SDI has them (``SIMPLIFIED_CATALOGUE``).
    """
    wording = SIMPLIFIED_CATALOGUE.get(code) if simplified else None
    template, suggestion = wording or ERROR_CATALOGUE[code]
    description = f"{template} : {value}" if value else template
    return SdiError(code=code, description=description, suggestion=suggestion)


# -- file name ------------------------------------------------------------------------------------

FILE_NAME_RE = re.compile(
    r"(?P<country>[A-Z]{2})(?P<sender>[A-Za-z0-9]{2,28})_(?P<progressive>[A-Za-z0-9]{1,5})"
    r"\.(?P<extension>xml|xml\.p7m)"
)


def check_file_name(name: str) -> bool:
    """``<country><sender id>_<progressive>.xml|.xml.p7m``; an Italian sender id has 11 to 16 characters."""
    match = FILE_NAME_RE.fullmatch(name)
    if match is None:
        return False
    return match["country"] != "IT" or 11 <= len(match["sender"]) <= 16


# -- schemas --------------------------------------------------------------------------------------


class _LocalSchemaResolver(etree.Resolver):
    """Serves the xmldsig schema from the schema directory instead of fetching it from w3.org."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self._xmldsig = directory / XMLDSIG_XSD

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        if system_url == XMLDSIG_URL or system_url.rsplit("/", 1)[-1] == XMLDSIG_XSD:
            return self.resolve_filename(str(self._xmldsig), context)  # type: ignore[attr-defined]
        return None


@functools.lru_cache(maxsize=16)
def _load_schema(directory: str, file_name: str) -> etree.XMLSchema:
    folder = Path(directory)
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(_LocalSchemaResolver(folder))
    document = etree.parse(str(folder / file_name), parser)
    return etree.XMLSchema(document)


def load_fatturapa_schema(xsd_dir: Path) -> etree.XMLSchema:
    """The official FatturaPA 1.2.3 schema, xmldsig resolved locally (no network); cached per directory."""
    directory = Path(xsd_dir).resolve()
    for needed in (FATTURAPA_XSD, XMLDSIG_XSD):
        if not (directory / needed).is_file():
            raise FileNotFoundError(f"schema directory {directory} has no {needed}")
    return _load_schema(str(directory), FATTURAPA_XSD)


def load_fsm_schema(xsd_dir: Path) -> etree.XMLSchema | None:
    """The simplified-invoice (FSM10 1.0.2) schema if the directory has it; cached per directory."""
    directory = Path(xsd_dir).resolve()
    if not (directory / FSM_XSD).is_file():
        return None
    return _load_schema(str(directory), FSM_XSD)


_SCHEMA_LOCK = threading.Lock()


def schema_error(schema: etree.XMLSchema, root: etree._Element) -> str | None:
    """lxml's first complaint about the document, or None when it is valid."""
    with _SCHEMA_LOCK:  # the error log lives on the schema object
        if schema.validate(root):
            return None
        entries = list(cast(Iterable[Any], schema.error_log))
    if not entries:  # pragma: no cover - lxml always logs why validation failed
        return "documento non valido rispetto allo schema"
    return _readable(entries[0].message)


def _readable(message: str, limit: int = 400) -> str:
    compact = " ".join(message.split())
    return compact if len(compact) <= limit else compact[: limit - 3] + "..."


# -- structural check (no schema directory) ------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    name: str
    children: tuple[_Spec, ...] = ()
    atomic: str | None = None
    optional: bool = False


def _req(name: str, *kids: _Spec, atomic: str | None = None) -> _Spec:
    return _Spec(name, kids, atomic)


def _opt(name: str, *kids: _Spec, atomic: str | None = None) -> _Spec:
    return _Spec(name, kids, atomic, optional=True)


_RATE, _AMOUNT2, _AMOUNT8 = "RateType", "Amount2DecimalType", "Amount8DecimalType"
_ATOMIC_PATTERNS = {
    _RATE: re.compile(r"[0-9]{1,3}\.[0-9]{2}"),
    _AMOUNT2: re.compile(r"-?[0-9]{1,11}\.[0-9]{2}"),
    _AMOUNT8: re.compile(r"-?[0-9]{1,11}\.[0-9]{2,8}"),
    "QuantitaType": re.compile(r"[0-9]{1,12}\.[0-9]{2,8}"),
    "NumeroLineaType": re.compile(r"0*[1-9][0-9]{0,3}"),
}
_ID = (_req("IdPaese"), _req("IdCodice"))
_TRANSMISSION = _req(
    "DatiTrasmissione",
    _req("IdTrasmittente", *_ID),
    _req("ProgressivoInvio"),
    _req("FormatoTrasmissione"),
    _req("CodiceDestinatario"),
)
_DOCUMENT = _req(
    "DatiGenerali",
    _req(
        "DatiGeneraliDocumento",
        _req("TipoDocumento"),
        _req("Divisa"),
        _req("Data", atomic="DataFatturaType"),
        _req("Numero"),
        _opt("ImportoTotaleDocumento", atomic=_AMOUNT2),
    ),
)
_LINE = _req(
    "DettaglioLinee",
    _req("NumeroLinea", atomic="NumeroLineaType"),
    _req("Descrizione"),
    _opt("Quantita", atomic="QuantitaType"),
    _req("PrezzoUnitario", atomic=_AMOUNT8),
    _opt(
        "ScontoMaggiorazione",
        _req("Tipo"),
        _opt("Percentuale", atomic=_RATE),
        _opt("Importo", atomic=_AMOUNT8),
    ),
    _req("PrezzoTotale", atomic=_AMOUNT8),
    _req("AliquotaIVA", atomic=_RATE),
)
_SUMMARY = _req(
    "DatiRiepilogo",
    _req("AliquotaIVA", atomic=_RATE),
    _req("ImponibileImporto", atomic=_AMOUNT2),
    _req("Imposta", atomic=_AMOUNT2),
)
ORDINARY_STRUCTURE = (
    _req(
        "FatturaElettronicaHeader",
        _TRANSMISSION,
        _req(
            "CedentePrestatore",
            _req("DatiAnagrafici", _req("IdFiscaleIVA", *_ID), _req("Anagrafica"), _req("RegimeFiscale")),
            _req("Sede"),
        ),
        _req(
            "CessionarioCommittente",
            _req("DatiAnagrafici", _opt("IdFiscaleIVA", *_ID), _req("Anagrafica")),
            _req("Sede"),
        ),
    ),
    _req("FatturaElettronicaBody", _DOCUMENT, _req("DatiBeniServizi", _LINE, _SUMMARY)),
)
SIMPLIFIED_STRUCTURE = (
    _req(
        "FatturaElettronicaHeader",
        _TRANSMISSION,
        _req("CedentePrestatore", _req("IdFiscaleIVA", *_ID), _req("Sede"), _req("RegimeFiscale")),
        _req("CessionarioCommittente", _req("IdentificativiFiscali", _opt("IdFiscaleIVA", *_ID))),
    ),
    _req(
        "FatturaElettronicaBody",
        _DOCUMENT,
        _req(
            "DatiBeniServizi",
            _req("Descrizione"),
            _req("Importo", atomic=_AMOUNT2),
            _req("DatiIVA", _opt("Imposta", atomic=_AMOUNT2), _opt("Aliquota", atomic=_RATE)),
        ),
    ),
)


def structural_error(root: etree._Element) -> str | None:
    """A schema-like message for the first structural problem, or None (used without an XSD)."""
    namespace, local = root_name(root)
    if (namespace, local) == (FATTURAPA_NS, ORDINARY_ROOT):
        structure = ORDINARY_STRUCTURE
    elif (namespace, local) == (FSM_NS, SIMPLIFIED_ROOT):
        structure = SIMPLIFIED_STRUCTURE
    else:
        return f"Element '{root.tag}': No matching global declaration available for the validation root."
    if not (root.get("versione") or "").strip():
        return f"Element '{root.tag}': The attribute 'versione' is required but missing."
    return _first_problem(root, structure)


def _first_problem(element: etree._Element, specs: tuple[_Spec, ...]) -> str | None:
    for spec in specs:
        found = children(element, spec.name)
        if not found and not spec.optional:
            return f"Element '{element.tag}': Missing child element(s). Expected is ( {spec.name} )."
        for item in found:
            problem = _atomic_problem(item, spec) or _first_problem(item, spec.children)
            if problem:
                return problem
    return None


def _atomic_problem(element: etree._Element, spec: _Spec) -> str | None:
    if spec.atomic is None:
        return None
    value = text(element) or ""
    if _atomic_ok(spec.atomic, value):
        return None
    return f"Element '{element.tag}': '{value}' is not a valid value of the atomic type '{spec.atomic}'."


def _atomic_ok(atomic: str, value: str) -> bool:
    if atomic == "DataFatturaType":
        parsed = to_date(value)
        return parsed is not None and parsed >= date(1970, 1, 1)
    if not _ATOMIC_PATTERNS[atomic].fullmatch(value):
        return False
    return atomic != _RATE or Decimal(value) <= 100


# -- the validator --------------------------------------------------------------------------------

DuplicateFileName = Callable[[str], bool]
DuplicateInvoice = Callable[[ParsedInvoice, Body], bool]

_NOT_SAME_PARTY_TYPES = frozenset({"TD16", "TD17", "TD18", "TD19", "TD20"})
_SAME_PARTY_TYPES = frozenset({"TD21", "TD27"})
_FOREIGN_SUPPLIER_TYPES = frozenset({"TD17", "TD18", "TD19"})
_NO_ZERO_RATE_TYPES = frozenset({"TD21"})
_PRICE_TOLERANCE = Decimal("0.01")
_DIGIT_RE = re.compile(r"[0-9]")


class SdiValidator:
    def __init__(
        self,
        xsd_dir: Path | None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        unknown_recipient_codes: frozenset[str] = frozenset({"ZZZZZZZ", "ZZZZZZ"}),
        inactive_recipient_codes: frozenset[str] = frozenset({"YYYYYYY", "YYYYYY"}),
        registered_fiscal_ids: frozenset[str] = SAMPLE_FISCAL_IDS,
    ) -> None:
        self.xsd_dir = xsd_dir
        self.max_bytes = max_bytes
        self.unknown_recipient_codes = unknown_recipient_codes
        self.inactive_recipient_codes = inactive_recipient_codes
        self.registered_fiscal_ids = registered_fiscal_ids
        self._schemas: dict[str, etree.XMLSchema] = {}
        if xsd_dir is not None:
            self._schemas[FATTURAPA_NS] = load_fatturapa_schema(xsd_dir)
            fsm = load_fsm_schema(xsd_dir)
            if fsm is not None:
                self._schemas[FSM_NS] = fsm

    def validate(
        self,
        file_name: str,
        content: bytes,
        *,
        received_at: datetime,
        is_duplicate_file_name: DuplicateFileName,
        is_duplicate_invoice: DuplicateInvoice,
    ) -> list[SdiError]:
        """Every SDI error for this file; an empty list means the SDI accepts it."""
        file_error = self._file_error(file_name, content, is_duplicate_file_name)
        if file_error is not None:
            return [file_error]
        checked = self._format_check(content)
        if isinstance(checked, SdiError):
            return [checked]
        root, parsed = checked
        errors = [*self._header_errors(parsed)]
        elements = children(root, "FatturaElettronicaBody")
        for element, body in zip(elements, parsed.bodies, strict=True):
            errors.extend(self._body_errors(parsed, body, received_at))
            errors.extend(_content_errors(parsed, element))
            if is_duplicate_invoice(parsed, body):
                errors.append(describe("00404", body.number))
        return _unique(errors)

    # -- stage 1 and 2 -----------------------------------------------------------------------

    def _file_error(self, file_name: str, content: bytes, is_duplicate: DuplicateFileName) -> SdiError | None:
        if not check_file_name(file_name):
            return describe("00001", file_name)
        if is_duplicate(file_name):
            return describe("00002", file_name)
        if len(content) > self.max_bytes:
            return describe("00003")
        return None

    def _format_check(self, content: bytes) -> tuple[etree._Element, ParsedInvoice] | SdiError:
        try:
            root = parse_xml(content, max_bytes=self.max_bytes)
        except XmlTooLargeError:
            return describe("00003")
        except (MalformedXmlError, UnsafeXmlError) as exc:
            return describe("00200", str(exc))
        problem = self._schema_problem(root)
        if problem is not None:
            return describe("00200", problem)
        try:
            return root, parse_invoice(root)
        except NotAnInvoiceError as exc:  # pragma: no cover - the format check refuses such roots first
            return describe("00200", str(exc))

    def _schema_problem(self, root: etree._Element) -> str | None:
        if not self._schemas:
            return structural_error(root)
        namespace, _ = root_name(root)
        schema = self._schemas.get(namespace, self._schemas[FATTURAPA_NS])
        return schema_error(schema, root)

    # -- stage 3: header ---------------------------------------------------------------------

    def _header_errors(self, invoice: ParsedInvoice) -> Iterator[SdiError]:
        yield from _format_errors(invoice)
        yield from self._recipient_errors(invoice.recipient_code)
        yield from self._transmitter_errors(invoice.transmitter)
        yield from self._party_errors(invoice.supplier, vat_code="00301", cf_code="00302")
        yield from self._party_errors(invoice.customer, vat_code="00305", cf_code="00306")
        if not invoice.customer.vat and not invoice.customer.fiscal_code:
            yield describe("00417")

    def _recipient_errors(self, code: str | None) -> Iterator[SdiError]:
        if code in self.unknown_recipient_codes:
            yield describe("00311", code)
        elif code in self.inactive_recipient_codes:
            yield describe("00312", code)

    def _transmitter_errors(self, transmitter: Party) -> Iterator[SdiError]:
        code = transmitter.vat
        if transmitter.country != "IT" or not code or self._registered(code):
            return
        if not (iva.is_valid(code) or codicefiscale.is_valid(code)):
            yield describe("00300", code)

    def _party_errors(self, party: Party, *, vat_code: str, cf_code: str) -> Iterator[SdiError]:
        vat, fiscal_code = party.vat, party.fiscal_code
        if party.country == "IT" and vat and not self._registered(vat) and not iva.is_valid(vat):
            yield describe(vat_code, vat)
        if fiscal_code and not self._registered(fiscal_code) and not codicefiscale.is_valid(fiscal_code):
            yield describe(cf_code, fiscal_code)

    def _registered(self, fiscal_id: str) -> bool:
        return fiscal_id.upper() in self.registered_fiscal_ids

    # -- stage 3: bodies ---------------------------------------------------------------------

    def _body_errors(self, invoice: ParsedInvoice, body: Body, received_at: datetime) -> Iterator[SdiError]:
        if body.parsed_date is not None and body.parsed_date > _rome_date(received_at):
            yield describe("00403", body.date)
        if body.number is not None and not _DIGIT_RE.search(body.number):
            yield describe("00425", body.number)
        yield from _document_type_errors(invoice, body)
        if invoice.simplified:
            for line in body.lines:
                yield from _line_rate_errors(line, simplified=True)
        else:
            yield from _line_errors(body)


def _content_errors(invoice: ParsedInvoice, body: etree._Element) -> Iterator[SdiError]:
    """The checks of ``content_rules`` on one FatturaElettronicaBody element."""
    findings: Iterator[Finding] = simplified_findings(body) if invoice.simplified else ordinary_findings(body)
    for code, value in findings:
        yield describe(code, value, simplified=invoice.simplified)


def _format_errors(invoice: ParsedInvoice) -> Iterator[SdiError]:
    """00428 FormatoTrasmissione not allowed (or not the versione attribute), else 00427 code length."""
    allowed = {"FSM10"} if invoice.simplified else {"FPA12", "FPR12"}
    form = invoice.transmission_format or ""
    if form not in allowed or form != invoice.versione:
        yield describe("00428", form)
        return
    code = invoice.recipient_code or ""
    expected = 6 if form == "FPA12" else 7
    if len(code) != expected:
        yield describe("00427", code)


def _document_type_errors(invoice: ParsedInvoice, body: Body) -> Iterator[SdiError]:
    kind = body.document_type or ""
    same = _same_party(invoice.supplier, invoice.customer)
    if kind in _NOT_SAME_PARTY_TYPES and same:
        yield describe("00471", kind)
    if kind in _SAME_PARTY_TYPES and not same:
        yield describe("00472", kind)
    if kind in _FOREIGN_SUPPLIER_TYPES and invoice.supplier.country == "IT":
        yield describe("00473", kind)
    if kind in _NO_ZERO_RATE_TYPES and any(line.vat_rate == 0 for line in body.lines):
        yield describe("00474", kind)


def _same_party(supplier: Party, customer: Party) -> bool:
    """Same subject: same IdFiscaleIVA, or (customer without one) the same CodiceFiscale."""
    if customer.vat:
        return (supplier.country, _norm(supplier.vat)) == (customer.country, _norm(customer.vat))
    fiscal_code = _norm(customer.fiscal_code)
    return bool(fiscal_code) and fiscal_code in {_norm(supplier.fiscal_code), _norm(supplier.vat)}


def _norm(value: str | None) -> str:
    return (value or "").strip().upper()


def _line_errors(body: Body) -> Iterator[SdiError]:
    for line in body.lines:
        yield from _line_rate_errors(line)
        if not _total_matches(line):
            yield describe("00423", str(line.total_price))
    for summary in body.summaries:
        if _not_a_percentage(summary.vat_rate):
            yield describe("00424", summary.vat_rate_text)
    yield from _missing_summaries(body)


def _line_rate_errors(line: Line, *, simplified: bool = False) -> Iterator[SdiError]:
    """00424, 00400, 00401 for a DettaglioLinee (a DatiBeniServizi of a simplified invoice)."""
    rate = line.vat_rate
    if rate is None:
        return
    if _not_a_percentage(rate):
        yield describe("00424", line.vat_rate_text, simplified=simplified)
    if rate == 0 and not line.nature:
        yield describe("00400", line.vat_rate_text, simplified=simplified)
    if rate != 0 and line.nature:
        yield describe("00401", line.nature, simplified=simplified)


def _not_a_percentage(rate: Decimal | None) -> bool:
    return rate is not None and 0 < rate < 1


def _missing_summaries(body: Body) -> Iterator[SdiError]:
    summarised = {s.vat_rate for s in body.summaries if s.vat_rate is not None}
    reported: set[Decimal] = set()
    for line in body.lines:
        rate = line.vat_rate
        if rate is not None and rate not in summarised and rate not in reported:
            reported.add(rate)
            yield describe("00419", line.vat_rate_text)


def _total_matches(line: Line) -> bool:
    """PrezzoTotale = (PrezzoUnitario ± ScontoMaggiorazione, in cascade) × Quantita (1 if absent), ±0.01."""
    price = line.unit_price
    for discount in line.discounts:
        price = _apply_discount(price, discount)
    quantity = line.quantity if line.quantity is not None else Decimal(1)
    return abs(price * quantity - line.total_price) <= _PRICE_TOLERANCE


def _apply_discount(price: Decimal, discount: Discount) -> Decimal:
    if discount.amount is not None and discount.amount != 0:
        change = abs(discount.amount)
    elif discount.percentage is not None:
        change = price * discount.percentage / 100
    else:
        return price
    return price - change if discount.kind == "SC" else price + change


def _rome_date(instant: datetime) -> date:
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    return aware.astimezone(ROME).date()


def _unique(errors: Iterable[SdiError]) -> list[SdiError]:
    """Drop repeats of the same error (same code and description), keeping the first occurrence."""
    seen: set[tuple[str, str]] = set()
    result = []
    for error in errors:
        key = (error.code, error.description)
        if key not in seen:
            seen.add(key)
            result.append(error)
    return result
