"""Open the database a command works on, and check that it holds what the command needs.

Every command that uses an existing database goes through ``open_database``: it never creates an
empty SQLite file (only ``statewright db upgrade`` and ``demo`` may), and it connects once, so that
an unreachable server is one clear ``DatabaseUnavailable`` before any work starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from engine.connections import ConnectionSettings
    from engine.runtime.flow import Flow


def upgrade_command(url: str) -> str:
    """The ``statewright db upgrade`` line that creates the tables in ``url`` (password hidden)."""
    from engine.db import DEFAULT_DATABASE_URL
    from engine.redaction import hide_password

    return "statewright db upgrade" + ("" if url == DEFAULT_DATABASE_URL else f" --database-url {hide_password(url)}")


def open_database(url: str, *, create: bool = False, connections: ConnectionSettings | None = None) -> Engine:
    """An engine on ``url`` that has connected once.

    Args:
        url: A SQLAlchemy URL.
        create: Whether a SQLite file that does not exist yet may be created.
        connections: Timeouts (default: an application's, see ``engine.connections``).

    Raises:
        ConfigurationError: ``url`` is not a usable SQLAlchemy URL.
        MissingDependency: The database's driver is not installed.
        DatabaseUnavailable: The database does not exist or cannot be reached.
    """
    from sqlalchemy.exc import DBAPIError

    from engine.db import make_engine

    engine = make_engine(url, connections=connections)
    where = engine.url.render_as_string(hide_password=True)
    _check_sqlite_file(engine, url, create)
    try:
        with engine.connect():
            pass
    except DBAPIError as failed:
        engine.dispose()
        reason = " ".join(str(failed.orig).split())
        raise DatabaseUnavailable(
            f"Cannot connect to the database {where}: {reason} — check the URL, and that "
            "the server is running and reachable."
        ) from None
    return engine


def _check_sqlite_file(engine: Engine, url: str, create: bool) -> None:
    """Refuse a SQLite file that does not exist (unless ``create``), or whose folder does not."""
    database = engine.url.database
    if (
        engine.url.get_backend_name() != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return
    path = Path(database)
    if not path.parent.is_dir():
        raise DatabaseUnavailable(
            f"Cannot use the SQLite database {database}: the folder {path.parent} does not "
            "exist. Create the folder, or give another --database-url."
        )
    if not create and not path.exists():
        raise DatabaseUnavailable(
            f"The SQLite database {database} does not exist. Create it with "
            f"`{upgrade_command(url)}`, or give the --database-url of your app's database."
        )


def require_tables(engine: Engine, url: str, flows: Iterable[Flow] = ()) -> None:
    """Check Statewright's tables (at the newest revision) and the table of every machine's model.

    Raises:
        DatabaseUnavailable: A table is missing or Statewright's tables need an upgrade.
    """
    from sqlalchemy import inspect

    from engine.migrations.upgrade import require_current

    require_current(engine, upgrade_command(url))
    inspector = inspect(engine)
    for flow in flows:
        for table in flow.mapper.tables:
            if not inspector.has_table(table.name, schema=table.schema):
                where = engine.url.render_as_string(hide_password=True)
                raise DatabaseUnavailable(
                    f"The table {table.name!r} of {flow.mapper.class_.__name__} (machine {flow.machine!r}) does not "
                    f"exist in {where}: create your model's table (with your app's migrations, or "
                    "Base.metadata.create_all(engine))."
                )
