"""The gate holds a run while its database is away and lets it finish when it is back, with a few lines."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import text

from engine.db import make_engine
from engine.work.gate import DatabaseGate
from tests.services import PrivatePostgres


def _until(condition: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_run_is_held_while_the_database_is_stopped_and_finishes_once_it_is_back(
    private_postgres: PrivatePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(private_postgres.url)
    gate = DatabaseGate(engine)
    attempts: list[float] = []
    answers: list[int] = []

    def operation() -> int:
        attempts.append(time.monotonic())
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT 42")).scalar_one())

    with caplog.at_level(logging.INFO, logger="engine.work"):
        assert gate.run(operation) == 42
        private_postgres.stop()
        held = [threading.Thread(target=lambda: answers.append(gate.run(operation))) for _ in range(3)]
        for thread in held:
            thread.start()
        _until(lambda: not gate.is_healthy and gate.waiting == 3)
        time.sleep(3)
        tried_while_down = len(attempts)
        private_postgres.start()
        back = time.monotonic()
        for thread in held:
            thread.join(timeout=30)
    engine.dispose()
    assert answers == [42, 42, 42]
    assert tried_while_down <= 1 + 3, "held runs must wait for the probe, not retry in a loop"
    assert max(attempts) - back < 3, "the held runs resume within the probe's longest pause"
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("database unreachable (")
    assert "no retry is spent" in lines[0]
    assert lines[1].startswith("database reachable again after")


def test_a_failure_of_an_attempt_begun_before_the_database_came_back_changes_nothing(
    private_postgres: PrivatePostgres,
) -> None:
    gate = DatabaseGate(make_engine(private_postgres.url))
    started = time.monotonic()
    gate.report(RuntimeError("lost"), started=started)
    _until(lambda: gate.is_healthy)
    gate.report(RuntimeError("the same outage, reported late"), started=started)
    assert gate.is_healthy
    gate.engine.dispose()


def test_the_recovery_hook_runs_before_any_held_run_resumes(private_postgres: PrivatePostgres) -> None:
    """The worker renews its leases there, before a sweep or a resumed delivery judges them."""
    engine = make_engine(private_postgres.url)
    events: list[str] = []
    gate = DatabaseGate(engine, on_recovery=lambda: events.append("recovered"))

    def operation() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        events.append("ran")

    assert gate.seconds_since_recovery == float("inf")
    private_postgres.stop()
    held = threading.Thread(target=gate.run, args=(operation,))
    held.start()
    _until(lambda: gate.waiting == 1)
    private_postgres.start()
    held.join(timeout=30)
    engine.dispose()
    assert events == ["recovered", "ran"]
    assert gate.seconds_since_recovery < 30
