"""The sandbox's signing identity and the signed envelopes of the SDI world.

* ``SandboxSigner`` holds an RSA key and a self-signed certificate. It signs SDI messages with an
  enveloped XMLDSig (``ds:Signature`` as the last child of the root, as MessaggiTypes requires) and
  wraps files in a CAdES-BES attached p7m (CMS SignedData with the ESS signingCertificateV2).
* ``unwrap_p7m`` / ``verify_p7m`` read the p7m variants integrators actually receive: DER, BER with
  indefinite lengths and chunked content (the official sample), base64 with or without line breaks
  or PEM armour, and base64 applied twice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import weakref
from collections.abc import Callable
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import cms, core, tsp  # importing tsp also registers signingCertificateV2 on cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

from emulator.core.xmlsafe import parse_xml

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
P7M_ENCODINGS = ("der", "ber", "base64", "base64x2")
BER_CHUNK = 1000  # the official BER sample splits its content in 1000-byte OCTET STRINGs
CERTIFICATE_YEARS = 10
KEY_SIZE = 2048

SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sandbox"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "fattura-sandbox"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Sistema di Interscambio Sandbox"),
    ]
)

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_MAX_BASE64_LAYERS = 3
_MAX_NESTED_ENVELOPES = 4
_PEM_ARMOUR = re.compile(rb"-----(BEGIN|END)[^-]*-----")


class SignatureError(ValueError):
    """A p7m that is not a SignedData with attached content, or whose signature does not verify."""


class SandboxSigner:
    """The sandbox's own signing identity: an RSA 2048 key with a self-signed X.509 certificate."""

    def __init__(self, key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
        if key.public_key().public_numbers() != _rsa_public_key(certificate).public_numbers():
            raise ValueError("the private key does not belong to the certificate")
        self._key = key
        self._certificate = certificate
        self._asn1_certificate = asn1_x509.Certificate.load(
            certificate.public_bytes(serialization.Encoding.DER)
        )

    # -- identity ----------------------------------------------------------------------------------

    @classmethod
    def generate(cls, now: datetime) -> SandboxSigner:
        """A fresh key and certificate valid for ten years from ``now`` (backdated a day for clock skew)."""
        start = _aware(now)
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        return cls(key, _self_signed(key, start))

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes) -> SandboxSigner:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the sandbox signer needs an RSA private key")
        return cls(key, x509.load_pem_x509_certificate(cert_pem))

    def to_pem(self) -> tuple[bytes, bytes]:
        """(private key as unencrypted PKCS#8 PEM, certificate PEM)."""
        key_pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return key_pem, self.certificate_pem

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def certificate_pem(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    # -- XMLDSig -----------------------------------------------------------------------------------

    def sign_xml(self, root: etree._Element) -> etree._Element:
        """A signed copy of ``root``: enveloped RSA-SHA256, exclusive c14n, ``ds:Signature`` last."""
        signer = XMLSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        signer.namespaces = {"ds": DS_NS}
        signed: etree._Element = signer.sign(_with_placeholder(root), key=self._key, cert=[self._certificate])
        return _signature_last(signed)

    def verify_xml(self, data: bytes, *, at: datetime | None = None) -> bool:
        """Whether ``data`` carries a valid enveloped signature of this signer over the whole document.

        ``at`` is the instant the certificate must be valid at; by default the certificate's own start,
        so that documents signed in virtual time still verify.
        """
        when = _aware(at) if at is not None else self._certificate.not_valid_before_utc
        config = SignatureConfiguration(expect_references=1, verification_time=when)
        try:
            root = parse_xml(data)
            result = XMLVerifier().verify(data, x509_cert=self._certificate, expect_config=config)
        except (SignXMLException, InvalidSignature, ValueError, etree.LxmlError):
            return False
        signed = result.signed_xml if not isinstance(result, list) else None
        return signed is not None and signed.tag == root.tag

    # -- CAdES p7m ---------------------------------------------------------------------------------

    def make_p7m(
        self, content: bytes, *, encoding: str = "der", signing_time: datetime | None = None
    ) -> bytes:
        """A CAdES-BES attached p7m of ``content``; ``encoding`` is one of ``P7M_ENCODINGS``."""
        if encoding not in P7M_ENCODINGS:
            raise ValueError(f"unknown p7m encoding {encoding!r}; expected one of {', '.join(P7M_ENCODINGS)}")
        when = _aware(signing_time) if signing_time is not None else datetime.now(UTC)
        signed_data = self._signed_data(content, when)
        info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        if encoding == "ber":
            return _ber_content_info(info, content)
        der: bytes = info.dump()
        if encoding == "der":
            return der
        text = _base64_lines(der)
        return text if encoding == "base64" else _base64_lines(text)

    def _signed_data(self, content: bytes, when: datetime) -> cms.SignedData:
        attributes = self._signed_attributes(content, when)
        signature = self._key.sign(attributes.dump(), padding.PKCS1v15(), hashes.SHA256())
        certificate = self._asn1_certificate
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                            {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
                        )
                    }
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": attributes,
                "signature_algorithm": {"algorithm": "rsassa_pkcs1v15", "parameters": core.Null()},
                "signature": signature,
            }
        )
        return cms.SignedData(
            {
                "version": "v1",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "encap_content_info": {"content_type": "data", "content": content},
                "certificates": [certificate],
                "signer_infos": [signer_info],
            }
        )

    def _signed_attributes(self, content: bytes, when: datetime) -> cms.CMSAttributes:
        time_choice = "utc_time" if when.year < 2050 else "general_time"
        return cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
                cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({time_choice: when})]}),
                cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
                cms.CMSAttribute({"type": "signing_certificate_v2", "values": [self._ess_certificate()]}),
            ]
        )

    def _ess_certificate(self) -> tsp.SigningCertificateV2:
        certificate = self._asn1_certificate
        issuer = asn1_x509.GeneralName({"directory_name": certificate.issuer})
        cert_id = tsp.ESSCertIDv2(
            {
                "cert_hash": hashlib.sha256(certificate.dump()).digest(),
                "issuer_serial": {"issuer": [issuer], "serial_number": certificate.serial_number},
            }
        )
        return tsp.SigningCertificateV2({"certs": [cert_id]})


# -- certificate helpers ---------------------------------------------------------------------------


def _aware(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def _rsa_public_key(certificate: x509.Certificate) -> rsa.RSAPublicKey:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the sandbox certificate must carry an RSA key")
    return key


def _self_signed(key: rsa.RSAPrivateKey, start: datetime) -> x509.Certificate:
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(SUBJECT)
        .issuer_name(SUBJECT)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - timedelta(days=1))
        .not_valid_after(start + timedelta(days=round(365.25 * CERTIFICATE_YEARS)))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_signing_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _signing_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _with_placeholder(root: etree._Element) -> etree._Element:
    """A copy of ``root`` ending with signxml's signature placeholder, declared with its own ``ds`` prefix.

    Without it signxml appends a bare ``ds:Signature`` and lxml rebinds it to whatever prefix the root
    already declares for xmldsig (``ns2`` on the B2B messages), unlike the real files.
    """
    copy = deepcopy(root)
    etree.SubElement(copy, f"{{{DS_NS}}}Signature", nsmap={"ds": DS_NS}, Id="placeholder")
    return copy


def _signature_last(root: etree._Element) -> etree._Element:
    """Move the enveloped ``ds:Signature`` to the end of ``root`` if the signer put it elsewhere."""
    signatures = root.findall(f"{{{DS_NS}}}Signature")
    if signatures and root[-1] is not signatures[-1]:
        signature = signatures[-1]
        root.remove(signature)
        root.append(signature)
    return root


# -- p7m encodings ---------------------------------------------------------------------------------


def _base64_lines(data: bytes) -> bytes:
    """Base64 with CRLF every 76 characters, as the p7m files produced by Italian signing tools."""
    text = base64.b64encode(data)
    return b"".join(text[i : i + 76] + b"\r\n" for i in range(0, len(text), 76))


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _indefinite(tag: int, *parts: bytes) -> bytes:
    return bytes([tag, 0x80]) + b"".join(parts) + b"\x00\x00"


def _chunked_octets(content: bytes) -> bytes:
    chunks = [content[i : i + BER_CHUNK] for i in range(0, len(content), BER_CHUNK)] or [b""]
    return _indefinite(0x24, *(b"\x04" + _der_length(len(chunk)) + chunk for chunk in chunks))


def _ber_content_info(info: cms.ContentInfo, content: bytes) -> bytes:
    """The same ContentInfo as BER, like the official sample: indefinite lengths on the outer
    constructed types and the encapsulated content as a constructed OCTET STRING of chunks."""
    signed_data = info["content"]
    encapsulated = signed_data["encap_content_info"]
    encap = _indefinite(
        0x30, encapsulated["content_type"].dump(), _indefinite(0xA0, _chunked_octets(content))
    )
    body = _indefinite(
        0x30,
        signed_data["version"].dump(),
        signed_data["digest_algorithms"].dump(),
        encap,
        signed_data["certificates"].dump(),
        signed_data["signer_infos"].dump(),
    )
    return _indefinite(0x30, info["content_type"].dump(), _indefinite(0xA0, body))


# -- reading p7m -----------------------------------------------------------------------------------


def unwrap_p7m(data: bytes) -> bytes:
    """The content signed in a p7m (DER, BER, base64 with or without breaks/armour, base64 twice).

    Nested envelopes (a p7m signed again) are opened down to the innermost content.
    Raises ``SignatureError`` for anything that is not a SignedData with attached content.
    """
    content = data
    for signed in _envelopes(data):
        content = _attached_content(signed)
    return content


def verify_p7m(data: bytes) -> bytes:
    """Like ``unwrap_p7m``, and every signature must verify against its embedded certificate."""
    content = data
    for signed in _envelopes(data):
        content = _attached_content(signed)
        _verify_signers(signed, content)
    return content


def _envelopes(data: bytes) -> list[cms.SignedData]:
    envelopes = [_load_signed_data(_binary(data))]
    for _ in range(_MAX_NESTED_ENVELOPES):
        inner = _attached_content(envelopes[-1])
        if not inner.startswith(b"\x30"):
            break
        try:
            envelopes.append(_load_signed_data(inner))
        except SignatureError:
            break
    return envelopes


def _binary(data: bytes) -> bytes:
    for _ in range(_MAX_BASE64_LAYERS):
        if data[:1] == b"\x30":
            return data
        data = _decode_base64(data)
    if data[:1] == b"\x30":
        return data
    raise SignatureError("not a p7m: no CMS structure found (neither DER/BER nor base64 of one)")


def _decode_base64(data: bytes) -> bytes:
    text = data.removeprefix(b"\xef\xbb\xbf")
    text = b"".join(_PEM_ARMOUR.sub(b"", text).split())
    if not text:
        raise SignatureError("not a p7m: empty content")
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("not a p7m: neither CMS nor base64") from exc


def _load_signed_data(der: bytes) -> cms.SignedData:
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            raise SignatureError(f"not a p7m: CMS content type is {info['content_type'].native}")
        signed: cms.SignedData = info["content"]
        signed.native  # noqa: B018 - forces the lazy parser, so malformed input fails here
    except SignatureError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise SignatureError(f"not a p7m: malformed CMS ({exc})") from exc
    return signed


def _attached_content(signed: cms.SignedData) -> bytes:
    content = signed["encap_content_info"]["content"]
    value = None if isinstance(content, core.Void) else content.native
    if value is None:
        raise SignatureError("the p7m has no attached content (detached signature)")
    if not isinstance(value, bytes):
        value = content.contents
    return bytes(value)


def _verify_signers(signed: cms.SignedData, content: bytes) -> None:
    signer_infos = signed["signer_infos"]
    if len(signer_infos) == 0:
        raise SignatureError("the p7m has no signer")
    certificates = _embedded_certificates(signed)
    for signer_info in signer_infos:
        _verify_signer(signer_info, certificates, content)


def _embedded_certificates(signed: cms.SignedData) -> list[asn1_x509.Certificate]:
    choices = signed["certificates"]
    if isinstance(choices, core.Void):
        return []
    return [choice.chosen for choice in choices if choice.name == "certificate"]


def _verify_signer(
    signer_info: cms.SignerInfo, certificates: list[asn1_x509.Certificate], content: bytes
) -> None:
    certificate = _signer_certificate(signer_info["sid"], certificates)
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise SignatureError(f"unsupported digest algorithm {digest_name}")
    attributes = signer_info["signed_attrs"]
    if isinstance(attributes, core.Void) or len(attributes) == 0:
        signed_bytes = content
    else:
        if _message_digest(attributes) != hashlib.new(digest_name, content).digest():
            raise SignatureError("the message digest does not match the signed content")
        signed_bytes = b"\x31" + attributes.dump()[1:]  # the DER SET OF, not the [0] IMPLICIT tag
    _check_signature(signer_info, certificate, signed_bytes, digest_name)


def _signer_certificate(sid: cms.SignerIdentifier, certificates: list[asn1_x509.Certificate]) -> Any:
    for certificate in certificates:
        if sid.name == "issuer_and_serial_number":
            chosen = sid.chosen
            if (
                certificate.issuer == chosen["issuer"]
                and certificate.serial_number == chosen["serial_number"].native
            ):
                return certificate
        elif sid.name == "subject_key_identifier" and certificate.key_identifier == sid.chosen.native:
            return certificate
    raise SignatureError("the signer's certificate is not embedded in the p7m")


def _message_digest(attributes: cms.CMSAttributes) -> bytes:
    for attribute in attributes:
        if attribute["type"].native == "message_digest":
            return bytes(attribute["values"][0].native)
    raise SignatureError("the signed attributes have no message-digest")


def _check_signature(
    signer_info: cms.SignerInfo, certificate: asn1_x509.Certificate, signed_bytes: bytes, digest_name: str
) -> None:
    algorithm = signer_info["signature_algorithm"]
    try:
        hash_name = algorithm.hash_algo
    except ValueError:
        hash_name = digest_name
    if hash_name not in _HASHES:
        raise SignatureError(f"unsupported signature hash {hash_name}")
    chosen_hash = _HASHES[hash_name]()
    public_key = serialization.load_der_public_key(certificate.public_key.dump())
    signature = bytes(signer_info["signature"].native)
    try:
        _verify_with(public_key, algorithm, signature, signed_bytes, chosen_hash)
    except InvalidSignature as exc:
        raise SignatureError("the p7m signature does not verify") from exc


def _verify_with(
    public_key: Any, algorithm: Any, signature: bytes, signed_bytes: bytes, chosen_hash: hashes.HashAlgorithm
) -> None:
    kind = algorithm.signature_algo
    if isinstance(public_key, rsa.RSAPublicKey) and kind == "rsassa_pkcs1v15":
        public_key.verify(signature, signed_bytes, padding.PKCS1v15(), chosen_hash)
    elif isinstance(public_key, rsa.RSAPublicKey) and kind == "rsassa_pss":
        salt = algorithm["parameters"]["salt_length"].native
        pss = padding.PSS(mgf=padding.MGF1(chosen_hash), salt_length=salt)
        public_key.verify(signature, signed_bytes, pss, chosen_hash)
    elif isinstance(public_key, ec.EllipticCurvePublicKey) and kind == "ecdsa":
        public_key.verify(signature, signed_bytes, ec.ECDSA(chosen_hash))
    else:
        raise SignatureError(f"unsupported signature algorithm {algorithm['algorithm'].native}")


# -- content signed when read ----------------------------------------------------------------------

# The signer of each database, keyed by its engine's pool (shared by the engine's option copies, such
# as the store's read-only one); a Sandbox registers its own.
_SIGNERS: weakref.WeakKeyDictionary[Pool, Callable[[], SandboxSigner]] = weakref.WeakKeyDictionary()
_XML_PROLOG = re.compile(rb"\A<\?xml[^>]*\?>\n?")
_SIGNATURE = re.compile(rb"<(?:[\w.-]+:)?Signature[\s>].*\Z", re.S)


def register_signer(engine: Engine, signer: Callable[[], SandboxSigner]) -> None:
    """How to get the signer of ``engine``'s database (called when a notification needs it)."""
    _SIGNERS[engine.pool] = signer


def signer_of(engine: Engine | Connection) -> SandboxSigner:
    try:
        signer = _SIGNERS[engine.engine.pool]
    except KeyError:
        raise LookupError("no sandbox signer is registered for this database") from None
    return signer()


def unsigned_bytes(content: bytes) -> bytes:
    """A signed message without its enveloped ``ds:Signature`` (the inverse of ``client_bytes``)."""
    found = _SIGNATURE.search(content)
    if found is None:
        return content
    closing = content[found.start() :].rsplit(b"</", 1)[1]
    return content[: found.start()] + b"</" + closing


def client_bytes(content: bytes, signed: bool, signer: SandboxSigner) -> bytes:
    """The bytes a client sees of a stored SDI message: ``content`` itself when stored signed, else
    signed now — deterministic (RSA PKCS#1 v1.5, no timestamp), so every read gives the same bytes
    as signing at creation would have."""
    if signed:
        return content
    prolog = _XML_PROLOG.match(content)
    head = prolog.group(0) if prolog else b""
    root = parse_xml(content[len(head) :])
    return head + etree.tostring(signer.sign_xml(root), encoding="UTF-8", xml_declaration=False)


def client_bytes_for(engine: Engine | Connection | None, content: bytes, signed: bool | None) -> bytes:
    """``client_bytes`` with the signer registered for ``engine`` (for Core readers)."""
    if signed is None or signed:
        return content
    if engine is None:
        raise LookupError("an unsigned SDI message read without a database to find its signer")
    return client_bytes(content, False, signer_of(engine))
