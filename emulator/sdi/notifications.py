"""The SDI's messages as real files, in both schemas clients must handle.

* PA flow (FPA12): namespace ``PA_NS``, prefix ``types``, MessaggiTypes_v1.1.xsd element order,
  ``xs:dateTime`` with the Europe/Rome offset, ``ds:Signature`` last on every signed message.
* B2B flow (FPR12): namespace ``B2B_NS``, prefix ``ns3`` with ``ns2`` bound to xmldsig on the root,
  millisecond timestamps, ``Hash`` after ``NomeFile``, as in the real files the SDI sends (and the
  Agenzia delle Entrate MessaggiFatturaTypes_v1.0 order where the samples are silent).

Nothing here touches Flask or the database: ``render_notification`` turns a ``NotificationData``
into bytes, ``parse_notification`` reads any SDI message back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from emulator.core.xmlsafe import parse_xml, strip_namespace
from emulator.sdi.lifecycle import Flow
from emulator.sdi.signing import SandboxSigner

PA_NS = "http://www.fatturapa.gov.it/sdi/messaggi/v1.0"
B2B_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fattura/messaggi/v1.0"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
MESSAGGI_XSD = "MessaggiTypes_v1.1.xsd"
XMLDSIG_XSD = "xmldsig-core-schema.xsd"
VERSIONE = "1.0"
ROME = ZoneInfo("Europe/Rome")
PA_DESCRIPTION_MAX = 255
NUMERO_FATTURA_MAX = 20
UNDELIVERED_CODE = "0000000"
B2B_MC_DESCRIPTION = (
    "La fattura è disponibile in consultazione nell'area riservata a partire dalla 'Data Messa a "
    "Disposizione'. Non è stato possibile recapitare la fattura/e al destinatario per indisponibilità "
    "dell'indirizzo telematico di ricezione o perché tale indirizzo non è stato indicato in fattura "
    "(Codice Destinatario: {code})."
)

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
_XML_DECLARATION_STANDALONE = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_INVOICE_SUFFIXES = (".xml.p7m", ".xml", ".p7m", ".zip")


class MessageType(StrEnum):
    RC = "RC"  # ricevuta di consegna
    NS = "NS"  # notifica/ricevuta di scarto
    MC = "MC"  # mancata consegna / impossibilità di recapito
    NE = "NE"  # notifica esito (EC from the recipient, forwarded to the supplier)
    AT = "AT"  # attestazione di avvenuta trasmissione con impossibilità di recapito
    DT = "DT"  # decorrenza termini
    MT = "MT"  # metadati (to the recipient, with the invoice)
    SE = "SE"  # scarto esito committente
    EC = "EC"  # esito committente (from the recipient)


PA_ROOTS: dict[MessageType, str] = {
    MessageType.RC: "RicevutaConsegna",
    MessageType.NS: "NotificaScarto",
    MessageType.MC: "NotificaMancataConsegna",
    MessageType.NE: "NotificaEsito",
    MessageType.AT: "AttestazioneTrasmissioneFattura",
    MessageType.DT: "NotificaDecorrenzaTermini",
    MessageType.MT: "MetadatiInvioFile",
    MessageType.SE: "ScartoEsitoCommittente",
    MessageType.EC: "NotificaEsitoCommittente",
}
B2B_ROOTS: dict[MessageType, str] = {
    MessageType.RC: "RicevutaConsegna",
    MessageType.NS: "RicevutaScarto",
    MessageType.MC: "RicevutaImpossibilitaRecapito",
    MessageType.MT: "FileMetadati",
}
UNSIGNED_TYPES = frozenset({MessageType.MT})
_TYPE_OF_ROOT: dict[str, MessageType] = {
    **{name: kind for kind, name in PA_ROOTS.items()},
    **{name: kind for kind, name in B2B_ROOTS.items()},
}


@dataclass(frozen=True)
class ErrorEntry:
    code: str
    description: str
    suggestion: str | None = None


@dataclass(frozen=True)
class NotificationData:
    sdi_id: int
    invoice_file_name: str
    received_at: datetime
    message_id: str
    invoice_hash: str  # sha256 hex of the invoice file as sent
    recipient_code: str | None = None
    recipient_description: str | None = None
    delivered_at: datetime | None = None
    errors: tuple[ErrorEntry, ...] = ()
    description: str | None = None
    note: str | None = None
    available_on: date | None = None  # B2B MC DataMessaADisposizione
    esito: str | None = None  # EC01 / EC02
    esito_description: str | None = None
    invoice_number: str | None = None
    invoice_year: int | None = None
    invoice_position: int | None = None  # RiferimentoFattura/PosizioneFattura (EC, NE, SE)
    message_id_committente: str | None = None
    format: str | None = None  # FPA12 / FPR12 (MT Formato)
    attempts: int = 1
    pec_message_id: str | None = None
    scarto: str | None = None  # EN00 / EN01 (SE)


@dataclass(frozen=True)
class ParsedNotification:
    """What a client reads out of an SDI message, whichever schema it follows."""

    message_type: MessageType
    flow: Flow
    root_name: str
    sdi_id: int | None
    file_name: str | None
    message_id: str | None
    received_at: datetime | None = None
    delivered_at: datetime | None = None
    recipient_code: str | None = None
    recipient_description: str | None = None
    invoice_hash: str | None = None
    errors: tuple[ErrorEntry, ...] = ()
    description: str | None = None
    note: str | None = None
    available_on: date | None = None
    esito: str | None = None
    esito_description: str | None = None
    invoice_number: str | None = None
    invoice_year: int | None = None
    invoice_position: int | None = None
    message_id_committente: str | None = None
    format: str | None = None
    attempts: int | None = None
    pec_message_id: str | None = None
    scarto: str | None = None
    signed: bool = False

    @property
    def error_codes(self) -> tuple[str, ...]:
        return tuple(error.code for error in self.errors)


# -- file names ------------------------------------------------------------------------------------


def notification_file_name(invoice_file_name: str, message_type: MessageType, sequence: int) -> str:
    """``IT01234567890_11111.xml.p7m`` + RC + 1 → ``IT01234567890_11111_RC_001.xml``."""
    if not 1 <= sequence <= 999:
        raise ValueError(f"notification sequence must be 1..999, got {sequence}")
    return f"{_invoice_stem(invoice_file_name)}_{MessageType(message_type).value}_{sequence:03d}.xml"


def _invoice_stem(file_name: str) -> str:
    lowered = file_name.lower()
    for suffix in _INVOICE_SUFFIXES:
        if lowered.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name


# -- rendering -------------------------------------------------------------------------------------


def render_notification(
    message_type: MessageType, flow: Flow, data: NotificationData, signer: SandboxSigner | None
) -> bytes:
    """The message as UTF-8 bytes with an XML declaration; signed when a signer is given (never MT)."""
    kind = MessageType(message_type)
    if Flow(flow) is Flow.PA:
        root = _pa_root(kind)
        _PA_BODIES[kind](root, data)
        etree.indent(root, space="  ")
        prolog = _XML_DECLARATION + b"\n"
    else:
        if kind not in B2B_ROOTS:
            raise ValueError(f"the B2B flow has no {kind.value} message (only RC, NS, MC, MT)")
        root = _b2b_root(kind)
        _B2B_BODIES[kind](root, data)
        etree.indent(root, space="    ")
        prolog = _XML_DECLARATION_STANDALONE + b"\n" if kind is MessageType.MT else _XML_DECLARATION
    if signer is not None and kind not in UNSIGNED_TYPES:
        root = signer.sign_xml(root)
    return prolog + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


def _pa_root(kind: MessageType) -> etree._Element:
    root = etree.Element(f"{{{PA_NS}}}{PA_ROOTS[kind]}", nsmap={"types": PA_NS, "ds": DS_NS})
    root.set("versione", VERSIONE)
    return root


def _b2b_root(kind: MessageType) -> etree._Element:
    # The real files declare ns3 first, except FileMetadati (ns2 first).
    nsmap = {"ns2": DS_NS, "ns3": B2B_NS} if kind is MessageType.MT else {"ns3": B2B_NS, "ns2": DS_NS}
    root = etree.Element(f"{{{B2B_NS}}}{B2B_ROOTS[kind]}", nsmap=nsmap)
    root.set("versione", VERSIONE)
    return root


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, name)
    if text is not None:
        child.text = text
    return child


def _add_optional(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        _add(parent, name, text)


def _pa_time(instant: datetime) -> str:
    return _rome(instant).replace(microsecond=0).isoformat()


def _b2b_time(instant: datetime) -> str:
    return _rome(instant).isoformat(timespec="milliseconds")


def _rome(instant: datetime) -> datetime:
    aware = instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant
    return aware.astimezone(ROME)


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


def _required(value: str | None, what: str, kind: MessageType) -> str:
    if not value:
        raise ValueError(f"{kind.value} needs {what}")
    return value


# -- PA bodies (MessaggiTypes_v1.1.xsd order) ------------------------------------------------------


def _pa_head(root: etree._Element, data: NotificationData) -> None:
    _add(root, "IdentificativoSdI", str(data.sdi_id))
    _add(root, "NomeFile", data.invoice_file_name)


def _pa_tail(root: etree._Element, data: NotificationData) -> None:
    _add(root, "MessageId", data.message_id)
    _add_optional(root, "PecMessageId", data.pec_message_id)
    _add_optional(root, "Note", data.note)


def _pa_destinatario(root: etree._Element, data: NotificationData, kind: MessageType) -> None:
    code = _required(data.recipient_code, "the recipient's code (Destinatario/Codice)", kind)
    destinatario = _add(root, "Destinatario")
    _add(destinatario, "Codice", code)
    _add(destinatario, "Descrizione", data.recipient_description or code)


def _riferimento_fattura(parent: etree._Element, data: NotificationData) -> None:
    if data.invoice_number is None or data.invoice_year is None:
        return
    reference = _add(parent, "RiferimentoFattura")
    _add(reference, "NumeroFattura", _clip(data.invoice_number, NUMERO_FATTURA_MAX))
    _add(reference, "AnnoFattura", str(data.invoice_year))
    if data.invoice_position is not None:
        _add(reference, "PosizioneFattura", str(data.invoice_position))


def _pa_rc(root: etree._Element, data: NotificationData) -> None:
    _pa_head(root, data)
    _add(root, "DataOraRicezione", _pa_time(data.received_at))
    _add(root, "DataOraConsegna", _pa_time(data.delivered_at or data.received_at))
    _pa_destinatario(root, data, MessageType.RC)
    _pa_tail(root, data)


def _pa_ns(root: etree._Element, data: NotificationData) -> None:
    if not data.errors:
        raise ValueError("NS needs at least one error")
    _pa_head(root, data)
    _add(root, "DataOraRicezione", _pa_time(data.received_at))
    errors = _add(root, "ListaErrori")
    for entry in data.errors:
        error = _add(errors, "Errore")
        _add(error, "Codice", entry.code)
        _add(error, "Descrizione", _clip(entry.description, PA_DESCRIPTION_MAX))
    _pa_tail(root, data)


def _pa_mc(root: etree._Element, data: NotificationData) -> None:
    _pa_head(root, data)
    _add(root, "DataOraRicezione", _pa_time(data.received_at))
    _add_optional(root, "Descrizione", _clip(data.description, PA_DESCRIPTION_MAX))
    _pa_tail(root, data)


def _esito_fields(esito: etree._Element, data: NotificationData, kind: MessageType) -> None:
    _add(esito, "IdentificativoSdI", str(data.sdi_id))
    _riferimento_fattura(esito, data)
    _add(esito, "Esito", _required(data.esito, "an esito (EC01 or EC02)", kind))
    _add_optional(esito, "Descrizione", _clip(data.esito_description, PA_DESCRIPTION_MAX))
    _add_optional(esito, "MessageIdCommittente", data.message_id_committente)


def _pa_ne(root: etree._Element, data: NotificationData) -> None:
    _pa_head(root, data)
    esito = _add(root, "EsitoCommittente")
    esito.set("versione", VERSIONE)
    _esito_fields(esito, data, MessageType.NE)
    _pa_tail(root, data)


def _pa_at(root: etree._Element, data: NotificationData) -> None:
    _pa_head(root, data)
    _add(root, "DataOraRicezione", _pa_time(data.received_at))
    _pa_destinatario(root, data, MessageType.AT)
    _pa_tail(root, data)
    _add(root, "HashFileOriginale", data.invoice_hash)


def _pa_dt(root: etree._Element, data: NotificationData) -> None:
    _add(root, "IdentificativoSdI", str(data.sdi_id))
    _riferimento_fattura(root, data)
    _add(root, "NomeFile", data.invoice_file_name)
    _add_optional(root, "Descrizione", _clip(data.description, PA_DESCRIPTION_MAX))
    _pa_tail(root, data)


def _pa_mt(root: etree._Element, data: NotificationData) -> None:
    _pa_head(root, data)
    _add(root, "CodiceDestinatario", _required(data.recipient_code, "the recipient's code", MessageType.MT))
    _add(root, "Formato", data.format or "FPA12")
    _add(root, "TentativiInvio", str(data.attempts))
    _add(root, "MessageId", data.message_id)
    _add_optional(root, "Note", data.note)


def _pa_se(root: etree._Element, data: NotificationData) -> None:
    _add(root, "IdentificativoSdI", str(data.sdi_id))
    _riferimento_fattura(root, data)
    _add(root, "Scarto", _required(data.scarto, "a scarto code (EN00 or EN01)", MessageType.SE))
    _add(root, "MessageId", data.message_id)
    _add_optional(root, "MessageIdCommittente", data.message_id_committente)
    _add_optional(root, "PecMessageId", data.pec_message_id)
    _add_optional(root, "Note", data.note)


def _pa_ec(root: etree._Element, data: NotificationData) -> None:
    _esito_fields(root, data, MessageType.EC)


_Body = Callable[[etree._Element, NotificationData], None]

_PA_BODIES: dict[MessageType, _Body] = {
    MessageType.RC: _pa_rc,
    MessageType.NS: _pa_ns,
    MessageType.MC: _pa_mc,
    MessageType.NE: _pa_ne,
    MessageType.AT: _pa_at,
    MessageType.DT: _pa_dt,
    MessageType.MT: _pa_mt,
    MessageType.SE: _pa_se,
    MessageType.EC: _pa_ec,
}


# -- B2B bodies (the real files; MessaggiFatturaTypes_v1.0 order) ----------------------------------


def _b2b_head(root: etree._Element, data: NotificationData) -> None:
    _add(root, "IdentificativoSdI", str(data.sdi_id))
    _add(root, "NomeFile", data.invoice_file_name)
    _add(root, "Hash", data.invoice_hash)


def _b2b_tail(root: etree._Element, data: NotificationData, *, empty_note: bool = False) -> None:
    _add(root, "MessageId", data.message_id)
    _add_optional(root, "PecMessageId", data.pec_message_id)
    if data.note is not None or empty_note:
        _add(root, "Note", data.note or None)


def _b2b_rc(root: etree._Element, data: NotificationData) -> None:
    _b2b_head(root, data)
    _add(root, "DataOraRicezione", _b2b_time(data.received_at))
    _add(root, "DataOraConsegna", _b2b_time(data.delivered_at or data.received_at))
    destinatario = _add(root, "Destinatario")
    if data.recipient_code:
        _add(destinatario, "Codice", data.recipient_code)
        _add_optional(destinatario, "Descrizione", data.recipient_description)
    _b2b_tail(root, data)


def _b2b_ns(root: etree._Element, data: NotificationData) -> None:
    if not data.errors:
        raise ValueError("NS needs at least one error")
    _b2b_head(root, data)
    _add(root, "DataOraRicezione", _b2b_time(data.received_at))
    errors = _add(root, "ListaErrori")
    for entry in data.errors:
        error = _add(errors, "Errore")
        _add(error, "Codice", entry.code)
        _add(error, "Descrizione", entry.description)
        if entry.suggestion:
            _add(error, "Suggerimento", entry.suggestion)
    _b2b_tail(root, data)


def _b2b_mc(root: etree._Element, data: NotificationData) -> None:
    _b2b_head(root, data)
    _add(root, "DataOraRicezione", _b2b_time(data.received_at))
    available = data.available_on or _rome(data.received_at).date()
    _add(root, "DataMessaADisposizione", available.isoformat())
    code = data.recipient_code or UNDELIVERED_CODE
    _add(root, "Descrizione", data.description or B2B_MC_DESCRIPTION.format(code=code))
    _b2b_tail(root, data, empty_note=True)


def _b2b_mt(root: etree._Element, data: NotificationData) -> None:
    _b2b_head(root, data)
    _add_optional(root, "CodiceDestinatario", data.recipient_code)
    _add(root, "Formato", data.format or "FPR12")
    _add(root, "TentativiInvio", str(data.attempts))
    _add(root, "MessageId", data.message_id)
    _add_optional(root, "Note", data.note)


_B2B_BODIES: dict[MessageType, _Body] = {
    MessageType.RC: _b2b_rc,
    MessageType.NS: _b2b_ns,
    MessageType.MC: _b2b_mc,
    MessageType.MT: _b2b_mt,
}


# -- parsing ---------------------------------------------------------------------------------------


def parse_notification(data: bytes) -> ParsedNotification:
    """Read an SDI message of either schema. Raises ValueError for anything else."""
    root = parse_xml(data)
    namespace = etree.QName(root).namespace
    name = strip_namespace(root.tag)
    if namespace not in (PA_NS, B2B_NS) or name not in _TYPE_OF_ROOT:
        raise ValueError(f"not an SDI message: root {{{namespace}}}{name}")
    kind = _TYPE_OF_ROOT[name]
    esito = root.find("EsitoCommittente") if kind is MessageType.NE else root
    esito = root if esito is None else esito
    return ParsedNotification(
        message_type=kind,
        flow=Flow.PA if namespace == PA_NS else Flow.B2B,
        root_name=name,
        sdi_id=_int(_text(root, "IdentificativoSdI")),
        file_name=_text(root, "NomeFile"),
        message_id=_text(root, "MessageId"),
        received_at=_datetime(_text(root, "DataOraRicezione")),
        delivered_at=_datetime(_text(root, "DataOraConsegna")),
        recipient_code=_text(root, "Destinatario/Codice") or _text(root, "CodiceDestinatario"),
        recipient_description=_text(root, "Destinatario/Descrizione"),
        invoice_hash=_text(root, "Hash") or _text(root, "HashFileOriginale"),
        errors=_errors(root),
        description=None if kind in (MessageType.EC, MessageType.NE) else _text(root, "Descrizione"),
        note=_text(root, "Note"),
        available_on=_date(_text(root, "DataMessaADisposizione")),
        esito=_text(esito, "Esito"),
        esito_description=_text(esito, "Descrizione") if kind in (MessageType.EC, MessageType.NE) else None,
        invoice_number=_text(esito, "RiferimentoFattura/NumeroFattura"),
        invoice_year=_int(_text(esito, "RiferimentoFattura/AnnoFattura")),
        invoice_position=_int(_text(esito, "RiferimentoFattura/PosizioneFattura")),
        message_id_committente=_text(esito, "MessageIdCommittente"),
        format=_text(root, "Formato"),
        attempts=_int(_text(root, "TentativiInvio")),
        pec_message_id=_text(root, "PecMessageId"),
        scarto=_text(root, "Scarto"),
        signed=root.find(f"{{{DS_NS}}}Signature") is not None,
    )


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path)
    if found is None:
        return None
    return (found.text or "").strip()


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _datetime(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=ROME) if value.tzinfo is None else value


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _errors(root: etree._Element) -> tuple[ErrorEntry, ...]:
    return tuple(
        ErrorEntry(
            code=_text(error, "Codice") or "",
            description=_text(error, "Descrizione") or "",
            suggestion=_text(error, "Suggerimento"),
        )
        for error in root.iterfind("ListaErrori/Errore")
    )


# -- schema ----------------------------------------------------------------------------------------


class _XmldsigResolver(etree.Resolver):
    """Serves xmldsig-core-schema.xsd from the schema directory whatever URL the import uses."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self._xmldsig = directory / XMLDSIG_XSD

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        if system_url and system_url.rsplit("/", 1)[-1] == XMLDSIG_XSD:
            return self.resolve_filename(str(self._xmldsig), context)  # type: ignore[attr-defined]
        return None


def load_messaggi_schema(xsd_dir: Path) -> etree.XMLSchema:
    """MessaggiTypes_v1.1.xsd with its xmldsig import served locally (no network); cached per directory."""
    directory = Path(xsd_dir).resolve()
    for needed in (MESSAGGI_XSD, XMLDSIG_XSD):
        if not (directory / needed).is_file():
            raise FileNotFoundError(f"schema directory {directory} has no {needed}")
    return _load_schema(str(directory))


@functools.lru_cache(maxsize=8)
def _load_schema(directory: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(_XmldsigResolver(Path(directory)))
    document = etree.parse(str(Path(directory) / MESSAGGI_XSD), parser)
    return etree.XMLSchema(document)
