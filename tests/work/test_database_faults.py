"""Which real database errors are transient faults (hold or run again) and which spend retries as before."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from engine.faults import Fault, describe, fault_of
from tests.conftest import free_port


@pytest.fixture
def server(postgres_url: str) -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL database with one table of two rows."""
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS pairs"))
        connection.execute(text("CREATE TABLE pairs (id int PRIMARY KEY, value int)"))
        connection.execute(text("INSERT INTO pairs VALUES (1, 0), (2, 0)"))
    yield engine
    engine.dispose()


def _run(engine: Engine, statements: tuple[str, ...]) -> None:
    with engine.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))


def _error_of(engine: Engine, *statements: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as raised:
        _run(engine, statements)
    return raised.value


def test_a_terminated_backend_is_an_outage(server: Engine) -> None:
    with server.connect() as victim, server.connect() as admin:
        pid = victim.execute(text("SELECT pg_backend_pid()")).scalar()
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as raised:
            victim.execute(text("SELECT 1"))
    assert fault_of(raised.value) is Fault.OUTAGE
    assert "terminating connection due to administrator command" in describe(raised.value)


def test_a_refused_connection_is_an_outage() -> None:
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    assert fault_of(_error_of(engine, "SELECT 1")) is Fault.OUTAGE


def test_a_lock_timeout_is_a_conflict(server: Engine) -> None:
    with server.connect() as holder:
        holder.execute(text("SELECT * FROM pairs WHERE id = 1 FOR UPDATE"))
        error = _error_of(server, "SET lock_timeout = '100ms'", "UPDATE pairs SET value = 1 WHERE id = 1")
        holder.rollback()
    assert fault_of(error) is Fault.CONFLICT


def test_a_deadlock_is_a_conflict(server: Engine) -> None:
    errors: list[BaseException] = []
    both_locked = threading.Barrier(2)

    def cross(first: int, second: int) -> None:
        try:
            with server.begin() as connection:
                connection.execute(text("UPDATE pairs SET value = value + 1 WHERE id = :id"), {"id": first})
                both_locked.wait(timeout=10)
                connection.execute(text("UPDATE pairs SET value = value + 1 WHERE id = :id"), {"id": second})
        except DBAPIError as error:
            errors.append(error)

    threads = [threading.Thread(target=cross, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 1
    assert "deadlock" in str(errors[0])
    assert fault_of(errors[0]) is Fault.CONFLICT


def test_a_serialization_failure_is_a_conflict(server: Engine) -> None:
    serializable = server.execution_options(isolation_level="REPEATABLE READ")
    with serializable.connect() as first, serializable.connect() as second:
        first.execute(text("SELECT value FROM pairs WHERE id = 1"))
        second.execute(text("SELECT value FROM pairs WHERE id = 1"))
        first.execute(text("UPDATE pairs SET value = 5 WHERE id = 1"))
        first.commit()
        with pytest.raises(DBAPIError) as raised:
            second.execute(text("UPDATE pairs SET value = 6 WHERE id = 1"))
    assert fault_of(raised.value) is Fault.CONFLICT


def test_a_statement_timeout_spends_retries_like_any_failure(server: Engine) -> None:
    error = _error_of(server, "SET statement_timeout = '100ms'", "SELECT pg_sleep(2)")
    assert "statement timeout" in str(error)
    assert fault_of(error) is None


def test_a_wrong_statement_and_a_handlers_bug_are_not_faults(server: Engine) -> None:
    assert fault_of(_error_of(server, "SELECT * FROM no_such_table")) is None
    assert fault_of(ValueError("the handler's own bug")) is None


def test_a_fault_the_handler_wrapped_in_its_own_error_is_still_a_fault(server: Engine) -> None:
    lost = _error_of(create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"), "SELECT 1")
    wrapped = RuntimeError("could not load the customer")
    wrapped.__cause__ = lost  # what `raise RuntimeError(...) from lost` sets
    assert fault_of(wrapped) is Fault.OUTAGE


def test_sqlite_database_is_locked_is_a_conflict(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x int)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    error = _error_of(engine, "INSERT INTO t VALUES (1)")
    holder.rollback()
    holder.close()
    assert "database is locked" in str(error)
    assert fault_of(error) is Fault.CONFLICT
