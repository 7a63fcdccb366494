"""Compile a ``MachineSpec`` into a ``CompiledMachine``: every dotted path the file names is imported here, once."""

from __future__ import annotations

from typing import Any

from engine.errors import DefinitionError
from engine.guards import GuardCheck, compile_guard
from engine.machine import CompiledMachine
from engine.spec.locations import Location
from engine.spec.model import MachineSpec
from engine.spec.resolve import Unresolved, import_object, resolve_spec
from engine.statuses import build_status_enum

#: Dotted paths are checked (and located) by ``resolve_spec`` before they are imported here.
_NOWHERE = Location("<compiled>")


def import_path(path: str) -> Any:
    """Import ``package.module:attribute`` (after ``resolve_spec`` has vouched for it).

    Raises:
        ImportError: It no longer imports (a module deleted or broken since the machines were loaded).
    """
    try:
        return import_object(path, _NOWHERE)
    except Unresolved as unresolved:  # recorded in history and failure records: a plain, readable error
        raise ImportError(unresolved.diagnostic.message) from unresolved.__cause__


def compile_machine(spec: MachineSpec) -> CompiledMachine:
    """Import everything the machine names and build its compiled form.

    Args:
        spec: A machine without definition errors.

    Returns:
        The compiled machine.

    Raises:
        DefinitionError: A dotted path does not import, is not callable, or the model lacks the status column.
    """
    problems = resolve_spec(spec)
    if problems:
        raise DefinitionError(problems)
    guard_checks: list[GuardCheck | None] = [
        compile_guard(t.guard, spec.guards, import_path) if t.guard is not None else None for t in spec.transitions
    ]
    actions = [tuple(import_path(path) for path in t.actions) for t in spec.transitions]
    model = import_path(spec.model)
    status_enum = build_status_enum(spec, f"{model.__name__}Status")
    return CompiledMachine(spec, guard_checks=guard_checks, actions=actions, status_enum=status_enum, model=model)
