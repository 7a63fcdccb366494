"""What the hooks hear about background work: each delivery's start and how it ended (``Hook.before_work`` …).

The actors' runners are wrapped once (``Work._held``); a runner that records a failure itself (the last
retry of a task, an endpoint's 4xx) returns normally, so it says so with ``note_failure``; one that returns
without doing its work (it lost the race to claim the object, the object is gone) says why with ``note_skip``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dramatiq.middleware import CurrentMessage

from engine.errors import UnknownWork
from engine.runtime.hooks import Hook, SkipReason, WorkRun, notify, overrides

log = logging.getLogger("engine.work")

#: The hook methods about work; a delivery costs nothing extra when no hook overrides any of them.
WORK_METHODS = ("before_work", "after_work", "after_work_skipped", "after_work_retry", "after_work_failure")

_noted = threading.local()


def watches_work(hooks: Sequence[Hook]) -> bool:
    """Whether any hook overrides a work method."""
    return any(overrides(hook, method) for hook in hooks for method in WORK_METHODS)


def note_failure(error: BaseException) -> None:
    """The running delivery failed for good with ``error`` (it recorded the failure and returns normally)."""
    _noted.error = error


def note_skip(reason: SkipReason) -> None:
    """The running delivery returns without doing its work, for ``reason``."""
    _noted.skip = reason


@contextmanager
def watched(
    hooks: Sequence[Hook], kind: str, args: Sequence[Any], row: Callable[[int], Any], last_attempt: Callable[[], bool]
) -> Iterator[None]:
    """Tell ``hooks`` that a delivery of ``kind`` with the actor arguments ``args`` starts, then how it ended.

    ``row`` reads an outbox row (for the work's name; tasks carry it in their arguments). An exception
    raised out of the delivery is a retry while retries are left, else a failure; it propagates unchanged.
    """
    if not watches_work(hooks):
        yield
        return
    run = _run(kind, args, row)
    _noted.error = _noted.skip = None  # reading the row for ``run`` may have noted it gone
    notify(hooks, "before_work", run)
    try:
        yield
    except Exception as error:
        _noted.skip = None
        final = isinstance(error, UnknownWork) or last_attempt()  # UnknownWork is never retried (``throws``)
        notify(hooks, "after_work_failure" if final else "after_work_retry", run, error)
        raise
    failure, skip, _noted.error, _noted.skip = _noted.error, _noted.skip, None, None
    if failure is not None:
        notify(hooks, "after_work_failure", run, failure)
    elif skip is not None:
        notify(hooks, "after_work_skipped", run, skip)
    else:
        notify(hooks, "after_work", run)


def _run(kind: str, args: Sequence[Any], row: Callable[[int], Any]) -> WorkRun:
    message = CurrentMessage.get_current_message()
    attempt = 1 + int(message.options.get("retries", 0)) if message is not None else 1
    outbox_id = int(args[0])
    if kind == "task":  # (outbox id, machine, name, model id): see ``Work.send``
        return WorkRun(kind, outbox_id, attempt, args[1], args[2], args[3])
    try:
        found = row(outbox_id)
    except Exception as error:  # the runner meets the same fault under the gate; the hook just gets less
        log.debug("outbox row %s not read for the work hooks: %s", outbox_id, error)
        found = None
    if found is None:
        return WorkRun(kind, outbox_id, attempt, None, None, None)
    return WorkRun(kind, outbox_id, attempt, found.machine, found.name, found.model_id)
