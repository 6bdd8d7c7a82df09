from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import etree
from signxml.verifier import XMLVerifier

from emulator.sdi.notifications import (
    B2B_MC_DESCRIPTION,
    B2B_NS,
    DS_NS,
    PA_NS,
    ErrorEntry,
    Flow,
    MessageType,
    NotificationData,
    load_messaggi_schema,
    notification_file_name,
    parse_notification,
    render_notification,
)
from emulator.sdi.signing import SandboxSigner

from .reference import B2B_REAL, OFFICIAL, XSD_DIR, read_sample, require

NOW = datetime.now(UTC).replace(microsecond=0)
PA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
B2B_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
HASH = "2c1f3a240a056d9537a8608fed310812ef7b1b7a410d0152f5c9c9e93486ae44"

PA_SIGNED = [
    MessageType.RC,
    MessageType.NS,
    MessageType.MC,
    MessageType.NE,
    MessageType.AT,
    MessageType.DT,
    MessageType.SE,
]
PA_ALL = [*PA_SIGNED, MessageType.MT, MessageType.EC]
B2B_TYPES = [MessageType.RC, MessageType.NS, MessageType.MC, MessageType.MT]
B2B_SIGNED = [MessageType.RC, MessageType.NS, MessageType.MC]

# Children of each PA root, in MessaggiTypes_v1.1 order, when every optional field is given.
PA_ORDER: dict[MessageType, list[str]] = {
    MessageType.RC: [
        "IdentificativoSdI",
        "NomeFile",
        "DataOraRicezione",
        "DataOraConsegna",
        "Destinatario",
        "MessageId",
        "PecMessageId",
        "Note",
    ],
    MessageType.NS: [
        "IdentificativoSdI",
        "NomeFile",
        "DataOraRicezione",
        "ListaErrori",
        "MessageId",
        "PecMessageId",
        "Note",
    ],
    MessageType.MC: [
        "IdentificativoSdI",
        "NomeFile",
        "DataOraRicezione",
        "Descrizione",
        "MessageId",
        "PecMessageId",
        "Note",
    ],
    MessageType.NE: [
        "IdentificativoSdI",
        "NomeFile",
        "EsitoCommittente",
        "MessageId",
        "PecMessageId",
        "Note",
    ],
    MessageType.AT: [
        "IdentificativoSdI",
        "NomeFile",
        "DataOraRicezione",
        "Destinatario",
        "MessageId",
        "PecMessageId",
        "Note",
        "HashFileOriginale",
    ],
    MessageType.DT: [
        "IdentificativoSdI",
        "RiferimentoFattura",
        "NomeFile",
        "Descrizione",
        "MessageId",
        "PecMessageId",
        "Note",
    ],
    MessageType.MT: [
        "IdentificativoSdI",
        "NomeFile",
        "CodiceDestinatario",
        "Formato",
        "TentativiInvio",
        "MessageId",
        "Note",
    ],
    MessageType.SE: [
        "IdentificativoSdI",
        "RiferimentoFattura",
        "Scarto",
        "MessageId",
        "MessageIdCommittente",
        "PecMessageId",
        "Note",
    ],
    MessageType.EC: [
        "IdentificativoSdI",
        "RiferimentoFattura",
        "Esito",
        "Descrizione",
        "MessageIdCommittente",
    ],
}
PA_ROOT_NAMES = {
    MessageType.RC: "RicevutaConsegna",
    MessageType.NS: "NotificaScarto",
    MessageType.MC: "NotificaMancataConsegna",
    MessageType.NE: "NotificaEsito",
    MessageType.AT: "AttestazioneTrasmissioneFattura",
    MessageType.DT: "NotificaDecorrenzaTermini",
    MessageType.MT: "MetadatiInvioFile",
    MessageType.SE: "ScartoEsitoCommittente",
    MessageType.EC: "NotificaEsitoCommittente",
}
B2B_SAMPLES = {
    MessageType.RC: "IT03339130126_00009_RC_003.xml",
    MessageType.MC: "IT14627831002_02621_MC_001.xml",
    MessageType.MT: "IT02652600210_00007_MT_002.xml",
}
# Elements of the AdE schema (MessaggiFatturaTypes_v1.0) the sandbox always writes but some real
# files omit: Hash after NomeFile, and the FileMetadati CodiceDestinatario when there is one.
B2B_SCHEMA_EXTRAS = {"Hash", "CodiceDestinatario"}

PA_DATA = NotificationData(
    sdi_id=111,
    invoice_file_name="IT01234567890_11111.xml.p7m",
    received_at=datetime(2025, 1, 15, 9, 30, 12, 345678, tzinfo=UTC),
    message_id="1234567890",
    invoice_hash=HASH,
    recipient_code="AAA111",
    recipient_description="Pubblica Amministrazione di prova",
    delivered_at=datetime(2025, 1, 15, 9, 32, tzinfo=UTC),
    errors=(
        ErrorEntry("00200", "File non conforme al formato : " + "x" * 400, "Verificare il file"),
        ErrorEntry("00404", "Fattura duplicata", None),
    ),
    description="Notifica di prova: è così",
    note="Nota di prova",
    esito="EC01",
    esito_description="Fattura accettata",
    invoice_number="2025/17",
    invoice_year=2025,
    message_id_committente="98765",
    format="FPA12",
    attempts=2,
    pec_message_id="opec.20250115.1@pec.example.it",
    scarto="EN01",
)
B2B_DATA = replace(
    PA_DATA,
    sdi_id=6782414,
    invoice_file_name="IT03339130126_00009.xml",
    recipient_code=None,
    recipient_description=None,
    note=None,
    pec_message_id=None,
    description=None,
    available_on=date(2025, 1, 16),
    format="FPR12",
    attempts=1,
)


@pytest.fixture(scope="module")
def signer() -> SandboxSigner:
    return SandboxSigner.generate(NOW)


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return load_messaggi_schema(require(XSD_DIR))


def _root(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def _children(root: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in root if child.tag != f"{{{DS_NS}}}Signature"]


def _render(
    kind: MessageType, flow: Flow, signer: SandboxSigner | None, data: NotificationData | None = None
) -> bytes:
    return render_notification(kind, flow, data or (PA_DATA if flow is Flow.PA else B2B_DATA), signer)


def _is_ordered_subsequence(part: list[str], whole: list[str]) -> bool:
    remaining = iter(whole)
    return all(name in remaining for name in part)


# -- file names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invoice", "kind", "sequence", "expected"),
    [
        ("IT01234567890_11111.xml.p7m", MessageType.RC, 1, "IT01234567890_11111_RC_001.xml"),
        ("IT01234567890_11111.xml", MessageType.NS, 2, "IT01234567890_11111_NS_002.xml"),
        ("IT01234567890_11111.XML.P7M", MessageType.MC, 12, "IT01234567890_11111_MC_012.xml"),
        ("IT01879020517_jtlk1.Xml", MessageType.MT, 1, "IT01879020517_jtlk1_MT_001.xml"),
        ("IT01234567890_11111.zip", MessageType.NS, 1, "IT01234567890_11111_NS_001.xml"),
        ("IT01234567890_11111.xml.p7m", MessageType.DT, 999, "IT01234567890_11111_DT_999.xml"),
    ],
)
def test_notification_file_name(invoice: str, kind: MessageType, sequence: int, expected: str) -> None:
    assert notification_file_name(invoice, kind, sequence) == expected


@pytest.mark.parametrize("sequence", [0, 1000, -1])
def test_notification_file_name_refuses_out_of_range_sequences(sequence: int) -> None:
    with pytest.raises(ValueError):
        notification_file_name("IT01234567890_11111.xml", MessageType.RC, sequence)


# -- PA flow ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PA_ALL)
def test_every_pa_message_validates_against_messaggi_types_when_signed(
    kind: MessageType, signer: SandboxSigner, schema: etree.XMLSchema
) -> None:
    data = _render(kind, Flow.PA, signer)
    root = _root(data)
    assert schema.validate(root), schema.error_log
    assert root.tag == f"{{{PA_NS}}}{PA_ROOT_NAMES[kind]}"
    assert root.prefix == "types"
    assert root.get("versione") == "1.0"
    assert all(etree.QName(child).namespace in (None, DS_NS) for child in root)


@pytest.mark.parametrize("kind", PA_ALL)
def test_pa_children_follow_the_schema_order(kind: MessageType, signer: SandboxSigner) -> None:
    assert _children(_root(_render(kind, Flow.PA, signer))) == PA_ORDER[kind]


@pytest.mark.parametrize("kind", PA_SIGNED)
def test_pa_signed_messages_fail_the_schema_without_signature(
    kind: MessageType, schema: etree.XMLSchema
) -> None:
    assert not schema.validate(_root(_render(kind, Flow.PA, None)))


def test_pa_minimal_messages_validate(signer: SandboxSigner, schema: etree.XMLSchema) -> None:
    minimal = NotificationData(
        sdi_id=999999999999,
        invoice_file_name="IT01234567890_00001.xml",
        received_at=datetime(2025, 7, 1, 12, 0, tzinfo=UTC),
        message_id="1",
        invoice_hash=HASH,
        recipient_code="UFY9MH",
        errors=(ErrorEntry("00001", "Nome file non valido"),),
        esito="EC02",
        scarto="EN00",
    )
    for kind in PA_ALL:
        root = _root(render_notification(kind, Flow.PA, minimal, signer))
        assert schema.validate(root), (kind, schema.error_log)


@pytest.mark.parametrize("kind", PA_SIGNED)
def test_pa_signature_is_last_verifies_and_detects_tampering(
    kind: MessageType, signer: SandboxSigner
) -> None:
    data = _render(kind, Flow.PA, signer)
    root = _root(data)
    assert root[-1].tag == f"{{{DS_NS}}}Signature"
    assert root[-1].prefix == "ds"
    assert signer.verify_xml(data)
    XMLVerifier().verify(data, x509_cert=signer.certificate_pem.decode())
    assert not signer.verify_xml(data.replace(b">111<", b">112<", 1))


def test_pa_mt_is_never_signed_and_ec_signature_is_optional(
    signer: SandboxSigner, schema: etree.XMLSchema
) -> None:
    mt = _root(_render(MessageType.MT, Flow.PA, signer))
    assert mt.find(f"{{{DS_NS}}}Signature") is None
    ec = _root(_render(MessageType.EC, Flow.PA, None))
    assert schema.validate(ec), schema.error_log
    assert signer.verify_xml(_render(MessageType.EC, Flow.PA, signer))


def test_pa_timestamps_carry_the_rome_offset_without_microseconds(signer: SandboxSigner) -> None:
    winter = _root(_render(MessageType.RC, Flow.PA, signer))
    assert winter.findtext("DataOraRicezione") == "2025-01-15T10:30:12+01:00"
    assert winter.findtext("DataOraConsegna") == "2025-01-15T10:32:00+01:00"
    summer_data = replace(PA_DATA, received_at=datetime(2025, 7, 1, 22, 15, 1, 999, tzinfo=UTC))
    summer = _root(_render(MessageType.MC, Flow.PA, signer, summer_data))
    assert summer.findtext("DataOraRicezione") == "2025-07-02T00:15:01+02:00"
    for root in (winter, summer):
        for element in root.iter("DataOraRicezione", "DataOraConsegna"):
            assert PA_TIME.match(element.text or ""), element.text


def test_pa_contents(signer: SandboxSigner) -> None:
    rc = _root(_render(MessageType.RC, Flow.PA, signer))
    assert rc.findtext("Destinatario/Codice") == "AAA111"
    assert rc.findtext("Destinatario/Descrizione") == "Pubblica Amministrazione di prova"
    ns = _root(_render(MessageType.NS, Flow.PA, signer))
    assert [e.findtext("Codice") for e in ns.iterfind("ListaErrori/Errore")] == ["00200", "00404"]
    assert all(len(e.findtext("Descrizione") or "") <= 255 for e in ns.iterfind("ListaErrori/Errore"))
    assert ns.find("ListaErrori/Errore/Suggerimento") is None
    ne = _root(_render(MessageType.NE, Flow.PA, signer))
    esito = ne.find("EsitoCommittente")
    assert esito is not None and esito.get("versione") == "1.0"
    assert _children(esito) == [
        "IdentificativoSdI",
        "RiferimentoFattura",
        "Esito",
        "Descrizione",
        "MessageIdCommittente",
    ]
    assert esito.findtext("RiferimentoFattura/NumeroFattura") == "2025/17"
    assert esito.findtext("Esito") == "EC01"
    at = _root(_render(MessageType.AT, Flow.PA, signer))
    assert at.findtext("HashFileOriginale") == HASH
    mt = _root(_render(MessageType.MT, Flow.PA, signer))
    assert (mt.findtext("CodiceDestinatario"), mt.findtext("Formato"), mt.findtext("TentativiInvio")) == (
        "AAA111",
        "FPA12",
        "2",
    )
    se = _root(_render(MessageType.SE, Flow.PA, signer))
    assert se.findtext("Scarto") == "EN01"


def test_pa_output_is_utf8_with_declaration(signer: SandboxSigner) -> None:
    data = _render(MessageType.MC, Flow.PA, signer)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<types:NotificaMancataConsegna')
    assert "è così".encode() in data


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (MessageType.NS, replace(PA_DATA, errors=())),
        (MessageType.NE, replace(PA_DATA, esito=None)),
        (MessageType.RC, replace(PA_DATA, recipient_code=None)),
        (MessageType.AT, replace(PA_DATA, recipient_code=None)),
        (MessageType.MT, replace(PA_DATA, recipient_code=None)),
        (MessageType.SE, replace(PA_DATA, scarto=None)),
    ],
)
def test_pa_messages_refuse_missing_required_data(kind: MessageType, data: NotificationData) -> None:
    with pytest.raises(ValueError):
        render_notification(kind, Flow.PA, data, None)


@pytest.mark.parametrize("kind", PA_ALL)
def test_pa_structure_matches_the_official_sample(kind: MessageType, signer: SandboxSigner) -> None:
    sample = _root(read_sample(OFFICIAL / f"IT01234567890_11111_{kind.value}_001.xml"))
    ours = _root(_render(kind, Flow.PA, signer))
    assert ours.tag == sample.tag
    assert ours.prefix == sample.prefix == "types"
    sample_children = [name for name in _children(sample) if name != "RiferimentoArchivio"]
    assert _is_ordered_subsequence(sample_children, _children(ours)), (sample_children, _children(ours))


# -- B2B flow --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(B2B_SAMPLES))
def test_b2b_structure_matches_the_real_file(kind: MessageType, signer: SandboxSigner) -> None:
    sample_bytes = read_sample(B2B_REAL / B2B_SAMPLES[kind])
    sample = _root(sample_bytes)
    given = B2B_DATA
    if sample.find("PecMessageId") is not None:
        given = replace(B2B_DATA, pec_message_id="opec.1@pec.example.it")
    data = _render(kind, Flow.B2B, signer if kind in B2B_SIGNED else None, given)
    ours = _root(data)
    assert ours.tag == sample.tag
    assert ours.prefix == sample.prefix == "ns3"
    assert ours.nsmap == sample.nsmap == {"ns3": B2B_NS, "ns2": DS_NS}
    assert ours.get("versione") == sample.get("versione") == "1.0"
    ours_children, sample_children = _children(ours), _children(sample)
    assert _is_ordered_subsequence(sample_children, ours_children), (sample_children, ours_children)
    assert set(ours_children) - set(sample_children) <= B2B_SCHEMA_EXTRAS
    assert ours_children[:3] == ["IdentificativoSdI", "NomeFile", "Hash"]
    assert ours.findtext("Hash") == HASH
    assert (sample.find("Hash") is None) or (sample_children.index("Hash") == 2)
    assert data.split(b"?>")[0] == sample_bytes.split(b"?>")[0], "same XML declaration"
    for name in ("DataOraRicezione", "DataOraConsegna"):
        if sample.find(name) is not None:
            assert B2B_TIME.match(sample.findtext(name) or "")
            assert B2B_TIME.match(ours.findtext(name) or ""), ours.findtext(name)
    signed = [child for child in ours if child.tag == f"{{{DS_NS}}}Signature"]
    sample_signed = [child for child in sample if child.tag == f"{{{DS_NS}}}Signature"]
    assert len(signed) == len(sample_signed)
    if signed:
        assert ours[-1] is signed[0] and sample[-1] is sample_signed[0]
        assert signed[0].prefix == sample_signed[0].prefix == "ds"


def test_b2b_mc_is_exactly_the_real_layout_and_text(signer: SandboxSigner) -> None:
    sample = _root(read_sample(B2B_REAL / B2B_SAMPLES[MessageType.MC]))
    with_pec = replace(B2B_DATA, pec_message_id="opec2891.20190104200105.26626.212.1.62@pec.aruba.it")
    ours = _root(_render(MessageType.MC, Flow.B2B, signer, with_pec))
    assert _children(ours) == _children(sample)
    assert ours.findtext("Descrizione") == sample.findtext("Descrizione")
    assert ours.findtext("Descrizione") == B2B_MC_DESCRIPTION.format(code="0000000")
    assert ours.findtext("DataMessaADisposizione") == "2025-01-16"
    assert DATE.match(sample.findtext("DataMessaADisposizione") or "")
    note, sample_note = ours.find("Note"), sample.find("Note")
    assert note is not None and sample_note is not None
    assert note.text is None and len(note) == 0 and sample_note.text is None


def test_b2b_rc_destinatario_is_empty_without_code(signer: SandboxSigner) -> None:
    rc = _root(_render(MessageType.RC, Flow.B2B, signer))
    destinatario = rc.find("Destinatario")
    assert destinatario is not None and len(destinatario) == 0
    assert b"<Destinatario/>" in _render(MessageType.RC, Flow.B2B, signer)
    coded = _root(_render(MessageType.RC, Flow.B2B, signer, replace(B2B_DATA, recipient_code="M5UXCR1")))
    assert coded.findtext("Destinatario/Codice") == "M5UXCR1"


def test_b2b_ricevuta_scarto_errors_carry_a_suggestion(signer: SandboxSigner) -> None:
    root = _root(_render(MessageType.NS, Flow.B2B, signer))
    assert root.tag == f"{{{B2B_NS}}}RicevutaScarto"
    assert _children(root) == [
        "IdentificativoSdI",
        "NomeFile",
        "Hash",
        "DataOraRicezione",
        "ListaErrori",
        "MessageId",
    ]
    first, second = root.iterfind("ListaErrori/Errore")
    assert _children(first) == ["Codice", "Descrizione", "Suggerimento"]
    assert first.findtext("Suggerimento") == "Verificare il file"
    assert len(first.findtext("Descrizione") or "") > 255, "no PA length limit on the AdE schema"
    assert _children(second) == ["Codice", "Descrizione"]
    assert B2B_TIME.match(root.findtext("DataOraRicezione") or "")
    assert root.findtext("DataOraRicezione") == "2025-01-15T10:30:12.345+01:00"


def test_b2b_mt_is_unsigned_with_optional_recipient_code(signer: SandboxSigner) -> None:
    plain = _root(_render(MessageType.MT, Flow.B2B, signer))
    assert plain.find(f"{{{DS_NS}}}Signature") is None
    assert _children(plain) == [
        "IdentificativoSdI",
        "NomeFile",
        "Hash",
        "Formato",
        "TentativiInvio",
        "MessageId",
    ]
    coded = _root(_render(MessageType.MT, Flow.B2B, None, replace(B2B_DATA, recipient_code="M5UXCR1")))
    assert _children(coded)[3:5] == ["CodiceDestinatario", "Formato"]
    assert coded.findtext("Formato") == "FPR12"


@pytest.mark.parametrize("kind", B2B_SIGNED)
def test_b2b_signatures_verify_and_detect_tampering(kind: MessageType, signer: SandboxSigner) -> None:
    data = _render(kind, Flow.B2B, signer)
    assert signer.verify_xml(data)
    assert not signer.verify_xml(data.replace(b">6782414<", b">6782415<", 1))


@pytest.mark.parametrize(
    "kind", [MessageType.NE, MessageType.AT, MessageType.DT, MessageType.SE, MessageType.EC]
)
def test_b2b_has_no_pa_only_messages(kind: MessageType, signer: SandboxSigner) -> None:
    with pytest.raises(ValueError, match="B2B"):
        render_notification(kind, Flow.B2B, B2B_DATA, signer)


# -- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PA_ALL)
def test_parse_round_trip_pa(kind: MessageType, signer: SandboxSigner) -> None:
    parsed = parse_notification(_render(kind, Flow.PA, signer))
    assert (parsed.message_type, parsed.flow, parsed.sdi_id) == (kind, Flow.PA, 111)
    assert parsed.root_name == PA_ROOT_NAMES[kind]
    if kind not in (MessageType.SE, MessageType.EC):
        assert parsed.file_name == "IT01234567890_11111.xml.p7m"
    assert parsed.signed is (kind is not MessageType.MT)
    if kind is MessageType.NS:
        assert parsed.error_codes == ("00200", "00404")
    if kind in (MessageType.NE, MessageType.EC):
        assert (parsed.esito, parsed.invoice_number, parsed.invoice_year) == ("EC01", "2025/17", 2025)
        assert parsed.esito_description == "Fattura accettata"
    if kind is MessageType.RC:
        assert parsed.received_at == PA_DATA.received_at.replace(microsecond=0)
        assert parsed.recipient_code == "AAA111"


@pytest.mark.parametrize("kind", B2B_TYPES)
def test_parse_round_trip_b2b(kind: MessageType, signer: SandboxSigner) -> None:
    parsed = parse_notification(_render(kind, Flow.B2B, signer))
    assert (parsed.message_type, parsed.flow, parsed.sdi_id) == (kind, Flow.B2B, 6782414)
    assert parsed.file_name == "IT03339130126_00009.xml"
    assert parsed.invoice_hash == HASH
    if kind is MessageType.NS:
        assert parsed.errors[0] == ErrorEntry("00200", PA_DATA.errors[0].description, "Verificare il file")
    if kind is MessageType.MC:
        assert parsed.available_on == date(2025, 1, 16)
    if kind is not MessageType.MT:
        assert parsed.received_at == datetime(2025, 1, 15, 9, 30, 12, 345000, tzinfo=UTC)


@pytest.mark.parametrize("kind", PA_ALL)
def test_parse_official_samples(kind: MessageType) -> None:
    parsed = parse_notification(read_sample(OFFICIAL / f"IT01234567890_11111_{kind.value}_001.xml"))
    assert (parsed.message_type, parsed.flow, parsed.sdi_id) == (kind, Flow.PA, 111)
    assert not parsed.signed


def test_parse_real_b2b_samples() -> None:
    rc = parse_notification(read_sample(B2B_REAL / B2B_SAMPLES[MessageType.RC]))
    assert (rc.message_type, rc.flow, rc.sdi_id, rc.signed) == (MessageType.RC, Flow.B2B, 6782414, True)
    assert rc.delivered_at is not None and rc.delivered_at.utcoffset() is not None
    mc = parse_notification(read_sample(B2B_REAL / B2B_SAMPLES[MessageType.MC]))
    assert (mc.message_type, mc.available_on) == (MessageType.MC, date(2019, 1, 5))
    assert mc.invoice_hash is not None and len(mc.invoice_hash) == 64
    mt = parse_notification(read_sample(B2B_REAL / B2B_SAMPLES[MessageType.MT]))
    assert (mt.message_type, mt.format, mt.attempts) == (MessageType.MT, "FPR12", 1)


def test_parse_refuses_what_is_not_an_sdi_message() -> None:
    with pytest.raises(ValueError):
        parse_notification(read_sample(OFFICIAL / "IT01234567890_FPR01.xml"))
    with pytest.raises(ValueError):
        parse_notification(b"<RicevutaConsegna/>")
    with pytest.raises(ValueError):
        parse_notification(b"not xml")


# -- schema loading --------------------------------------------------------------------------------


def test_load_messaggi_schema_needs_both_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_messaggi_schema(tmp_path)


def test_load_messaggi_schema_maps_an_url_import_to_the_local_xmldsig(
    tmp_path: Path, signer: SandboxSigner
) -> None:
    source = require(XSD_DIR)
    text = (source / "MessaggiTypes_v1.1.xsd").read_text(encoding="utf-8")
    url = "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd"
    text = text.replace('schemaLocation="xmldsig-core-schema.xsd"', f'schemaLocation="{url}"')
    (tmp_path / "MessaggiTypes_v1.1.xsd").write_text(text, encoding="utf-8")
    (tmp_path / "xmldsig-core-schema.xsd").write_bytes((source / "xmldsig-core-schema.xsd").read_bytes())
    schema = load_messaggi_schema(tmp_path)
    assert schema.validate(_root(_render(MessageType.RC, Flow.PA, signer))), schema.error_log
    assert not schema.validate(_root(_render(MessageType.RC, Flow.PA, None)))
