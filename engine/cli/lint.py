"""``statewright lint`` and ``statewright rules``."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import click

from engine.cli.exits import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from engine.cli.reporters import REPORTER_BY_NAME
from engine.cli.results import LintResult, capped
from engine.spec import RULES_BY_CODE, Diagnostic, check_file, find_machine_files
from engine.spec.loader import binding_of, duplicate_bindings, duplicate_names
from engine.spec.resolve import resolve_spec

#: Fewer files than this are checked in this process: starting workers would cost more than it saves.
PARALLEL_THRESHOLD = 40


@dataclass(frozen=True)
class LintOptions:
    """What ``lint`` was asked to do."""

    paths: tuple[str, ...]
    output_format: str
    resolve: bool
    import_path: str
    jobs: int


def lint_one(path: str, resolve: bool) -> LintResult:
    """Check one file (and, with ``resolve``, import what it names)."""
    checked = check_file(path)
    diagnostics = checked.diagnostics
    if resolve and checked.spec is not None and not checked.errors:
        diagnostics = _merged(diagnostics, resolve_spec(checked.spec))
    spec = checked.spec
    result = LintResult(checked.path, spec.name if spec else None, (), spec.origin.text("name") if spec else None,
                        binding=binding_of(spec) if spec else None)
    return capped(result, diagnostics)


def _merged(diagnostics: Iterable[Diagnostic], more: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(set(diagnostics) | set(more), key=Diagnostic.sort_key))


def _flag_duplicates(results: list[LintResult]) -> list[LintResult]:
    """Across the files linted together, a machine name may be used once and a model's status column may be
    driven by one machine (as the engine requires)."""
    names = duplicate_names([(r.machine, r.path, r.name_location) if r.machine and r.name_location else None
                             for r in results])
    bindings = duplicate_bindings([r.binding for r in results])
    return [r.with_diagnostics([d for d in (names.get(i), bindings.get(i)) if d is not None])
            if i in names or i in bindings else r for i, r in enumerate(results)]


def lint_files(options: LintOptions) -> list[LintResult]:
    """Check every file named by the options (folders expanded), in parallel when there are many.

    Raises:
        FileNotFoundError: A path does not exist.
    """
    files = [str(path) for path in find_machine_files(options.paths)]
    if options.resolve and options.import_path not in sys.path:
        sys.path.insert(0, options.import_path)
    jobs = min(options.jobs, len(files) // (PARALLEL_THRESHOLD // 2) or 1)
    if jobs <= 1 or len(files) < PARALLEL_THRESHOLD:
        return _flag_duplicates([lint_one(file, options.resolve) for file in files])
    # Forked workers inherit the loaded schema and modules, so they start in microseconds.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        chunk = max(1, len(files) // (jobs * 4))
        results = list(pool.map(lint_one, files, [options.resolve] * len(files), chunksize=chunk))
    return _flag_duplicates(results)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(sorted(REPORTER_BY_NAME)), default="text",
              show_default=True, help="Output format.")
@click.option("--resolve", is_flag=True, help="Also import the model and every callable the files name.")
@click.option("--path", "import_path", default=".", show_default=True,
              help="Folder put first on the import path for --resolve.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
              show_default="number of CPUs", help="Worker processes for many files.")
def lint(paths: tuple[str, ...], output_format: str, resolve: bool, import_path: str, jobs: int) -> None:
    """Check machine files (or folders of them) and report every problem.

    Exit status: 0 clean, 1 problems found, 2 usage or unreadable input.
    """
    options = LintOptions(paths, output_format, resolve, str(Path(import_path).resolve()), jobs)
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
    sys.exit(EXIT_PROBLEMS if any(result.found for result in results) else EXIT_OK)


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
