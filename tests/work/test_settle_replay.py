"""The handler runs once even when the commit after it fails: its changes are replayed, not recomputed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from dramatiq import Worker

from engine import Statewright
from tests.conftest import fresh_tables
from tests.work.app.models import Call, Job, JobBase
from tests.work.outages.handlers import RUNS
from tests.work.outages.machine import CALL_MACHINE, write_machine
from tests.work.server import Received


@pytest.fixture
def make_app(postgres_url: str, tmp_path: Path) -> Iterator[object]:
    """Builds the job app with the named handler, on PostgreSQL and the in-process broker."""
    apps: list[Statewright] = []

    def make(handler: str) -> Statewright:
        folder = tmp_path / handler
        folder.mkdir()
        app = Statewright.from_path(write_machine(folder, handler), database_url=postgres_url)
        fresh_tables(app.engine, JobBase.metadata)
        RUNS.clear()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def _run_one_job(app: Statewright) -> tuple[Job, list[tuple[str | None, str]], object]:
    """Create a job, let a real Dramatiq worker run its task; the job as it ends, its moves, the last payload."""
    worker = Worker(app.broker, worker_timeout=50, worker_threads=1)
    worker.start()
    try:
        with app.sessionmaker() as session:
            job = Job()
            session.add(job)
            session.commit()
            job_id = job.id
        app.broker.join("jobs", fail_fast=False, timeout=30_000)  # type: ignore[attr-defined]
        worker.join()
    finally:
        worker.stop()
    with app.sessionmaker() as session:
        job = session.get_one(Job, job_id)
        history = job.history()
        return job, [(change.from_state, change.to_state) for change in history], history[-1].payload


def test_a_settle_that_loses_its_connection_keeps_the_handlers_changes_without_running_it_again(
    make_app: object, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app("keep_result_and_cut")  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="engine.work"):
        job, moves, payload = _run_one_job(app)
    assert RUNS[job.id] == 1
    assert job.status.state == "done"
    assert job.result == f"kept {job.id}"
    assert moves == [(None, "queued"), ("queued", "running"), ("running", "done")]
    assert payload == {"runs": 1}
    assert any("connection was lost" in record.getMessage() for record in caplog.records)


def test_a_handler_that_executed_its_own_statement_runs_again_and_says_why(
    make_app: object, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app("update_itself_and_cut")  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="engine.work"):
        job, moves, _ = _run_one_job(app)
    assert RUNS[job.id] == 2
    assert job.status.state == "done"
    assert job.result == "run 2"
    assert moves == [(None, "queued"), ("queued", "running"), ("running", "done")]
    assert any("executed a statement itself (UPDATE)" in record.getMessage() for record in caplog.records)


def test_an_endpoint_is_not_called_again_when_the_settle_after_its_answer_loses_its_connection(
    postgres_url: str, tmp_path: Path, http_server: tuple[str, Received]
) -> None:
    base_url, received = http_server
    app = Statewright.from_path(
        write_machine(tmp_path, "read_answer_and_cut", template=CALL_MACHINE),
        database_url=postgres_url,
        http_base_url=base_url,
    )
    fresh_tables(app.engine, JobBase.metadata)
    worker = Worker(app.broker, worker_timeout=50, worker_threads=1)
    worker.start()
    try:
        with app.sessionmaker() as session:
            call = Call(path="ok")
            session.add(call)
            session.commit()
        app.broker.join("calls", fail_fast=False, timeout=30_000)  # type: ignore[attr-defined]
        worker.join()
        with app.sessionmaker() as session:
            call = session.get_one(Call, call.id)
            moves = [(change.from_state, change.to_state) for change in call.history()]
            assert (call.status.state, call.answer) == ("sent", "r-ok")
    finally:
        worker.stop()
        app.close()
    assert received.hits["ok"] == 1
    assert moves == [(None, "pending"), ("pending", "sending"), ("sending", "sent")]
