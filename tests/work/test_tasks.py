"""Tasks, listeners and reactions run through a real Dramatiq worker; duplicates and crashes lose nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update

from engine import Statewright
from engine.orm.tables import outbox
from tests.work.app.handlers import CALLS, HEARD
from tests.work.app.models import Job


def _jobs(app: Statewright, *behaviours: str) -> list[int]:
    with app.sessionmaker() as session:
        jobs = [Job(behaviour=behaviour) for behaviour in behaviours]
        session.add_all(jobs)
        session.commit()
        return [job.id for job in jobs]


def _state(app: Statewright, job_id: int) -> str:
    with app.sessionmaker() as session:
        return session.get_one(Job, job_id).status.state


def _moves(app: Statewright, job_id: int) -> list[tuple[str | None, str, str]]:
    with app.sessionmaker() as session:
        return [(c.from_state, c.to_state, c.transition) for c in session.get_one(Job, job_id).history()]


def _send_task_again(app: Statewright) -> None:
    """Deliver the job's task message once more, as a redelivery would."""
    with app.engine.connect() as connection:
        row = connection.execute(select(outbox).where(outbox.c.kind == "task")).one()
    assert app.work.send(row)


def test_a_created_object_runs_its_task_to_complete(app: Statewright, run_work: Callable[[], None]) -> None:
    (job_id,) = _jobs(app, "ok")
    run_work()
    assert _moves(app, job_id) == [
        (None, "queued", "create"),
        ("queued", "running", "start"),
        ("running", "done", "finish"),
    ]
    with app.sessionmaker() as session:
        job = session.get_one(Job, job_id)
        assert job.result == f"crunched {job_id}", "the handler's changes commit with `complete`"
        assert job.history()[-1].payload == {"runs": 1}
    assert CALLS[job_id] == 1


def test_a_failed_run_is_retried_and_completes(app: Statewright, run_work: Callable[[], None]) -> None:
    (job_id,) = _jobs(app, "fail-once")
    run_work()
    assert _state(app, job_id) == "done"
    assert CALLS[job_id] == 2
    assert [m[1] for m in _moves(app, job_id)] == ["queued", "running", "done"]


def test_after_the_last_retry_the_error_is_recorded_and_the_reaction_runs(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    (job_id,) = _jobs(app, "always-fail")
    run_work()
    assert CALLS[job_id] == 3, "one run and two retries"
    moves = _moves(app, job_id)
    assert moves[-2:] == [("running", "failed", "fail"), ("failed", "archived", "archive")]
    with app.sessionmaker() as session:
        failed = session.get_one(Job, job_id).history()[-2]
    assert failed.exception_type == "tests.work.app.handlers.Flaky"
    assert failed.exception_message == f"job {job_id} failed on run 3"


def test_listeners_receive_the_event_message(app: Statewright, run_work: Callable[[], None]) -> None:
    (job_id,) = _jobs(app, "ok")
    run_work()
    assert [(m["model_id"], m["from"], m["to"], m["transition"]) for m in HEARD] == [
        (str(job_id), "running", "done", "finish")
    ]


def test_a_duplicate_delivery_does_nothing(app: Statewright, run_work: Callable[[], None]) -> None:
    (job_id,) = _jobs(app, "ok")
    run_work()
    _send_task_again(app)
    run_work()
    assert CALLS[job_id] == 1
    assert len(_moves(app, job_id)) == 3


def test_a_delivery_that_died_after_claiming_is_finished_by_the_next(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    """The object sits in `running` with its task message delivered again."""
    (job_id,) = _jobs(app, "ok")
    with app.sessionmaker() as session:
        session.get_one(Job, job_id).set_status("running")
    app.broker.flush_all()
    _send_task_again(app)
    run_work()
    assert _state(app, job_id) == "done"
    assert CALLS[job_id] == 1


def test_rows_the_relay_could_not_send_are_sent_by_the_sweeper(
    app: Statewright, run_work: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broker_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("broker unreachable")

    actor = app.work.actors[("task", "jobs")]
    monkeypatch.setattr(actor, "send_with_options", broker_down)
    (job_id,) = _jobs(app, "ok")
    with app.engine.connect() as connection:
        unsent = connection.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
    assert unsent == 1, "the task row stays in the outbox while the broker is down"
    monkeypatch.undo()
    assert app.sweep_outbox() == 1
    run_work()
    assert _state(app, job_id) == "done"


def test_the_sweeper_resends_rows_whose_sending_was_not_recorded(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    """A process killed between sending and marking sends again: at least once, never lost."""
    (job_id,) = _jobs(app, "ok")
    run_work()
    with app.engine.begin() as connection:
        connection.execute(update(outbox).values(sent_at=None))
    app.sweep_outbox()
    run_work()
    assert _state(app, job_id) == "done"
    assert CALLS[job_id] == 1
    assert len(_moves(app, job_id)) == 3


@pytest.mark.parametrize("behaviour", ["other-database", "own-conflict"])
def test_a_database_fault_of_the_handler_itself_spends_its_retries_and_is_recorded(
    app: Statewright, run_work: Callable[[], None], behaviour: str
) -> None:
    """Statewright's database answers, so the fault is the handler's: retried per the file, then `failed`
    (it was held and run again forever: the gate's probe found the database fine every time)."""
    (job_id,) = _jobs(app, behaviour)
    run_work()
    assert CALLS[job_id] == 3, "one run and the task's two retries"
    assert _moves(app, job_id)[-2:] == [("running", "failed", "fail"), ("failed", "archived", "archive")]
    with app.sessionmaker() as session:
        failed = session.get_one(Job, job_id).history()[-2]
    assert str(failed.exception_type).startswith("psycopg.")
