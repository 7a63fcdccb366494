"""Database plumbing: the default URL, creating an engine, and SQLite's write lock.

Everything that opens the database goes through here, so the commands that need only the database
(``statewright db upgrade``, ``compress``, ``restore``, ``purge``) import SQLAlchemy and nothing of the
runtime: no Dramatiq, transitions or httpx (``tests/test_import_layers.py`` checks it). SQLAlchemy itself loads
only when an engine is made, so the CLI can show ``DEFAULT_DATABASE_URL`` to ``statewright lint`` for free.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from engine.errors import ConfigurationError
from engine.redaction import hide_password
from engine.settings import DEFAULT_DATABASE_URL as DEFAULT_DATABASE_URL  # spelled once, in the settings

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.ext.asyncio import AsyncEngine

    from engine.connections import ConnectionSettings

#: Seconds a SQLite connection waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT = 30
#: Where a pooled connection's record keeps when it came back to the pool (``time.monotonic``).
_RETURNED_AT = "statewright_returned_at"
#: Execution option read by the SQLite ``begin`` listener below: ``"IMMEDIATE"`` takes the write lock at BEGIN.
SQLITE_BEGIN_OPTION = "statewright_sqlite_begin"


def make_engine(url: str, *, connections: ConnectionSettings | None = None, **options: Any) -> Engine:
    """Create an engine; for SQLite, one with WAL, a busy timeout, and transactions SQLAlchemy controls.

    On a database server the pool pings connections that sat idle and connecting times out (``connections``;
    by default ``ConnectionSettings.for_apps()``, see ``engine.connections``); ``options`` given here win.

    pysqlite's own transaction handling breaks savepoints; SQLAlchemy emits BEGIN itself instead.
    Transactions stay deferred so that reading never blocks another writer; the write path retries
    once when SQLite refuses a write on a stale snapshot. Nothing connects yet.

    Raises:
        ConfigurationError: ``url`` is not a SQLAlchemy URL, or names a kind of database SQLAlchemy does not
            know, or a ``STATEWRIGHT_DB_…`` timeout is not a duration.
        MissingDependency: The database's driver is not installed.
    """

    from engine.connections import ConnectionSettings, merged_options

    if not url.startswith("sqlite"):
        backend = url.split(":", 1)[0].split("+", 1)[0]
        settings = connections or ConnectionSettings.for_apps()
        engine = _create_engine(url, merged_options(settings, backend, options))
        if settings.ping_after_idle is not None and not options.get("pool_pre_ping"):
            ping_idle_connections(engine, settings.ping_after_idle)
        return engine
    options.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT)
    engine = _create_engine(url, options)
    _sqlite_transactions(engine, url)
    return engine


def make_async_engine(url: str, **options: Any) -> AsyncEngine:
    """An ``AsyncEngine`` for apps on ``AsyncSession`` (``postgresql+asyncpg://``, ``sqlite+aiosqlite://``).

    On SQLite it behaves as ``make_engine``'s does (WAL, a busy timeout, SQLAlchemy's own BEGIN, so moves in a
    transaction you opened can use savepoints). ``options`` go to ``create_async_engine``.

    Raises:
        ConfigurationError: ``url`` is not a SQLAlchemy URL, or not one of an async driver.
        MissingDependency: The driver is not installed.
    """
    from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoSuchModuleError
    from sqlalchemy.ext.asyncio import create_async_engine

    from engine.dependencies import missing_dependency

    sqlite = url.startswith("sqlite")
    if sqlite:
        options.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT)
    try:
        engine = create_async_engine(url, **options)
    except (NoSuchModuleError, ArgumentError, InvalidRequestError) as wrong:
        raise ConfigurationError(
            f"Cannot use the database URL {hide_password(url)!r} for AsyncSession: {wrong}. Write it like "
            "sqlite+aiosqlite:///path/to.db or postgresql+asyncpg://user@host/db."
        ) from None
    except ImportError as missing:
        raise missing_dependency(missing, f"The database URL {hide_password(url)!r}") from None
    if sqlite:
        _sqlite_transactions(engine.sync_engine, url)
    return engine


def _sqlite_transactions(engine: Engine, url: str) -> None:
    """SQLite as Statewright uses it: foreign keys, WAL, and BEGIN emitted by SQLAlchemy (see ``make_engine``)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _manual_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
        cursor = dbapi_connection.cursor()  # a cursor: aiosqlite's adapted connection has no execute()
        cursor.execute("PRAGMA foreign_keys=ON")
        if ":memory:" not in url and not url.endswith("://"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # The write path asks for IMMEDIATE when it retries, so that it waits for the lock before reading.
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


def ping_idle_connections(engine: Engine, idle: timedelta) -> None:
    """Make ``engine``'s pool ping a connection that was back in the pool for ``idle`` or longer before handing it out.

    A connection that fails the ping with a disconnect is replaced (``DisconnectionError`` makes the pool
    connect anew, up to three times); other errors propagate, as ``pool_pre_ping`` does.
    """
    from sqlalchemy import event
    from sqlalchemy.exc import DisconnectionError

    after = idle.total_seconds()

    @event.listens_for(engine.pool, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < after:
            return  # just connected, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError(f"a pooled connection failed its ping: {error}") from error
            raise


def begin_write(engine: Engine) -> AbstractContextManager[Connection]:
    """A write transaction that, on SQLite, takes the write lock before reading, so writers take turns."""
    return engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}).begin()


def is_sqlite_busy(exc: OperationalError) -> bool:
    """Whether SQLite refused a write because another connection holds (or held) the write lock."""
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def _create_engine(url: str, options: dict[str, Any]) -> Engine:
    """``create_engine``, with its errors for a wrong URL or a missing driver turned into Statewright's."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from engine.dependencies import missing_dependency

    try:
        engine = create_engine(url, **options)
    except NoSuchModuleError:
        kind = url.split(":", 1)[0]
        raise ConfigurationError(
            f"Cannot use the database URL {hide_password(url)!r}: SQLAlchemy knows no database "
            f"{kind!r}. Use sqlite:///path/to.db or postgresql+psycopg://user@host/db."
        ) from None
    except ArgumentError as wrong:
        raise ConfigurationError(
            f"Cannot use the database URL {hide_password(url)!r}: {wrong}. Write it like "
            "sqlite:///path/to.db or postgresql+psycopg://user@host/db."
        ) from None
    except ImportError as missing:
        raise missing_dependency(missing, f"The database URL {hide_password(url)!r}") from None
    if engine.url.host is not None and "@" in engine.url.host:
        # SQLAlchemy ends the password at its first "@"; the rest would reach the driver (and its errors) as host.
        raise ConfigurationError(
            f"Cannot use the database URL {hide_password(url)!r}: the password holds an '@'. "
            "Write each '@' in the password as %40."
        )
    return engine
