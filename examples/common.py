"""Shared set-up of the example apps: the machines folder, a Statewright with its tables, an in-process worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from engine import Statewright, load_spec
from engine.migrations.upgrade import upgrade
from examples.base import Base

#: The machines shipped with Statewright.
MACHINES = Path(__file__).resolve().parents[1] / "machines"
#: Milliseconds to wait for the in-process queues to empty.
DRAIN_TIMEOUT_MS = 30_000


def start(machines: list[str], database_url: str, **options: Any) -> Statewright:
    """Load the named machine files, bind their models, and create every table they need."""
    app = Statewright([load_spec(MACHINES / f"{name}.yaml") for name in machines], database_url=database_url, **options)
    upgrade(app.engine)
    Base.metadata.create_all(app.engine)
    return app


@contextmanager
def worker(app: Statewright, threads: int = 2) -> Iterator[Callable[[], None]]:
    """Run the app's work in this process (what ``statewright worker`` does on its own hosts).

    Yields a function that waits until every queue is empty: the tasks, endpoints, listeners and
    reactions that the moves so far started, and whatever those started in turn.
    """
    broker = app.broker
    if not isinstance(broker, StubBroker):
        raise TypeError("the examples run their work in-process, on the memory:// broker")
    running = Worker(broker, worker_threads=threads, worker_timeout=50)
    running.start()

    def drain() -> None:
        for _ in range(3):  # work that finishes may start more work on another queue
            for queue in sorted(broker.queues):
                broker.join(queue, timeout=DRAIN_TIMEOUT_MS, fail_fast=True)
            running.join()

    try:
        yield drain
    finally:
        running.stop()
