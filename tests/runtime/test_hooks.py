"""Hooks: `before_transition` can veto inside the transaction; `after_transition` sees only committed changes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import Hook, Statewright, StatusChange, Veto
from engine.orm.tables import statuses
from tests.runtime.conftest import RUNTIME_MACHINES
from tests.runtime.ticketing.models import Ticket


class Recorder(Hook):
    def __init__(self, veto: str | None = None, explode_after: bool = False) -> None:
        self.before: list[tuple[str | None, str, str]] = []
        self.after: list[StatusChange] = []
        self.veto = veto
        self.explode_after = explode_after

    def before_transition(self, obj: Any, source: str | None, target: str, transition: str) -> None:
        self.before.append((source, target, transition))
        if transition == self.veto:
            raise Veto(f"{transition} is not allowed today")

    def after_transition(self, change: StatusChange) -> None:
        self.after.append(change)
        if self.explode_after:
            raise RuntimeError("after hook failed")


@pytest.fixture
def hooked(app: Statewright, database_url: str) -> Iterator[Callable[[Hook], Statewright]]:
    """Make apps with a hook over the `app` fixture's fresh tables; their engines are disposed after."""
    made: list[Statewright] = []

    def make(hook: Hook) -> Statewright:
        made.append(Statewright.from_path(RUNTIME_MACHINES, database_url=database_url, hooks=[hook]))
        return made[-1]

    yield make
    for statewright in made:
        statewright.engine.dispose()


def _ticket(app: Statewright) -> int:
    with app.sessionmaker() as session:
        ticket = Ticket(title="hooked")
        session.add(ticket)
        session.commit()
        return ticket.id


def test_after_transition_runs_once_the_change_committed(hooked: Callable[[Hook], Statewright]) -> None:
    recorder = Recorder()
    app = hooked(recorder)
    ticket_id = _ticket(app)
    with app.sessionmaker() as session:
        session.get_one(Ticket, ticket_id).fire("fail")
    assert recorder.before == [("new", "failed", "fail")]
    assert [(c.from_state, c.to_state) for c in recorder.after] == [(None, "new"), ("new", "failed")], (
        "the creation is a committed change too"
    )


def test_after_transition_waits_for_the_callers_commit_and_skips_rollbacks(
    hooked: Callable[[Hook], Statewright],
) -> None:
    recorder = Recorder()
    app = hooked(recorder)
    ticket_id = _ticket(app)
    recorder.after.clear()
    with app.sessionmaker() as session:
        session.begin()
        session.get_one(Ticket, ticket_id).fire("fail")
        assert recorder.after == []
        session.rollback()
    assert recorder.after == []
    with app.sessionmaker() as session:
        with session.begin():
            session.get_one(Ticket, ticket_id).fire("fail")
            assert recorder.after == []
        assert len(recorder.after) == 1


def test_after_transition_waits_for_the_callers_commit_when_it_moves_several_objects(
    hooked: Callable[[Hook], Statewright],
) -> None:
    """Each move is a savepoint, whose release SQLAlchemy also reports as a commit: only the real one counts."""
    recorder = Recorder()
    app = hooked(recorder)
    ids = [_ticket(app) for _ in range(3)]
    recorder.after.clear()
    with app.sessionmaker() as session:
        with session.begin():
            for ticket_id in ids:
                session.get_one(Ticket, ticket_id).fire("fail")
            assert recorder.after == [], "nothing is durable before the commit"
        assert [int(change.model_id) for change in recorder.after] == ids


def test_a_veto_rolls_the_change_back(hooked: Callable[[Hook], Statewright]) -> None:
    app = hooked(Recorder(veto="fail"))
    ticket_id = _ticket(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        with pytest.raises(Veto):
            ticket.fire("fail")
        assert ticket.status is Ticket.Status.NEW  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(statuses)) == 1  # the creation only


def test_a_failing_after_hook_is_logged_and_never_undoes_the_change(
    hooked: Callable[[Hook], Statewright], caplog: pytest.LogCaptureFixture
) -> None:
    app = hooked(Recorder(explode_after=True))
    ticket_id = _ticket(app)
    with caplog.at_level(logging.CRITICAL, logger="engine.hooks"), app.sessionmaker() as session:
        session.get_one(Ticket, ticket_id).fire("fail")
    assert "after_transition hook" in caplog.text
    with app.sessionmaker() as session:
        assert session.get_one(Ticket, ticket_id).status is Ticket.Status.FAILED  # type: ignore[attr-defined]
