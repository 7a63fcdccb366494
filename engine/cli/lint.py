"""``statewright lint`` and ``statewright rules``."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import click

from engine.cli.exits import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from engine.cli.reporters import REPORTER_BY_NAME
from engine.spec import RULES_BY_CODE, CheckedFile, Diagnostic, check_file, find_machine_files
from engine.spec.resolve import resolve_spec


@dataclass(frozen=True)
class LintOptions:
    """What ``lint`` was asked to do."""

    paths: tuple[str, ...]
    output_format: str
    resolve: bool
    import_path: str


def lint_files(options: LintOptions) -> list[CheckedFile]:
    """Check every file named by the options (folders expanded).

    Raises:
        FileNotFoundError: A path does not exist.
    """
    results = [check_file(path) for path in find_machine_files(options.paths)]
    if options.resolve:
        if options.import_path not in sys.path:
            sys.path.insert(0, options.import_path)
        results = [_resolved(result) for result in results]
    return results


def _resolved(result: CheckedFile) -> CheckedFile:
    if result.spec is None or result.errors:
        return result
    found = resolve_spec(result.spec)
    merged = tuple(sorted(set(result.diagnostics) | set(found), key=Diagnostic.sort_key))
    return replace(result, diagnostics=merged)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(sorted(REPORTER_BY_NAME)), default="text",
              show_default=True, help="Output format.")
@click.option("--resolve", is_flag=True, help="Also import the model and every callable the files name.")
@click.option("--path", "import_path", default=".", show_default=True,
              help="Folder put first on the import path for --resolve.")
def lint(paths: tuple[str, ...], output_format: str, resolve: bool, import_path: str) -> None:
    """Check machine files (or folders of them) and report every problem.

    Exit status: 0 clean, 1 problems found, 2 usage or unreadable input.
    """
    options = LintOptions(paths, output_format, resolve, str(Path(import_path).resolve()))
    try:
        results = lint_files(options)
    except FileNotFoundError as missing:
        click.echo(f"statewright lint: no such file or folder: {missing}", err=True)
        sys.exit(EXIT_USAGE)
    if not results:
        click.echo(f"statewright lint: no machine files (*.yaml, *.yml) under {', '.join(paths)}", err=True)
        sys.exit(EXIT_USAGE)
    output = REPORTER_BY_NAME[output_format](results)
    click.echo(_colored(output) if output_format == "text" else output)
    sys.exit(EXIT_PROBLEMS if any(result.diagnostics for result in results) else EXIT_OK)


def _colored(output: str) -> str:
    if os.environ.get("NO_COLOR") or not sys.stdout.isatty():
        return output
    lines = output.splitlines()
    styled = [click.style(line, fg="red") if ": SW" in line else line for line in lines[:-1]]
    return "\n".join([*styled, click.style(lines[-1], bold=True)])


@click.command()
def rules() -> None:
    """List every diagnostic code with its one-line documentation."""
    for rule in RULES_BY_CODE.values():
        click.echo(f"{rule.code}  {rule.slug:<22} {rule.severity.value:<7} {rule.summary}")
