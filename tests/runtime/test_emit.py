"""``emit()`` from an action: the event's outbox rows are written in the move's transaction, or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from engine import EmitOutsideMove, Statewright, UndeclaredEventError, emit
from engine.orm.tables import outbox
from tests.work.touching.app import new_parcel, parcel_app
from tests.work.touching.models import Parcel


@pytest.fixture
def app(database_url: str) -> Iterator[Statewright]:
    """The parcel app on each database."""
    statewright = parcel_app(database_url)
    yield statewright
    statewright.close()


def _rows(app: Statewright, change_id: int) -> list[tuple[str, str, Any]]:
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.kind, outbox.c.name, outbox.c.message)
            .where(outbox.c.status_change_id == change_id)
            .order_by(outbox.c.id)
        ).all()
    return [tuple(row) for row in rows]


def test_an_event_emitted_by_an_action_is_written_with_the_moves_history_row(app: Statewright) -> None:
    parcel_id = new_parcel(app)
    with app.sessionmaker() as session:
        change = session.get_one(Parcel, parcel_id).fire("weigh", grams=1200)
    rows = _rows(app, change.id)
    # The state's own entry work first (weigh re-enters packing), then the emitted event and its followers.
    assert [(kind, name) for kind, name, _ in rows] == [
        ("event", "parcel.packing"),
        ("listener", "parcel.packing#0"),
        ("event", "parcel.weighed"),
        ("listener", "parcel.weighed#1"),
        ("reaction", "parcel.weighed#0"),
    ]
    message = rows[2][2]
    assert message["event"] == "parcel.weighed"
    assert message["payload"]["grams"] == 1200
    assert message["payload"]["token"] != "secret-token-value"  # masked like history
    assert (message["model_id"], message["transition"]) == (str(parcel_id), "weigh")
    assert change.outbox_rows == 5


def test_a_move_that_rolls_back_drops_the_events_it_emitted(app: Statewright) -> None:
    parcel_id = new_parcel(app)
    with app.sessionmaker() as session:
        with pytest.raises(RuntimeError, match="scale broke"):
            session.get_one(Parcel, parcel_id).fire("weigh", grams=5, explode=True)
        assert [c.transition for c in session.get_one(Parcel, parcel_id).history()] == ["create"]
    with app.engine.connect() as connection:
        names = connection.execute(select(outbox.c.name)).scalars().all()
    assert "parcel.weighed" not in names


def test_emit_outside_a_move_raises() -> None:
    with pytest.raises(EmitOutsideMove, match="outside a Statewright move"):
        emit("parcel.weighed", {"grams": 1})


def test_emitting_an_undeclared_event_is_refused_and_rolls_the_move_back(app: Statewright) -> None:
    parcel_id = new_parcel(app, emits="parcel.lost")
    with app.sessionmaker() as session:
        parcel = session.get_one(Parcel, parcel_id)
        parcel.fire("packed")
        parcel.set_status("labelled")
        with pytest.raises(UndeclaredEventError) as refused:
            parcel.fire("ship")
        assert parcel.status.state == "labelled"
    assert (refused.value.machine, refused.value.event) == ("parcel", "parcel.lost")
    assert "parcel.weighed" in str(refused.value)


def test_a_states_event_may_be_emitted_from_code_too(app: Statewright) -> None:
    parcel_id = new_parcel(app, emits="parcel.packing")
    with app.sessionmaker() as session:
        parcel = session.get_one(Parcel, parcel_id)
        parcel.fire("packed")
        parcel.set_status("labelled")
        change = parcel.fire("ship")
    assert [(kind, name) for kind, name, _ in _rows(app, change.id)] == [
        ("event", "parcel.packing"),
        ("listener", "parcel.packing#0"),
    ]
