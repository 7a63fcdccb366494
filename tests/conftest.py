"""Shared fixtures: paths to the shipped machines and the case files."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings
from sqlalchemy import Engine, MetaData, create_engine, text

from engine.orm.tables import metadata as statewright_metadata

if TYPE_CHECKING:
    from tests.services import PrivatePostgres, PrivateRedis

# `HYPOTHESIS_PROFILE=deep pytest tests/spec/test_fuzz.py` hunts longer than the default run.
settings.register_profile("default", max_examples=300, deadline=None)
settings.register_profile("deep", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]
#: Statewright's own tables, dependents first, and Alembic's version table: what a test drops for a fresh start.
STATEWRIGHT_TABLES = (
    *(table.name for table in reversed(statewright_metadata.sorted_tables)),
    "statewright_alembic_version",
)
MACHINES = ROOT / "machines"
CASES = Path(__file__).resolve().parent / "cases"


@pytest.fixture
def document_yaml() -> Path:
    """The shipped document machine."""
    return MACHINES / "document.yaml"


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


def fresh_tables(engine: Engine, *models: MetaData, extra: tuple[str, ...] = ()) -> None:
    """Drop Statewright's tables, the ``extra`` tables and the models' tables, then create them all again."""
    from engine.migrations.upgrade import upgrade

    with engine.begin() as connection:
        for table in (*STATEWRIGHT_TABLES, *extra):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    for metadata in models:
        metadata.drop_all(engine)
    upgrade(engine)
    for metadata in models:
        metadata.create_all(engine)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_python(*args: str) -> subprocess.CompletedProcess[str]:
    """``python args…`` from the repository root, importable from there; output captured, exit code not checked."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running PostgreSQL server of this test's own, to stop, kill and restart; `.url` is its empty database."""
    from tests.services import PrivatePostgres  # here: tests.services imports this module (free_port)

    with PrivatePostgres() as server:
        yield server


@pytest.fixture
def private_redis(request: pytest.FixtureRequest) -> Iterator[PrivateRedis]:
    """A running redis-server of this test's own, without persistence unless a test asks otherwise.

    Ask with ``@pytest.mark.parametrize("private_redis", ["append-only"], indirect=True)``.
    """
    from tests.services import PrivateRedis

    with PrivateRedis(persistence=getattr(request, "param", "none")) as server:
        yield server
