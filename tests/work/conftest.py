"""The job app on the in-process broker, with a real Dramatiq worker running its actors."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dramatiq import Worker
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import text

from engine import Statewright
from engine.migrations.upgrade import upgrade
from tests.conftest import STATEWRIGHT_TABLES
from tests.work.app.handlers import CALLS, GRUMBLES, HEARD, LISTENER_FAILS
from tests.work.app.models import Errand, JobBase
from tests.work.server import Received, serve

MACHINES = Path(__file__).resolve().parent / "machines"


@pytest.fixture
def http_server() -> Iterator[tuple[str, Received]]:
    """A real HTTP server on loopback: its base URL and the requests it received."""
    with serve() as served:
        yield served


#: Brokers every work test runs on: Dramatiq's in-process stub and the running Redis and RabbitMQ.
BROKER_URLS = {
    "memory": "memory://",
    "redis": os.environ.get("STATEWRIGHT_TEST_REDIS", "redis://127.0.0.1:6379/15"),
    "rabbitmq": os.environ.get("STATEWRIGHT_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/%2F"),
}


@pytest.fixture(params=sorted(BROKER_URLS))
def broker_url(request: pytest.FixtureRequest) -> str:
    """Each broker in turn; a broker that cannot be reached fails the test (project rule: never skip)."""
    return BROKER_URLS[request.param]


@pytest.fixture
def app(database_url: str, broker_url: str, http_server: tuple[str, Received]) -> Iterator[Statewright]:
    """The job and call app over fresh tables and empty queues, calling the loopback server."""
    statewright = Statewright.from_path(
        MACHINES, database_url=database_url, broker_url=broker_url, http_base_url=http_server[0]
    )
    statewright.broker.flush_all()
    with statewright.engine.begin() as connection:
        for table in (*STATEWRIGHT_TABLES, "jobs", "calls", "shipments"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(statewright.engine)
    JobBase.metadata.create_all(statewright.engine)
    CALLS.clear()
    HEARD.clear()
    yield statewright
    statewright.close()


@pytest.fixture
def run_work(app: Statewright) -> Iterator[Callable[[], None]]:
    """The returned function starts a worker (on first use) and waits until every queue is drained.

    Until a test calls it, messages only accumulate, so tests can stage crashes and duplicates first.
    """
    broker = app.broker
    worker = Worker(broker, worker_timeout=50, worker_threads=2)
    started = False

    def drain() -> None:
        nonlocal started
        if not started:
            worker.start()
            started = True
        for _ in range(3):  # reactions and retries may enqueue more after a queue empties
            for queue in sorted(broker.queues):
                if isinstance(broker, StubBroker):
                    broker.join(queue, fail_fast=False, timeout=20_000)
                elif isinstance(broker, RabbitmqBroker):
                    broker.join(queue, min_successes=2, idle_time=50, timeout=20_000)
                else:
                    broker.join(queue, timeout=20_000)
            worker.join()

    yield drain
    if started:
        worker.stop()
    broker.flush_all()


# The errand app: background work failing in every way ------------------------------------------
FAILING = Path(__file__).resolve().parent / "failing"
TABLES = (*STATEWRIGHT_TABLES, "errands")


def fresh_tables(app: Statewright) -> None:
    """Drop and recreate Statewright's tables and the errands table."""
    with app.engine.begin() as connection:
        for table in TABLES:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(app.engine)
    JobBase.metadata.create_all(app.engine, tables=[Errand.__table__])  # type: ignore[list-item]


#: A handler module that exists when the app is built; a test deletes it, as a deploy might.
VANISHING = "errand_vanishing"


@pytest.fixture
def errands_broker_url() -> str:
    """The errand app's broker: the in-process one unless a module needs another process to reach it."""
    return "memory://"


@pytest.fixture
def errands(
    database_url: str, errands_broker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Statewright]:
    """The errand app (``failing/errand.yaml``), without an ``http_base_url``, over fresh tables."""
    (tmp_path / f"{VANISHING}.py").write_text("def run(errand):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = Statewright.from_path(FAILING, database_url=database_url, broker_url=errands_broker_url)
    app.broker.flush_all()
    fresh_tables(app)
    GRUMBLES.clear()
    HEARD.clear()
    LISTENER_FAILS[0] = True
    yield app
    app.close()


@pytest.fixture
def drain(errands: Statewright) -> Iterator[Callable[[], None]]:
    """Run a worker until every queue is empty (failed messages included)."""
    worker = Worker(errands.broker, worker_timeout=50, worker_threads=2)
    worker.start()

    def run() -> None:
        for _ in range(3):
            for queue in sorted(errands.broker.queues):
                if isinstance(errands.broker, StubBroker):
                    errands.broker.join(queue, fail_fast=False, timeout=20_000)
                else:
                    errands.broker.join(queue, timeout=20_000)  # type: ignore[attr-defined]
            worker.join()

    yield run
    worker.stop()
    errands.broker.flush_all()


def failed_listener_and_reaction(app: Statewright, drain: Callable[[], None]) -> tuple[int, int]:
    """Fail the errand app's listener and reaction for good; returns their failure records' ids."""
    from engine.work.failures import list_failures

    with app.sessionmaker() as session:
        errand = Errand()
        session.add(errand)
        session.commit()
        errand.fire("go_done")
    drain()
    records = {record.kind: record.id for record in list_failures(app.engine)}
    return records["listener"], records["reaction"]
