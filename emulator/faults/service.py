"""Fault rules: create, list, delete and match them (no Flask here; ``hook`` applies the effects).

A rule matches a provider request by provider, and optionally method, path and tenant:

- ``method``: one HTTP method, upper case (``GET``); null or absent matches any.
- ``path``: the path below the provider's prefix, query string excluded (``/api/v4/ActiveInvoices``
  for ``/easytracking/api/v4/ActiveInvoices``). A glob by default, matched against the whole path
  and case-sensitive: ``*`` is any run of characters, ``/`` included; ``?`` one character;
  ``[abc]`` a set (``fnmatch.fnmatchcase``). With the prefix ``regex:`` the rest is a Python
  regular expression that must match the whole path (``re.fullmatch``):
  ``"regex:/api/v[0-9]+/ActiveInvoices(/.*)?"``.
- ``tenant``: the tenant whose credentials the request carries (``Provider.tenant_of``); a request
  without credentials, or to a provider that cannot tell, never matches a rule with a tenant.

Rules are ordered (``order``, 0 first; ``position`` on create inserts there, else at the end). For
each request the active rules that match are tried in order: each rolls its ``probability`` and the
first one that fires applies its effect; later rules are not tried. A rule with ``count`` fires that
many times, then it is ``spent``; a rule with ``expires_at`` (or ``ttl_seconds`` from its creation)
is ``expired`` from that virtual instant on. Spent and expired rules stay listed until deleted.

Probability is deterministic when the sandbox has a seed: the n-th match of rule k rolls
``random.Random(f"{seed}/{k}/{n}")``; rule ids restart at 1 after a reset, so the same seed and the
same requests fire the same faults. Without a seed the rolls are random.
"""

from __future__ import annotations

import fnmatch
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from emulator.core.errors import BadRequest, Conflict, NotFound
from emulator.core.store import next_value
from emulator.faults.models import FaultRule

MAX_RULES = 1000
MAX_LATENCY_MS = 30_000
MAX_RETRY_AFTER = 86_400
MAX_COUNT = 1_000_000_000
MAX_TTL_SECONDS = 100 * 365 * 86_400
REGEX_PREFIX = "regex:"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
EFFECT_TYPES = ("error", "throttle", "latency", "drop", "truncate")
RULE_KEYS = (
    "provider",
    "method",
    "path",
    "tenant",
    "effect",
    "count",
    "probability",
    "expires_at",
    "ttl_seconds",
    "position",
)
EFFECT_KEYS: dict[str, tuple[str, ...]] = {
    "error": ("type", "status", "message"),
    "throttle": ("type", "retry_after", "message"),
    "latency": ("type", "ms"),
    "drop": ("type",),
    "truncate": ("type", "fraction"),
}
DEFAULT_FRACTION = 0.5


@dataclass(frozen=True)
class Fault:
    """The rule that fired for one request: what the hook needs to apply its effect."""

    rule_id: int
    effect: dict[str, Any]


# -- validation ---------------------------------------------------------------------------------


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest(f"{name} must be a number")
    return float(value)


def _integer(value: Any, name: str, low: int, high: int) -> int:
    number = _number(value, name)
    if not number.is_integer():
        raise BadRequest(f"{name} must be a whole number")
    if not low <= number <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return int(number)


def _text(value: Any, name: str, max_length: int) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise BadRequest(f"{name} is limited to {max_length} characters")
    return value


def _path_pattern(value: Any) -> str:
    pattern = _text(value, "path", 1000)
    if pattern.startswith(REGEX_PREFIX):
        expression = pattern[len(REGEX_PREFIX) :]
        if not expression:
            raise BadRequest('path "regex:" needs a regular expression after the prefix')
        try:
            re.compile(expression)
        except (re.error, RecursionError, OverflowError) as exc:
            raise BadRequest(f"path is not a valid regular expression: {exc}") from None
    return pattern


def parse_effect(value: Any) -> dict[str, Any]:
    """The effect as stored: its type and every parameter, defaults filled in."""
    if not isinstance(value, dict) or value.get("type") not in EFFECT_TYPES:
        raise BadRequest(f"effect must be an object whose type is one of {', '.join(EFFECT_TYPES)}")
    kind: str = value["type"]
    unknown = sorted(set(value) - set(EFFECT_KEYS[kind]))
    if unknown:
        raise BadRequest(
            f"Unknown key(s) in a {kind} effect: {', '.join(unknown)}; "
            f"it takes {', '.join(EFFECT_KEYS[kind])}"
        )
    effect: dict[str, Any] = {"type": kind}
    if kind == "error":
        if "status" not in value:
            raise BadRequest("An error effect needs a status (400-599)")
        effect["status"] = _integer(value["status"], "effect.status", 400, 599)
    elif kind == "throttle":
        if "retry_after" not in value:
            raise BadRequest("A throttle effect needs retry_after (whole seconds)")
        effect["retry_after"] = _integer(value["retry_after"], "effect.retry_after", 0, MAX_RETRY_AFTER)
    elif kind == "latency":
        if "ms" not in value:
            raise BadRequest("A latency effect needs ms (milliseconds)")
        ms = _number(value["ms"], "effect.ms")
        if not 0 <= ms <= MAX_LATENCY_MS:
            raise BadRequest(f"effect.ms must be between 0 and {MAX_LATENCY_MS} (30 seconds)")
        effect["ms"] = int(ms) if ms.is_integer() else ms
    elif kind == "truncate":
        fraction = _number(value.get("fraction", DEFAULT_FRACTION), "effect.fraction")
        if not 0 <= fraction < 1:
            raise BadRequest("effect.fraction must be >= 0 and < 1 (the part of the body sent)")
        effect["fraction"] = fraction
    if kind in ("error", "throttle") and value.get("message") is not None:
        effect["message"] = _text(value["message"], "effect.message", 1000)
    return effect


def _expiry(payload: dict[str, Any], now: datetime) -> datetime | None:
    if payload.get("expires_at") is not None and payload.get("ttl_seconds") is not None:
        raise BadRequest("Give expires_at or ttl_seconds, not both")
    if payload.get("ttl_seconds") is not None:
        ttl = _number(payload["ttl_seconds"], "ttl_seconds")
        if not 0 < ttl <= MAX_TTL_SECONDS:
            raise BadRequest("ttl_seconds must be > 0 and at most 100 years")
        return now + timedelta(seconds=ttl)
    if payload.get("expires_at") is not None:
        raw = payload["expires_at"]
        try:
            if not isinstance(raw, str):
                raise ValueError
            expires = datetime.fromisoformat(raw)
        except ValueError:
            raise BadRequest("expires_at must be an ISO-8601 date-time with offset") from None
        if expires.tzinfo is None:
            raise BadRequest("expires_at must carry its offset (2026-03-02T10:00:00+01:00)")
        try:
            return expires.astimezone(UTC)
        except OverflowError:
            raise BadRequest("expires_at is out of range") from None
    return None


@dataclass(frozen=True)
class RuleSpec:
    provider: str
    method: str | None
    path: str | None
    tenant: str | None
    effect: dict[str, Any]
    count: int | None
    probability: float
    expires_at: datetime | None
    position: int | None


def parse_rule(payload: Any, providers: Sequence[str], now: datetime) -> RuleSpec:
    """Check a rule as POSTed; a BadRequest says what is wrong with it."""
    if not isinstance(payload, dict):
        raise BadRequest(
            'The body must be a fault rule like {"provider": "easytracking", "path": "/api/v4/*", '
            '"effect": {"type": "error", "status": 503}}'
        )
    unknown = sorted(set(payload) - set(RULE_KEYS))
    if unknown:
        raise BadRequest(f"Unknown key(s): {', '.join(unknown)}; a rule takes {', '.join(RULE_KEYS)}")
    if payload.get("provider") not in providers:
        raise BadRequest(f"provider must be one of {', '.join(providers)}")
    if "effect" not in payload:
        raise BadRequest("A rule needs an effect")
    method = payload.get("method")
    if method is not None and method not in METHODS:
        raise BadRequest(f"method must be one of {', '.join(METHODS)} (upper case), or null for any")
    path = None if payload.get("path") is None else _path_pattern(payload["path"])
    tenant = None if payload.get("tenant") is None else _text(payload["tenant"], "tenant", 64)
    effect = parse_effect(payload["effect"])
    count = None if payload.get("count") is None else _integer(payload["count"], "count", 1, MAX_COUNT)
    probability = 1.0
    if payload.get("probability") is not None:
        probability = _number(payload["probability"], "probability")
        if not 0 <= probability <= 1:
            raise BadRequest("probability must be between 0 and 1")
    position = None
    if payload.get("position") is not None:
        position = _integer(payload["position"], "position", 0, MAX_COUNT)
    return RuleSpec(
        provider=payload["provider"],
        method=method,
        path=path,
        tenant=tenant,
        effect=effect,
        count=count,
        probability=probability,
        expires_at=_expiry(payload, now),
        position=position,
    )


# -- operations ---------------------------------------------------------------------------------


def _ordered(session: Session) -> list[FaultRule]:
    return list(session.execute(select(FaultRule).order_by(FaultRule.rank, FaultRule.id)).scalars())


def create_rule(session: Session, payload: Any, providers: Sequence[str], now: datetime) -> dict[str, Any]:
    """Add a rule at ``position`` (0 = tried first; default and beyond the end: last)."""
    spec = parse_rule(payload, providers, now)
    rules = _ordered(session)
    if len(rules) >= MAX_RULES:
        raise Conflict(
            f"At most {MAX_RULES} fault rules; delete some (DELETE /_sandbox/faults)", code="too_many_faults"
        )
    rule = FaultRule(
        id=next_value(session, "fault_rules"),
        rank=0,
        provider=spec.provider,
        method=spec.method,
        path=spec.path,
        tenant=spec.tenant,
        effect=spec.effect,
        count=spec.count,
        remaining=spec.count,
        probability=spec.probability,
        expires_at=spec.expires_at,
        created_at=now,
        matched=0,
        hits=0,
    )
    position = len(rules) if spec.position is None else min(spec.position, len(rules))
    rules.insert(position, rule)
    for rank, each in enumerate(rules):
        each.rank = rank
    session.add(rule)
    session.flush()
    return rule.view(now)


def list_rules(session: Session, now: datetime) -> dict[str, Any]:
    return {"faults": [rule.view(now) for rule in _ordered(session)]}


def _rule_id(reference: str) -> int | None:
    if reference.isascii() and reference.isdigit() and len(reference) <= 18:
        return int(reference)
    return None


def delete_rule(session: Session, reference: str) -> None:
    rule_id = _rule_id(reference)
    rule = None if rule_id is None else session.get(FaultRule, rule_id)
    if rule is None:
        raise NotFound(f"No fault rule {reference}")
    session.delete(rule)
    session.flush()
    for rank, each in enumerate(_ordered(session)):
        each.rank = rank


def clear_rules(session: Session) -> int:
    deleted = session.execute(select(func.count()).select_from(FaultRule)).scalar_one()
    session.execute(delete(FaultRule))
    return int(deleted)


def has_rules(session: Session, provider: str) -> bool:
    found = session.execute(select(FaultRule.id).where(FaultRule.provider == provider).limit(1)).first()
    return found is not None


# -- matching -----------------------------------------------------------------------------------


def path_matches(pattern: str, path: str) -> bool:
    if pattern.startswith(REGEX_PREFIX):
        return re.fullmatch(pattern[len(REGEX_PREFIX) :], path) is not None
    return fnmatch.fnmatchcase(path, pattern)


def roll(seed: int | None, rule_id: int, match_number: int) -> float:
    """A number in [0, 1): the same for the same seed, rule and match when the sandbox is seeded."""
    if seed is None:
        return random.SystemRandom().random()
    return random.Random(f"{seed}/{rule_id}/{match_number}").random()


_UNKNOWN = object()


def providers_with_rules(session: Session) -> frozenset[str]:
    """The providers some rule (active or not) is for."""
    return frozenset(session.execute(select(FaultRule.provider).distinct()).scalars())


def match(
    session: Session,
    *,
    provider: str,
    method: str,
    path: str,
    tenant_of: Callable[[], str | None],
    now: datetime,
    seed: int | None,
) -> Fault | None:
    """The first active rule that matches the request and fires, counted; None when none does.

    ``tenant_of`` is asked at most once, and only when a candidate rule names a tenant."""
    tenant: Any = _UNKNOWN
    rules = session.execute(
        select(FaultRule).where(FaultRule.provider == provider).order_by(FaultRule.rank, FaultRule.id)
    ).scalars()
    for rule in rules:
        if rule.state(now) != "active":
            continue
        if rule.method is not None and rule.method != method:
            continue
        if rule.path is not None and not path_matches(rule.path, path):
            continue
        if rule.tenant is not None:
            if tenant is _UNKNOWN:
                tenant = tenant_of()
            if tenant != rule.tenant:
                continue
        rule.matched += 1
        if rule.probability < 1 and roll(seed, rule.id, rule.matched) >= rule.probability:
            continue
        rule.hits += 1
        if rule.remaining is not None:
            rule.remaining -= 1
        return Fault(rule_id=rule.id, effect=dict(rule.effect))
    return None
