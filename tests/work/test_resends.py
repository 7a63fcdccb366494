"""The sweeper resends task and endpoint work a broker lost, and a resend never runs a handler next to a live claim."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import ConfigurationError, Statewright
from engine.orm.tables import outbox
from engine.work.claims import CLAIMANT_PREFIX
from engine.work.failures import RESENT, list_failures
from engine.work.resends import DEFAULT_RESEND_AFTER, RESEND_AFTER_ENV
from tests.work.app.handlers import CALLS
from tests.work.app.models import Job
from tests.work.conftest import MACHINES


@pytest.fixture
def broker_url() -> str:
    """Losing messages is staged by flushing the in-process broker."""
    return "memory://"


#: Well past the default grace (ten minutes).
LATER = datetime.now(UTC) + timedelta(hours=2)


def _job(app: Statewright) -> int:
    with app.session() as session:
        job = Job(behaviour="ok")
        session.add(job)
        session.commit()
        return job.id


def _state(app: Statewright, job_id: int) -> str:
    with app.session() as session:
        return session.get_one(Job, job_id).status.state


def _task_row(app: Statewright) -> object:
    with app.engine.connect() as connection:
        return connection.execute(select(outbox).where(outbox.c.kind == "task")).one()


def test_work_the_broker_lost_is_resent_after_the_grace_and_the_resend_is_recorded(
        app: Statewright, run_work: Callable[[], None]) -> None:
    job_id = _job(app)
    app.broker.flush_all()  # the broker restarted without persistence: the message is gone, the row says sent
    assert app.resend_stalled() == 0, "not before the grace"
    assert app.resend_stalled(now=LATER) == 1
    assert app.resend_stalled(now=LATER) == 0, "once per grace period"
    run_work()
    assert _state(app, job_id) == "done"
    assert CALLS[job_id] == 1
    assert _task_row(app).attempts == 2  # type: ignore[attr-defined]
    (note,) = list_failures(app.engine)
    assert (note.status, note.kind, note.name, note.attempts) == (RESENT, "task", "crunch", 2)
    assert note.reason is not None
    assert note.reason.startswith(f"resent because job {job_id} was still in 'queued' ")
    assert "the broker may have lost it" in note.line()


def test_objects_that_left_the_triggering_state_are_not_resent(app: Statewright,
                                                               run_work: Callable[[], None]) -> None:
    job_id = _job(app)
    run_work()
    assert _state(app, job_id) == "done"
    assert app.resend_stalled(now=LATER) == 0


def test_a_duplicate_delivery_leaves_an_object_claimed_by_another_message_alone(
        app: Statewright, run_work: Callable[[], None]) -> None:
    """The original message is being worked on (its claim names it) when a resent copy arrives."""
    job_id = _job(app)
    app.broker.flush_all()
    with app.session() as session:
        session.get_one(Job, job_id).set_status("running", actor=f"{CLAIMANT_PREFIX}the-original")
    assert app.resend_stalled(now=LATER) == 0, "an object being worked on is never resent"
    assert app.work.send(_task_row(app))  # a late duplicate, as a resend racing the claim would be
    run_work()
    assert CALLS[job_id] == 0, "the handler did not run next to the live claim"
    assert _state(app, job_id) == "running"


def _grace(url: str, **options: timedelta) -> timedelta:
    app = Statewright.from_path(MACHINES, database_url=url, **options)
    app.close()
    return app.resend_after


def test_the_grace_comes_from_the_argument_the_environment_or_the_default(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'grace.db'}"
    monkeypatch.delenv(RESEND_AFTER_ENV, raising=False)
    assert _grace(url) == DEFAULT_RESEND_AFTER == timedelta(minutes=10)
    assert _grace(url, resend_after=timedelta(minutes=5)) == timedelta(minutes=5)
    monkeypatch.setenv(RESEND_AFTER_ENV, "1h30m")
    assert _grace(url) == timedelta(minutes=90)
    monkeypatch.setenv(RESEND_AFTER_ENV, "soon")
    with pytest.raises(ConfigurationError, match=r"\$STATEWRIGHT_RESEND_AFTER='soon' is not a duration"):
        _grace(url)
