"""A-Cube's JSON form of a FatturaPA invoice and the XML, both ways (``POST /invoices/convert``).

The mapping is derived from the official FatturaPA 1.2.3 XSD, never written per element: the schema
is loaded with lxml and every ``complexType`` reachable from ``FatturaElettronicaType`` is walked
(through nested ``sequence``/``choice`` groups, in document order). That gives, for each type, its
child elements in schema order, whether each repeats (``maxOccurs`` > 1 on the element or on an
enclosing group), and whether it is complex (a nested object) or simple (a value).

Decisions, where A-Cube's JSON is not a plain mechanical copy of the XML:

- **Names.** An element's JSON key is its name split into words and lower-cased, with runs of
  capitals kept together as one acronym: ``IdPaese`` → ``id_paese``, ``CodiceFiscale`` →
  ``codice_fiscale``, ``IBAN`` → ``iban``, ``CAP`` → ``cap``, ``AliquotaIVA`` → ``aliquota_iva``,
  ``IdFiscaleIVA`` → ``id_fiscale_iva``, ``PECDestinatario`` → ``pec_destinatario``,
  ``DatiDDT`` → ``dati_ddt``, ``Art73`` → ``art73``. The two top-level keys follow the same rule
  (``fattura_elettronica_header``, ``fattura_elettronica_body``). The reverse direction never
  guesses: it looks the key up among the children the schema allows at that place, so a key is
  accepted exactly where its element is (keys are checked to be unambiguous when the schema loads).
- **Shapes.** An element that may repeat is always a JSON array (``fattura_elettronica_body``,
  ``dettaglio_linee``, ``dati_riepilogo``, ``causale``, ...), even with one item; a single complex
  element is an object; a single simple element is a value. Keys come out in schema order, and the
  XML is written in schema order whatever the order of the JSON keys.
- **Values** are strings, exactly as in the XML (amounts such as ``"100.00"`` included), except
  elements whose XSD type derives from ``xs:integer`` (``numero_linea``, ``riferimento_numero_linea``,
  ``riferimento_fase``, ``numero_colli``, ``giorni_termine_pagamento``): A-Cube's examples show
  ``"numero_linea": 1``, so the XML → JSON direction gives a JSON integer when the text is a plain
  integer (no sign, no leading zero, no blanks) and keeps any other text as a string, so the round
  trip is lossless; JSON → XML accepts an integer or a string there. JSON ``null`` means "absent",
  as does an empty array.
- **``versione``** is not a JSON key: A-Cube's examples carry only ``formato_trasmissione``. JSON →
  XML sets ``versione`` to ``dati_trasmissione.formato_trasmissione`` when that is ``FPA12`` or
  ``FPR12``; otherwise it infers it from ``codice_destinatario`` (6 characters, an IPA office code:
  ``FPA12``; else ``FPR12``). XML → JSON requires ``versione`` to be ``FPA12``/``FPR12`` and, when
  the invoice has a ``FormatoTrasmissione``, equal to it (otherwise the JSON could not carry it).

Limitations: the converter checks structure, not content — required elements, value formats and
lengths are left to the schema validation that follows (a document missing ``CedentePrestatore``
converts). Elements in the wrong order are accepted and written back in schema order. The
``SistemaEmittente`` attribute, ``xsi:*`` attributes on the root and the ``ds:Signature`` element
are dropped (A-Cube's JSON has no place for them, and a signature cannot survive re-serialisation).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from emulator.core.xmlsafe import MalformedXmlError, UnsafeXmlError, XmlTooLargeError, parse_xml

FATTURAPA_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
FATTURAPA_XSD = "Schema_del_file_xml_FatturaPA_v1.2.3.xsd"
VERSIONS = ("FPA12", "FPR12")

_XS = "http://www.w3.org/2001/XMLSchema"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_DS = "http://www.w3.org/2000/09/xmldsig#"
_ROOT_TYPE = "FatturaElettronicaType"
_ROOT_TAG = f"{{{FATTURAPA_NS}}}FatturaElettronica"
_WORD_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")
_INTEGER_BUILTINS = frozenset(
    {"xs:integer", "xs:int", "xs:long", "xs:short", "xs:nonNegativeInteger", "xs:positiveInteger"}
)
_PLAIN_INT_RE = re.compile(r"0|[1-9][0-9]*")


class ConversionError(ValueError):
    """The input cannot be converted; the message says where and why."""


def snake_case(name: str) -> str:
    """``IdFiscaleIVA`` → ``id_fiscale_iva``: words lower-cased, a run of capitals is one word."""
    return "_".join(word.lower() for word in _WORD_RE.findall(name))


# -- the schema model -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    tag: str  # the XML element name (unqualified)
    key: str  # the JSON key
    repeated: bool
    integer: bool
    type_name: str | None  # the complexType, None for a simple element


@dataclass
class _Type:
    name: str
    fields: list[_Field] = field(default_factory=list)
    by_key: dict[str, _Field] = field(default_factory=dict)
    by_tag: dict[str, _Field] = field(default_factory=dict)


@dataclass(frozen=True)
class _Schema:
    types: dict[str, _Type]

    def fields_of(self, type_name: str | None) -> _Type:
        assert type_name is not None
        return self.types[type_name]


def _local(qname: str) -> str:
    return qname.split(":", 1)[-1]


def _repeats(value: str | None) -> bool:
    return value == "unbounded" or (value is not None and int(value) > 1)


def _particles(node: etree._Element, repeated: bool) -> Iterator[tuple[etree._Element, bool]]:
    """The ``xs:element`` particles under a group, in document order, with "inside a repeating group"."""
    for child in node:
        if child.tag == f"{{{_XS}}}element":
            yield child, repeated or _repeats(child.get("maxOccurs"))
        elif child.tag in (f"{{{_XS}}}sequence", f"{{{_XS}}}choice"):
            yield from _particles(child, repeated or _repeats(child.get("maxOccurs")))


def _is_integer(simple_types: dict[str, etree._Element], type_name: str) -> bool:
    seen: set[str] = set()
    while type_name not in seen:
        seen.add(type_name)
        if type_name in _INTEGER_BUILTINS:
            return True
        definition = simple_types.get(type_name)
        restriction = definition.find(f"{{{_XS}}}restriction") if definition is not None else None
        if restriction is None or restriction.get("base") is None:
            return False
        type_name = str(restriction.get("base"))
    return False


@functools.lru_cache(maxsize=4)
def _load(directory: str) -> _Schema:
    path = Path(directory) / FATTURAPA_XSD
    if not path.is_file():
        raise FileNotFoundError(f"schema directory {directory} has no {FATTURAPA_XSD}")
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    xsd = etree.parse(str(path), parser).getroot()
    complex_types = {str(t.get("name")): t for t in xsd.iterfind(f"{{{_XS}}}complexType")}
    simple_types = {str(t.get("name")): t for t in xsd.iterfind(f"{{{_XS}}}simpleType")}
    types: dict[str, _Type] = {}
    pending = [_ROOT_TYPE]
    while pending:
        name = pending.pop()
        if name in types:
            continue
        model = types[name] = _Type(name)
        for element, repeated in _particles(complex_types[name], False):
            if element.get("name") is None:  # ds:Signature, by reference: not part of the JSON form
                continue
            tag, type_attr = str(element.get("name")), _local(str(element.get("type")))
            complex_type = type_attr if type_attr in complex_types else None
            item = _Field(
                tag=tag,
                key=snake_case(tag),
                repeated=repeated,
                integer=complex_type is None and _is_integer(simple_types, str(element.get("type"))),
                type_name=complex_type,
            )
            if item.key in model.by_key or tag in model.by_tag:  # pragma: no cover - schema sanity
                raise RuntimeError(f"{name}: two children map to {item.key!r}")
            model.fields.append(item)
            model.by_key[item.key] = item
            model.by_tag[tag] = item
            if complex_type is not None:
                pending.append(complex_type)
    return _Schema(types)


def _schema(xsd_dir: Path | None) -> _Schema:
    if xsd_dir is None:
        raise FileNotFoundError("no FatturaPA schema directory configured (xsd_dir)")
    return _load(str(Path(xsd_dir).resolve()))


def _at(path: str, message: str) -> ConversionError:
    return ConversionError(f"{path}: {message}" if path else message)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


# -- JSON → XML -------------------------------------------------------------------------------


def json_to_xml(invoice: Any, *, xsd_dir: Path | None = None) -> bytes:
    """The FatturaPA XML for A-Cube's JSON form (``fattura_elettronica_header``, ``..._body``).

    ``xsd_dir`` is the directory of the official schemas (the sandbox's ``xsd_dir`` setting), from
    which the mapping is derived; ``FileNotFoundError`` when it is missing.
    """
    schema = _schema(xsd_dir)
    if not isinstance(invoice, dict):
        raise ConversionError(f"the invoice must be an object, not {_kind(invoice)}")
    root = etree.Element(_ROOT_TAG, nsmap={"p": FATTURAPA_NS})
    root.set("versione", _versione(invoice))
    _fill(schema, schema.fields_of(_ROOT_TYPE), invoice, root, "")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _versione(invoice: dict[str, Any]) -> str:
    header = invoice.get("fattura_elettronica_header")
    transmission = header.get("dati_trasmissione") if isinstance(header, dict) else None
    if not isinstance(transmission, dict):
        return "FPR12"
    declared = transmission.get("formato_trasmissione")
    if declared in VERSIONS:
        return str(declared)
    code = transmission.get("codice_destinatario")
    return "FPA12" if isinstance(code, str) and len(code) == 6 else "FPR12"


def _fill(schema: _Schema, model: _Type, data: dict[str, Any], parent: etree._Element, path: str) -> None:
    for key in data:
        if not isinstance(key, str) or key not in model.by_key:
            raise _at(path, f'unknown key "{key}"')
    for item in model.fields:
        value = data.get(item.key)
        if value is None:
            continue
        where = _join(path, item.key)
        if item.repeated:
            if not isinstance(value, list):
                raise _at(where, f"must be an array, not {_kind(value)}")
            for index, entry in enumerate(value):
                _emit(schema, item, entry, parent, f"{where}[{index}]")
        else:
            _emit(schema, item, value, parent, where)


def _emit(schema: _Schema, item: _Field, value: Any, parent: etree._Element, path: str) -> None:
    if item.type_name is not None:
        if not isinstance(value, dict):
            raise _at(path, f"must be an object, not {_kind(value)}")
        _fill(schema, schema.fields_of(item.type_name), value, etree.SubElement(parent, item.tag), path)
        return
    if isinstance(value, int) and not isinstance(value, bool) and item.integer:
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        expected = "an integer or a string" if item.integer else "a string"
        raise _at(path, f"must be {expected}, not {_kind(value)}")
    element = etree.SubElement(parent, item.tag)
    try:
        element.text = text
    except ValueError:
        raise _at(path, "contains characters not allowed in XML") from None


# -- XML → JSON -------------------------------------------------------------------------------


def xml_to_json(xml: bytes, *, xsd_dir: Path | None = None) -> dict[str, Any]:
    """A-Cube's JSON form of a FatturaPA XML invoice (see the module docstring for the mapping)."""
    schema = _schema(xsd_dir)
    try:
        root = parse_xml(xml)
    except (MalformedXmlError, UnsafeXmlError, XmlTooLargeError) as exc:
        raise ConversionError(str(exc)) from None
    if root.tag != _ROOT_TAG:
        raise ConversionError(
            f"not a FatturaPA 1.2 invoice: the root element is {root.tag}, expected {_ROOT_TAG}"
        )
    for raw in root.attrib:
        name = _text(raw)
        if name not in ("versione", "SistemaEmittente") and not name.startswith(f"{{{_XSI}}}"):
            raise ConversionError(f'unknown attribute "{name}" on FatturaElettronica')
    versione = root.get("versione")
    if versione not in VERSIONS:
        raise ConversionError(f'the versione attribute must be FPA12 or FPR12, not "{versione or ""}"')
    result = _read(schema, schema.fields_of(_ROOT_TYPE), root, "", skip_signature=True)
    formato = root.findtext("FatturaElettronicaHeader/DatiTrasmissione/FormatoTrasmissione")
    if formato is not None and formato != versione:
        raise ConversionError(
            f'versione "{versione}" differs from FormatoTrasmissione "{formato}": '
            "A-Cube's JSON cannot carry both"
        )
    return result


def _read(
    schema: _Schema, model: _Type, element: etree._Element, path: str, *, skip_signature: bool = False
) -> dict[str, Any]:
    if element.text is not None and element.text.strip():
        raise _at(path, f"unexpected text {element.text.strip()!r} in <{_name(element)}>")
    collected: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):  # comments and processing instructions
            continue
        if skip_signature and child.tag == f"{{{_DS}}}Signature":
            continue
        item = model.by_tag.get(child.tag)
        if item is None:
            raise _at(path, f"unknown element <{_name(child)}> in <{_name(element)}>")
        where = _join(path, item.key)
        if item.repeated:
            entries = collected.setdefault(item.key, [])
            collected[item.key].append(_value(schema, item, child, f"{where}[{len(entries)}]"))
        elif item.key in collected:
            raise _at(where, f"<{item.tag}> may appear only once")
        else:
            collected[item.key] = _value(schema, item, child, where)
        if child.tail is not None and child.tail.strip():
            raise _at(path, f"unexpected text {child.tail.strip()!r} in <{_name(element)}>")
    return {f.key: collected[f.key] for f in model.fields if f.key in collected}


def _value(schema: _Schema, item: _Field, element: etree._Element, path: str) -> Any:
    for raw in element.attrib:
        raise _at(path, f'unknown attribute "{_text(raw)}" on <{item.tag}>')
    if item.type_name is not None:
        return _read(schema, schema.fields_of(item.type_name), element, path)
    if any(isinstance(child.tag, str) for child in element):
        raise _at(path, f"<{item.tag}> must hold a value, not elements")
    text = (element.text or "") + "".join(child.tail or "" for child in element)
    if item.integer and _PLAIN_INT_RE.fullmatch(text):
        return int(text)
    return text


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _name(element: etree._Element) -> str:
    tag = str(element.tag)
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag
