"""Backends for the runtime tests: every test runs on a SQLite file and on the running PostgreSQL.

A missing PostgreSQL fails the run; it never skips (project rule).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import Statewright
from engine.migrations.upgrade import upgrade
from tests.runtime.ticketing.models import TicketBase

RUNTIME_MACHINES = Path(__file__).resolve().parent / "machines"
#: The server the PostgreSQL tests use; a database of their own is created on it for each run.
POSTGRES_SERVER = os.environ.get("STATEWRIGHT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    name = f"statewright_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server fails the run with its reason
        pytest.fail(f"PostgreSQL is required at {POSTGRES_SERVER} (set STATEWRIGHT_TEST_POSTGRES): {exc}")
    yield f"{POSTGRES_SERVER}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'statewright.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[Statewright]:
    """A Statewright over the ticket machine, with fresh tables."""
    statewright = Statewright.from_path(RUNTIME_MACHINES, database_url=database_url)
    engine = statewright.engine
    TicketBase.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS statewright_outbox"))
        connection.execute(text("DROP TABLE IF EXISTS statuses"))
        connection.execute(text("DROP TABLE IF EXISTS statewright_alembic_version"))
    upgrade(engine)
    TicketBase.metadata.create_all(engine)
    yield statewright
    engine.dispose()
