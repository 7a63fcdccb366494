"""Hooks: the extension point around every status change, and the after-commit plumbing behind them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.faults import describe, fault_of

if TYPE_CHECKING:
    from engine.runtime.changes import StatusChange

log = logging.getLogger("engine.hooks")

#: Key in ``Session.info`` of the changes waiting for their transaction to commit.
PENDING_KEY = "statewright.pending"


class Veto(Exception):  # noqa: N818 - a control signal, not an error (see the module docstring)
    """Not an error: raised by a ``before_transition`` hook to refuse a move; the move is rolled back."""


class Hook:
    """Base of hooks. Every method is a documented no-op; override the ones you need.

    ``before_transition`` runs inside the change's transaction, after the status was updated and
    before the history row is written; raising (``Veto`` or anything else) rolls the change back.
    ``after_transition`` runs after the transaction committed; its failures are logged at critical
    and never undo the committed change.
    """

    def before_transition(self, obj: Any, source: str | None, target: str, transition: str) -> None:
        """Called inside the transaction, before the change is recorded."""

    def after_transition(self, change: StatusChange) -> None:
        """Called after the change committed."""

    def after_transitions(self, changes: Sequence[StatusChange]) -> None:
        """Called once per commit with its changes, in order; by default calls ``after_transition`` for each.

        Override it to handle a commit's changes together (the outbox relay sends them in one go).
        """
        for change in changes:
            self.after_transition(change)


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
            log.critical("after_transition hook %r failed for status changes %s%s", hook,
                         ", ".join(str(change.id) for change in changes),
                         "" if trace else f" ({describe(error)})", exc_info=trace)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(PENDING_KEY, None)
