"""What the in-process contract suites share: sessions and Bearer auth, case steering, calls that
validate every answer, captured webhooks, the documents' examples and the stateful runs.

Each suite keeps what is its provider's own (credentials, seeded data, extra checks, steering rules,
assertions); the parameters here say where the providers differ.
"""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from schemathesis.core.failures import FailureGroup

from emulator.app import create_app
from emulator.core.xmlsafe import parse_xml
from tests.conftest import make_config

# -- the app --------------------------------------------------------------------------------------


def close_app(app: Flask) -> None:
    app.extensions["fattura_sandbox"].close()


def advance(app: Flask, seconds: int) -> None:
    """Virtual time passes on the sandbox's clock."""
    moved = app.test_client().post("/_sandbox/clock", json={"advance_seconds": seconds})
    assert moved.status_code == 200, moved.get_data(as_text=True)


def deliver_incoming(app: Flask, deliveries: Iterable[dict[str, Any]]) -> None:
    """Invoices the SDI delivers to the sandbox's users."""
    client = app.test_client()
    for delivery in deliveries:
        response = client.post("/_sandbox/incoming-invoices", json=delivery)
        assert response.status_code == 201, response.get_data(as_text=True)


def closing(app: Flask) -> Any:
    """A module-scoped autouse fixture that closes the module's app at the end."""

    @pytest.fixture(scope="module", autouse=True, name="_close_app")
    def fixture() -> Iterator[None]:
        yield
        close_app(app)

    return fixture


def app_fixture(prepare: Callable[[Flask], Any] | None = None, **config: Any) -> Any:
    """A fixture ``app``: a fresh sandbox made with ``make_config(**config)``, ``prepare``d, closed after."""

    @pytest.fixture(name="app")
    def fixture() -> Iterator[Flask]:
        application = create_app(make_config(**config))
        if prepare is not None:
            prepare(application)
        yield application
        close_app(application)

    return fixture


# -- auth -----------------------------------------------------------------------------------------


class Session:
    """A token that the app under test issued: ``read`` takes it from the answer to a POST on ``path``."""

    token: str | None = None

    def __init__(self, path: str, read: Callable[[Any], str], **request: Any) -> None:
        self.path, self.read, self.request = path, read, request

    def open(self, app: Flask) -> None:
        response = app.test_client().post(self.path, **self.request)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.token = self.read(response)

    def headers(self, app: Flask) -> dict[str, str]:
        """Open the session on ``app``: the Authorization header that carries its token."""
        self.open(app)
        return {"Authorization": f"Bearer {self.token}"}


def authorize(schema: Any, value: Callable[[schemathesis.Case], str | None]) -> None:
    """Every generated case carries the Authorization ``value`` gives it (Schemathesis leaves it out
    where it negates auth)."""

    @schema.auth(refresh_interval=None)
    class SandboxAuth:
        def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str | None:
            return value(case)

        def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
            case.headers = {**(case.headers or {}), "Authorization": data}


def bearer(schema: Any, session: Session) -> None:
    """Every generated case carries the session's token."""
    authorize(schema, lambda case: None if session.token is None else f"Bearer {session.token}")


# -- answers --------------------------------------------------------------------------------------


def operation_id(case: schemathesis.Case) -> str:
    return str(case.operation.definition.raw["operationId"])


def media_type(response: schemathesis.Response) -> str:
    return (response.headers.get("content-type") or [""])[0].split(";")[0].strip().lower()


def json_answer(
    response: schemathesis.Response,
    case: schemathesis.Case,
    is_json: Callable[[str], bool] = lambda media: media.endswith("json"),
) -> Any:
    """The JSON body of the operation's answer; None for a probe with another method (HEAD ...), or
    an answer whose media type ``is_json`` refuses, or no body."""
    if response.request.method != case.method.upper() or not is_json(media_type(response)):
        return None
    return response.json() if response.content else None


def validated(
    case: schemathesis.Case,
    response: schemathesis.Response,
    checks: list[Callable[..., Any]],
    *,
    tolerated: Callable[[schemathesis.Case, Exception], bool] | None = None,
    **transport: Any,
) -> None:
    """``case.validate_response`` with ``checks``; failures ``tolerated`` (known defects) left out."""
    if tolerated is None:
        case.validate_response(response, checks=checks, transport_kwargs=transport or None)
        return
    try:
        case.validate_response(response, checks=checks, transport_kwargs=transport or None)
    except FailureGroup as group:
        remaining = [failure for failure in group.exceptions if not tolerated(case, failure)]
        if remaining:
            failed = type(group)(remaining)
            failed.add_note(f"{case.as_curl_command()} -> {response.status_code} {response.text[:300]}")
            raise failed from None


# -- the per-operation run ------------------------------------------------------------------------


def operation_schema(
    document: Path | dict[str, Any],
    app: Flask,
    config: Any,
    auth: Session | Callable[[Any], None],
    map_case: Callable[[Any, schemathesis.Case], schemathesis.Case] | None = None,
) -> Any:
    """The document's operations, every generated case (and every probe a check sends on its own,
    like ignored_auth) going to ``app`` in-process, ``auth`` set up on them (a session: its Bearer
    token), ``map_case`` hooked."""
    if isinstance(document, dict):
        loaded = schemathesis.openapi.from_dict(document, config=config)
    else:
        loaded = schemathesis.openapi.from_path(document, config=config)
    loaded.app = app
    if isinstance(auth, Session):
        bearer(loaded, auth)
    else:
        auth(loaded)
    if map_case is not None:
        loaded.hook("map_case")(map_case)
    return loaded


def operation_ids(schema: Any) -> set[str]:
    return {result.ok().definition.raw["operationId"] for result in schema.get_all_operations()}


def assert_operations(schema: Any, count: int) -> None:
    """The schema runs ``count`` operations."""
    operations = operation_ids(schema)
    assert len(operations) == count, sorted(operations)


def pick(values: tuple[str, ...] | list[str], generated: Any) -> str | None:
    """Half of the generated values name real data (one of ``values``, chosen by the generated value)."""
    number = zlib.crc32(repr(generated).encode())
    return values[number // 2 % len(values)] if values and number % 2 == 0 else None


def positive(case: schemathesis.Case) -> bool:
    """A case of the positive phase: steering may change it (negative cases must stay invalid)."""
    return case.meta is not None and case.meta.generation.mode is schemathesis.GenerationMode.POSITIVE


# -- calls with real ids ----------------------------------------------------------------------------


class Caller:
    """Calls operations of ``schema`` on one app with ``headers``, validating every answer.

    ``expected`` is the status the call must answer (None: any). With ``media_from_body`` a body
    without a media type is sent as XML when it is bytes, JSON otherwise.
    """

    def __init__(
        self,
        app: Flask,
        schema: Any,
        validate: Callable[..., None],
        headers: dict[str, str] | None = None,
        *,
        media_from_body: bool = True,
        shown: int | None = None,
    ) -> None:
        self.app, self.schema, self.validate = app, schema, validate
        self.headers = dict(headers or {})
        self.media_from_body, self.shown = media_from_body, shown

    def __call__(
        self,
        operation: str,
        expected: int | None = 200,
        *,
        headers: dict[str, str] | None = None,
        **parts: Any,
    ) -> schemathesis.Response:
        if self.media_from_body and "body" in parts and "media_type" not in parts:
            parts["media_type"] = (
                "application/xml" if isinstance(parts["body"], bytes) else "application/json"
            )
        case = self.schema.find_operation_by_id(operation).Case(
            headers={**self.headers, **(headers or {})}, **parts
        )
        response = case.call(app=self.app)
        self.validate(case, response, app=self.app)
        if expected is not None:
            assert response.status_code == expected, (
                f"{operation}: {response.status_code} {response.text[: self.shown]}"
            )
        return response


# -- the document's examples ------------------------------------------------------------------------


def resolved(raw: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """A response, request body, parameter or example of the contract, following its $ref."""
    while "$ref" in item:
        node: Any = raw
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        item = node
    return item


def documented_examples(
    raw: dict[str, Any],
    methods: tuple[str, ...],
    *,
    webhooks: bool = True,
    headers: bool = False,
) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every example of a body, response or parameter of the ``methods``
    of the paths (and of the ``webhooks``), and with ``headers`` of a response header."""
    items = [*raw["paths"].items(), *(raw["webhooks"].items() if webhooks else ())]
    for path, item in items:
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method not in methods:
                continue
            label = f"{method.upper()} {path}"
            bodies = [("request", resolved(raw, operation.get("requestBody", {})))]
            bodies += [(status, resolved(raw, answer)) for status, answer in operation["responses"].items()]
            for where, part in bodies:
                for media in part.get("content", {}).values():
                    for name, example in media.get("examples", {}).items():
                        yield f"{label} {where} {name}", media["schema"], resolved(raw, example)["value"]
                if headers:
                    for header, spec in part.get("headers", {}).items():
                        spec = resolved(raw, spec)
                        if "example" in spec:
                            yield f"{label} {where} {header}", spec["schema"], spec["example"]
            for parameter in [*shared, *operation.get("parameters", [])]:
                parameter = resolved(raw, parameter)
                if "example" in parameter:
                    yield f"{label} {parameter['name']}", parameter["schema"], parameter["example"]


def validator(raw: dict[str, Any], part: dict[str, Any]) -> Any:
    """A validator of ``part``, a schema of the contract ``raw`` (its components at hand)."""
    return jsonschema_rs.Draft202012Validator({**part, "components": raw["components"]})


def check_examples(
    raw: dict[str, Any],
    examples: Iterable[tuple[str, dict[str, Any], Any]],
    is_xml: Callable[[Any], bool] | None = None,
) -> int:
    """Every example is valid against its schema (and with ``is_xml`` the XML ones parse); how many."""
    checked = 0
    for where, part, example in examples:
        problems = [error.message for error in validator(raw, part).iter_errors(example)]
        assert not problems, (where, problems)
        if is_xml is not None and is_xml(example):
            parse_xml(example.encode())
        checked += 1
    return checked


# -- webhooks ---------------------------------------------------------------------------------------


@dataclass
class Delivery:
    url: str
    headers: dict[str, str]
    body: bytes


def capture(app: Flask) -> list[Delivery]:
    """Webhooks go to a list instead of the network."""
    deliveries: list[Delivery] = []

    def transport(url: str, *, headers: Any, body: bytes, timeout: float) -> int:
        deliveries.append(Delivery(url, dict(headers), body))
        return 200

    app.extensions["fattura_sandbox"].webhook_transport = transport
    return deliveries


def webhook_body(raw: dict[str, Any], name: str, delivery: Delivery) -> Any:
    """The JSON body of a delivery, valid against the request body of the contract's webhook ``name``."""
    assert delivery.headers["Content-Type"].startswith("application/json"), delivery.headers
    body = json.loads(delivery.body)
    schema = raw["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]["schema"]
    problems = [error.message for error in validator(raw, schema).iter_errors(body)]
    assert not problems, (name, body, problems)
    return body


# -- stateful ---------------------------------------------------------------------------------------


class ScenarioApp:
    """The WSGI app of a stateful run: a fresh sandbox for every scenario, so that each replays alike.

    Made with ``make_config(**config)``, then ``prepare``d, then the ``session`` opened on it; every
    step moves its clock ``step_seconds`` on.
    """

    def __init__(
        self,
        step_seconds: int,
        session: Session | None = None,
        prepare: Callable[[Flask], Any] | None = None,
        **config: Any,
    ) -> None:
        self.step_seconds, self.session, self.prepare, self.config = step_seconds, session, prepare, config
        self.app: Flask | None = None

    def renew(self) -> None:
        self.close()
        self.app = create_app(make_config(**self.config))
        if self.prepare is not None:
            self.prepare(self.app)
        if self.session is not None:
            self.session.open(self.app)

    def tick(self) -> None:
        assert self.app is not None
        advance(self.app, self.step_seconds)

    def close(self) -> None:
        if self.app is not None:
            close_app(self.app)
            self.app = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "renew() first"
        return self.app(environ, start_response)


def workflow_schema(
    contract: Path,
    operations: list[str],
    app: ScenarioApp,
    config: Any,
    auth: Session | Callable[[Any], None],
    hooks: Iterable[Callable[..., Any]] = (),
    *,
    stateful_positive: bool = False,
) -> Any:
    """The ``operations`` of the contract with positive data only, going to the scenario's app, with
    ``auth`` (a session: its Bearer token) and the ``hooks`` (each registered under its name)."""
    loaded = schemathesis.openapi.from_path(contract, config=config)
    loaded.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE])
    if stateful_positive:
        loaded.config.phases.stateful.generation.update(modes=[schemathesis.GenerationMode.POSITIVE])
    loaded = loaded.include(operation_id=operations)
    loaded.app = app
    if isinstance(auth, Session):
        bearer(loaded, auth)
    else:
        auth(loaded)
    for hook in hooks:
        loaded.hook(hook)
    return loaded


def run_workflow(
    schema: Any,
    app: ScenarioApp,
    validate: Callable[..., None],
    *,
    scenarios: int,
    steps: int,
    key: Callable[[schemathesis.Case], str] = lambda case: case.operation.label,
    seen: Callable[[schemathesis.Response, schemathesis.Case], None] | None = None,
) -> dict[str, set[int]]:
    """Run the state machine of ``schema`` on fresh sandboxes, a step of virtual time before each call;
    the statuses seen, by ``key`` of the operation. ``seen`` is told every answer."""
    statuses: dict[str, set[int]] = defaultdict(set)

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            app.renew()

        def before_call(self, case: schemathesis.Case) -> None:
            app.tick()

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            statuses[key(case)].add(response.status_code)
            if seen is not None:
                seen(response, case)

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            validate(case, response, **kwargs)

    try:
        Workflow.run(
            settings=hypothesis.settings(
                max_examples=scenarios,
                stateful_step_count=steps,
                phases=[hypothesis.Phase.generate],
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
    finally:
        app.close()
    return statuses
