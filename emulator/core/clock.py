"""Virtual time. Nothing in the sandbox reads the wall clock directly: everything asks the clock.

The clock is an anchor pair (virtual instant, wall instant). While running, virtual time flows with
the wall clock from the anchor; ``advance`` moves the anchor forward. A frozen clock only moves when
told to (tests, certification runs). The anchor is persisted by the store, so virtual time never
goes backward across restarts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")

WallClock = Callable[[], datetime]


def system_wall_clock() -> datetime:
    return datetime.now(UTC)


class ClockError(ValueError):
    """A request to move time that the clock refuses (backward, not a number)."""


class VirtualClock:
    def __init__(
        self,
        *,
        virtual_anchor: datetime,
        wall_anchor: datetime | None = None,
        frozen: bool = False,
        wall_clock: WallClock = system_wall_clock,
    ) -> None:
        if virtual_anchor.tzinfo is None:
            raise ClockError("the clock needs timezone-aware instants")
        self._wall_clock = wall_clock
        self._frozen = frozen
        self._virtual_anchor = virtual_anchor.astimezone(UTC)
        self._wall_anchor = (wall_anchor or wall_clock()).astimezone(UTC)
        self._lock = threading.Lock()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> datetime:
        """Current virtual instant, UTC."""
        with self._lock:
            if self._frozen:
                return self._virtual_anchor
            elapsed = self._wall_clock().astimezone(UTC) - self._wall_anchor
            return self._virtual_anchor + max(elapsed, timedelta(0))

    def now_rome(self) -> datetime:
        return self.now().astimezone(ROME)

    def advance(self, seconds: float) -> datetime:
        """Move virtual time forward by ``seconds`` (never backward) and return the new instant."""
        if seconds < 0:
            raise ClockError("virtual time only moves forward: advance_seconds must be >= 0")
        current = self.now()
        with self._lock:
            self._virtual_anchor = current + timedelta(seconds=seconds)
            self._wall_anchor = self._wall_clock().astimezone(UTC)
            return self._virtual_anchor

    def set(self, instant: datetime) -> None:
        """Put virtual time at ``instant`` (also backwards: for a test harness that starts each test
        at the same instant after a reset, never for the control API, which only moves forward)."""
        if instant.tzinfo is None:
            raise ValueError("the instant needs a UTC offset")
        with self._lock:
            self._virtual_anchor = instant.astimezone(UTC)
            self._wall_anchor = self._wall_clock().astimezone(UTC)

    def anchors(self) -> tuple[datetime, datetime]:
        with self._lock:
            return self._virtual_anchor, self._wall_anchor
