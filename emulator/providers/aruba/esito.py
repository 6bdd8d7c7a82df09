"""sendEsitoCommittente (§10.1): the account answers a received PA invoice, EC01 (accepted) or EC02.

The body's fields are all mandatory (``descrizione`` excepted: "Description to be entered in the
result, if any" — missing, null or empty, the EC has no Descrizione). They are read as Jackson
binds them: text fields take any JSON scalar, ``sdiId`` (Long), ``anno`` and ``posizione``
(Integer) take a number or a numeric string, ``esito`` is an enum of EC01/EC02. What cannot be bound
is Spring's 400 "JSON parse error: ..."; a missing field is a 400 "Validation failed ...".

Aruba writes the EC file from the fields (``<invoice>_EC_001.xml.p7m``, CAdES-signed, as the
EC of §12.2's example) and sends it to the SDI, which checks it at once (over SDICoop the SDI's
answer to an esito carries its scarto synchronously):

- the SDI accepts it: the supplier gets the NE, the invoice becomes "Accettata" / "Rifiutata" (the
  row keeps ``esito``/``esito_at``) and the pending DT becomes moot → 200 with no body and no
  Content-Type (a Spring ``ResponseEntity<Void>``).
- the SDI discards it with a ScartoEsitoCommittente (SE): EN00 when the EC breaks the format
  (``messageId`` longer than 14 characters, ``numero`` not 1–20 ASCII characters, ``posizione``
  below 1, ``anno`` negative), EN01 when it is not admissible (the terms ran out — the DT was
  already sent —, an esito was already accepted, ``numero``/``anno``/``posizione`` do not name an
  invoice of the file). The EC and the SE stay in the account's received notifications → 500.

"If successful, HTTP status code 200 is returned, otherwise HTTP status code 500" (§10.1): every
refusal, Aruba's or the SDI's, is a 500 with Spring's error body, whose ``message`` says exactly
why — for a scarto, its code, its note and the SE's file name. Aruba's own refusals, before any
EC is written: the account has no received invoice with that ``filename`` (unknown, or another
account's), ``sdiId`` is not that invoice's IdentificativoSdI, the invoice is not addressed to a
public administration (FPR12: the B2B flow has no esito), ``numero``/``descrizione``/``messageId``
hold characters an XML file cannot carry (NUL, control characters).

Limitations: ``descrizione`` longer than 255 characters is cut to 255 (Descrizione_Type) when the
EC is written, rather than discarded. An esito answers the whole file: for a batch of several
invoices, the first esito accepted decides the file's state and a second one is discarded as
already given. The EC is signed with the sandbox's key (the only one it has).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, SandboxError
from emulator.core.tenancy import Account
from emulator.providers.aruba import records
from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.engine import EsitoCommittente, EsitoOutcome
from emulator.sdi.lifecycle import Flow

if TYPE_CHECKING:
    from emulator.state import Sandbox

REQUEST_TYPE = "EsitoCommittenteRequest"
ESITI = ("EC01", "EC02")
JAVA_LONG = ("java.lang.Long", "long", -(2**63), 2**63 - 1)
JAVA_INT = ("java.lang.Integer", "int", -(2**31), 2**31 - 1)
# Field: its Java type; None = String.
FIELDS: dict[str, tuple[str, str, int, int] | None] = {
    "filename": None,
    "sdiId": JAVA_LONG,
    "esito": None,
    "numero": None,
    "anno": JAVA_INT,
    "posizione": JAVA_INT,
    "descrizione": None,
    "messageId": None,
}
OPTIONAL = frozenset({"descrizione"})
# What XML 1.0 cannot carry: Aruba could not write such a value into the EC file.
NOT_IN_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class EsitoNotSent(SandboxError):
    """Any refusal of sendEsitoCommittente: the document's "otherwise HTTP status code 500"."""

    status = 500
    code = "esito_not_sent"


@dataclass(frozen=True)
class EsitoRequest:
    filename: str
    sdi_id: int
    esito: str
    numero: str
    anno: int
    posizione: int
    descrizione: str | None
    message_id: str


def send_esito_committente(
    sandbox: Sandbox, session: Session, account: Account, payload: Any
) -> EsitoOutcome:
    wanted = esito_request(payload)
    for name, value in (
        ("numero", wanted.numero),
        ("descrizione", wanted.descrizione),
        ("messageId", wanted.message_id),
    ):
        if value is not None and NOT_IN_XML.search(value):
            raise EsitoNotSent(f"Il campo {name} contiene caratteri non ammessi in un file XML")
    row = _received_row(session, account, wanted.filename)
    invoice = row.invoice
    if invoice is None:
        raise EsitoNotSent(f"La fattura {row.filename} non è stata recapitata dal SdI")
    if invoice.sdi_id != wanted.sdi_id:
        raise EsitoNotSent(
            f"sdiId {wanted.sdi_id} non corrisponde alla fattura {row.filename} "
            f"(IdentificativoSdI {invoice.sdi_id})"
        )
    if Flow(invoice.flow) is not Flow.PA:
        raise EsitoNotSent(
            f"L'esito committente è previsto solo per le fatture verso la Pubblica Amministrazione (FPA12): "
            f"la fattura {row.filename} è {invoice.versione or 'FPR12'}"
        )
    now = sandbox.clock.now()
    outcome = sandbox.engine.send_esito(
        session,
        invoice,
        EsitoCommittente(
            esito=wanted.esito,
            number=wanted.numero,
            year=wanted.anno,
            position=wanted.posizione,
            description=wanted.descrizione or None,
            message_id=wanted.message_id,
        ),
        at=now,
    )
    if outcome.accepted:
        row.esito, row.esito_at, row.updated_at = wanted.esito, now, now
    return outcome


def raise_if_discarded(outcome: EsitoOutcome) -> None:
    """The 500 of an esito the SDI discarded (call it once the EC and the SE are committed)."""
    if outcome.scarto is None:
        return
    raise EsitoNotSent(
        f"Esito committente scartato dal SdI ({outcome.scarto.code}): {outcome.scarto.note} "
        f"[notifica di scarto {outcome.reply.file_name}]"
    )


def _received_row(session: Session, account: Account, filename: str) -> ArubaInvoice:
    query = records.owned_by(account, records.IN).where(ArubaInvoice.filename == filename)
    row: ArubaInvoice | None = session.execute(query.limit(1)).scalar_one_or_none()
    if row is None:
        raise EsitoNotSent(f"Fattura ricevuta non trovata: {filename}")
    return row


# -- the request body, as Jackson binds it ---------------------------------------------------------


def esito_request(payload: Any) -> EsitoRequest:
    enums = {"esito": ("EsitoCommittente", ESITI)}
    values = bind(payload, REQUEST_TYPE, FIELDS, enums=enums, optional=OPTIONAL)
    return EsitoRequest(
        filename=values["filename"],
        sdi_id=values["sdiId"],
        esito=values["esito"],
        numero=values["numero"],
        anno=values["anno"],
        posizione=values["posizione"],
        descrizione=values["descrizione"],
        message_id=values["messageId"],
    )


def bind(
    payload: Any,
    request_type: str,
    fields: Mapping[str, tuple[str, str, int, int] | None],
    *,
    enums: Mapping[str, tuple[str, tuple[str, ...]]] | None = None,
    optional: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A JSON body bound to a Java request object with ``@NotNull`` fields (shared with the simulator).

    ``fields`` gives each field's Java number type (None = String); ``enums`` the enum type and the
    values of the fields that are Java enums. Unknown fields are ignored, as Spring Boot's Jackson does.
    """
    if not isinstance(payload, dict):
        raise _parse_error(f"Cannot deserialize value of type `{request_type}` from {_token(payload)}")
    values: dict[str, Any] = {}
    for name, java in fields.items():
        raw = payload.get(name)
        values[name] = None if raw is None else _text(raw) if java is None else _number(raw, java)
    for name, (enum_type, allowed) in (enums or {}).items():
        if values[name] is not None and values[name] not in allowed:
            raise _parse_error(
                f'Cannot deserialize value of type `{enum_type}` from String "{values[name]}": '
                f"not one of the values accepted for Enum class: [{', '.join(allowed)}]"
            )
    missing = [name for name in fields if values[name] is None and name not in optional]
    if missing:
        details = "; ".join(f"field '{name}': must not be null" for name in missing)
        raise BadRequest(
            f"Validation failed for object='{request_type[0].lower() + request_type[1:]}'. "
            f"Error count: {len(missing)}; {details}",
            code="validation_failed",
        )
    return values


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str | int | float):
        return str(raw)
    raise _parse_error(f"Cannot deserialize value of type `java.lang.String` from {_token(raw)}")


def _number(raw: Any, java: tuple[str, str, int, int]) -> int:
    name, primitive, low, high = java
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _parse_error(f"Cannot deserialize value of type `{name}` from {_token(raw)}")
    if isinstance(raw, str):
        text = raw.strip()
        if not text.lstrip("+-").isdigit() or not text.isascii() or text.count("-") + text.count("+") > 1:
            raise _parse_error(
                f'Cannot deserialize value of type `{name}` from String "{raw}": not a valid `{name}` value'
            )
        value = int(text)
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            raise _parse_error(f"Cannot deserialize value of type `{name}` from {_token(raw)}")
        value = int(raw)  # Jackson's ACCEPT_FLOAT_AS_INT: the fraction is dropped
    else:
        value = raw
    if not low <= value <= high:
        raise _parse_error(f"Numeric value ({raw}) out of range of {primitive} ({low} - {high})")
    return value


def _token(raw: Any) -> str:
    if isinstance(raw, list):
        return "Array value (token `JsonToken.START_ARRAY`)"
    if isinstance(raw, dict):
        return "Object value (token `JsonToken.START_OBJECT`)"
    if isinstance(raw, bool):
        return f"Boolean value (token `JsonToken.VALUE_{str(raw).upper()}`)"
    if isinstance(raw, str):
        return f'String value ("{raw}")'
    if isinstance(raw, float):
        return f"Floating-point value ({raw})"
    if isinstance(raw, int):
        return f"Integer value ({raw})"
    return "Null value"


def _parse_error(detail: str) -> BadRequest:
    return BadRequest(f"JSON parse error: {detail}", code="json_parse_error")
