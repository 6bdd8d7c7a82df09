"""Aruba §8: findByUsername, getByFilename and getByInvoiceId on the sent box (and what both boxes share:
Spring's parameter binding, pagination, the premium rules, isolation between accounts)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from emulator.config import Config
from emulator.providers.aruba import records
from emulator.state import Sandbox
from tests.conftest import advance, make_config
from tests.providers.aruba.finding_helpers import assert_spring_error, force, get, sent
from tests.providers.aruba.helpers import (
    OTHER_VAT,
    SANDBOX_VAT,
    SANDBOX_VAT_2,
    invoice,
    token,
    upload,
    uploaded_name,
)

FIND = "/invoice/out/findByUsername"
PREMIUM = {"countrySender": "IT", "vatcodeSender": SANDBOX_VAT}
INVOICE_KEYS = [
    "errorCode",
    "errorDescription",
    "id",
    "sender",
    "receiver",
    "invoiceType",
    "docType",
    "file",
    "filename",
    "invoices",
    "username",
    "lastUpdate",
    "creationDate",
    "idSdi",
    "pddAvailable",
]
PAGE_KEYS = [
    "errorCode",
    "errorDescription",
    "content",
    "last",
    "totalElements",
    "totalPages",
    "size",
    "number",
    "first",
    "numberOfElements",
]


@pytest.fixture
def config() -> Config:
    return make_config(aruba_sla=False)


def find(client: FlaskClient, tok: str, **query: Any) -> Any:
    return get(client, tok, FIND, **{"username": "sandbox", **PREMIUM, **query})


def ids(response: Any) -> list[str]:
    return [item["id"] for item in response.get_json()["content"]]


def test_find_by_username_lists_sent_invoices_newest_first_without_content(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    first = sent(sandbox, seed=1, number="1/2026")
    advance(client, 60)
    second = sent(sandbox, seed=2, number="2/2026")
    tok = token(client)
    response = find(client, tok)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == PAGE_KEYS
    assert body["errorCode"] == "0000" and body["errorDescription"] is None
    assert ids(response) == [str(second.id), str(first.id)]
    assert (body["totalElements"], body["totalPages"], body["size"], body["number"]) == (2, 1, 10, 1)
    assert (body["first"], body["last"], body["numberOfElements"]) == (True, True, 2)
    item = body["content"][1]
    assert list(item) == INVOICE_KEYS
    assert item["errorCode"] is None and item["errorDescription"] is None
    assert item["file"] is None
    assert item["docType"] == "out"
    assert item["filename"] == first.filename
    assert item["username"] == "sandbox"
    assert item["invoiceType"] == "FPR12"
    assert item["idSdi"] == str(first.sdi_id)
    assert item["pddAvailable"] is True
    assert list(item["sender"]) == ["description", "countryCode", "vatCode", "fiscalCode"]
    assert item["sender"]["vatCode"] == SANDBOX_VAT
    assert item["receiver"]["vatCode"] == "01879020517"
    assert item["invoices"] == [
        {
            "invoiceDate": "2026-03-01T00:00:00.000+01:00",
            "number": "1/2026",
            "status": "Inviata",
            "statusDescription": "",
        }
    ]
    # 09:00 in Rome is 08:00 UTC; the second came a minute later.
    assert item["creationDate"] == "2026-03-02T08:00:00.000+0000"
    assert body["content"][0]["creationDate"] == "2026-03-02T08:01:00.000+0000"


def test_status_and_last_update_follow_the_sdi(client: FlaskClient, sandbox: Sandbox) -> None:
    delivered = sent(sandbox, seed=1, number="1/2026")
    rejected = sent(sandbox, seed=2, number="2/2026")
    force(client, rejected.filename, "NS")
    advance(client, 120)  # RC of the first
    tok = token(client)
    items = {item["id"]: item for item in find(client, tok).get_json()["content"]}
    assert items[str(delivered.id)]["invoices"][0]["status"] == "Consegnata"
    assert items[str(delivered.id)]["lastUpdate"] == "2026-03-02T08:02:00.000+0000"
    assert items[str(delivered.id)]["creationDate"] == "2026-03-02T08:00:00.000+0000"
    assert items[str(rejected.id)]["invoices"][0]["status"] == "Scartata"


def test_files_aruba_still_holds_show_their_own_status(client: FlaskClient, sandbox: Sandbox) -> None:
    waiting = sent(sandbox, seed=1, handed=False, status=records.TAKEN_IN_CHARGE)
    failed = sent(
        sandbox, seed=2, handed=False, status=records.PROCESSING_ERROR, description="Errore tecnico di invio"
    )
    items = {item["id"]: item for item in find(client, token(client)).get_json()["content"]}
    assert items[str(waiting.id)]["invoices"][0]["status"] == "Presa in carico"
    assert items[str(waiting.id)]["invoices"][0]["statusDescription"] == ""
    assert items[str(waiting.id)]["idSdi"] is None
    assert items[str(waiting.id)]["pddAvailable"] is False
    assert items[str(failed.id)]["invoices"][0] == {
        "invoiceDate": "2026-03-01T00:00:00.000+01:00",
        "number": items[str(failed.id)]["invoices"][0]["number"],
        "status": "Errore Elaborazione",
        "statusDescription": "Errore tecnico di invio",
    }


def test_an_empty_box_has_one_page_numbered_one_and_no_pages_counted(client: FlaskClient) -> None:
    response = get(client, token(client, "other"), FIND, username="other")
    assert response.status_code == 200
    body = response.get_json()
    assert body["content"] == []
    assert (body["totalElements"], body["totalPages"], body["number"], body["size"]) == (0, 0, 1, 10)
    assert (body["first"], body["last"], body["numberOfElements"]) == (True, True, 0)
    assert_spring_error(
        get(client, token(client, "other"), FIND, username="other", page=2),
        400,
        "page must be between 1 and totalPages (0)",
        "/services/invoice/out/findByUsername",
    )


def test_pages(client: FlaskClient, sandbox: Sandbox) -> None:
    made = []
    for n in range(5):
        made.append(sent(sandbox, seed=n + 1, number=f"{n + 1}/2026"))
        advance(client, 1)
    newest_first = [str(s.id) for s in reversed(made)]
    tok = token(client)
    pages = [find(client, tok, size=2, page=p).get_json() for p in (1, 2, 3)]
    assert [item["id"] for page in pages for item in page["content"]] == newest_first
    assert [(p["number"], p["first"], p["last"], p["numberOfElements"]) for p in pages] == [
        (1, True, False, 2),
        (2, False, False, 2),
        (3, False, True, 1),
    ]
    assert {(p["totalElements"], p["totalPages"], p["size"]) for p in pages} == {(5, 3, 2)}
    whole = find(client, tok, size=100).get_json()
    assert (whole["totalPages"], whole["numberOfElements"], whole["last"]) == (1, 5, True)
    assert find(client, tok, size=1, page=5).get_json()["content"][0]["id"] == str(made[0].id)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"page": "4", "size": "2"}, "page must be between 1 and totalPages (3)"),
        ({"page": "0"}, "page must be between 1 and totalPages"),
        ({"page": "-1"}, "page must be between 1 and totalPages"),
        ({"size": "0"}, "size must be between 1 and 100"),
        ({"size": "101"}, "size must be between 1 and 100"),
        ({"size": "-5"}, "size must be between 1 and 100"),
    ],
)
def test_page_and_size_out_of_range(
    client: FlaskClient, sandbox: Sandbox, query: dict[str, str], message: str
) -> None:
    for n in range(5):
        sent(sandbox, seed=n + 1, number=f"{n + 1}/2026")
    response = find(client, token(client), **query)
    assert_spring_error(response, 400, message, "/services/invoice/out/findByUsername")


def spring_mismatch(name: str, java_type: str, cause: str) -> str:
    return (
        f"Method parameter '{name}': Failed to convert value of type 'java.lang.String' "
        f"to required type '{java_type}'; {cause}"
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"page": "abc"}, spring_mismatch("page", "java.lang.Integer", 'For input string: "abc"')),
        ({"size": "1.5"}, spring_mismatch("size", "java.lang.Integer", 'For input string: "1.5"')),
        (
            {"page": "99999999999"},
            spring_mismatch("page", "java.lang.Integer", 'For input string: "99999999999"'),
        ),
        (
            {"startDate": "yesterday"},
            spring_mismatch("startDate", "java.util.Date", "Parse attempt failed for value [yesterday]"),
        ),
        (
            {"endDate": "2026-13-01"},
            spring_mismatch("endDate", "java.util.Date", "Parse attempt failed for value [2026-13-01]"),
        ),
        (
            {"endDate": "2026-03-02T25:00"},
            spring_mismatch("endDate", "java.util.Date", "Parse attempt failed for value [2026-03-02T25:00]"),
        ),
    ],
)
def test_parameters_spring_cannot_convert_are_400(
    client: FlaskClient, query: dict[str, str], message: str
) -> None:
    response = find(client, token(client), **query)
    assert_spring_error(response, 400, message, "/services/invoice/out/findByUsername")


def test_blank_numbers_take_their_defaults(client: FlaskClient, sandbox: Sandbox) -> None:
    sent(sandbox)
    body = find(client, token(client), page="", size=" ").get_json()
    assert (body["number"], body["size"]) == (1, 10)
    assert find(client, token(client), page="+1", size=" 3 ").get_json()["size"] == 3


def test_username_is_mandatory_and_must_be_the_tokens(client: FlaskClient) -> None:
    tok = token(client)
    path = "/services/invoice/out/findByUsername"
    missing = "Required request parameter 'username' for method parameter type String is not present"
    assert_spring_error(get(client, tok, FIND, **PREMIUM), 400, missing, path)
    assert_spring_error(get(client, tok, FIND, username="", **PREMIUM), 400, missing, path)
    mismatch = "The username must match the one with which the security token was requested"
    assert_spring_error(get(client, tok, FIND, username="other", **PREMIUM), 403, mismatch, path)
    assert_spring_error(get(client, tok, FIND, username="Sandbox", **PREMIUM), 403, mismatch, path)


def test_authentication_comes_before_the_parameters(client: FlaskClient) -> None:
    response = client.get(f"/aruba/services{FIND}?page=abc")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_premium_users_must_name_one_of_their_own_sending_parties(
    client: FlaskClient, sandbox: Sandbox
) -> None:
    mine = sent(sandbox, seed=1, number="1/2026")
    second = sent(sandbox, seed=2, number="2/2026", supplier_vat=SANDBOX_VAT_2)
    tok = token(client)
    path = "/services/invoice/out/findByUsername"
    mandatory = "countrySender and vatcodeSender are mandatory for a Premium user"
    assert_spring_error(get(client, tok, FIND, username="sandbox"), 400, mandatory, path)
    assert_spring_error(get(client, tok, FIND, username="sandbox", countrySender="IT"), 400, mandatory, path)
    assert_spring_error(
        get(client, tok, FIND, username="sandbox", vatcodeSender=SANDBOX_VAT), 400, mandatory, path
    )
    # The receiver's party does not stand in for the sender's on the sent box.
    assert_spring_error(
        get(client, tok, FIND, username="sandbox", countryReceiver="IT", vatcodeReceiver=SANDBOX_VAT),
        400,
        mandatory,
        path,
    )
    assert_spring_error(
        get(client, tok, FIND, username="sandbox", countrySender="IT", vatcodeSender=OTHER_VAT),
        403,
        f"The VAT number IT{OTHER_VAT} does not belong to the user sandbox",
        path,
    )
    assert_spring_error(
        get(client, tok, FIND, username="sandbox", countrySender="DE", vatcodeSender=SANDBOX_VAT),
        403,
        f"The VAT number DE{SANDBOX_VAT} does not belong to the user sandbox",
        path,
    )
    assert ids(find(client, tok)) == [str(mine.id)]
    assert ids(find(client, tok, vatcodeSender=SANDBOX_VAT_2, countrySender="it")) == [str(second.id)]


def test_party_filters_are_exact_matches(client: FlaskClient, sandbox: Sandbox) -> None:
    # aruba/other is not a Premium user: the six party parameters are plain filters.
    to_sandbox = sent(sandbox, tenant="other", seed=1, supplier_vat=OTHER_VAT, customer_vat=SANDBOX_VAT)
    to_outside = sent(sandbox, tenant="other", seed=2, supplier_vat=OTHER_VAT)
    tok = token(client, "other")

    def listed(**query: str) -> list[str]:
        response = get(client, tok, FIND, username="other", **query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return ids(response)

    assert set(listed()) == {str(to_sandbox.id), str(to_outside.id)}
    assert listed(vatcodeReceiver=SANDBOX_VAT) == [str(to_sandbox.id)]
    assert listed(vatcodeReceiver="01879020517") == [str(to_outside.id)]
    assert listed(vatcodeReceiver=SANDBOX_VAT[:-1]) == []
    assert len(listed(countrySender="it", vatcodeSender=OTHER_VAT)) == 2
    assert listed(countryReceiver="DE") == []
    assert len(listed(fiscalcodeSender=OTHER_VAT)) == 2
    assert listed(fiscalcodeReceiver="RMNLCU82B11D612S") == []


def test_creation_date_range_is_inclusive(client: FlaskClient, sandbox: Sandbox) -> None:
    monday = sent(sandbox, seed=1, number="1/2026")  # 2026-03-02 09:00 Rome
    advance(client, 86400)
    tuesday = sent(sandbox, seed=2, number="2/2026")  # 2026-03-03 09:00 Rome
    advance(client, 86400)
    wednesday = sent(sandbox, seed=3, number="3/2026")
    tok = token(client)
    assert ids(find(client, tok, startDate="2026-03-03")) == [str(wednesday.id), str(tuesday.id)]
    assert ids(find(client, tok, endDate="2026-03-03")) == [str(tuesday.id), str(monday.id)]
    assert ids(find(client, tok, startDate="2026-03-03", endDate="2026-03-03")) == [str(tuesday.id)]
    assert ids(find(client, tok, startDate="2026-03-03T09:00:00+01:00", endDate="2026-03-03T08:00:00Z")) == [
        str(tuesday.id)
    ]
    assert ids(find(client, tok, startDate="2026-03-03T09:00:00.001+01:00", endDate="2026-03-04")) == [
        str(wednesday.id)
    ]
    # Without an offset the time is Rome's; Aruba's own stamps (+0000) are accepted too.
    assert ids(find(client, tok, endDate="2026-03-02T09:00:00")) == [str(monday.id)]
    assert ids(find(client, tok, startDate="2026-03-04T08:00:00.000+0000")) == [str(wednesday.id)]
    assert ids(find(client, tok, startDate="2026-03-05")) == []
    # The ends of the calendar are dates like any other.
    every = [str(wednesday.id), str(tuesday.id), str(monday.id)]
    assert ids(find(client, tok, startDate="0001-01-01", endDate="9999-12-31")) == every
    assert (
        ids(find(client, tok, startDate="0001-01-01T00:00:00+14:00", endDate="9999-12-31T23:59:59-12:00"))
        == every
    )
    assert ids(find(client, tok, startDate="9999-12-31T23:59:59Z")) == []
    assert ids(find(client, tok, startDate="2026-03-04", endDate="2026-03-02")) == []


def test_listing_reads_a_page_in_a_fixed_number_of_queries(client: FlaskClient, sandbox: Sandbox) -> None:
    tok = token(client)

    def statements_for_a_listing() -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(str(args[2]))

        event.listen(sandbox.store.engine, "before_cursor_execute", count)
        try:
            assert find(client, tok, size=100).status_code == 200
        finally:
            event.remove(sandbox.store.engine, "before_cursor_execute", count)
        assert all("LIMIT" in s.upper() or "count(" in s.lower() for s in seen if "aruba_invoices" in s)
        return len(seen)

    sent(sandbox, seed=1, number="1/2026")
    with_one = statements_for_a_listing()
    for n in range(2, 8):
        sent(sandbox, seed=n, number=f"{n}/2026")
    advance(client, 120)
    assert statements_for_a_listing() == with_one


# -- getByFilename, getByInvoiceId -----------------------------------------------------------------


def detail_keys(*, pdf: bool = False) -> list[str]:
    keys = list(INVOICE_KEYS)
    if pdf:
        keys.insert(keys.index("pddAvailable"), "pdfFile")
    return keys


def test_get_by_filename_returns_the_file(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1, signed=True)
    response = get(client, token(client), "/invoice/out/getByFilename", filename=made.filename)
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == detail_keys()
    assert body["errorCode"] is None
    assert body["id"] == str(made.id)
    assert body["filename"] == made.filename
    with sandbox.transaction() as session:
        from emulator.providers.aruba.models import ArubaInvoice

        row = session.get(ArubaInvoice, made.id)
        assert row is not None
        assert base64.b64decode(body["file"]) == row.content
    assert body["file"].startswith("MI")  # a DER p7m, as stored


def test_get_by_invoice_id_is_the_same_with_error_code_0000(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1)
    tok = token(client)
    by_name = get(client, tok, "/invoice/out/getByFilename", filename=made.filename).get_json()
    response = get(client, tok, f"/invoice/out/{made.id}")
    assert response.status_code == 200
    by_id = response.get_json()
    assert by_id["errorCode"] == "0000"
    assert {**by_id, "errorCode": None} == by_name
    assert list(by_id) == detail_keys()


@pytest.mark.parametrize("signed", [False, True])
def test_include_pdf_renders_the_invoice(client: FlaskClient, sandbox: Sandbox, signed: bool) -> None:
    made = sent(sandbox, seed=1, signed=signed)
    tok = token(client)
    for path, query in (
        ("/invoice/out/getByFilename", {"filename": made.filename, "includePdf": "true"}),
        (f"/invoice/out/{made.id}", {"includePdf": "true"}),
    ):
        body = get(client, tok, path, **query).get_json()
        assert list(body) == detail_keys(pdf=True)
        assert base64.b64decode(body["pdfFile"]).startswith(b"%PDF")
        assert body["file"] is not None


def test_include_pdf_of_a_file_that_cannot_be_rendered_is_null(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, xml=b"<NotAnInvoice/>", handed=False, status=records.PROCESSING_ERROR)
    body = get(client, token(client), f"/invoice/out/{made.id}", includePdf="true").get_json()
    assert list(body) == detail_keys(pdf=True)
    assert body["pdfFile"] is None
    assert body["sender"] is None and body["invoices"] == []


def test_include_file_false_leaves_the_file_out(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1)
    tok = token(client)
    query = {"filename": made.filename, "includeFile": "false"}
    body = get(client, tok, "/invoice/out/getByFilename", **query).get_json()
    assert body["file"] is None
    assert "pdfFile" not in body
    assert get(client, tok, f"/invoice/out/{made.id}", includeFile="0").get_json()["file"] is None


@pytest.mark.parametrize(
    ("value", "pdf"), [("TRUE", True), ("1", True), ("yes", True), ("On", True), ("off", False), ("", False)]
)
def test_booleans_as_spring_reads_them(client: FlaskClient, sandbox: Sandbox, value: str, pdf: bool) -> None:
    made = sent(sandbox, seed=1)
    body = get(client, token(client), f"/invoice/out/{made.id}", includePdf=value).get_json()
    assert ("pdfFile" in body) is pdf


def test_a_boolean_spring_cannot_read_is_400(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1)
    assert_spring_error(
        get(client, token(client), f"/invoice/out/{made.id}", includeFile="maybe"),
        400,
        spring_mismatch("includeFile", "java.lang.Boolean", "Invalid boolean value 'maybe'"),
        f"/services/invoice/out/{made.id}",
    )


@pytest.mark.parametrize(
    ("raw", "cause"),
    [("abc", 'For input string: "abc"'), ("9223372036854775808", 'For input string: "9223372036854775808"')],
)
def test_an_invoice_id_that_is_not_a_long_is_400(client: FlaskClient, raw: str, cause: str) -> None:
    assert_spring_error(
        get(client, token(client), f"/invoice/out/{raw}"),
        400,
        spring_mismatch("invoiceId", "java.lang.Long", cause),
        f"/services/invoice/out/{raw}",
    )


def test_filename_is_mandatory(client: FlaskClient) -> None:
    missing = "Required request parameter 'filename' for method parameter type String is not present"
    tok = token(client)
    path = "/services/invoice/out/getByFilename"
    assert_spring_error(get(client, tok, "/invoice/out/getByFilename"), 400, missing, path)
    assert_spring_error(get(client, tok, "/invoice/out/getByFilename", filename=" "), 400, missing, path)


def test_unknown_invoices_are_404(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1)
    tok = token(client)
    assert_spring_error(
        get(client, tok, "/invoice/out/getByFilename", filename="IT01879020517_nope.xml"),
        404,
        "Invoice not found: filename IT01879020517_nope.xml",
        "/services/invoice/out/getByFilename",
    )
    assert_spring_error(
        get(client, tok, "/invoice/out/getByFilename", filename=made.filename.upper()),
        404,
        f"Invoice not found: filename {made.filename.upper()}",
        "/services/invoice/out/getByFilename",
    )
    for unknown in ("1", "-7", "9223372036854775807"):
        assert_spring_error(
            get(client, tok, f"/invoice/out/{unknown}"),
            404,
            f"Invoice not found: id {int(unknown)}",
            f"/services/invoice/out/{unknown}",
        )


def test_another_accounts_invoice_is_not_found(client: FlaskClient, sandbox: Sandbox) -> None:
    theirs = sent(sandbox, tenant="other", seed=1, supplier_vat=OTHER_VAT)
    mine = sent(sandbox, seed=2)
    tok = token(client)
    assert ids(find(client, tok)) == [str(mine.id)]
    assert get(client, tok, f"/invoice/out/{theirs.id}").status_code == 404
    assert get(client, tok, "/invoice/out/getByFilename", filename=theirs.filename).status_code == 404
    # Nor is a sent invoice found in the received box.
    assert get(client, tok, f"/invoice/in/{mine.id}").status_code == 404
    other = token(client, "other")
    assert ids(get(client, other, FIND, username="other")) == [str(theirs.id)]
    assert get(client, other, f"/invoice/out/{mine.id}").status_code == 404


def test_invoice_date_of_every_body(client: FlaskClient, sandbox: Sandbox) -> None:
    made = sent(sandbox, seed=1, issue_date=dt.date(2026, 7, 15), number="A-7")
    body = get(client, token(client), f"/invoice/out/{made.id}").get_json()
    # Summer time: +02:00.
    assert body["invoices"][0]["invoiceDate"] == "2026-07-15T00:00:00.000+02:00"
    assert body["invoices"][0]["number"] == "A-7"


def test_an_upload_is_found_through_its_whole_life(client: FlaskClient, sandbox: Sandbox) -> None:
    tok = token(client)
    name = uploaded_name(upload(client, tok, invoice(seed=7, number="UP-1")))

    def status() -> str:
        body = get(client, tok, "/invoice/out/getByFilename", filename=name).get_json()
        assert body["filename"] == name
        listed = find(client, tok).get_json()["content"]
        assert [item["filename"] for item in listed] == [name]
        assert listed[0]["invoices"][0]["status"] == body["invoices"][0]["status"]
        value: str = body["invoices"][0]["status"]
        return value

    assert status() == "Presa in carico"
    advance(client, sandbox.config.aruba_processing_seconds)
    assert status() == "Inviata"
    advance(client, 120)
    assert status() == "Consegnata"
    notifications = get(
        client, tok, "/notification/out/getByInvoiceFilename", invoiceFilename=name
    ).get_json()
    assert [n["docType"] for n in notifications["notifications"]] == ["RC"]
