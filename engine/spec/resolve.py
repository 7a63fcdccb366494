"""``lint --resolve``: import everything a machine names and check it is what the file says it is."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from engine.spec.callbacks import callback_callables
from engine.spec.diagnostics import Diagnostic
from engine.spec.locations import Location
from engine.spec.model import AllOf, AnyOf, Guard, GuardCall, MachineSpec, Not, Origin


class _Unresolved(Exception):
    """Not an error: carries the diagnostic for a path that did not import."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


#: Raised by ``import_object``; its ``diagnostic`` says what did not import.
Unresolved = _Unresolved


def import_object(path: str, location: Location) -> Any:
    """Import ``package.module:attribute``; problems raise ``_Unresolved`` with a located diagnostic."""
    module_name, _, attribute_path = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - the user's module may fail in any way while importing
        raise _Unresolved(
            Diagnostic(
                "SW501", f"Cannot import module {module_name!r} for {path!r}: {type(exc).__name__}: {exc}", location
            )
        ) from exc
    for part in attribute_path.split("."):
        if not hasattr(target, part):
            raise _Unresolved(
                Diagnostic(
                    "SW502", f"{path!r}: {getattr(target, '__name__', target)!r} has no attribute {part!r}.", location
                )
            )
        target = getattr(target, part)
    return target


def named_callables(spec: MachineSpec) -> Iterator[tuple[str, str, Origin, tuple[str | int, ...]]]:
    """Every (role, dotted path, origin, relative path) that must name a callable."""
    for name, guard in spec.guards.items():
        yield from _guard_calls(guard, f"guard {name!r}")
    for transition in spec.transitions:
        if transition.guard is not None:
            yield from _guard_calls(transition.guard, f"guard of transition {transition.name!r}")
        for index, action in enumerate(transition.actions):
            yield f"action of transition {transition.name!r}", action, transition.origin, ("actions", index)
    yield from _work_callables(spec)
    yield from callback_callables(spec)


def _work_callables(spec: MachineSpec) -> Iterator[tuple[str, str, Origin, tuple[str | int, ...]]]:
    for task in spec.tasks.values():
        yield f"task {task.name!r}", task.run, task.origin, ("run",)
    for endpoint in spec.endpoints.values():
        for hook in ("payload", "response"):
            value = getattr(endpoint, hook)
            if value is not None:
                yield f"{hook} builder of endpoint {endpoint.name!r}", value, endpoint.origin, (hook,)
    for listener in spec.listeners:
        yield f"listener of {listener.event!r}", listener.run, listener.origin, ("run",)
    for reaction in spec.reactions:
        yield f"selector of reaction to {reaction.on!r}", reaction.select, reaction.origin, ("select",)


def _guard_calls(guard: Guard, role: str) -> Iterator[tuple[str, str, Origin, tuple[str | int, ...]]]:
    if isinstance(guard, GuardCall):
        yield role, guard.path, guard.origin, ()
    elif isinstance(guard, AllOf | AnyOf):
        for inner in guard.guards:
            yield from _guard_calls(inner, role)
    elif isinstance(guard, Not):
        yield from _guard_calls(guard.guard, role)


def resolve_spec(spec: MachineSpec) -> list[Diagnostic]:
    """Import the model and every callable the machine names.

    Args:
        spec: A machine without definition errors.

    Returns:
        Problems: imports that fail, missing attributes, non-callables, a model without the status column.
    """
    diagnostics = list(_check_model(spec))
    for role, path, origin, relative in named_callables(spec):
        location = origin.text(*relative)
        try:
            target = import_object(path, location)
        except _Unresolved as unresolved:
            diagnostics.append(unresolved.diagnostic)
            continue
        if not callable(target):
            diagnostics.append(
                Diagnostic("SW503", f"The {role} {path!r} is a {type(target).__name__}, not a callable.", location)
            )
    return diagnostics


def _check_model(spec: MachineSpec) -> Iterator[Diagnostic]:
    location = spec.origin.text("model")
    try:
        model = import_object(spec.model, location)
    except _Unresolved as unresolved:
        yield unresolved.diagnostic
        return
    from sqlalchemy import Integer, String, inspect
    from sqlalchemy.exc import NoInspectionAvailable

    try:
        mapper = inspect(model)
    except NoInspectionAvailable:
        yield Diagnostic("SW504", f"The model {spec.model!r} is not a SQLAlchemy mapped class.", location)
        return
    columns = getattr(mapper, "columns", None)
    if columns is None or spec.field not in columns:
        known = ", ".join(columns.keys()) if columns is not None else "none"
        yield Diagnostic(
            "SW504",
            f"The model {spec.model!r} has no column {spec.field!r} to hold the status. Columns: {known}.",
            spec.origin.text("field") if "field" in _keys(spec) else location,
        )
        return
    column_type = columns[spec.field].type
    if not isinstance(getattr(column_type, "impl_instance", column_type), Integer | String):
        yield Diagnostic(
            "SW504",
            f"The status column {spec.field!r} of {spec.model!r} is "
            f"{type(column_type).__name__}; declare it Integer, String or StatusType.",
            spec.origin.text("field") if "field" in _keys(spec) else location,
        )


def _keys(spec: MachineSpec) -> set[str]:
    return {"field"} if spec.origin.at("field") != spec.origin.at() else set()
