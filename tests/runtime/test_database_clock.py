"""History times are the database's, taken as the row is written: not the host's, not when the statement was built."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from engine import Statewright
from engine.orm.tables import outbox, statuses
from engine.runtime.changes import StatusChange
from engine.runtime.clock import aware, now_of
from tests.runtime.ticketing.models import Ticket

#: Seconds another transaction holds the ticket's row lock in the lock-wait tests.
HELD = 3.0


def _database_now(app: Statewright) -> datetime:
    with app.engine.connect() as connection:
        return now_of(connection)


def _new_ticket(app: Statewright) -> int:
    with app.sessionmaker() as session:
        ticket = Ticket(title="clock")
        session.add(ticket)
        session.commit()
        return ticket.id


def _stored(app: Statewright, change_id: int) -> tuple[datetime, list[datetime]]:
    """The history row's ``created_at`` and those of its outbox rows, as stored."""
    with app.engine.connect() as connection:
        created = connection.scalar(select(statuses.c.created_at).where(statuses.c.id == change_id))
        work = connection.scalars(select(outbox.c.created_at).where(outbox.c.status_change_id == change_id)).all()
    assert created is not None
    return aware(created), [aware(moment) for moment in work]


def test_a_change_records_the_database_time_it_was_written_and_returns_that_time(app: Statewright) -> None:
    before = _database_now(app)
    with app.sessionmaker() as session:
        ticket = Ticket(title="clock")
        session.add(ticket)
        session.commit()
        change = ticket.fire("fail")
    after = _database_now(app)
    created, work = _stored(app, change.id)
    assert change.created_at == created, "the StatusChange carries the stored time, exactly"
    assert change.created_at.tzinfo is not None
    # SQLite's clock has milliseconds.
    assert before - timedelta(milliseconds=1) <= created <= after + timedelta(milliseconds=1)


def test_creation_rows_and_their_outbox_rows_take_the_database_time(app: Statewright) -> None:
    before = _database_now(app)
    with app.sessionmaker() as session:
        session.add_all([Ticket(title=f"clock {n}") for n in range(5)])
        session.commit()
        tickets = session.scalars(select(Ticket)).all()
        histories = [ticket.history() for ticket in tickets]
    after = _database_now(app)
    for (created_row,) in histories:
        created, work = _stored(app, created_row.id)
        assert before - timedelta(milliseconds=1) <= created <= after + timedelta(milliseconds=1)
        assert work == [created], "the outbox row (ticket.opened) is written at its history row's time"


def _claim(app: Statewright, ticket_id: int) -> StatusChange:
    with app.sessionmaker() as session:
        claimed = app.flows["ticket"].claim(session, (ticket_id,), "new", "failed")
        assert claimed is not None
        return claimed.history()[-1]


def _fire(app: Statewright, ticket_id: int) -> StatusChange:
    with app.sessionmaker() as session:
        return session.get_one(Ticket, ticket_id).fire("fail")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("move", [_claim, _fire], ids=["claim", "fire"])
def test_a_move_that_waits_for_a_row_lock_records_when_it_got_the_lock(
    app: Statewright, move: Callable[[Statewright, int], StatusChange]
) -> None:
    """Another transaction holds the ticket's row for 3 s; the move's time is after that, not when it was asked."""
    ticket_id = _new_ticket(app)
    holder = create_engine(app.engine.url)
    moved: list[Any] = []
    try:
        with holder.begin() as connection:
            connection.execute(text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"), {"id": ticket_id})
            asked = _database_now(app)
            mover = threading.Thread(target=lambda: moved.append(move(app, ticket_id)))
            mover.start()
            time.sleep(HELD)
            released = now_of(connection)
        mover.join(timeout=60)
    finally:
        holder.dispose()
    (change,) = moved
    created, _ = _stored(app, change.id)
    assert created >= released, f"recorded {created - asked} after it was asked; the lock was held {HELD} s"
    assert change.created_at == created
