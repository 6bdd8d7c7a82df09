from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, tsp
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.verifier import XMLVerifier

from emulator.sdi.signing import (
    DS_NS,
    P7M_ENCODINGS,
    SandboxSigner,
    SignatureError,
    unwrap_p7m,
    verify_p7m,
)

from .reference import B2B_REAL, OFFICIAL, read_sample

NOW = datetime.now(UTC).replace(microsecond=0)
CONTENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<p:FatturaElettronica xmlns:p="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2" '
    b'versione="FPR12">' + b"<Riga>caff\xc3\xa8 &amp; brioche</Riga>" * 300 + b"</p:FatturaElettronica>"
)
OFFICIAL_P7M = OFFICIAL / "IT01234567890_11111.xml.p7m"
B2B_P7M = B2B_REAL / "IT01234567890_FPR04.xml.p7m"
MESSAGE = (
    b'<types:RicevutaConsegna xmlns:types="http://www.fatturapa.gov.it/sdi/messaggi/v1.0" versione="1.0">\n'
    b"  <IdentificativoSdI>111</IdentificativoSdI>\n"
    b"  <NomeFile>IT01234567890_11111.xml.p7m</NomeFile>\n"
    b"  <MessageId>123456</MessageId>\n"
    b"</types:RicevutaConsegna>"
)


@pytest.fixture(scope="module")
def signer() -> SandboxSigner:
    return SandboxSigner.generate(NOW)


@pytest.fixture(scope="module")
def other_signer() -> SandboxSigner:
    return SandboxSigner.generate(NOW)


def _signed_bytes(signer: SandboxSigner, xml: bytes = MESSAGE) -> bytes:
    return etree.tostring(signer.sign_xml(etree.fromstring(xml)))


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _algorithm(signature: etree._Element, path: str) -> str | None:
    found = signature.find(path, {"ds": DS_NS})
    assert found is not None, path
    return found.get("Algorithm")


def _root_tag(xml: bytes) -> str:
    return _local(etree.fromstring(xml))


# -- identity --------------------------------------------------------------------------------------


def test_certificate_is_self_signed_sandbox_identity_valid_ten_years(signer: SandboxSigner) -> None:
    cert = signer.certificate
    assert cert.subject == cert.issuer
    names = {a.oid: a.value for a in cert.subject}
    assert names[NameOID.COMMON_NAME] == "Sistema di Interscambio Sandbox"
    assert names[NameOID.ORGANIZATIONAL_UNIT_NAME] == "fattura-sandbox"
    assert names[NameOID.ORGANIZATION_NAME] == "Sandbox"
    assert names[NameOID.COUNTRY_NAME] == "IT"
    assert cert.not_valid_before_utc <= NOW
    assert cert.not_valid_after_utc - NOW >= timedelta(days=3652)
    assert cert.not_valid_after_utc - NOW < timedelta(days=3654)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048


def test_pem_round_trip_keeps_the_identity(signer: SandboxSigner) -> None:
    key_pem, cert_pem = signer.to_pem()
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert cert_pem == signer.certificate_pem
    assert cert_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    restored = SandboxSigner.from_pem(key_pem, cert_pem)
    assert signer.verify_xml(_signed_bytes(restored))
    assert verify_p7m(restored.make_p7m(b"<x/>")) == b"<x/>"


def test_from_pem_refuses_a_key_of_another_certificate(
    signer: SandboxSigner, other_signer: SandboxSigner
) -> None:
    key_pem, _ = signer.to_pem()
    with pytest.raises(ValueError, match="does not belong"):
        SandboxSigner.from_pem(key_pem, other_signer.certificate_pem)


# -- XMLDSig ---------------------------------------------------------------------------------------


def test_signature_is_enveloped_last_child_with_ds_prefix(signer: SandboxSigner) -> None:
    root = etree.fromstring(MESSAGE)
    signed = signer.sign_xml(root)
    last = signed[-1]
    assert last.tag == f"{{{DS_NS}}}Signature"
    assert last.prefix == "ds"
    assert [_local(child) for child in list(signed)[:-1]] == ["IdentificativoSdI", "NomeFile", "MessageId"]
    assert len(root) == 3, "the input tree is left untouched"
    ns = {"ds": DS_NS}
    algorithms = {
        "c14n": _algorithm(last, "ds:SignedInfo/ds:CanonicalizationMethod"),
        "method": _algorithm(last, "ds:SignedInfo/ds:SignatureMethod"),
        "digest": _algorithm(last, ".//ds:DigestMethod"),
    }
    assert algorithms == {
        "c14n": "http://www.w3.org/2001/10/xml-exc-c14n#",
        "method": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "digest": "http://www.w3.org/2001/04/xmlenc#sha256",
    }
    transforms = [t.get("Algorithm") for t in last.iterfind(".//ds:Transform", ns)]
    assert "http://www.w3.org/2000/09/xmldsig#enveloped-signature" in transforms
    embedded = "".join((last.findtext(".//ds:X509Certificate", namespaces=ns) or "").split())
    assert base64.b64decode(embedded) == signer.certificate.public_bytes(Encoding.DER)


def test_signature_keeps_ds_prefix_when_root_binds_xmldsig_to_another_prefix(signer: SandboxSigner) -> None:
    xml = (
        b'<ns3:RicevutaConsegna xmlns:ns3="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fattura/messaggi/v1.0"'
        b' xmlns:ns2="http://www.w3.org/2000/09/xmldsig#" versione="1.0">'
        b"<IdentificativoSdI>1</IdentificativoSdI></ns3:RicevutaConsegna>"
    )
    data = _signed_bytes(signer, xml)
    assert b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">' in data
    assert b"ns2:Signature" not in data
    assert signer.verify_xml(data)


def test_signxml_verifier_accepts_the_signature_with_the_sandbox_certificate(signer: SandboxSigner) -> None:
    result = XMLVerifier().verify(_signed_bytes(signer), x509_cert=signer.certificate_pem.decode())
    assert not isinstance(result, list)
    assert result.signed_xml is not None
    assert _local(result.signed_xml) == "RicevutaConsegna"


def test_verify_xml_accepts_own_signature_and_rejects_tampering(
    signer: SandboxSigner, other_signer: SandboxSigner
) -> None:
    data = _signed_bytes(signer)
    assert signer.verify_xml(data)
    assert signer.verify_xml(data, at=NOW + timedelta(days=365))
    assert not signer.verify_xml(data.replace(b">111<", b">112<"))
    assert not signer.verify_xml(data, at=NOW + timedelta(days=365 * 11))
    assert not other_signer.verify_xml(data)
    assert not signer.verify_xml(MESSAGE)
    assert not signer.verify_xml(b"not xml at all")


def test_signing_is_fast(signer: SandboxSigner) -> None:
    root = etree.fromstring(MESSAGE)
    rounds = 20
    start = time.perf_counter()
    for _ in range(rounds):
        signer.sign_xml(root)
    assert (time.perf_counter() - start) / rounds < 0.05


# -- p7m: writing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", P7M_ENCODINGS)
def test_p7m_round_trip_in_every_encoding(signer: SandboxSigner, encoding: str) -> None:
    p7m = signer.make_p7m(CONTENT, encoding=encoding)
    assert unwrap_p7m(p7m) == CONTENT
    assert verify_p7m(p7m) == CONTENT


def test_p7m_encodings_differ_as_real_files_do(signer: SandboxSigner) -> None:
    when = NOW
    der = signer.make_p7m(CONTENT, encoding="der", signing_time=when)
    ber = signer.make_p7m(CONTENT, encoding="ber", signing_time=when)
    b64 = signer.make_p7m(CONTENT, encoding="base64", signing_time=when)
    b64x2 = signer.make_p7m(CONTENT, encoding="base64x2", signing_time=when)
    assert der[:2] == b"\x30\x82"
    assert ber != der
    assert base64.b64decode(b64) == der
    assert base64.b64decode(b64x2) == b64
    assert b64.startswith(b"MII")
    assert b64x2.startswith(b"TUl")


def test_ber_uses_indefinite_lengths_and_chunked_content(signer: SandboxSigner) -> None:
    ber = signer.make_p7m(CONTENT, encoding="ber")
    assert ber[:2] == b"\x30\x80", "outer ContentInfo SEQUENCE with indefinite length"
    assert b"\xa0\x80\x30\x80" in ber, "[0] EXPLICIT and SignedData indefinite"
    assert b"\x24\x80\x04\x82\x03\xe8" in ber, "constructed OCTET STRING in 1000-byte chunks"
    assert ber.endswith(b"\x00\x00" * 3)
    assert CONTENT not in ber, "the content is split, not stored in one piece"


def test_base64_has_crlf_lines_of_76(signer: SandboxSigner) -> None:
    text = signer.make_p7m(CONTENT, encoding="base64")
    lines = text.split(b"\r\n")
    assert lines[-1] == b""
    assert all(len(line) == 76 for line in lines[:-2])
    assert 0 < len(lines[-2]) <= 76
    assert b"\n" not in text.replace(b"\r\n", b"")


def test_cades_bes_signed_attributes(signer: SandboxSigner) -> None:
    when = datetime(2025, 3, 1, 10, 30, tzinfo=UTC)
    info = cms.ContentInfo.load(signer.make_p7m(CONTENT, signing_time=when))
    signed = info["content"]
    assert info["content_type"].native == "signed_data"
    assert signed["encap_content_info"]["content_type"].native == "data"
    assert len(signed["certificates"]) == 1
    signer_info = signed["signer_infos"][0]
    assert signer_info["digest_algorithm"]["algorithm"].native == "sha256"
    attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    assert set(attrs) == {"content_type", "signing_time", "message_digest", "signing_certificate_v2"}
    assert attrs["content_type"].native == "data"
    assert attrs["signing_time"].native == when
    assert attrs["message_digest"].native == hashlib.sha256(CONTENT).digest()
    ess = attrs["signing_certificate_v2"]
    assert isinstance(ess, tsp.SigningCertificateV2)
    cert_der = signed["certificates"][0].chosen.dump()
    assert ess["certs"][0]["cert_hash"].native == hashlib.sha256(cert_der).digest()


def test_make_p7m_refuses_unknown_encoding(signer: SandboxSigner) -> None:
    with pytest.raises(ValueError, match="encoding"):
        signer.make_p7m(CONTENT, encoding="pem")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@pytest.mark.parametrize("encoding", ["der", "ber"])
def test_openssl_verifies_the_p7m(signer: SandboxSigner, tmp_path: Path, encoding: str) -> None:
    source = tmp_path / "invoice.xml.p7m"
    source.write_bytes(signer.make_p7m(CONTENT, encoding=encoding))
    out = subprocess.run(
        ["openssl", "cms", "-verify", "-noverify", "-binary", "-inform", "DER", "-in", str(source)],
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == CONTENT


# -- p7m: reading ----------------------------------------------------------------------------------


def test_unwrap_accepts_the_base64_variants_integrators_receive(signer: SandboxSigner) -> None:
    der = signer.make_p7m(CONTENT)
    one_line = base64.b64encode(der)
    variants = {
        "one line": one_line,
        "lf lines": base64.encodebytes(der),
        "unpadded": one_line.rstrip(b"="),
        "pem armour": b"-----BEGIN PKCS7-----\r\n" + base64.encodebytes(der) + b"-----END PKCS7-----\r\n",
        "surrounding blanks": b"\r\n  " + one_line + b"\n\n",
        "utf-8 bom": b"\xef\xbb\xbf" + one_line,
        "double, one line": base64.b64encode(one_line),
        "double of ber": base64.b64encode(base64.b64encode(signer.make_p7m(CONTENT, encoding="ber"))),
    }
    for name, data in variants.items():
        assert unwrap_p7m(data) == CONTENT, name


def test_unwrap_opens_nested_envelopes(signer: SandboxSigner, other_signer: SandboxSigner) -> None:
    nested = other_signer.make_p7m(signer.make_p7m(CONTENT), encoding="ber")
    assert unwrap_p7m(nested) == CONTENT
    assert verify_p7m(nested) == CONTENT


def test_official_ber_sample_unwraps_to_an_invoice() -> None:
    data = read_sample(OFFICIAL_P7M)
    assert data[:2] == b"\x30\x80", "the official sample is BER with indefinite lengths"
    assert _root_tag(unwrap_p7m(data)) == "FatturaElettronica"
    assert _root_tag(verify_p7m(data)) == "FatturaElettronica"


def test_real_b2b_sample_unwraps_to_an_invoice() -> None:
    data = read_sample(B2B_P7M)
    assert data.startswith(b"MII"), "the real B2B sample is base64 text"
    assert _root_tag(unwrap_p7m(data)) == "FatturaElettronica"
    assert _root_tag(verify_p7m(data)) == "FatturaElettronica"


def test_reference_samples_unwrap_after_more_base64() -> None:
    official = read_sample(OFFICIAL_P7M)
    assert _root_tag(unwrap_p7m(base64.encodebytes(official))) == "FatturaElettronica"
    assert _root_tag(unwrap_p7m(base64.b64encode(read_sample(B2B_P7M)))) == "FatturaElettronica"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \r\n",
        MESSAGE,
        b"\x30\x03\x02\x01\x01",
        b"\x30\x80\x06\x09",
        bytes(range(256)),
        base64.b64encode(b"not asn.1 at all"),
    ],
    ids=["empty", "blank", "xml", "der-not-cms", "truncated-ber", "binary-noise", "base64-noise"],
)
def test_unwrap_refuses_what_is_not_a_p7m(data: bytes) -> None:
    with pytest.raises(SignatureError):
        unwrap_p7m(data)


def test_unwrap_refuses_other_cms_and_certificates(signer: SandboxSigner) -> None:
    digested = cms.ContentInfo({"content_type": "data", "content": b"plain"}).dump()
    cert_der = cms.ContentInfo.load(signer.make_p7m(CONTENT))["content"]["certificates"][0].chosen.dump()
    for data in (digested, cert_der):
        with pytest.raises(SignatureError):
            unwrap_p7m(data)


def test_unwrap_refuses_a_detached_signature(signer: SandboxSigner) -> None:
    signed = cms.ContentInfo.load(signer.make_p7m(CONTENT))["content"]
    detached = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": signed["digest_algorithms"],
            "encap_content_info": {"content_type": "data"},
            "certificates": signed["certificates"],
            "signer_infos": signed["signer_infos"],
        }
    )
    data = cms.ContentInfo({"content_type": "signed_data", "content": detached}).dump()
    with pytest.raises(SignatureError, match="detached"):
        unwrap_p7m(data)


def test_signature_error_is_a_value_error() -> None:
    assert issubclass(SignatureError, ValueError)


# -- p7m: tampering --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["der", "ber"])
def test_verify_p7m_detects_tampered_content(signer: SandboxSigner, encoding: str) -> None:
    p7m = signer.make_p7m(CONTENT, encoding=encoding)
    tampered = p7m.replace(b"brioche", b"briochE", 1)
    assert tampered != p7m
    assert unwrap_p7m(tampered) != CONTENT, "unwrapping alone does not check anything"
    with pytest.raises(SignatureError, match="digest"):
        verify_p7m(tampered)


def test_verify_p7m_detects_a_forged_signature_value(signer: SandboxSigner) -> None:
    p7m = bytearray(signer.make_p7m(CONTENT))
    p7m[-10] ^= 0xFF  # the signature value closes the structure
    with pytest.raises(SignatureError, match="does not verify"):
        verify_p7m(bytes(p7m))


def test_verify_p7m_detects_tampered_signed_attributes(signer: SandboxSigner) -> None:
    when = datetime(2025, 3, 1, 10, 30, tzinfo=UTC)
    p7m = signer.make_p7m(CONTENT, signing_time=when)
    tampered = p7m.replace(b"250301103000Z", b"250301113000Z")
    assert tampered != p7m
    with pytest.raises(SignatureError):
        verify_p7m(tampered)


def test_verify_p7m_detects_tampered_base64_sample() -> None:
    der = base64.b64decode(read_sample(B2B_P7M))
    content = unwrap_p7m(der)
    marker = content[200:240]
    tampered = der.replace(marker, marker.swapcase(), 1)
    assert tampered != der
    with pytest.raises(SignatureError):
        verify_p7m(base64.b64encode(tampered))
