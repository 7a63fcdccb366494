"""Every exception Statewright raises for a user's mistake, a refused move or an unavailable resource.

The tree::

    StatewrightError                  catch-all for the engine's own errors
    ├── ConfigurationError            a setting is wrong (a broker URL, an option); also a ValueError
    │   └── StatusColumnError         a model's status column cannot hold states (not Integer/String); a TypeError
    ├── DefinitionError               a machine file is wrong (carries every located diagnostic)
    ├── TransitionError               a move was refused; nothing was written
    │   ├── TransitionNotAllowed      no such transition from the object's state (``allowed`` lists what is)
    │   ├── GuardRejected             every transition's guard said no (``guard`` names the one that failed)
    │   │   └── GuardUndecidable      a guard expression could not be evaluated (a missing context key, ...)
    │   ├── NoDefibrillation          the object's state names no defibrillation target
    │   ├── NotTouchable              ``touch()`` on an object whose state is not ``touchable: true``
    │   └── UnknownStatusError        the object's status column holds a value no state of the machine has
    ├── ExpressionError               a guard expression could not be evaluated (guards turn it into GuardUndecidable)
    ├── ObjectKeyError                an object key's text fits no row of the model (wrong parts or types); a ValueError
    ├── ConcurrencyError              someone else moved the object first; nothing was written
    │   ├── StaleStatus               the row's status is no longer the one the object was loaded with
    │   └── WriteConflict             (SQLite) another writer committed during your open transaction
    ├── ArchiveError                  payload archiving failed; the database was not changed
    │   ├── ArchiveUnavailable        the archive storage cannot be written or read
    │   └── ArchiveCorrupt            an archive does not hold what the database recorded
    ├── DatabaseUnavailable           the database cannot be reached, does not exist, or lacks tables
    ├── BrokerUnavailable             the broker cannot be reached (checked when a worker starts)
    ├── MissingDependency             an optional package is not installed (also an ImportError)
    ├── DotUnavailableError           Graphviz's ``dot`` program is needed to render an image and is not installed
    └── WorkError                     background work cannot be done or retried as asked
        ├── UnknownWork               an outbox row names work the machines no longer declare
        ├── RetryRefused              a failure record cannot be retried (unknown, not open, its outbox row gone)
        ├── HandlerTimedOut           a handler ran past its time limit and was interrupted (retried like a failure)
        ├── EndpointFailed            an endpoint answered with a failure status (retried like a failure)
        └── EndpointError             an endpoint call was refused for good (recorded, never retried)
            ├── PlaceholderRefused    a URL placeholder's value is empty, ``.`` or ``..`` (would change the path)
            └── ResponseTooLarge      the response body is longer than ``max_response_body``

Misuse of the Python API (an object not in a session, a model that is not bound, assigning the status
attribute of a stored object, ``emit()`` outside a move or of an event the machine does not declare) raises
``TypeError`` or ``RuntimeError`` subclasses instead, so ``except StatewrightError`` never hides a bug.
An exception raised by your own guard (a dotted callable) or action propagates unchanged, after the
rollback. A guard *expression* that cannot be evaluated (a context key not passed, ``None`` compared
with a number, a division by zero) is a refusal instead: ``GuardUndecidable``.

A history row stores the exception a move carried (a failed task, endpoint …) by name: one of the
classes here as ``statewright.<ClassName>`` (``exception_name``), so renaming or moving a module never
changes what is stored; any other exception as ``module.QualifiedName``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from engine.spec.diagnostics import Diagnostic

#: How history rows name an exception of this module's tree: this prefix and the class name.
STORED_NAME_PREFIX = "statewright."


def _deprecated_event(transition: str) -> str:
    warnings.warn(
        "The error's .event is deprecated; use .transition (events are what states emit).",
        DeprecationWarning,
        stacklevel=3,
    )
    return transition


def _subject(machine: str, object_id: str | None) -> str:
    return f"{machine} {object_id}" if object_id is not None else machine


class StatewrightError(Exception):
    """Root of every error Statewright raises on purpose."""


class ConfigurationError(StatewrightError, ValueError):
    """A setting Statewright was given cannot be used (an unknown broker URL scheme, a malformed option)."""


class StatusColumnError(ConfigurationError, TypeError):
    """A model's status column has a type that cannot hold a machine's states.

    It must be ``Integer``, ``String`` or ``StatusType``. Raised when the app starts; also a ``TypeError``,
    as it always was.
    """


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
        transition: The transition (or move) that was tried.
        object_id: The object's primary key, as text.
    """

    def __init__(self, message: str, *, machine: str, state: str, transition: str, object_id: str | None) -> None:
        super().__init__(message)
        self.machine = machine
        self.state = state
        self.transition = transition
        self.object_id = object_id

    @property
    def event(self) -> str:
        """Deprecated name of ``transition`` (an event is what a state emits, not the move that was tried)."""
        return _deprecated_event(self.transition)


class TransitionNotAllowed(TransitionError):
    """No transition of that name leaves the object's state; ``allowed`` lists the ones that do."""

    def __init__(
        self, *, machine: str, state: str, transition: str, object_id: str | None, allowed: Sequence[str]
    ) -> None:
        choices = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"{_subject(machine, object_id)}: transition {transition!r} is not allowed from state "
            f"{state!r}. Allowed from {state!r}: {choices}.",
            machine=machine,
            state=state,
            transition=transition,
            object_id=object_id,
        )
        self.allowed = tuple(allowed)


class GuardRejected(TransitionError):
    """Every candidate transition's guard said no; ``guard`` names the one that failed (the last tried).

    A code guard may raise it with a reason in its own words (``raise GuardRejected("only staff may assign")``):
    that is a refusal, and the ``GuardRejected`` that ``fire`` raises carries the words as ``reason`` (``why_not``
    shows them). ``reason`` is ``None`` when the guard just returned a false value.
    """

    def __init__(
        self,
        reason: str | None = None,
        *,
        machine: str = "",
        state: str = "",
        transition: str = "",
        object_id: str | None = None,
        guard: str = "",
        rejected: Sequence[str] = (),
    ) -> None:
        because = f": {reason}" if reason else "."
        message = (
            f"{_subject(machine, object_id)}: transition {transition!r} from {state!r} was refused by guard "
            f"{guard!r}{because}"
            if machine
            else str(reason or "refused by a guard")  # raised by a guard: fire() adds where
        )
        super().__init__(message, machine=machine, state=state, transition=transition, object_id=object_id)
        self.guard = guard
        self.rejected = tuple(rejected)
        self.reason = reason


class GuardUndecidable(GuardRejected):
    """A guard expression could not be evaluated, so it cannot say yes; counted as a refusal.

    Raised for what the expression language cannot answer: a context key or model attribute that is
    missing, ``None`` compared with a number, a division by zero. A code guard (a dotted callable) that
    raises is your own code failing: its exception propagates unchanged instead.

    Args:
        reason: What could not be evaluated, in words.
        missing: The context key that was missing, if that was the reason.
    """

    def __init__(
        self,
        *,
        machine: str,
        state: str,
        transition: str,
        object_id: str | None,
        guard: str,
        rejected: Sequence[str],
        reason: str,
        missing: str | None = None,
    ) -> None:
        super().__init__(
            machine=machine, state=state, transition=transition, object_id=object_id, guard=guard, rejected=rejected
        )
        self.reason = reason
        self.missing = missing
        hint = f" Pass it in the context: fire({transition!r}, {missing}=...)." if missing is not None else ""
        self.args = (
            f"{_subject(machine, object_id)}: transition {transition!r} from {state!r} was refused: guard "
            f"{guard!r} cannot be evaluated: {reason}{hint}",
        )


class NoDefibrillation(TransitionError):
    """The object's state has no ``defibrillate`` target."""


class NotTouchable(TransitionError):
    """``touch()`` was asked of an object whose state is not marked ``touchable: true``; nothing was written."""

    def __init__(self, *, machine: str, state: str, object_id: str | None, touchable: Sequence[str]) -> None:
        choices = ", ".join(touchable) if touchable else "none"
        super().__init__(
            f"{_subject(machine, object_id)}: state {state!r} cannot be touched; mark it `touchable: true` in "
            f"the machine file. Touchable states: {choices}.",
            machine=machine,
            state=state,
            transition="touch",
            object_id=object_id,
        )
        self.touchable = tuple(touchable)


class UnknownStatusError(TransitionError):
    """The object's status column holds a value that no state of the machine declares (written by hand?).

    The object loads (its status reads as an ``UnknownStatus``), but it cannot move, and nothing is
    written. It is a ``TransitionError`` because, like a refused move, code that moves many objects
    (sweeps, reactions, bulk defibrillation) skips the object and carries on.

    Args:
        machine: The machine's name.
        object_id: The object's primary key, as text.
        value: The value found in the status column.
        values: The values the machine's states store.
        transition: What was tried: a transition's name, ``defibrillate``, ``timeout``, ``-> STATE``, ...
    """

    def __init__(
        self, *, machine: str, object_id: str | None, value: object, values: Sequence[object], transition: str
    ) -> None:
        known = ", ".join(repr(v) for v in values)
        super().__init__(
            f"{_subject(machine, object_id)}: {transition!r} refused: its status column holds {value!r}, "
            "which "
            f"no state of the machine stores (values: {known}). Set the column to one of those "
            "values, or declare a state with this value in the machine file.",
            machine=machine,
            state=f"unknown value {value!r}",
            transition=transition,
            object_id=object_id,
        )
        self.value = value


class ObjectKeyError(StatewrightError, ValueError):
    """An object key's text (a history row's ``model_id``, an admin URL) cannot be a key of the model.

    It has a different number of parts than the primary key has columns, or a part does not convert to
    its column's type (``abc`` for an integer column). Also a ``ValueError``, as it always was.

    Args:
        text: The key text.
        reason: Why it is not a key.
    """

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{text!r} is not an object key: {reason}")
        self.text = text
        self.reason = reason


class ExpressionError(StatewrightError):
    """A guard expression could not be evaluated for an object (a missing attribute or key, a type clash).

    Guards turn it into a refusal (``GuardUndecidable``); it does not reach callers of ``fire``,
    ``can_fire`` or ``why_not``.

    Args:
        message: What could not be evaluated.
        missing: The context key that was missing, if that was the reason.
    """

    def __init__(self, message: str, *, missing: str | None = None) -> None:
        super().__init__(message)
        self.missing = missing
        #: The named guard the expression belongs to (the innermost one), filled in by the guard.
        self.guard: str | None = None


class ConcurrencyError(StatewrightError):
    """Another writer changed the object first; nothing was written. Reload the object and decide again."""


class StaleStatus(ConcurrencyError):
    """The status in the database is no longer the one the object was loaded with.

    Args:
        machine: The machine's name.
        object_id: The object's primary key, as text.
        expected: The state the move started from.
        transition: The move that was tried.
    """

    def __init__(self, *, machine: str, object_id: str, expected: str, transition: str) -> None:
        super().__init__(
            f"{machine} {object_id}: status changed while {transition!r} was in progress (expected "
            f"{expected!r}); nothing was written. Reload the object and try again."
        )
        self.machine = machine
        self.object_id = object_id
        self.expected = expected
        self.transition = transition

    @property
    def event(self) -> str:
        """Deprecated name of ``transition``."""
        return _deprecated_event(self.transition)


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


class BrokerUnavailable(StatewrightError):
    """The broker cannot be reached: nothing listens at its address, or it did not answer in time.

    The message names the broker (without its password) and the fix.
    """


class MissingDependency(StatewrightError, ImportError):
    """An optional package Statewright needs for what was asked is not installed.

    The message names the ``pip install`` that adds it. Also an ``ImportError``, so code that
    catches a failed import keeps working.
    """


class DotUnavailableError(StatewrightError):
    """Graphviz's ``dot`` program is needed to render images and is not installed."""


class WorkError(StatewrightError):
    """Background work (a task, endpoint, listener or reaction) cannot be done or retried as asked."""


class UnknownWork(WorkError):
    """An outbox row names a machine, task, endpoint, listener or reaction the loaded machines do not declare.

    The row was written by another version of the machine files; it is recorded as a failure, not retried.
    """


class RetryRefused(WorkError):
    """A failure record cannot be retried: there is no such record, it is not open, or its outbox row is gone."""


class HandlerTimedOut(WorkError):
    """A handler (a task's ``run``, an endpoint's call and hooks, a listener, a reaction) ran past its time limit.

    It was interrupted; like any other failure of the handler it is retried with the work's ``retries``,
    and after the last one the object moves to its ``error`` state with this exception.

    Args:
        limit: The time limit that passed.
        what: What was interrupted (``task crunch``).
    """

    def __init__(self, *, limit: timedelta, what: str) -> None:
        super().__init__(
            f"{what} ran past its time limit of {limit.total_seconds():g} s and was interrupted; "
            "raise the limit in the machine file (time_limit, or an endpoint's timeout) if it "
            "needs longer."
        )
        self.limit = limit
        self.what = what


class EndpointFailed(WorkError):
    """An endpoint answered with a status that means failure; like a task's exception it is retried, and after
    the last retry the object moves to the endpoint's ``error`` state with it.

    Args:
        response: The answer.
        message: What was asked and answered, masked.
    """

    def __init__(self, response: httpx.Response, message: str) -> None:
        super().__init__(message)
        self.response = response


class EndpointError(WorkError):
    """An endpoint call was refused for good: the object moves to the endpoint's ``error`` state, no retry.

    Args:
        message: What was refused, what was found, and the fix.
        endpoint: The endpoint's name.
    """

    def __init__(self, message: str, *, endpoint: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class PlaceholderRefused(EndpointError):
    """A URL placeholder's value would change the request's path: empty, ``None``, ``.`` or ``..``.

    Also when percent-encoded (``%2e%2E``) or written with full-width dots; ``placeholder`` names it.
    """

    def __init__(self, message: str, *, endpoint: str, placeholder: str) -> None:
        super().__init__(message, endpoint=endpoint)
        self.placeholder = placeholder


class ResponseTooLarge(EndpointError):
    """The response body is longer than ``max_response_body`` bytes; reading stopped there."""

    def __init__(self, message: str, *, endpoint: str, limit: int) -> None:
        super().__init__(message, endpoint=endpoint)
        self.limit = limit


class NotBoundError(RuntimeError):
    """Programming error: the model class is not bound to a machine, or the object has no session."""


class StatusAssignmentError(RuntimeError):
    """Programming error: the status attribute of a stored object was assigned directly.

    That would change the status with no history row, no compare-and-set and no work started; move objects
    with ``fire``, ``set_status`` or ``defibrillate`` instead.
    """


class EmitOutsideMove(RuntimeError):
    """Programming error: ``emit()`` was called with no Statewright move or touch in progress.

    An emitted event is written in the transaction of the move that emits it; call ``emit()`` from an
    action (or other code that runs inside ``fire``, ``set_status``, ``touch`` …).
    """


class UndeclaredEventError(RuntimeError):
    """Programming error: ``emit()`` named an event the moving object's machine neither lists in ``emits:``
    nor emits from a state.

    Args:
        message: What was emitted and the events that may be.
        machine: The machine whose object was moving.
        event: The event that was emitted.
    """

    def __init__(self, message: str, *, machine: str, event: str) -> None:
        super().__init__(message)
        self.machine = machine
        self.event = event


def exception_name(exception: BaseException) -> str:
    """The name a history or failure row stores for ``exception``: stable for Statewright's own errors.

    >>> exception_name(UnknownWork("gone"))
    'statewright.UnknownWork'
    >>> exception_name(KeyError("x"))
    'builtins.KeyError'
    """
    kind = type(exception)
    if kind.__module__ == __name__:
        return STORED_NAME_PREFIX + kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


#: Where the errors stored under a module path before names were stable lived (older rows say this).
_OLD_MODULES = ("engine.errors.", "engine.work.endpoints.")


def stored_exception_name(stored: str | None) -> str | None:
    """A stored exception name as ``exception_name`` writes it today, also for rows written before.

    >>> stored_exception_name("engine.work.endpoints.EndpointFailed")
    'statewright.EndpointFailed'
    >>> stored_exception_name("myapp.errors.Boom")
    'myapp.errors.Boom'
    """
    if stored is None:
        return None
    for module in _OLD_MODULES:
        if stored.startswith(module) and "." not in stored[len(module) :]:
            return STORED_NAME_PREFIX + stored[len(module) :]
    return stored
