"""Easy Tracking active cycle, end to end through HTTP, with the virtual clock."""

from __future__ import annotations

import io
import json
import zipfile

from flask.testing import FlaskClient
from lxml import etree

from tests.conftest import advance
from tests.providers.easytracking.helpers import CREDENTIALS, OTHER_VAT, bearer, invoice, token, upload

B2B_NS = "{http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fattura/messaggi/v1.0}"
PA_NS = "{http://www.fatturapa.gov.it/sdi/messaggi/v1.0}"


def statuses(client: FlaskClient, tok: str, progressivo: str, route: str = "v4") -> list[etree._Element]:
    response = client.get(
        f"/easytracking/api/{route}/InvoiceNotifications",
        query_string={"progressivoInvio": progressivo},
        headers=bearer(tok),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    root = etree.fromstring(response.data)
    assert root.tag == "Stati"
    return [stato[0] for stato in root]


def new_notifications(client: FlaskClient, tok: str, **query: str) -> dict:
    response = client.get(
        "/easytracking/api/v4/InvoiceNotifications/new-active-notifications",
        query_string=query,
        headers=bearer(tok),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_token_is_a_json_string_and_wrong_credentials_are_401(client: FlaskClient) -> None:
    raw = client.post(
        "/easytracking/api/Token/AccessToken",
        json={
            "apiName": "openBusiness.scope.serviziweb.api",
            "clientName": "openBusiness.client.serviziweb.api",
            "clientSecret": "uKNtPmq49yjLkaYv",
            "username": "sandbox",
            "password": "sandbox",
        },
    )
    assert raw.status_code == 200 and raw.mimetype == "application/json"
    assert isinstance(json.loads(raw.data), str)
    for field, value in [
        ("username", "nobody"),
        ("password", "wrong"),
        ("apiName", "x"),
        ("clientName", "x"),
        ("clientSecret", "x"),
    ]:
        body = {
            "apiName": "openBusiness.scope.serviziweb.api",
            "clientName": "openBusiness.client.serviziweb.api",
            "clientSecret": "uKNtPmq49yjLkaYv",
            "username": "sandbox",
            "password": "sandbox",
            field: value,
        }
        response = client.post("/easytracking/api/Token/AccessToken", json=body)
        assert response.status_code == 401, field
        assert "message" in response.get_json()


def test_token_expires_after_an_hour_of_virtual_time(client: FlaskClient) -> None:
    tok = token(client)
    url = "/easytracking/api/v4/InvoiceNotifications/new-active-notifications"
    assert client.get(url, headers=bearer(tok)).status_code == 200
    advance(client, 3599)
    assert client.get(url, headers=bearer(tok)).status_code == 200
    advance(client, 1)
    expired = client.get(url, headers=bearer(tok))
    assert expired.status_code == 401
    assert expired.get_json() == {"message": "Authorization has been denied for this request: token expired"}


def test_missing_and_forged_tokens_are_401(client: FlaskClient) -> None:
    tok = token(client)
    forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    for headers in ({}, bearer(forged), bearer("not-a-jwt"), {"Authorization": "Basic c2FuZGJveA=="}):
        response = client.get("/easytracking/api/v4/DownloadInvoices/active-invoices", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["message"].startswith("Authorization has been denied")


def test_b2b_upload_goes_oi_then_rc(client: FlaskClient) -> None:
    tok = token(client)
    response = upload(client, tok, invoice(progressive="A0001"))
    assert response.status_code == 200
    progressivo = response.get_json()["progressivoInvio"]
    assert progressivo == "A0001"
    first = statuses(client, tok, progressivo)
    assert [e.tag for e in first] == ["NotificaDitech"]
    assert first[0].findtext("TipoNotifica") == "OI"
    sdi_id = first[0].findtext("IdentificativoSDI")
    advance(client, 120)
    later = statuses(client, tok, progressivo)
    assert [e.tag for e in later] == ["NotificaDitech", f"{B2B_NS}RicevutaConsegna"]
    rc = later[1]
    assert rc.findtext("IdentificativoSdI") == sdi_id
    assert rc.findtext("NomeFile").startswith("IT02470300373_")
    assert rc.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is not None


def test_invalid_invoice_is_rejected_with_real_code(client: FlaskClient) -> None:
    tok = token(client)
    body = invoice(customer_vat="01100220307", progressive="B0001")  # wrong check digit
    progressivo = upload(client, tok, body).get_json()["progressivoInvio"]
    advance(client, 299)
    assert len(statuses(client, tok, progressivo)) == 1
    advance(client, 1)
    ns = statuses(client, tok, progressivo)[1]
    assert ns.tag == f"{B2B_NS}RicevutaScarto"
    errors = ns.findall("ListaErrori/Errore")
    assert [e.findtext("Codice") for e in errors] == ["00305"]
    assert errors[0].findtext("Descrizione") == "1.4.1.1.2 <IdCodice> non valido : 01100220307"


def test_reserved_area_mc_for_0000000_without_pec(client: FlaskClient) -> None:
    tok = token(client)
    progressivo = upload(client, tok, invoice(recipient_code="0000000", progressive="C0001")).get_json()[
        "progressivoInvio"
    ]
    advance(client, 180)
    mc = statuses(client, tok, progressivo)[-1]
    assert mc.tag == f"{B2B_NS}RicevutaImpossibilitaRecapito"
    assert mc.findtext("DataMessaADisposizione") == "2026-03-02"


def test_pa_invoice_gets_rc_then_dt_after_15_days(client: FlaskClient) -> None:
    tok = token(client)
    progressivo = upload(client, tok, invoice(pa=True, progressive="D0001")).get_json()["progressivoInvio"]
    advance(client, 120)
    assert statuses(client, tok, progressivo)[-1].tag == f"{PA_NS}RicevutaConsegna"
    advance(client, 15 * 86400 - 1)
    tok = token(client)
    assert statuses(client, tok, progressivo)[-1].tag == f"{PA_NS}RicevutaConsegna"
    advance(client, 1)
    dt = statuses(client, tok, progressivo)[-1]
    assert dt.tag == f"{PA_NS}NotificaDecorrenzaTermini"


def test_causale_triggers_force_ne_and_ns(client: FlaskClient) -> None:
    tok = token(client)
    refused = upload(client, tok, invoice(pa=True, causale="SANDBOX:NE-EC02", progressive="E0001"))
    rejected = upload(client, tok, invoice(causale="SANDBOX:NS:00404", progressive="E0002", seed=7))
    advance(client, 86400 + 120)
    tok = token(client)
    ne = statuses(client, tok, refused.get_json()["progressivoInvio"])[-1]
    assert ne.tag == f"{PA_NS}NotificaEsito"
    assert ne.findtext("EsitoCommittente/Esito") == "EC02"
    ns = statuses(client, tok, rejected.get_json()["progressivoInvio"])[-1]
    assert ns.findtext("ListaErrori/Errore/Codice") == "00404"


def test_owner_check_is_403_and_self_billing_uses_the_customer(client: FlaskClient) -> None:
    tok = token(client)
    foreign = upload(client, tok, invoice(supplier_vat=OTHER_VAT))
    assert foreign.status_code == 403
    assert OTHER_VAT in foreign.get_json()["message"]


def test_bad_xml_is_400_with_message(client: FlaskClient) -> None:
    tok = token(client)
    for body, expected in [
        (b"", "empty"),
        (b"<not-closed", "not valid XML"),
        (b"<Foo/>", "not an electronic invoice"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "not valid XML"),
    ]:
        response = upload(client, tok, body)
        assert response.status_code == 400, body
        assert expected in response.get_json()["message"], response.get_json()


def test_v2_refuses_a_repeated_progressivo_with_409_v3_assigns_a_new_one(client: FlaskClient) -> None:
    tok = token(client)
    first = upload(client, tok, invoice(progressive="F0001", number="10"), route="v2")
    assert first.status_code == 200 and first.get_json() == {"progressivoInvio": "F0001"}
    again = upload(client, tok, invoice(progressive="F0001", number="11"), route="v2")
    assert again.status_code == 409
    assert "F0001" in again.get_json()["message"]
    v3 = upload(client, tok, invoice(progressive="F0001", number="12"), route="v3")
    assert v3.status_code == 200
    assert v3.get_json()["progressivoInvio"] not in {"F0001", ""}


def test_v3_only_endpoints_do_not_exist_on_v2_nor_v5(client: FlaskClient) -> None:
    tok = token(client)
    assert (
        client.get("/easytracking/api/v2/DownloadInvoices/active-invoices", headers=bearer(tok)).status_code
        == 404
    )
    assert client.post("/easytracking/api/v5/ActiveInvoices", headers=bearer(tok)).status_code == 404


def test_duplicate_number_gets_intermediary_si(client: FlaskClient) -> None:
    tok = token(client)
    upload(client, tok, invoice(progressive="G0001", number="77/C"))
    second = upload(client, tok, invoice(progressive="G0002", number="77/C", seed=9))
    assert second.status_code == 200
    si = statuses(client, tok, second.get_json()["progressivoInvio"])
    assert [e.findtext("TipoNotifica") for e in si] == ["SI"]
    assert si[0].findtext("Scarto/ListaErrori/Errore/Descrizione").strip() == 'Fattura "77/C" esistente'


def test_new_notifications_job_zip_and_mark_as_got(client: FlaskClient) -> None:
    tok = token(client)
    upload(client, tok, invoice(progressive="H0001", number="1"))
    upload(client, tok, invoice(progressive="H0002", number="2", seed=3))
    advance(client, 120)
    listed = new_notifications(client, tok)
    assert listed["total"] == 4
    assert [n["fileName"].split("_")[-2] for n in listed["notifications"]] == ["OI", "OI", "RC", "RC"]
    ids = [n["notificationId"] for n in listed["notifications"]]
    booked = client.post(
        "/easytracking/api/v4/InvoiceNotifications/jobs", json={"notificationIds": ids}, headers=bearer(tok)
    )
    assert booked.status_code == 202
    job = booked.get_json()["jobId"]
    assert len(job) == 36
    url = f"/easytracking/api/v4/InvoiceNotifications/jobs/{job}"
    assert client.get(url, headers=bearer(tok)).status_code == 202
    advance(client, 5)
    ready = client.get(url, headers=bearer(tok))
    assert ready.status_code == 200 and ready.mimetype == "application/octet-stream"
    archive = zipfile.ZipFile(io.BytesIO(ready.data))
    index = json.loads(archive.read("indice.json"))
    assert [f["notificationId"] for f in index["files"]] == ids
    assert set(index["files"][0]) == {"notificationId", "docId", "progressivoInvio", "fileName"}
    for entry in index["files"]:
        assert archive.read(entry["fileName"]).startswith(b"<?xml")
    gone = client.get(url, headers=bearer(tok))
    assert gone.status_code == 403
    assert (
        client.post(
            "/easytracking/api/v4/InvoiceNotifications/set-notifications-as-got",
            json={"notificationIds": ids[:3]},
            headers=bearer(tok),
        ).status_code
        == 200
    )
    assert [n["notificationId"] for n in new_notifications(client, tok)["notifications"]] == ids[3:]


def test_status_read_marks_notifications_taken(client: FlaskClient) -> None:
    tok = token(client)
    progressivo = upload(client, tok, invoice(progressive="I0001")).get_json()["progressivoInvio"]
    assert new_notifications(client, tok)["total"] == 1
    statuses(client, tok, progressivo)
    assert new_notifications(client, tok)["total"] == 0


def test_job_expires_after_24_hours_and_other_tenant_gets_403(client: FlaskClient) -> None:
    tok, other = token(client), token(client, "other")
    upload(client, tok, invoice(progressive="J0001"))
    ids = [n["notificationId"] for n in new_notifications(client, tok)["notifications"]]
    job = client.post(
        "/easytracking/api/v4/InvoiceNotifications/jobs", json={"notificationIds": ids}, headers=bearer(tok)
    ).get_json()["jobId"]
    url = f"/easytracking/api/v4/InvoiceNotifications/jobs/{job}"
    advance(client, 10)
    assert client.get(url, headers=bearer(other)).status_code == 403
    assert (
        client.post(
            "/easytracking/api/v4/InvoiceNotifications/jobs",
            json={"notificationIds": ids},
            headers=bearer(other),
        ).status_code
        == 403
    )
    advance(client, 86400)
    tok = token(client)
    expired = client.get(url, headers=bearer(tok))
    assert expired.status_code == 403
    assert job in expired.get_json()["message"]


def test_job_input_errors(client: FlaskClient) -> None:
    tok = token(client)
    base = "/easytracking/api/v4/InvoiceNotifications/jobs"
    cases = [
        ({"notificationIds": []}, "non-empty"),
        ({"notificationIds": list(range(1, 102))}, "at most 100"),
        ({"notificationIds": ["a"]}, "not an integer"),
        ({"other": [1]}, "notificationIds"),
    ]
    for payload, expected in cases:
        response = client.post(base, json=payload, headers=bearer(tok))
        assert response.status_code == 400, payload
        assert expected in response.get_json()["message"]
    bad_guid = client.get(f"{base}/not-a-guid", headers=bearer(tok))
    assert bad_guid.status_code == 400
    assert bad_guid.get_json() == {"message": "'not-a-guid' is not a valid GUID"}


def test_active_invoices_fase_flags_and_filters(client: FlaskClient) -> None:
    tok = token(client)
    for i in range(3):
        upload(client, tok, invoice(progressive=f"K000{i}", number=str(100 + i), seed=20 + i))
    url = "/easytracking/api/v4/DownloadInvoices/active-invoices"
    listed = client.get(url, query_string={"fase1": "false"}, headers=bearer(tok)).get_json()
    assert listed["total"] == 3
    item = listed["invoices"][0]
    assert set(item) == {
        "progressivoInvio",
        "docId",
        "senderPIVA",
        "senderCF",
        "receiverPIVA",
        "receiverCF",
        "data",
        "number",
        "documentType",
        "sdiId",
        "dataRicezione",
        "fileName",
    }
    assert item["dataRicezione"] == "2026-03-02 09:00:00"
    doc_ids = [i["docId"] for i in listed["invoices"]]
    assert (
        client.post(
            "/easytracking/api/v4/ActiveInvoices/doc-id/set-fase-1",
            json={"docIds": doc_ids[:2]},
            headers=bearer(tok),
        ).status_code
        == 200
    )
    fresh = client.get(url, query_string={"fase1": "false"}, headers=bearer(tok)).get_json()
    assert [i["docId"] for i in fresh["invoices"]] == doc_ids[2:]
    client.post(
        "/easytracking/api/v4/ActiveInvoices/progressivo-invio/clear-fase-1",
        json={"progressivoInvio": ["K0000"]},
        headers=bearer(tok),
    )
    assert client.get(url, query_string={"fase1": "true"}, headers=bearer(tok)).get_json()["total"] == 1
    forbidden = client.post(
        "/easytracking/api/v4/ActiveInvoices/doc-id/set-fase-2", json={"docIds": [9999]}, headers=bearer(tok)
    )
    assert forbidden.status_code == 403


def test_active_invoices_query_errors(client: FlaskClient) -> None:
    tok = token(client)
    url = "/easytracking/api/v4/DownloadInvoices/active-invoices"
    cases = [
        ({"invoiceDateFrom": "2026-01-01", "invoiceDateTo": "2026-03-01"}, 400, "cannot exceed 31 days"),
        ({"invoiceDateFrom": "2026-01-01", "invoiceDateTo": "2026-03-01", "fase1": "false"}, 200, None),
        ({"invoiceDateFrom": "2025-01-01", "invoiceDateTo": "2026-03-01", "fase2": "true"}, 400, "365"),
        (
            {
                "invoiceDateFrom": "2026-01-01",
                "invoiceDateTo": "2026-01-02",
                "invoiceReceivedDateTimeFrom": "2026-01-01 00:00:00",
                "invoiceReceivedDateTimeTo": "2026-01-02 00:00:00",
            },
            400,
            "Only one type",
        ),
        ({"invoiceDateFrom": "01/01/2026", "invoiceDateTo": "2026-01-02"}, 400, "yyyy-MM-dd"),
        ({"top": "100001"}, 413, "100000"),
        ({"top": "abc"}, 400, "integer"),
        ({"fase1": "maybe"}, 400, "true or false"),
    ]
    for query, status, expected in cases:
        response = client.get(url, query_string=query, headers=bearer(tok))
        assert response.status_code == status, (query, response.get_json())
        if expected:
            assert expected in response.get_json()["message"]


def test_invoice_job_by_progressivo_zip(client: FlaskClient) -> None:
    tok = token(client)
    upload(client, tok, invoice(progressive="L0001"))
    booked = client.post(
        "/easytracking/api/v4/DownloadInvoices/active/progressivo-invio/jobs",
        json={"progressivoInvio": ["L0001"]},
        headers=bearer(tok),
    )
    assert booked.status_code == 202
    advance(client, 5)
    response = client.get(
        f"/easytracking/api/v4/DownloadInvoices/active/jobs/{booked.get_json()['jobId']}", headers=bearer(tok)
    )
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    index = json.loads(archive.read("indice.json"))["files"]
    assert index[0]["progressivoInvio"] == "L0001"
    assert archive.read(index[0]["fileName"]).lstrip().startswith(b"<?xml")


def test_unknown_progressivo_is_404(client: FlaskClient) -> None:
    tok = token(client)
    response = client.get(
        "/easytracking/api/v4/InvoiceNotifications",
        query_string={"progressivoInvio": "nope"},
        headers=bearer(tok),
    )
    assert response.status_code == 404
    assert response.get_json() == {"message": "No statuses available for progressivoInvio nope"}


def test_token_request_with_wrong_types_is_401_not_500(client: FlaskClient) -> None:
    for body in ({"username": {}, "password": []}, ["not", "an", "object"], "text"):
        payload = {**CREDENTIALS, **body} if isinstance(body, dict) else body
        response = client.post("/easytracking/api/Token/AccessToken", json=payload)
        assert response.status_code == 401, body
        assert "message" in response.get_json()


def test_ids_beyond_int64_are_400(client: FlaskClient) -> None:
    tok = token(client)
    response = client.post(
        "/easytracking/api/v4/ActiveInvoices/doc-id/set-fase-1", json={"docIds": [2**64]}, headers=bearer(tok)
    )
    assert response.status_code == 400
    assert response.get_json() == {"message": f"The value {2**64} in 'docIds' is out of range for an id"}
