"""The intermediary's own notification (NotificaDitech, TipoNotifica OI or SI) and the <Stati> envelope."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from emulator.core.clock import ROME

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
NSMAP = {"xsi": XSI, "xsd": XSD}


def _add(parent: etree._Element, tag: str, text: str | None) -> None:
    if text:
        etree.SubElement(parent, tag).text = text


def notifica_ditech(
    *,
    kind: str,
    document: object,
    at: datetime,
    sdi_id: int | None = None,
    errors: tuple[str, ...] = (),
) -> bytes:
    """Render a NotificaDitech for an uploaded document (attribute access kept loose on purpose)."""
    d = document
    root = etree.Element("NotificaDitech", nsmap=NSMAP)
    _add(root, "IdPaese", getattr(d, "sender_country", None))
    _add(root, "IdCodice", getattr(d, "sender_vat", None))
    _add(root, "CodiceFiscale", getattr(d, "sender_cf", None))
    _add(root, "IdPaeseCessionario", getattr(d, "receiver_country", None))
    _add(root, "IdCodiceCessionario", getattr(d, "receiver_vat", None))
    _add(root, "CodiceFiscaleCessionario", getattr(d, "receiver_cf", None) if not getattr(d, "receiver_vat") else None)
    _add(root, "TipoDocumento", getattr(d, "document_type", None))
    _add(root, "Data", getattr(d, "date", None))
    _add(root, "Numero", getattr(d, "number", None))
    _add(root, "IdPaeseTrasmittenteOrig", getattr(d, "transmitter_country", None))
    _add(root, "IdCodiceTrasmittenteOrig", getattr(d, "transmitter_code", None))
    _add(root, "ProgressivoInvioOrig", getattr(d, "progressivo_invio", None))
    _add(root, "NomeFileFatturaOrig", getattr(d, "original_file_name", None))
    progressivo_sdi = getattr(d, "progressivo_sdi", None)
    _add(root, "ProgressivoInvioSDI", str(progressivo_sdi) if progressivo_sdi else None)
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
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    for payload in payloads:
        stato = etree.SubElement(root, "Stato")
        stato.append(etree.fromstring(payload, parser))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
