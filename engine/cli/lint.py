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
from engine.spec import RULES_BY_CODE, CheckedFile, Diagnostic, check_file, find_machine_files
from engine.spec.loader import binding_of, check_bytes, duplicate_bindings, duplicate_names
from engine.spec.reading import MAX_FILE_BYTES
from engine.spec.resolve import resolve_spec

#: Fewer files than this are checked in this process: starting workers would cost more than it saves.
PARALLEL_THRESHOLD = 40
#: The path that means standard input, as ruff and eslint take it.
STDIN_PATH = "-"
#: Where problems in standard input are located without --stdin-filename.
DEFAULT_STDIN_NAME = "<stdin>"


@dataclass(frozen=True)
class LintOptions:
    """What ``lint`` was asked to do."""

    paths: tuple[str, ...]
    output_format: str
    resolve: bool
    import_path: str
    jobs: int
    #: Where problems in standard input are located (``--stdin-filename``); read only when a path is ``-``.
    stdin_name: str = DEFAULT_STDIN_NAME


def lint_one(path: str, resolve: bool) -> LintResult:
    """Check one file (and, with ``resolve``, import what it names)."""
    return lint_checked(check_file(path), resolve)


def lint_checked(checked: CheckedFile, resolve: bool) -> LintResult:
    """The result for a checked file or text (with ``resolve``, also import what it names)."""
    diagnostics = checked.diagnostics
    if resolve and checked.spec is not None and not checked.errors:
        diagnostics = _merged(diagnostics, resolve_spec(checked.spec))
    spec = checked.spec
    result = LintResult(
        checked.path,
        spec.name if spec else None,
        (),
        spec.origin.text("name") if spec else None,
        binding=binding_of(spec) if spec else None,
    )
    return capped(result, diagnostics)


def _merged(diagnostics: Iterable[Diagnostic], more: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(set(diagnostics) | set(more), key=Diagnostic.sort_key))


def _flag_duplicates(results: list[LintResult]) -> list[LintResult]:
    """Across the files linted together, a machine name may be used once and a model's status column may be
    driven by one machine (as the engine requires)."""
    names = duplicate_names(
        [(r.machine, r.path, r.name_location) if r.machine and r.name_location else None for r in results]
    )
    bindings = duplicate_bindings([r.binding for r in results])
    return [
        r.with_diagnostics([d for d in (names.get(i), bindings.get(i)) if d is not None])
        if i in names or i in bindings
        else r
        for i, r in enumerate(results)
    ]


def lint_files(options: LintOptions, stdin: bytes | None = None) -> list[LintResult]:
    """Check every file named by the options (folders expanded), in parallel when there are many.

    A path ``-`` stands for ``stdin`` (the bytes read from standard input), reported as ``options.stdin_name``
    in its place among the files.

    Raises:
        FileNotFoundError: A path does not exist.
    """
    before, dash, after = _split_at_stdin(options.paths)
    # The file standard input stands for (an editor's unsaved buffer) is checked once, as standard input.
    standing_for = Path(options.stdin_name).resolve() if dash else None
    files = [str(path) for path in find_machine_files(before) if path.resolve() != standing_for]
    place = len(files)
    files += [str(path) for path in find_machine_files(after) if path.resolve() != standing_for]
    if options.resolve and options.import_path not in sys.path:
        sys.path.insert(0, options.import_path)
    results = _lint_many(files, options)
    if dash:
        checked = check_bytes(stdin or b"", options.stdin_name)
        results.insert(place, lint_checked(checked, options.resolve))
    return _flag_duplicates(results)


def _split_at_stdin(paths: tuple[str, ...]) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    if STDIN_PATH not in paths:
        return paths, False, ()
    index = paths.index(STDIN_PATH)
    return paths[:index], True, paths[index + 1 :]


def _lint_many(files: list[str], options: LintOptions) -> list[LintResult]:
    jobs = min(options.jobs, len(files) // (PARALLEL_THRESHOLD // 2) or 1)
    if jobs <= 1 or len(files) < PARALLEL_THRESHOLD:
        return [lint_one(file, options.resolve) for file in files]
    # Forked workers inherit the loaded schema and modules, so they start in microseconds.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        chunk = max(1, len(files) // (jobs * 4))
        return list(pool.map(lint_one, files, [options.resolve] * len(files), chunksize=chunk))


@click.command(
    epilog="""\b
Examples:
  statewright lint machines/
  statewright lint --format sarif machines/ > lint.sarif
  cat order.yaml | statewright lint - --stdin-filename machines/order.yaml   (as an editor runs it)
"""
)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(REPORTER_BY_NAME)),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--resolve", is_flag=True, help="Also import the model and every callable the files name.")
@click.option(
    "--path", "import_path", default=".", show_default=True, help="Folder put first on the import path for --resolve."
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=lambda: os.cpu_count() or 1,
    show_default="number of CPUs",
    help="Worker processes for many files.",
)
@click.option(
    "--stdin-filename",
    default=None,
    metavar="PATH",
    help=f"With the path `-` (standard input): the path its problems are reported at (default {DEFAULT_STDIN_NAME}).",
)
def lint(
    paths: tuple[str, ...], output_format: str, resolve: bool, import_path: str, jobs: int, stdin_filename: str | None
) -> None:
    """Check machine files (or folders of them) and report every problem; `-` reads one from standard input.

    Exit status: 0 clean, 1 problems found, 2 usage or unreadable input.
    """
    stdin = _read_stdin(paths, stdin_filename)
    options = LintOptions(
        paths, output_format, resolve, str(Path(import_path).resolve()), jobs, stdin_filename or DEFAULT_STDIN_NAME
    )
    try:
        results = lint_files(options, stdin)
    except FileNotFoundError as missing:
        click.echo(f"statewright lint: no such file or folder: {missing}", err=True)
        sys.exit(EXIT_USAGE)
    if not results:
        click.echo(f"statewright lint: no machine files (*.yaml, *.yml) under {', '.join(paths)}", err=True)
        sys.exit(EXIT_USAGE)
    output = REPORTER_BY_NAME[output_format](results)
    if output_format == "text":
        print_text_report(output)
    else:
        click.echo(output)
    sys.exit(EXIT_PROBLEMS if any(result.found for result in results) else EXIT_OK)


def _read_stdin(paths: tuple[str, ...], stdin_filename: str | None) -> bytes | None:
    """Standard input's bytes when a path is ``-``; usage errors for a second ``-`` or a name without one."""
    dashes = paths.count(STDIN_PATH)
    if dashes > 1:
        raise click.UsageError("`-` (standard input) may be given once.")
    if stdin_filename is not None and not dashes:
        raise click.UsageError("--stdin-filename names standard input: give the path `-` too.")
    if stdin_filename == "":
        raise click.UsageError("--stdin-filename needs a path, e.g. machines/order.yaml.")
    if stdin_filename is not None and any(ord(c) < 32 or ord(c) == 127 for c in stdin_filename):
        # The name is echoed at the start of every problem line: a line break in it would forge extra lines.
        raise click.UsageError("--stdin-filename may not hold a control character (a line break, tab or escape).")
    if not dashes:
        return None
    # One byte past the limit, so that too much input is reported (SW005) rather than cut silently.
    return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)


def print_text_report(output: str) -> None:
    """Print the text report through rich: problems red, the summary bold, as ``NO_COLOR``/``FORCE_COLOR`` allow."""
    from rich.text import Text

    from engine.cli.failing import make_console

    console = make_console()
    lines = output.splitlines()
    # soft_wrap: a long `file:line:col: CODE message` line must stay one line for editors and grep.
    for line in lines[:-1]:
        console.print(Text(line, style="red" if ": SW" in line else ""), soft_wrap=True, highlight=False)
    console.print(Text(lines[-1], style="bold"), soft_wrap=True, highlight=False)


@click.command()
def rules() -> None:
    """List every diagnostic code with its one-line documentation."""
    for rule in RULES_BY_CODE.values():
        click.echo(f"{rule.code}  {rule.slug:<22} {rule.severity.value:<7} {rule.summary}")
