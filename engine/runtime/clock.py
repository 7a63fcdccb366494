"""The database's clock: every time the engine stores or compares comes from the database, not the host.

Hosts disagree about the time (a sweeper two hours ahead once timed out 200 healthy objects), and a
time taken in Python when a statement is built is early by however long the statement then waits for a
lock. So history times are written by the database as the row is made, and timeout, resend and lease
decisions are taken against the database's "now".

On PostgreSQL that is ``clock_timestamp()`` (the moment the row is computed, after any lock wait). SQLite
lives on one host: its ``'now'`` (UTC, fixed within a statement), written as SQLAlchemy stores datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class database_now(FunctionElement[datetime]):  # noqa: N801 - reads as the SQL function it stands for
    """``database_now()`` in a statement: the database's current time, timezone-aware (UTC on SQLite)."""

    type = DateTime(timezone=True)
    inherit_cache = True
    name = "database_now"


@compiles(database_now, "postgresql")
def _postgresql_now(element: database_now, compiler: Any, **kw: Any) -> str:
    return "clock_timestamp()"


@compiles(database_now, "sqlite")
def _sqlite_now(element: database_now, compiler: Any, **kw: Any) -> str:
    # The text SQLAlchemy's SQLite DateTime reads and writes (microseconds; SQLite's %f gives milliseconds).
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


@compiles(database_now)
def _default_now(element: database_now, compiler: Any, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP"


def now_of(connection: Connection) -> datetime:
    """The database's current time, timezone-aware, in one round trip (none on SQLite, which shares our clock).

    For decisions taken in Python against stored times: a cutoff is ``now_of(connection) - grace``.
    """
    if connection.dialect.name == "sqlite":
        return datetime.now(UTC)
    moment = connection.execute(select(database_now())).scalar_one()
    return aware(moment)


def aware(moment: datetime) -> datetime:
    """A stored time as a timezone-aware one (SQLite hands back naive datetimes for what was stored in UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
