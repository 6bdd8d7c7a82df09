"""Request parameters as Spring MVC binds them on Aruba's services host, with Spring's 400 messages.

Aruba's services are a Spring Boot application: a ``@RequestParam`` or ``@PathVariable`` that is
missing or cannot be converted to its declared type never reaches the method, Spring answers 400.
The messages are Spring 6's:

- missing: ``Required request parameter 'filename' for method parameter type String is not present``;
- not convertible: ``Method parameter 'page': Failed to convert value of type 'java.lang.String' to
  required type 'java.lang.Integer'; For input string: "abc"``.

Conversions follow Spring's converters: numbers are Java ``Integer``/``Long`` (optional sign,
decimal digits, surrounding blanks ignored, out of range is a NumberFormatException); booleans
accept true/on/yes/1 and false/off/no/0 in any case; an empty value is "not given" (the default
applies). Dates are ISO 8601: a day (``2026-03-02``) or a date-time with or without offset
(``2026-03-02T09:00:00+01:00``, ``...Z``, ``...+0100``); without an offset Europe/Rome is meant.

Decision: a mandatory text parameter given empty (``filename=``) is treated as missing (400), where
Spring would pass the empty string on and the lookup would find nothing.

Nothing here knows Flask: callers pass the raw query-string values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from emulator.core.clock import ROME
from emulator.core.errors import BadRequest

JAVA_INT = ("java.lang.Integer", -(2**31), 2**31 - 1)
JAVA_LONG = ("java.lang.Long", -(2**63), 2**63 - 1)
TRUE_VALUES = frozenset({"true", "on", "yes", "1"})
FALSE_VALUES = frozenset({"false", "off", "no", "0"})
_DECIMAL = re.compile(r"[+-]?[0-9]+")


def _mismatch(name: str, java_type: str, cause: str) -> BadRequest:
    return BadRequest(
        f"Method parameter '{name}': Failed to convert value of type 'java.lang.String' "
        f"to required type '{java_type}'; {cause}",
        code="type_mismatch",
    )


def required_text(query: Mapping[str, str], name: str) -> str:
    value = query.get(name)
    if value is None or not value.strip():
        raise BadRequest(
            f"Required request parameter '{name}' for method parameter type String is not present",
            code="missing_parameter",
        )
    return value


def optional_text(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name)
    return value if value is not None and value.strip() else None


def _java_integer(name: str, raw: str, kind: tuple[str, int, int]) -> int:
    java_type, low, high = kind
    text = raw.strip()
    if not _DECIMAL.fullmatch(text) or not low <= int(text) <= high:
        raise _mismatch(name, java_type, f'For input string: "{text}"')
    return int(text)


def optional_int(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or not raw.strip():
        return default
    return _java_integer(name, raw, JAVA_INT)


def optional_long(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or not raw.strip():
        return None
    return _java_integer(name, raw, JAVA_LONG)


def path_long(name: str, raw: str) -> int:
    """A ``{name}`` path variable declared ``Long``."""
    return _java_integer(name, raw, JAVA_LONG)


def optional_bool(query: Mapping[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    value = (raw or "").strip().lower()
    if not value:
        return default
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise _mismatch(name, "java.lang.Boolean", f"Invalid boolean value '{raw}'")


@dataclass(frozen=True)
class Moment:
    """An ISO 8601 parameter: a whole day (``day`` set) or an instant."""

    instant: datetime  # the start of the day in Europe/Rome for a day, in UTC
    day: date | None = None

    @property
    def end(self) -> datetime | None:
        """The last instant the moment covers, inclusive (a day runs to its last microsecond)."""
        if self.day is None:
            return self.instant
        if self.day == date.max:
            return None
        following = datetime.combine(self.day + timedelta(days=1), time(), tzinfo=ROME)
        return _utc(following) - timedelta(microseconds=1)


def optional_moment(query: Mapping[str, str], name: str) -> Moment | None:
    raw = query.get(name)
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        if len(text) in (8, 10) and "T" not in text:
            day = date.fromisoformat(text)
            return Moment(_utc(datetime.combine(day, time(), tzinfo=ROME)), day)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _mismatch(name, "java.util.Date", f"Parse attempt failed for value [{raw}]") from None
    return Moment(_utc(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=ROME)))


def _utc(moment: datetime) -> datetime:
    """The instant in UTC; at the very ends of the calendar, the first or last instant there is."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if moment.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)
