"""How every ``statewright`` command fails: one line on standard error and an exit code.

Commands do not catch errors themselves: they raise, and ``StatewrightGroup`` (the class of the
``statewright`` group and of its subgroups) turns what escapes into a line and an exit code:

- ``CommandFailed(message, exit_code)``: the message, and its code. Raise it for a mistake only the
  command can see (``raise CommandFailed("--where takes status=STATE", EXIT_USAGE)``).
- ``DefinitionError``: every located diagnostic, one per line; exit 1.
- ``ConfigurationError`` and malformed paths (missing, not a folder, no permission): exit 2.
- ``DatabaseUnavailable``, ``BrokerUnavailable``, ``MissingDependency``, ``ArchiveError``, Graphviz missing, a
  database or broker that fails during the run, a full disk: exit 3.
- Other ``StatewrightError`` (a refused move, a concurrent change): exit 1.
- Anything else is a bug: its traceback, a line saying so, and exit 70.

A closed standard output (``statewright rules | head -1``) ends the command quietly with ``EXIT_BROKEN_PIPE``.

``statewright --traceback …`` (or ``STATEWRIGHT_TRACEBACK=1``) also prints the traceback of an
expected failure, for bug reports. Click's own usage errors keep click's message and exit 2.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import click

from engine.cli.exits import EXIT_BROKEN_PIPE, EXIT_BUG, EXIT_PROBLEMS, EXIT_UNAVAILABLE, EXIT_USAGE
from engine.errors import (
    ArchiveError,
    BrokerUnavailable,
    ConfigurationError,
    DatabaseUnavailable,
    DefinitionError,
    MissingDependency,
    StatewrightError,
)
from engine.redaction import hide_secrets

if TYPE_CHECKING:
    from rich.console import Console

#: Environment variable that turns ``--traceback`` on.
TRACEBACK_ENV = "STATEWRIGHT_TRACEBACK"
#: OS errors that mean the user named a path that cannot be used (exit 2); any other is the system's (exit 3).
_PATH_ERRNOS = frozenset(
    {
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EACCES,
        errno.EPERM,
        errno.EEXIST,
        errno.EROFS,
        errno.ENAMETOOLONG,
        errno.ELOOP,
    }
)


class CommandFailed(Exception):
    """A command's own refusal: ``message`` is printed after the command's name; the exit code is ``exit_code``.

    Args:
        message: What was attempted, what was found, and the fix, in one line.
        exit_code: One of ``engine.cli.exits``.
    """

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True)
class Failure:
    """What to print for an expected error, and the exit code."""

    message: str
    exit_code: int
    located: tuple[str, ...] = ()


def one_line(text: str) -> str:
    """``text`` on one line, with URL passwords and the default secret keys' values masked."""
    return hide_secrets(" ".join(text.split()))


def describe(error: BaseException) -> Failure | None:
    """The line and exit code for an error a user can cause, secrets masked; ``None`` for a bug."""
    failure = _unmasked_failure(error)
    if failure is None:
        return None
    return replace(
        failure, message=hide_secrets(failure.message), located=tuple(hide_secrets(line) for line in failure.located)
    )


def _unmasked_failure(error: BaseException) -> Failure | None:
    if isinstance(error, StatewrightError):
        return _engine_failure(error)
    if isinstance(error, OSError):
        return _os_failure(error)
    if isinstance(error, ImportError):
        from engine.dependencies import missing_dependency

        # A wrapper that already says what to install keeps its words.
        said = str(error) if "pip install" in str(error) else str(missing_dependency(error, "This command"))
        return Failure(said, EXIT_UNAVAILABLE)
    return _third_party_failure(error)


def _engine_failure(error: StatewrightError) -> Failure:
    if isinstance(error, DefinitionError):
        return Failure(
            f"{len(error.diagnostics)} problem(s) in the machine files; fix them and run again "
            "(`statewright lint` checks them).",
            EXIT_PROBLEMS,
            tuple(d.render() for d in error.diagnostics),
        )
    if isinstance(error, ConfigurationError):
        return Failure(str(error), EXIT_USAGE)
    from engine.errors import DotUnavailableError

    unavailable = (DatabaseUnavailable, BrokerUnavailable, MissingDependency, ArchiveError, DotUnavailableError)
    return Failure(str(error), EXIT_UNAVAILABLE if isinstance(error, unavailable) else EXIT_PROBLEMS)


def _os_failure(error: OSError) -> Failure:
    if error.errno is None:  # raised by Statewright with a path as its only argument
        prefix = "no such file or folder: " if isinstance(error, FileNotFoundError) else ""
        return Failure(f"{prefix}{error}", EXIT_USAGE)
    reason = error.strerror or str(error)
    subject = f" {error.filename}" if error.filename is not None else ""
    if error.errno in _PATH_ERRNOS:
        return Failure(f"cannot use{subject}: {reason}. Check the path.", EXIT_USAGE)
    return Failure(f"cannot use{subject}: {reason}.", EXIT_UNAVAILABLE)


def _third_party_failure(error: BaseException) -> Failure | None:
    """A database or broker failing in the middle of a command (the start was checked already)."""
    module = type(error).__module__.split(".")[0]
    if module == "sqlalchemy":
        return _database_failure(error)
    if module in ("redis", "pika", "dramatiq") and "Connection" in type(error).__name__:
        return Failure(
            f"cannot reach the broker: {error}. Check --broker-url and that the broker is running.", EXIT_UNAVAILABLE
        )
    return None


def _database_failure(error: BaseException) -> Failure | None:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if not isinstance(error, DBAPIError):
        return None
    reason = str(error.orig)
    missing = ("no such table", "no such column", "UndefinedTable", "UndefinedColumn")
    if any(text in reason or text == type(error.orig).__name__ for text in missing):
        return Failure(
            f"a table or column is missing: {reason}. Create or upgrade Statewright's tables with "
            "`statewright db upgrade`, and create your model's table.",
            EXIT_UNAVAILABLE,
        )
    if isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated:
        return Failure(f"the database failed: {reason}", EXIT_UNAVAILABLE)
    return None


def report(error: BaseException, command: str, show_traceback: bool) -> int:
    """Print ``error`` the way every command does; returns the exit code."""
    failure = describe(error)
    if failure is None:
        traceback.print_exception(error, file=sys.stderr)
        click.echo(
            f"{command}: unexpected {type(error).__name__}. This is a bug in Statewright: please report it "
            "with the traceback above.",
            err=True,
        )
        return EXIT_BUG
    if show_traceback:
        traceback.print_exception(error, file=sys.stderr)
    for line in failure.located:
        click.echo(line, err=True)
    click.echo(f"{command}: {one_line(failure.message)}", err=True)
    return failure.exit_code


class StatewrightGroup(click.Group):
    """A click group whose commands fail the way ``report`` says; subgroups should use it too."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; an exception it raises becomes a line and an exit code."""
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # here, not at exit, so a reader that went away is noticed below
        except BrokenPipeError:
            _silence_stdout()
            raise SystemExit(EXIT_BROKEN_PIPE) from None
        except CommandFailed as refused:
            command = " ".join(filter(None, [ctx.command_path, ctx.invoked_subcommand]))
            click.echo(f"{command}: {one_line(refused.message)}", err=True)
            raise SystemExit(refused.exit_code) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:  # noqa: BLE001 - this is the one place every command's failure is reported
            command = " ".join(filter(None, [ctx.command_path, ctx.invoked_subcommand]))
            raise SystemExit(report(error, command, wants_traceback(ctx))) from None


def make_console() -> Console:
    """A rich console on standard output whose closed pipe ends the command like click's output does.

    Rich would otherwise exit 1 on its own, which reads as "problems found".
    """
    from rich.console import Console

    class _PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    return _PipeConsole()


def _silence_stdout() -> None:
    """Point standard output at the null device: Python's own flush at exit would fail on the closed pipe again."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a real file (a test runner's buffer)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)


def wants_traceback(ctx: click.Context) -> bool:
    """Whether ``--traceback`` (or ``STATEWRIGHT_TRACEBACK``) was given."""
    from engine.settings import read

    root = ctx.find_root()
    if root.params.get("traceback"):
        return True
    try:
        return bool(read("traceback"))  # read alone: the other variables may be what failed
    except ConfigurationError:
        return False
