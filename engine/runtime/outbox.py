"""Outbox rows: the work a state triggers, planned once per app and written beside each history row.

``WorkKind`` is the one list of kinds of work. Planning (``plan_outbox``), the relay that sends the rows
and the worker that runs them all key on it; the outbox table stores its value, the plain string
(``"task"``, ``"endpoint"`` …), as databases written before it existed do.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from engine.orm.tables import outbox

if TYPE_CHECKING:
    from engine.spec.model import MachineSpec


class WorkKind(enum.StrEnum):
    """What an outbox row asks for; the value is what the ``kind`` column stores."""

    #: A domain event a state emits; it is recorded, and its listeners and reactions get rows of their own.
    EVENT = "event"
    #: A task handler the state starts.
    TASK = "task"
    #: An HTTP endpoint the state calls.
    ENDPOINT = "endpoint"
    #: A listener (any machine's) of an event the state emits.
    LISTENER = "listener"
    #: A reaction (any machine's) that fires transitions on the objects an event selects.
    REACTION = "reaction"


#: Kinds that run a handler for one object in the state that started them (a message names the object).
OBJECT_WORK = frozenset({WorkKind.TASK, WorkKind.ENDPOINT})
#: Kinds with nothing to send: the row is settled when it is written (its followers have rows of their own).
RECORDED_ONLY = frozenset({WorkKind.EVENT})

INSERT_OUTBOX = insert(outbox)


@dataclass(frozen=True)
class OutboxItem:
    """One piece of work a state triggers."""

    kind: WorkKind
    name: str
    machine: str


#: For each machine, for each state: the work entering it triggers.
Plan = dict[str, dict[str, list[OutboxItem]]]


def _followers(specs: Sequence[MachineSpec]) -> dict[str, list[OutboxItem]]:
    """For each event, the listeners and reactions (of any machine) that wait for it."""
    followers: dict[str, list[OutboxItem]] = {}
    for spec in specs:
        for index, listener in enumerate(spec.listeners):
            followers.setdefault(listener.event, []).append(
                OutboxItem(WorkKind.LISTENER, f"{listener.event}#{index}", spec.name)
            )
        for index, reaction in enumerate(spec.reactions):
            followers.setdefault(reaction.on, []).append(
                OutboxItem(WorkKind.REACTION, f"{reaction.on}#{index}", spec.name)
            )
    return followers


#: For each machine, for each event its code may ``emit()``: the event's own row and its followers'.
EmitPlan = dict[str, dict[str, list[OutboxItem]]]


def plan_emits(specs: Sequence[MachineSpec]) -> EmitPlan:
    """For each machine and each event it may emit from code (``MachineSpec.emittable``): the outbox items."""
    followers = _followers(specs)
    return {
        spec.name: {
            name: [OutboxItem(WorkKind.EVENT, name, spec.name), *followers.get(name, ())]
            for name in sorted(spec.emittable)
        }
        for spec in specs
    }


def plan_outbox(specs: Sequence[MachineSpec]) -> Plan:
    """For each machine and state: the events it emits, the tasks and endpoints it starts, and every
    listener and reaction (of any machine) that waits for those events."""
    followers = _followers(specs)
    plans: Plan = {}
    for spec in specs:
        plan: dict[str, list[OutboxItem]] = {name: [] for name in spec.states}
        for state in spec.states.values():
            for name in state.events:
                plan[state.name].append(OutboxItem(WorkKind.EVENT, name, spec.name))
                plan[state.name].extend(followers.get(name, ()))
        for task in spec.tasks.values():
            plan[task.steps.when].append(OutboxItem(WorkKind.TASK, task.name, spec.name))
        for endpoint in spec.endpoints.values():
            plan[endpoint.steps.when].append(OutboxItem(WorkKind.ENDPOINT, endpoint.name, spec.name))
        plans[spec.name] = plan
    return plans


def outbox_rows(
    items: Sequence[OutboxItem], change_id: int, machine: str, model_type: str, history: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The outbox rows of the history row ``change_id`` (already written, ``history`` its values)."""
    if not items:
        return []
    message = {
        "machine": machine,
        "model_type": model_type,
        "model_id": history["model_id"],
        "from": history["from_state"],
        "to": history["to_state"],
        "transition": history["transition"],
        "context": history["context"],
        "status_change_id": change_id,
    }
    return [
        {
            "status_change_id": change_id,
            "kind": item.kind.value,
            "name": item.name,
            "machine": item.machine,
            "model_type": model_type,
            "model_id": history["model_id"],
            "message": message,
            "created_at": history["created_at"],
            "attempts": 0,
        }
        for item in items
    ]
