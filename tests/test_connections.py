"""Engines on a server pre-ping and time out connecting; worker engines also bound lock waits and statements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from engine import ConfigurationError
from engine.cli import EXIT_USAGE
from engine.connections import (
    CONNECT_TIMEOUT_ENV,
    LOCK_TIMEOUT_ENV,
    STATEMENT_TIMEOUT_ENV,
    ConnectionSettings,
)
from engine.statewright import make_engine
from tests.acceptance.lines import assert_one_line, invoke
from tests.conftest import MACHINES


def _server_settings(url: str, settings: ConnectionSettings | None) -> tuple[str, str, bool]:
    engine = make_engine(url, connections=settings)
    try:
        with engine.connect() as connection:
            lock = connection.execute(text("SHOW lock_timeout")).scalar_one()
            statement = connection.execute(text("SHOW statement_timeout")).scalar_one()
        return lock, statement, engine.pool._pre_ping  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_a_workers_engine_waits_10_s_for_a_lock_and_runs_a_statement_5_min_at_most(postgres_url: str) -> None:
    assert _server_settings(postgres_url, ConnectionSettings.for_workers()) == ("10s", "5min", True)


def test_an_apps_engine_pre_pings_but_keeps_the_servers_own_lock_and_statement_limits(postgres_url: str) -> None:
    assert _server_settings(postgres_url, None) == ("0", "0", True)


def test_the_timeouts_come_from_the_environment(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "1500ms")
    monkeypatch.setenv(STATEMENT_TIMEOUT_ENV, "off")
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "3s")
    settings = ConnectionSettings.for_workers()
    assert settings == ConnectionSettings(connect_timeout=timedelta(seconds=3),
                                          lock_timeout=timedelta(milliseconds=1500), statement_timeout=None)
    assert settings.engine_options("postgresql")["connect_args"] == {"connect_timeout": 3,
                                                                     "options": "-c lock_timeout=1500"}
    assert _server_settings(postgres_url, settings) == ("1500ms", "0", True)


def test_sqlite_engines_get_none_of_it() -> None:
    assert ConnectionSettings.for_workers().engine_options("sqlite") == {}


@pytest.mark.parametrize("variable", [CONNECT_TIMEOUT_ENV, LOCK_TIMEOUT_ENV, STATEMENT_TIMEOUT_ENV])
def test_a_timeout_that_is_not_a_duration_is_a_configuration_error(variable: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "soon")
    with pytest.raises(ConfigurationError, match=rf"\${variable}='soon' is not a duration"):
        ConnectionSettings.for_workers()


def test_the_worker_refuses_a_lock_timeout_that_is_not_a_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "ten seconds")
    result = invoke("worker", "--machines", str(MACHINES / "document.yaml"), "--broker-url", "redis://127.0.0.1:1/0")
    assert_one_line(result, EXIT_USAGE, LOCK_TIMEOUT_ENV, "is not a duration")


@pytest.mark.parametrize("value", ["25d", "36500d", "99999d"])
def test_a_timeout_longer_than_postgresql_takes_is_refused_by_its_variable(value: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """It reached the server, whose refusal read like a wrong database URL (exit 3)."""
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, value)
    result = invoke("worker", "--machines", str(MACHINES / "document.yaml"), "--broker-url", "redis://127.0.0.1:1/0")
    assert_one_line(result, EXIT_USAGE, LOCK_TIMEOUT_ENV, "longer than PostgreSQL takes")


@pytest.mark.parametrize("value", [timedelta(seconds=-3), timedelta(0), timedelta(days=30), "10s"])
def test_a_setting_given_in_python_is_checked_when_given(value: object) -> None:
    """A negative timeout became a 1 ms one, which cancelled every query."""
    with pytest.raises(ConfigurationError, match="statement_timeout"):
        ConnectionSettings(statement_timeout=value)  # type: ignore[arg-type]
