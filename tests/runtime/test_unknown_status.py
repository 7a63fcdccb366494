"""A status value no state declares (someone wrote 99 by hand): the row loads, moving it is refused by name."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from engine import Statewright, TransitionError, UnknownStatus, UnknownStatusError
from engine.orm.tables import outbox
from engine.runtime.sweeps import sweep_timeouts
from examples.base import Base
from examples.documents.models import Document
from tests.conftest import MACHINES, fresh_tables
from tests.runtime.ticketing.models import Ticket


@pytest.fixture
def documents(database_url: str) -> Iterator[Statewright]:
    """The shipped document machine (integer status values) over fresh tables."""
    app = Statewright.from_path(MACHINES / "document.yaml", database_url=database_url)
    fresh_tables(app.engine, Base.metadata)
    yield app
    Base.metadata.drop_all(app.engine)
    app.close()


def _spoiled(app: Statewright, model: Any, value: object, count: int = 2) -> list[int]:
    """``count`` objects, the first of which gets ``value`` written straight into its status column."""
    with app.sessionmaker() as session:
        objects = [model(title=f"object {n}") for n in range(count)]
        session.add_all(objects)
        session.commit()
        ids = [obj.id for obj in objects]
    with app.engine.begin() as connection:
        table = model.__table__
        connection.execute(update(table).where(table.c.id == ids[0]).values(status=value))
    return ids


#: Every way of using an object, and the ``event`` its refusal names.
USES: dict[str, tuple[Callable[[Any], object], str]] = {
    "fire": (lambda obj: obj.fire("start"), "start"),
    "can_fire": (lambda obj: obj.can_fire("start"), "start"),
    "why_not": (lambda obj: obj.why_not("start"), "start"),
    "available_transitions": (lambda obj: obj.available_transitions(), "available_transitions"),
    "set_status": (lambda obj: obj.set_status("processing"), "-> processing"),
    "defibrillate": (lambda obj: obj.defibrillate(), "defibrillate"),
}


@pytest.mark.parametrize("use", sorted(USES))
def test_an_integer_status_no_state_declares_loads_and_every_move_names_machine_object_and_value(
    documents: Statewright, use: str
) -> None:
    spoiled, fine = _spoiled(documents, Document, 99)
    call, event = USES[use]
    with documents.sessionmaker() as session:
        document = session.get_one(Document, spoiled)
        assert document.status == UnknownStatus(99)
        assert str(document.status) == "unknown value 99"
        with pytest.raises(UnknownStatusError) as refused:
            call(document)
        assert (refused.value.machine, refused.value.object_id, refused.value.value) == ("document", str(spoiled), 99)
        assert refused.value.transition == event
        assert f"document {spoiled}: {event!r} refused: its status column holds 99" in str(refused.value)
        assert [change.to_state for change in document.history()] == ["queued"], "history still reads"
        assert session.get_one(Document, fine).fire("start").to_state == "processing", "the others still move"
    with documents.sessionmaker() as session:
        assert session.scalar(select(Document.status).where(Document.id == spoiled)) == UnknownStatus(99)


def test_a_string_status_no_state_declares_loads_and_refuses_to_move(app: Statewright) -> None:
    spoiled, fine = _spoiled(app, Ticket, "lost")
    with app.sessionmaker() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert [str(ticket.status) for ticket in tickets] == ["unknown value 'lost'", "new"]
        with pytest.raises(
            UnknownStatusError,
            match=r"ticket \d+: 'assign' refused: its status column holds "
            r"'lost', which no state of the machine stores \(values: "
            r"'new', 'assigned', 'resolved', 'failed'\)",
        ):
            tickets[0].fire("assign", staff=True, assignee="ada")
        with pytest.raises(UnknownStatusError):
            tickets[0].can_fire("assign", staff=True)
        assert tickets[1].can_fire("assign", staff=True)


def test_an_unknown_status_is_a_refused_move_so_code_that_moves_many_objects_skips_it(documents: Statewright) -> None:
    """Sweeps, reactions and bulk defibrillation catch ``TransitionError`` and carry on."""
    spoiled, _ = _spoiled(documents, Document, 99)
    with documents.sessionmaker() as session, pytest.raises(TransitionError):
        session.get_one(Document, spoiled).fire("start")


def test_a_timeout_sweep_moves_the_others_past_an_unknown_status(documents: Statewright) -> None:
    spoiled, fine = _spoiled(documents, Document, 99)
    with documents.sessionmaker() as session:
        session.get_one(Document, fine).fire("start")
    result = sweep_timeouts(
        documents.flows["document"], documents.sessionmaker, now=datetime.now(UTC) + timedelta(hours=1)
    )
    assert (result.moved, result.skipped) == (1, 0)
    with documents.sessionmaker() as session:
        with pytest.raises(UnknownStatusError) as refused:
            documents.flows["document"].time_out(session.get_one(Document, spoiled))
        assert refused.value.transition == "timeout"


def test_a_worker_skips_an_object_whose_status_is_unknown_with_a_log_line(
    documents: Statewright, caplog: pytest.LogCaptureFixture
) -> None:
    spoiled, fine = _spoiled(documents, Document, 99)
    with documents.engine.connect() as connection:
        tasks = {row.model_id: row.id for row in connection.execute(select(outbox).where(outbox.c.kind == "task"))}
    with caplog.at_level(logging.WARNING, logger="engine.work"):
        documents.work.run_task(tasks[str(spoiled)], "document", "generate", str(spoiled))
    assert f"document {spoiled}: '-> processing' refused: its status column holds 99" in caplog.text
    documents.work.run_task(tasks[str(fine)], "document", "generate", str(fine))
    with documents.sessionmaker() as session:
        assert session.get_one(Document, spoiled).status == UnknownStatus(99)
        assert session.get_one(Document, fine).status.state == "generated"
