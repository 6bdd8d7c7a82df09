"""The sandbox's own operations behind /_sandbox: no Flask here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emulator import __version__
from emulator.core import webhooks
from emulator.core.errors import BadRequest, Conflict, NotFound
from emulator.core.ids import base36
from emulator.core.tenancy import Account, account_owning, accounts_of
from emulator.core.xmlsafe import parse_xml
from emulator.sdi.fatturapa import NotAnInvoiceError, parse_invoice
from emulator.sdi.generator import DOCUMENT_TYPES, InvoiceGenerator, PartySpec
from emulator.sdi.lifecycle import Event, InvalidTransition
from emulator.sdi.models import SdiInvoice
from emulator.sdi.notifications import MessageType
from emulator.sdi.signing import P7M_ENCODINGS
from emulator.sdi.validation import ERROR_CATALOGUE, SdiError, describe
from emulator.state import Sandbox

MAX_INCOMING = 100
# Virtual time stops well before datetime's year 9999, so every delay counted from "now" still fits.
END_OF_TIME = datetime(9000, 1, 1, tzinfo=UTC)


def health(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": __version__,
        "now": sandbox.clock.now().isoformat(),
        "providers": list(sandbox.provider_names),
        "xsd_validation": sandbox.config.xsd_dir is not None,
    }


def clock_view(sandbox: Sandbox) -> dict[str, Any]:
    return {"now": sandbox.clock.now().isoformat(), "frozen": sandbox.clock.frozen}


def advance_clock(sandbox: Sandbox, payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict) or "advance_seconds" not in payload:
        raise BadRequest('The body must be {"advance_seconds": N} with N >= 0')
    seconds = payload["advance_seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds != seconds:
        raise BadRequest("advance_seconds must be a number of seconds")
    if seconds < 0:
        raise BadRequest("Virtual time only moves forward: advance_seconds must be >= 0")
    if seconds > 100 * 365 * 86400:
        raise BadRequest("advance_seconds is limited to 100 years")
    if sandbox.clock.now() + timedelta(seconds=seconds) >= END_OF_TIME:
        raise Conflict(
            f"Virtual time cannot move beyond {END_OF_TIME.date().isoformat()}", code="end_of_time"
        )
    now, processed = sandbox.advance_clock(float(seconds))
    return {"now": now.isoformat(), "frozen": sandbox.clock.frozen, "events_processed": processed}


def list_accounts(session: Session) -> dict[str, Any]:
    return {"accounts": [a.public_view() for a in accounts_of(session)]}


ACCOUNT_SETTINGS = ("p7m_encoding", "callback_url", "callback_api_key")
CALLBACK_SETTINGS = {"callback_url": webhooks.check_callback_url, "callback_api_key": webhooks.check_api_key}


def update_account(session: Session, provider: str, tenant: str, payload: Any) -> dict[str, Any]:
    """PATCH an account's sandbox settings: how its signed incoming invoices are encoded, and where
    its provider's callbacks go (``callback_url``, ``callback_api_key``; null removes one).

    The providers with a retry policy make callbacks: Aruba posts each method to
    ``<callback_url>/<method>``, A-Cube each webhook event to ``<callback_url>/<event>``
    (supplier-invoice, customer-invoice, customer-notification: A-Cube has one URL per event)."""
    account = session.execute(
        select(Account).where(Account.provider == provider, Account.tenant == tenant)
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(f"No sandbox account {provider}/{tenant}")
    if not isinstance(payload, dict) or not payload:
        raise BadRequest(
            'The body must be a JSON object like {"p7m_encoding": "ber"} or '
            '{"callback_url": "http://localhost:9000/hooks", "callback_api_key": "secret"}'
        )
    unknown = sorted(set(payload) - set(ACCOUNT_SETTINGS))
    if unknown:
        raise BadRequest(
            f"Unknown setting(s): {', '.join(unknown)}; only p7m_encoding, callback_url and "
            "callback_api_key can be changed"
        )
    changes: dict[str, Any] = {}
    if "p7m_encoding" in payload:
        if payload["p7m_encoding"] not in P7M_ENCODINGS:
            raise BadRequest(f"p7m_encoding must be one of {', '.join(P7M_ENCODINGS)}")
        changes["p7m_encoding"] = payload["p7m_encoding"]
    for key, check in CALLBACK_SETTINGS.items():
        if key not in payload:
            continue
        if account.provider not in webhooks.RETRY_POLICIES:
            raise BadRequest(
                f"The sandbox makes no callbacks for {account.provider} accounts: {key} cannot be set"
            )
        try:
            changes[key] = None if payload[key] is None else check(payload[key])
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
    # A new dict, so that SQLAlchemy sees the JSON column change.
    account.profile = {**account.profile, **changes}
    return account_view(account)


def account_view(account: Account) -> dict[str, Any]:
    """The account as the control API shows it, with its callback settings."""
    return {
        **account.public_view(),
        "callback_url": account.profile.get("callback_url"),
        "callback_api_key": account.profile.get("callback_api_key"),
    }


# -- callbacks ------------------------------------------------------------------------------------


CALLBACK_FILTERS = ("provider", "tenant", "status", "event")


def list_callbacks(session: Session, query: Mapping[str, str]) -> dict[str, Any]:
    """Every callback delivery (webhook) the sandbox made or owes, oldest first, filtered."""
    filters = {key: query[key] for key in CALLBACK_FILTERS if key in query}
    status = filters.get("status")
    if status is not None and status not in webhooks.STATUSES:
        raise BadRequest(f"status must be one of {', '.join(webhooks.STATUSES)}")
    deliveries = webhooks.find_deliveries(session, **filters)
    return {"callbacks": [webhooks.delivery_view(d) for d in deliveries]}


def get_callback(session: Session, reference: str) -> dict[str, Any]:
    delivery = (
        webhooks.find_delivery(session, int(reference))
        if reference.isascii() and reference.isdigit() and len(reference) <= 19
        else None
    )
    if delivery is None:
        raise NotFound(f"No callback {reference}")
    return webhooks.delivery_view(delivery)


# -- incoming invoices -----------------------------------------------------------------------


def _recipient(session: Session, fiscal_id: Any) -> tuple[Account, str]:
    if not isinstance(fiscal_id, str) or not fiscal_id.strip():
        raise BadRequest("recipient must be the fiscal id (P.IVA or codice fiscale) of a sandbox account")
    cleaned = fiscal_id.strip().upper()
    if cleaned.startswith("IT") and cleaned[2:].isdigit():
        cleaned = cleaned[2:]
    owners = account_owning(session, cleaned, cleaned)
    if not owners:
        raise NotFound(f"No sandbox account owns the fiscal id {fiscal_id}")
    return owners[0], cleaned


def create_incoming(sandbox: Sandbox, session: Session, payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise BadRequest('The body must be a JSON object like {"recipient": "<fiscal id>", "count": 1}')
    account, fiscal_id = _recipient(session, payload.get("recipient"))
    count = payload.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_INCOMING:
        raise BadRequest(f"count must be an integer between 1 and {MAX_INCOMING}")
    signed = payload.get("signed", False)
    if not isinstance(signed, bool):
        raise BadRequest("signed must be true or false")
    encoding = payload.get("encoding", account.p7m_encoding)
    if encoding not in P7M_ENCODINGS:
        raise BadRequest(f"encoding must be one of {', '.join(P7M_ENCODINGS)}")
    xml = payload.get("xml")
    if xml is not None and (not isinstance(xml, str) or not xml.strip()):
        raise BadRequest("xml must be the invoice as a string")
    wanted = _wanted_invoice(payload, account)
    if xml is not None and wanted != _WantedInvoice():
        raise BadRequest("document_type and pa describe a generated invoice: they cannot go with xml")
    created = []
    generator = InvoiceGenerator(sandbox.ids.randint(0, 2**31))
    for _ in range(1 if xml else count):
        file_name, content = (
            _given_invoice(xml, session)
            if xml
            else _generated_invoice(sandbox, generator, account, fiscal_id, wanted)
        )
        if signed:
            content = sandbox.signer.make_p7m(content, encoding=encoding)
            file_name += ".p7m"
        delivered = _deliver(sandbox, session, account, file_name, content)
        created.append({**delivered, "signed": signed, "encoding": encoding if signed else None})
    return {"invoices": created}


@dataclass(frozen=True)
class _WantedInvoice:
    document_type: str | None = None
    pa: bool = False


def _wanted_invoice(payload: dict[str, Any], account: Account) -> _WantedInvoice:
    document_type = payload.get("document_type")
    if document_type is not None and document_type not in DOCUMENT_TYPES:
        raise BadRequest(f"document_type must be one of {', '.join(DOCUMENT_TYPES)}")
    pa = payload.get("pa", False)
    if not isinstance(pa, bool):
        raise BadRequest("pa must be true or false")
    if pa and not account.profile.get("pa_office_code"):
        raise BadRequest(
            f"The account {account.provider}/{account.tenant} has no PA office code: "
            "it cannot receive invoices to a public administration"
        )
    return _WantedInvoice(document_type=document_type, pa=pa)


def _generated_invoice(
    sandbox: Sandbox, generator: InvoiceGenerator, account: Account, fiscal_id: str, wanted: _WantedInvoice
) -> tuple[str, bytes]:
    is_vat = fiscal_id.isdigit() and len(fiscal_id) == 11
    customer = PartySpec(
        vat=fiscal_id if is_vat else None,
        fiscal_code=None if is_vat else fiscal_id,
        name=account.profile.get("name"),
    )
    code = account.profile.get("pa_office_code") if wanted.pa else account.profile.get("recipient_code")
    invoice = generator.generate(
        customer=customer,
        pa=wanted.pa,
        document_type=wanted.document_type,
        issue_date=sandbox.clock.now_rome().date(),
        recipient_code=code,
    )
    return invoice.file_name, invoice.xml


def _given_invoice(xml: str, session: Session) -> tuple[str, bytes]:
    content = xml.encode("utf-8")
    try:
        parsed = parse_invoice(parse_xml(content))
    except (ValueError, NotAnInvoiceError) as exc:
        raise BadRequest(f"xml is not a FatturaPA invoice: {exc}") from None
    country = parsed.transmitter.country or "IT"
    code = parsed.transmitter.vat or parsed.supplier.vat or "00000000000"
    progressive = (parsed.progressive or "00001")[:5]
    base = f"{country}{code}_{progressive}"
    taken = session.execute(
        select(func.count()).select_from(SdiInvoice).where(SdiInvoice.file_name.like(f"{base}%"))
    ).scalar_one()
    name = f"{base}.xml" if not taken else f"{country}{code}_{_suffix(taken)}.xml"
    return name, content


def _suffix(n: int) -> str:
    return ("Z" + base36(n))[-5:].rjust(5, "0")


def _deliver(
    sandbox: Sandbox, session: Session, account: Account, file_name: str, content: bytes
) -> dict[str, Any]:
    reception = sandbox.engine.deliver_incoming(
        session, file_name=file_name, content=content, recipient_account_id=account.id
    )
    if reception.errors:
        summary = "; ".join(f"{e.code} {e.description}" for e in reception.errors)
        raise BadRequest(
            f"The SDI would reject this invoice: {summary}", errors=[e.code for e in reception.errors]
        )
    invoice = reception.invoice
    metadata = next((n for n in invoice.notifications if n.type == MessageType.MT.value), None)
    return {
        "sdi_id": invoice.sdi_id,
        "file_name": invoice.file_name,
        "metadata_file_name": metadata.file_name if metadata else None,
        "received_at": invoice.received_at.isoformat(),
        "recipient": {"provider": account.provider, "tenant": account.tenant},
    }


# -- forced notifications -----------------------------------------------------------------------


def force_notification(
    sandbox: Sandbox, session: Session, payload: Any, resolvers: list[Any]
) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise BadRequest(
            'The body must be {"invoice": "<file name or id>", "type": "RC|NS|MC|AT|NE_EC01|NE_EC02|DT"}'
        )
    invoice = _find_invoice(session, payload.get("invoice"), resolvers)
    try:
        event = Event(str(payload.get("type", "")).upper())
    except ValueError:
        raise BadRequest("type must be one of " + ", ".join(e.value for e in Event)) from None
    errors = _forced_errors(payload.get("errors"), event)
    try:
        notification = sandbox.engine.force(session, invoice, event, errors)
    except InvalidTransition as exc:
        raise Conflict(str(exc), code="invalid_transition") from None
    return {
        "type": notification.type,
        "file_name": notification.file_name,
        "sdi_id": invoice.sdi_id,
        "invoice_file_name": invoice.file_name,
        "state": invoice.state,
        "emitted_at": notification.emitted_at.isoformat(),
    }


def _forced_errors(raw: Any, event: Event) -> list[SdiError]:
    if raw is None:
        return []
    if event is not Event.NS:
        raise BadRequest("errors can only be given for type NS")
    if not isinstance(raw, list) or not raw:
        raise BadRequest('errors must be a non-empty list like [{"code": "00305"}]')
    result = []
    for item in raw:
        code = item.get("code") if isinstance(item, dict) else None
        if not isinstance(code, str) or code not in ERROR_CATALOGUE:
            raise BadRequest(
                f"Unknown SDI error code {code!r}; known codes: {', '.join(sorted(ERROR_CATALOGUE))}"
            )
        error = describe(code)
        description = item.get("description")
        if isinstance(description, str) and description:
            error = SdiError(code=code, description=description, suggestion=error.suggestion)
        result.append(error)
    return result


def _find_invoice(session: Session, reference: Any, resolvers: list[Any]) -> SdiInvoice:
    if isinstance(reference, int) and not isinstance(reference, bool):
        reference = str(reference)
    if not isinstance(reference, str) or not reference.strip():
        raise BadRequest(
            "invoice must be the SDI file name, the IdentificativoSdI or a provider id of a sent invoice"
        )
    reference = reference.strip()
    matches = list(
        session.execute(
            select(SdiInvoice).where(func.lower(SdiInvoice.file_name) == reference.lower())
        ).scalars()
    )
    if not matches and reference.isdigit():
        matches = list(
            session.execute(select(SdiInvoice).where(SdiInvoice.sdi_id == int(reference))).scalars()
        )
    if not matches:
        for resolve in resolvers:
            matches.extend(resolve(session, reference))
    unique = {m.id: m for m in matches}
    if not unique:
        raise NotFound(f"No sent invoice matches {reference!r}")
    if len(unique) > 1:
        raise Conflict(
            f"{reference!r} matches {len(unique)} invoices: use the SDI file name", code="ambiguous"
        )
    return next(iter(unique.values()))
