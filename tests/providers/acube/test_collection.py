"""A-Cube's collection: every filter of GET /invoices, its zip, GET /invoices/report and the drafts' list."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from emulator.providers.acube import collection, records
from emulator.providers.acube.models import AcubeInvoice
from emulator.providers.acube.service import ACUBE_VAT, FILE_PREFIX, SENDING_SECONDS
from emulator.sdi.generator import InvoiceGenerator, PartySpec
from emulator.state import Sandbox
from tests.conftest import advance
from tests.providers.acube.test_invoices import (
    CUSTOMER_VAT,
    INVOICES,
    SANDBOX_VAT,
    assert_problem,
    auth,
    created_uuid,
    get,
    token_of,
)

SECOND_VAT = "26174960638"  # the sandbox account's other VAT number
PERSON_CF = "RSSMRA80A01H501U"
DRAFTS = f"{INVOICES}/draft"
REPORT = f"{INVOICES}/report"
REJECT = "SANDBOX:NS:00305"


@pytest.fixture
def token(client: FlaskClient) -> str:
    return token_of(client)


def xml(
    *,
    seed: int,
    number: str,
    issue_date: dt.date,
    document_type: str = "TD01",
    supplier_vat: str = SANDBOX_VAT,
    supplier_name: str = "Sandbox S.r.l.",
    customer: PartySpec | None = None,
    causale: str | None = None,
) -> bytes:
    return (
        InvoiceGenerator(seed)
        .generate(
            supplier=PartySpec(vat=supplier_vat, fiscal_code=supplier_vat, name=supplier_name),
            customer=customer or PartySpec(vat=CUSTOMER_VAT, name="Cliente Prova S.p.A."),
            document_type=document_type,
            issue_date=issue_date,
            number=number,
            transmitter=("IT", ACUBE_VAT),
            recipient_code="M5UXCR1",
            causale=causale,
        )
        .xml
    )


def patch(sandbox: Sandbox, uuid: str, **values: Any) -> None:
    """Set columns other operations (downloaded, archive-rejected, a signed upload) would set."""
    with sandbox.transaction() as session:
        row = session.execute(select(AcubeInvoice).where(AcubeInvoice.uuid == uuid)).scalar_one()
        for name, value in values.items():
            setattr(row, name, value)


def uuids_of(client: FlaskClient, token: str, path: str, query: str = "") -> list[str]:
    response = client.get(f"{path}{query}", headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return [item["uuid"] for item in response.get_json()]


@pytest.fixture
def four(client: FlaskClient, token: str, sandbox: Sandbox) -> dict[str, str]:
    """a: A1 2026-01-10 TD01, signed, delivered; b: B2 2026-02-20 TD04 to Mario Rossi (CF only
    matters), downloaded, rejected; c: C3 2026-03-01 TD01 from the second VAT, stamp, to PA,
    delivered; d: D4 2026-02-20 TD01, rejected and archived. Created a minute apart."""
    person = PartySpec(fiscal_code=PERSON_CF, first_name="Mario", last_name="Rossi")
    bodies = {
        "a": xml(seed=1, number="A1", issue_date=dt.date(2026, 1, 10)),
        "b": xml(
            seed=2, number="B2", issue_date=dt.date(2026, 2, 20), document_type="TD04", customer=person,
            causale=REJECT,
        ),
        "c": xml(
            seed=3, number="C3", issue_date=dt.date(2026, 3, 1), supplier_vat=SECOND_VAT,
            supplier_name="Seconda Sede S.r.l.",
        ),
        "d": xml(seed=4, number="D4", issue_date=dt.date(2026, 2, 20), causale=REJECT),
    }  # fmt: skip
    made: dict[str, str] = {}
    for key, body in bodies.items():
        made[key] = created_uuid(client, token, body)
        advance(client, 60)
    advance(client, SENDING_SECONDS + 300)
    for uuid in made.values():  # the generator adds a stamp duty where the lines need one
        patch(sandbox, uuid, stamp=False)
    patch(sandbox, made["a"], file_name="IT01234567890_AAAAA.xml.p7m")
    patch(sandbox, made["b"], downloaded=True)
    patch(sandbox, made["c"], stamp=True, to_pa=True)
    patch(sandbox, made["d"], archived_at=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC))
    return made


FILTERS = [
    ("", "abcd"),
    ("?invoice_number=B2", "b"),
    ("?invoice_number=", "abcd"),
    ("?signed=true", "a"),
    ("?signed=1", "a"),
    ("?signed=false", "bcd"),
    ("?signed=0", "bcd"),
    ("?downloaded=true", "b"),
    ("?downloaded=false", "acd"),
    ("?stamp=true", "c"),
    ("?stamp=false", "abd"),
    ("?toPa=true", "c"),
    ("?toPa=0", "abd"),
    ("?type=0", "abcd"),
    ("?type=1", ""),
    (f"?sender={SECOND_VAT}", "c"),
    (f"?sender={SANDBOX_VAT},{SECOND_VAT}", "abcd"),
    (f"?recipient={PERSON_CF.lower()}", "b"),
    ("?rejectedToFix=true", "b"),
    ("?rejectedToFix=1", "b"),
    ("?rejectedToFix=false", "acd"),
    ("?sender.business_name=SANDBOX", "abd"),
    ("?sender.business_name=seconda%20sede", "c"),
    ("?recipient.business_name=rossi", "b"),
    ("?recipient.business_name=MARIO%20R", "b"),
    ("?recipient.business_name=cliente", "acd"),
    ("?recipient.business_name=%25", ""),  # a literal %, not a wildcard
    (f"?recipient.business_vat_number_code={CUSTOMER_VAT}", "acd"),
    (
        f"?recipient.business_vat_number_code[]=00000000000&recipient.business_vat_number_code[]={CUSTOMER_VAT}",
        "acd",
    ),
    (f"?recipient.business_fiscal_code={PERSON_CF}", "b"),
    (f"?recipient.business_fiscal_code[]=X&recipient.business_fiscal_code[]={PERSON_CF.lower()}", "b"),
    (f"?sender.business_vat_number_code={SECOND_VAT}", "c"),
    (
        f"?sender.business_vat_number_code[]={SANDBOX_VAT}&sender.business_vat_number_code[]={SECOND_VAT}",
        "abcd",
    ),
    (f"?sender.business_fiscal_code={SANDBOX_VAT}", "abd"),
    (f"?sender.business_fiscal_code[]={SECOND_VAT}", "c"),
    ("?marking=rejected", "bd"),
    ("?marking=delivered", "ac"),
    ("?marking[]=delivered&marking[]=rejected", "abcd"),
    ("?marking=draft", ""),
    ("?marking=quarantena", ""),
    ("?document_type=TD04", "b"),
    ("?document_type[]=TD01", "acd"),
    ("?document_type[]=TD01&document_type[]=TD04", "abcd"),
    ("?invoice_date[before]=2026-02-20", "abd"),
    ("?invoice_date[strictly_before]=2026-02-20", "a"),
    ("?invoice_date[after]=2026-02-20", "bcd"),
    ("?invoice_date[strictly_after]=2026-02-20", "c"),
    ("?invoice_date[before]=2026-02-20T10:00:00", "abd"),
    ("?invoice_date[strictly_before]=2026-02-20T10:00:00", "abd"),
    ("?invoice_date[after]=2026-02-20T10:00:00", "c"),
    ("?invoice_date[after]=2026-02-19T23:00:00Z", "bcd"),  # midnight in Rome
    ("?invoice_date[after]=2026-01-01&invoice_date[strictly_before]=2026-03-01", "abd"),
    # combinations
    ("?marking=rejected&document_type=TD01", "d"),
    ("?rejectedToFix=false&sender.business_name=sandbox", "ad"),
    ("?recipient.business_name=cliente&invoice_date[strictly_before]=2026-03-01&signed=false", "d"),
    (f"?sender={SANDBOX_VAT}&downloaded=false&stamp=false&toPa=false", "ad"),
    # unknown parameters are ignored
    ("?foo=bar&order[foo]=sideways&created_at[sometime]=never", "abcd"),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_each_filter_in_sql_and_in_memory(
    client: FlaskClient, token: str, sandbox: Sandbox, four: dict[str, str], query: str, expected: str
) -> None:
    assert uuids_of(client, token, INVOICES, query) == [four[k] for k in expected]
    # The same predicates read in memory (as the drafts are filtered) give the same invoices.
    assert in_memory(sandbox, query) == [four[k] for k in expected]


def in_memory(sandbox: Sandbox, query: str) -> list[str]:
    """The invoices the filter selects when read in memory, as the drafts are filtered."""
    chosen = collection.parse_filter(MultiDict(parse_qsl(query.lstrip("?"), keep_blank_values=True)))
    with sandbox.transaction() as session:
        rows = session.execute(select(AcubeInvoice).order_by(AcubeInvoice.id)).scalars().all()
        return [row.uuid for row in chosen.page_of(rows, lambda row: row, records.marking_of)]


def test_created_at_filters(client: FlaskClient, token: str, four: dict[str, str]) -> None:
    created = {
        item["uuid"]: item["created_at"] for item in client.get(INVOICES, headers=auth(token)).get_json()
    }
    b_at = quote(created[four["b"]])
    assert uuids_of(client, token, INVOICES, f"?created_at[after]={b_at}") == [four[k] for k in "bcd"]
    assert uuids_of(client, token, INVOICES, f"?created_at[strictly_after]={b_at}") == [four[k] for k in "cd"]
    assert uuids_of(client, token, INVOICES, f"?created_at[before]={b_at}") == [four[k] for k in "ab"]
    assert uuids_of(client, token, INVOICES, f"?created_at[strictly_before]={b_at}") == [four["a"]]
    assert uuids_of(client, token, INVOICES, f"?created_at[after]={b_at}&marking=rejected") == [
        four["b"],
        four["d"],
    ]


ORDERS = [
    ("?order[invoice_date]=asc", "abdc"),
    ("?order[invoice_date]=desc", "cbda"),  # b and d share the date: then by id
    ("?order[invoice_date]=DESC", "cbda"),
    ("?order[invoice_number]=asc", "abcd"),
    ("?order[invoice_number]=desc", "dcba"),
    ("?order[invoice_date]=desc&order[invoice_number]=desc", "cdba"),
    ("?order[invoice_date]=asc&order[invoice_number]=desc", "adbc"),
    ("?order[invoice_number]=desc&order[invoice_date]=asc", "dcba"),  # the query's order counts
    ("?order[invoice_date]=desc&marking=rejected", "bd"),
]


@pytest.mark.parametrize(("query", "expected"), ORDERS)
def test_ordering(
    client: FlaskClient, token: str, sandbox: Sandbox, four: dict[str, str], query: str, expected: str
) -> None:
    assert uuids_of(client, token, INVOICES, query) == [four[k] for k in expected]
    assert in_memory(sandbox, query) == [four[k] for k in expected]


def test_pages_follow_the_order(client: FlaskClient, token: str) -> None:
    made = [
        created_uuid(client, token, xml(seed=n, number=f"P{n:02d}", issue_date=dt.date(2026, 1, 1 + n)))
        for n in range(31)
    ]
    assert uuids_of(client, token, INVOICES) == made[:30]
    assert uuids_of(client, token, INVOICES, "?page=2") == made[30:]
    assert uuids_of(client, token, INVOICES, "?page=3") == []
    assert uuids_of(client, token, INVOICES, "?order[invoice_date]=desc") == made[:0:-1]
    assert uuids_of(client, token, INVOICES, "?order[invoice_date]=desc&page=2") == made[:1]
    assert uuids_of(client, token, INVOICES, "?invoice_number=P30&page=1") == made[30:]


INVALID = [
    ("?signed=yes", 'The value "yes" of "signed" is not valid: use true, false, 1 or 0.'),
    ("?downloaded=", 'The value "" of "downloaded" is not valid: use true, false, 1 or 0.'),
    ("?stamp=on", 'The value "on" of "stamp" is not valid: use true, false, 1 or 0.'),
    ("?toPa=si", 'The value "si" of "toPa" is not valid: use true, false, 1 or 0.'),
    ("?rejectedToFix=2", 'The value "2" of "rejectedToFix" is not valid: use true, false, 1 or 0.'),
    ("?type=2", 'The value "2" of "type" is not valid: use 0 or 1.'),
    ("?page=0", 'The value "0" of "page" is not valid: use an integer from 1.'),
    ("?page=two", 'The value "two" of "page" is not valid: use an integer from 1.'),
    (
        "?created_at[after]=yesterday",
        'The value "yesterday" of "created_at[after]" is not a date or date-time.',
    ),
    (
        "?invoice_date[strictly_before]=31/01/2026",
        'The value "31/01/2026" of "invoice_date[strictly_before]" is not a date or date-time.',
    ),
    (
        "?marking[]=delivered&marking[]=Delivered",
        'The value "Delivered" of "marking[]" is not valid: use one of draft, waiting, sent, rejected, '
        "delivered, delivered-pa, not-delivered, accepted-pa, rejected-pa, deadline-terms, quarantena, "
        "invoice-error.",
    ),
    ("?order[invoice_date]=up", 'The value "up" of "order[invoice_date]" is not valid: use asc or desc.'),
    ("?order[invoice_number]=", 'The value "" of "order[invoice_number]" is not valid: use asc or desc.'),
]


@pytest.mark.parametrize("path", [INVOICES, REPORT, DRAFTS])
@pytest.mark.parametrize(("query", "detail"), INVALID)
def test_invalid_values_are_400(client: FlaskClient, token: str, path: str, query: str, detail: str) -> None:
    body = assert_problem(client.get(f"{path}{query}", headers=auth(token)), 400, detail)
    assert "violations" not in body


def test_invalid_values_are_400_in_json_ld_when_asked(client: FlaskClient, token: str) -> None:
    response = client.get(f"{INVOICES}?signed=maybe", headers=auth(token, Accept="application/ld+json"))
    assert response.status_code == 400
    assert response.mimetype == "application/ld+json"
    body = response.get_json()
    assert body["@type"] == "hydra:Error"
    assert body["hydra:description"] == 'The value "maybe" of "signed" is not valid: use true, false, 1 or 0.'


def test_collection_calls_without_a_token_are_401(client: FlaskClient) -> None:
    for path in (INVOICES, REPORT, DRAFTS):
        response = client.get(path)
        assert response.status_code == 401
        assert response.get_json() == {"code": 401, "message": "JWT Token not found"}


def test_another_accounts_invoices_are_in_no_list(
    client: FlaskClient, token: str, four: dict[str, str]
) -> None:
    other = token_of(client, "other@example.com", "other")
    assert uuids_of(client, other, INVOICES) == []
    assert uuids_of(client, other, REPORT) == []
    assert zipfile.ZipFile(io.BytesIO(zip_of(client, other).data)).namelist() == []


# -- zip ------------------------------------------------------------------------------------------


def zip_of(client: FlaskClient, token: str, query: str = "", accept: str = "application/zip") -> Any:
    return client.get(f"{INVOICES}{query}", headers=auth(token, Accept=accept))


def test_zip_holds_each_invoice_as_the_raw_file(client: FlaskClient, token: str) -> None:
    delivered = created_uuid(client, token, xml(seed=1, number="Z1", issue_date=dt.date(2026, 2, 1)))
    advance(client, SENDING_SECONDS + 120)
    waiting = created_uuid(client, token, xml(seed=2, number="Z2", issue_date=dt.date(2026, 2, 2)))
    incoming = client.post("/_sandbox/incoming-invoices", json={"recipient": SANDBOX_VAT})
    assert incoming.status_code in (200, 201), incoming.get_data(as_text=True)
    views = client.get(INVOICES, headers=auth(token)).get_json()
    assert [v["uuid"] for v in views][:2] == [delivered, waiting]
    received = views[2]["uuid"]

    response = zip_of(client, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="invoices.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert len(names) == 3
    assert names[0] == views[0]["sdi_file_name"] and names[2] == views[2]["sdi_file_name"]
    assert names[1].startswith(FILE_PREFIX) and names[1].endswith(".xml")  # not at the SDI yet
    for name, uuid in zip(names, (delivered, waiting, received), strict=True):
        raw = get(client, token, uuid, Accept="application/octet-stream")
        assert raw.status_code == 200
        assert archive.read(name) == raw.data

    assert zipfile.ZipFile(io.BytesIO(zip_of(client, token, "?type=1").data)).namelist() == [names[2]]
    assert zipfile.ZipFile(io.BytesIO(zip_of(client, token, "?order[invoice_number]=desc").data)).namelist()[
        :2
    ] == [names[1], names[0]]
    assert zipfile.ZipFile(io.BytesIO(zip_of(client, token, "?page=2").data)).namelist() == []


def test_zip_names_an_invoice_sent_to_oneself_apart(client: FlaskClient, token: str) -> None:
    body = (
        InvoiceGenerator(5)
        .generate(
            supplier=PartySpec(vat=SANDBOX_VAT, fiscal_code=SANDBOX_VAT, name="Sandbox S.r.l."),
            customer=PartySpec(vat=SANDBOX_VAT, name="Sandbox S.r.l."),
            document_type="TD01",
            issue_date=dt.date(2026, 2, 1),
            transmitter=("IT", ACUBE_VAT),
            recipient_code="M5UXCR1",
        )
        .xml
    )
    sent = created_uuid(client, token, body)
    advance(client, SENDING_SECONDS + 120)
    views = client.get(INVOICES, headers=auth(token)).get_json()
    names = zipfile.ZipFile(io.BytesIO(zip_of(client, token).data)).namelist()
    if len(views) == 2 and views[0]["sdi_file_name"] == views[1]["sdi_file_name"]:
        assert names == [views[0]["sdi_file_name"], f"{views[1]['uuid']}_{views[1]['sdi_file_name']}"]
    else:  # the SDI did not hand it back to the sender: one file
        assert views[0]["uuid"] == sent and names[0] == views[0]["sdi_file_name"]
    assert len(set(names)) == len(names)


def test_zip_with_invalid_filters_is_400_and_other_accepts_406(client: FlaskClient, token: str) -> None:
    assert_problem(
        zip_of(client, token, "?stamp=maybe"),
        400,
        'The value "maybe" of "stamp" is not valid: use true, false, 1 or 0.',
    )
    assert_problem(
        zip_of(client, token, accept="application/xml"),
        406,
        'Requested format "application/xml" is not supported. '
        'Supported MIME types are "application/json, application/ld+json, application/zip".',
    )
    default = client.get(INVOICES, headers=auth(token, Accept="*/*"))
    assert default.status_code == 200 and default.mimetype == "application/json"


# -- report ---------------------------------------------------------------------------------------


def test_report_rows(client: FlaskClient, token: str, four: dict[str, str]) -> None:
    response = client.get(REPORT, headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    rows = response.get_json()
    assert [r["uuid"] for r in rows] == [four[k] for k in "abcd"]
    views = {v["uuid"]: v for v in client.get(INVOICES, headers=auth(token)).get_json()}
    b = rows[1]
    assert set(b) == {
        "uuid", "type", "marking", "invoice_number", "invoice_date", "document_type", "created_at",
        "sender_vat_number", "sender_business_name", "recipient_vat_number", "recipient_business_name",
        "total_amount",
    }  # fmt: skip
    assert b["type"] == 0 and b["marking"] == "rejected"
    assert b["invoice_number"] == "B2" and b["invoice_date"] == "2026-02-20" and b["document_type"] == "TD04"
    assert b["sender_vat_number"] == SANDBOX_VAT and b["sender_business_name"] == "Sandbox S.r.l."
    assert b["recipient_business_name"] == "Mario Rossi"
    assert b["recipient_vat_number"] == views[four["b"]]["recipient"]["business_vat_number_code"]
    assert b["created_at"] == views[four["b"]]["created_at"]
    total = get(client, token, four["b"], Accept="application/xml").get_data(as_text=True)
    assert f"<ImportoTotaleDocumento>{b['total_amount']}</ImportoTotaleDocumento>" in total
    assert rows[2]["sender_vat_number"] == SECOND_VAT and rows[2]["marking"] == "delivered"


def test_report_takes_the_filters_and_the_order(
    client: FlaskClient, token: str, four: dict[str, str]
) -> None:
    assert uuids_of(client, token, REPORT, "?rejectedToFix=true") == [four["b"]]
    assert uuids_of(client, token, REPORT, "?document_type[]=TD01&order[invoice_number]=desc") == [
        four[k] for k in "dca"
    ]
    assert uuids_of(client, token, REPORT, "?page=2") == []


def test_report_is_json_only(client: FlaskClient, token: str) -> None:
    assert_problem(
        client.get(REPORT, headers=auth(token, Accept="application/zip")),
        406,
        'Requested format "application/zip" is not supported. '
        'Supported MIME types are "application/json, application/ld+json".',
    )


# -- drafts ---------------------------------------------------------------------------------------


def post_draft(client: FlaskClient, token: str, body: bytes) -> str:
    response = client.post(DRAFTS, data=body, headers=auth(token, **{"Content-Type": "application/xml"}))
    assert response.status_code == 201, response.get_data(as_text=True)
    value: str = response.get_json()["uuid"]
    return value


@pytest.fixture
def drafts(client: FlaskClient, token: str) -> dict[str, str]:
    """x: X1 2026-01-10 TD01 to Cliente Prova; y: Y2 2026-02-20 TD04 to Mario Rossi; z: an empty draft."""
    person = PartySpec(fiscal_code=PERSON_CF, first_name="Mario", last_name="Rossi")
    made = {
        "x": post_draft(client, token, xml(seed=1, number="X1", issue_date=dt.date(2026, 1, 10))),
        "y": post_draft(
            client,
            token,
            xml(seed=2, number="Y2", issue_date=dt.date(2026, 2, 20), document_type="TD04", customer=person),
        ),
    }
    response = client.post(DRAFTS, json={}, headers=auth(token))
    assert response.status_code == 201, response.get_data(as_text=True)
    made["z"] = response.get_json()["uuid"]
    created_uuid(client, token, xml(seed=3, number="Q3", issue_date=dt.date(2026, 2, 1)))  # not a draft
    return made


DRAFT_FILTERS = [
    ("", "xyz"),
    ("?marking=draft", "xyz"),
    ("?marking[]=waiting&marking[]=draft", "xyz"),
    ("?marking=waiting", ""),
    ("?type=0", "xyz"),
    ("?type=1", ""),
    ("?signed=false&downloaded=0&toPa=false", "xyz"),
    ("?signed=true", ""),
    ("?downloaded=1", ""),
    ("?rejectedToFix=true", ""),
    ("?rejectedToFix=false", "xyz"),
    ("?document_type=TD04", "y"),
    ("?document_type[]=TD01&document_type[]=TD04", "xy"),
    ("?invoice_number=X1", "x"),
    ("?invoice_date[strictly_after]=2026-01-10", "y"),
    ("?invoice_date[before]=2026-02-20T10:00:00", "xy"),
    ("?recipient.business_name=rossi", "y"),
    (f"?recipient.business_fiscal_code[]={PERSON_CF}", "y"),
    (f"?recipient.business_vat_number_code={CUSTOMER_VAT}", "x"),
    (f"?sender={SANDBOX_VAT}", "xy"),
    ("?sender.business_name=sandbox&document_type=TD01", "x"),
    ("?order[invoice_number]=desc", "yxz"),  # no number: last when descending
    ("?order[invoice_number]=asc", "zxy"),  # and first when ascending
    ("?order[invoice_date]=desc&page=2", ""),
    ("?foo=bar", "xyz"),
]


@pytest.mark.parametrize(("query", "expected"), DRAFT_FILTERS)
def test_drafts_take_the_same_filters(
    client: FlaskClient, token: str, drafts: dict[str, str], query: str, expected: str
) -> None:
    assert uuids_of(client, token, DRAFTS, query) == [drafts[k] for k in expected]


def test_draft_pages_follow_the_order(client: FlaskClient, token: str) -> None:
    made = [
        post_draft(client, token, xml(seed=n, number=f"D{n:02d}", issue_date=dt.date(2026, 1, 1 + n)))
        for n in range(31)
    ]
    assert uuids_of(client, token, DRAFTS) == made[:30]
    assert uuids_of(client, token, DRAFTS, "?page=2") == made[30:]
    assert uuids_of(client, token, DRAFTS, "?order[invoice_number]=desc") == made[:0:-1]
    assert uuids_of(client, token, DRAFTS, "?order[invoice_number]=desc&page=2") == made[:1]
