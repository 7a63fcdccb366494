"""``DatabaseGate``: a worker's view of whether its database answers, and the loop that waits for it.

Every actor run goes through ``DatabaseGate.run``. While the database is healthy that is one call.
When a run fails with an outage fault (see ``engine.faults``), the gate is marked down: one
thread probes ``SELECT 1`` with a capped exponential backoff, every other run waits on an event, and
the failed run starts again once the database answers. The message stays with the worker thread the
whole time, unacknowledged: Dramatiq never sees the failure, so no retry is spent and nothing is
dead-lettered. If the worker process dies meanwhile, the broker redelivers the message.

Conflict faults (serialization failure, deadlock, lock timeout) do not mark the database down: the
run starts again after a short jittered pause.

The gate speaks a bounded number of lines per outage: one when the database stops answering (with the
masked error), at most one "still unreachable" line per ``STILL_DOWN_LOG_SECONDS``, one when it is back.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import text

from engine.faults import Fault, describe, fault_of

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from engine.redaction import Redactor

T = TypeVar("T")

log = logging.getLogger("engine.work")

#: Seconds before the first probe of a database that just failed (a dropped connection is often alone).
FIRST_PROBE_SECONDS = 0.05
#: Seconds the pause between two probes grows to, at most (doubling from ``FIRST_PROBE_SECONDS``).
MAX_PROBE_SECONDS = 2.0
#: Seconds between two "still unreachable" lines.
STILL_DOWN_LOG_SECONDS = 30.0
#: Seconds of the first pause after a conflict; it doubles per conflict, jittered, up to ``MAX_CONFLICT_SECONDS``.
FIRST_CONFLICT_SECONDS = 0.05
#: Seconds a pause after a conflict grows to, at most.
MAX_CONFLICT_SECONDS = 2.0


class DatabaseGate:
    """Whether one engine's database answers, for the worker threads of one process.

    Args:
        engine: The database probed.
        redactor: Masks the errors the gate logs.
        on_recovery: Called once the database answers again, before any held run resumes (the worker
            renews its leases there: they could not be renewed while the database was away).
    """

    def __init__(
        self, engine: Engine, *, redactor: Redactor | None = None, on_recovery: Callable[[], object] | None = None
    ) -> None:
        self.engine = engine
        self.redactor = redactor
        self.on_recovery = on_recovery
        self._healthy = threading.Event()
        self._healthy.set()
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._recovered_at = float("-inf")
        self._waiting = 0

    @property
    def is_healthy(self) -> bool:
        """Whether the database answered last time anyone looked."""
        return self._healthy.is_set()

    @property
    def seconds_since_recovery(self) -> float:
        """Seconds since the database last came back (infinite if it never went away)."""
        return time.monotonic() - self._recovered_at

    @property
    def waiting(self) -> int:
        """How many runs wait for the database right now."""
        return self._waiting

    def wait(self) -> None:
        """Return at once while the database is healthy; otherwise block until the probe finds it back."""
        if self._healthy.is_set():
            return
        with self._lock:
            self._waiting += 1
        try:
            self._healthy.wait()
        finally:
            with self._lock:
                self._waiting -= 1

    def run(self, operation: Callable[[], T], *, max_conflicts: int | None = None) -> T:
        """Call ``operation`` until it returns or fails with something other than a transient database fault.

        Args:
            operation: Starts from scratch on every call (a fresh session).
            max_conflicts: Conflict faults tolerated before the last one is raised (``None``: no limit).

        Raises:
            Exception: Whatever ``operation`` raised that is not a transient fault, or the conflict past
                ``max_conflicts``.
        """
        conflicts = 0
        while True:
            self.wait()
            started = time.monotonic()
            try:
                return operation()
            except Exception as error:
                fault = fault_of(error)
                if fault is None:
                    raise
                if fault is Fault.OUTAGE:
                    self.report(error, started=started)
                    continue
                conflicts += 1
                if max_conflicts is not None and conflicts > max_conflicts:
                    raise
                log.debug("database conflict (%s); running again", describe(error))
                time.sleep(conflict_pause(conflicts))

    def answers(self) -> bool:
        """Whether the database answers ``SELECT 1`` right now (one round trip; for a failure's diagnosis)."""
        return self._failure() is None

    def report(self, error: BaseException, *, started: float) -> None:
        """An operation begun at ``started`` (``time.monotonic()``) lost the database: mark it down and probe.

        A failure of an attempt begun before the database came back is old news and changes nothing.
        """
        with self._lock:
            if self._recovered_at >= started or self._down_since is not None:
                return
            self._down_since = time.monotonic()
            self._healthy.clear()
        threading.Thread(target=self._probe, args=(error,), name="statewright-database-probe", daemon=True).start()

    def _probe(self, error: BaseException) -> None:
        pause = FIRST_PROBE_SECONDS
        said_down = said_at = 0.0
        while True:
            time.sleep(pause)
            failure = self._failure()
            if failure is None:
                break
            now = time.monotonic()
            if not said_down:
                said_down = said_at = now
                log.warning(
                    "database unreachable (%s): holding deliveries until it answers; no retry is spent",
                    self._masked(describe(error)),
                )
            elif now - said_at >= STILL_DOWN_LOG_SECONDS:
                said_at = now
                log.warning(
                    "database still unreachable after %.0f s (%s): holding %d deliveries",
                    now - self._since(),
                    self._masked(failure),
                    self._waiting,
                )
            pause = min(pause * 2, MAX_PROBE_SECONDS)
        self._recover()
        with self._lock:
            down_for = time.monotonic() - self._since()
            self._down_since = None
            self._recovered_at = time.monotonic()
            self._healthy.set()
        if said_down:
            log.warning("database reachable again after %.1f s: resuming the held deliveries", down_for)
        else:
            log.warning(
                "a database connection was lost (%s); the database answers: carrying on", self._masked(describe(error))
            )

    def _recover(self) -> None:
        if self.on_recovery is None:
            return
        try:
            self.on_recovery()
        except Exception as failed:  # the database went away again: the resumed runs will say so
            log.debug("on_recovery failed: %s", describe(failed))

    def _since(self) -> float:
        return self._down_since if self._down_since is not None else time.monotonic()

    def _failure(self) -> str | None:
        """``None`` if the database answers ``SELECT 1`` now, otherwise why not."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as failed:  # any failure means "not yet"; the next probe asks again
            return describe(failed)
        return None

    def _masked(self, line: str) -> str:
        return self.redactor.text(line) if self.redactor is not None else line


def conflict_pause(conflicts: int) -> float:
    """Seconds to wait after the ``conflicts``-th conflict in a row: doubling, capped, with full jitter."""
    ceiling = min(FIRST_CONFLICT_SECONDS * 2 ** min(conflicts - 1, 16), MAX_CONFLICT_SECONDS)
    return random.uniform(ceiling / 2, ceiling)
