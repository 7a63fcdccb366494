"""The sweeper resends task and endpoint work a broker lost, and a resend never runs a handler next to a live claim."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from engine import ConfigurationError, Statewright
from engine.orm.tables import leases, outbox
from engine.work.brokers import build_broker
from engine.work.claims import CLAIMANT_PREFIX
from engine.work.failures import RESENT, list_failures
from engine.work.leases import DEFAULT_LEASE
from engine.work.resends import DEFAULT_RESEND_AFTER, resend_stalled
from tests.work.app.handlers import CALLS
from tests.work.app.models import Job
from tests.work.conftest import BROKER_URLS, MACHINES
from tests.work.jobs import new_job, state_of, task_row

RESEND_AFTER_ENV = "STATEWRIGHT_RESEND_AFTER"


@pytest.fixture
def broker_url() -> str:
    """Losing messages is staged by flushing the in-process broker."""
    return "memory://"


#: Well past the default grace (ten minutes).
LATER = datetime.now(UTC) + timedelta(hours=2)


def test_work_the_broker_lost_is_resent_after_the_grace_and_the_resend_is_recorded(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    job_id = new_job(app)
    app.broker.flush_all()  # the broker restarted without persistence: the message is gone, the row says sent
    assert app.resend_stalled() == 0, "not before the grace"
    assert app.resend_stalled(now=LATER) == 1
    assert app.resend_stalled(now=LATER) == 0, "once per grace period"
    run_work()
    assert state_of(app, job_id) == "done"
    assert CALLS[job_id] == 1
    assert task_row(app).attempts == 2  # type: ignore[attr-defined]
    (note,) = list_failures(app.engine)
    assert (note.status, note.kind, note.name, note.attempts) == (RESENT, "task", "crunch", 2)
    assert note.reason is not None
    assert note.reason.startswith(f"resent because job {job_id} was still in 'queued' ")
    assert "the broker may have lost it" in note.line()


def test_objects_that_left_the_triggering_state_are_not_resent(app: Statewright, run_work: Callable[[], None]) -> None:
    job_id = new_job(app)
    run_work()
    assert state_of(app, job_id) == "done"
    assert app.resend_stalled(now=LATER) == 0


def test_a_duplicate_delivery_leaves_an_object_claimed_by_another_message_alone(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    """The original message is being worked on (its claim names it) when a resent copy arrives."""
    job_id = new_job(app)
    app.broker.flush_all()
    with app.sessionmaker() as session:
        session.get_one(Job, job_id).set_status("running", actor=f"{CLAIMANT_PREFIX}the-original")
    assert app.resend_stalled(now=LATER) == 0, "an object being worked on is never resent"
    assert app.work.send(task_row(app))  # a late duplicate, as a resend racing the claim would be
    run_work()
    assert CALLS[job_id] == 0, "the handler did not run next to the live claim"
    assert state_of(app, job_id) == "running"


def _grace(url: str, **options: timedelta) -> timedelta:
    app = Statewright.from_path(MACHINES, database_url=url, **options)
    app.close()
    return app.resend_after


def test_the_grace_comes_from_the_argument_the_environment_or_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'grace.db'}"
    monkeypatch.delenv(RESEND_AFTER_ENV, raising=False)
    assert _grace(url) == DEFAULT_RESEND_AFTER == timedelta(minutes=10)
    assert _grace(url, resend_after=timedelta(minutes=5)) == timedelta(minutes=5)
    monkeypatch.setenv(RESEND_AFTER_ENV, "1h30m")
    assert _grace(url) == timedelta(minutes=90)
    monkeypatch.setenv(RESEND_AFTER_ENV, "soon")
    with pytest.raises(ConfigurationError, match=r"\$STATEWRIGHT_RESEND_AFTER='soon' is not a duration"):
        _grace(url)


# Stranded in `processing` ------------------------------------------------------------------------
def _stranded(app: Statewright, job_id: int, *, lease_ended: timedelta) -> None:
    """The job in ``running`` under a claim whose message was lost and whose lease ended ``lease_ended`` ago."""
    app.broker.flush_all()
    with app.sessionmaker() as session:
        change = session.get_one(Job, job_id).set_status("running", actor=f"{CLAIMANT_PREFIX}the-lost-one")
    with app.engine.begin() as connection:
        row_id = connection.execute(select(outbox.c.id).where(outbox.c.kind == "task")).scalar_one()
        connection.execute(
            insert(leases).values(
                outbox_id=row_id, claimed_by="the-lost-one", lease_until=datetime.now(UTC), claim_id=change.id
            )
        )
    _lease_ended(app, lease_ended)


def _lease_ended(app: Statewright, ago: timedelta) -> None:
    """The claim's lease ended ``ago`` (renewed until then, after the message was sent)."""
    with app.engine.begin() as connection:
        connection.execute(update(leases).values(lease_until=datetime.now(UTC) - ago))
        connection.execute(
            update(outbox).where(outbox.c.kind == "task").values(sent_at=datetime.now(UTC) - ago - DEFAULT_LEASE)
        )


def test_work_stranded_in_processing_is_resent_once_its_lease_expired_and_the_resend_takes_over(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    job_id = new_job(app)
    _stranded(app, job_id, lease_ended=timedelta(seconds=40))
    assert app.resend_stalled() == 1
    assert app.resend_stalled() == 0, "once per lapse of the lease"
    run_work()
    assert (state_of(app, job_id), CALLS[job_id]) == ("done", 1)
    (note,) = list_failures(app.engine)
    assert (note.status, note.attempts) == (RESENT, 2)
    assert note.reason == (
        f"resent because job {job_id} was still in 'running' and its lease expired 40s ago: the "
        "worker that held it died or its message was lost; send 2"
    )


def test_work_whose_lease_is_live_or_just_ended_is_not_resent(app: Statewright) -> None:
    job_id = new_job(app)
    _stranded(app, job_id, lease_ended=-timedelta(minutes=5))
    assert app.resend_stalled() == 0, "a live lease: someone works on it"
    _lease_ended(app, timedelta(seconds=2))
    assert app.resend_stalled() == 0, "within the grace: a heartbeat may run late"


def test_stranded_work_nobody_took_over_is_resent_again_after_the_resend_grace(app: Statewright) -> None:
    job_id = new_job(app)
    _stranded(app, job_id, lease_ended=timedelta(minutes=1))
    assert app.resend_stalled() == 1
    assert app.resend_stalled(now=datetime.now(UTC) + timedelta(minutes=5)) == 0
    assert app.resend_stalled(now=LATER) == 1, "the resend was lost too"


def test_one_sweep_resends_every_lost_message_batch_after_batch(app: Statewright) -> None:
    ids = [new_job(app) for _ in range(7)]
    app.broker.flush_all()
    assert resend_stalled(app, after=app.resend_after, now=LATER, batch=3) == len(ids)
    assert {row.attempts for row in _task_rows(app)} == {2}


def _task_rows(app: Statewright) -> list[Any]:
    with app.engine.connect() as connection:
        return list(connection.execute(select(outbox).where(outbox.c.kind == "task")).all())


def test_a_sweep_resends_each_row_once_even_with_no_grace(app: Statewright) -> None:
    """Batches go on after the last row resent: with ``after=0`` a resent row would match again at once."""
    ids = [new_job(app) for _ in range(5)]
    app.broker.flush_all()
    assert resend_stalled(app, after=timedelta(0), batch=2) == len(ids)


@pytest.mark.parametrize("value", [timedelta(seconds=-5), "10m", timedelta(days=10**8)])
def test_a_grace_the_sweep_cannot_use_is_refused_when_given(value: object) -> None:
    """A negative one was taken as it was; a string or a huge one failed only in the sweep."""
    with pytest.raises(ConfigurationError, match="resend_after="):
        Statewright.from_path(MACHINES, database_url="sqlite://", resend_after=value)  # type: ignore[arg-type]


def test_sweep_with_resend_after_0s_resends_at_once(app: Statewright) -> None:
    """``--resend-after 0s`` meant the default grace (ten minutes): a zero duration read as "not given"."""
    from engine.cli import EXIT_OK
    from tests.acceptance.lines import invoke

    new_job(app)  # its message went to the in-process broker: nobody will run it
    broker_url = f"{BROKER_URLS['redis']}?namespace=statewright-resend-zero"
    url = app.engine.url.render_as_string(hide_password=False)
    try:
        result = invoke(
            "sweep",
            "--machines",
            str(MACHINES),
            "--database-url",
            url,
            "--broker-url",
            broker_url,
            "--resend-after",
            "0s",
            "--no-timeouts",
        )
    finally:
        build_broker(broker_url).flush_all()
    assert result.exit_code == EXIT_OK, result.output
    assert "outbox: 1 rows resent" in result.output
