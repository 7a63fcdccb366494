"""Events from code: ``emit()`` inside a move, written to the outbox in the move's own transaction.

A move (``fire``, ``set_status``, ``touch`` …) opens a collection for the length of its write; ``emit()``
adds to the innermost one, and the move writes what was collected beside its history row. A move that
rolls back never writes its collection, so its events vanish with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from engine.errors import EmitOutsideMove, UndeclaredEventError
from engine.redaction import Redactor
from engine.runtime.changes import jsonable
from engine.runtime.outbox import OutboxItem, outbox_rows


@dataclass
class Emissions:
    """The events emitted during one move, in order, with their (masked, JSON-safe) payloads."""

    machine: str
    allowed: frozenset[str]
    redactor: Redactor
    events: list[tuple[str, Any]] = field(default_factory=list)


_current: ContextVar[Emissions | None] = ContextVar("statewright_emissions", default=None)


@contextmanager
def collecting(machine: str, allowed: frozenset[str], redactor: Redactor) -> Iterator[Emissions]:
    """Collect the events ``emit()`` is given until the block ends (a nested move collects its own)."""
    token = _current.set(Emissions(machine, allowed, redactor))
    try:
        yield _current.get()  # type: ignore[misc]
    finally:
        _current.reset(token)


def emit(event: str, payload: Any = None) -> None:
    """Emit ``event`` from code running inside a move: its listeners and reactions get outbox rows in
    the move's transaction, exactly like a state's events.

    The message listeners receive carries ``event`` and ``payload`` besides the move's own keys.

    Args:
        event: An event the machine lists in ``emits:`` (or a state of it emits).
        payload: Anything JSON can hold (what it cannot is stored as its ``repr``); masked like history.

    Raises:
        EmitOutsideMove: No move or touch is in progress in this thread (or task).
        UndeclaredEventError: The moving object's machine does not declare ``event``.
    """
    emissions = _current.get()
    if emissions is None:
        raise EmitOutsideMove(
            f"emit({event!r}) was called outside a Statewright move; call it from an action or other code "
            "running inside fire(), set_status() or touch()."
        )
    if event not in emissions.allowed:
        allowed = ", ".join(sorted(emissions.allowed)) or "none"
        raise UndeclaredEventError(
            f"Machine {emissions.machine!r} does not declare event {event!r}; list it in the machine's "
            f"`emits:`. Events it may emit: {allowed}.",
            machine=emissions.machine,
            event=event,
        )
    emissions.events.append((event, emissions.redactor.value(jsonable(payload))))


def current_emissions() -> Emissions | None:
    """The collection of the move in progress in this thread (or task), if any."""
    return _current.get()


def emitted_rows(
    emissions: Emissions,
    followers: Mapping[str, Sequence[OutboxItem]],
    change_id: int,
    model_type: str,
    history: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The outbox rows of the collected events, for the history row ``change_id`` (``history`` its values).

    Args:
        followers: For each event, its own row and its listeners' and reactions' rows (``plan_emits``).
    """
    rows: list[dict[str, Any]] = []
    for event, payload in emissions.events:
        written = outbox_rows(followers.get(event, ()), change_id, emissions.machine, model_type, history)
        if written:
            message = {**written[0]["message"], "event": event, "payload": payload}
            rows.extend({**row, "message": message} for row in written)
    return rows
