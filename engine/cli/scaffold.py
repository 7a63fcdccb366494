"""``statewright init`` and ``statewright new``: write a starter project or a machine skeleton, never over a file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from engine.cli.exits import EXIT_USAGE
from engine.cli.failing import CommandFailed
from engine.cli.loading import load_or_exit
from engine.errors import ConfigurationError
from engine.scaffolding import Written, machine_skeleton, project_files, write_new
from engine.scaffolding.machines import DEFAULT_STATES, IDENTIFIER
from engine.scaffolding.stubs import ScaffoldError, missing_stubs, write_stubs
from engine.spec.schema import SCHEMA_FILE


@click.command()
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--package", default="app", show_default=True, help="The Python package the models and handlers go in.")
def init(folder: Path, package: str) -> None:
    """Start a project in FOLDER: machines/ with a commented machine and the schema, and a package with its
    model, handlers and a runnable app. Files that exist are kept."""
    if not IDENTIFIER.match(package):
        raise CommandFailed(f"--package {package!r}: use a lower-case Python name (letters, digits, _).")
    written = _write(folder, project_files(package))
    if not written.created:
        click.echo("Nothing written: every file exists.")
        return
    steps = [
        (f"cd {folder}", ""),
        ("statewright lint --resolve machines/", "check the machine and import what it names"),
        ("statewright show machines/ticket.yaml", "its states, transitions and work"),
        (f"python -m {package}.app", "move a ticket (a SQLite tickets.db in that folder)"),
        (f"statewright new order --model {package}.models:Order --states pending,paid,shipped", "another machine"),
    ]
    width = max(len(command) for command, _ in steps[:-1])
    click.echo("Next:")
    for command, why in steps:
        click.echo(f"  {command.ljust(width)}   {why}".rstrip() if why and len(command) <= width else f"  {command}")


@click.command()
@click.argument("machine")
@click.option("--model", required=True, help="The model class the machine drives, package.module:Class.")
@click.option(
    "--states",
    default=",".join(DEFAULT_STATES),
    show_default=True,
    help="Comma-separated states in order; the first is initial, the last final.",
)
@click.option(
    "--folder",
    default=Path("machines"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the machine file goes.",
)
def new(machine: str, model: str, states: str, folder: Path) -> None:
    """Write FOLDER/MACHINE.yaml: a machine skeleton for MODEL that lints clean. An existing file is kept."""
    names = [state.strip() for state in states.split(",") if state.strip()]
    schema = folder / SCHEMA_FILE
    try:
        text = machine_skeleton(
            machine, model, names, schema=os.path.relpath(schema, folder) if schema.is_file() else None
        )
    except ConfigurationError as wrong:
        raise CommandFailed(str(wrong)) from None
    written = _write(folder, {f"{machine}.yaml": text})
    if not written.created:
        raise CommandFailed(f"{folder / (machine + '.yaml')} exists; it was kept (delete it first to start over).")
    click.echo(f"Next: statewright lint {folder / (machine + '.yaml')}")


@click.command()
@click.argument("machine", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--root",
    default=Path("."),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder the machine's dotted paths import from.",
)
def scaffold(machine: Path, root: Path) -> None:
    """Write a typed stub for every dotted path MACHINE names that does not resolve yet: the model, guards,
    actions, tasks, endpoint hooks, listeners, selectors, callback handlers. Existing lines are kept."""
    spec = load_or_exit(str(machine))
    sys.path.insert(0, str(root.resolve()))
    try:
        stubs = missing_stubs(spec)
    except ScaffoldError as broken:
        raise CommandFailed(f"{broken}; fix it, then scaffold again.") from None
    if not stubs:
        click.echo("Nothing to write: every dotted path resolves.")
        return
    try:
        written = write_stubs(spec, stubs, root)
    except OSError as failed:
        raise CommandFailed(f"cannot write in {root}: {failed.strerror or failed}") from None
    for stub in stubs:
        click.echo(f"stub {stub.module}:{stub.name} ({stub.role})")
    click.echo(f"written: {', '.join(str(path) for path in written)}")
    click.echo(f"Next: statewright lint --resolve {machine}")


def _write(folder: Path, files: dict[str, str]) -> Written:
    try:
        written = write_new(folder, files)
    except OSError as failed:
        raise CommandFailed(f"cannot write in {folder}: {failed.strerror or failed}", EXIT_USAGE) from None
    for path in written.created:
        click.echo(f"created {path}")
    for path in written.kept:
        click.echo(f"kept    {path} (exists)")
    return written
