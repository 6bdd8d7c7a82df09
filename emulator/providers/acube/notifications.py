"""A-Cube's SDI notifications (``GET /invoices/{uuid}/notifications``, ``GET /notifications/{uuid}``)
and the sandbox's simulation calls (``POST /simulate/invoices/{uuid}/notifications``,
``POST /simulate/supplier-invoices``).

A notification is an SDI message of one of the account's invoices: those addressed to the supplier
(RC, NS, MC, NE, AT, DT) on a sent invoice, those of the recipient (MT, DT, EC, SE) on a received
one. Its JSON (contract's Notification) carries ``message``: the SDI XML converted to JSON, element
names in snake_case (``IdentificativoSdI`` is ``identificativo_sdi``), every value a string as
written in the file, a ``Lista...`` element (``ListaErrori``) a list of its entries; the XML
signature is left out. ``created_at`` is the instant the SDI emitted it, Rome time.

Decisions (the contract's "Inferred" points):

- Simulating a notification is strict about the lifecycle: the SDI emits the given type only when
  the invoice's current state allows it directly (no RC is emitted on the way to an NE or DT), so
  NE or DT before RC, NS after RC, NE/DT/AT on a B2B invoice, anything on a draft, an invoice received
  from a supplier or not yet handed to the SDI is 409 "Notification X not allowed: the invoice is
  <marking>". Pending SDI plans for the invoice are dropped (``SdiEngine.force``).
- The request body is checked as API Platform checks one (400 with ``violations``); unknown keys
  are refused, so that a typo (``esito`` for ``outcome``) is not silently ignored.
- A simulated supplier invoice goes through the control API's incoming-invoice delivery
  (``control.service.create_incoming``): the invoice is generated, or the given ``xml``, signed
  when asked with the account's p7m encoding, and delivered by the SDI at once (RC + MT); the MT
  files it as the account's received invoice. ``recipient`` may carry an ``IT`` prefix.
- ``downloaded`` of a notification is always false: no call marks a notification downloaded.

Limitations: the XML form of an EC (the recipient's own signed ``.xml.p7m`` file) is its unwrapped
XML.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.control import service as control
from emulator.core.errors import Conflict, NotFound
from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.acube import records
from emulator.providers.acube.convert import snake_case
from emulator.providers.acube.draft_models import AcubeDraft
from emulator.providers.acube.models import AcubeInvoice
from emulator.providers.acube.service import InvalidInput, get_invoice, invoice_view
from emulator.sdi.fatturapa import NotAnInvoiceError, parse_invoice
from emulator.sdi.lifecycle import Event, Flow, State, is_allowed
from emulator.sdi.models import SdiInvoice, SdiNotification
from emulator.sdi.signing import SignatureError, unwrap_p7m
from emulator.sdi.validation import ERROR_CATALOGUE, SdiError, describe
from emulator.state import Sandbox

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
KEY_OVERRIDES = {"IdentificativoSdI": "identificativo_sdi"}
SIMULATED_TYPES = ("NS", "RC", "MC", "NE", "DT", "AT")
OUTCOMES = ("EC01", "EC02")
EVENT_OF_TYPE = {"NS": Event.NS, "RC": Event.RC, "MC": Event.MC, "DT": Event.DT, "AT": Event.AT}
EVENT_OF_OUTCOME = {"EC01": Event.NE_EC01, "EC02": Event.NE_EC02}
PA_ONLY_TYPES = frozenset({"NE", "DT", "AT"})
NOTIFICATION_FIELDS = frozenset({"type", "outcome", "errors"})
SUPPLIER_INVOICE_FIELDS = frozenset({"recipient", "xml", "signed"})
NOT_A_CHOICE = "The value you selected is not a valid choice."
NOT_FOUND = "Not Found"


# -- reading --------------------------------------------------------------------------------------


def notification_view(row: AcubeInvoice, notification: SdiNotification) -> dict[str, Any]:
    """The contract's Notification: ids, type, SDI file name and the message as JSON."""
    return {
        "uuid": records.notification_uuid(notification),
        "invoice_uuid": row.uuid,
        "type": notification.type,
        "created_at": records.rome(notification.emitted_at),
        "file_name": notification.file_name,
        "message": message_json(notification),
        "downloaded": False,
    }


def list_notifications(session: Session, account: Account, reference: str) -> list[dict[str, Any]]:
    row = get_invoice(session, account, reference)
    return [notification_view(row, n) for n in records.notifications_of(row)]


def find_notification(
    session: Session, account: Account, reference: str
) -> tuple[AcubeInvoice, SdiNotification]:
    """The account's notification whose uuid is ``reference`` (404 otherwise)."""
    wanted = reference.strip().lower()
    query = (
        select(AcubeInvoice, SdiNotification)
        .join(SdiNotification, SdiNotification.invoice_id == AcubeInvoice.invoice_id)
        .where(AcubeInvoice.account_id == account.id)
        .order_by(SdiNotification.id)
    )
    for row, notification in session.execute(query).tuples():
        mine = notification.audience == records.AUDIENCE[row.type]
        if mine and records.notification_uuid(notification) == wanted:
            return row, notification
    raise NotFound(NOT_FOUND)


def notification_xml(notification: SdiNotification) -> bytes:
    """The SDI message file as XML (a signed ``.p7m``, the recipient's EC, unwrapped)."""
    content = notification.content
    if _looks_like_xml(content):
        return content
    try:
        return unwrap_p7m(content)
    except SignatureError:
        return content


def message_json(notification: SdiNotification) -> dict[str, Any]:
    """The SDI message as JSON: snake_case keys, string values, ``Lista*`` as lists, no signature."""
    try:
        root = parse_xml(notification_xml(notification))
    except ValueError:
        return {}
    value = _element_json(root)
    return value if isinstance(value, dict) else {}


def _looks_like_xml(content: bytes) -> bool:
    return content.lstrip().removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"<")


def _element_json(element: etree._Element) -> Any:
    children = [
        child for child in element if isinstance(child.tag, str) and etree.QName(child).namespace != DS_NS
    ]
    if not children:
        return (element.text or "").strip()
    if etree.QName(element).localname.startswith("Lista"):
        return [_element_json(child) for child in children]
    result: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child).localname
        key = KEY_OVERRIDES.get(name) or snake_case(name)
        value = _element_json(child)
        if key not in result:
            result[key] = value
        elif isinstance(result[key], list):
            result[key].append(value)
        else:
            result[key] = [result[key], value]
    return result


# -- simulating an SDI notification ----------------------------------------------------------------


def simulate_notification(
    sandbox: Sandbox, session: Session, account: Account, reference: str, read_body: Callable[[], object]
) -> dict[str, Any]:
    """The SDI emits the requested notification for a sent invoice now → the Notification.

    ``read_body`` gives the request body once the invoice is found (a 404 comes before a 400).
    """
    row = records.find(session, account, reference)
    if row is None:
        if not _is_draft(session, account, reference):
            raise NotFound(NOT_FOUND)
        kind = _simulation_request(read_body())[0]
        raise Conflict(f"Notification {kind} not allowed: the invoice is draft", code="invalid_transition")
    kind, event, errors = _simulation_request(read_body())
    invoice = _allowing(row, kind, event)
    notification = sandbox.engine.force(session, invoice, event, errors)
    return notification_view(row, notification)


def _is_draft(session: Session, account: Account, reference: str) -> bool:
    query = select(AcubeDraft.id).where(AcubeDraft.account_id == account.id, AcubeDraft.uuid == reference)
    return session.execute(query).first() is not None


def _simulation_request(payload: object) -> tuple[str, Event, list[SdiError]]:
    if not isinstance(payload, Mapping):
        raise InvalidInput("", 'The body must be a JSON object like {"type": "RC"}.')
    _no_other_fields(payload, NOTIFICATION_FIELDS)
    kind = payload.get("type")
    if kind not in SIMULATED_TYPES:
        raise InvalidInput("type", f"{NOT_A_CHOICE} Choose one of: {', '.join(SIMULATED_TYPES)}.")
    # A field given as null is given (and invalid), as API Platform reads a typed property.
    outcome = payload.get("outcome")
    if "outcome" in payload and kind != "NE":
        raise InvalidInput("outcome", "outcome can only be given for type NE.")
    if kind == "NE":
        outcome = "EC01" if "outcome" not in payload else outcome
        if outcome not in OUTCOMES:
            raise InvalidInput("outcome", f"{NOT_A_CHOICE} Choose one of: {', '.join(OUTCOMES)}.")
        event = EVENT_OF_OUTCOME[outcome]
    else:
        event = EVENT_OF_TYPE[kind]
    raw_errors = payload.get("errors")
    if "errors" in payload and kind != "NS":
        raise InvalidInput("errors", "errors can only be given for type NS.")
    if "errors" in payload and raw_errors is None:
        raise InvalidInput("errors", 'errors must be a non-empty list like [{"code": "00305"}].')
    return kind, event, _errors(raw_errors)


def _errors(raw: object) -> list[SdiError]:
    """NS errors: SDI codes of the catalogue, each with its description unless one is given."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("errors", 'errors must be a non-empty list like [{"code": "00305"}].')
    result = []
    for index, item in enumerate(raw):
        code = item.get("code") if isinstance(item, Mapping) else None
        if not isinstance(code, str) or code not in ERROR_CATALOGUE:
            raise InvalidInput(
                f"errors[{index}].code",
                f"Unknown SDI error code {code!r}; known codes: {', '.join(sorted(ERROR_CATALOGUE))}.",
            )
        error = describe(code)
        description = item.get("description")
        if "description" in item:
            if not isinstance(description, str) or not description.strip():
                raise InvalidInput(
                    f"errors[{index}].description", "The description must be a non-empty string."
                )
            error = SdiError(code=code, description=description.strip(), suggestion=error.suggestion)
        result.append(error)
    return result


def _allowing(row: AcubeInvoice, kind: str, event: Event) -> SdiInvoice:
    """The SDI's invoice when its state lets the SDI emit ``event`` directly; 409 otherwise."""
    refused = f"Notification {kind} not allowed: "
    if row.type == records.RECEIVED:
        raise Conflict(refused + "the invoice was received from a supplier", code="invalid_transition")
    invoice = row.invoice
    if invoice is None:
        raise Conflict(
            refused + f"the invoice is {records.marking_of(row)}; the SDI does not have it yet",
            code="invalid_transition",
        )
    flow = Flow(invoice.flow)
    if not is_allowed(State(invoice.state), event, flow):
        reason = refused + f"the invoice is {records.marking_of(row)}"
        if flow is Flow.B2B and kind in PA_ONLY_TYPES:
            reason += f"; {kind} exists only for an invoice to a public administration"
        raise Conflict(reason, code="invalid_transition")
    return invoice


# -- simulating a supplier invoice -----------------------------------------------------------------


def simulate_supplier_invoice(
    sandbox: Sandbox, session: Session, account: Account, payload: object
) -> dict[str, Any]:
    """The SDI delivers an invoice from a supplier to ``recipient`` → the received Invoice."""
    if not isinstance(payload, Mapping):
        raise InvalidInput("", 'The body must be a JSON object like {"recipient": "<VAT number>"}.')
    _no_other_fields(payload, SUPPLIER_INVOICE_FIELDS)
    recipient = _recipient(account, payload.get("recipient"))
    signed = payload.get("signed", False)
    if not isinstance(signed, bool):
        raise InvalidInput("signed", "signed must be true or false.")
    request: dict[str, Any] = {"recipient": recipient, "signed": signed}
    xml = payload.get("xml")
    if "xml" in payload:
        _check_xml(xml, recipient)
        request["xml"] = xml
    delivered = control.create_incoming(sandbox, session, request)["invoices"][0]
    query = (
        records.owned_by(account)
        .join(SdiInvoice, AcubeInvoice.invoice_id == SdiInvoice.id)
        .where(AcubeInvoice.type == records.RECEIVED, SdiInvoice.sdi_id == delivered["sdi_id"])
    )
    row: AcubeInvoice | None = session.execute(query).scalar_one_or_none()
    if row is None:  # the MT files it for the account that owns the recipient: this one
        raise NotFound(NOT_FOUND)
    return invoice_view(row, sandbox.config.xsd_dir)


def _recipient(account: Account, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("recipient", "recipient must be a VAT number or fiscal code of your account.")
    cleaned = value.strip().upper()
    if cleaned.startswith("IT") and cleaned[2:].isdigit():
        cleaned = cleaned[2:]
    if not account.owns(cleaned, cleaned):
        raise InvalidInput(
            "recipient", f"{value.strip()} is not a VAT number or fiscal code of your account."
        )
    return cleaned


def _check_xml(xml: object, recipient: str) -> None:
    """``xml`` is a FatturaPA invoice whose customer (CessionarioCommittente) is ``recipient``."""
    if not isinstance(xml, str) or not xml.strip():
        raise InvalidInput("xml", "xml must be a FatturaPA invoice as a string.")
    try:
        customer = parse_invoice(parse_xml(xml.encode("utf-8"))).customer
    except NotAnInvoiceError as exc:
        raise InvalidInput("xml", f"Not a FatturaPA invoice: {exc}") from None
    except ValueError as exc:
        raise InvalidInput("xml", f"The XML cannot be read: {exc}") from None
    ids = {value.upper() for value in (customer.vat, customer.fiscal_code) if value}
    if recipient not in ids:
        shown = ", ".join(sorted(ids)) or "(none)"
        raise InvalidInput("xml", f"The invoice's customer is {shown}, not the recipient {recipient}.")


def _no_other_fields(payload: Mapping[Any, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(str(key) for key in payload if key not in allowed)
    if unknown:
        raise InvalidInput(unknown[0], f"This field was not expected; allowed: {', '.join(sorted(allowed))}.")
