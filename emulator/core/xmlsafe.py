"""Safe XML parsing for anything a client uploads.

Uploaded documents never need a DTD, so any DOCTYPE (and with it any ENTITY declaration) is refused
before the parser sees the document: no external entities, no entity-expansion bombs. The parser is
configured defensively as a second line (no DTD loading, no network, no entity resolution, no huge
trees), and the size is checked before any parsing.
"""

from __future__ import annotations

import re

from lxml import etree

DEFAULT_MAX_BYTES = 5 * 1024 * 1024

_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# Whitespace, processing instructions (the XML declaration included) and comments may precede a
# DOCTYPE; nothing else can. Matching them skips to where a DOCTYPE would have to start.
_PROLOG_RE = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)


class UnsafeXmlError(ValueError):
    """The document declares a DTD (DOCTYPE/ENTITY), which uploads are never allowed to do."""


class MalformedXmlError(ValueError):
    """The document is not well-formed XML (the message carries lxml's line and column)."""


class XmlTooLargeError(ValueError):
    """The document exceeds the size limit; raised before any parsing."""

    def __init__(self, size: int, max_bytes: int) -> None:
        super().__init__(f"XML document too large: {size} bytes, the limit is {max_bytes} bytes")
        self.size = size
        self.max_bytes = max_bytes


def strip_namespace(tag: str) -> str:
    """``{namespace}Local`` → ``Local``; a tag without namespace is returned unchanged."""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted bytes into an element, refusing oversized, DTD-bearing or malformed input."""
    if len(data) > max_bytes:
        raise XmlTooLargeError(len(data), max_bytes)
    data = _trim_start(data)
    if not data:
        raise MalformedXmlError("Empty document: no XML content")
    if _declares_dtd(data):
        raise UnsafeXmlError("DOCTYPE/ENTITY declarations are not allowed (no DTDs in uploaded XML)")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        message = exc.msg if isinstance(exc.msg, str) and exc.msg else str(exc)
        raise MalformedXmlError(f"XML not well-formed: {message}") from None
    if root is None:  # pragma: no cover - lxml raises for documents without a root element
        raise MalformedXmlError("XML not well-formed: no root element")
    _refuse_doctype(root)
    return root


def _parser() -> etree.XMLParser:
    # A new parser each time: lxml parsers are not thread-safe.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def _trim_start(data: bytes) -> bytes:
    """Drop a UTF-8 BOM and the whitespace before the XML declaration (real uploads carry both)."""
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    return data.lstrip(b" \t\r\n")


def _declares_dtd(data: bytes) -> bool:
    text = _decode_prolog(data)
    end = _PROLOG_RE.match(text)
    rest = text[end.end() if end else 0 :]
    return rest.startswith("<!DOCTYPE")


def _decode_prolog(data: bytes) -> str:
    """The document as text, well enough to find a DOCTYPE in its prolog (ASCII-compatible or UTF-16/32)."""
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    if data[:2] in (b"<\x00", b"\x00<"):
        return data.decode("utf-16-le" if data[0] == 0x3C else "utf-16-be", errors="replace")
    return data.decode("latin-1")


def _refuse_doctype(root: etree._Element) -> None:
    """Second line of defence: whatever the prefilter missed, a parsed DTD is still refused."""
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # type: ignore[attr-defined]
        raise UnsafeXmlError("DOCTYPE/ENTITY declarations are not allowed (no DTDs in uploaded XML)")
