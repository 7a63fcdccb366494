"""How many statements a change costs, and that the cheaper paths write exactly what the general one does.

On PostgreSQL a move without actions (and without a before-hook that keeps ``before_history_row``) is one
statement (compare-and-set and history row in a WITH clause), and a flush that creates objects writes their
creation history in one batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, ForeignKey, Integer, String, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from engine import Hook, StaleStatus, Statewright
from engine.orm.tables import outbox, statuses
from tests.runtime.conftest import RUNTIME_MACHINES
from tests.runtime.ticketing.models import Ticket


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def remember(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def _writes(seen: list[str]) -> list[str]:
    return [s for s in seen if not s.startswith(("SELECT", "BEGIN", "SAVEPOINT", "RELEASE"))]


def test_objects_created_in_one_flush_each_get_their_own_creation_row_and_work(app: Statewright) -> None:
    with app.sessionmaker() as session, _statements(app.engine) as seen:
        tickets = [Ticket(title=f"t{n}") for n in range(30)]
        session.add_all(tickets)
        session.commit()
        history_inserts = [s for s in seen if s.startswith("INSERT INTO statuses")]
    with app.engine.connect() as connection:
        rows = connection.execute(select(statuses.c.id, statuses.c.model_id, statuses.c.to_state)).all()
        work = dict(connection.execute(select(outbox.c.status_change_id, outbox.c.model_id)).all())
    assert sorted(int(model_id) for _, model_id, _ in rows) == sorted(ticket.id for ticket in tickets)
    assert {to_state for *_, to_state in rows} == {"new"}
    assert {change_id: model_id for change_id, model_id, _ in rows} == work, "each outbox row names its own change"
    if app.engine.dialect.name == "postgresql":
        assert len(history_inserts) == 1


def test_a_flush_that_fails_after_inserting_leaves_no_creation_rows_behind(app: Statewright) -> None:
    class NoteBase(DeclarativeBase):
        pass

    class Note(NoteBase):
        __tablename__ = "ticket_notes"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        ticket_id: Mapped[int] = mapped_column(ForeignKey(Ticket.__table__.c.id))
        ticket: Mapped[Ticket] = relationship(Ticket)  # so the flush inserts the ticket first
        text: Mapped[str] = mapped_column(String(50))  # NOT NULL: a note without text fails its insert

    NoteBase.metadata.create_all(app.engine)
    try:
        with app.sessionmaker() as session:
            session.begin()
            with session.begin_nested():
                # One flush: the ticket's insert succeeds, then the note's fails.
                session.add(Note(ticket=Ticket(title="rolled back"), text=None))
                with pytest.raises(IntegrityError):
                    session.flush()
            kept = Ticket(title="kept")
            session.add(kept)
            session.commit()
            kept_id = kept.id
    finally:
        NoteBase.metadata.drop_all(app.engine)
    with app.engine.connect() as connection:
        model_ids = connection.scalars(select(statuses.c.model_id)).all()
    assert model_ids == [str(kept_id)]


def test_a_move_without_actions_is_one_statement_on_postgresql(app: Statewright) -> None:
    with app.sessionmaker() as session:
        ticket = Ticket(title="t")
        session.add(ticket)
        session.commit()
        with _statements(app.engine) as seen:
            change = ticket.fire("fail")
    assert change.to_state == "failed"
    assert ticket.status is Ticket.Status.FAILED
    assert [h.to_state for h in _history(app, ticket.id)] == ["new", "failed"]
    writes = _writes(seen)
    if app.engine.dialect.name == "postgresql":
        assert len(writes) == 1
        assert writes[0].startswith("WITH moved AS (UPDATE tickets")
    else:
        assert [w.split()[:3] for w in writes] == [["UPDATE", "tickets", "SET"], ["INSERT", "INTO", "statuses"]]


def test_a_fused_move_on_a_stale_object_writes_nothing(app: Statewright) -> None:
    with app.sessionmaker() as session:
        ticket = Ticket(title="t")
        session.add(ticket)
        session.commit()
        ticket_id = ticket.id
    with app.sessionmaker() as first, app.sessionmaker() as second:
        mine, theirs = first.get_one(Ticket, ticket_id), second.get_one(Ticket, ticket_id)
        theirs.fire("fail")
        with pytest.raises(StaleStatus):
            mine.fire("fail")
    assert [h.to_state for h in _history(app, ticket_id)] == ["new", "failed"]


class _SeesStatusBeforeHistory(Hook):
    def __init__(self, app: Statewright) -> None:
        self.app = app
        self.history_rows_seen: list[int] = []

    def before_transition(self, obj: Any, source: str | None, target: str, transition: str) -> None:
        session = obj._sa_instance_state.session
        rows = session.connection().execute(select(statuses.c.id).where(statuses.c.model_id == str(obj.id))).all()
        self.history_rows_seen.append(len(rows))


def test_a_before_hook_still_runs_before_the_history_row_is_written(app: Statewright, database_url: str) -> None:
    hook = _SeesStatusBeforeHistory(app)
    hooked = Statewright.from_path(RUNTIME_MACHINES, database_url=database_url, hooks=[hook])
    try:
        with hooked.sessionmaker() as session:
            ticket = Ticket(title="t")
            session.add(ticket)
            session.commit()
            ticket.fire("fail")
        assert hook.history_rows_seen == [1], "only the creation row exists while the hook runs"
    finally:
        hooked.close()


def _history(app: Statewright, ticket_id: int) -> list[Any]:
    with app.sessionmaker() as session:
        return session.get_one(Ticket, ticket_id).history()
