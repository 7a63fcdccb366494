"""``statewright db upgrade|downgrade``: manage Statewright's own tables."""

from __future__ import annotations

import sys

import click

from engine.cli.configured import database_url_option
from engine.cli.exits import EXIT_OK
from engine.cli.failing import CommandFailed, StatewrightGroup


@click.group(cls=StatewrightGroup)
def db() -> None:
    """Create or migrate Statewright's tables (statuses, outbox)."""


def _run(action: str, database_url: str, revision: str, *, confirmed: bool = True) -> None:
    from engine.cli.database import open_database
    from engine.migrations.upgrade import downgrade, upgrade

    # Only `upgrade` may create a SQLite file: downgrading a database that does not exist is a mistake.
    engine = open_database(database_url, create=action == "upgrade")
    try:
        if not confirmed:
            engine.dispose()
            raise CommandFailed(
                f"downgrading to {revision!r} drops Statewright's tables or columns and the status "
                f"history, failure records or archive references they hold; pass --yes to confirm."
            )
        (upgrade if action == "upgrade" else downgrade)(engine, revision)
    finally:
        engine.dispose()
    click.echo(f"Statewright tables at revision {revision} in {engine.url.render_as_string(hide_password=True)}.")
    sys.exit(EXIT_OK)


@db.command("upgrade")
@database_url_option
@click.argument("revision", default="head")
def db_upgrade(database_url: str, revision: str) -> None:
    """Create or update the tables to REVISION (default: the newest)."""
    _run("upgrade", database_url, revision)


@db.command("downgrade")
@database_url_option
@click.option("--yes", is_flag=True, help="Confirm: a downgrade drops tables or columns and the data in them.")
@click.argument("revision")
def db_downgrade(database_url: str, yes: bool, revision: str) -> None:
    """Take the tables back to REVISION (`base` drops them, with every status history row)."""
    _run("downgrade", database_url, revision, confirmed=yes)
