"""Journal entries written in batches after the responses: a request does not wait for its own entry.

A request adds what it captured (``add``) and goes; a writer thread (started by the first entry)
writes what is waiting in one transaction, in the order the requests were answered, as soon as
``batch_size`` entries wait or the oldest has waited ``max_age`` seconds. ``flush`` writes whatever is
waiting and returns once it is committed: readers of the journal call it through ``Sandbox.settle``
(the control API and the inspector do before every request; ``serve``'s ticker does every second).
An entry waiting in memory is lost if the process is killed: the journal is a diagnostic record,
never the state a client relies on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("fattura_sandbox.journal")

T = TypeVar("T")


class BatchWriter(Generic[T]):
    def __init__(
        self,
        write: Callable[[list[T]], None],
        *,
        batch_size: int = 64,
        max_age: float = 0.05,
        name: str = "fattura-sandbox-journal",
    ) -> None:
        self._write, self.batch_size, self.max_age, self._name = write, batch_size, max_age, name
        self._waiting: list[T] = []
        self._changed = threading.Condition()  # guards _waiting and _stopped
        # Held from taking a batch to its commit: batches reach the store in the order they were taken.
        self._writing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def add(self, item: T) -> None:
        """Keep ``item`` for the writer thread. Never blocks on the store (but once stopped)."""
        with self._changed:
            self._waiting.append(item)
            stopped = self._stopped
            if not stopped:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    self._thread.start()
                if len(self._waiting) >= self.batch_size:
                    self._changed.notify()
        if stopped:  # the sandbox is closing: no thread will write it later
            self.flush()

    def flush(self) -> None:
        """Write everything waiting (returns once it is committed). Never inside a store transaction."""
        with self._writing:
            with self._changed:
                batch, self._waiting = self._waiting, []
            if not batch:
                return
            try:
                self._write(batch)
            except Exception:  # a request must never fail because its journal entry could not be kept
                log.exception("writing %d journal entries failed", len(batch))

    def stop(self) -> None:
        """Write what waits and end the writer thread (later entries are written by ``add`` itself)."""
        with self._changed:
            self._stopped = True
            self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        self.flush()

    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._waiting and not self._stopped:
                    self._changed.wait()
                if self._stopped:
                    return
                if len(self._waiting) < self.batch_size:
                    # Let a batch gather; a full one (``add`` notifies) or the deadline ends the wait.
                    deadline = time.monotonic() + self.max_age
                    while len(self._waiting) < self.batch_size and not self._stopped:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._changed.wait(left)
            self.flush()
