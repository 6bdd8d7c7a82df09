"""The intermediary's own notification (NotificaDitech, TipoNotifica OI or SI) and the <Stati> envelope."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from emulator.core.clock import ROME
from emulator.core.xmlsafe import parse_xml
from emulator.providers.easytracking.models import EtDocument

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
NSMAP = {"xsi": XSI, "xsd": XSD}


def _add(parent: etree._Element, tag: str, text: str | None) -> None:
    if text:
        etree.SubElement(parent, tag).text = text


def notifica_ditech(
    *,
    kind: str,
    document: EtDocument,
    at: datetime,
    sdi_id: int | None = None,
    errors: tuple[str, ...] = (),
) -> bytes:
    """Render the NotificaDitech of an uploaded document, element order as in the document's examples."""
    d = document
    root = etree.Element("NotificaDitech", nsmap=NSMAP)
    _add(root, "IdPaese", d.sender_country)
    _add(root, "IdCodice", d.sender_vat)
    _add(root, "CodiceFiscale", d.sender_cf)
    _add(root, "IdPaeseCessionario", d.receiver_country)
    _add(root, "IdCodiceCessionario", d.receiver_vat)
    _add(root, "TipoDocumento", d.document_type)
    _add(root, "Data", d.date)
    _add(root, "Numero", d.number)
    _add(root, "IdPaeseTrasmittenteOrig", d.transmitter_country)
    _add(root, "IdCodiceTrasmittenteOrig", d.transmitter_code)
    _add(root, "ProgressivoInvioOrig", d.progressivo_invio)
    _add(root, "NomeFileFatturaOrig", d.original_file_name)
    _add(root, "ProgressivoInvioSDI", str(d.progressivo_sdi) if d.progressivo_sdi else None)
    _add(root, "TipoNotifica", kind)
    _add(root, "IdentificativoSDI", str(sdi_id) if sdi_id else None)
    _add(root, "DataOraRicezioneNotifica", at.astimezone(ROME).strftime("%Y-%m-%d %H:%M"))
    if errors:
        lista = etree.SubElement(etree.SubElement(root, "Scarto"), "ListaErrori")
        for description in errors:
            etree.SubElement(etree.SubElement(lista, "Errore"), "Descrizione").text = description
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def stati(payloads: list[bytes]) -> bytes:
    """``<Stati><Stato>…</Stato>…</Stati>``, each Stato wrapping one notification's root element."""
    root = etree.Element("Stati", nsmap=NSMAP)
    for payload in payloads:
        etree.SubElement(root, "Stato").append(parse_xml(payload))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
