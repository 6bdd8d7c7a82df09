"""A-Cube's single invoice as a document: HTML/PDF/raw, attachments, archive-rejected."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from pypdf import PdfReader

from emulator.providers.acube.service import SENDING_SECONDS
from emulator.sdi.fatturapa import children
from tests.conftest import advance
from tests.providers.acube.test_invoices import (
    INVOICES,
    assert_problem,
    auth,
    created_uuid,
    get,
    invoice,
    listing,
    marking,
    token_of,
)

HEAD = "Copia per <il> cliente & co."
FOOT = 'Grazie "per" l\'acquisto'
NOTES = {"dynamic[head-notes]": HEAD, "dynamic[foot-notes]": FOOT}
PDF_BYTES = b"%PDF-1.4 fake attachment \x00\xff"
TEXT_BYTES = "Dettaglio ore: 10 × 50 €".encode()


@pytest.fixture
def token(client: FlaskClient) -> str:
    return token_of(client)


def with_attachments(xml: bytes, *attachments: tuple[str, str | None, bytes]) -> bytes:
    """The invoice with one ``Allegati`` per (name, format, content) at the end of its first body."""
    root = etree.fromstring(xml)
    body = next(
        e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == "FatturaElettronicaBody"
    )
    for name, fmt, content in attachments:
        element = etree.SubElement(body, "Allegati")
        etree.SubElement(element, "NomeAttachment").text = name
        if fmt is not None:
            etree.SubElement(element, "FormatoAttachment").text = fmt
        etree.SubElement(element, "Attachment").text = base64.b64encode(content).decode()
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def printed(client: FlaskClient, token: str, uuid: str, accept: str, theme: str | None = None) -> Any:
    headers = auth(token, Accept=accept)
    if theme is not None:
        headers["X-PrintTheme"] = theme
    return client.get(f"{INVOICES}/{uuid}", query_string=NOTES, headers=headers)


def attachment(client: FlaskClient, token: str, uuid: str, index: object) -> Any:
    return client.get(f"{INVOICES}/{uuid}/attachments/{index}", headers=auth(token))


def archive(client: FlaskClient, token: str, uuid: str) -> Any:
    return client.put(f"{INVOICES}/{uuid}/archive-rejected", headers=auth(token))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# -- GET /invoices/{id} in every format -----------------------------------------------------------


def test_html_default_theme_is_standard_and_ignores_notes(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    response = printed(client, token, uuid, "text/html")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert response.headers["Content-Disposition"].startswith("inline; filename=")
    page = response.get_data(as_text=True)
    assert '<body class="theme-standard">' in page
    assert "Sandbox S.r.l." in page and "Cliente Prova S.p.A." in page
    assert "Copia per" not in page and "Grazie" not in page


@pytest.mark.parametrize("theme", ["standard", "assosoftware"])
def test_other_themes_ignore_the_notes(client: FlaskClient, token: str, theme: str) -> None:
    uuid = created_uuid(client, token, invoice())
    page = printed(client, token, uuid, "text/html", theme).get_data(as_text=True)
    assert f'<body class="theme-{theme}">' in page
    assert "Copia per" not in page and "Grazie" not in page


def test_acube_theme_writes_the_notes_escaped_at_the_top_and_in_the_footer(
    client: FlaskClient, token: str
) -> None:
    uuid = created_uuid(client, token, invoice())
    response = printed(client, token, uuid, "text/html", "acube")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<body class="theme-acube">' in page
    head = "Copia per &lt;il&gt; cliente &amp; co."
    foot = "Grazie &quot;per&quot; l&#x27;acquisto"
    assert "<il>" not in page
    assert page.index(head) < page.index("<h1>") < page.index("Dati di trasmissione")
    footer = page.index('<footer class="doc">')
    assert page.index(foot) > footer > page.index("Dati di trasmissione")


def test_the_three_themes_look_different(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    pages = {
        theme: get(client, token, uuid, Accept="text/html", **{"X-PrintTheme": theme}).data
        for theme in ("standard", "assosoftware", "acube")
    }
    assert len(set(pages.values())) == 3


def test_pdf_is_a_real_pdf_with_notes_for_the_acube_theme(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    response = printed(client, token, uuid, "application/pdf", "acube")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert (
        response.headers["Content-Disposition"].endswith('.pdf"')
        or ".pdf" in response.headers["Content-Disposition"]
    )
    text = pdf_text(response.data)
    assert HEAD in text and text.index(HEAD) < text.index("Dati di trasmissione")
    assert FOOT.replace('"', "") in text.replace('"', "")
    standard = printed(client, token, uuid, "application/pdf")
    assert standard.data.startswith(b"%PDF") and HEAD not in pdf_text(standard.data)


@pytest.mark.parametrize("accept", ["text/html", "application/pdf"])
def test_unknown_theme_is_400(client: FlaskClient, token: str, accept: str) -> None:
    uuid = created_uuid(client, token, invoice())
    assert_problem(
        printed(client, token, uuid, accept, "dark"),
        400,
        'The print theme "dark" is not supported. Supported themes are "standard", "assosoftware", "acube".',
    )


def test_theme_header_is_ignored_for_json(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    response = get(client, token, uuid, **{"X-PrintTheme": "dark"})
    assert response.status_code == 200 and response.get_json()["uuid"] == uuid


def test_octet_stream_is_the_raw_file_and_xml_the_stored_one(client: FlaskClient, token: str) -> None:
    body = invoice()
    uuid = created_uuid(client, token, body)
    raw = get(client, token, uuid, Accept="application/octet-stream")
    assert raw.status_code == 200 and raw.mimetype == "application/octet-stream" and raw.data == body
    advance(client, SENDING_SECONDS)
    raw = get(client, token, uuid, Accept="application/octet-stream")
    assert raw.status_code == 200 and raw.data == body
    xml = get(client, token, uuid, Accept="application/xml")
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and xml.data == body


def test_an_accept_it_cannot_produce_is_406(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    assert_problem(
        get(client, token, uuid, Accept="image/png"),
        406,
        'Requested format "image/png" is not supported. Supported MIME types are "application/json, '
        "application/ld+json, application/xml, text/xml, text/html, application/pdf, "
        'application/octet-stream".',
    )


def test_printing_an_unknown_or_other_accounts_invoice_is_404(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    other = token_of(client, "other@example.com", "other")
    assert_problem(printed(client, other, uuid, "application/pdf", "acube"), 404, "Not Found")
    assert_problem(printed(client, token, "nope", "text/html"), 404, "Not Found")


def test_received_invoice_prints(client: FlaskClient, token: str) -> None:
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": "26174950589"})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    uuid = listing(client, token, "?type=1").get_json()[0]["uuid"]
    page = printed(client, token, uuid, "text/html", "acube")
    assert page.status_code == 200 and "Copia per &lt;il&gt;" in page.get_data(as_text=True)
    assert printed(client, token, uuid, "application/pdf", "assosoftware").data.startswith(b"%PDF")


# -- attachments ----------------------------------------------------------------------------------


def test_attachments_are_the_decoded_bytes_with_type_and_name(client: FlaskClient, token: str) -> None:
    body = with_attachments(
        invoice(),
        ("ore.pdf", "PDF", PDF_BYTES),
        ("dettaglio ore.txt", None, TEXT_BYTES),
        ("dati.bin", "XYZ", b"\x01"),
    )
    uuid = created_uuid(client, token, body)
    first = attachment(client, token, uuid, 0)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.data == PDF_BYTES
    assert first.mimetype == "application/pdf"
    assert first.headers["Content-Disposition"] == 'attachment; filename="ore.pdf"'
    second = attachment(client, token, uuid, 1)
    assert second.status_code == 200 and second.data == TEXT_BYTES
    assert second.mimetype == "text/plain"
    assert second.headers["Content-Disposition"] == 'attachment; filename="dettaglio ore.txt"'
    third = attachment(client, token, uuid, 2)
    assert third.status_code == 200 and third.data == b"\x01" and third.mimetype == "application/octet-stream"
    # The printed invoice lists them by name.
    assert "ore.pdf" in get(client, token, uuid, Accept="text/html").get_data(as_text=True)


def test_attachments_are_counted_over_the_bodies(client: FlaskClient, token: str) -> None:
    root = etree.fromstring(with_attachments(invoice(), ("a.txt", "TXT", b"first")))
    bodies = [
        e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == "FatturaElettronicaBody"
    ]
    second = etree.fromstring(etree.tostring(bodies[0]))
    for old in children(second, "Allegati"):
        second.remove(old)
    allegati = etree.SubElement(second, "Allegati")
    etree.SubElement(allegati, "NomeAttachment").text = "b.txt"
    etree.SubElement(allegati, "Attachment").text = base64.b64encode(b"second").decode()
    root.append(second)
    uuid = created_uuid(client, token, bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8")))
    assert attachment(client, token, uuid, 0).data == b"first"
    assert attachment(client, token, uuid, 1).data == b"second"
    assert_problem(attachment(client, token, uuid, 2), 404, "Not Found")


@pytest.mark.parametrize("index", ["1", "-1", "x", "1.0", "99999999999999999999"])
def test_attachment_index_out_of_range_or_not_an_integer_is_404(
    client: FlaskClient, token: str, index: str
) -> None:
    uuid = created_uuid(client, token, with_attachments(invoice(), ("a.txt", "TXT", b"only")))
    assert_problem(attachment(client, token, uuid, index), 404, "Not Found")


def test_attachment_of_an_invoice_without_attachments_is_404(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, invoice())
    assert_problem(attachment(client, token, uuid, 0), 404, "Not Found")


def test_attachment_of_unknown_or_other_accounts_invoice_is_404(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, with_attachments(invoice(), ("a.txt", "TXT", b"only")))
    other = token_of(client, "other@example.com", "other")
    assert_problem(attachment(client, other, uuid, 0), 404, "Not Found")
    assert_problem(attachment(client, token, "00000000-0000-4000-8000-000000000000", 0), 404, "Not Found")


def test_attachment_that_is_not_base64_is_404(client: FlaskClient, token: str) -> None:
    root = etree.fromstring(with_attachments(invoice(), ("a.txt", "TXT", b"x")))
    next(root.iter("Attachment")).text = "not base64!"
    uuid = created_uuid(client, token, bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8")))
    assert_problem(attachment(client, token, uuid, 0), 404, "Not Found")


def test_attachment_without_token_is_401(client: FlaskClient) -> None:
    response = client.get(f"{INVOICES}/x/attachments/0")
    assert response.status_code == 401
    assert response.get_json() == {"code": 401, "message": "JWT Token not found"}


# -- archive-rejected -----------------------------------------------------------------------------


def rejected(client: FlaskClient, token: str) -> str:
    uuid = created_uuid(client, token, invoice())
    advance(client, SENDING_SECONDS)
    response = client.post("/_sandbox/sdi/notifications", json={"invoice": uuid, "type": "NS"})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    assert marking(client, token, uuid) == "rejected"
    return uuid


def test_archive_rejected_is_204_once_then_409(client: FlaskClient, token: str, sandbox: Any) -> None:
    uuid = rejected(client, token)
    response = archive(client, token, uuid)
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.data == b""
    from emulator.providers.acube.models import AcubeInvoice

    with sandbox.transaction() as session:
        row = session.query(AcubeInvoice).filter_by(uuid=uuid).one()
        assert row.archived_at is not None
    assert_problem(archive(client, token, uuid), 409, "Invoice not in rejected state")
    assert marking(client, token, uuid) == "rejected"


@pytest.mark.parametrize("seconds", [0, SENDING_SECONDS, SENDING_SECONDS + 120])
def test_archive_of_an_invoice_not_rejected_is_409(client: FlaskClient, token: str, seconds: int) -> None:
    uuid = created_uuid(client, token, invoice())
    advance(client, seconds)
    assert_problem(archive(client, token, uuid), 409, "Invoice not in rejected state")


def test_archive_of_unknown_or_other_accounts_invoice_is_404(client: FlaskClient, token: str) -> None:
    uuid = rejected(client, token)
    other = token_of(client, "other@example.com", "other")
    assert_problem(archive(client, other, uuid), 404, "Not Found")
    assert_problem(archive(client, token, "nope"), 404, "Not Found")
    assert archive(client, token, uuid).status_code == 204


def test_attachment_name_is_quoted_and_non_ascii_names_are_encoded(client: FlaskClient, token: str) -> None:
    uuid = created_uuid(client, token, with_attachments(invoice(), ('fattura "più".pdf', "pdf", PDF_BYTES)))
    response = attachment(client, token, uuid, 0)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="fattura \\"pi_\\".pdf"; filename*=UTF-8\'\'fattura%20%22pi%C3%B9%22.pdf'
    )
