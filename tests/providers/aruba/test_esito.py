"""§10.1 sendEsitoCommittente: the account's esito on a received PA invoice, 200 when the SDI takes it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select

from emulator.providers.aruba.models import ArubaInvoice
from emulator.sdi.models import SdiInvoice, SdiNotification
from emulator.sdi.notifications import parse_notification
from emulator.sdi.signing import unwrap_p7m
from emulator.state import Sandbox
from tests.conftest import advance
from tests.providers.aruba.helpers import SANDBOX_VAT, bearer, invoice, token, upload, uploaded_name

ESITO = "/aruba/services/invoice/in/sendEsitoCommittente"
UNSIGNED = "/aruba/services/invoice/in/getInvoiceWithUnsignedFile"
SENT = "/aruba/services/invoice/out/getByFilename"
OTHER_VAT = "18302640505"  # aruba/other: a public administration, office UFK3RB
NUMBER = "FT-7/2026"
DAY = 86400


def received(client: FlaskClient, *, pa: bool = True) -> dict[str, Any]:
    """A PA invoice (FPA12) delivered to aruba/other, or a B2B one (FPR12) to aruba/sandbox."""
    recipient = OTHER_VAT if pa else SANDBOX_VAT
    xml = invoice(pa=pa, number=NUMBER, customer_vat=recipient, recipient_code="UFK3RB" if pa else "KRRH6B9")
    response = client.post("/_sandbox/incoming-invoices", json={"recipient": recipient, "xml": xml.decode()})
    assert response.status_code == 201, response.get_data(as_text=True)
    created: dict[str, Any] = response.get_json()["invoices"][0]
    return created


def body_for(created: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "filename": created["file_name"],
        "sdiId": created["sdi_id"],
        "esito": "EC01",
        "numero": NUMBER,
        "anno": 2026,
        "posizione": 1,
        "descrizione": "Desc",
        "messageId": "7865",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not ...}


def send(client: FlaskClient, tok: str, body: Any) -> Any:
    return client.post(ESITO, json=body, headers=bearer(tok))


def status(client: FlaskClient, tok: str, file_name: str) -> str:
    response = client.get(UNSIGNED, query_string={"filename": file_name}, headers=bearer(tok))
    assert response.status_code == 200, response.get_data(as_text=True)
    value: str = response.get_json()["invoices"][0]["status"]
    return value


def files(sandbox: Sandbox, file_name: str) -> list[tuple[str, str, str]]:
    """The SDI files of an invoice: (type, audience, file name), oldest first."""
    with sandbox.transaction() as session:
        row = session.execute(select(SdiInvoice).where(SdiInvoice.file_name == file_name)).scalar_one()
        return [(n.type, n.audience, n.file_name) for n in row.notifications]


def content_of(sandbox: Sandbox, notification_file_name: str) -> bytes:
    with sandbox.transaction() as session:
        query = select(SdiNotification).where(SdiNotification.file_name == notification_file_name)
        return session.execute(query).scalar_one().content


def spring_error(response: Any, status_code: int, message: str) -> None:
    assert response.status_code == status_code, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert body["status"] == status_code
    assert (
        body["error"]
        == {400: "Bad Request", 415: "Unsupported Media Type", 500: "Internal Server Error"}[status_code]
    )
    assert body["message"] == message
    assert body["path"] == "/services/invoice/in/sendEsitoCommittente"


# -- the SDI takes the esito -----------------------------------------------------------------------


def test_an_accepted_esito_answers_200_without_a_body(client: FlaskClient, sandbox: Sandbox) -> None:
    created = received(client)
    name = created["file_name"]
    advance(client, 60)
    tok = token(client, "other")
    response = send(client, tok, body_for(created))
    assert response.status_code == 200
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    assert status(client, tok, name) == "Accettata"
    stem = name.removesuffix(".xml")
    assert files(sandbox, name) == [
        ("RC", "sender", f"{stem}_RC_001.xml"),
        ("MT", "recipient", f"{stem}_MT_001.xml"),
        ("EC", "recipient", f"{stem}_EC_001.xml.p7m"),
        ("NE", "sender", f"{stem}_NE_001.xml"),
    ]
    ne = parse_notification(content_of(sandbox, f"{stem}_NE_001.xml"))
    assert (ne.esito, ne.invoice_number, ne.invoice_year, ne.invoice_position) == ("EC01", NUMBER, 2026, 1)
    assert (ne.esito_description, ne.message_id_committente) == ("Desc", "7865")
    with sandbox.transaction() as session:
        row = session.execute(select(ArubaInvoice).where(ArubaInvoice.filename == name)).scalar_one()
        assert row.esito == "EC01"
        assert row.esito_at is not None and row.esito_at.isoformat() == "2026-03-02T08:01:00+00:00"
    view = client.get(UNSIGNED, query_string={"filename": name}, headers=bearer(tok)).get_json()
    assert view["lastUpdate"] == "2026-03-02T08:01:00.000+0000"


def test_a_refusal_makes_the_invoice_rifiutata(client: FlaskClient, sandbox: Sandbox) -> None:
    created = received(client)
    tok = token(client, "other")
    assert send(client, tok, body_for(created, esito="EC02", descrizione=...)).status_code == 200
    assert status(client, tok, created["file_name"]) == "Rifiutata"
    ec = etree.fromstring(unwrap_p7m(content_of(sandbox, created["file_name"][:-4] + "_EC_001.xml.p7m")))
    assert [etree.QName(c).localname for c in ec] == [
        "IdentificativoSdI",
        "RiferimentoFattura",
        "Esito",
        "MessageIdCommittente",
    ]  # no descrizione given: no Descrizione


def test_after_an_esito_the_terms_never_run_out(client: FlaskClient, sandbox: Sandbox) -> None:
    created = received(client)
    tok = token(client, "other")
    assert send(client, tok, body_for(created)).status_code == 200
    advance(client, 16 * DAY)
    tok = token(client, "other")
    assert status(client, tok, created["file_name"]) == "Accettata"
    assert "DT" not in [kind for kind, _, _ in files(sandbox, created["file_name"])]


@pytest.mark.parametrize("field", ["sdiId", "anno", "posizione"])
def test_numbers_may_come_as_numeric_strings(client: FlaskClient, field: str) -> None:
    """Jackson coerces "2026" to an Integer, and a float to its integral part."""
    created = received(client)
    body = body_for(created, numero=7) if field == "posizione" else body_for(created)
    body[field] = str(body[field])
    response = send(client, token(client, "other"), body)
    if field == "posizione":  # numero 7 (a number) binds as the String "7": not this invoice's number
        assert response.status_code == 500
        assert "(NumeroFattura 7, AnnoFattura 2026, PosizioneFattura 1)" in response.get_json()["message"]
    else:
        assert response.status_code == 200, response.get_data(as_text=True)


def test_a_float_year_loses_its_fraction(client: FlaskClient) -> None:
    created = received(client)
    assert send(client, token(client, "other"), body_for(created, anno=2026.7)).status_code == 200


def test_end_to_end_the_supplier_sees_the_customers_esito(client: FlaskClient, sandbox: Sandbox) -> None:
    """aruba/sandbox invoices aruba/other (a PA); aruba/other refuses it; the supplier's status follows."""
    supplier = token(client)
    name = uploaded_name(upload(client, supplier, invoice(pa=True, number=NUMBER, customer_vat=OTHER_VAT)))
    advance(client, 60 + 120)  # Aruba's processing, then the SDI's RC
    customer = token(client, "other")
    with sandbox.transaction() as session:
        row = session.execute(
            select(ArubaInvoice).where(ArubaInvoice.filename == name, ArubaInvoice.direction == "in")
        ).scalar_one()
        sdi_id = row.invoice.sdi_id if row.invoice else None
    created = {"file_name": name, "sdi_id": sdi_id}
    assert (
        send(client, customer, body_for(created, esito="EC02", descrizione="Importo errato")).status_code
        == 200
    )
    sent = client.get(SENT, query_string={"filename": name}, headers=bearer(supplier)).get_json()
    assert sent["invoices"][0]["status"] == "Rifiutata"
    assert status(client, customer, name) == "Rifiutata"


# -- the SDI discards it (SE): 500 -----------------------------------------------------------------


def test_an_esito_after_the_terms_is_500_and_the_scarto_stays(client: FlaskClient, sandbox: Sandbox) -> None:
    created = received(client)
    name = created["file_name"]
    stem = name.removesuffix(".xml")
    advance(client, 15 * DAY + 1)
    tok = token(client, "other")
    assert status(client, tok, name) == "Decorrenza Termini"
    spring_error(
        send(client, tok, body_for(created)),
        500,
        "Esito committente scartato dal SdI (EN01): Notifica non ammissibile: sono decorsi i termini per "
        "l'invio dell'esito: la notifica di decorrenza termini è già stata inviata "
        f"[notifica di scarto {stem}_SE_001.xml]",
    )
    # Committed before the 500: the EC sent and the SDI's scarto are in the account's box.
    assert files(sandbox, name)[-2:] == [
        ("EC", "recipient", f"{stem}_EC_001.xml.p7m"),
        ("SE", "recipient", f"{stem}_SE_001.xml"),
    ]
    se = parse_notification(content_of(sandbox, f"{stem}_SE_001.xml"))
    assert (se.scarto, se.message_id_committente) == ("EN01", "7865")
    assert status(client, tok, name) == "Decorrenza Termini"


def test_a_second_esito_is_500(client: FlaskClient) -> None:
    created = received(client)
    tok = token(client, "other")
    assert send(client, tok, body_for(created)).status_code == 200
    stem = created["file_name"].removesuffix(".xml")
    spring_error(
        send(client, tok, body_for(created, esito="EC02", messageId="7866")),
        500,
        "Esito committente scartato dal SdI (EN01): Notifica non ammissibile: per la fattura è già stata "
        f"inviata una notifica di esito (EC01, accettazione) [notifica di scarto {stem}_SE_001.xml]",
    )
    assert status(client, tok, created["file_name"]) == "Accettata"


@pytest.mark.parametrize(
    ("overrides", "reference"),
    [
        ({"numero": "FT-8/2026"}, "NumeroFattura FT-8/2026, AnnoFattura 2026, PosizioneFattura 1"),
        ({"anno": 2025}, f"NumeroFattura {NUMBER}, AnnoFattura 2025, PosizioneFattura 1"),
        ({"posizione": 2}, f"NumeroFattura {NUMBER}, AnnoFattura 2026, PosizioneFattura 2"),
    ],
)
def test_a_reference_that_is_not_in_the_file_is_500(
    client: FlaskClient, overrides: dict[str, Any], reference: str
) -> None:
    created = received(client)
    stem = created["file_name"].removesuffix(".xml")
    spring_error(
        send(client, token(client, "other"), body_for(created, **overrides)),
        500,
        f"Esito committente scartato dal SdI (EN01): Notifica non ammissibile: il RiferimentoFattura "
        f"({reference}) non corrisponde ad alcuna fattura del file [notifica di scarto {stem}_SE_001.xml]",
    )


def test_an_ec_out_of_format_is_500_en00(client: FlaskClient) -> None:
    created = received(client)
    stem = created["file_name"].removesuffix(".xml")
    tok = token(client, "other")
    spring_error(
        send(client, tok, body_for(created, messageId="123456789012345")),
        500,
        "Esito committente scartato dal SdI (EN00): Notifica non conforme al formato: MessageIdCommittente "
        f"'123456789012345' non valido (da 1 a 14 caratteri) [notifica di scarto {stem}_SE_001.xml]",
    )
    assert status(client, tok, created["file_name"]) == "Inviata"


# -- Aruba refuses before writing any EC: 500 -------------------------------------------------------


def test_a_b2b_invoice_has_no_esito(client: FlaskClient, sandbox: Sandbox) -> None:
    created = received(client, pa=False)
    spring_error(
        send(client, token(client), body_for(created)),
        500,
        "L'esito committente è previsto solo per le fatture verso la Pubblica Amministrazione (FPA12): "
        f"la fattura {created['file_name']} è FPR12",
    )
    assert [kind for kind, _, _ in files(sandbox, created["file_name"])] == ["RC", "MT"]


def test_the_sdi_id_must_be_the_invoices(client: FlaskClient) -> None:
    created = received(client)
    spring_error(
        send(client, token(client, "other"), body_for(created, sdiId=1263)),
        500,
        f"sdiId 1263 non corrisponde alla fattura {created['file_name']} "
        f"(IdentificativoSdI {created['sdi_id']})",
    )


def test_unknown_and_other_accounts_invoices_are_500(client: FlaskClient) -> None:
    created = received(client)  # aruba/other's
    spring_error(
        send(client, token(client), body_for(created)),
        500,
        f"Fattura ricevuta non trovata: {created['file_name']}",
    )
    spring_error(
        send(client, token(client, "other"), body_for(created, filename="IT01879020517_jtlk1.xml.p7m")),
        500,
        "Fattura ricevuta non trovata: IT01879020517_jtlk1.xml.p7m",
    )


@pytest.mark.parametrize("field", ["numero", "descrizione", "messageId"])
def test_characters_no_xml_file_can_carry_are_500(client: FlaskClient, sandbox: Sandbox, field: str) -> None:
    created = received(client)
    spring_error(
        send(client, token(client, "other"), body_for(created, **{field: "a\x00b"})),
        500,
        f"Il campo {field} contiene caratteri non ammessi in un file XML",
    )
    assert [kind for kind, _, _ in files(sandbox, created["file_name"])] == ["RC", "MT"]


# -- malformed requests: Spring's 400 and 415 ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            [1, 2],
            "JSON parse error: Cannot deserialize value of type `EsitoCommittenteRequest` from Array value "
            "(token `JsonToken.START_ARRAY`)",
        ),
        (
            {"sdiId": "abc"},
            'JSON parse error: Cannot deserialize value of type `java.lang.Long` from String "abc": '
            "not a valid `java.lang.Long` value",
        ),
        (
            {"anno": True},
            "JSON parse error: Cannot deserialize value of type `java.lang.Integer` from Boolean value "
            "(token `JsonToken.VALUE_TRUE`)",
        ),
        (
            {"posizione": 2**31},
            "JSON parse error: Numeric value (2147483648) out of range of int (-2147483648 - 2147483647)",
        ),
        (
            {"sdiId": 2**63},
            "JSON parse error: Numeric value (9223372036854775808) out of range of long "
            "(-9223372036854775808 - 9223372036854775807)",
        ),
        (
            {"filename": {"a": 1}},
            "JSON parse error: Cannot deserialize value of type `java.lang.String` from "
            "Object value (token `JsonToken.START_OBJECT`)",
        ),
        (
            {"esito": "EC03"},
            "JSON parse error: Cannot deserialize value of type `EsitoCommittente` from String "
            '"EC03": not one of the values accepted for Enum class: [EC01, EC02]',
        ),
        (
            {},
            "Validation failed for object='esitoCommittenteRequest'. Error count: 7; "
            + "; ".join(
                f"field '{name}': must not be null"
                for name in ("filename", "sdiId", "esito", "numero", "anno", "posizione", "messageId")
            ),
        ),
        (
            {
                "filename": "x",
                "sdiId": 1,
                "esito": "EC01",
                "numero": "1",
                "anno": 2026,
                "posizione": None,
                "messageId": "1",
            },
            "Validation failed for object='esitoCommittenteRequest'. Error count: 1; "
            "field 'posizione': must not be null",
        ),
    ],
)
def test_bodies_jackson_cannot_bind_are_400(client: FlaskClient, body: Any, message: str) -> None:
    spring_error(send(client, token(client), body), 400, message)


def test_raw_bodies_that_are_not_json(client: FlaskClient) -> None:
    tok = token(client)
    headers = {**bearer(tok), "Content-Type": "application/json"}
    spring_error(client.post(ESITO, data=b"", headers=headers), 400, "Required request body is missing")
    bad = client.post(ESITO, data=b"{nope", headers=headers)
    assert bad.status_code == 400
    assert bad.get_json()["message"].startswith(
        "JSON parse error: Expecting property name enclosed in double quotes"
    )
    surrogate = client.post(ESITO, data=b'{"filename": "\\ud800"}', headers=headers)
    assert surrogate.status_code == 400
    assert surrogate.get_json()["message"].startswith("JSON parse error: 'utf-8' codec can't encode")
    deep = client.post(ESITO, data=b"[" * 100_000, headers=headers)
    assert deep.status_code == 400
    assert deep.get_json()["message"].startswith("JSON parse error: ")
    spring_error(
        client.post(
            ESITO, data=b"filename=x", headers={**bearer(tok), "Content-Type": "text/plain;charset=UTF-8"}
        ),
        415,
        "Content-Type 'text/plain;charset=UTF-8' is not supported",
    )
    spring_error(
        client.post(ESITO, data=b"{}", headers=bearer(tok)),
        415,
        "Content-Type 'application/octet-stream' is not supported",
    )


def test_authentication_comes_first(client: FlaskClient) -> None:
    response = client.post(ESITO, data=b"not json", headers={"Content-Type": "text/plain"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
