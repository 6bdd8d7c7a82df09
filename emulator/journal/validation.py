"""A request against its provider's contract (``contracts/<provider>.yaml``): where and why it breaks it.

What is checked: the operation exists (server-relative path template and method); path, query and
header parameters (required, type, enum, bounds, pattern — by JSON Schema on the value coerced
from its string; arrays as repeated ``name=a&name=b`` when exploded, ``a,b`` when not, and
``deepObject`` parameters as ``name[key]=v``; bracketed names such as ``marking[]`` or
``order[invoice_date]`` are literal names in our contracts); the security requirement (the
credential's header or query parameter is there, with the right scheme); the body: its media type
against the operation's, and JSON (or form) bodies against the schema of that media type, with
jsonschema_rs (Draft 2020-12, the dialect of OpenAPI 3.1). XML and binary bodies: media type only.

The contracts are read once per process and compiled lazily, one schema at a time. A missing
contract means no validation (``Contract.load`` answers None); nothing here raises into a request:
``validate_request`` turns an internal error into a log line and no violations.

Decision: openapi-core was not adopted. It validates with the pure-Python ``jsonschema`` package
(several milliseconds per request on documents this size), and our contracts need bracketed
parameter names and lenient matching of the provider-relative server URL; this compact validator
on jsonschema_rs covers what certification judges in well under a millisecond.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jsonschema_rs
import yaml

log = logging.getLogger("fattura_sandbox.journal")

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_BODY_ERRORS = 10
NO_OPERATION = "no such operation in the contract"

Violation = dict[str, str]


@dataclass
class Operation:
    method: str
    template: str
    name: str
    spec: dict[str, Any]
    parameters: list[dict[str, Any]]
    regex: re.Pattern[str]
    literal_chars: int
    _validators: dict[str, Any] = field(default_factory=dict)


@dataclass
class MatchResult:
    operation: Operation | None
    violations: list[Violation]


_LOADING = threading.Lock()


class Contract:
    """One provider's OpenAPI document, indexed by path template and method."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = document.get("components") or {}
        self.security = document.get("security") or []
        self.base = self._server_base(document)
        self.literal: dict[str, dict[str, Operation]] = {}
        self.templated: list[tuple[int, re.Pattern[str], dict[str, Operation]]] = []
        self._index()

    # -- loading ---------------------------------------------------------------------------------

    @staticmethod
    def load(provider: str, directory: Path = CONTRACTS_DIR) -> Contract | None:
        """The provider's contract, read once per process; None when there is none (no validation)."""
        with _LOADING:  # a second caller waits for the first's reading instead of repeating it
            return Contract._read(provider, directory)

    @staticmethod
    @lru_cache(maxsize=16)
    def _read(provider: str, directory: Path) -> Contract | None:
        path = directory / f"{provider}.yaml"
        if not path.is_file():
            return None
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            with path.open("rb") as stream:
                document = yaml.load(stream, Loader=loader)  # a safe loader
            return Contract(document) if isinstance(document, dict) else None
        except Exception:
            log.exception("the contract %s cannot be read: requests to %s are not validated", path, provider)
            return None

    @staticmethod
    def _server_base(document: dict[str, Any]) -> str:
        for server in document.get("servers") or []:
            url = str(server.get("url", ""))
            if url.startswith("/"):
                return url.rstrip("/")
        return ""

    def _index(self) -> None:
        for template, item in (self.document.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            item = self.resolve(item)
            shared = [self.resolve(p) for p in item.get("parameters") or []]
            regex, literal_chars = _template_regex(template)
            by_method: dict[str, Operation] = {}
            for method in METHODS:
                spec = item.get(method)
                if not isinstance(spec, dict):
                    continue
                own = [self.resolve(p) for p in spec.get("parameters") or []]
                names = {(p.get("in"), p.get("name")) for p in own}
                params = [p for p in shared if (p.get("in"), p.get("name")) not in names] + own
                name = spec.get("operationId") or f"{method.upper()} {template}"
                by_method[method.upper()] = Operation(
                    method.upper(), template, name, spec, params, regex, literal_chars
                )
            if "{" in template:
                self.templated.append((literal_chars, regex, by_method))
            else:
                self.literal[template] = by_method
        # The most specific template first: /invoices/export before /invoices/{id}.
        self.templated.sort(key=lambda entry: -entry[0])

    def resolve(self, node: Any) -> Any:
        """Follow local ``$ref``s (``#/components/...``) until a node that is not one."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return node
            target: Any = self.document
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, dict) else None
            node = target if target is not None else {}
            seen += 1
        return node

    # -- matching ----------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> MatchResult:
        """The operation of ``method path`` (path below the provider's mount)."""
        if self.base and (path == self.base or path.startswith(self.base + "/")):
            path = path[len(self.base) :] or "/"
        matching = [self.literal[path]] if path in self.literal else []
        matching += [ops for _, regex, ops in self.templated if regex.fullmatch(path)]
        if not matching:
            return MatchResult(None, [{"where": "operation", "why": NO_OPERATION}])
        wanted = method.upper()
        operation = next((ops[wanted] for ops in matching if wanted in ops), None)
        if operation is None and wanted == "HEAD":
            operation = next((ops["GET"] for ops in matching if "GET" in ops), None)
        if operation is None:
            allowed = ", ".join(sorted({m for ops in matching for m in ops}))
            why = f"{NO_OPERATION}: {wanted} is not documented for this path (documented: {allowed})"
            return MatchResult(None, [{"where": "operation", "why": why}])
        return MatchResult(operation, [])

    # -- schemas -----------------------------------------------------------------------------------

    def validator(self, operation: Operation, key: str, schema: Any) -> Any:
        """A compiled validator of ``schema`` (cached on the operation under ``key``)."""
        compiled = operation._validators.get(key)
        if compiled is None:
            root = dict(schema) if isinstance(schema, dict) else {"const": schema}
            if "$ref" in json.dumps(schema):
                root.setdefault("components", self.components)
            compiled = jsonschema_rs.Draft202012Validator(root)
            operation._validators[key] = compiled
        return compiled


def _template_regex(template: str) -> tuple[re.Pattern[str], int]:
    pattern, literal_chars, position = [], 0, 0
    for match in re.finditer(r"\{[^}/]+\}", template):
        literal = template[position : match.start()]
        pattern.append(re.escape(literal))
        literal_chars += len(literal)
        pattern.append(r"[^/]+")
        position = match.end()
    tail = template[position:]
    pattern.append(re.escape(tail))
    literal_chars += len(tail)
    return re.compile("".join(pattern)), literal_chars


# -- the request -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFacts:
    """What the validator needs of a request (no Flask: the recorder fills it)."""

    method: str
    path: str  # below the provider's mount
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    content_type: str | None  # the media type, without parameters, lower case
    body: bytes | None  # None: not read (too large or streamed)


def validate_request(contract: Contract, facts: RequestFacts) -> tuple[str | None, list[Violation]]:
    """The operation's name and the request's violations; internal errors give ``(None, [])``."""
    try:
        matched = contract.match(facts.method, facts.path)
        if matched.operation is None:
            return None, matched.violations
        operation = matched.operation
        violations: list[Violation] = []
        violations.extend(_check_parameters(contract, operation, facts))
        violations.extend(_check_security(contract, operation, facts))
        violations.extend(_check_body(contract, operation, facts))
        return operation.name, violations
    except Exception:
        log.exception("validating %s %s against its contract failed", facts.method, facts.path)
        return None, []


def _check_parameters(contract: Contract, operation: Operation, facts: RequestFacts) -> list[Violation]:
    violations: list[Violation] = []
    path_values: dict[str, str] | None = None
    for param in operation.parameters:
        where, name = param.get("in"), param.get("name")
        if not isinstance(name, str) or where not in ("path", "query", "header"):
            continue
        schema = contract.resolve(param.get("schema") or {})
        label = f"{where}.{name}"
        raw: Any
        if where == "path":
            if path_values is None:
                path_values = _path_values(operation.template, facts.path, contract.base)
            raw = path_values.get(name)
        elif where == "header":
            raw = facts.headers.get(name.lower())
        else:
            raw = _query_value(param, schema, name, facts.query)
        if raw is None or raw == []:
            if param.get("required"):
                violations.append({"where": label, "why": f"the required {where} parameter is missing"})
            continue
        value = _coerce(contract, schema, raw)
        if value is _NOT_COERCIBLE:
            expected = "/".join(_types(contract, schema)) or "value"
            violations.append({"where": label, "why": f"{raw!r} is not a valid {expected}"})
            continue
        validator = contract.validator(operation, label, param.get("schema") or {})
        for error in validator.iter_errors(value):
            violations.append({"where": label, "why": error.message})
            break
    return violations


def _path_values(template: str, path: str, base: str) -> dict[str, str]:
    if base and path.startswith(base + "/"):
        path = path[len(base) :]
    names = re.findall(r"\{([^}/]+)\}", template)
    regex, _ = _template_regex(template)
    grouped = regex.pattern.replace(r"[^/]+", r"([^/]+)")
    found = re.fullmatch(grouped, path)
    return dict(zip(names, found.groups(), strict=False)) if found else {}


def _query_value(param: dict[str, Any], schema: Any, name: str, query: Mapping[str, list[str]]) -> Any:
    style = param.get("style", "form")
    if style == "deepObject":
        prefix = name + "["
        found = {
            k[len(prefix) : -1]: v[-1] for k, v in query.items() if k.startswith(prefix) and k.endswith("]")
        }
        return found or None
    values = query.get(name)
    if not values:
        return None
    if isinstance(schema, dict) and schema.get("type") == "array":
        explode = param.get("explode", style == "form")
        if explode:
            return list(values)
        delimiter = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ",")
        return [item for value in values for item in value.split(delimiter)]
    return values[-1]


class _NotCoercible:
    pass


_NOT_COERCIBLE = _NotCoercible()


def _types(contract: Contract, schema: Any, depth: int = 0) -> list[str]:
    """The JSON types a (resolved) schema admits, in the order to try coercing a string to them."""
    schema = contract.resolve(schema)
    if not isinstance(schema, dict) or depth > 8:
        return []
    found: list[str] = []
    kind = schema.get("type")
    if isinstance(kind, str):
        found.append(kind)
    elif isinstance(kind, list):
        found.extend(str(k) for k in kind)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or []:
            found.extend(_types(contract, sub, depth + 1))
    if not found and "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        found.append("string")
    return list(dict.fromkeys(found))


def _coerce(contract: Contract, schema: Any, raw: Any) -> Any:
    """A parameter's string (or list, or dict of strings) as the value its schema describes."""
    schema = contract.resolve(schema)
    if isinstance(raw, list):
        items = schema.get("items", {}) if isinstance(schema, dict) else {}
        coerced = [_coerce(contract, items, item) for item in raw]
        return _NOT_COERCIBLE if any(c is _NOT_COERCIBLE for c in coerced) else coerced
    if isinstance(raw, dict):
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        result = {k: _coerce(contract, props.get(k, {}), v) for k, v in raw.items()}
        return _NOT_COERCIBLE if any(c is _NOT_COERCIBLE for c in result.values()) else result
    types = _types(contract, schema)
    if not types or "string" in types:
        return raw
    for kind in types:
        if kind == "integer" and re.fullmatch(r"[+-]?\d+", raw.strip()):
            return int(raw)
        if kind == "number":
            try:
                number = float(raw)
            except ValueError:
                continue
            if number == number and number not in (float("inf"), float("-inf")):
                return int(number) if number.is_integer() and "." not in raw else number
        if kind == "boolean" and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        if kind == "null" and raw in ("", "null"):
            return None
    return _NOT_COERCIBLE


def _check_security(contract: Contract, operation: Operation, facts: RequestFacts) -> list[Violation]:
    requirements = operation.spec.get("security", contract.security)
    if not requirements or any(not r for r in requirements):
        return []
    schemes = contract.components.get("securitySchemes") or {}
    missing: list[Violation] = []
    for requirement in requirements:
        problems = [_scheme_problem(schemes.get(name) or {}, name, facts) for name in requirement]
        if not any(problems):
            return []
        missing = [p for p in problems if p] or missing
    return missing[:1]


def _scheme_problem(scheme: dict[str, Any], name: str, facts: RequestFacts) -> Violation | None:
    kind = scheme.get("type")
    if kind == "http":
        wanted = str(scheme.get("scheme", "bearer")).lower()
        header = facts.headers.get("authorization", "")
        scheme_name, _, credentials = header.strip().partition(" ")
        if scheme_name.lower() != wanted or not credentials.strip():
            why = (
                f"the {wanted.capitalize()} credentials of the security scheme {name} are missing"
                if not header
                else f"the Authorization header has no {wanted.capitalize()} credentials (scheme {name})"
            )
            return {"where": "header.Authorization", "why": why}
        return None
    if kind == "apiKey":
        key, place = str(scheme.get("name", "")), scheme.get("in")
        present = facts.headers.get(key.lower()) if place == "header" else facts.query.get(key)
        if not present:
            return {"where": f"{place}.{key}", "why": f"the API key of the security scheme {name} is missing"}
    return None


def _media_matches(actual: str, declared: str) -> bool:
    declared = declared.split(";")[0].strip().lower()
    if declared in ("*/*", actual):
        return True
    if declared.endswith("/*"):
        return actual.startswith(declared[:-1])
    return False


def _check_body(contract: Contract, operation: Operation, facts: RequestFacts) -> list[Violation]:
    spec = contract.resolve(operation.spec.get("requestBody"))
    has_body = facts.body is None or bool(facts.body.strip())
    if not isinstance(spec, dict):
        return []
    content: dict[str, Any] = spec.get("content") or {}
    if not has_body:
        return [{"where": "body", "why": "the request body is required"}] if spec.get("required") else []
    if not content:
        return []
    actual = facts.content_type or ""
    declared = next((ct for ct in content if _media_matches(actual, ct)), None)
    if declared is None:
        why = f"the content type {actual or '(none)'} is not one of {', '.join(content)}"
        return [{"where": "header.Content-Type", "why": why}]
    if facts.body is None:
        return []
    schema = (content.get(declared) or {}).get("schema")
    if schema is None:
        return []
    if actual == "application/json" or actual.endswith("+json"):
        try:
            instance = json.loads(facts.body)
        except (ValueError, UnicodeDecodeError) as exc:
            return [{"where": "body", "why": f"the body is not valid JSON: {exc}"}]
        except RecursionError:
            return [{"where": "body", "why": "the body is not valid JSON: it is nested too deeply"}]
    elif actual == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(facts.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return [{"where": "body", "why": "the form body is not UTF-8"}]
        instance = _form_instance(contract, schema, pairs)
    else:
        return []  # XML and binary bodies: the media type only
    validator = contract.validator(operation, "body:" + declared, schema)
    return list(_body_violations(validator.iter_errors(instance)))


def _form_instance(contract: Contract, schema: Any, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    properties = (contract.resolve(schema) or {}).get("properties") or {}
    instance: dict[str, Any] = {}
    for key, value in pairs:
        coerced = _coerce(contract, properties.get(key, {}), value)
        instance[key] = value if coerced is _NOT_COERCIBLE else coerced
    return instance


def _body_violations(errors: Iterable[Any]) -> Iterable[Violation]:
    for count, error in enumerate(errors):
        if count >= MAX_BODY_ERRORS:
            return
        parts = [str(p) for p in error.instance_path]
        if type(error.kind).__name__ == "Required":
            parts.append(str(getattr(error.kind, "property", "")))
        yield {"where": ".".join(["body", *parts]), "why": error.message}
