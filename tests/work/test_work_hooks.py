"""The work hooks through a real Dramatiq worker (StubBroker): start, success, retry and failure of each delivery."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import text
from sqlalchemy.orm import attributes

from engine import Hook, SkipReason, Statewright, Veto, WorkRun
from engine.migrations.upgrade import upgrade
from engine.work.claims import claim_from_start
from tests.conftest import STATEWRIGHT_TABLES
from tests.work.app.handlers import CALLS, HEARD
from tests.work.app.models import Job, JobBase
from tests.work.conftest import MACHINES


class WorkRecorder(Hook):
    """Remembers (signal, kind, name, attempt, error type) per delivery; worker threads append concurrently."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None, int, str | None]] = []
        self.runs: list[WorkRun] = []
        self._lock = threading.Lock()

    def _note(self, signal: str, run: WorkRun, error: BaseException | None = None) -> None:
        with self._lock:
            self.seen.append((signal, run.kind, run.name, run.attempt, type(error).__name__ if error else None))
            self.runs.append(run)

    def before_work(self, run: WorkRun) -> None:
        self._note("start", run)

    def after_work(self, run: WorkRun) -> None:
        self._note("done", run)

    def after_work_retry(self, run: WorkRun, error: BaseException) -> None:
        self._note("retry", run, error)

    def after_work_failure(self, run: WorkRun, error: BaseException) -> None:
        self._note("failed", run, error)

    def of(self, kind: str) -> list[tuple[str, int, str | None]]:
        return [(signal, attempt, error) for signal, k, _, attempt, error in self.seen if k == kind]


@pytest.fixture
def recorder() -> WorkRecorder:
    return SkipsAndRollbacks()


@pytest.fixture
def hooked_app(database_url: str, recorder: WorkRecorder) -> Iterator[Statewright]:
    app = Statewright.from_path(MACHINES, database_url=database_url, broker_url="memory://", hooks=[recorder])
    with app.engine.begin() as connection:
        for table in (*STATEWRIGHT_TABLES, "jobs", "calls", "shipments"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(app.engine)
    JobBase.metadata.create_all(app.engine)
    CALLS.clear()
    HEARD.clear()
    yield app
    app.close()


@pytest.fixture
def work(hooked_app: Statewright) -> Iterator[Callable[[], None]]:
    broker = hooked_app.broker
    assert isinstance(broker, StubBroker)
    worker = Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()

    def drain() -> None:
        for _ in range(3):  # retries and reactions enqueue more after a queue empties
            for queue in sorted(broker.queues):
                broker.join(queue, fail_fast=False, timeout=20_000)
            worker.join()

    yield drain
    worker.stop()


def _job(app: Statewright, behaviour: str) -> int:
    with app.sessionmaker() as session:
        job = Job(behaviour=behaviour)
        session.add(job)
        session.commit()
        return job.id


def test_a_task_that_fails_once_is_a_retry_then_a_success(
    hooked_app: Statewright, recorder: WorkRecorder, work: Callable[[], None]
) -> None:
    job_id = _job(hooked_app, "fail-once")
    work()
    assert recorder.of("task") == [("start", 1, None), ("retry", 1, "Flaky"), ("start", 2, None), ("done", 2, None)]
    task_runs = {(run.machine, run.name, run.model_id) for run in recorder.runs if run.kind == "task"}
    assert task_runs == {("job", "crunch", str(job_id))}
    assert recorder.of("listener") == [("start", 1, None), ("done", 1, None)]
    listener = next(run for run in recorder.runs if run.kind == "listener")
    assert (listener.machine, listener.name, listener.model_id) == ("job", "job.done#0", str(job_id)), (
        "a listener's run names its outbox row's work, read from the row"
    )


def test_a_task_failing_its_last_retry_is_a_failure_even_though_it_records_the_error(
    hooked_app: Statewright, recorder: WorkRecorder, work: Callable[[], None]
) -> None:
    _job(hooked_app, "always-fail")
    work()
    assert recorder.of("task") == [
        ("start", 1, None),
        ("retry", 1, "Flaky"),
        ("start", 2, None),
        ("retry", 2, "Flaky"),
        ("start", 3, None),
        ("failed", 3, "Flaky"),
    ]
    assert recorder.of("reaction") == [("start", 1, None), ("done", 1, None)], "the failed state's reaction ran"


def test_a_failing_work_hook_is_logged_and_the_work_still_runs(
    hooked_app: Statewright, recorder: WorkRecorder, work: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    def explode(run: WorkRun) -> None:
        raise RuntimeError("tracing backend down")

    recorder.before_work = explode  # type: ignore[method-assign]
    job_id = _job(hooked_app, "ok")
    work()
    with hooked_app.sessionmaker() as session:
        assert session.get_one(Job, job_id).status.state == "done"
    assert "before_work hook" in caplog.text


class SkipsAndRollbacks(WorkRecorder):
    """Also remembers skipped deliveries and rolled-back moves; vetoes the first claim when told to."""

    before_history_row = False  # PostgreSQL claims in one statement: the rollback is reported from that path too

    def __init__(self, *, veto_first_claim: bool = False) -> None:
        super().__init__()
        self.rollbacks: list[tuple[str, str, str, str]] = []
        self.refusals: list[str] = []
        self._veto = veto_first_claim

    def after_work_skipped(self, run: WorkRun, reason: SkipReason) -> None:
        self._note(f"skipped:{reason}", run)

    def before_transition(self, obj: Any, source: str | None, target: str, transition: str) -> None:
        if self._veto and transition == "start":
            self._veto = False
            raise Veto("not yet")

    def after_refusal(self, obj: Any, refusal: BaseException) -> None:
        self.refusals.append(type(refusal).__name__)

    def after_rollback(self, obj: Any, source: str, target: str, transition: str, error: BaseException) -> None:
        self.rollbacks.append((f"{obj.id}", f"{source}->{target}", transition, type(error).__name__))


def _job_moved_on_before_its_task_runs(app: Statewright) -> int:
    """A job created and moved to ``done`` in one transaction: its task's message finds it there."""
    with app.sessionmaker() as session, session.begin():
        job = Job(behaviour="ok")
        session.add(job)
        session.flush()
        job.set_status("running")
        job.set_status("done")
        return job.id


def _job_deleted_before_its_task_runs(app: Statewright) -> None:
    with app.sessionmaker() as session, session.begin():
        job = Job(behaviour="ok")
        session.add(job)
        session.flush()
        session.delete(job)


#: The listener of ``done`` runs for the job moved there; the deleted job emits nothing.
LISTENER_AFTER_MOVE = [("start", 1, None), ("done", 1, None)]


@pytest.mark.parametrize(
    ("stage", "reason", "listener"),
    [
        pytest.param(_job_moved_on_before_its_task_runs, "moved", LISTENER_AFTER_MOVE, id="moved on"),
        pytest.param(_job_deleted_before_its_task_runs, "gone", [], id="deleted"),
    ],
)
def test_a_delivery_with_nothing_to_claim_is_skipped_not_done(
    hooked_app: Statewright,
    recorder: SkipsAndRollbacks,
    work: Callable[[], None],
    stage: Callable[[Statewright], object],
    reason: str,
    listener: list[tuple[str, int, None]],
) -> None:
    stage(hooked_app)
    work()
    assert recorder.of("task") == [("start", 1, None), (f"skipped:{reason}", 1, None)]
    assert recorder.of("listener") == listener
    assert CALLS == {}, "the handler never ran"
    assert recorder.rollbacks == []


def test_a_claim_rolled_back_by_a_veto_is_reported_and_the_delivery_retried(
    hooked_app: Statewright, recorder: SkipsAndRollbacks, work: Callable[[], None]
) -> None:
    recorder._veto = True
    job_id = _job(hooked_app, "ok")
    work()
    assert recorder.rollbacks == [(str(job_id), "queued->running", "start", "Veto")]
    assert recorder.of("task") == [("start", 1, None), ("retry", 1, "Veto"), ("start", 2, None), ("done", 2, None)]
    with hooked_app.sessionmaker() as session:
        assert session.get_one(Job, job_id).status.state == "done"


def test_a_claim_that_loses_the_race_after_loading_its_object_is_no_refusal(
    hooked_app: Statewright, recorder: SkipsAndRollbacks
) -> None:
    """Loaded in ``queued``, moved by someone else before the compare-and-set: the claim is lost, quietly."""
    job_id = _job_moved_on_before_its_task_runs(hooked_app)
    with hooked_app.sessionmaker() as session:
        job = session.get_one(Job, job_id)
        flow = hooked_app.flows["job"]
        attributes.set_committed_value(job, flow.attribute, flow.compiled.member_by_state["queued"])  # as loaded before
        assert claim_from_start(flow, job, "running", payload=None, lease=None) is False
    assert recorder.refusals == []
    assert recorder.rollbacks == []
