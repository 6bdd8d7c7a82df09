"""retries: 429 honours Retry-After; 5xx and dropped connections retried with back-off.

After a failed answer (429, 5xx, or 444: the journal's status of a dropped connection) the next
request to the same method and path:

- after a 429 comes no sooner than its Retry-After (the answer's header as the journal recorded it;
  else the text of an injected throttle, else the scenario's rule), less ``TOLERANCE`` seconds;
- after a 5xx or a dropped connection comes no sooner than ``RETRY_FLOOR`` seconds, and over a run of
  failures the waits do not shrink (back-off, not a tight loop);
- comes at all: a client that gives up at the first failure loses the invoice.
"""

from __future__ import annotations

import re

from emulator.certify.checks.base import SKIP, Check, Context, Entry, Offence, verdict_of

RETRY_FLOOR = 0.3
TOLERANCE = 0.1
RETRY_AFTER = re.compile(r"retry after (\d+(?:\.\d+)?) seconds", re.I)


def _key(entry: Entry) -> str:
    return f"{entry.raw.get('method')} {entry.raw.get('path')}"


def _retry_after(entry: Entry, ctx: Context) -> float:
    headers = (entry.raw.get("response") or {}).get("headers") or {}
    header = next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), None)
    if header is not None and header.strip().replace(".", "", 1).isdigit():
        return float(header)
    match = RETRY_AFTER.search(entry.body_text("response") or "")
    if match:
        return float(match.group(1))
    return ctx.retry_after if ctx.retry_after is not None else 1.0


def _run(ctx: Context) -> tuple[str, str, list[Offence]]:
    failures = [e for e in ctx.entries if e.failed_transport]
    if not failures:
        return SKIP, "No 429, 5xx or dropped connection happened", []
    offences: list[Offence] = []
    previous_wait: dict[str, float] = {}
    for failure in failures:
        key = _key(failure)
        retry = next((e for e in ctx.entries if e.id > failure.id and _key(e) == key), None)
        if retry is None:
            offences.append(Offence(failure, f"status {failure.status}: never retried (gave up at once)"))
            continue
        wait = retry.seconds_after(failure)
        if failure.status == 429:
            needed = _retry_after(failure, ctx)
            if wait < needed - TOLERANCE:
                offences.append(
                    Offence(
                        retry,
                        f"retried {wait:.2f} s after a 429 (#{failure.id}) asking for "
                        f"Retry-After: {needed:g}",
                    )
                )
        else:
            if wait < RETRY_FLOOR:
                offences.append(
                    Offence(
                        retry,
                        f"retried {wait:.2f} s after a {failure.status} (#{failure.id}): a tight "
                        f"loop (at least {RETRY_FLOOR:g} s, growing)",
                    )
                )
            elif key in previous_wait and wait < previous_wait[key] * 0.9:
                offences.append(
                    Offence(
                        retry,
                        f"waited {wait:.2f} s after a {failure.status} (#{failure.id}), less than "
                        f"the {previous_wait[key]:.2f} s before: no back-off",
                    )
                )
        # A run of failures is judged by growing waits; a success ends it.
        if retry.failed_transport and failure.status != 429:  # Retry-After waits are the server's
            previous_wait[key] = wait
        else:
            previous_wait.pop(key, None)
    return verdict_of(
        offences,
        f"{len(failures)} failure(s), each retried after a sane wait",
        "{n} retry problem(s)",
    )


CHECK = Check(
    name="retries",
    title="Retries with back-off, Retry-After honoured",
    explanation=(
        "A 429 says how long to wait (Retry-After): the client waits at least that long. A 5xx or a "
        f"dropped connection is retried after at least {RETRY_FLOOR:g} s with growing waits (exponential "
        "back-off), not in a tight loop, and not given up at the first failure."
    ),
    run=_run,
)
