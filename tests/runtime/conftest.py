"""Backends for the runtime tests: every test runs on a SQLite file and on the running PostgreSQL.

A missing PostgreSQL fails the run; it never skips (project rule).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from engine import Statewright
from engine.migrations.upgrade import upgrade
from tests.conftest import STATEWRIGHT_TABLES
from tests.runtime.ticketing.models import TicketBase

RUNTIME_MACHINES = Path(__file__).resolve().parent / "machines"


@pytest.fixture
def app(database_url: str) -> Iterator[Statewright]:
    """A Statewright over the ticket machine, with fresh tables."""
    statewright = Statewright.from_path(RUNTIME_MACHINES, database_url=database_url)
    engine = statewright.engine
    TicketBase.metadata.drop_all(engine)
    with engine.begin() as connection:
        for table in STATEWRIGHT_TABLES:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(engine)
    TicketBase.metadata.create_all(engine)
    yield statewright
    engine.dispose()
