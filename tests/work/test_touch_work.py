"""Touch and emitted events through a real Dramatiq worker on the in-process broker (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from dramatiq import Worker

from engine import Statewright
from tests.work.touching.app import new_parcel, parcel_app
from tests.work.touching.handlers import HEARD, LABELS
from tests.work.touching.models import Parcel


@pytest.fixture
def app(database_url: str) -> Iterator[Statewright]:
    """The parcel app on each database, on the in-process broker."""
    statewright = parcel_app(database_url)
    yield statewright
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
                app.broker.join(queue, fail_fast=False, timeout=20_000)  # type: ignore[call-arg]
            worker.join()

    yield drain
    if started:
        worker.stop()


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
