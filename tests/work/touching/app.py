"""Build the parcel app over fresh tables, on the in-process broker."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text

from engine import Hook, Statewright
from engine.migrations.upgrade import upgrade
from tests.conftest import STATEWRIGHT_TABLES
from tests.work.touching.handlers import HEARD, LABELS
from tests.work.touching.models import Parcel, ParcelBase

MACHINES = Path(__file__).resolve().parent / "machines"


def parcel_app(database_url: str, *, broker_url: str = "memory://", hooks: Sequence[Hook] = ()) -> Statewright:
    """The parcel app with empty tables, queues and counters (on the in-process broker unless told)."""
    app = Statewright.from_path(MACHINES, database_url=database_url, broker_url=broker_url, hooks=hooks)
    app.broker.flush_all()
    with app.engine.begin() as connection:
        for table in (*STATEWRIGHT_TABLES, "parcels"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(app.engine)
    ParcelBase.metadata.create_all(app.engine)
    HEARD.clear()
    LABELS.clear()
    return app


def new_parcel(app: Statewright, **values: object) -> int:
    """A stored parcel in ``packing``; its id."""
    with app.sessionmaker() as session, session.begin():
        parcel = Parcel(**values)
        session.add(parcel)
        session.flush()
        return parcel.id
