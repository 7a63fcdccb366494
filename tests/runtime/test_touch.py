"""``touch()``: re-entering a touchable state writes a history row and the state's work again, once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from engine import Hook, NotTouchable, StaleStatus, Statewright, TransitionError
from engine.orm.tables import outbox
from tests.work.touching.app import new_parcel, parcel_app
from tests.work.touching.models import Parcel


@pytest.fixture
def app(database_url: str) -> Iterator[Statewright]:
    """The parcel app on each database."""
    statewright = parcel_app(database_url)
    yield statewright
    statewright.close()


def _outbox(app: Statewright) -> list[tuple[int, str, str]]:
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.status_change_id, outbox.c.kind, outbox.c.name).order_by(outbox.c.id)
        ).all()
    return [tuple(row) for row in rows]


def test_touch_writes_a_touch_row_and_the_states_outbox_rows_again(app: Statewright) -> None:
    parcel_id = new_parcel(app)
    with app.sessionmaker() as session:
        parcel = session.get_one(Parcel, parcel_id)
        change = parcel.touch(actor="ops", reason="stuck")
        history = parcel.history()
    assert [(c.from_state, c.to_state, c.transition) for c in history] == [
        (None, "packing", "create"),
        ("packing", "packing", "touch"),
    ]
    assert change.context == {"reason": "stuck"}
    assert change.actor == "ops"
    entry_rows = [("event", "parcel.packing"), ("listener", "parcel.packing#0")]
    assert [(kind, name) for _, kind, name in _outbox(app)] == entry_rows + entry_rows
    assert change.outbox_rows == 2
    assert {change_id for change_id, _, _ in _outbox(app)[2:]} == {change.id}


class _Refusals(Hook):
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def after_refusal(self, obj: Any, refusal: Any) -> None:
        self.seen.append(refusal)


def test_touch_of_a_state_that_is_not_touchable_is_refused_and_reported(database_url: str) -> None:
    refusals = _Refusals()
    app = parcel_app(database_url, hooks=[refusals])
    parcel_id = new_parcel(app)
    with app.sessionmaker() as session:
        parcel = session.get_one(Parcel, parcel_id)
        parcel.fire("packed")
        parcel.fire("label")
        with pytest.raises(NotTouchable) as refused:
            parcel.touch()
        assert len(parcel.history()) == 3
    assert isinstance(refused.value, TransitionError)
    assert (refused.value.state, refused.value.transition) == ("labelled", "touch")
    assert refused.value.touchable == ("packing", "waiting")
    assert "touchable: true" in str(refused.value)
    assert refusals.seen == [refused.value]
    app.close()


def test_touch_of_an_object_moved_meanwhile_is_stale(app: Statewright) -> None:
    parcel_id = new_parcel(app)
    with app.sessionmaker() as first, app.sessionmaker() as second:
        stale = first.get_one(Parcel, parcel_id)
        first.commit()  # loaded, transaction closed: the status in memory is 'packing'
        second.get_one(Parcel, parcel_id).fire("packed")
        with pytest.raises(StaleStatus):
            stale.touch()
        assert [c.transition for c in second.get_one(Parcel, parcel_id).history()] == ["create", "packed"]


def test_touch_inside_an_open_transaction_is_undone_with_it(app: Statewright) -> None:
    parcel_id = new_parcel(app)
    with app.sessionmaker() as session:
        session.begin()
        session.get_one(Parcel, parcel_id).touch()
        session.rollback()
    with app.sessionmaker() as session:
        assert [c.transition for c in session.get_one(Parcel, parcel_id).history()] == ["create"]
    assert len(_outbox(app)) == 2


def test_touch_waiting_on_a_concurrent_move_is_refused_once_that_move_commits(app: Statewright) -> None:
    """Given a move holding the object's row in an open transaction, a touch started meanwhile waits, then
    finds the status changed: ``StaleStatus``, and nothing of its own written."""
    parcel_id = new_parcel(app)
    outcome: list[BaseException | None] = []
    with app.sessionmaker() as mover, app.sessionmaker() as toucher:
        stale = toucher.get_one(Parcel, parcel_id)
        toucher.commit()
        mover.begin()
        mover.get_one(Parcel, parcel_id).fire("packed")  # row locked until the commit below

        def touch() -> None:
            try:
                stale.touch()
                outcome.append(None)
            except BaseException as error:  # noqa: BLE001 - handed to the test's thread
                outcome.append(error)

        thread = threading.Thread(target=touch)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the touch did not wait for the open move"
        mover.commit()
        thread.join(timeout=30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], StaleStatus)
    with app.sessionmaker() as session:
        assert [c.transition for c in session.get_one(Parcel, parcel_id).history()] == ["create", "packed"]
