"""``statewright compress``, ``restore`` and ``purge``: payload archiving from the command line.

They need only the database (and the archive storage), not the machines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.cli.configured import F, database_url_option, setting_option, stacked
from engine.cli.exits import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from engine.cli.values import DURATION, SQL_COUNT

if TYPE_CHECKING:
    from engine.archive import Archiver


def archive_options(function: F) -> F:
    """--database-url and where archives go; each also read from the environment."""
    return stacked(
        database_url_option,
        setting_option("--archive-uri", "archive_uri", "file:///folder or s3://bucket/prefix."),
        setting_option(
            "--temp-dir",
            "archive_temp",
            "Folder where archives are built before upload, created if missing.",
            type=click.Path(file_okay=False),
        ),
        setting_option("--s3-endpoint-url", "s3_endpoint_url", "An S3-compatible server."),
        setting_option("--s3-path-style", "s3_path_style", "Path-style S3 bucket addressing.", is_flag=True),
    )(function)


def _check_temp_dir(temp_dir: str) -> None:
    """Refuse (exit 2) a --temp-dir that exists but is not a folder (a FIFO, a device, a file), or is empty."""
    from engine.cli.failing import CommandFailed

    path = Path(temp_dir)
    if temp_dir == "" or (path.exists() and not path.is_dir()):
        what = "is empty" if temp_dir == "" else "exists and is not a folder"
        raise CommandFailed(
            f"--temp-dir {temp_dir!r} {what}; name a folder (it is created if missing), or leave "
            "out --temp-dir for the system's temporary folder.",
            EXIT_USAGE,
        )


@contextmanager
def _archiver(
    database_url: str, archive_uri: str, temp_dir: str | None, s3_endpoint_url: str | None, s3_path_style: bool
) -> Iterator[Archiver]:
    """The archiver for a command, on an existing database with Statewright's tables.

    Errors are raised for the command group to report (see ``engine.cli.failing``).
    """
    from engine.archive import Archiver, ArchiveSettings
    from engine.cli.database import open_database, require_tables

    if temp_dir is not None:
        _check_temp_dir(temp_dir)
    settings = ArchiveSettings(
        uri=archive_uri,
        temp_dir=Path(temp_dir) if temp_dir else None,
        s3_endpoint_url=s3_endpoint_url,
        s3_path_style=s3_path_style,
    )
    engine = open_database(database_url)
    try:
        require_tables(engine, database_url)
        yield Archiver(engine, settings)
    finally:
        engine.dispose()


@click.command()
@archive_options
@click.option(
    "--older-than",
    type=DURATION,
    default="2d",
    show_default=True,
    help="Archive payloads of history rows older than this.",
)
@click.option("--batch", type=SQL_COUNT, default=1000, show_default=True, help="Rows per archive.")
@click.option(
    "--gc/--no-gc",
    default=True,
    show_default=True,
    help="First delete orphaned archives: ones a killed run stored but never committed.",
)
@click.option(
    "--gc-grace",
    type=DURATION,
    default="1h",
    show_default=True,
    help="Leave orphaned archives younger than this for a later run.",
)
def compress(
    database_url: str,
    archive_uri: str,
    temp_dir: str | None,
    s3_endpoint_url: str | None,
    s3_path_style: bool,
    older_than: timedelta,
    batch: int,
    gc: bool,
    gc_grace: timedelta,
) -> None:
    """Move old history payloads into verified ZIP archives. Safe to run from several hosts at once."""
    from rich.filesize import decimal
    from rich.progress import Progress

    with _archiver(database_url, archive_uri, temp_dir, s3_endpoint_url, s3_path_style) as archiver:
        if gc:
            orphans = archiver.collect_orphans(grace=gc_grace)
            for uri in orphans:
                click.echo(f"deleted orphaned archive {uri}")
        total = archiver.pending(older_than=older_than)
        with Progress(transient=True) as progress:
            bar = progress.add_task("compressing payloads", total=total)
            result = archiver.compress(
                older_than=older_than, batch=batch, progress=lambda rows: progress.advance(bar, rows)
            )
    click.echo(
        f"compressed {result.rows} rows into {len(result.archives)} archives: "
        f"{decimal(result.bytes_before)} of payloads, {decimal(result.bytes_after)} archived"
    )
    sys.exit(EXIT_OK)


@click.command()
@archive_options
@click.argument("row_ids", nargs=-1, type=SQL_COUNT)
@click.option(
    "--object",
    "subject",
    default=None,
    metavar="MACHINE:ID",
    help="Restore every archived payload of one object instead.",
)
def restore(
    database_url: str,
    archive_uri: str,
    temp_dir: str | None,
    s3_endpoint_url: str | None,
    s3_path_style: bool,
    row_ids: tuple[int, ...],
    subject: str | None,
) -> None:
    """Bring archived payloads back into history rows ROW_IDS (or of one --object), checking their SHA-256."""
    if bool(row_ids) == bool(subject):
        click.echo("statewright restore: give history row ids or --object MACHINE:ID (one of the two)", err=True)
        sys.exit(EXIT_USAGE)
    machine, _, model_id = (subject or "").partition(":")
    if subject is not None and not (machine.strip() and model_id.strip()):
        click.echo(f"statewright restore: --object takes MACHINE:ID (like document:1042), not {subject!r}", err=True)
        sys.exit(EXIT_USAGE)
    with _archiver(database_url, archive_uri, temp_dir, s3_endpoint_url, s3_path_style) as archiver:
        if subject is not None:
            _require_history(archiver, machine, model_id)
            result = archiver.restore_object(machine, model_id)
        else:
            result = archiver.restore(list(row_ids))
    for row_id, reason in sorted(result.skipped.items()):
        click.echo(f"row {row_id}: skipped, {reason}")
    for row_id, reason in sorted(result.failed.items()):
        click.echo(f"row {row_id}: FAILED, {reason}", err=True)
    click.echo(f"restored {len(result.restored)} rows, skipped {len(result.skipped)}, failed {len(result.failed)}")
    sys.exit(EXIT_PROBLEMS if result.failed else EXIT_OK)


def _require_history(archiver: Archiver, machine: str, model_id: str) -> None:
    """Refuse (exit 2) an object the history has never seen: a typo would otherwise "restore 0 rows"."""
    from sqlalchemy import select

    from engine.cli.failing import CommandFailed
    from engine.orm.tables import statuses

    with archiver.engine.connect() as connection:
        if connection.scalar(select(statuses.c.id).where(statuses.c.machine == machine).limit(1)) is None:
            known = connection.scalars(select(statuses.c.machine).distinct().order_by(statuses.c.machine)).all()
            raise CommandFailed(
                f"--object {machine}:{model_id}: no history of a machine {machine!r}; machines with "
                f"history: {', '.join(known) or 'none'}.",
                EXIT_USAGE,
            )
        row = select(statuses.c.id).where(statuses.c.machine == machine, statuses.c.model_id == model_id).limit(1)
        if connection.scalar(row) is None:
            raise CommandFailed(
                f"--object {machine}:{model_id}: no {machine} with id {model_id!r} has any history; check the id.",
                EXIT_USAGE,
            )


@click.command()
@archive_options
@click.option(
    "--older-than", type=DURATION, default="2d", show_default=True, help="Clear payloads restored longer ago than this."
)
def purge(
    database_url: str,
    archive_uri: str,
    temp_dir: str | None,
    s3_endpoint_url: str | None,
    s3_path_style: bool,
    older_than: timedelta,
) -> None:
    """Clear restored payloads again, each only once its archive entry still verifies (they stay there)."""
    with _archiver(database_url, archive_uri, temp_dir, s3_endpoint_url, s3_path_style) as archiver:
        result = archiver.purge(older_than=older_than)
    for row_id, reason in sorted(result.failed.items()):
        click.echo(f"row {row_id}: kept restored, {reason}", err=True)
    click.echo(f"purged {len(result.purged)} restored payloads, kept {len(result.failed)} whose archive did not verify")
    sys.exit(EXIT_PROBLEMS if result.failed else EXIT_OK)
