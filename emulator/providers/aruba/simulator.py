"""The Exchange System simulation of Aruba's DEMO environment (§14): always available in the sandbox.

invoiceIn (§14.1): an invoice is generated (emulator.sdi.generator, a realistic invoice from an
invented supplier) for the given customer — ``countryReceiver`` and ``vatcodeReceiver``, and
``fiscalcodeReceiver`` as its CodiceFiscale when given —, handed to the SDI (channel "sdi") and
delivered at once (RC, with its MT). The answer echoes the request's fields as sent and adds the
generated ``invoiceFileName``.

Decisions:

- Where it lands: a sandbox account that owns the VAT number (or the fiscal code) gets it in its
  received box, whichever provider the account uses — the caller's own account first, then an
  Aruba account, then any other. No owner: the SDI delivers it outside the sandbox (the call still
  answers 201; no box shows it).
- Which invoice: to an owner with a PA office code (aruba/other), an FPA12 addressed to that office,
  so that an esito committente can be tried on it; otherwise an FPR12 to the owner's recipient code,
  or to Aruba's (KRRH6B9) when nobody owns the VAT; a foreign customer gets the code XXXXXXX.
- ``countryReceiver`` must be two letters (ISO 3166-1 alpha-2), ``vatcodeReceiver`` 1–28 letters or
  digits and ``fiscalcodeReceiver`` 11–16; an invoice the SDI would reject (e.g. an Italian VAT
  number with a wrong check digit: 00305) is a 400 that quotes the SDI's error.

notificationOut (§14.2): ``invoiceFileName`` must be one of the caller's sent invoices (Aruba's
file name) already handed to the SDI; the SDI emits ``notificationType`` for it at once, with
whatever must precede it (DT on a PA invoice still waiting for its RC emits the RC first; NE_EC01
and NE_EC02 are the NE with that esito) and drops what it had planned. The answer's
``notificationFileName`` is the SDI file of that notification (``IT..._RC_001.xml``; the
document's example "ITIT01879020517_aBcDe_448.xml" is a typo).

Errors: unknown file, or another account's → 404; the invoice not handed to the SDI yet ("Presa in
carico", "Errore Elaborazione") or a notification the lifecycle does not allow (a DT or an NE for a
B2B invoice, an NS after the RC, anything after an NS) → 400 with the reason; a
``notificationType`` outside the list → 400 as Spring's enum binding.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, NotFound
from emulator.core.tenancy import Account, account_owning
from emulator.providers.aruba import records
from emulator.providers.aruba.esito import bind
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.generator import GeneratedInvoice, InvoiceGenerator, PartySpec
from emulator.sdi.lifecycle import Event, InvalidTransition
from emulator.sdi.models import SdiInvoice

if TYPE_CHECKING:
    from emulator.state import Sandbox

ARUBA_RECIPIENT_CODE = "KRRH6B9"
FOREIGN_RECIPIENT_CODE = "XXXXXXX"
NOTIFICATION_TYPES = ("NS", "MC", "AT", "RC", "NE_EC01", "NE_EC02", "DT")
_COUNTRY_RE = re.compile(r"[A-Za-z]{2}")
_VAT_RE = re.compile(r"[A-Za-z0-9]{1,28}")
_FISCAL_CODE_RE = re.compile(r"[A-Za-z0-9]{11,16}")
_NAME_ATTEMPTS = 5


def simulate_invoice_in(sandbox: Sandbox, session: Session, account: Account, payload: Any) -> dict[str, Any]:
    fields = bind(
        payload,
        "InvoiceInSimulationRequest",
        {"countryReceiver": None, "vatcodeReceiver": None, "fiscalcodeReceiver": None},
        optional=frozenset({"fiscalcodeReceiver"}),
    )
    country, vat, fiscal_code = _receiver(fields)
    owner = _owner(session, account, country, vat, fiscal_code)
    invoice = _generated(
        sandbox, session, owner, PartySpec(vat=vat, fiscal_code=fiscal_code, country=country)
    )
    reception = sandbox.engine.deliver_incoming(
        session,
        file_name=invoice.file_name,
        content=invoice.xml,
        recipient_account_id=owner.id if owner is not None else None,
    )
    if reception.errors:
        summary = "; ".join(f"{e.code} {e.description}" for e in reception.errors)
        raise BadRequest(f"The SDI would reject an invoice to this customer: {summary}")
    return {
        "countryReceiver": fields["countryReceiver"],
        "vatcodeReceiver": fields["vatcodeReceiver"],
        "fiscalcodeReceiver": fields["fiscalcodeReceiver"],
        "invoiceFileName": reception.invoice.file_name,
    }


def simulate_notification_out(
    sandbox: Sandbox, session: Session, account: Account, payload: Any
) -> dict[str, Any]:
    fields = bind(
        payload,
        "NotificationOutSimulationRequest",
        {"invoiceFileName": None, "notificationType": None},
        enums={"notificationType": ("NotificationType", NOTIFICATION_TYPES)},
    )
    file_name, kind = fields["invoiceFileName"], fields["notificationType"]
    query = records.owned_by(account, records.OUT).where(ArubaInvoice.filename == file_name)
    row: ArubaInvoice | None = session.execute(query.limit(1)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No sent invoice with filename {file_name}")
    if row.invoice is None:
        raise BadRequest(
            f"The invoice {file_name} has not been sent to the SDI (status {records.status_of(row)}): "
            "no SDI notification can exist for it"
        )
    try:
        notification = sandbox.engine.force(session, row.invoice, Event(kind), [])
    except InvalidTransition as exc:
        raise BadRequest(f"Cannot simulate {kind} for {file_name}: {exc}") from None
    return {
        "invoiceFileName": row.filename,
        "notificationFileName": notification.file_name,
        "notificationType": kind,
    }


# -- invoiceIn -------------------------------------------------------------------------------------


def _receiver(fields: dict[str, Any]) -> tuple[str, str, str | None]:
    country, vat, fiscal_code = (
        fields["countryReceiver"],
        fields["vatcodeReceiver"],
        fields["fiscalcodeReceiver"],
    )
    if not _COUNTRY_RE.fullmatch(country):
        raise BadRequest(f"countryReceiver {country!r} is not a country code (ISO 3166-1 alpha-2, e.g. IT)")
    if not _VAT_RE.fullmatch(vat):
        raise BadRequest(f"vatcodeReceiver {vat!r} is not a VAT number (1 to 28 letters or digits)")
    if fiscal_code is not None and not _FISCAL_CODE_RE.fullmatch(fiscal_code):
        raise BadRequest(f"fiscalcodeReceiver {fiscal_code!r} is not a tax code (11 to 16 letters or digits)")
    return country.upper(), vat.upper(), fiscal_code.upper() if fiscal_code is not None else None


def _owner(
    session: Session, caller: Account, country: str, vat: str, fiscal_code: str | None
) -> Account | None:
    """The sandbox account the invoice is for: the caller if it is, else an Aruba account, else any."""
    if country != "IT":
        return None
    owners = account_owning(session, vat, fiscal_code)
    ranked = sorted(owners, key=lambda a: (a.id != caller.id, a.provider != records.PROVIDER, a.id))
    return ranked[0] if ranked else None


def _generated(
    sandbox: Sandbox, session: Session, owner: Account | None, customer: PartySpec
) -> GeneratedInvoice:
    pa = owner is not None and bool(owner.profile.get("pa_office_code"))
    if owner is not None:
        code = owner.profile.get("pa_office_code") if pa else owner.profile.get("recipient_code")
        customer = PartySpec(
            vat=customer.vat, fiscal_code=customer.fiscal_code, name=owner.profile.get("name")
        )
    else:
        code = ARUBA_RECIPIENT_CODE if customer.country == "IT" else FOREIGN_RECIPIENT_CODE
    generator = InvoiceGenerator(sandbox.ids.randint(0, 2**31))
    for _ in range(_NAME_ATTEMPTS):
        invoice = generator.generate(
            customer=customer, pa=pa, issue_date=sandbox.clock.now_rome().date(), recipient_code=code
        )
        if not _file_name_taken(session, invoice.file_name):
            return invoice
    return invoice  # the SDI answers 00002 for it: reported as a 400


def _file_name_taken(session: Session, name: str) -> bool:
    query = (
        select(func.count()).select_from(SdiInvoice).where(func.lower(SdiInvoice.file_name) == name.lower())
    )
    return bool(session.execute(query).scalar_one())
