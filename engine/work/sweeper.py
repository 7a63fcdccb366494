"""``Sweeper``: the periodic sweep of a worker process, as a Dramatiq middleware with a thread of its own.

Every ``every`` seconds the thread runs the sweep's steps in order: send the outbox rows not sent yet,
resend stranded work (``engine.work.resends``), move objects stuck past a state's timeout
(``engine.runtime.sweeps``) and delete expired callback delivery rows (``engine.callbacks.pruning``).
It starts when the worker boots (``after_worker_boot``) and stops when it shuts down
(``before_worker_shutdown``), Dramatiq's pattern for background threads.

While the ``DatabaseGate`` says the database is down no step runs: the gate's probe already speaks for the
outage, and a sweep would only add one traceback per step. A step that fails otherwise is logged, and
neither stops the thread nor the steps after it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from dramatiq import Broker, Middleware

from engine.callbacks.pruning import prune_deliveries
from engine.faults import Fault, fault_of
from engine.runtime.sweeps import sweep_timeouts
from engine.work.resends import resend_stalled

if TYPE_CHECKING:
    from engine.statewright import Statewright
    from engine.work.gate import DatabaseGate

log = logging.getLogger("engine.worker")

#: Seconds a stopping worker waits for a step in progress before it goes on stopping without it (the
#: step's transaction is then rolled back with the process; nothing it did is half-done).
STEP_JOIN_SECONDS = 2.0


@dataclass(frozen=True)
class SweepStep:
    """One step of the sweep: its name in log lines, and what it does."""

    name: str
    run: Callable[[], object]
    #: Skipped until the database has been back this long: resending judges leases, which nobody could
    #: renew while the database was away.
    settle: timedelta = timedelta(0)


def sweep_steps(app: Statewright, *, resend_after: timedelta | None = None) -> list[SweepStep]:
    """The steps of ``app``'s sweep: the outbox, stranded work, each machine's timeouts, expired deliveries.

    Args:
        app: The app swept.
        resend_after: Overrides ``app.resend_after`` (``0s`` means at once, not the default).
    """
    grace = app.resend_after if resend_after is None else resend_after
    steps = [
        SweepStep("outbox", app.sweep_outbox),
        SweepStep("resend", lambda: resend_stalled(app, after=grace), settle=app.work.leases.duration),
    ]
    steps += [
        SweepStep(f"{name} timeouts", partial(sweep_timeouts, flow, app.sessionmaker))
        for name, flow in app.flows.items()
    ]
    steps.append(SweepStep("callback deliveries", partial(prune_deliveries, app.sessionmaker)))
    return steps


class Sweeper(Middleware):
    """Runs ``steps`` every ``every`` seconds on a thread of its own, from worker boot to worker shutdown.

    Args:
        steps: Run in order, each time.
        gate: No step runs while it says the database is down; a step that loses the database reports it.
        every: Seconds between the end of one sweep and the start of the next (the first comes one
            interval after boot).
    """

    def __init__(self, steps: Sequence[SweepStep], *, gate: DatabaseGate, every: float) -> None:
        self.steps = tuple(steps)
        self.gate = gate
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the sweep thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        """Start the sweep thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="statewright-sweeper", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        """Stop the sweep thread: at once between two steps, after ``STEP_JOIN_SECONDS`` at most within one."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STEP_JOIN_SECONDS)
            if self._thread.is_alive():
                log.warning("stopping without the sweep step in progress (still running after %s s)", STEP_JOIN_SECONDS)
            self._thread = None

    def sweep(self) -> None:
        """Run each step once, in order; none while (or as soon as) the database is down."""
        for step in self.steps:
            if self._stop.is_set() or not self.gate.is_healthy:
                return
            if self.gate.seconds_since_recovery < step.settle.total_seconds():
                continue
            started = time.monotonic()
            try:
                step.run()
            except Exception as error:
                if fault_of(error) is Fault.OUTAGE:
                    self.gate.report(error, started=started)  # one line from the gate, not a traceback per step
                    return
                log.exception("%s sweep failed; retrying at the next interval", step.name)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.sweep()


def add_sweeper(app: Statewright, *, every: float, resend_after: timedelta | None = None) -> Sweeper:
    """Put a ``Sweeper`` of ``app``'s steps on ``app.broker``; it starts with the next worker that boots."""
    sweeper = Sweeper(sweep_steps(app, resend_after=resend_after), gate=app.work.gate, every=every)
    app.broker.add_middleware(sweeper)
    return sweeper
