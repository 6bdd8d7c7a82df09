"""Aruba's checks on an uploaded invoice (§7.5): synchronous ones answer the upload, asynchronous ones
decide, when the file is processed, whether it goes to the SDI ("Inviata") or stops ("Errore
Elaborazione").

Synchronous checks, in this order (the first failure answers): the automatic-signature credentials
(0012, ``upload`` only) → ``dataFile`` present (0002) → size (0033, 5 MB of decoded file) → base64
and a FatturaPA document (0002) → sandbox trigger → XSD (0092) → transmitter (0094) → issuer and
delegation (0093) → storage space (0097) → recent duplicate (0034); the last two are the service's
(``upload.py``). For ``uploadSigned`` the document checks run on the content of a p7m.

Asynchronous checks, in this order: empty content of a signed envelope (FATRSM401) → sandbox trigger
→ signature (FATRSM302; the p7m Aruba made itself always verifies) → supplier VAT and country
(FATRSM202) → issuer VAT is the account's (FATRSM205) → the extra-schema checks (FATRSM212,
``extra_checks``).

Decisions where the document is silent:

- Sandbox triggers: the text ``SANDBOX:ARUBA:<code>`` in any ``Causale`` forces that outcome, for the
  failures a client cannot otherwise cause. A synchronous code (0001, 0002, 0012, 0013, 0033, 0034,
  0093, 0094, 0095, 0097) answers the upload with it; an asynchronous one (FATRSM201, 202, 205, 208,
  217, 218, 302, 401, 403) makes the processing end in "Errore Elaborazione" with it. Other codes
  are ignored. The SDI's own triggers (``SANDBOX:NS`` ...) are a different text and still apply.
- Transmitter (§7.1, 0094): IdTrasmittente must be IT 01879020517; ContattiTrasmittente may be left
  out, but a Telefono or Email given in it must be Aruba PEC's (05750505, info@arubapec.it).
- Issuer (§7.2): without SoggettoEmittente the issuer is the CedentePrestatore, with "CC" the
  CessionarioCommittente. Its VAT number (IdFiscaleIVA, IdPaese IT) must be one of the account's.
  If it is another Aruba account's, the upload is refused at once with 0093 (no delegation between
  sandbox accounts); if no Aruba account has it, the file is accepted and fails asynchronously with
  FATRSM205. "TZ" (a third party issues) is refused at once with 0093: the document says such a file
  is not accepted, and a third-party issuer would need a delegation the API cannot express.
- Automatic signature (0012): ``domain`` and ``credential`` are both optional; when either is given,
  the domain must be the account's username and the credential its password.
- Signatures (FATRSM302): a p7m must verify against the certificate it embeds, an XML must carry an
  enveloped ``ds:Signature`` (XAdES) that verifies against its own X509Certificate. Trust in the
  certificate and its validity period are not checked (the sandbox has no list of qualified CAs).
- ``upload`` refuses an already signed p7m with 0002: the operation takes an unsigned XML.
- ``dataFile`` is read as MIME base64: line breaks and spaces are skipped and missing padding is
  tolerated; any other character is 0002. A refusal's errorDescription is the table's message alone
  (the request id follows "Operazione effettuata" only). The 0002 variant about ``emailnotifica``
  does not apply: neither operation has that field.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.verifier import SignatureConfiguration, XMLVerifier
from sqlalchemy import select
from sqlalchemy.orm import Session

from emulator.core.tenancy import Account
from emulator.core.xmlsafe import parse_xml
from emulator.providers.aruba.extra_checks import extra_schema_error
from emulator.sdi.fatturapa import (
    FSM_NS,
    NotAnInvoiceError,
    ParsedInvoice,
    Party,
    child,
    parse_invoice,
    root_name,
    text,
)
from emulator.sdi.signing import DS_NS, SignatureError, unwrap_p7m, verify_p7m
from emulator.sdi.validation import (
    SdiValidator,
    load_fatturapa_schema,
    load_fsm_schema,
    schema_error,
    structural_error,
)

PROVIDER = "aruba"
MAX_FILE_BYTES = 5 * 1024 * 1024  # §3: maximum sent file size
ARUBA_TRANSMITTER = ("IT", "01879020517")  # §7.1
ARUBA_PHONE = "05750505"
ARUBA_EMAIL = "info@arubapec.it"

# §7.5.1, code -> message (0000 is the success message, followed by " - <request id>").
SYNC_MESSAGES: dict[str, str] = {
    "0000": "Operazione effettuata",
    "0001": "Errore imprevisto generico",
    "0002": "Errore parametri in input: dataFile, formato fattura errato o non presente",
    "0012": "Errore di autenticazione al sistema",
    "0013": "Errore in fase di salvataggio dati",
    "0033": "Il file inviato supera la dimensione massima",
    "0034": "File già inviato di recente",
    "0092": "Errore in validazione XSD: ",
    "0093": "Errore deleghe non valide",
    "0094": (
        "La fattura che stai inviando contiene ID e/o contatti dei trasmittenti differenti dai dati "
        "dell’intermediario Aruba PEC."
    ),
    "0095": (
        "Servizio momentaneamente non disponibile. Il controllo dei permessi è fallito. "
        "Si prega di riprovare più tardi."
    ),
    "0097": "Spazio esaurito o non sufficiente, è necessario effettuare un aumento di spazio.",
}
# §7.5.2: the full message a file in "Errore Elaborazione" shows as its statusDescription.
ASYNC_MESSAGES: dict[str, str] = {
    "FATRSM201": (
        "FATRSM201 - Errore nella validazione formale della Fattura verificare il file XML, "
        "contattare l’assistenza"
    ),
    "FATRSM202": "FATRSM202 - Partita IVA o Paese del Cedente/Prestatore non presente",
    "FATRSM205": "FATRSM205 - Partita IVA non associato ad un utente Aruba",
    "FATRSM208": "FATRSM208 - User non trovata contattare l’assistenza",
    "FATRSM212": "FATRSM212 - Errore di validazione: ",
    "FATRSM217": "FATRSM217 - User non trovata contattare l’assistenza",
    "FATRSM218": "FATRSM218 - Delega non trovata contattare l’assistenza",
    "FATRSM302": "FATRSM302 - Verifica della firma o firma errata in fattura",
    "FATRSM401": "FATRSM401 - File xml vuoto, contattare l’assistenza",
    "FATRSM403": "FATRSM403 - Utenza ARUBA disabilitata, contattare l’assistenza",
}
SYNC_TRIGGERS = frozenset(SYNC_MESSAGES) - {"0000", "0092"}
ASYNC_TRIGGERS = frozenset(ASYNC_MESSAGES) - {"FATRSM212"}
TRIGGER_RE = re.compile(r"SANDBOX:ARUBA:(?P<code>FATRSM\d{3}|\d{4})")


class SyncCheckFailed(Exception):
    """A synchronous check refused the upload: HTTP 200 with this errorCode and errorDescription."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.description = SYNC_MESSAGES[code] + detail

    def response(self) -> dict[str, str | None]:
        return {"errorCode": self.code, "errorDescription": self.description, "uploadFileName": None}


@dataclass(frozen=True)
class UploadedInvoice:
    """What the synchronous checks read from an upload: the XML inside it, parsed (None: empty envelope)."""

    root: etree._Element | None
    parsed: ParsedInvoice | None


# -- synchronous ------------------------------------------------------------------------------------


def check_signature_credentials(account: Account, credential: str | None, domain: str | None) -> None:
    """0012: the automatic signature's domain and credential, when given, are the account's login."""
    if not credential and not domain:
        return
    if domain != account.username or credential != account.password:
        raise SyncCheckFailed("0012")


def decode_data_file(data_file: str | None) -> bytes:
    """0002 when missing, empty or not base64; 0033 above 5 MB (judged before decoding)."""
    if data_file is None or not data_file.strip():
        raise SyncCheckFailed("0002")
    compact = "".join(data_file.split())
    if len(compact) * 3 // 4 - compact[-2:].count("=") > MAX_FILE_BYTES:
        raise SyncCheckFailed("0033")
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SyncCheckFailed("0002") from None
    if not data:
        raise SyncCheckFailed("0002")
    if len(data) > MAX_FILE_BYTES:
        raise SyncCheckFailed("0033")
    return data


def signed_content(data: bytes) -> tuple[bool, bytes]:
    """(True, the signed content) for a p7m (DER, BER or base64), else (False, the data itself)."""
    try:
        return True, unwrap_p7m(data)
    except SignatureError:
        return False, data


def read_invoice(xml: bytes) -> tuple[etree._Element, ParsedInvoice]:
    """0002 unless the bytes are a well-formed FatturaElettronica (or FatturaElettronicaSemplificata)."""
    try:
        root = parse_xml(xml, max_bytes=MAX_FILE_BYTES)
        return root, parse_invoice(root)
    except (ValueError, NotAnInvoiceError):
        raise SyncCheckFailed("0002") from None


def check_invoice(xml: bytes, xsd_dir: Path | None) -> UploadedInvoice:
    """The checks on the document itself: format (0002), trigger, XSD (0092), transmitter (0094)."""
    root, parsed = read_invoice(xml)
    code = trigger(parsed)
    if code in SYNC_TRIGGERS:
        raise SyncCheckFailed(code)
    problem = schema_problem(root, xsd_dir)
    if problem is not None:
        raise SyncCheckFailed("0092", problem)
    check_transmitter(root, parsed)
    return UploadedInvoice(root, parsed)


def trigger(parsed: ParsedInvoice) -> str | None:
    """The code of the first ``SANDBOX:ARUBA:<code>`` in a Causale, if any."""
    for body in parsed.bodies:
        for causale in body.causale:
            match = TRIGGER_RE.search(causale.upper())
            if match:
                return match.group("code")
    return None


def schema_problem(root: etree._Element, xsd_dir: Path | None) -> str | None:
    """lxml's first complaint against the schema the SDI uses (the structural check without one)."""
    if xsd_dir is None:
        return structural_error(root)
    namespace, _ = root_name(root)
    schema = load_fsm_schema(xsd_dir) if namespace == FSM_NS else load_fatturapa_schema(xsd_dir)
    if schema is None:
        return structural_error(root)
    return schema_error(schema, root)


def check_transmitter(root: etree._Element, parsed: ParsedInvoice) -> None:
    """0094 (§7.1): IdTrasmittente is Aruba PEC's; ContattiTrasmittente, if given, are Aruba PEC's."""
    transmitter = parsed.transmitter
    if (transmitter.country, transmitter.vat) != ARUBA_TRANSMITTER:
        raise SyncCheckFailed("0094")
    contacts = child(root, "FatturaElettronicaHeader", "DatiTrasmissione", "ContattiTrasmittente")
    phone, email = text(contacts, "Telefono"), text(contacts, "Email")
    if phone is not None and phone != ARUBA_PHONE:
        raise SyncCheckFailed("0094")
    if email is not None and email.lower() != ARUBA_EMAIL:
        raise SyncCheckFailed("0094")


def issuer(parsed: ParsedInvoice) -> Party | None:
    """§7.2: who issues the invoice (None for "TZ", which Aruba does not accept)."""
    role = (parsed.issuer_role or "").upper()
    if role == "TZ":
        return None
    return parsed.customer if role == "CC" else parsed.supplier


def issuer_vat(parsed: ParsedInvoice) -> str | None:
    party = issuer(parsed)
    if party is None or party.country != "IT" or not party.vat:
        return None
    return party.vat.upper()


def owns_vat(account: Account, vat: str | None) -> bool:
    return vat is not None and vat in {str(v).upper() for v in account.vat_numbers}


def check_delegation(session: Session, account: Account, parsed: ParsedInvoice) -> None:
    """0093: the issuer is a third party ("TZ") or another Aruba account (no delegation)."""
    if issuer(parsed) is None:
        raise SyncCheckFailed("0093")
    vat = issuer_vat(parsed)
    if vat is None or owns_vat(account, vat):
        return
    others = session.execute(
        select(Account).where(Account.provider == PROVIDER, Account.id != account.id)
    ).scalars()
    if any(owns_vat(other, vat) for other in others):
        raise SyncCheckFailed("0093")


# -- asynchronous -----------------------------------------------------------------------------------


def signature_verified(file_name: str, content: bytes) -> bool:
    """FATRSM302 unless the file's signature verifies (CAdES for ``.p7m``, XAdES for ``.xml``)."""
    if file_name.lower().endswith(".p7m"):
        try:
            verify_p7m(content)
        except SignatureError:
            return False
        return True
    return xades_verified(content)


_XML_SIGNATURE_METHODS = frozenset(m for m in SignatureMethod if not m.name.startswith("HMAC"))


def xades_verified(xml: bytes) -> bool:
    """An enveloped ``ds:Signature`` of the root that verifies against its embedded certificate."""
    try:
        root = parse_xml(xml, max_bytes=MAX_FILE_BYTES)
    except ValueError:
        return False
    signature = root.find(f"{{{DS_NS}}}Signature")
    encoded = signature.findtext(f".//{{{DS_NS}}}X509Certificate") if signature is not None else None
    if not encoded:
        return False
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode("".join(encoded.split())))
        config = SignatureConfiguration(
            location="./",
            expect_references=True,
            signature_methods=_XML_SIGNATURE_METHODS,
            digest_algorithms=frozenset(DigestAlgorithm),
            verification_time=certificate.not_valid_before_utc,
        )
        results = XMLVerifier().verify(xml, x509_cert=certificate, expect_config=config)
    except Exception:  # signxml, cryptography and lxml errors alike: the signature does not verify
        return False
    verified = results if isinstance(results, list) else [results]
    return any(getattr(r.signed_xml, "tag", None) == root.tag for r in verified)


def processing_failure(
    validator: SdiValidator, account: Account | None, file_name: str, content: bytes, at: datetime
) -> str | None:
    """The statusDescription of a file that fails the asynchronous checks at ``at``; None if it passes."""
    if account is None:
        return ASYNC_MESSAGES["FATRSM208"]
    xml = content
    if file_name.lower().endswith(".p7m"):
        try:
            xml = unwrap_p7m(content)
        except SignatureError:
            return ASYNC_MESSAGES["FATRSM302"]
    if not xml.strip():
        return ASYNC_MESSAGES["FATRSM401"]
    try:
        root, parsed = read_invoice(xml)
    except SyncCheckFailed:
        return ASYNC_MESSAGES["FATRSM201"]
    code = trigger(parsed)
    if code in ASYNC_TRIGGERS:
        return ASYNC_MESSAGES[code]
    if not signature_verified(file_name, content):
        return ASYNC_MESSAGES["FATRSM302"]
    if not parsed.supplier.vat or not parsed.supplier.country:
        return ASYNC_MESSAGES["FATRSM202"]
    if not owns_vat(account, issuer_vat(parsed)):
        return ASYNC_MESSAGES["FATRSM205"]
    error = extra_schema_error(validator, file_name, xml, root, parsed, at)
    return ASYNC_MESSAGES["FATRSM212"] + error if error else None
