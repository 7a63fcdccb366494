"""Load one machine for a command, or print its problems and exit."""

from __future__ import annotations

import sys

import click

from engine.cli.exits import EXIT_PROBLEMS, EXIT_USAGE
from engine.cli.failing import CommandFailed
from engine.spec import MachineSpec, check_file
from engine.spec.loader import find_machine_files


def load_or_exit(file: str) -> MachineSpec:
    """Return the machine in ``file``; print every problem and exit 1 (or 2 if unreadable) otherwise."""
    try:
        list(find_machine_files([file]))
    except FileNotFoundError:
        raise CommandFailed(f"no such file: {file}", EXIT_USAGE) from None
    checked = check_file(file)
    if checked.spec is None or checked.errors:
        for diagnostic in checked.diagnostics:
            click.echo(diagnostic.render(), err=True)
        unreadable = any(d.code == "SW001" for d in checked.diagnostics)
        sys.exit(EXIT_USAGE if unreadable else EXIT_PROBLEMS)
    return checked.spec
