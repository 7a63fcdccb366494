"""``CompiledMachine``: one machine file, compiled once, that decides moves for any number of objects.

It holds a single ``transitions.Machine(model=None)``; objects are never added to it. A move is decided
by triggering the compiled event on a two-slot stand-in that carries the current state, so binding
a row costs nothing and the machine keeps no reference to rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transitions import Machine

from engine.errors import ExpressionError, GuardRejected, GuardUndecidable, TransitionNotAllowed
from engine.guards import GuardCheck
from engine.spec.model import MachineSpec, TransitionSpec, describe_guard
from engine.statuses import StatusEnum


class Decision:
    """The move ``decide`` chose: which transition fires, from where, to where.

    It is also what the transitions library moves while deciding (its ``target`` is the machine's
    model attribute) and what the guards' conditions receive, so a decision costs one small object.
    """

    __slots__ = ("context", "model", "rejected", "source", "target", "transition", "undecided")

    def __init__(self, source: str, model: Any, context: Mapping[str, Any]) -> None:
        self.source = source
        self.target = source
        self.model = model
        self.context = context
        self.transition: TransitionSpec | None = None
        self.rejected: list[str] | None = None
        #: Why a guard could not be evaluated (the last such guard), if one could not.
        self.undecided: ExpressionError | None = None

    def __repr__(self) -> str:
        name = self.transition.name if self.transition is not None else None
        return f"Decision({name!r}: {self.source!r} -> {self.target!r})"


class CompiledMachine:
    """A machine ready to decide moves.

    Args:
        spec: The machine's spec.
        guard_checks: One compiled guard (or ``None``) per transition, in file order.
        actions: One tuple of action callables per transition, in file order.
        status_enum: The generated enum of the model's status.
        model: The model class ``spec.model`` names (imported once, by the compiler).
    """

    def __init__(
        self,
        spec: MachineSpec,
        *,
        guard_checks: list[GuardCheck | None],
        actions: list[tuple[Any, ...]],
        status_enum: type[StatusEnum],
        model: type[Any],
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.model = model
        self.status_enum = status_enum
        self.member_by_state: dict[str, StatusEnum] = {m.state: m for m in status_enum}
        self.state_by_value: dict[Any, str] = {m.value: m.state for m in status_enum}
        self.actions_by_transition = {id(t): acts for t, acts in zip(spec.transitions, actions, strict=True)}
        self._triggers: dict[str, frozenset[str]] = {state: frozenset() for state in spec.states}
        rows = []
        for transition, check in zip(spec.transitions, guard_checks, strict=True):
            for source in spec.sources_of(transition):
                self._triggers[source] = self._triggers[source] | {transition.name}
                rows.append(
                    {
                        "trigger": transition.name,
                        "source": source,
                        "dest": transition.target,
                        "conditions": [_condition(transition, check)],
                    }
                )
        # Decisions are the model: the library moves their ``target``.
        self.machine = Machine(
            model=None,
            states=list(spec.states),
            transitions=rows,
            initial=spec.initial,
            auto_transitions=False,
            model_attribute="target",
        )
        self._events = self.machine.events

    def allowed(self, state: str) -> list[str]:
        """Names of the transitions that leave ``state``, in file order."""
        names = self._triggers.get(state, frozenset())
        return list(dict.fromkeys(t.name for t in self.spec.transitions if t.name in names))

    def decide(
        self, state: str, transition: str, model: Any, context: Mapping[str, Any], object_id: str | None = None
    ) -> Decision:
        """Choose the move ``transition`` makes from ``state``, evaluating each candidate's guard once.

        Raises:
            TransitionNotAllowed: No transition named ``transition`` leaves ``state``.
            GuardRejected: Every candidate's guard said no.
            GuardUndecidable: Every candidate's guard said no, and one could not be evaluated.
        """
        if transition not in self._triggers.get(state, ()):
            raise TransitionNotAllowed(
                machine=self.name, state=state, transition=transition, object_id=object_id, allowed=self.allowed(state)
            )
        decision = Decision(state, model, context)
        self._events[transition].trigger(decision, decision)
        if decision.transition is None:
            rejected = decision.rejected or []
            undecided = decision.undecided
            if undecided is not None:
                raise GuardUndecidable(
                    machine=self.name,
                    state=state,
                    transition=transition,
                    object_id=object_id,
                    guard=undecided.guard or rejected[-1],
                    rejected=rejected,
                    reason=str(undecided),
                    missing=undecided.missing,
                ) from undecided
            raise GuardRejected(
                getattr(rejected[-1], "reason", None),
                machine=self.name,
                state=state,
                transition=transition,
                object_id=object_id,
                guard=str(rejected[-1]),
                rejected=[str(label) for label in rejected],
            )
        return decision

    def why_not(
        self, state: str, transition: str, model: Any, context: Mapping[str, Any], object_id: str | None = None
    ) -> str | None:
        """Why ``transition`` cannot fire now, in words (naming ``object_id`` when given), or ``None`` if it can."""
        try:
            self.decide(state, transition, model, context, object_id)
        except (TransitionNotAllowed, GuardRejected) as refused:
            return str(refused)
        return None


def _condition(transition: TransitionSpec, check: GuardCheck | None) -> Any:
    """The condition the transitions library calls: run the guard, note the outcome on the attempt."""
    if check is None:

        def unguarded(decision: Decision) -> bool:
            decision.transition = transition
            return True

        return unguarded

    label = describe_guard(transition.guard) if transition.guard is not None else ""

    def guarded(decision: Decision) -> bool:
        try:
            failed = check(decision.model, decision.context)
        except ExpressionError as undecided:
            # An expression that cannot be evaluated cannot say yes: a refusal, with its reason kept.
            undecided.guard = undecided.guard or label
            decision.undecided = undecided
            failed = undecided.guard
        if failed is not None:
            if decision.rejected is None:
                decision.rejected = []
            decision.rejected.append(failed)
            return False
        decision.transition = transition
        return True

    return guarded
