"""Compile a spec's guard trees into functions that return ``None`` when they pass, or the failing guard's label."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import ExpressionError, GuardRejected
from engine.spec.expressions import compile_expression
from engine.spec.model import AllOf, Guard, GuardCall, GuardExpression, GuardName, Not, describe_guard

#: A compiled guard: ``(model, context) -> None`` when it passes, else the label of the guard that failed.
GuardCheck = Callable[[Any, Mapping[str, Any]], str | None]
#: How a dotted path becomes an object (the compiler passes its importer).
Importer = Callable[[str], Any]


def compile_guard(guard: Guard, named: Mapping[str, Guard], importer: Importer) -> GuardCheck:
    """Turn a guard tree into a check function.

    Args:
        guard: The tree from the spec.
        named: The machine's ``guards`` section, for ``GuardName`` leaves.
        importer: Imports dotted paths.

    Returns:
        The check; it calls each leaf at most once per call.
    """
    if isinstance(guard, GuardName):
        return _labelled(compile_guard(named[guard.name], named, importer), guard.name)
    if isinstance(guard, GuardCall):
        return _leaf(importer(guard.path), guard.path)
    if isinstance(guard, GuardExpression):
        return _leaf(compile_expression(guard.source), guard.source)
    if isinstance(guard, Not):
        inner = compile_guard(guard.guard, named, importer)
        label = describe_guard(guard)
        return lambda model, context: label if inner(model, context) is None else None
    parts = [compile_guard(part, named, importer) for part in guard.guards]
    if isinstance(guard, AllOf):
        return lambda model, context: next((f for f in (p(model, context) for p in parts) if f is not None), None)
    any_label = describe_guard(guard)
    return lambda model, context: None if any(p(model, context) is None for p in parts) else any_label


class Refused(str):
    """The label of a guard that refused, with the reason it gave (``raise GuardRejected("...")`` in a code guard)."""

    reason: str | None

    def __new__(cls, label: str, reason: str | None) -> Refused:
        refused = super().__new__(cls, label)
        refused.reason = reason
        return refused


def _leaf(function: Callable[[Any, Mapping[str, Any]], Any], label: str) -> GuardCheck:
    def leaf(model: Any, context: Mapping[str, Any]) -> str | None:
        try:
            return None if function(model, context) else label
        except GuardRejected as refused:  # a code guard refusing in its own words
            return Refused(label, refused.reason)

    return leaf


def _labelled(check: GuardCheck, label: str) -> GuardCheck:
    # A named guard reports its name, whatever its definition is (and the reason its code gave, if any).
    def labelled(model: Any, context: Mapping[str, Any]) -> str | None:
        try:
            failed = check(model, context)
            return None if failed is None else Refused(label, getattr(failed, "reason", None))
        except ExpressionError as undecided:
            if undecided.guard is None:  # the innermost name says most
                undecided.guard = label
            raise

    return labelled
