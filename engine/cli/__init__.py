"""The ``statewright`` command: one click group, thin commands that call the library."""

from __future__ import annotations

import click

from engine.cli.admin import admin
from engine.cli.archive import compress, purge, restore
from engine.cli.db import db
from engine.cli.demo import demo
from engine.cli.diagram import diagram
from engine.cli.exits import (
    EXIT_BROKEN_PIPE,
    EXIT_BUG,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    EXIT_WORKER_DIED,
)
from engine.cli.failing import TRACEBACK_ENV, CommandFailed, StatewrightGroup
from engine.cli.failures import failures
from engine.cli.lint import lint, rules
from engine.cli.ops import defibrillate, sweep, touch
from engine.cli.scaffold import init, new, scaffold
from engine.cli.serve import serve
from engine.cli.show import show
from engine.cli.worker import worker

HELP_EPILOG = """\b
Examples:
  statewright demo                                200 documents through a task and an endpoint
  statewright init myproject                      a starter project: a machine, its model, its handlers
  statewright new order --model app.models:Order --states pending,paid,shipped
  statewright scaffold machines/order.yaml        stubs for the model and code it names
  statewright lint machines/                      check every machine file in a folder
  statewright lint --format github machines/      annotations for GitHub Actions
  statewright lint --resolve machines/order.yaml  also import every callable it names
  statewright diagram machines/document.yaml -o document.pdf   format from the suffix (or -f)
  statewright show machines/order.yaml
  statewright db upgrade --database-url postgresql+psycopg://localhost/app
  statewright defibrillate document --where status=error --dry-run
  statewright touch order --where status=waiting --broker-url redis://localhost   re-enter a touchable state
  statewright worker --database-url postgresql+psycopg://localhost/app --broker-url redis://localhost --processes 2
  statewright sweep --database-url postgresql+psycopg://localhost/app --broker-url redis://localhost
  statewright failures --retry-all --broker-url redis://localhost   send failed listeners' work again
  statewright compress --older-than 2d --archive-uri s3://bucket/statewright
  statewright restore 1042 1043                   bring two history rows' payloads back
  statewright admin --machines machines/          the admin page on http://localhost:8000
  statewright serve --machines machines/ --workers 2   receive signed callbacks on http://localhost:8000
  statewright --traceback sweep                   a failure's traceback too, for a bug report
"""


@click.group(
    "statewright", cls=StatewrightGroup, epilog=HELP_EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="statewright")
@click.option(
    "--traceback",
    is_flag=True,
    help=f"On a failure, also print the traceback, for a bug report (or ${TRACEBACK_ENV}=1).",
)
@click.pass_context
def main(ctx: click.Context, traceback: bool) -> None:
    """Statewright: statuses of business objects, described in YAML.

    Exit status: 0 done, 1 problems found, 2 wrong usage, 3 something needed is unavailable
    (a database, its tables, a broker, an optional package), 70 a bug in Statewright, 141 whoever read the
    output stopped reading (`statewright rules | head -1`).

    Options left out are read from STATEWRIGHT_* variables (README, "Configuration").
    """
    # Read on first use (engine.cli.configured), not here: `lint`, `show`, `diagram` and `--help` use no
    # setting, so a bad $STATEWRIGHT_* they never read must not stop them. A command that loads an app reads
    # the settings for its options' defaults while its arguments are parsed, so it still refuses a bad value
    # (one line naming the variable, exit 2) before it opens anything.
    ctx.obj = None


main.add_command(demo)
main.add_command(init)
main.add_command(new)
main.add_command(scaffold)
main.add_command(lint)
main.add_command(rules)
main.add_command(diagram)
main.add_command(show)
main.add_command(serve)
main.add_command(db)
main.add_command(sweep)
main.add_command(defibrillate)
main.add_command(touch)
main.add_command(failures)
main.add_command(worker)
main.add_command(compress)
main.add_command(restore)
main.add_command(purge)
main.add_command(admin)

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_BUG",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "EXIT_WORKER_DIED",
    "CommandFailed",
    "StatewrightGroup",
    "main",
]
