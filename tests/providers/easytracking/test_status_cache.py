"""GET InvoiceNotifications answered from memory while nothing it shows has changed — never stale."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient

from emulator.state import Sandbox
from tests.conftest import advance
from tests.providers.easytracking.helpers import bearer, invoice, token, upload

STATUS = "/easytracking/api/v4/InvoiceNotifications"


@contextmanager
def _transactions_of_this_thread(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many store transactions the calling thread opens (the journal's writer thread not counted)."""
    opened: list[int] = []
    me = threading.get_ident()
    original = sandbox.store.transaction  # every transaction: the view's, due work's, fault rules'

    @contextmanager
    def counting() -> Iterator[object]:
        if threading.get_ident() == me:
            opened.append(1)
        with original() as session:
            yield session

    monkeypatch.setattr(sandbox.store, "transaction", counting)
    yield opened


def _status(client: FlaskClient, auth: dict[str, str], progressivo: str) -> tuple[int, bytes]:
    answer = client.get(STATUS, query_string={"progressivoInvio": progressivo}, headers=auth)
    return answer.status_code, answer.get_data()


def test_a_repeated_status_is_served_without_the_store_until_a_notification_arrives(
    client: FlaskClient, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    tok = token(client)
    auth = bearer(tok)
    progressivo = upload(client, tok, invoice()).get_json()["progressivoInvio"]
    first = _status(client, auth, progressivo)  # marks the OI as taken: a write
    second = _status(client, auth, progressivo)  # computed again after that write, then kept
    assert first == second and first[0] == 200
    assert b"<TipoNotifica>OI</TipoNotifica>" in first[1]
    assert b"RicevutaConsegna" not in first[1]
    with _transactions_of_this_thread(sandbox, monkeypatch) as opened:
        assert _status(client, auth, progressivo) == second
        assert opened == []  # answered from memory
    advance(client, 1800)  # the SDI's outcome arrives (the token lives an hour)
    after = _status(client, auth, progressivo)
    assert after[0] == 200 and after[1] != second[1]
    assert b"RicevutaConsegna" in after[1]
    news = client.get(
        "/easytracking/api/v4/InvoiceNotifications/new-active-notifications", headers=auth
    ).get_json()["notifications"]
    assert [n for n in news if n["progressivoInvio"] == progressivo] == []  # the read marked it taken


def test_a_reset_refuses_the_old_token_even_for_a_kept_answer(client: FlaskClient) -> None:
    tok = token(client)
    auth = bearer(tok)
    progressivo = upload(client, tok, invoice()).get_json()["progressivoInvio"]
    _status(client, auth, progressivo)
    assert _status(client, auth, progressivo)[0] == 200
    client.post("/_sandbox/reset")
    status, body = _status(client, auth, progressivo)
    assert status == 401
    assert b"invalid token" in body


def test_an_expired_token_is_refused_even_for_a_kept_answer(client: FlaskClient) -> None:
    tok = token(client)
    auth = bearer(tok)
    progressivo = upload(client, tok, invoice()).get_json()["progressivoInvio"]
    _status(client, auth, progressivo)
    assert _status(client, auth, progressivo)[0] == 200
    advance(client, 3601)
    status, body = _status(client, auth, progressivo)
    assert status == 401
    assert b"token expired" in body


def test_another_tenant_never_gets_a_kept_answer(client: FlaskClient) -> None:
    tok = token(client)
    progressivo = upload(client, tok, invoice()).get_json()["progressivoInvio"]
    _status(client, bearer(tok), progressivo)
    assert _status(client, bearer(tok), progressivo)[0] == 200
    status, body = _status(client, bearer(token(client, "other")), progressivo)
    assert status == 404
    assert progressivo.encode() in body and b"No statuses available" in body
