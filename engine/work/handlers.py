"""Every piece of work the machines declare, with the callables it runs imported once, when the app starts.

An outbox row names its work by machine, ``WorkKind`` and name (``EVENT#INDEX`` for listeners and reactions,
the index in the machine's list). ``WorkTable`` answers that lookup from a dictionary built up front, so a
delivery neither searches the machine file nor imports a dotted path; a row naming work the loaded
machines no longer declare gets ``UnknownWork``, which lists what they do declare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.compiler import import_path
from engine.errors import UnknownWork
from engine.machine import CompiledMachine
from engine.runtime.outbox import WorkKind
from engine.spec.model import EndpointSpec, ListenerSpec, MachineSpec, ReactionSpec, TaskSpec

#: Anything an outbox row can name (events have no declaration of their own).
Declared = TaskSpec | EndpointSpec | ListenerSpec | ReactionSpec


@dataclass(frozen=True)
class DeclaredWork:
    """One task, endpoint, listener or reaction, and its imported callables.

    ``run`` is a task's or listener's ``run``, or a reaction's ``select``; an endpoint has ``payload`` and
    ``response`` hooks instead (each ``None`` when the file names none).
    """

    kind: WorkKind
    machine: str
    name: str
    spec: Declared
    run: Callable[..., Any] | None = None
    payload: Callable[..., Any] | None = None
    response: Callable[..., Any] | None = None


class WorkTable:
    """The work of every loaded machine, by ``(machine, kind, name)``.

    Args:
        machines: The compiled machines (whose dotted paths ``resolve_spec`` has vouched for).

    Raises:
        ImportError: A dotted path no longer imports (see ``engine.compiler.import_path``).
    """

    def __init__(self, machines: Mapping[str, CompiledMachine]) -> None:
        self.machines = machines
        # Keyed by plain strings: a row read back from the database holds its kind as ``str``.
        self._by_key: dict[tuple[str, str, str], DeclaredWork] = {
            (work.machine, work.kind.value, work.name): work
            for compiled in machines.values()
            for work in _declared(compiled.spec)
        }

    def __iter__(self) -> Iterator[DeclaredWork]:
        return iter(self._by_key.values())

    def find(self, machine: str, kind: str, name: str) -> DeclaredWork:
        """The work an outbox row names.

        Raises:
            UnknownWork: The loaded machines do not declare it (the row was written by other machine files).
        """
        work = self._by_key.get((machine, kind, name))
        if work is None:
            raise self.unknown(machine, kind, name)
        return work

    def of_row(self, row: Any) -> DeclaredWork:
        """The work an outbox row (anything with ``machine``, ``kind`` and ``name``) names; see ``find``."""
        return self.find(row.machine, row.kind, row.name)

    def unknown(self, machine: str, kind: str, name: str) -> UnknownWork:
        """The error for work the loaded machines do not declare, listing what they do declare."""
        if machine not in self.machines:
            return UnknownWork(
                f"Cannot run {kind} {name!r}: no machine {machine!r} is loaded (machines: "
                f"{', '.join(sorted(self.machines)) or 'none'}). The outbox row was written by other "
                "machine files; load them in the worker, or leave the record failed."
            )
        names = sorted(work.name for work in self if work.machine == machine and work.kind == kind)
        return UnknownWork(
            f"Cannot run {kind} {name!r} of machine {machine!r}: the machine declares no such {kind} "
            f"({kind}s: {', '.join(names) or 'none'}). The outbox row was written by another version "
            "of the machine file; run the worker with that file, or leave the record failed."
        )


def _declared(spec: MachineSpec) -> Iterator[DeclaredWork]:
    machine = spec.name
    for task in spec.tasks.values():
        yield DeclaredWork(WorkKind.TASK, machine, task.name, task, run=import_path(task.run))
    for endpoint in spec.endpoints.values():
        yield DeclaredWork(
            WorkKind.ENDPOINT,
            machine,
            endpoint.name,
            endpoint,
            payload=_optional(endpoint.payload),
            response=_optional(endpoint.response),
        )
    for index, listener in enumerate(spec.listeners):
        yield DeclaredWork(
            WorkKind.LISTENER, machine, f"{listener.event}#{index}", listener, run=import_path(listener.run)
        )
    for index, reaction in enumerate(spec.reactions):
        yield DeclaredWork(
            WorkKind.REACTION, machine, f"{reaction.on}#{index}", reaction, run=import_path(reaction.select)
        )


def _optional(path: str | None) -> Callable[..., Any] | None:
    return None if path is None else import_path(path)
