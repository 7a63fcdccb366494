"""Moving objects: every change is one transaction of status, history and outbox, or nothing at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import (
    GuardRejected,
    NoDefibrillation,
    NotBoundError,
    StaleStatus,
    Statewright,
    StatusAssignmentError,
    TransitionNotAllowed,
)
from engine.orm.tables import outbox, statuses
from tests.runtime.conftest import RUNTIME_MACHINES
from tests.runtime.ticketing.hooks import Explosion
from tests.runtime.ticketing.models import Ticket


def _new_ticket(app: Statewright, **values: object) -> int:
    with app.sessionmaker() as session:
        ticket = Ticket(title="printer on fire", **values)
        session.add(ticket)
        session.commit()
        return ticket.id


def _counts(app: Statewright) -> tuple[int, int]:
    with app.engine.connect() as connection:
        return (
            connection.scalar(select(func.count()).select_from(statuses)) or 0,
            connection.scalar(select(func.count()).select_from(outbox)) or 0,
        )


def _stored_status(app: Statewright, ticket_id: int) -> object:
    with app.sessionmaker() as session:
        return session.scalar(select(Ticket.status).where(Ticket.id == ticket_id))


def test_a_new_object_starts_in_the_initial_state_and_records_its_creation(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        assert ticket.status is Ticket.Status.NEW  # type: ignore[attr-defined]
        (created,) = ticket.history()
        assert (created.from_state, created.to_state, created.transition) == (None, "new", "create")
        work = session.execute(
            select(outbox.c.kind, outbox.c.name).where(outbox.c.status_change_id == created.id)
        ).all()
        assert work == [("event", "ticket.opened")]


def test_fire_moves_the_object_and_records_history_and_outbox_atomically(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        change = ticket.fire("assign", staff=True, assignee="ada", actor="admin@example.com")
        assert (change.from_state, change.to_state, change.transition, change.actor) == (
            "new",
            "assigned",
            "assign",
            "admin@example.com",
        )
        assert change.context == {"staff": True, "assignee": "ada"}
    assert _stored_status(app, ticket_id) is Ticket.Status.NEW.__class__.ASSIGNED  # type: ignore[attr-defined]
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        assert ticket.assignee == "ada", "the action's change is committed with the status"
        assert [h.to_state for h in ticket.history()] == ["new", "assigned"]
        names = session.scalars(select(outbox.c.name).where(outbox.c.status_change_id == change.id)).all()
        assert names == ["ticket.assigned"]


def test_a_final_state_queues_its_listeners(app: Statewright) -> None:
    ticket_id = _new_ticket(app, priority=5)
    with app.sessionmaker() as session:
        change = session.get_one(Ticket, ticket_id).fire("escalate", staff=True)
        assert change.to_state == "resolved"
        rows = session.execute(select(outbox.c.kind, outbox.c.name).where(outbox.c.status_change_id == change.id)).all()
    assert rows == [("event", "ticket.resolved"), ("listener", "ticket.resolved#0")]


def test_a_refused_transition_names_what_is_allowed_and_writes_nothing(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    before = _counts(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        with pytest.raises(TransitionNotAllowed) as refused:
            ticket.fire("resolve")
    assert refused.value.allowed == ("assign", "escalate", "fail")
    assert refused.value.object_id == str(ticket_id)
    assert _counts(app) == before


def test_a_guard_refusal_names_the_guard_and_writes_nothing(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    before = _counts(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        with pytest.raises(GuardRejected) as refused:
            ticket.fire("assign", staff=False, assignee="eve")
        assert refused.value.guard == "staff"
        assert ticket.status is Ticket.Status.NEW  # type: ignore[attr-defined]
    assert _counts(app) == before


def test_guarded_alternatives_are_tried_in_file_order(app: Statewright) -> None:
    """`escalate` resolves urgent tickets and assigns the others."""
    calm, urgent = _new_ticket(app, priority=1), _new_ticket(app, priority=3)
    with app.sessionmaker() as session:
        assert session.get_one(Ticket, calm).fire("escalate", staff=True, assignee="bob").to_state == "assigned"
        assert session.get_one(Ticket, urgent).fire("escalate", staff=True).to_state == "resolved"
        with pytest.raises(GuardRejected) as refused:
            session.get_one(Ticket, _new_ticket(app)).fire("escalate", staff=False)
        assert refused.value.rejected == ("urgent", "staff")


def test_can_fire_why_not_and_available_transitions_write_nothing(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    before = _counts(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        assert ticket.available_transitions() == ["assign", "escalate", "fail"]
        assert ticket.can_fire("assign", staff=True)
        assert not ticket.can_fire("assign", staff=False)
        assert "refused by guard 'staff'" in (ticket.why_not("assign") or "")
        assert "not allowed from state 'new'" in (ticket.why_not("resolve") or "")
        assert ticket.why_not("fail") is None
        assert (ticket.why_not("resolve") or "").startswith(f"ticket {ticket_id}: "), "the answer names the object"
    assert _counts(app) == before


@pytest.mark.parametrize("explode", ["action_explodes", "guard_explodes"])
def test_an_exception_in_a_guard_or_action_rolls_everything_back(app: Statewright, explode: str) -> None:
    ticket_id = _new_ticket(app)
    before = _counts(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        with pytest.raises(Explosion):
            ticket.fire("assign", staff=True, assignee="mallory", **{explode: True})
        assert ticket.status is Ticket.Status.NEW  # type: ignore[attr-defined]
    assert _counts(app) == before
    assert _stored_status(app, ticket_id) is Ticket.Status.NEW  # type: ignore[attr-defined]
    with app.sessionmaker() as session:
        assert session.get_one(Ticket, ticket_id).assignee is None


def test_a_stale_object_cannot_move_and_writes_nothing(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    with app.sessionmaker() as first, app.sessionmaker() as second:
        mine, theirs = first.get_one(Ticket, ticket_id), second.get_one(Ticket, ticket_id)
        theirs.fire("fail")
        before = _counts(app)
        with pytest.raises(StaleStatus) as stale:
            mine.fire("assign", staff=True, assignee="ada")
        assert stale.value.expected == "new"
        assert mine.status is Ticket.Status.NEW  # type: ignore[attr-defined]
    assert _counts(app) == before
    assert _stored_status(app, ticket_id) is Ticket.Status.FAILED  # type: ignore[attr-defined]


def test_inside_an_open_transaction_the_change_waits_for_its_commit(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    before = _counts(app)
    with app.sessionmaker() as session:
        session.begin()
        session.get_one(Ticket, ticket_id).fire("fail")
        session.rollback()
    assert _counts(app) == before
    assert _stored_status(app, ticket_id) is Ticket.Status.NEW  # type: ignore[attr-defined]
    with app.sessionmaker() as session, session.begin():
        session.get_one(Ticket, ticket_id).fire("fail")
    assert _stored_status(app, ticket_id) is Ticket.Status.FAILED  # type: ignore[attr-defined]


def test_a_failed_move_inside_an_open_transaction_leaves_the_rest_of_it_intact(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    with app.sessionmaker() as session, session.begin():
        session.add(Ticket(title="second"))
        with pytest.raises(Explosion):
            session.get_one(Ticket, ticket_id).fire("assign", staff=True, assignee="x", action_explodes=True)
    with app.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 2


def test_set_status_follows_a_declared_transition_and_keeps_payload_and_exception(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        try:
            raise Explosion("disk full")
        except Explosion as exc:
            change = ticket.set_status("failed", payload={"attempt": 3}, exception=exc)
        assert change.transition == "fail"
        (_, stored) = ticket.history()
        assert stored.payload == {"attempt": 3}
        assert stored.exception_type == "tests.runtime.ticketing.hooks.Explosion"
        assert stored.exception_message == "disk full"
        assert "raise Explosion" in (stored.exception_traceback or "")
        with pytest.raises(TransitionNotAllowed):
            ticket.set_status("resolved")


def test_defibrillation_restarts_from_the_named_state_and_requeues_its_work(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        ticket.fire("fail")
        change = ticket.defibrillate(actor="ops")
        assert (change.from_state, change.to_state, change.transition) == ("failed", "new", "defibrillate")
        assert session.scalars(select(outbox.c.name).where(outbox.c.status_change_id == change.id)).all() == [
            "ticket.opened"
        ]
        with pytest.raises(NoDefibrillation):
            ticket.defibrillate()


def test_moving_an_object_that_is_not_saved_is_a_programming_error(app: Statewright) -> None:
    with pytest.raises(NotBoundError):
        Ticket(title="draft").fire("fail")


def test_objects_can_be_queried_by_status_member(app: Statewright) -> None:
    ticket_id = _new_ticket(app)
    _new_ticket(app)
    with app.sessionmaker() as session:
        session.get_one(Ticket, ticket_id).fire("fail")
        failed = session.scalars(select(Ticket.id).where(Ticket.status == Ticket.Status.FAILED)).all()  # type: ignore[attr-defined]
    assert failed == [ticket_id]


def test_each_guard_is_evaluated_once_per_attempt(app: Statewright) -> None:
    """`escalate` has two candidates that both use the `staff` guard: each candidate asks it once."""
    from tests.runtime.ticketing.hooks import GUARD_CALLS

    ticket_id = _new_ticket(app, priority=1)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        GUARD_CALLS.clear()
        ticket.fire("assign", staff=True, assignee="ada")
        assert GUARD_CALLS == [ticket_id]
        GUARD_CALLS.clear()
        with pytest.raises(TransitionNotAllowed):
            ticket.fire("assign", staff=True, assignee="ada")
        assert GUARD_CALLS == [], "no guard runs for a transition that cannot leave the state"


def _fail_then_explode(app: Statewright, first: int, second: int) -> None:
    with app.transaction() as session:
        session.get_one(Ticket, first).fire("fail")
        session.get_one(Ticket, second).fire("assign", staff=True, assignee="x", action_explodes=True)


def test_the_app_transaction_commits_its_moves_together_or_not_at_all(app: Statewright) -> None:
    first, second = _new_ticket(app), _new_ticket(app)
    with pytest.raises(Explosion):
        _fail_then_explode(app, first, second)
    assert _stored_status(app, first) is Ticket.Status.NEW  # type: ignore[attr-defined]
    with app.transaction() as session:
        session.get_one(Ticket, first).fire("fail")
        session.get_one(Ticket, second).fire("fail")
    assert _stored_status(app, first) is _stored_status(app, second) is Ticket.Status.FAILED  # type: ignore[attr-defined]


def test_assigning_the_status_of_a_stored_object_is_refused_and_writes_nothing(app: Statewright) -> None:
    """A direct assignment would skip the history row, the compare-and-set and the work: it raises at once."""
    ticket_id = _new_ticket(app)
    before = _counts(app)
    with app.sessionmaker() as session:
        ticket = session.get_one(Ticket, ticket_id)
        with pytest.raises(StatusAssignmentError, match=rf"ticket {ticket_id}: the status attribute .* fire"):
            ticket.status = Ticket.Status.RESOLVED
        session.commit()
    with app.sessionmaker() as session:
        assert session.get_one(Ticket, ticket_id).status.state == "new"
    assert _counts(app) == before


def test_a_machine_marked_protected_false_lets_code_assign_the_status(
    database_url: str, tmp_path: Path, app: Statewright
) -> None:
    """The opt-out django-fsm has too: the assignment is stored as is, with no history row."""
    machine = tmp_path / "ticket.yaml"
    machine.write_text((RUNTIME_MACHINES / "ticket.yaml").read_text() + "protected: false\n")
    unprotected = Statewright.from_path(machine, database_url=database_url)  # binds Ticket anew
    try:
        ticket_id = _new_ticket(unprotected)
        before = _counts(unprotected)
        with unprotected.sessionmaker() as session:
            session.get_one(Ticket, ticket_id).status = Ticket.Status.RESOLVED  # type: ignore[attr-defined]
            session.commit()
        with unprotected.sessionmaker() as session:
            assert session.get_one(Ticket, ticket_id).status.state == "resolved"
        assert _counts(unprotected) == before
    finally:
        unprotected.close()
        Statewright.from_path(RUNTIME_MACHINES, database_url=database_url).close()  # protected again for the rest


def test_a_new_object_may_be_given_its_first_status(app: Statewright) -> None:
    with app.sessionmaker() as session:
        ticket = Ticket(title="born assigned", status=Ticket.Status.ASSIGNED)
        ticket.status = Ticket.Status.NEW  # still transient: nothing is stored yet
        session.add(ticket)
        session.commit()
        assert [change.to_state for change in ticket.history()] == ["new"]
