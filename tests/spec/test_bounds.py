"""Numbers, durations and guard expressions that lint accepts can be stored, computed with and evaluated;
beyond the bounds they are located diagnostics, never tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.guards import compile_guard
from engine.spec import check_text
from engine.spec.durations import MAX_DURATION, DurationOutOfRange, parse_duration
from engine.spec.expressions import MAX_LENGTH, MAX_NESTING, ExpressionError, compile_expression
from engine.spec.model import GuardExpression
from engine.spec.source import MAX_INT, MIN_INT

HEAD = "version: 1\nname: m\nmodel: app.models:Thing\ninitial: a\n"


def _found(text: str) -> list[str]:
    return [f"{d.location.line}:{d.location.col} {d.code}" for d in check_text(HEAD + text, "f.yaml").diagnostics]


def _machine(*, state_a: str = "{}", task: str = "", guard: str = "model.x") -> str:
    return (
        f"states:\n  a: {state_a}\n  b: {{final: true}}\n  c: {{final: true}}\n"
        f"transitions:\n  - name: go\n    from: a\n    to: b\n    guard: {guard}\n"
        f"  - {{name: fail, from: a, to: c}}\n{task}"
    )


# Integers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", ["9" * 5000, str(MAX_INT + 1), str(MIN_INT - 1), "0x" + "f" * 17, "0o" + "7" * 30])
def test_an_integer_past_64_bits_is_one_located_invalid_value(number: str) -> None:
    assert _found(_machine(state_a=f"{{value: {number}}}")) == ["6:14 SW104"]


@pytest.mark.parametrize("number", [str(MAX_INT), str(MIN_INT), "0x7fffffffffffffff"])
def test_integers_a_64_bit_column_stores_are_accepted(number: str) -> None:
    text = _machine(state_a=f"{{value: {number}}}").replace("{final", "{value: 2, final", 1)
    assert _found(text.replace("{final", "{value: 3, final", 1)) == []


def test_an_out_of_range_integer_is_not_reported_again_as_a_string() -> None:
    task = "tasks:\n  t: {when: a, run: 'app.tasks:run', complete: b, error: c, retries: " + "9" * 5000 + "}\n"
    checked = check_text(HEAD + _machine(task=task), "f.yaml")
    assert [(d.code, d.location.line) for d in checked.diagnostics] == [("SW104", 16)]
    assert "does not fit in 64 bits" in checked.diagnostics[0].message
    assert len(checked.diagnostics[0].message) < 200


# Durations -------------------------------------------------------------------------------------
@pytest.mark.parametrize("duration", ["99999999999999999999999w", "36501d", "5215w", "36500d1ms", "9" * 5000 + "ms"])
def test_a_duration_past_100_years_is_a_located_invalid_duration(duration: str) -> None:
    state = f"{{timeout: {{after: {duration}, to: c}}}}"
    found = check_text(HEAD + _machine(state_a=state), "f.yaml").diagnostics
    assert [(d.code, d.location.line, d.location.col) for d in found] == [("SW107", 6, 24)]
    assert "longer than the longest allowed, 36500d" in found[0].message


@pytest.mark.parametrize("field", ["time_limit: {d}", "backoff: {{min: 1s, max: {d}}}", "backoff: {{min: {d}}}"])
def test_every_duration_of_a_task_is_bounded(field: str) -> None:
    task = "tasks:\n  t: {when: a, run: 'app.tasks:run', complete: b, error: c, " + field.format(d="999999999w") + "}\n"
    assert [code.split()[1] for code in _found(_machine(task=task))] == ["SW107"]


@pytest.mark.parametrize(
    "entry",
    [
        "listeners:\n  - {{event: x.done, run: 'app.x:run', {field}}}\n",
        "reactions:\n  - {{on: x.done, select: 'app.x:pick', fire: go, {field}}}\n",
    ],
)
@pytest.mark.parametrize("field", ["time_limit: 999999999w", "backoff: {min: 1s, max: 999999999w}"])
def test_listener_and_reaction_durations_are_bounded(entry: str, field: str) -> None:
    assert [code.split()[1] for code in _found(_machine(task=entry.format(field=field)))] == ["SW107"]


def test_an_endpoint_timeout_is_bounded() -> None:
    endpoint = "endpoints:\n  e: {when: a, url: 'https://x.test/', complete: b, error: c, timeout: 99999999w}\n"
    assert [code.split()[1] for code in _found(_machine(task=endpoint))] == ["SW107"]


def test_the_longest_duration_survives_datetime_arithmetic_both_ways() -> None:
    longest = parse_duration(f"{MAX_DURATION.days}d")
    assert longest == MAX_DURATION
    now = datetime.now(UTC)
    assert now - longest < now < now + longest
    assert _found(_machine(state_a=f"{{timeout: {{after: {MAX_DURATION.days}d, to: c}}}}")) == []


@pytest.mark.parametrize("text", ["1h1h1h", "30m1h", "1s1s", "5ms1s"])
def test_a_duration_names_each_unit_once_largest_first(text: str) -> None:
    with pytest.raises(ValueError, match="each unit at most once, largest first"):
        parse_duration(text)
    assert parse_duration("1w2d3h4m5s6ms") == timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5, milliseconds=6)


def test_parse_duration_refuses_what_it_cannot_represent_with_a_value_error() -> None:
    with pytest.raises(DurationOutOfRange, match="longer than the longest allowed"):
        parse_duration("99999999999999999999999w")
    assert issubclass(DurationOutOfRange, ValueError)


# Guard expressions -----------------------------------------------------------------------------
DEEP_EXPRESSIONS = {
    "500 chained attributes": "model" + ".a" * 497,
    "999 unary minus signs": "-" * 999 + "1",
    "a long sum": "1" + " + 1" * 200,
    "nested parentheses and booleans": "(model.a and " * 40 + "model.b" + ")" * 40,
    "chained subscripts": "context" + "['k']" * 100,
    "nested comparisons in arithmetic": "(1 < 2) + " * 60 + "1",
}


@pytest.mark.parametrize("source", DEEP_EXPRESSIONS.values(), ids=list(DEEP_EXPRESSIONS))
def test_an_expression_nested_too_deeply_is_a_located_guard_syntax_error(source: str) -> None:
    assert len(source) <= MAX_LENGTH
    found = check_text(HEAD + _machine(guard=f'"{source}"'), "f.yaml").diagnostics
    assert [(d.code, d.location.line) for d in found] == [("SW401", 13)]
    assert f"nests deeper than {MAX_NESTING} levels" in found[0].message


def _at_depth(depth: int, function: Callable[[], Any]) -> Any:
    """Call ``function`` with ``depth`` frames already on the stack, as deep inside an app or a worker."""
    return function() if depth <= 0 else _at_depth(depth - 1, function)


def test_the_deepest_accepted_expression_evaluates_deep_inside_a_busy_stack() -> None:
    source = "model" + ".a" * (MAX_NESTING - 1)
    evaluate = compile_expression(source)

    class Chain:
        a: Any = None

    Chain.a = Chain()
    headroom = sys.getrecursionlimit() - 300
    assert _at_depth(headroom, lambda: evaluate(Chain(), {})) is Chain.a


def test_the_deepest_guard_tree_the_file_format_allows_evaluates_deep_inside_a_busy_stack() -> None:
    tree = "{not: " * 60 + '"' + " + ".join(["1"] * (MAX_NESTING - 1)) + ' > 0"' + "}" * 60
    checked = check_text(HEAD + _machine(guard=tree), "f.yaml")
    assert checked.diagnostics == ()
    assert checked.spec is not None
    guard = checked.spec.transitions[0].guard
    assert guard is not None
    check = compile_guard(guard, {}, lambda path: None)
    headroom = sys.getrecursionlimit() - 300
    assert _at_depth(headroom, lambda: check(object(), {})) is None  # an even number of nots: passes


@pytest.mark.parametrize(
    "source", ["-context.name", "+context.none", "context.none + context.none", "context.mapping + context.mapping"]
)
def test_an_operator_on_values_it_cannot_combine_is_the_engines_error(source: str) -> None:
    evaluate = compile_expression(source)
    with pytest.raises(ExpressionError):
        evaluate(object(), {"name": "text", "none": None, "mapping": {}})


def test_guard_expressions_in_specs_keep_their_source() -> None:
    assert GuardExpression("model.x").source == "model.x"
