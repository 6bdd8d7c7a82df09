from __future__ import annotations

import time

import pytest
from lxml import etree

from emulator.core import xmlsafe
from emulator.core.xmlsafe import (
    MalformedXmlError,
    UnsafeXmlError,
    XmlTooLargeError,
    parse_xml,
    strip_namespace,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<foo>&xxe;</foo>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "http://127.0.0.1:9/evil.dtd">
<foo/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote; ]>
<foo/>"""


def test_parses_plain_xml() -> None:
    root = parse_xml(b"<?xml version='1.0' encoding='UTF-8'?><a xmlns='urn:x'><b>1</b></a>")
    assert strip_namespace(root.tag) == "a"
    assert root[0].text == "1"


def test_tolerates_utf8_bom_and_leading_whitespace() -> None:
    root = parse_xml(b'\xef\xbb\xbf \r\n\t<?xml version="1.0" encoding="UTF-8"?>\n<a>\xc3\xa8</a>')
    assert root.text == "è"


def test_keeps_comments() -> None:
    root = parse_xml(b"<a><!-- note --><b/></a>")
    assert isinstance(root[0], etree._Comment)


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY])
def test_any_doctype_is_refused(payload: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(UnsafeXmlError, match="DOCTYPE/ENTITY"):
        parse_xml(payload)
    assert time.perf_counter() - started < 0.5


def test_doctype_after_comments_and_in_utf16_is_refused() -> None:
    after_comment = b"<?xml version='1.0'?><!-- hello --><?pi x?>\n<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>"
    with pytest.raises(UnsafeXmlError):
        parse_xml(after_comment)
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'.encode("utf-16")
    with pytest.raises(UnsafeXmlError):
        parse_xml(utf16)


def test_parser_refuses_a_dtd_even_if_the_prefilter_missed_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xmlsafe, "_declares_dtd", lambda data: False)
    for payload in (BILLION_LAUGHS, EXTERNAL_ENTITY):
        with pytest.raises((UnsafeXmlError, MalformedXmlError)):
            parse_xml(payload)


def test_parser_never_expands_entities() -> None:
    # The parser configuration itself: handed the payloads directly, lxml expands nothing.
    try:
        root = etree.fromstring(BILLION_LAUGHS, xmlsafe._parser())
    except etree.XMLSyntaxError as exc:
        assert "amplification" in str(exc) or "entity" in str(exc).lower()
    else:
        assert len(etree.tostring(root)) < 1000
    root = etree.fromstring(EXTERNAL_ENTITY, xmlsafe._parser())
    assert b"root:" not in etree.tostring(root)


def test_doctype_text_inside_content_is_fine() -> None:
    root = parse_xml(b"<a><![CDATA[<!DOCTYPE x [<!ENTITY y 'z'>]>]]>&lt;!DOCTYPE</a>")
    assert root.text is not None and root.text.startswith("<!DOCTYPE x")


def test_oversized_input_is_refused_before_parsing() -> None:
    garbage = b"\x00" * 2049  # not even XML: the size check must come first
    with pytest.raises(XmlTooLargeError) as caught:
        parse_xml(garbage, max_bytes=2048)
    assert caught.value.size == 2049
    assert caught.value.max_bytes == 2048
    assert "2049" in str(caught.value) and "2048" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_default_limit_is_five_megabytes() -> None:
    with pytest.raises(XmlTooLargeError):
        parse_xml(b" " * (5 * 1024 * 1024 + 1))


@pytest.mark.parametrize(
    "payload",
    [b"\x00\x01\x02garbage\xff", b"not xml at all", b"<a><b></a>", b"<a>", b"<a/><b/>", b"", b"  \n "],
)
def test_garbage_gives_malformed_xml_error(payload: bytes) -> None:
    with pytest.raises(MalformedXmlError, match=r"XML|document"):
        parse_xml(payload)


def test_malformed_message_carries_line_and_column() -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse_xml(b"<a>\n  <b>\n</a>")
    assert "line 3" in str(caught.value)
    assert "column" in str(caught.value)


@pytest.mark.parametrize(
    ("tag", "local"),
    [("{urn:x}Name", "Name"), ("Name", "Name"), ("{http://a/b}FatturaElettronica", "FatturaElettronica")],
)
def test_strip_namespace(tag: str, local: str) -> None:
    assert strip_namespace(tag) == local
