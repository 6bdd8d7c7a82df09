"""Received invoices, the calls not shared with the sent ones: getInvoiceWithUnsignedFile (§9.5, §9.7)
and sendEsitoCommittente (§10.1).

getInvoiceWithUnsignedFile: one received invoice, by ``filename`` or ``invoiceId`` (one of the two
is mandatory; given both, both must match), as getByFilename's object (``errorCode`` null, no
``pdfFile``) followed by ``unsignedFile`` and ``signed``.

The document describes this call twice and the two disagree. §9.5 (English, with a parameter table):
``includeFile`` (default false) decides whether ``file`` holds the original file, otherwise null;
``unsignedFile`` is the invoice without its signature, or the original file when it is not signed.
§9.7 (Italian, no parameters): ``file`` always holds the original, ``unsignedFile`` is null for an
unsigned invoice. The example of both shows ``file`` null without ``includeFile``, which only §9.5
explains, so the sandbox follows §9.5 (as contracts/aruba.yaml does).

Decisions: ``signed`` is true for a ``.p7m`` in any encoding (DER, BER, base64, base64 twice) and
``unsignedFile`` is the XML inside it; a p7m that cannot be read is reported signed with
``unsignedFile`` null. An ``.xml`` carrying an enveloped XAdES ``ds:Signature`` is also digitally
signed: ``unsignedFile`` is that XML with the signature element removed. An unknown id or file name,
or one of another account's invoices, is 404.

Request bodies are read as Spring MVC reads a ``@RequestBody`` (``bodies.py``): 415 for a
content type other than JSON, 400 "Required request body is missing" or "JSON parse error: ...".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request
from lxml import etree
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, NotFound
from emulator.core.http import json_response
from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.aruba import bodies, esito, params, records, views
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.engine import EsitoOutcome
from emulator.sdi.signing import DS_NS, SignatureError, unwrap_p7m

if TYPE_CHECKING:
    from emulator.providers.aruba.routes import ArubaApi

IN = "/services/invoice/in"


def install(bp: Blueprint, api: ArubaApi) -> None:
    sandbox = api.sandbox

    @bp.get(f"{IN}/getInvoiceWithUnsignedFile")
    def get_invoice_with_unsigned_file() -> Response:
        query = request.args
        return api.authenticated(
            lambda session, account: json_response(invoice_with_unsigned_file(session, account, query))
        )

    @bp.post(f"{IN}/sendEsitoCommittente")
    def send_esito_committente() -> Response:
        outcomes: list[EsitoOutcome] = []

        def call(session: Session, account: Account) -> Response:
            payload = bodies.read_json_body(request.get_data(cache=True), request.content_type)
            outcomes.append(esito.send_esito_committente(sandbox, session, account, payload))
            return empty_ok()

        response = api.authenticated(call)
        # Raised after the commit: the EC sent and the SDI's scarto stay in the account's box.
        esito.raise_if_discarded(outcomes[0])
        return response


# -- getInvoiceWithUnsignedFile --------------------------------------------------------------------


def invoice_with_unsigned_file(
    session: Session, account: Account, query: Mapping[str, str]
) -> dict[str, Any]:
    filename = params.optional_text(query, "filename")
    invoice_id = params.optional_long(query, "invoiceId")
    include_file = params.optional_bool(query, "includeFile", False)
    if filename is None and invoice_id is None:
        raise BadRequest(
            "Required request parameter 'filename' or 'invoiceId' is not present: "
            "one of the two is mandatory",
            code="missing_parameter",
        )
    row = received_invoice(session, account, filename, invoice_id)
    signed, unsigned = unsigned_content(row.filename, row.content)
    view = views.invoice_view(row, username=account.username, include_file=include_file)
    view["unsignedFile"] = views.b64(unsigned)
    view["signed"] = signed
    return view


def received_invoice(
    session: Session, account: Account, filename: str | None, invoice_id: int | None
) -> ArubaInvoice:
    query = records.owned_by(account, records.IN)
    if filename is not None:
        query = query.where(ArubaInvoice.filename == filename)
    if invoice_id is not None:
        query = query.where(ArubaInvoice.id == invoice_id)
    row: ArubaInvoice | None = session.execute(query.limit(1)).scalar_one_or_none()
    if row is None:
        wanted = " and ".join(
            part
            for part in (
                f"filename {filename}" if filename is not None else "",
                f"id {invoice_id}" if invoice_id is not None else "",
            )
            if part
        )
        raise NotFound(f"No received invoice with {wanted}")
    return row


def unsigned_content(filename: str, content: bytes) -> tuple[bool, bytes | None]:
    """(signed, the invoice without its signature); an unsigned file is its own unsigned content."""
    if filename.lower().endswith(".p7m"):
        try:
            return True, unwrap_p7m(content)
        except SignatureError:
            return True, None
    try:
        root = parse_xml(content)
    except ValueError:
        return False, content
    signatures = root.findall(f"{{{DS_NS}}}Signature")
    if not signatures:
        return False, content
    for signature in signatures:
        root.remove(signature)
    return True, etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# -- request bodies --------------------------------------------------------------------------------


def empty_ok() -> Response:
    """200 without a body (and without a content type), as a Spring ``ResponseEntity<Void>``."""
    response = Response(b"", status=200)
    del response.headers["Content-Type"]
    return response
