"""Every exception Statewright raises for a user's mistake, a refused move or an unavailable resource.

The tree::

    StatewrightError                  catch-all for the engine's own errors
    ├── ConfigurationError            a setting is wrong (a broker URL, an option); also a ValueError
    ├── DefinitionError               a machine file is wrong (carries every located diagnostic)
    ├── TransitionError               a move was refused; nothing was written
    │   ├── TransitionNotAllowed      no such transition from the object's state (``allowed`` lists what is)
    │   ├── GuardRejected             every transition's guard said no (``guard`` names the one that failed)
    │   └── NoDefibrillation          the object's state names no defibrillation target
    ├── ConcurrencyError              someone else moved the object first; nothing was written
    │   ├── StaleStatus               the row's status is no longer the one the object was loaded with
    │   └── WriteConflict             (SQLite) another writer committed during your open transaction
    ├── ArchiveError                  payload archiving failed; the database was not changed
    │   ├── ArchiveUnavailable        the archive storage cannot be written or read
    │   └── ArchiveCorrupt            an archive does not hold what the database recorded
    ├── DatabaseUnavailable           the database cannot be reached, does not exist, or lacks tables
    └── MissingDependency             an optional package is not installed (also an ImportError)

Misuse of the Python API (an object not in a session, a model that is not bound) raises
``TypeError`` or ``RuntimeError`` subclasses instead, so ``except StatewrightError`` never hides a bug.
An exception raised by your own guard or action propagates unchanged, after the rollback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.spec.diagnostics import Diagnostic


def _subject(machine: str, object_id: str | None) -> str:
    return f"{machine} {object_id}" if object_id is not None else machine


class StatewrightError(Exception):
    """Root of every error Statewright raises on purpose."""


class ConfigurationError(StatewrightError, ValueError):
    """A setting Statewright was given cannot be used (an unknown broker URL scheme, a malformed option)."""


class DefinitionError(StatewrightError):
    """A machine definition has problems; ``diagnostics`` lists all of them, located.

    Args:
        diagnostics: The problems found, at least one.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        if not diagnostics:
            raise ValueError("DefinitionError needs at least one diagnostic")
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0]
        more = len(self.diagnostics) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{first.render()}{suffix}")


class TransitionError(StatewrightError):
    """A move was refused and nothing was written.

    Args:
        message: What was refused and why.
        machine: The machine's name.
        state: The object's state when the move was tried.
        event: The transition (or move) that was tried.
        object_id: The object's primary key, as text.
    """

    def __init__(self, message: str, *, machine: str, state: str, event: str, object_id: str | None) -> None:
        super().__init__(message)
        self.machine = machine
        self.state = state
        self.event = event
        self.object_id = object_id


class TransitionNotAllowed(TransitionError):
    """No transition of that name leaves the object's state; ``allowed`` lists the ones that do."""

    def __init__(self, *, machine: str, state: str, event: str, object_id: str | None,
                 allowed: Sequence[str]) -> None:
        choices = ", ".join(allowed) if allowed else "none"
        super().__init__(f"{_subject(machine, object_id)}: transition {event!r} is not allowed from state "
                         f"{state!r}. Allowed from {state!r}: {choices}.",
                         machine=machine, state=state, event=event, object_id=object_id)
        self.allowed = tuple(allowed)


class GuardRejected(TransitionError):
    """Every candidate transition's guard said no; ``guard`` names the one that failed (the last tried)."""

    def __init__(self, *, machine: str, state: str, event: str, object_id: str | None,
                 guard: str, rejected: Sequence[str]) -> None:
        super().__init__(f"{_subject(machine, object_id)}: transition {event!r} from {state!r} was refused by "
                         f"guard {guard!r}.",
                         machine=machine, state=state, event=event, object_id=object_id)
        self.guard = guard
        self.rejected = tuple(rejected)


class NoDefibrillation(TransitionError):
    """The object's state has no ``defibrillate`` target."""


class ConcurrencyError(StatewrightError):
    """Another writer changed the object first; nothing was written. Reload the object and decide again."""


class StaleStatus(ConcurrencyError):
    """The status in the database is no longer the one the object was loaded with.

    Args:
        machine: The machine's name.
        object_id: The object's primary key, as text.
        expected: The state the move started from.
        event: The move that was tried.
    """

    def __init__(self, *, machine: str, object_id: str, expected: str, event: str) -> None:
        super().__init__(f"{machine} {object_id}: status changed while {event!r} was in progress (expected "
                         f"{expected!r}); nothing was written. Reload the object and try again.")
        self.machine = machine
        self.object_id = object_id
        self.expected = expected
        self.event = event


class WriteConflict(ConcurrencyError):
    """SQLite refused a write because another writer committed after your transaction began.

    Only raised inside a transaction you opened yourself; roll it back, reload and try again.
    """


class ArchiveError(StatewrightError):
    """Archiving, restoring or purging payloads failed; the rows it concerned were left as they were."""


class ArchiveUnavailable(ArchiveError):
    """The archive storage (a folder, an S3 bucket) cannot be written or read."""


class ArchiveCorrupt(ArchiveError):
    """An archive is missing an entry, fails its checksum, or holds something it must not."""


class DatabaseUnavailable(StatewrightError):
    """The database cannot be used: it cannot be reached, its file does not exist, or a table is missing.

    The message names the database (without its password) and the fix.
    """


class MissingDependency(StatewrightError, ImportError):
    """An optional package Statewright needs for what was asked is not installed.

    The message names the ``pip install`` that adds it. Also an ``ImportError``, so code that
    catches a failed import keeps working.
    """


class NotBoundError(RuntimeError):
    """Programming error: the model class is not bound to a machine, or the object has no session."""
