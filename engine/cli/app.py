"""Options shared by the commands that run against an app, and building the ``Statewright`` from them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from engine.cli.exits import EXIT_PROBLEMS, EXIT_UNAVAILABLE, EXIT_USAGE
from engine.errors import ConfigurationError, DefinitionError

if TYPE_CHECKING:
    from engine.statewright import Statewright

F = TypeVar("F", bound=Callable[..., Any])

#: Environment variables read when the matching option is not given.
DATABASE_URL_ENV = "STATEWRIGHT_DATABASE_URL"
BROKER_URL_ENV = "STATEWRIGHT_BROKER_URL"
MACHINES_ENV = "STATEWRIGHT_MACHINES"


@dataclass(frozen=True)
class AppOptions:
    """Where the machines, the database and the broker are."""

    machines: str
    database_url: str
    broker_url: str
    import_path: str
    #: Joined to endpoint URLs that are paths (``statewright worker --http-base-url``).
    http_base_url: str | None = None


def app_options(function: F) -> F:
    """Add --machines, --database-url, --broker-url and --path to a command."""
    decorators = [
        click.option("--machines", envvar=MACHINES_ENV, default="machines", show_default=True,
                     help=f"Machine file or folder (or ${MACHINES_ENV})."),
        click.option("--database-url", envvar=DATABASE_URL_ENV, default="sqlite:///statewright.db",
                     show_default=True, help=f"SQLAlchemy URL (or ${DATABASE_URL_ENV})."),
        click.option("--broker-url", envvar=BROKER_URL_ENV, default="memory://", show_default=True,
                     help=f"memory://, redis://… or amqp://… (or ${BROKER_URL_ENV})."),
        click.option("--path", "import_path", default=".", show_default=True,
                     help="Folder put first on the import path, where your models live."),
    ]
    for decorate in reversed(decorators):
        function = decorate(function)
    return function


@contextmanager
def opened_app(options: AppOptions) -> Iterator[Statewright]:
    """The app for a command; its database connections are closed when the command ends."""
    app = build_app(options)
    try:
        yield app
    finally:
        app.close()


def build_app(options: AppOptions) -> Statewright:
    """Build the app, or print why not and exit (1 for definition problems, 3 for an unreachable database)."""
    from sqlalchemy.exc import OperationalError

    from engine.statewright import Statewright

    folder = str(Path(options.import_path).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        return Statewright.from_path(options.machines, database_url=options.database_url,
                                     broker_url=options.broker_url, http_base_url=options.http_base_url)
    except DefinitionError as problems:
        for diagnostic in problems.diagnostics:
            click.echo(diagnostic.render(), err=True)
        sys.exit(EXIT_PROBLEMS)
    except FileNotFoundError as missing:
        click.echo(f"statewright: no such file or folder: {missing}", err=True)
        sys.exit(EXIT_PROBLEMS)
    except ConfigurationError as wrong:
        click.echo(f"statewright: {wrong}", err=True)
        sys.exit(EXIT_USAGE)
    except OperationalError as exc:
        click.echo(f"statewright: cannot use the database: {exc.orig}", err=True)
        sys.exit(EXIT_UNAVAILABLE)
