"""Touch and emitted events through a real Dramatiq worker on the in-process broker, Redis and RabbitMQ
(SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from dramatiq import Worker
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker

from engine import Statewright
from tests.work.touching.app import new_parcel, parcel_app
from tests.work.touching.handlers import HEARD, LABELS
from tests.work.touching.models import Parcel


@pytest.fixture
def app(database_url: str, broker_url: str) -> Iterator[Statewright]:
    """The parcel app on each database and each broker of tests/work's ``BROKER_URLS``."""
    statewright = parcel_app(database_url, broker_url=broker_url)
    yield statewright
    statewright.broker.flush_all()
    statewright.close()


@pytest.fixture
def run_work(app: Statewright) -> Iterator[Callable[[], None]]:
    """Start a worker on first use and wait until every queue is drained."""
    worker = Worker(app.broker, worker_timeout=50, worker_threads=2)
    started = False

    def drain() -> None:
        nonlocal started
        if not started:
            worker.start()
            started = True
        for _ in range(3):  # reactions enqueue more after a queue empties
            for queue in sorted(app.broker.queues):
                _join(app.broker, queue)
            worker.join()

    yield drain
    if started:
        worker.stop()


def _join(broker: object, queue: str) -> None:
    """Wait until ``queue`` is empty; each broker's ``join`` takes its own arguments."""
    if isinstance(broker, StubBroker):
        broker.join(queue, fail_fast=False, timeout=20_000)
    elif isinstance(broker, RabbitmqBroker):
        broker.join(queue, min_successes=2, idle_time=50, timeout=20_000)
    else:
        broker.join(queue, timeout=20_000)  # type: ignore[attr-defined]


def _state(app: Statewright, parcel_id: int) -> str:
    with app.sessionmaker() as session:
        return session.get_one(Parcel, parcel_id).status.state


def test_a_touch_runs_the_states_listener_again(app: Statewright, run_work: Callable[[], None]) -> None:
    parcel_id = new_parcel(app)
    run_work()
    with app.sessionmaker() as session:
        session.get_one(Parcel, parcel_id).touch(reason="again")
    run_work()
    assert [(m["transition"], m["context"]) for m in HEARD] == [("create", None), ("touch", {"reason": "again"})]


def test_a_touch_sends_a_lost_task_again(app: Statewright, run_work: Callable[[], None]) -> None:
    """Given a parcel in `waiting` whose label task message was lost, a touch gets the label made."""
    parcel_id = new_parcel(app)
    with app.sessionmaker() as session:
        session.get_one(Parcel, parcel_id).fire("packed")
    app.broker.flush_all()
    run_work()
    assert _state(app, parcel_id) == "waiting"
    with app.sessionmaker() as session:
        session.get_one(Parcel, parcel_id).touch()
    run_work()
    assert _state(app, parcel_id) == "labelled"
    assert LABELS[parcel_id] == 1


def test_an_emitted_event_reaches_its_listener_and_reaction(app: Statewright, run_work: Callable[[], None]) -> None:
    light, heavy = new_parcel(app), new_parcel(app)
    with app.sessionmaker() as session:
        session.get_one(Parcel, light).fire("weigh", grams=300)
        session.get_one(Parcel, heavy).fire("weigh", grams=2500)
    run_work()
    weighed = sorted((m["model_id"], m["payload"]["grams"]) for m in HEARD if m.get("event") == "parcel.weighed")
    assert weighed == [(str(light), 300), (str(heavy), 2500)]
    # The reaction moved only the heavy parcel on, and its label task ran.
    assert (_state(app, light), _state(app, heavy)) == ("packing", "labelled")
    assert LABELS[heavy] == 1


def test_an_event_emitted_by_the_action_of_a_tasks_complete_step_reaches_its_listener(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    """The worker's own move (`label`, the task's complete step) runs its action, which emits in that move."""
    parcel_id = new_parcel(app)
    with app.sessionmaker() as session:
        session.get_one(Parcel, parcel_id).fire("packed")
    run_work()
    assert _state(app, parcel_id) == "labelled"
    made = [m for m in HEARD if m.get("event") == "parcel.label_made"]
    assert [(m["model_id"], m["payload"]) for m in made] == [(str(parcel_id), {"labels": 1})]
    assert made[0]["transition"] == "label"
