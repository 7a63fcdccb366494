"""Objects whose primary key has several columns: workers and sweepers find them by the whole key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from engine import Statewright
from engine.runtime.sweeps import sweep_timeouts
from tests.work.app.models import Shipment

#: A warehouse name with the characters the key text escapes.
AWKWARD = "north,east 100%"


def _shipments(app: Statewright, *keys: tuple[str, int]) -> None:
    with app.sessionmaker() as session:
        session.add_all([Shipment(warehouse=warehouse, number=number) for warehouse, number in keys])
        session.commit()


def test_a_task_finds_its_object_by_every_key_column(app: Statewright, run_work: Callable[[], None]) -> None:
    # Same number in two warehouses, so a worker that used one column would pick the wrong one.
    _shipments(app, (AWKWARD, 7), ("south", 7))
    run_work()
    with app.sessionmaker() as session:
        awkward = session.get_one(Shipment, (AWKWARD, 7))
        assert awkward.status.state == "packed"
        assert awkward.label == f"{AWKWARD}/7"
        history = awkward.history()
        assert {change.model_id for change in history} == {"north%2Ceast 100%25,7"}
        assert [change.to_state for change in history] == ["ordered", "packing", "packed"]
        assert session.get_one(Shipment, ("south", 7)).label == "south/7"


def test_a_sweep_matches_history_rows_by_the_whole_key(app: Statewright) -> None:
    _shipments(app, (AWKWARD, 1), ("west", 1))
    with app.sessionmaker() as session:
        session.get_one(Shipment, (AWKWARD, 1)).set_status("packing")
    later = datetime.now(UTC) + timedelta(hours=2)
    assert sweep_timeouts(app.flows["shipment"], app.sessionmaker, now=later).moved == 1
    with app.sessionmaker() as session:
        assert session.get_one(Shipment, (AWKWARD, 1)).status.state == "stalled"
        assert session.get_one(Shipment, ("west", 1)).status.state == "ordered"
