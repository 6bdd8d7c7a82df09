"""Openapi.it's ``state`` and ``details.sdi_status`` of an invoice, as a table over SDI notifications.

| moment / SDI message              | B2B (FPR12)            | PA (FPA12)               |
|-----------------------------------|------------------------|--------------------------|
| accepted by ``POST /IT-invoices`` | NEW / BOOKED           | NEW / BOOKED             |
| handed to the SDI (task)          | SENT / SENT            | SENT / SENT              |
| RC  ricevuta di consegna          | DONE / DELIVERED       | SENT / DELIVERED         |
| MC  mancata consegna              | DONE / NOT_DELIVERED   | (no change: SDI retries) |
| AT  attestazione (after a PA MC)  | —                      | DONE / NOT_DELIVERED     |
| NE  esito EC01                    | —                      | DONE / ACCEPTED          |
| NE  esito EC02                    | —                      | ERROR / REJECTED         |
| DT  decorrenza termini            | —                      | DONE / TERMS_EXPIRED     |
| NS  notifica di scarto            | ERROR / ERROR          | ERROR / ERROR            |
| received (MT, passive cycle)      | RECEIVED / RECEIVED    | RECEIVED / RECEIVED      |

The PA rule (the published document's "Special Case"): DELIVERED is not final for an FPA12
invoice, which stays SENT until the administration's answer (NE EC01 / EC02) or the 15-day term
(DT). A PA MC is not final either — the SDI keeps trying and an RC may still follow; the AT after
10 days is the PA's "not delivered", so the sandbox waits for it (the MC only updates
``sdi_message``). Only the supplier-side copies of the messages count (a DT also goes to the
recipient; that copy is ignored here).
"""

from __future__ import annotations

# Openapi's invoice states and SDI statuses.
NEW, SENT, RECEIVED, DONE, ERROR = "NEW", "SENT", "RECEIVED", "DONE", "ERROR"
STATES = (NEW, SENT, RECEIVED, DONE, ERROR)
BOOKED, DELIVERED, NOT_DELIVERED = "BOOKED", "DELIVERED", "NOT_DELIVERED"
ACCEPTED, REJECTED, TERMS_EXPIRED = "ACCEPTED", "REJECTED", "TERMS_EXPIRED"
SDI_ERROR = "ERROR"
SDI_STATUSES = (
    BOOKED, SENT, DELIVERED, NOT_DELIVERED, RECEIVED, ACCEPTED, REJECTED, TERMS_EXPIRED, SDI_ERROR,
)  # fmt: skip
FINAL_STATES = frozenset({DONE, ERROR, RECEIVED})

Transition = tuple[str, str]  # (state, sdi_status)

CREATED: Transition = (NEW, BOOKED)
HANDED_TO_SDI: Transition = (SENT, SENT)
INCOMING: Transition = (RECEIVED, RECEIVED)

# (SDI message, esito or None, is PA) -> (state, sdi_status); a missing key changes nothing.
TABLE: dict[tuple[str, str | None, bool], Transition] = {
    ("RC", None, False): (DONE, DELIVERED),
    ("RC", None, True): (SENT, DELIVERED),
    ("MC", None, False): (DONE, NOT_DELIVERED),
    ("AT", None, True): (DONE, NOT_DELIVERED),
    ("NE", "EC01", True): (DONE, ACCEPTED),
    ("NE", "EC02", True): (ERROR, REJECTED),
    ("DT", None, True): (DONE, TERMS_EXPIRED),
    ("NS", None, False): (ERROR, SDI_ERROR),
    ("NS", None, True): (ERROR, SDI_ERROR),
}


def after_notification(message_type: str, esito: str | None, is_pa: bool) -> Transition | None:
    """The (state, sdi_status) an outgoing invoice moves to on a supplier-side SDI message, or None."""
    key_esito = esito if message_type == "NE" else None
    return TABLE.get((message_type, key_esito, is_pa))
