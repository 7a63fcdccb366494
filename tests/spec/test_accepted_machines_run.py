"""What lint accepts, the engine can use: it compiles, its expression guards evaluate on any model and
context without raising anything but the engine's own errors, and its durations survive date arithmetic."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compiler import compile_machine, import_path
from engine.errors import DefinitionError, StatewrightError
from engine.guards import compile_guard
from engine.spec import MachineSpec, check_text
from engine.spec.expressions import compile_expression
from engine.spec.model import AllOf, AnyOf, Guard, GuardCall, GuardExpression, GuardName, Not
from tests.spec.test_fuzz import mangled_machines

STATES = ["a", "b", "c", "d"]
MODEL = "tests.spec.bound_app:Thing"

# Expressions: leaves, then every operator the language has (and some it refuses), nested at random depths.
_LEAVES = st.sampled_from(
    [
        "model.x",
        "model.items",
        "context.k",
        "context['k']",
        "model.items[0]",
        "model.a.b",
        "None",
        "True",
        "'text'",
        "1.5",
        "1e308",
        "0",
        "-1",
    ]
) | st.integers().map(str)
_UNARY = st.sampled_from(["-{}", "+{}", "not {}", "({})", "{}.a", "{}[0]", "{}['k']"])
_BINARY = st.sampled_from(
    [
        "{} + {}",
        "{} - {}",
        "{} * {}",
        "{} / {}",
        "{} // {}",
        "{} % {}",
        "{} ** {}",
        "{} < {}",
        "{} == {}",
        "{} in {}",
        "{} is not {}",
        "{} and {}",
        "{} or {}",
        "({}, {})",
        "{} <= {} < {}",
    ]
)


@st.composite
def expressions(draw: st.DrawFn) -> str:
    """A random expression; sometimes a long chain of one operator, to probe the nesting bound."""
    if draw(st.booleans()):
        text = draw(_LEAVES)
        for _ in range(draw(st.integers(0, 40))):
            text = draw(_UNARY).format(text)
        return text
    tree = st.recursive(
        _LEAVES,
        lambda inner: (
            st.tuples(_BINARY, inner, inner, inner).map(lambda parts: parts[0].format(*parts[1:]))
            | st.tuples(_UNARY, inner).map(lambda p: p[0].format(p[1]))
        ),
        max_leaves=30,
    )
    return draw(tree)


_GUARD_LEAVES = expressions() | st.sampled_from(["g1", "tests.spec.bound_app:approve"])
guard_trees = st.recursive(
    _GUARD_LEAVES,
    lambda inner: (
        inner.map(lambda g: {"not": g})
        | st.lists(inner, min_size=1, max_size=3).flatmap(
            lambda items: st.sampled_from([{"all": items}, {"any": items}])
        )
    ),
    max_leaves=20,
)


# Mostly sane, sometimes absurd: most machines should pass lint, so that the property has something to test.
def _rarely(sane: st.SearchStrategy[Any], absurd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``absurd`` one time in ten."""
    return st.integers(0, 9).flatmap(lambda roll: absurd if roll == 0 else sane)


_DIGITS = _rarely(
    st.integers(0, 1000).map(str), st.integers(0, 10**25).map(str) | st.integers(1, 60).map(lambda n: "9" * n)
)
durations = st.lists(st.tuples(_DIGITS, st.sampled_from(["ms", "s", "m", "h", "d", "w"])), min_size=1, max_size=2).map(
    lambda parts: "".join(n + unit for n, unit in parts)
)
numbers = _rarely(st.integers(-1000, 1000), st.integers() | st.integers(2**62, 2**66) | st.integers(-(2**66), -(2**62)))


@st.composite
def machines(draw: st.DrawFn) -> str:
    """A machine file, as JSON (which YAML reads): a chain of states to a final one, with random guards,
    values, timeouts and work, mixing sane and absurd values everywhere a value goes."""
    names = STATES[: draw(st.integers(2, len(STATES)))]
    values = draw(st.none() | st.lists(numbers, min_size=len(names), max_size=len(names), unique=True))
    states: dict[str, Any] = {}
    for index, name in enumerate(names):
        state: dict[str, Any] = {"final": True} if index == len(names) - 1 else {}
        if values is not None:
            state["value"] = values[index]
        if index < len(names) - 1 and draw(st.booleans()):
            state["timeout"] = {"after": draw(durations), "to": names[-1]}
        states[name] = state
    transitions = [
        {"name": f"step_{index}", "from": source, "to": target}
        for index, (source, target) in enumerate(zip(names, names[1:], strict=False))
    ]
    for index in range(draw(st.integers(1, 4))):
        transitions.append(
            {
                "name": f"guarded_{index}",
                "from": draw(st.sampled_from([*names[:-1], "*"])),
                "to": names[-1],
                "guard": draw(guard_trees),
                **({"actions": ["tests.spec.bound_app:act"]} if draw(st.booleans()) else {}),
            }
        )
    document: dict[str, Any] = {
        "version": 1,
        "name": "generated",
        "model": MODEL,
        "initial": names[0],
        "states": states,
        "guards": {"g1": draw(expressions())},
        "transitions": transitions,
    }
    if draw(st.booleans()):
        document["tasks"] = {
            "t": {
                "when": names[0],
                "run": "tests.spec.bound_app:run",
                "complete": names[1],
                "error": names[1],
                "retries": draw(numbers),
                "backoff": {"min": draw(durations), "max": draw(durations)},
                "time_limit": draw(durations),
            }
        }
    return json.dumps(document)


models = st.builds(
    SimpleNamespace,
    x=st.none() | st.booleans() | numbers | st.floats() | st.text(max_size=3),
    items=st.lists(numbers, max_size=2) | st.none(),
    a=st.none() | st.just(SimpleNamespace(b=1)),
)
contexts = st.dictionaries(
    st.sampled_from(["k", "x"]),
    st.none() | numbers | st.floats() | st.text(max_size=3) | st.lists(st.integers(), max_size=2),
    max_size=2,
)


def _leaves(guard: Guard) -> list[Guard]:
    if isinstance(guard, Not):
        return _leaves(guard.guard)
    if isinstance(guard, AllOf | AnyOf):
        return [leaf for inner in guard.guards for leaf in _leaves(inner)]
    return [guard]


def _evaluates(guard: Guard, spec: MachineSpec, model: Any, context: dict[str, Any]) -> None:
    """Evaluate a guard tree; only the engine's own errors may come out (code guards are the user's)."""
    leaves = _leaves(guard)
    for leaf in leaves:
        if isinstance(leaf, GuardExpression):
            try:
                compile_expression(leaf.source)(model, context)
            except StatewrightError:
                pass
    calls_code = any(isinstance(leaf, GuardCall | GuardName) for leaf in leaves)
    if not calls_code:
        try:
            compile_guard(guard, spec.guards, import_path)(model, context)
        except StatewrightError:
            pass


def _assert_usable(spec: MachineSpec, model: Any, context: dict[str, Any]) -> None:
    compile_machine(spec)
    now = datetime.now(UTC)
    for state in spec.states.values():
        if state.timeout is not None:
            assert now - state.timeout.after <= now <= now + state.timeout.after
    for task in spec.tasks.values():
        for duration in (task.time_limit, task.backoff.minimum, task.backoff.maximum):
            assert duration // duration.resolution < 2**63  # Dramatiq takes milliseconds as integers
        assert 0 <= task.retries < 2**63
    for transition in spec.transitions:
        if transition.guard is not None:
            _evaluates(transition.guard, spec, model, context)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(machines(), models, contexts)
def test_generated_machines_that_lint_accepts_compile_and_their_guards_evaluate(
    text: str, model: Any, context: dict[str, Any]
) -> None:
    checked = check_text(text, "generated.yaml")
    if checked.spec is not None and not checked.errors:
        _assert_usable(checked.spec, model, context)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(mangled_machines(), models, contexts)
def test_mangled_shipped_machines_that_lint_accepts_compile_or_fail_only_on_imports(
    text: str, model: Any, context: dict[str, Any]
) -> None:
    """Lint does not import (that is ``--resolve``), so a mangled dotted path may fail to compile, located."""
    checked = check_text(text, "mangled.yaml")
    if checked.spec is None or checked.errors:
        return
    refused: DefinitionError | None = None
    try:
        _assert_usable(checked.spec, model, context)
    except DefinitionError as caught:
        refused = caught
    assert refused is None or all(d.code.startswith("SW5") for d in refused.diagnostics), refused
