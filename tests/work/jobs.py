"""Small steps the job app's tests share: make a job, read its state, read its task's outbox row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import Statewright
from engine.orm.tables import outbox
from tests.work.app.models import Job


def new_job(app: Statewright, behaviour: str = "ok") -> int:
    """A committed job (its task's outbox row is written, and sent if the broker takes it); returns its id."""
    with app.sessionmaker() as session:
        job = Job(behaviour=behaviour)
        session.add(job)
        session.commit()
        return job.id


def state_of(app: Statewright, job_id: int) -> str:
    """The job's state now, read in a session of its own."""
    with app.sessionmaker() as session:
        return session.get_one(Job, job_id).status.state


def task_row(app: Statewright) -> Any:
    """The one task outbox row there is."""
    with app.engine.connect() as connection:
        return connection.execute(select(outbox).where(outbox.c.kind == "task")).one()
