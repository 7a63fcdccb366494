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
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from engine.errors import ConfigurationError
from engine.spec.durations import DurationOutOfRange, parse_duration

#: Environment variables of the settings.
CONNECT_TIMEOUT_ENV = "STATEWRIGHT_DB_CONNECT_TIMEOUT"
LOCK_TIMEOUT_ENV = "STATEWRIGHT_DB_LOCK_TIMEOUT"
STATEMENT_TIMEOUT_ENV = "STATEWRIGHT_DB_STATEMENT_TIMEOUT"
#: How long connecting to the server may take before it fails (and the worker holds its work).
DEFAULT_CONNECT_TIMEOUT = timedelta(seconds=10)
#: How long a worker's statement may wait for a row lock; past it the delivery backs off and runs again.
DEFAULT_LOCK_TIMEOUT = timedelta(seconds=10)
#: How long a worker's statement may run (a runaway query in a handler or a sweep).
DEFAULT_STATEMENT_TIMEOUT = timedelta(minutes=5)
#: How long a pooled connection may sit unused before it is pinged on its way out of the pool.
DEFAULT_PING_AFTER_IDLE = timedelta(seconds=1)
#: Values that turn a limit off.
NO_LIMIT = ("0", "off", "none")
#: The longest timeout PostgreSQL takes (its settings are milliseconds in a 32-bit integer: about 24.8 days).
MAX_TIMEOUT = timedelta(milliseconds=2_147_483_647)


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
        if self.ping_after_idle is not None and not (isinstance(self.ping_after_idle, timedelta)
                                                     and self.ping_after_idle >= timedelta(0)):
            raise ConfigurationError(f"ConnectionSettings(ping_after_idle={self.ping_after_idle!r}): give a "
                                     "datetime.timedelta of 0 or more, or None never to ping.")

    @classmethod
    def for_apps(cls) -> ConnectionSettings:
        """An application's settings: the connect timeout from the environment, no lock or statement limit.

        Raises:
            ConfigurationError: The variable is set but is not a duration.
        """
        return cls(connect_timeout=_from_env(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT))

    @classmethod
    def for_workers(cls) -> ConnectionSettings:
        """A worker's settings: all three from the environment, with the defaults above.

        Raises:
            ConfigurationError: A variable is set but is not a duration.
        """
        return cls(connect_timeout=_from_env(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT),
                   lock_timeout=_from_env(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT),
                   statement_timeout=_from_env(STATEMENT_TIMEOUT_ENV, DEFAULT_STATEMENT_TIMEOUT))

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


def _from_env(name: str, default: timedelta) -> timedelta | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if text.lower() in NO_LIMIT:
        return None
    try:
        duration = parse_duration(text)
    except DurationOutOfRange:
        duration = MAX_TIMEOUT + timedelta(days=1)
    except ValueError:
        raise ConfigurationError(f"${name}={text!r} is not a duration; write e.g. 10s, 500ms or 5m, or 0 for no "
                                 "limit.") from None
    if duration > MAX_TIMEOUT:
        raise ConfigurationError(f"${name}={text!r} is longer than PostgreSQL takes (24d); write at most 24d, or 0 "
                                 "for no limit.")
    return duration or None


def _check(name: str, value: object) -> None:
    """A setting given in Python: a ``timedelta`` from 1 ms to ``MAX_TIMEOUT``, or ``None``."""
    if value is None:
        return
    if not isinstance(value, timedelta):
        raise ConfigurationError(f"ConnectionSettings({name}={value!r}): give a datetime.timedelta, or None for no "
                                 "limit.")
    if not timedelta(milliseconds=1) <= value <= MAX_TIMEOUT:
        raise ConfigurationError(f"ConnectionSettings({name}={value}): give a duration from 1 ms to 24 days, or None "
                                 "for no limit.")
