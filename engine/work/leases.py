"""The heartbeat that keeps a worker's leases alive while their handlers run, and gives them up afterwards.

Each claim holds a lease of ``LEASE`` (``engine.work.claims``). One thread per worker process renews the
leases of every delivery in flight in that process, in one ``UPDATE`` every third of the lease, so a
lease outlives its handler only when the process died or lost the database: then it expires, and the
sweep resends the work (``engine.work.resends``). A delivery that failed and waits for a Dramatiq retry
keeps its lease for the retry's backoff, so the sweep does not start a second retry chain next to it.
Database errors in the heartbeat are logged (at most once a minute) and never raised.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from dramatiq import Broker, Middleware, Retry
from dramatiq.middleware import Retries
from sqlalchemy import Engine, update

from engine.db import begin_write
from engine.orm.tables import leases
from engine.runtime.leasing import Lease, lease_end, seconds_param
from engine.settings import DEFAULT_LEASE as DEFAULT_LEASE  # re-exported: its old home

if TYPE_CHECKING:
    from dramatiq.broker import MessageProxy

log = logging.getLogger("engine.work")

#: Renewals per lease: the heartbeat renews every ``lease / RENEWALS`` seconds, so a few may fail in a row.
RENEWALS = 3
#: Seconds between two log lines about failing renewals.
COMPLAINT_INTERVAL = 60.0


class Leases:
    """The leases held by the deliveries running in this process, renewed by a heartbeat thread.

    The thread starts with the first lease held and ends when none is left, so an idle app has none.

    Args:
        engine: The database holding the outbox.
        duration: Each lease's length.
    """

    def __init__(self, engine: Engine, duration: timedelta) -> None:
        self.engine = engine
        self.duration = duration
        self.interval = duration.total_seconds() / RENEWALS
        self._held: dict[str, int] = {}  # message id -> outbox row id
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._complained_at = -COMPLAINT_INTERVAL
        self._failures = 0

    def lease(self, outbox_id: int, holder: str) -> Lease:
        """The lease ``holder`` takes on ``outbox_id``."""
        return Lease(outbox_id, holder, self.duration)

    def hold(self, lease: Lease) -> None:
        """Renew ``lease`` until ``release``; starts the heartbeat if it is not running."""
        with self._lock:
            self._held[lease.holder] = lease.outbox_id
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="statewright-leases", daemon=True)
                self._thread.start()

    def release(self, holder: str) -> int | None:
        """Stop renewing ``holder``'s lease (it then runs out on its own); returns its outbox row id."""
        with self._lock:
            return self._held.pop(holder, None)

    def held(self) -> dict[str, int]:
        """The leases renewed now: outbox row id by message id."""
        with self._lock:
            return dict(self._held)

    @property
    def beating(self) -> bool:
        """Whether the heartbeat thread runs."""
        with self._lock:
            return self._thread is not None

    def renew(self) -> int:
        """Renew every lease held, in one statement; returns how many rows still had them."""
        held = self.held()
        if not held:
            return 0
        statement = (
            update(leases)
            .where(leases.c.outbox_id.in_(list(held.values())), leases.c.claimed_by.in_(list(held)))
            .values(lease_until=lease_end(seconds_param()))
        )
        with begin_write(self.engine) as connection:
            return connection.execute(statement, {"l_seconds": self.duration.total_seconds()}).rowcount

    def extend(self, holder: str, outbox_id: int, wait: timedelta) -> None:
        """Make ``holder``'s lease last ``wait`` (a retry's backoff) plus a whole lease, from now."""
        statement = (
            update(leases)
            .where(leases.c.outbox_id == outbox_id, leases.c.claimed_by == holder)
            .values(lease_until=lease_end(seconds_param()))
        )
        with begin_write(self.engine) as connection:
            connection.execute(statement, {"l_seconds": (wait + self.duration).total_seconds()})

    def _beat(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                if not self._held:
                    self._thread = None
                    return
            try:
                self.renew()
            except Exception as error:  # noqa: BLE001 - a heartbeat that dies would let every lease run out
                self.complain(error)
            else:
                self._failures = 0

    def complain(self, error: BaseException) -> None:
        """Log a failed renewal, at most once per ``COMPLAINT_INTERVAL`` (the database may be down for long)."""
        self._failures += 1
        now = time.monotonic()
        if now - self._complained_at >= COMPLAINT_INTERVAL:
            self._complained_at = now
            log.warning(
                "could not renew %d lease(s) (%d failed renewal(s) in a row): %s: %s",
                len(self.held()),
                self._failures,
                type(error).__name__,
                str(error).splitlines()[0] if str(error) else "",
            )


class LeaseKeeper(Middleware):
    """Gives up a delivery's lease when its message is done, and keeps it over a retry's backoff.

    Runs after ``Retries`` decided, so it knows whether the message will come back.
    """

    def __init__(self, leases: Leases) -> None:
        self.leases = leases

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        """Release the lease; a failed delivery that Dramatiq will retry keeps it until the retry is due."""
        outbox_id = self.leases.release(message.message_id)
        if outbox_id is None or exception is None or message.failed:
            return
        try:
            self.leases.extend(message.message_id, outbox_id, _backoff(message, exception))
        except Exception as error:  # noqa: BLE001 - the lease then runs out sooner and the sweep resends
            self.leases.complain(error)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        """A skipped message holds nothing any more."""
        self.leases.release(message.message_id)


def _backoff(message: MessageProxy, exception: BaseException) -> timedelta:
    """The longest a retry of ``message`` waits: the ``Retry`` delay asked for, or the message's ``max_backoff``."""
    if isinstance(exception, Retry) and exception.delay is not None:
        return timedelta(milliseconds=exception.delay)
    return timedelta(milliseconds=int(message.options.get("max_backoff", 0)))


def add_lease_keeper(broker: Broker, leases: Leases) -> None:
    """Put the lease keeper on ``broker`` so that its ``after_`` hooks run after ``Retries`` has decided."""
    has_retries = any(isinstance(middleware, Retries) for middleware in broker.middleware)
    broker.add_middleware(LeaseKeeper(leases), before=Retries if has_retries else None)
