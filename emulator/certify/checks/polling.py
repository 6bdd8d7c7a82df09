"""polling-interval and jobs: status, lists and jobs polled at a sane pace; jobs downloaded once."""

from __future__ import annotations

import json
import re

from emulator.certify.checks.base import (
    POLL_FLOOR_SECONDS,
    SKIP,
    Check,
    Context,
    Entry,
    Offence,
    verdict_of,
)

PAGE_PARAMS = re.compile(r"^(page|skip|offset|limit|size|itemsPerPage|pageSize|pageNumber|per_page)$", re.I)


def poll_key(entry: Entry) -> str:
    """The thing polled: the operation, its path, its query without paging parameters."""
    query = {k: v for k, v in entry.query.items() if not PAGE_PARAMS.match(k)}
    return f"{entry.operation} {entry.raw.get('path')} {json.dumps(query, sort_keys=True)}"


def too_soon(entry: Entry, previous: Entry, floor: float) -> bool:
    # Faster than the floor in real time and in virtual time (a clock move makes a quick poll sane).
    return entry.seconds_after(previous) < floor and entry.virtual_seconds_after(previous) < floor


def _polling(ctx: Context) -> tuple[str, str, list[Offence]]:
    floor = POLL_FLOOR_SECONDS.get(ctx.provider, 1.0)
    last: dict[str, Entry] = {}
    offences: list[Offence] = []
    polls = 0
    for entry in ctx.entries:
        if not entry.roles & {"status", "list"}:
            continue
        polls += 1
        key = poll_key(entry)
        previous = last.get(key)
        # After a failure (judged by the retries check) or a 401 (the same request again with a
        # renewed token) the client may ask again at once.
        retried = previous is not None and (previous.failed_transport or previous.status == 401)
        if previous is not None and not retried and too_soon(entry, previous, floor):
            offences.append(
                Offence(
                    entry,
                    f"polled {entry.seconds_after(previous):.2f} s after the previous identical "
                    f"request #{previous.id} (floor {floor:g} s)",
                )
            )
        last[key] = entry
    if not polls:
        return SKIP, "The client polled no status or list", []
    return verdict_of(offences, f"{polls} poll(s), none faster than {floor:g} s", "{n} poll(s) too fast")


JOB_ID = re.compile(r"/jobs/([^/]+)$")


def _jobs(ctx: Context) -> tuple[str, str, list[Offence]]:
    if ctx.provider != "easytracking":
        return SKIP, "Only Easy Tracking has download jobs", []
    floor = POLL_FLOOR_SECONDS["easytracking"]
    downloads = [e for e in ctx.entries if "job_download" in e.roles]
    if not downloads:
        return SKIP, "The client downloaded no job", []
    offences: list[Offence] = []
    done: dict[str, Entry] = {}
    last: dict[str, Entry] = {}
    for entry in downloads:
        match = JOB_ID.search(str(entry.raw.get("path")))
        if match is None:
            continue
        job = match.group(1)
        if job in done:
            offences.append(Offence(entry, f"job {job} downloaded again (first download: #{done[job].id})"))
        elif entry.status == 403:
            offences.append(Offence(entry, f"job {job} used after it expired or was already taken (403)"))
        previous = last.get(job)
        if previous is not None and previous.status == 202 and too_soon(entry, previous, floor):
            offences.append(
                Offence(
                    entry,
                    f"job {job} polled {entry.seconds_after(previous):.2f} s after #{previous.id} "
                    f"(floor {floor:g} s)",
                )
            )
        if entry.status == 200:
            done.setdefault(job, entry)
        last[job] = entry
    return verdict_of(
        offences, f"{len(done)} job(s) downloaded once each, polled calmly", "{n} job misuse(s)"
    )


POLLING = Check(
    name="polling-interval",
    title="Polling at a sane interval",
    explanation=(
        "Status and list endpoints (the same operation, path and query, paging aside) must not be "
        "polled faster than once a second (real time, unless virtual time moved as much): the SDI takes "
        "minutes to hours, a tight loop only loads the intermediary. Repeating a request after a 401 "
        "(with a renewed token) is not a poll; retries after errors are judged by the retries check."
    ),
    run=_polling,
)
JOBS = Check(
    name="jobs",
    title="Download jobs used once, before expiry, polled calmly",
    explanation=(
        "Easy Tracking's download jobs are booked, answer 202 while being prepared, give the zip once "
        "(200), and are gone after that or 24 h after booking (403). A client polls a job at most once "
        "a second, downloads it once and never uses it afterwards."
    ),
    run=_jobs,
)
