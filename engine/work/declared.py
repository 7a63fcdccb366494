"""Finding the declaration an outbox row names, or saying clearly that the machines no longer have it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import UnknownWork
from engine.spec.model import EndpointSpec, ListenerSpec, MachineSpec, ReactionSpec, TaskSpec

if TYPE_CHECKING:
    from engine.statewright import Statewright

#: Anything an outbox row can name.
Declared = TaskSpec | EndpointSpec | ListenerSpec | ReactionSpec


def declared_work(app: Statewright, row: Any) -> Declared:
    """The task, endpoint, listener or reaction an outbox row names.

    Listener and reaction rows are named ``EVENT#INDEX`` (the index in the machine's list); the entry there
    must still wait for that event.

    Raises:
        UnknownWork: The loaded machines do not declare it (the row was written by other machine files).
    """
    compiled = app.machines.get(row.machine)
    found = _find(compiled.spec, row.kind, row.name) if compiled is not None else None
    if found is None:
        raise unknown_work(app, row.machine, row.kind, row.name)
    return found


def _find(spec: MachineSpec, kind: str, name: str) -> Declared | None:
    if kind == "task":
        return spec.tasks.get(name)
    if kind == "endpoint":
        return spec.endpoints.get(name)
    if kind not in ("listener", "reaction"):
        return None
    event, _, index = name.rpartition("#")
    entries: tuple[ListenerSpec, ...] | tuple[ReactionSpec, ...] = \
        spec.listeners if kind == "listener" else spec.reactions
    if not index.isdigit() or int(index) >= len(entries):
        return None
    entry = entries[int(index)]
    waits_for = entry.event if isinstance(entry, ListenerSpec) else entry.on
    return entry if waits_for == event else None


def unknown_work(app: Statewright, machine: str, kind: str, name: str) -> UnknownWork:
    """The error for work the loaded machines do not declare, listing what they do declare."""
    compiled = app.machines.get(machine)
    if compiled is None:
        return UnknownWork(f"Cannot run {kind} {name!r}: no machine {machine!r} is loaded (machines: "
                           f"{', '.join(sorted(app.machines)) or 'none'}). The outbox row was written by other "
                           "machine files; load them in the worker, or leave the record failed.")
    return UnknownWork(f"Cannot run {kind} {name!r} of machine {machine!r}: the machine declares no such {kind} "
                       f"({kind}s: {', '.join(_names(compiled.spec, kind)) or 'none'}). The outbox row was written "
                       "by another version of the machine file; run the worker with that file, or leave the "
                       "record failed.")


def _names(spec: MachineSpec, kind: str) -> list[str]:
    if kind == "task":
        return sorted(spec.tasks)
    if kind == "endpoint":
        return sorted(spec.endpoints)
    if kind == "listener":
        return [f"{listener.event}#{index}" for index, listener in enumerate(spec.listeners)]
    return [f"{reaction.on}#{index}" for index, reaction in enumerate(spec.reactions)]
