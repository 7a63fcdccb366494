"""``CompiledMachine``: one machine file, compiled once, that decides moves for any number of objects.

It holds a single ``transitions.Machine(model=None)``; objects are never added to it. A move is decided
by triggering the compiled event on a two-slot stand-in that carries the current state, so binding
a row costs nothing and the machine keeps no reference to rows.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, cast

from transitions import Machine

from engine.errors import GuardRejected, TransitionNotAllowed
from engine.guards import GuardCheck
from engine.spec.model import MachineSpec, TransitionSpec


class StatusEnum(enum.Enum):
    """Base of the status enums generated from machine files: ``Document.Status.QUEUED``."""

    @property
    def state(self) -> str:
        """The state's name in the machine file."""
        return self._state  # type: ignore[attr-defined, no-any-return]

    def __str__(self) -> str:
        return self.state


def build_status_enum(spec: MachineSpec, class_name: str) -> type[StatusEnum]:
    """Generate the status enum: one member per state, named in upper case, valued as the column stores it."""
    members = [(name.upper(), state.value) for name, state in spec.states.items()]
    generated = cast(type[StatusEnum], StatusEnum(class_name, members))  # type: ignore[call-arg]
    for member in generated:
        member._state = member.name.lower()  # type: ignore[attr-defined]  # computed once, read on every move
    return generated


class Decision:
    """The move ``decide`` chose: which transition fires, from where, to where."""

    __slots__ = ("source", "target", "transition")

    def __init__(self, transition: TransitionSpec, source: str, target: str) -> None:
        self.transition = transition
        self.source = source
        self.target = target

    def __repr__(self) -> str:
        return f"Decision({self.transition.name!r}: {self.source!r} -> {self.target!r})"


class _Stand:
    """What the transitions library sees instead of a row: just the state."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class _Attempt:
    """One try at a move: the guard outcomes it collected and the transition that won."""

    __slots__ = ("chosen", "context", "model", "rejected")

    def __init__(self, model: Any, context: Mapping[str, Any]) -> None:
        self.model = model
        self.context = context
        self.rejected: list[str] = []
        self.chosen: TransitionSpec | None = None


class CompiledMachine:
    """A machine ready to decide moves.

    Args:
        spec: The machine's spec.
        guard_checks: One compiled guard (or ``None``) per transition, in file order.
        actions: One tuple of action callables per transition, in file order.
        status_enum: The generated enum of the model's status.
    """

    def __init__(self, spec: MachineSpec, *, guard_checks: list[GuardCheck | None],
                 actions: list[tuple[Any, ...]], status_enum: type[StatusEnum]) -> None:
        self.spec = spec
        self.name = spec.name
        self.status_enum = status_enum
        self.member_by_state: dict[str, StatusEnum] = {m.state: m for m in status_enum}
        self.state_by_value: dict[Any, str] = {m.value: m.state for m in status_enum}
        self.actions_by_transition = {id(t): acts for t, acts in zip(spec.transitions, actions, strict=True)}
        self._triggers: dict[str, frozenset[str]] = {state: frozenset() for state in spec.states}
        rows = []
        for transition, check in zip(spec.transitions, guard_checks, strict=True):
            for source in spec.sources_of(transition):
                self._triggers[source] = self._triggers[source] | {transition.name}
                rows.append({"trigger": transition.name, "source": source, "dest": transition.target,
                             "conditions": [_condition(transition, check)]})
        self.machine = Machine(model=None, states=list(spec.states), transitions=rows, initial=spec.initial,
                               auto_transitions=False)
        self._events = self.machine.events

    def allowed(self, state: str) -> list[str]:
        """Names of the transitions that leave ``state``, in file order."""
        names = self._triggers.get(state, frozenset())
        return list(dict.fromkeys(t.name for t in self.spec.transitions if t.name in names))

    def decide(self, state: str, event: str, model: Any, context: Mapping[str, Any],
               object_id: str | None = None) -> Decision:
        """Choose the move ``event`` makes from ``state``, evaluating each candidate's guard once.

        Raises:
            TransitionNotAllowed: No transition named ``event`` leaves ``state``.
            GuardRejected: Every candidate's guard said no.
        """
        if event not in self._triggers.get(state, ()):
            raise TransitionNotAllowed(machine=self.name, state=state, event=event, object_id=object_id,
                                       allowed=self.allowed(state))
        attempt = _Attempt(model, context)
        stand = _Stand(state)
        self._events[event].trigger(stand, attempt)
        if attempt.chosen is None:
            raise GuardRejected(machine=self.name, state=state, event=event, object_id=object_id,
                                guard=attempt.rejected[-1], rejected=attempt.rejected)
        return Decision(attempt.chosen, state, stand.state)

    def why_not(self, state: str, event: str, model: Any, context: Mapping[str, Any]) -> str | None:
        """Why ``event`` cannot fire now, in words, or ``None`` if it can."""
        try:
            self.decide(state, event, model, context)
        except (TransitionNotAllowed, GuardRejected) as refused:
            return str(refused)
        return None


def _condition(transition: TransitionSpec, check: GuardCheck | None) -> Any:
    """The condition the transitions library calls: run the guard, note the outcome on the attempt."""
    if check is None:
        def unguarded(attempt: _Attempt) -> bool:
            attempt.chosen = transition
            return True
        return unguarded

    def guarded(attempt: _Attempt) -> bool:
        failed = check(attempt.model, attempt.context)
        if failed is not None:
            attempt.rejected.append(failed)
            return False
        attempt.chosen = transition
        return True

    return guarded
