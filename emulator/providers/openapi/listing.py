"""The paging both Openapi.it lists share: ``skip`` (records to omit) and ``limit`` (at most 100).

``limit`` defaults to 100; a value outside 1..100 is refused (the published schema's maximum is 100
and the description says the limit is "capped at 100": a client asking for more learns it here
rather than getting silently fewer). ``skip`` from 0; a skip past 2**31 - 1 is the same empty page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

MAX_LIMIT = 100
MAX_SKIP = 2**31 - 1

Invalid = Callable[[str, str], Exception]  # (parameter, what is expected) → the list's own 400


def skip_and_limit(args: Mapping[str, str], invalid: Invalid) -> tuple[int, int]:
    skip = _integer(args.get("skip"), "skip", 0, 0, None, invalid)
    limit = _integer(args.get("limit"), "limit", MAX_LIMIT, 1, MAX_LIMIT, invalid)
    return min(skip, MAX_SKIP), limit


def _integer(
    value: str | None, name: str, default: int, low: int, high: int | None, invalid: Invalid
) -> int:
    if value is None or not value.strip():
        return default
    expected = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
    text = value.strip()
    if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()) or len(text) > 30:
        raise invalid(name, expected)
    number = int(text)
    if number < low or (high is not None and number > high):
        raise invalid(name, expected)
    return number
