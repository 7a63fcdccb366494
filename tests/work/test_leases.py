"""A claim is a lease: recorded with the claim, renewed while the handler runs, taken over only after it expired."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dramatiq import Worker
from sqlalchemy import create_engine, insert, select, update

from engine import ConfigurationError, Statewright
from engine.orm.tables import leases, outbox, statuses
from engine.runtime.clock import aware
from engine.runtime.leasing import Lease
from engine.settings import Settings
from engine.work.claims import CLAIMANT_PREFIX
from engine.work.leases import DEFAULT_LEASE, Leases
from tests.work.app.handlers import CALLS
from tests.work.app.models import Call, Job
from tests.work.jobs import new_job, state_of, task_row

#: Another message, said to hold a claim.
OTHER = "the-other-message"


@pytest.fixture
def broker_url() -> str:
    """Deliveries are staged by hand on the in-process broker."""
    return "memory://"


def _claimed_by_other(app: Statewright, job_id: int, *, lease_left: timedelta, current: bool = True) -> None:
    """The job in ``running`` under a claim of ``OTHER`` whose lease ends ``lease_left`` from now."""
    app.broker.flush_all()  # the original message is gone: whatever comes next is another delivery
    with app.sessionmaker() as session:
        change = session.get_one(Job, job_id).set_status("running", actor=f"{CLAIMANT_PREFIX}{OTHER}")
    with app.engine.begin() as connection:
        connection.execute(
            insert(leases).values(
                outbox_id=task_row(app).id,
                claimed_by=OTHER,
                lease_until=datetime.now(UTC) + lease_left,
                claim_id=change.id if current else change.id - 1,
            )
        )


def _lease(app: Statewright) -> Any:
    with app.engine.connect() as connection:
        return connection.execute(select(leases)).one_or_none()


def test_a_claim_records_its_message_and_a_lease_on_the_outbox_row(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    job_id = new_job(app)
    before = datetime.now(UTC)
    run_work()
    assert state_of(app, job_id) == "done"
    row = _lease(app)
    with app.engine.connect() as connection:
        claim = connection.execute(select(statuses).where(statuses.c.to_state == "running")).one()
    assert (row.outbox_id, row.claim_id) == (task_row(app).id, claim.id)
    assert claim.actor == f"{CLAIMANT_PREFIX}{row.claimed_by}"
    assert (
        before + DEFAULT_LEASE - timedelta(seconds=5)
        < aware(row.lease_until)
        < datetime.now(UTC) + DEFAULT_LEASE + timedelta(seconds=5)
    )


def test_an_endpoint_claim_records_its_lease_in_the_same_transaction(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    with app.sessionmaker() as session:
        call = Call(path="ok")
        session.add(call)
        session.commit()
    run_work()
    with app.engine.connect() as connection:
        claim = connection.execute(select(statuses).where(statuses.c.to_state == "sending")).one()
        row_id = connection.execute(select(outbox.c.id).where(outbox.c.kind == "endpoint")).scalar_one()
    lease = _lease(app)
    assert (lease.outbox_id, lease.claim_id) == (row_id, claim.id)
    assert claim.actor == f"{CLAIMANT_PREFIX}{lease.claimed_by}"


def test_a_delivery_skips_while_another_message_holds_a_live_lease(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    job_id = new_job(app)
    _claimed_by_other(app, job_id, lease_left=timedelta(minutes=5))
    assert app.work.send(task_row(app))
    run_work()
    assert CALLS[job_id] == 0, "the handler did not run next to the live claim"
    assert (state_of(app, job_id), _lease(app).claimed_by) == ("running", OTHER)


def test_a_delivery_takes_over_a_claim_whose_lease_expired(
    app: Statewright, run_work: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    job_id = new_job(app)
    _claimed_by_other(app, job_id, lease_left=-timedelta(seconds=1))
    assert app.work.send(task_row(app))
    with caplog.at_level(logging.WARNING, logger="engine.work"):
        run_work()
    assert (state_of(app, job_id), CALLS[job_id]) == ("done", 1)
    assert _lease(app).claimed_by not in (None, OTHER)
    assert f"job {job_id}: took over the claim of message {OTHER}, whose lease had expired" in caplog.text


def test_of_several_deliveries_after_the_lease_expired_exactly_one_takes_over(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    job_id = new_job(app)
    _claimed_by_other(app, job_id, lease_left=-timedelta(seconds=1))
    row = task_row(app)
    for _ in range(6):
        app.work.send(row)
    run_work()
    assert (state_of(app, job_id), CALLS[job_id]) == ("done", 1)


def test_a_delivery_never_takes_over_a_claim_that_is_not_its_rows(
    app: Statewright, run_work: Callable[[], None]
) -> None:
    """The object moved on since this row's claim (an older round of the same work): the row's lease means nothing."""
    job_id = new_job(app)
    _claimed_by_other(app, job_id, lease_left=-timedelta(minutes=5), current=False)
    app.work.send(task_row(app))
    run_work()
    assert (state_of(app, job_id), CALLS[job_id]) == ("running", 0)


# Retries ------------------------------------------------------------------------------------------
def test_a_failed_delivery_keeps_its_lease_until_its_retry_is_due(app: Statewright) -> None:
    job_id = new_job(app, "fail-once")
    app.broker.flush_all()
    row = task_row(app)
    actor = app.work.actors[("task", "jobs")]
    actor.send_with_options(
        args=(row.id, row.machine, row.name, row.model_id), max_retries=2, min_backoff=60_000, max_backoff=120_000
    )
    worker = Worker(app.broker, worker_timeout=50, worker_threads=1)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while (
            _lease(app) is None or aware(_lease(app).lease_until) < datetime.now(UTC) + timedelta(seconds=100)
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert CALLS[job_id] == 1
        assert state_of(app, job_id) == "running"
        until = aware(_lease(app).lease_until)
        assert until > datetime.now(UTC) + timedelta(seconds=120), "the lease covers the longest backoff"
        assert app.resend_stalled() == 0, "nothing is resent while the retry waits"
        assert app.work.leases.held() == {}, "the delivery gave its lease up"
    finally:
        worker.stop()


# The heartbeat ----------------------------------------------------------------------------------
def _lease_until(app: Statewright) -> datetime:
    return aware(_lease(app).lease_until)


def test_the_heartbeat_renews_held_leases_and_only_those_still_held(app: Statewright) -> None:
    job_id = new_job(app)
    _claimed_by_other(app, job_id, lease_left=timedelta(seconds=1))
    heart = Leases(app.engine, timedelta(seconds=3))
    heart.hold(Lease(task_row(app).id, OTHER, heart.duration))
    time.sleep(2.5)  # two renewals, each to three seconds from then
    assert _lease_until(app) > datetime.now(UTC) + timedelta(seconds=1)
    assert heart.release(OTHER) == task_row(app).id
    with app.engine.begin() as connection:  # taken over: the old holder's heartbeat no longer touches it
        connection.execute(update(leases).values(claimed_by="someone-else"))
    heart.hold(Lease(task_row(app).id, OTHER, heart.duration))
    before = _lease_until(app)
    assert heart.renew() == 0
    assert _lease_until(app) == before
    heart.release(OTHER)


def test_the_heartbeat_thread_ends_when_no_lease_is_held(app: Statewright) -> None:
    leases = Leases(app.engine, timedelta(seconds=1))
    assert not leases.beating
    leases.hold(Lease(1, OTHER, leases.duration))
    assert leases.beating
    leases.release(OTHER)
    deadline = time.monotonic() + 10
    while leases.beating and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leases.beating


@pytest.fixture
def unreachable() -> Iterator[Leases]:
    """Leases on a database nobody listens for, renewed every third of a second."""
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 1})
    leases = Leases(engine, timedelta(seconds=1))
    yield leases
    leases.release(OTHER)
    engine.dispose()


def test_database_errors_in_the_heartbeat_are_logged_once_a_minute_and_never_raised(
    unreachable: Leases, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="engine.work"):
        unreachable.hold(Lease(1, OTHER, unreachable.duration))
        time.sleep(2.5)
        assert unreachable.beating, "the heartbeat keeps beating"
    complaints = [record for record in caplog.records if "could not renew" in record.getMessage()]
    assert len(complaints) == 1, [record.getMessage() for record in complaints]
    assert "could not renew 1 lease(s) (1 failed renewal(s) in a row): OperationalError" in complaints[0].getMessage()


# Settings ------------------------------------------------------------------------------------------
def test_the_lease_comes_from_the_environment_or_the_default() -> None:
    assert Settings.from_env({}).lease == DEFAULT_LEASE == timedelta(seconds=30)
    assert Settings.from_env({"STATEWRIGHT_LEASE": "2m"}).lease == timedelta(minutes=2)
    for wrong in ("soon", "0s"):
        with pytest.raises(ConfigurationError, match=rf"\$STATEWRIGHT_LEASE='{wrong}' is not a duration of at least"):
            Settings.from_env({"STATEWRIGHT_LEASE": wrong})
