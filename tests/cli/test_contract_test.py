"""``fattura-sandbox contract-test`` against sandboxes this module starts on free ports.

Schemathesis runs for real (its own CLI in a child process) with few examples and without its
coverage phase, which alone takes most of a full run (the full runs are in the README); a broken
server shows that a failure reaches the exit status and the JUnit report. The error paths (no
Schemathesis, a URL that does not answer, wrong credentials) and the provider logins are tested
directly.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from emulator.app import create_app
from emulator.cli import main
from emulator.contract_testing import CHECKS, Credentials, checks_for
from emulator.contract_testing import login as contract_login
from emulator.contract_testing.login import PROVIDERS, LoginError, obtain_token
from emulator.contract_testing.runner import (
    ContractTestError,
    ContractTestOptions,
    resolve_base_url,
    schemathesis_command,
)
from emulator.providers.easytracking import auth as easytracking_auth
from tests.conftest import make_config

FAST = ["--max-examples", "3", "--seed", "1", "--phases", "examples,fuzzing,stateful"]
# One operation has no links to follow: Schemathesis reports an explicitly asked stateful phase as an error.
ONE_OPERATION = ["--max-examples", "3", "--seed", "1", "--phases", "examples,fuzzing"]
Wsgi = Callable[[dict[str, Any], Any], Iterable[bytes]]


def serve(app: Wsgi) -> tuple[str, Callable[[], None]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join()

    return f"http://127.0.0.1:{server.server_port}", stop


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """A sandbox on a free port; Aruba's SLA off, as in the in-process contract suite (else 429s)."""
    app = create_app(make_config(aruba_sla=False))
    url, stop = serve(app)
    yield url
    stop()
    app.extensions["fattura_sandbox"].close()


def junit(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites", root.tag
    return root


def failures(root: ET.Element) -> list[ET.Element]:
    return [node for node in root.iter() if node.tag in ("failure", "error")]


def test_easytracking_route_v10_conforms(
    sandbox_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "et.xml"
    status = main(
        [
            "contract-test", "--provider", "easytracking", "--base-url", sandbox_url, "--junit", str(report),
            "--operations", "V10$|^getAccessToken$", *FAST,
        ]
    )  # fmt: skip
    out = capfd.readouterr().out
    assert status == 0, out[-3000:]
    assert f"against {sandbox_url}/easytracking" in out
    assert f"JUnit report written to {report}" in out
    root = junit(report)
    names = {case.get("name") for case in root.iter("testcase")}
    assert "POST /api/Token/AccessToken" in names
    assert "GET /api/v10/DownloadInvoices/passive-invoices" in names
    assert len([name for name in names if name and "/api/v10/" in name]) == 8, names
    assert failures(root) == [] and root.get("failures") == "0" and root.get("errors") == "0"


def test_aruba_conforms_with_the_default_report(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    status = main(["contract-test", "--provider", "aruba", "--base-url", f"{sandbox_url}/aruba", *FAST])
    out = capfd.readouterr().out
    assert status == 0, out[-3000:]
    report = tmp_path / "contract-test-aruba.xml"
    assert f"JUnit report written to {report}" in out
    root = junit(report)
    names = {case.get("name") for case in root.iter("testcase")}
    assert {"POST /auth/signin", "GET /auth/userInfo", "POST /services/invoice/upload"} <= names
    assert len(names) >= 28, names
    assert failures(root) == [] and root.get("failures") == "0"


def broken(app: Wsgi, path: str) -> Wsgi:
    """The sandbox, except that ``path`` answers 500."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == path:
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [json.dumps({"error": "broken on purpose"}).encode()]
        return app(environ, start_response)

    return wsgi


def test_a_server_error_fails_the_run_and_shows_in_the_junit(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    app = create_app(make_config(aruba_sla=False))
    url, stop = serve(broken(app, "/aruba/auth/userInfo"))
    report = tmp_path / "broken.xml"
    try:
        status = main(
            [
                "contract-test", "--provider", "aruba", "--base-url", url, "--junit", str(report),
                "--operations", "^getUserInfo$", *ONE_OPERATION,
            ]
        )  # fmt: skip
    finally:
        stop()
        app.extensions["fattura_sandbox"].close()
    out = capfd.readouterr().out
    assert status == 1, out[-3000:]
    root = junit(report)
    [case] = [case for case in root.iter("testcase") if case.get("name") == "GET /auth/userInfo"]
    [failure] = [node for node in case if node.tag == "failure"]
    assert "Server error" in (failure.get("message") or "") + (failure.text or "")
    assert int(root.get("failures") or 0) >= 1
    assert "Missing Open API links" not in out


def test_without_schemathesis_one_line_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "schemathesis" else real(name, *a)
    )
    status = main(["contract-test", "--provider", "aruba", "--base-url", "http://127.0.0.1:9"])
    err = capfd.readouterr().err
    assert status == 2
    hint = "pip install 'fattura-sandbox[contract]'"
    assert err == f"fattura-sandbox contract-test: schemathesis is not installed: {hint}\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_base_url_that_does_not_answer(capfd: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/aruba"
    status = main(["contract-test", "--provider", "aruba", "--base-url", url])
    err = capfd.readouterr().err
    assert status == 2
    assert err.startswith(f"fattura-sandbox contract-test: the base URL {url} does not answer"), err
    assert err.count("\n") == 1, err


def test_not_a_url(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["contract-test", "--provider", "acube", "--base-url", "localhost:8080"]) == 2
    assert "the base URL 'localhost:8080' is not an http(s) URL" in capfd.readouterr().err


def test_wrong_credentials_stop_before_the_run(sandbox_url: str, capfd: pytest.CaptureFixture[str]) -> None:
    status = main(["contract-test", "--provider", "aruba", "--base-url", sandbox_url, "--password", "wrong"])
    err = capfd.readouterr().err
    assert status == 2
    assert err.startswith(
        f"fattura-sandbox contract-test: no aruba token: POST {sandbox_url}/aruba/auth/signin answered 4"
    ), err
    assert err.count("\n") == 1, err


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_issues_a_token_with_the_default_account(sandbox_url: str, provider: str) -> None:
    base = resolve_base_url(provider, sandbox_url)
    assert base == f"{sandbox_url}/{provider}"
    token = obtain_token(provider, base, Credentials(), base_url=base)
    assert isinstance(token, str) and len(token) >= 20


def test_a_given_token_is_used_as_is() -> None:
    assert obtain_token("aruba", "http://127.0.0.1:9", Credentials(token="ready")) == "ready"


def test_wrong_openapi_key_is_a_login_error(sandbox_url: str) -> None:
    with pytest.raises(LoginError, match=r"POST .*/openapi/oauth/tokens answered 401"):
        obtain_token("openapi", f"{sandbox_url}/openapi", Credentials(password="not-the-key"))


def test_a_path_is_kept_and_a_foreign_root_is_not_a_sandbox(sandbox_url: str) -> None:
    assert resolve_base_url("aruba", f"{sandbox_url}/aruba/") == f"{sandbox_url}/aruba"
    url, stop = serve(lambda environ, start_response: start_response("404 Not Found", []) or [b""])
    try:
        assert resolve_base_url("aruba", url) == url
    finally:
        stop()
    with pytest.raises(ContractTestError, match="is not an http"):
        resolve_base_url("aruba", "ftp://example.com")


def test_the_checks_are_the_in_process_suites() -> None:
    from tests.contracts import CHECKS as SUITE_CHECKS

    assert list(CHECKS) == [check.__name__ for check in SUITE_CHECKS]
    assert checks_for("easytracking") == list(CHECKS)
    aruba = checks_for("aruba")
    assert "aruba_negative_data_rejection" in aruba and "negative_data_rejection" not in aruba
    assert "aruba_not_a_server_error" in aruba and "not_a_server_error" not in aruba


def test_the_easytracking_client_identity_is_the_sandboxs() -> None:
    assert (contract_login.API_NAME, contract_login.CLIENT_NAME, contract_login.CLIENT_SECRET) == (
        easytracking_auth.API_NAME,
        easytracking_auth.CLIENT_NAME,
        easytracking_auth.CLIENT_SECRET,
    )


def test_credentials_travel_by_environment() -> None:
    given = Credentials(token=None, username="u", password="p", email="e@example.com")
    env = given.to_env()
    assert env == {
        "FATTURA_CONTRACT_USERNAME": "u",
        "FATTURA_CONTRACT_PASSWORD": "p",
        "FATTURA_CONTRACT_EMAIL": "e@example.com",
    }
    assert Credentials.from_env(env) == given


def test_an_expired_token_is_renewed_during_the_run(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Aruba's token lasts 30 virtual minutes: the sandbox's clock jumps 31 minutes mid-run, the next
    call is a 401, and the run signs in again and goes on without a failure."""
    app = create_app(make_config(aruba_sla=False))
    control = app.test_client()
    seen = {"signin": 0, "userInfo": 0}

    def expiring(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path == "/aruba/auth/signin":
            seen["signin"] += 1
        elif path == "/aruba/auth/userInfo" and environ.get("HTTP_AUTHORIZATION", "").startswith("Bearer "):
            seen["userInfo"] += 1
            if seen["userInfo"] == 3:
                moved = control.post("/_sandbox/clock", json={"advance_seconds": 31 * 60})
                assert moved.status_code == 200, moved.get_data(as_text=True)
        return app(environ, start_response)

    url, stop = serve(expiring)
    try:
        status = main(
            [
                "contract-test", "--provider", "aruba", "--base-url", url, "--junit", str(tmp_path / "r.xml"),
                "--operations", "^getUserInfo$", *ONE_OPERATION,
            ]
        )  # fmt: skip
    finally:
        stop()
        app.extensions["fattura_sandbox"].close()
    out = capfd.readouterr().out
    assert status == 0, out[-3000:]
    # The check before the run, the run's first sign-in, and at least one after the token expired.
    assert seen["signin"] >= 3, seen
    assert seen["userInfo"] > 3, seen


def test_the_schemathesis_command(tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    every = ContractTestOptions(provider="aruba", base_url="http://x", junit=tmp_path / "r.xml")
    command = schemathesis_command(every, "http://x/aruba", config)
    assert command[1:7] == ["-m", "schemathesis.cli", "--config-file", str(config), "--no-color", "run"]
    assert command[command.index("--url") + 1] == "http://x/aruba"
    assert command[command.index("--checks") + 1] == ",".join(checks_for("aruba"))
    assert command[command.index("--report-junit-path") + 1] == str(tmp_path / "r.xml")
    assert "--phases" not in command and "--seed" not in command  # Schemathesis' four phases
    some = ContractTestOptions(provider="aruba", base_url="http://x", operations="^signin$", seed=7)
    command = schemathesis_command(some, "http://x/aruba", config)
    assert command[command.index("--phases") + 1] == "examples,coverage,fuzzing"
    assert command[command.index("--include-operation-id-regex") + 1] == "^signin$"
    assert command[command.index("--seed") + 1] == "7"
    assert some.junit_path == Path("contract-test-aruba.xml").resolve()
