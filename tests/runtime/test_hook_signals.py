"""What a metrics or tracing hook hears about moves that did not happen, and which hooks keep the one-statement write.

Refusals (a guard, a move not allowed from the state, a stale status) reach ``after_refusal``; a move whose
transaction rolled back (a veto, an action that raised) reaches ``after_rollback``. A ``before_transition``
hook that does not ask to run before the history row (``before_history_row = False``) keeps a move at one
statement on PostgreSQL, counted here with a ``before_cursor_execute`` listener.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select

from engine import (
    GuardRejected,
    Hook,
    StaleStatus,
    Statewright,
    TransitionError,
    TransitionNotAllowed,
    Veto,
)
from engine.errors import ConcurrencyError
from engine.orm.tables import statuses
from tests.runtime.conftest import RUNTIME_MACHINES
from tests.runtime.ticketing.hooks import Explosion
from tests.runtime.ticketing.models import Ticket


class Recording(Hook):
    """Remembers every signal, in order; vetoes the transition named ``veto``."""

    before_history_row = False

    def __init__(self, veto: str | None = None) -> None:
        self.signals: list[tuple[Any, ...]] = []
        self.veto = veto

    def before_transition(self, obj: Any, source: str | None, target: str, transition: str) -> None:
        self.signals.append(("before", source, target, transition, obj.status.state))
        if transition == self.veto:
            raise Veto(f"no {transition} today")

    def after_refusal(self, obj: Any, refusal: TransitionError | ConcurrencyError) -> None:
        self.signals.append(("refused", obj.id, type(refusal).__name__, refusal.transition))

    def after_rollback(self, obj: Any, source: str, target: str, transition: str, error: BaseException) -> None:
        self.signals.append(("rolled back", obj.id, source, target, transition, type(error).__name__))


class NeedsHistoryUnwritten(Recording):
    before_history_row = True


@pytest.fixture
def hooked(app: Statewright, database_url: str) -> Iterator[Callable[[Hook], Statewright]]:
    made: list[Statewright] = []

    def make(hook: Hook) -> Statewright:
        made.append(Statewright.from_path(RUNTIME_MACHINES, database_url=database_url, hooks=[hook]))
        return made[-1]

    yield make
    for statewright in made:
        statewright.engine.dispose()


def _ticket(app: Statewright, **values: Any) -> int:
    with app.sessionmaker() as session:
        ticket = Ticket(title="hooked", **values)
        session.add(ticket)
        session.commit()
        return ticket.id


def _history_rows(app: Statewright) -> int:
    with app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(statuses)) or 0)


def test_a_guard_refusal_and_a_move_not_allowed_reach_after_refusal(hooked: Callable[[Hook], Statewright]) -> None:
    hook = Recording()
    app = hooked(hook)
    ticket_id = _ticket(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        with pytest.raises(GuardRejected):
            ticket.fire("assign", staff=False, assignee="ann")
        with pytest.raises(TransitionNotAllowed):
            ticket.fire("resolve")
    assert hook.signals == [
        ("refused", ticket_id, "GuardRejected", "assign"),
        ("refused", ticket_id, "TransitionNotAllowed", "resolve"),
    ]
    assert _history_rows(app) == 1


def test_a_stale_write_is_a_refusal_not_a_rollback(hooked: Callable[[Hook], Statewright]) -> None:
    hook = Recording()
    app = hooked(hook)
    ticket_id = _ticket(app)
    with app.sessionmaker() as first, app.sessionmaker() as second:
        mine, theirs = first.get_one(Ticket, ticket_id), second.get_one(Ticket, ticket_id)
        theirs.fire("fail")
        hook.signals.clear()
        with pytest.raises(StaleStatus):
            mine.fire("fail")
    assert hook.signals == [("refused", ticket_id, "StaleStatus", "fail")], "the hook never ran for the stale move"


def test_a_veto_and_a_failing_action_reach_after_rollback(hooked: Callable[[Hook], Statewright]) -> None:
    hook = Recording(veto="fail")
    app = hooked(hook)
    ticket_id = _ticket(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        with pytest.raises(Veto):
            ticket.fire("fail")
        with pytest.raises(Explosion):
            ticket.fire("assign", staff=True, assignee="ann", action_explodes=True)
        assert ticket.status is Ticket.Status.NEW  # type: ignore[attr-defined]
    assert hook.signals == [
        ("before", "new", "failed", "fail", "failed"),
        ("rolled back", ticket_id, "new", "failed", "fail", "Veto"),
        ("before", "new", "assigned", "assign", "assigned"),
        ("rolled back", ticket_id, "new", "assigned", "assign", "Explosion"),
    ], "before_transition sees the new status either way; both moves roll back"
    assert _history_rows(app) == 1


def test_a_rollback_inside_the_callers_transaction_is_the_savepoints(hooked: Callable[[Hook], Statewright]) -> None:
    hook = Recording(veto="fail")
    app = hooked(hook)
    first, second = _ticket(app), _ticket(app)
    with app.sessionmaker() as session, session.begin():
        with pytest.raises(Veto):
            session.get_one(Ticket, first).fire("fail")
        session.get_one(Ticket, second).fire("assign", staff=True, assignee="bo")
    assert ("rolled back", first, "new", "failed", "fail", "Veto") in hook.signals
    with app.sessionmaker() as session:
        assert session.get_one(Ticket, second).status is Ticket.Status.ASSIGNED  # type: ignore[attr-defined]


def test_a_failing_refusal_hook_is_logged_and_the_refusal_still_raises(
    hooked: Callable[[Hook], Statewright], caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Hook):
        def after_refusal(self, obj: Any, refusal: TransitionError | ConcurrencyError) -> None:
            raise RuntimeError("metrics backend down")

    app = hooked(Broken())
    ticket_id = _ticket(app)
    with app.sessionmaker() as session, pytest.raises(TransitionNotAllowed):
        session.get_one(Ticket, ticket_id).fire("resolve")
    assert "after_refusal hook" in caplog.text
    assert "metrics backend down" in caplog.text


def _writes_of_one_move(app: Statewright, transition: str) -> list[str]:
    ticket_id = _ticket(app)
    seen: list[str] = []

    def remember(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        event.listen(app.engine, "before_cursor_execute", remember)
        try:
            ticket.fire(transition)
        finally:
            event.remove(app.engine, "before_cursor_execute", remember)
    return [s for s in seen if not s.startswith(("SELECT", "BEGIN", "SAVEPOINT", "RELEASE"))]


def test_a_before_hook_that_needs_no_unwritten_history_keeps_the_one_statement_move(
    hooked: Callable[[Hook], Statewright],
) -> None:
    hook = Recording()
    app = hooked(hook)
    writes = _writes_of_one_move(app, "fail")
    assert hook.signals == [("before", "new", "failed", "fail", "failed")]
    if app.engine.dialect.name == "postgresql":
        assert len(writes) == 1
        assert writes[0].startswith("WITH moved AS (UPDATE tickets")
    else:
        assert len(writes) == 2, "SQLite has no UPDATE inside WITH: compare-and-set, then the history row"


def test_a_before_hook_that_must_run_before_the_history_row_costs_the_fused_write(
    hooked: Callable[[Hook], Statewright],
) -> None:
    hook = NeedsHistoryUnwritten()
    app = hooked(hook)
    writes = _writes_of_one_move(app, "fail")
    assert hook.signals == [("before", "new", "failed", "fail", "failed")]
    assert [w.split()[:2] for w in writes] == [["UPDATE", "tickets"], ["INSERT", "INTO"]]


def test_a_hook_without_before_transition_keeps_the_one_statement_move(hooked: Callable[[Hook], Statewright]) -> None:
    class RefusalsOnly(Hook):  # before_history_row stays True, but nothing runs before the write
        def after_refusal(self, obj: Any, refusal: TransitionError | ConcurrencyError) -> None:
            pass

    app = hooked(RefusalsOnly())
    writes = _writes_of_one_move(app, "fail")
    assert len(writes) == (1 if app.engine.dialect.name == "postgresql" else 2)
