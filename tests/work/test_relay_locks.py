"""The relay right after a commit locks the rows it sends, so it never sends a row a sweep is sending."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from engine import Statewright
from engine.orm.tables import outbox
from tests.work.app.models import Job
from tests.work.jobs import new_job


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Row locks are PostgreSQL's (SQLite's writers take turns)."""
    return postgres_url


@pytest.fixture
def broker_url() -> str:
    """Sending is recorded by hand."""
    return "memory://"


def test_the_relay_leaves_a_row_another_sender_holds_to_it(app: Statewright) -> None:
    """The after-commit relay locks the rows it sends and skips those a sweep is sending (PostgreSQL)."""
    sent: list[int] = []
    app.work.relay.send = lambda row: False  # the commit's relay meets a dead broker: the row stays unsent
    job_id = new_job(app)
    app.work.relay.send = lambda row: sent.append(row.id) is None
    with app.sessionmaker() as session:
        (created,) = app.flow(Job).history(session.get_one(Job, job_id))
    change = dataclasses.replace(created, outbox_rows=1)
    with app.engine.connect() as sweep, sweep.begin():
        sweep.execute(select(outbox).with_for_update())  # a sweep is sending it right now
        app.work.relay.after_transitions([change])
        assert sent == [], "the relay left the row to the sweep"
    app.work.relay.after_transitions([change])
    with app.engine.connect() as connection:
        assert sent == [connection.execute(select(outbox.c.id).where(outbox.c.kind == "task")).scalar_one()]
