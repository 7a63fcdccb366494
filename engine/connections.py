"""How Statewright's engines connect to a database server: a ping after idling, a connect timeout, worker timeouts.

Every engine on a server (not SQLite) pings a pooled connection that sat unused for ``ping_after_idle``
(1 s) before handing it out, so a connection that died in a database restart while the app was quiet is
replaced instead of failing the next statement; and it gives up connecting after ``connect_timeout``.
A connection back in the pool for less than that is handed out as it is, as HikariCP does: under load a
ping on every checkout (SQLAlchemy's ``pool_pre_ping``) costs a round trip per transaction, about a tenth
of a worker's time per object, and the database gate already holds and re-runs work whose connection died
just then (``engine.work.gate``); the ping itself is ``engine.db.ping_idle_connections``. Worker engines
also bound how long a statement waits for a row lock (``lock_timeout``: a worker thread must not wait
forever behind someone's open transaction) and how long any statement runs (``statement_timeout``).
Application engines do not get those two: they would change how the app's own transactions behave.

Each comes from an environment variable (``STATEWRIGHT_DB_CONNECT_TIMEOUT``, ``STATEWRIGHT_DB_LOCK_TIMEOUT``,
``STATEWRIGHT_DB_STATEMENT_TIMEOUT``), written as a duration (``10s``, ``500ms``, ``5m``); ``0`` or ``off``
means no limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from engine.errors import ConfigurationError

# The defaults are re-exported from their old home.
from engine.settings import DEFAULT_CONNECT_TIMEOUT as DEFAULT_CONNECT_TIMEOUT
from engine.settings import DEFAULT_LOCK_TIMEOUT as DEFAULT_LOCK_TIMEOUT
from engine.settings import DEFAULT_STATEMENT_TIMEOUT as DEFAULT_STATEMENT_TIMEOUT
from engine.settings import MAX_TIMEOUT, Settings

#: Environment variables of the settings (read by ``engine.settings``).
CONNECT_TIMEOUT_ENV = "STATEWRIGHT_DB_CONNECT_TIMEOUT"
LOCK_TIMEOUT_ENV = "STATEWRIGHT_DB_LOCK_TIMEOUT"
STATEMENT_TIMEOUT_ENV = "STATEWRIGHT_DB_STATEMENT_TIMEOUT"
#: How long a pooled connection may sit unused before it is pinged on its way out of the pool.
DEFAULT_PING_AFTER_IDLE = timedelta(seconds=1)


@dataclass(frozen=True)
class ConnectionSettings:
    """Timeouts of one engine; ``None`` leaves the server's own setting (usually no limit).

    Args:
        connect_timeout: How long connecting may take.
        lock_timeout: How long a statement may wait for a lock (PostgreSQL ``lock_timeout``).
        statement_timeout: How long a statement may run (PostgreSQL ``statement_timeout``).
        ping_after_idle: How long a pooled connection may sit unused before it is pinged when handed out
            (``timedelta(0)``: before every use, as ``pool_pre_ping``; ``None``: never).
    """

    connect_timeout: timedelta | None = DEFAULT_CONNECT_TIMEOUT
    lock_timeout: timedelta | None = None
    statement_timeout: timedelta | None = None
    ping_after_idle: timedelta | None = DEFAULT_PING_AFTER_IDLE

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "lock_timeout", "statement_timeout"):
            _check(name, getattr(self, name))
        if self.ping_after_idle is not None and not (
            isinstance(self.ping_after_idle, timedelta) and self.ping_after_idle >= timedelta(0)
        ):
            raise ConfigurationError(
                f"ConnectionSettings(ping_after_idle={self.ping_after_idle!r}): give a "
                "datetime.timedelta of 0 or more, or None never to ping."
            )

    @classmethod
    def for_apps(cls, settings: Settings | None = None) -> ConnectionSettings:
        """An application's settings: the connect timeout of ``settings`` (default: from the environment), no
        lock or statement limit.

        Raises:
            ConfigurationError: A variable is set but is not a duration.
        """
        settings = Settings.from_env() if settings is None else settings
        return cls(connect_timeout=settings.db_connect_timeout)

    @classmethod
    def for_workers(cls, settings: Settings | None = None) -> ConnectionSettings:
        """A worker's settings: all three timeouts of ``settings`` (default: from the environment).

        Raises:
            ConfigurationError: A variable is set but is not a duration.
        """
        settings = Settings.from_env() if settings is None else settings
        return cls(
            connect_timeout=settings.db_connect_timeout,
            lock_timeout=settings.db_lock_timeout,
            statement_timeout=settings.db_statement_timeout,
        )

    def engine_options(self, backend: str) -> dict[str, Any]:
        """``create_engine`` options for a database of kind ``backend`` (``postgresql``, ``sqlite``, …)."""
        if backend == "sqlite":
            return {}
        options: dict[str, Any] = {}
        if backend != "postgresql":
            return options
        connect_args: dict[str, Any] = {}
        if self.connect_timeout is not None:
            connect_args["connect_timeout"] = max(1, math.ceil(self.connect_timeout.total_seconds()))
        server = {"lock_timeout": self.lock_timeout, "statement_timeout": self.statement_timeout}
        settings = [f"-c {name}={_ms(value)}" for name, value in server.items() if value is not None]
        if settings:
            connect_args["options"] = " ".join(settings)
        if connect_args:
            options["connect_args"] = connect_args
        return options


def merged_options(settings: ConnectionSettings, backend: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` given to ``make_engine`` over the settings' own (``connect_args`` merged key by key)."""
    merged = {**settings.engine_options(backend), **options}
    ours = settings.engine_options(backend).get("connect_args")
    if ours is not None and "connect_args" in options:
        merged["connect_args"] = {**ours, **options["connect_args"]}
    return merged


def _ms(duration: timedelta) -> int:
    return max(1, round(duration.total_seconds() * 1000))


def _check(name: str, value: object) -> None:
    """A setting given in Python: a ``timedelta`` from 1 ms to ``MAX_TIMEOUT``, or ``None``."""
    if value is None:
        return
    if not isinstance(value, timedelta):
        raise ConfigurationError(
            f"ConnectionSettings({name}={value!r}): give a datetime.timedelta, or None for no limit."
        )
    if not timedelta(milliseconds=1) <= value <= MAX_TIMEOUT:
        raise ConfigurationError(
            f"ConnectionSettings({name}={value}): give a duration from 1 ms to 24 days, or None for no limit."
        )
