"""Apply Statewright's migrations to a database, and check that one is up to date."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, inspect

from engine.errors import ConfigurationError, DatabaseUnavailable

#: Statewright's migrations keep their own version table, so an app's Alembic history stays separate.
VERSION_TABLE = "statewright_alembic_version"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "engine:migrations")
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring Statewright's tables up to ``revision`` (the newest by default).

    Raises:
        ConfigurationError: ``revision`` is not one of Statewright's revisions.
    """
    _migrate(command.upgrade, engine, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take Statewright's tables back to ``revision`` (``base`` removes them).

    Raises:
        ConfigurationError: ``revision`` is not one of Statewright's revisions.
    """
    _migrate(command.downgrade, engine, revision)


def _migrate(step: Callable[[Config, str], None], engine: Engine, revision: str) -> None:
    config = _config()
    if not revision.strip():  # alembic fails an assertion on an empty revision
        raise ConfigurationError(
            "Cannot migrate to an empty revision: give one of Statewright's revisions, head or base."
        )
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)
    except CommandError as wrong:
        known = [script.revision for script in ScriptDirectory.from_config(config).walk_revisions()]
        raise ConfigurationError(
            f"Cannot migrate to revision {revision!r}: {wrong}. Statewright's revisions: "
            f"{', '.join(sorted(known))}, head and base."
        ) from None


def head_revision() -> str | None:
    """The newest revision this version of Statewright knows."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def require_current(engine: Engine, upgrade_command: str) -> None:
    """Check that Statewright's tables exist and, if ``statewright db upgrade`` made them, are at the newest revision.

    Tables made by an app's own Alembic (from ``engine.metadata``) have no version row; their presence is enough.

    Args:
        engine: The database.
        upgrade_command: The command that fixes it, quoted in the message.

    Raises:
        DatabaseUnavailable: A table is missing, or the tables are at an older revision.
    """
    from engine.orm.tables import metadata

    where = engine.url.render_as_string(hide_password=True)
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        current = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()
    head = head_revision()
    if current is not None and current != head:  # an older revision also lacks the newer tables: say why
        raise DatabaseUnavailable(
            f"Statewright's tables in {where} are at revision {current}; this version needs "
            f"{head}: upgrade them with `{upgrade_command}`."
        )
    missing = sorted(set(metadata.tables) - present)
    if missing:
        raise DatabaseUnavailable(
            f"The database {where} lacks Statewright tables ({', '.join(missing)}): "
            f"create the tables with `{upgrade_command}`."
        )
