"""Time limits bound the handler: past its limit it is interrupted, retried per the machine file, then in error.

The watchdog is real (a thread raising into the late thread), and so are the workers: a ``dramatiq.Worker``
in this process, and ``statewright worker`` processes in ``test_a_worker_process_stops_an_8_s_handler_…``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from engine import HandlerTimedOut, Statewright
from engine.orm.tables import statuses
from engine.work.brokers import build_broker
from engine.work.limits import Deadline
from tests.reliability.pipeline import Pipeline
from tests.work.app.handlers import SWALLOWED
from tests.work.app.models import Job
from tests.work.conftest import BROKER_URLS, FAILING
from tests.work.processes import PROCESS_BROKER_URL
from tests.work.server import Received, serve
from tests.work.test_failures import errand_in, last_change


def _work(seconds: float) -> None:
    """Busy Python code for ``seconds`` (an interrupt lands at any of its instructions)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


# The watchdog ----------------------------------------------------------------------------------
def test_a_handler_past_its_limit_is_interrupted_with_an_error_naming_the_limit() -> None:
    started = time.monotonic()
    with pytest.raises(
        HandlerTimedOut, match=r"^task crunch ran past its time limit of 0.3 s and was interrupted"
    ) as raised:
        Deadline(timedelta(milliseconds=300), "task crunch").run(_work, 10)
    took = time.monotonic() - started
    assert 0.3 <= took < 3, f"interrupted after {took:.2f} s"
    assert raised.value.limit == timedelta(milliseconds=300)


def _swallow_everything_for(seconds: float) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            time.sleep(0.01)
        except Exception:  # noqa: S110 - what the test is about
            pass


def test_a_handler_that_catches_every_exception_is_still_interrupted() -> None:
    started = time.monotonic()
    with pytest.raises(HandlerTimedOut):
        Deadline(timedelta(milliseconds=200), "task swallow").run(_swallow_everything_for, 10)
    assert time.monotonic() - started < 3


def _fail() -> None:
    raise KeyError("its own")


def test_a_handler_that_ends_in_time_keeps_its_result_and_its_own_exceptions() -> None:
    assert Deadline(timedelta(seconds=5), "task quick").run(sum, range(1000)) == 499500
    with pytest.raises(KeyError):
        Deadline(timedelta(seconds=5), "task failing").run(_fail)


def test_a_spent_budget_runs_nothing() -> None:
    spent = Deadline(timedelta(seconds=1), "endpoint drip", started=time.monotonic() - 2)
    with pytest.raises(HandlerTimedOut):
        spent.run(_fail)


def test_the_interrupt_never_arrives_outside_the_handler() -> None:
    """Handlers that end before, around and well after their deadline, 600 times, each followed by more code.

    An interrupt arriving after its handler returned would escape as a BaseException here and fail the test.
    The longest handlers run ten times their limit, so that some are late even on a loaded machine (where
    the watchdog may wake milliseconds after the deadline: a CI run once saw no handler of 2.4 ms late).
    """
    outcomes: Counter[str] = Counter()
    for attempt in range(600):
        try:
            Deadline(timedelta(milliseconds=2), "task racing").run(_work, 0.0015 + (attempt % 30) * 0.0006)
            outcomes["in time"] += 1
        except HandlerTimedOut:
            outcomes["timed out"] += 1
        _work(0.002)
    assert outcomes["in time"] + outcomes["timed out"] == 600
    assert outcomes["timed out"] > 0, "no handler ran late: the race was not exercised"
    assert outcomes["in time"] > 0, "every handler ran late: the race was not exercised"


def test_only_the_thread_past_its_limit_is_interrupted() -> None:
    outcomes: dict[str, str] = {}

    def run(name: str, limit: float, seconds: float) -> None:
        try:
            Deadline(timedelta(seconds=limit), name).run(_work, seconds)
            outcomes[name] = "finished"
        except HandlerTimedOut:
            outcomes[name] = "interrupted"

    threads = [
        threading.Thread(target=run, args=("late", 0.2, 3)),
        threading.Thread(target=run, args=("in time", 5, 0.6)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == {"late": "interrupted", "in time": "finished"}


def test_a_forked_child_enforces_limits_after_its_parent_did() -> None:
    """The parent's watchdog thread does not survive a fork; the child starts its own."""
    code = """
import os, sys, time
from datetime import timedelta
from engine.errors import HandlerTimedOut
from engine.work.limits import Deadline

def work():
    until = time.monotonic() + 5
    while time.monotonic() < until:
        pass

def late():
    try:
        Deadline(timedelta(milliseconds=100), "task child").run(work)
    except HandlerTimedOut:
        return 0
    return 1

assert late() == 0
pid = os.fork()
if pid == 0:
    os._exit(late())
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_brokers_carry_no_whole_message_time_limit() -> None:
    from dramatiq.middleware import TimeLimit

    for url in ("memory://", BROKER_URLS["redis"], BROKER_URLS["rabbitmq"]):
        broker = build_broker(url)
        try:
            assert not any(isinstance(middleware, TimeLimit) for middleware in broker.middleware), url
            assert "time_limit" not in broker.actor_options
        finally:
            broker.close()


# Work under a dramatiq.Worker in this process ----------------------------------------------------
def test_a_task_that_swallows_exceptions_is_retried_per_its_file_then_in_error(
    errands: Statewright, drain: Callable[[], None]
) -> None:
    SWALLOWED.clear()
    started = time.monotonic()
    errand_id = errand_in(errands, "go_stubborn")
    drain()
    states, kind, message = last_change(errands, errand_id)
    assert states == ["new", "stubborn", "working", "failed"]
    assert kind == "statewright.HandlerTimedOut"
    assert message is not None
    assert message.startswith("task swallower ran past its time limit of 0.3 s")
    assert SWALLOWED["runs"] == 2, "one run and the one retry the file allows"
    assert SWALLOWED["swallowed"] == 0, "the interrupt is not an Exception the handler can swallow"
    assert time.monotonic() - started < 8, "two runs of 5 s each would take 10 s"


@pytest.fixture
def dripping_errands(errands: Statewright) -> Iterator[tuple[Statewright, Received]]:
    """The errand app calling a loopback server whose ``drip`` path sends its body a byte every 0.1 s."""
    with serve() as (base_url, received):
        app = Statewright.from_path(
            FAILING,
            database_url=errands.engine.url.render_as_string(hide_password=False),
            broker_url="memory://",
            http_base_url=base_url,
        )
        try:
            yield app, received
        finally:
            app.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_endpoint_whose_answer_never_ends_is_stopped_at_its_timeout_plus_slack(
    dripping_errands: tuple[Statewright, Received],
) -> None:
    """httpx's timeout bounds each read, and every read here gets a byte in time: only the limit stops it."""
    from dramatiq import Worker

    app, received = dripping_errands
    worker = Worker(app.broker, worker_timeout=50, worker_threads=1)
    worker.start()
    try:
        started = time.monotonic()
        errand_id = errand_in(app, "go_dripping")
        app.broker.join("errands", fail_fast=False, timeout=60_000)  # type: ignore[attr-defined]
        worker.join()
        took = time.monotonic() - started
    finally:
        worker.stop()
    states, kind, message = last_change(app, errand_id)
    assert received.hits["drip"] == 1
    assert states == ["new", "dripping", "working", "failed"]
    assert kind == "statewright.HandlerTimedOut"
    assert message is not None
    assert message.startswith("endpoint drip ran past its time limit of 10.2 s")
    assert 10 <= took < 25, f"stopped after {took:.1f} s; the body takes 30 s"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_claim_that_waits_for_a_row_lock_does_not_count_against_the_limit(errands: Statewright) -> None:
    """The task's limit is 1 s; its claim waits 3 s for a lock another transaction holds, then it finishes.

    Dramatiq's own limit covered the whole message, so the wait alone used it up.
    """
    from dramatiq import Worker

    errand_id = errand_in(errands, "go_quick")  # no worker yet: the message waits in the queue
    holder = create_engine(errands.engine.url)
    worker = Worker(errands.broker, worker_timeout=50, worker_threads=1)
    try:
        with holder.begin() as connection:
            connection.execute(text("SELECT id FROM errands WHERE id = :id FOR UPDATE"), {"id": errand_id})
            worker.start()
            time.sleep(3)
        errands.broker.join("errands", fail_fast=False, timeout=60_000)  # type: ignore[attr-defined]
        worker.join()
    finally:
        worker.stop()
        holder.dispose()
    states, kind, _ = last_change(errands, errand_id)
    assert states == ["new", "quick", "working", "done"], kind
    with errands.engine.connect() as connection:
        times = connection.scalars(
            select(statuses.c.created_at).where(statuses.c.model_id == str(errand_id)).order_by(statuses.c.id)
        ).all()
    assert (times[2] - times[1]).total_seconds() >= 2.5, "the claim waited for the lock"


# statewright worker processes ------------------------------------------------------------------
def test_a_worker_process_stops_an_8_s_handler_at_its_5_s_limit_and_retries_it_per_the_file(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job machine's ``crunch``: ``time_limit: 5s``, ``retries: 2``; a ``slow`` job works 8 s each run."""
    monkeypatch.setenv("STATEWRIGHT_TEST_SLOW", "8")
    with Pipeline(postgres_url, PROCESS_BROKER_URL, tmp_path) as pipeline:
        pipeline.app.broker.flush_all()
        pipeline.start_worker(processes=1, threads=2)
        with pipeline.app.sessionmaker() as session:
            job = Job(behaviour="slow")
            session.add(job)
            session.commit()
            job_id = job.id
        deadline = time.monotonic() + 120
        while _state(pipeline, job_id) not in ("failed", "archived", "done") and time.monotonic() < deadline:
            time.sleep(0.2)
        with pipeline.app.sessionmaker() as session:
            history = session.get_one(Job, job_id).history()
        # The job machine's reaction may archive a failed job afterwards.
        assert [change.to_state for change in history][:3] == ["queued", "running", "failed"], pipeline.worker_logs()
        last = history[2]
        assert last.exception_type == "statewright.HandlerTimedOut"
        assert last.exception_message is not None
        assert last.exception_message.startswith("task crunch ran past its time limit of 5 s and was interrupted")
        assert pipeline.handler_runs()[str(job_id)] == 3, "one run and the two retries the file allows"
        took = (last.created_at - history[1].created_at).total_seconds()
        assert 14 <= took < 22, f"three runs took {took:.1f} s: 3 × 5 s interrupted, not 3 × 8 s"


def _state(pipeline: Pipeline, job_id: int) -> str:
    with pipeline.app.sessionmaker() as session:
        return session.get_one(Job, job_id).status.state
