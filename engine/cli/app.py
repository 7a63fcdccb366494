"""Options shared by the commands that run against an app, and building the ``Statewright`` from them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from engine.cli.configured import current_settings, database_url_option, setting_option, stacked
from engine.cli.values import DURATION

if TYPE_CHECKING:
    from engine.connections import ConnectionSettings
    from engine.settings import Settings
    from engine.statewright import Statewright

F = TypeVar("F", bound=Callable[..., Any])

#: Environment variables read (by ``engine.settings``) when the matching option is not given.
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
    #: The rest of the configuration (default: the command's, see ``engine.cli.configured``); the fields
    #: above win over it. Picklable, so spawned worker processes get the very same.
    settings: Settings | None = None


def app_options(function: F) -> F:
    """Add --machines, --database-url, --broker-url and --path to a command."""
    return stacked(
        setting_option("--machines", "machines", "Machine file or folder."),
        database_url_option,
        setting_option("--broker-url", "broker_url", "memory://, redis://… or amqp://…."),
        click.option(
            "--path",
            "import_path",
            default=".",
            show_default=True,
            help="Folder put first on the import path, where your models live.",
        ),
    )(function)


def resend_after_option(help: str) -> Callable[[F], F]:
    """``--resend-after`` (``STATEWRIGHT_RESEND_AFTER``) for the commands that sweep, with their own ``help``."""
    return setting_option("--resend-after", "resend_after", help, type=DURATION)


#: What a command that sends work says when given the in-process broker.
IN_PROCESS_BROKER = (
    "memory:// lives inside one process; give --broker-url redis://… or amqp://… shared with your workers"
)


def is_in_process(broker_url: str) -> bool:
    """Whether ``broker_url`` names the in-process broker, whose messages vanish when the command exits."""
    return broker_url.split("://", 1)[0].strip().lower() == "memory"


def refuse_in_process_broker(broker_url: str, why: str = "") -> None:
    """Refuse (exit 2) to send work into ``memory://``: rows would be marked sent and nobody would run them.

    Raises:
        CommandFailed: ``broker_url`` is ``memory://``.
    """
    from engine.cli.exits import EXIT_USAGE
    from engine.cli.failing import CommandFailed

    if is_in_process(broker_url):
        raise CommandFailed(f"{IN_PROCESS_BROKER}{why}.", EXIT_USAGE)


def hold_work_in_outbox(app: Statewright) -> None:
    """Keep an app on ``memory://`` from sending work that nobody would run.

    The status changes it makes leave their outbox rows unsent, for the workers' own sweep to send; a
    direct send (retrying a failure) is refused with ``RetryRefused`` instead of vanishing with the process.
    """
    from engine.errors import RetryRefused

    def refuse(row: object) -> bool:
        raise RetryRefused(f"Cannot send work: {IN_PROCESS_BROKER}.")

    app.work.relay.send = lambda row: False
    app.work.send = refuse  # type: ignore[method-assign]


@contextmanager
def opened_app(options: AppOptions, *, connections: ConnectionSettings | None = None) -> Iterator[Statewright]:
    """The app for a command (``connections``: its engine's timeouts); its connections are closed at the end."""
    app = build_app(options, connections=connections)
    try:
        yield app
    finally:
        app.close()


def build_app(options: AppOptions, *, connections: ConnectionSettings | None = None) -> Statewright:
    """Build the app on an existing database that has every table the machines need.

    Failures are raised for the command group to report (see ``engine.cli.failing``).

    Raises:
        FileNotFoundError: The machine file or folder does not exist.
        DefinitionError: A machine file has problems.
        ConfigurationError: The database or broker URL is malformed.
        MissingDependency: The database driver or the broker's client is not installed.
        DatabaseUnavailable: The database does not exist, cannot be reached, or lacks a table.
    """
    from engine.cli.database import open_database, require_tables
    from engine.spec.loader import load_specs
    from engine.statewright import Statewright
    from engine.work.brokers import build_broker

    folder = str(Path(options.import_path).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    specs = load_specs(options.machines)  # the machine files first: their problems need no database
    # A malformed broker URL (a usage error) is reported before an unavailable database; nothing connects yet.
    build_broker(options.broker_url).close()
    engine = open_database(options.database_url, connections=connections)
    try:
        app = Statewright(
            specs,
            engine=engine,
            broker_url=options.broker_url,
            http_base_url=options.http_base_url,
            settings=options.settings if options.settings is not None else current_settings(),
        )
    except BaseException:
        engine.dispose()
        raise
    try:
        require_tables(engine, options.database_url, app.flows.values())
    except BaseException:
        app.close()
        raise
    return app
