"""Engines on a server ping connections that sat idle and time out connecting; worker engines also bound lock waits
and statements."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, NullPool, create_engine, text
from sqlalchemy.exc import OperationalError

from engine import ConfigurationError
from engine.cli import EXIT_USAGE
from engine.connections import (
    CONNECT_TIMEOUT_ENV,
    LOCK_TIMEOUT_ENV,
    STATEMENT_TIMEOUT_ENV,
    ConnectionSettings,
)
from engine.db import make_engine
from tests.acceptance.lines import assert_one_line, invoke
from tests.conftest import MACHINES


def _server_settings(url: str, settings: ConnectionSettings | None) -> tuple[str, str]:
    engine = make_engine(url, connections=settings)
    try:
        with engine.connect() as connection:
            lock = connection.execute(text("SHOW lock_timeout")).scalar_one()
            statement = connection.execute(text("SHOW statement_timeout")).scalar_one()
        return lock, statement
    finally:
        engine.dispose()


def test_a_workers_engine_waits_10_s_for_a_lock_and_runs_a_statement_5_min_at_most(postgres_url: str) -> None:
    assert _server_settings(postgres_url, ConnectionSettings.for_workers()) == ("10s", "5min")


def test_an_apps_engine_keeps_the_servers_own_lock_and_statement_limits(postgres_url: str) -> None:
    assert _server_settings(postgres_url, None) == ("0", "0")


def test_the_timeouts_come_from_the_environment(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "1500ms")
    monkeypatch.setenv(STATEMENT_TIMEOUT_ENV, "off")
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "3s")
    settings = ConnectionSettings.for_workers()
    assert settings == ConnectionSettings(
        connect_timeout=timedelta(seconds=3), lock_timeout=timedelta(milliseconds=1500), statement_timeout=None
    )
    assert settings.engine_options("postgresql")["connect_args"] == {
        "connect_timeout": 3,
        "options": "-c lock_timeout=1500",
    }
    assert _server_settings(postgres_url, settings) == ("1500ms", "0")


def test_sqlite_engines_get_none_of_it() -> None:
    assert ConnectionSettings.for_workers().engine_options("sqlite") == {}


@pytest.mark.parametrize("variable", [CONNECT_TIMEOUT_ENV, LOCK_TIMEOUT_ENV, STATEMENT_TIMEOUT_ENV])
def test_a_timeout_that_is_not_a_duration_is_a_configuration_error(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "soon")
    with pytest.raises(ConfigurationError, match=rf"\${variable}='soon' is not a duration"):
        ConnectionSettings.for_workers()


def test_the_worker_refuses_a_lock_timeout_that_is_not_a_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "ten seconds")
    result = invoke("worker", "--machines", str(MACHINES / "document.yaml"), "--broker-url", "redis://127.0.0.1:1/0")
    assert_one_line(result, EXIT_USAGE, LOCK_TIMEOUT_ENV, "is not a duration")


@pytest.mark.parametrize("value", ["25d", "36500d", "99999d"])
def test_a_timeout_longer_than_postgresql_takes_is_refused_by_its_variable(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It reached the server, whose refusal read like a wrong database URL (exit 3)."""
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, value)
    result = invoke("worker", "--machines", str(MACHINES / "document.yaml"), "--broker-url", "redis://127.0.0.1:1/0")
    assert_one_line(result, EXIT_USAGE, LOCK_TIMEOUT_ENV, "longer than PostgreSQL takes")


@pytest.mark.parametrize("value", [timedelta(seconds=-3), timedelta(0), timedelta(days=30), "10s"])
def test_a_setting_given_in_python_is_checked_when_given(value: object) -> None:
    """A negative timeout became a 1 ms one, which cancelled every query."""
    with pytest.raises(ConfigurationError, match="statement_timeout"):
        ConnectionSettings(statement_timeout=value)  # type: ignore[arg-type]


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    """End a server process as a database restart would, from a connection of another engine."""
    killer = create_engine(url, poolclass=NullPool)
    try:
        with killer.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        killer.dispose()


@pytest.mark.parametrize("idle", [timedelta(0), timedelta(milliseconds=100)])
def test_a_pooled_connection_that_died_while_idle_is_replaced_by_its_ping(postgres_url: str, idle: timedelta) -> None:
    engine = make_engine(postgres_url, connections=ConnectionSettings(ping_after_idle=idle))
    try:
        first = _backend(engine)
        _terminate(postgres_url, first)
        time.sleep(0.2)
        assert _backend(engine) not in (first, 0)
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_handed_out_unpinged(postgres_url: str) -> None:
    """The trade: under load no round trip per checkout; the first statement on a connection that died just then
    fails as a disconnect (which the worker's database gate holds and runs again), and the pool starts afresh."""
    engine = make_engine(postgres_url, connections=ConnectionSettings(ping_after_idle=timedelta(minutes=1)))
    try:
        first = _backend(engine)
        _terminate(postgres_url, first)
        with pytest.raises(OperationalError) as failed:
            _backend(engine)
        assert failed.value.connection_invalidated
        assert _backend(engine) != first
    finally:
        engine.dispose()


def test_pinging_can_be_switched_off_or_left_to_sqlalchemy(postgres_url: str) -> None:
    for engine in (
        make_engine(postgres_url, connections=ConnectionSettings(ping_after_idle=None)),
        make_engine(postgres_url, pool_pre_ping=True),
    ):
        try:
            assert not any("ping" in getattr(listener, "__name__", "") for listener in engine.pool.dispatch.checkout)
        finally:
            engine.dispose()
    pinging = make_engine(postgres_url)
    try:
        assert any("ping" in getattr(listener, "__name__", "") for listener in pinging.pool.dispatch.checkout)
    finally:
        pinging.dispose()


@pytest.mark.parametrize("value", [timedelta(seconds=-1), 1.5])
def test_ping_after_idle_is_checked_when_given(value: object) -> None:
    with pytest.raises(ConfigurationError, match="ping_after_idle"):
        ConnectionSettings(ping_after_idle=value)  # type: ignore[arg-type]
