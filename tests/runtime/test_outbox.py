"""Outbox rows: one ``WorkKind`` plans them, and the table keeps storing the strings older databases hold."""

from __future__ import annotations

from sqlalchemy import text

from engine import Statewright
from engine.runtime.outbox import OutboxItem, WorkKind, plan_outbox
from tests.runtime.ticketing.models import Ticket


def test_the_kinds_are_the_strings_existing_outbox_tables_hold() -> None:
    """Changing one of these would strand every unsent row of a running system: they are pinned here."""
    assert {kind.value for kind in WorkKind} == {"event", "task", "endpoint", "listener", "reaction"}


def test_the_plan_holds_work_kinds(app: Statewright) -> None:
    plan = plan_outbox([flow.compiled.spec for flow in app.flows.values()])
    assert plan["ticket"]["resolved"] == [
        OutboxItem(WorkKind.EVENT, "ticket.resolved", "ticket"),
        OutboxItem(WorkKind.LISTENER, "ticket.resolved#0", "ticket"),
    ]


def test_an_outbox_row_stores_the_plain_string(app: Statewright) -> None:
    with app.sessionmaker() as session:
        ticket = Ticket(title="printer")
        session.add(ticket)
        session.commit()
        ticket.fire("assign", staff=True, assignee="ann")
        ticket.fire("resolve")
        kinds = session.execute(text("SELECT kind FROM statewright_outbox ORDER BY id")).scalars().all()
    assert kinds == ["event", "event", "event", "listener"]
    assert all(type(kind) is str for kind in kinds)
