"""Hooks: the extension point around every status change, and the after-commit plumbing behind them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.faults import describe, fault_of

if TYPE_CHECKING:
    from engine.errors import ConcurrencyError, TransitionError
    from engine.runtime.changes import StatusChange

log = logging.getLogger("engine.hooks")

#: Key in ``Session.info`` of the changes waiting for their transaction to commit.
PENDING_KEY = "statewright.pending"


class Veto(Exception):  # noqa: N818 - a control signal, not an error (see the module docstring)
    """Not an error: raised by a ``before_transition`` hook to refuse a move; the move is rolled back."""


class SkipReason(StrEnum):
    """Why a delivery ended without doing its work (``Hook.after_work_skipped``)."""

    #: The object left the work's ``when`` state before this delivery claimed it (another delivery's claim
    #: committed first, or someone moved it).
    MOVED = "moved"
    #: The object is in the work's ``processing`` state under another delivery's live claim.
    CLAIMED = "claimed"
    #: The object, or the outbox row that started the work, no longer exists.
    GONE = "gone"
    #: The object's status column holds a value no state of the machine has.
    UNKNOWN_STATUS = "unknown_status"
    #: The delivery kept conflicting with other writers and went back to the broker (retries untouched).
    REQUEUED = "requeued"


@dataclass(frozen=True)
class WorkRun:
    """One delivery of background work, as the work hooks see it.

    Attributes:
        kind: ``task``, ``endpoint``, ``listener`` or ``reaction``.
        outbox_id: The outbox row the delivery carries out.
        attempt: 1 for the first delivery, 2 for the first retry, and so on.
        machine: The machine that declares the work (``None`` if its outbox row is gone).
        name: The work's name: the task or endpoint name, ``event#index`` for listeners and reactions.
        model_id: The object's primary key as text.
    """

    kind: str
    outbox_id: int
    attempt: int
    machine: str | None
    name: str | None
    model_id: str | None


class Hook:
    """Base of hooks. Every method is a documented no-op; override the ones you need.

    Moves: ``before_transition`` runs inside the change's transaction, after the compare-and-set, with the
    object's row locked and its status already the new one; raising (``Veto`` or anything else) rolls the
    change back. ``after_transition`` runs after the transaction committed; its failures are logged at
    critical and never undo the committed change. ``after_refusal`` and ``after_rollback`` tell the moves
    that did not happen.

    Work: ``before_work``, then one of ``after_work``, ``after_work_skipped``, ``after_work_retry`` and
    ``after_work_failure``, run in the Dramatiq worker thread that handles the delivery, outside any
    transaction of the work's.

    Every method runs in the thread that made the move or runs the work. Only ``before_transition`` can
    change what happens; an exception from any other method is logged and does not change the outcome.
    """

    #: Whether ``before_transition`` must run before the move's history and outbox rows are written.
    #: ``True`` (the default, and the behaviour before this switch existed) keeps a move under this hook
    #: at two statements or more on PostgreSQL. Set it to ``False`` when the hook only uses its arguments and
    #: the object (a metrics or tracing hook, a veto by rule): the hook then runs right after the
    #: one-statement write, still inside the transaction and with the row locked, and raising still
    #: rolls the move back. Hooks that do not override ``before_transition`` never cost the fused write.
    before_history_row: ClassVar[bool] = True

    def before_transition(self, obj: Any, source: str | None, target: str, transition: str) -> None:
        """Called inside the transaction, after the compare-and-set (see ``before_history_row``)."""

    def after_transition(self, change: StatusChange) -> None:
        """Called after the change committed."""

    def after_transitions(self, changes: Sequence[StatusChange]) -> None:
        """Called once per commit with its changes, in order; by default calls ``after_transition`` for each.

        Override it to handle a commit's changes together (the outbox relay sends them in one go).
        """
        for change in changes:
            self.after_transition(change)

    def after_refusal(self, obj: Any, refusal: TransitionError | ConcurrencyError) -> None:
        """Called when ``fire``, ``set_status``, ``defibrillate``, ``touch`` or a timeout refused to move ``obj``.

        ``refusal`` is the exception the caller gets next: ``TransitionNotAllowed``, ``GuardRejected``
        (``GuardUndecidable``), ``NoDefibrillation``, ``NotTouchable``, ``UnknownStatusError``, ``StaleStatus`` or
        ``WriteConflict``; its ``machine``, ``object_id`` and ``transition`` say what was refused (a
        ``WriteConflict`` carries only its message).
        Nothing was written. Runs in the caller's thread, after the move's savepoint or transaction
        (if one was begun) rolled back. A worker's claim that finds its object already moved is not a refusal.
        """

    def after_rollback(self, obj: Any, source: str, target: str, transition: str, error: BaseException) -> None:
        """Called when a move's transaction (or savepoint) rolled back because ``error`` was raised after it began.

        ``error`` is what propagates next: a ``Veto`` or another exception from a ``before_transition`` hook,
        an action's exception, a database error, a failed commit. ``obj``'s status reads ``source`` again.
        Runs in the caller's thread; in a transaction the caller opened, only the move's savepoint rolled
        back and the caller's transaction goes on. Stale and conflicting writes are refusals, not rollbacks.
        """

    def before_work(self, run: WorkRun) -> None:
        """Called when a worker thread starts a delivery of a task, endpoint, listener or reaction."""

    def after_work(self, run: WorkRun) -> None:
        """Called when a delivery ended without an exception and did its work (see ``after_work_skipped``)."""

    def after_work_skipped(self, run: WorkRun, reason: SkipReason) -> None:
        """Called instead of ``after_work`` when a delivery ended without an exception and without doing its
        work: it lost the race to claim its object, or there was nothing left to do; ``reason`` says which."""

    def after_work_retry(self, run: WorkRun, error: BaseException) -> None:
        """Called when a delivery failed with ``error`` and the broker will deliver it again (retries are left)."""

    def after_work_failure(self, run: WorkRun, error: BaseException) -> None:
        """Called when a delivery failed for good: its last retry failed (a task or endpoint then records
        ``error`` and moves its object to its error state), or an endpoint was refused without retry."""


def notify(hooks: Sequence[Hook], method: str, *args: Any) -> None:
    """Call ``method`` on every hook that overrides it; a hook's exception is logged and the next hook runs."""
    for hook in hooks:
        if not overrides(hook, method):
            continue
        try:
            getattr(hook, method)(*args)
        except Exception:
            log.exception("%s hook %r failed", method, hook)


def overrides(hook: Hook, method: str) -> bool:
    """Whether ``hook``'s class overrides ``Hook.<method>``."""
    return getattr(type(hook), method) is not getattr(Hook, method)


def queue_after_commit(session: Session, hooks: Sequence[Hook], change: StatusChange) -> None:
    """Remember a change until its session commits (forgotten if it rolls back)."""
    session.info.setdefault(PENDING_KEY, []).append((hooks, change))


@event.listens_for(Session, "after_commit")
def _run_after_hooks(session: Session) -> None:
    # SQLAlchemy sends this event for a savepoint's release too, which is not durable yet: only the
    # outermost commit runs the hooks (a sweep batch moves each object in a savepoint, then commits once).
    if session.get_nested_transaction() is not None:
        return
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    deferred = session.info.get(DEFERRED_KEY)
    if deferred is not None:  # an AsyncSession's move: run_after_hooks runs them off the event loop
        deferred.extend(pending)
        return
    run_after_hooks(pending)


#: Key in ``Session.info`` of a list that collects committed changes instead of running their after-hooks
#: (``engine.runtime.awaiting``: an ``AsyncSession`` runs them in a thread once its move returns).
DEFERRED_KEY = "statewright.deferred_after_hooks"


def run_after_hooks(pending: Sequence[tuple[Sequence[Hook], StatusChange]]) -> None:
    """Call ``after_transitions`` of each hook with its committed changes; a hook's failure is logged."""
    changes_by_hook: dict[Hook, list[StatusChange]] = {}
    for hooks, change in pending:
        for hook in reversed(hooks):
            changes_by_hook.setdefault(hook, []).append(change)
    for hook, changes in changes_by_hook.items():
        try:
            hook.after_transitions(changes)
        except Exception as error:
            # The database going away right after a commit is not a bug: one line, not a traceback per change.
            trace = fault_of(error) is None
            log.critical(
                "after_transition hook %r failed for status changes %s%s",
                hook,
                ", ".join(str(change.id) for change in changes),
                "" if trace else f" ({describe(error)})",
                exc_info=trace,
            )


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(PENDING_KEY, None)
