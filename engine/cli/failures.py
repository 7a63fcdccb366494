"""``statewright failures``: list background work that failed for good (and resends), and retry it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from engine.cli.app import AppOptions, app_options, opened_app
from engine.cli.exits import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from engine.cli.values import SQL_COUNT

if TYPE_CHECKING:
    from engine.statewright import Statewright


@click.command()
@app_options
@click.option(
    "--retry",
    "retry_ids",
    type=SQL_COUNT,
    multiple=True,
    metavar="ID",
    help="Send this record's work again (repeatable).",
)
@click.option("--retry-all", is_flag=True, help="Send the work of every open record again.")
@click.option("--all", "show_all", is_flag=True, help="Also list records already retried.")
def failures(
    machines: str,
    database_url: str,
    broker_url: str,
    import_path: str,
    retry_ids: tuple[int, ...],
    retry_all: bool,
    show_all: bool,
) -> None:
    """List work that failed for good with no object state to show it (listeners, reactions, work whose object
    could not be moved) and work the sweeper resent; retry failures. Exit 1 while failures are open."""
    options = AppOptions(machines, database_url, broker_url, import_path)
    if (retry_ids or retry_all) and broker_url.startswith("memory"):
        click.echo(
            "statewright failures: memory:// lives inside this process, so a retry would be lost; give "
            "--broker-url redis://… or amqp://… (the one your workers use).",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    with opened_app(options) as app:
        if retry_ids or retry_all:
            sys.exit(_retry(app, retry_ids, retry_all))
        sys.exit(_list(app, show_all))


def _list(app: Statewright, show_all: bool) -> int:
    from engine.work.failures import FAILED, RESENT, RETRIED, list_failures

    records = list_failures(app.engine, statuses=(FAILED, RESENT, RETRIED) if show_all else (FAILED, RESENT))
    for record in records:
        click.echo(record.line())
    open_ = sum(record.status == FAILED for record in records)
    resent = sum(record.status == RESENT for record in records)
    click.echo(
        f"{open_} open failure{'s' if open_ != 1 else ''}, {resent} resend{'s' if resent != 1 else ''}"
        + (" (retry with --retry ID or --retry-all)" if open_ else "")
    )
    return EXIT_PROBLEMS if open_ else EXIT_OK


def _retry(app: Statewright, retry_ids: tuple[int, ...], retry_all: bool) -> int:
    from engine.errors import RetryRefused
    from engine.work.failures import open_failure_ids, retry_failure

    refused = 0
    for failure_id in open_failure_ids(app.engine) if retry_all else retry_ids:
        try:
            record = retry_failure(app, failure_id)
        except RetryRefused as why:
            click.echo(f"statewright failures: {why}", err=True)
            refused += 1
            continue
        click.echo(f"#{failure_id} retried: {record.subject} sent again")
    return EXIT_USAGE if refused else EXIT_OK
