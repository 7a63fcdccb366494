"""No user mistake in a machine file produces a traceback, and every diagnostic points inside the file."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.spec import check_text
from engine.spec.checks import url_template_problem
from engine.spec.expressions import ExpressionError, ExpressionProblem, compile_expression
from engine.spec.source import LINE_BREAK
from tests.conftest import CASES, MACHINES

SEEDS = [p.read_text(encoding="utf-8") for p in sorted(MACHINES.glob("*.yaml"))] + [
    p.read_text(encoding="utf-8") for p in sorted((CASES / "valid").glob("*.yaml"))
]
YAML_PIECES = [
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "!!str ",
    "!x ",
    "'",
    '"',
    "\n",
    "  ",
    "\t",
    "#",
    "? ",
    "|",
    ">",
    "---",
    "...",
    "<<: ",
    "~",
    "on",
    "010",
    "%YAML 1.1\n",
    "\\",
    "\x00",
    "\ufeff",
    "é",
]


def _assert_located(text: str) -> None:
    checked = check_text(text, "fuzz.yaml")
    line_count = len(LINE_BREAK.split(text))
    for diagnostic in checked.diagnostics:
        assert diagnostic.location.file == "fuzz.yaml"
        assert 1 <= diagnostic.location.line <= line_count, diagnostic.render()
        assert diagnostic.location.col >= 1
        assert diagnostic.message
    if checked.spec is None:
        assert checked.diagnostics, "a file without a machine must say why"


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(YAML_PIECES) | st.characters(), max_size=80).map("".join))
def test_random_text_never_raises(text: str) -> None:
    _assert_located(text)


@st.composite
def mangled_machines(draw: st.DrawFn) -> str:
    """A shipped machine with a few random edits: deletions, insertions, swaps and replaced tokens."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        position = draw(st.integers(0, len(text) - 1))
        edit = draw(st.sampled_from(["delete", "insert", "swap_lines", "replace_word"]))
        if edit == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 20)) :]
        elif edit == "insert":
            text = text[:position] + draw(st.sampled_from(YAML_PIECES)) + text[position:]
        elif edit == "swap_lines":
            lines = text.split("\n")
            a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
        else:
            words = text.split(" ")
            index = draw(st.integers(0, len(words) - 1))
            words[index] = draw(
                st.sampled_from(
                    [
                        "*",
                        "__class__",
                        "5",
                        "true",
                        "null",
                        "[]",
                        "{}",
                        "x:y",
                        "a.b",
                        "10m",
                        "-1",
                        "'",
                        "{model.__x}",
                        "error",
                        "queued",
                    ]
                )
            )
            text = " ".join(words)
    return text


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(mangled_machines())
def test_mangled_machines_never_raise(text: str) -> None:
    _assert_located(text)


@given(st.text(max_size=80))
@example("9223372036854775808")  # found by Hypothesis: a literal one past 64 bits is SW104, a value out of range
def test_guard_expressions_only_fail_with_their_own_errors(source: str) -> None:
    code = None
    try:
        evaluate = compile_expression(source)
    except ExpressionProblem as problem:
        code = problem.code
    else:
        with contextlib.suppress(ExpressionError):
            evaluate(object(), {})
    assert code in (None, "SW401", "SW402", "SW104")  # SW104: an integer literal beyond 64 bits


@given(st.text(max_size=80))
def test_url_templates_are_judged_without_raising(url: str) -> None:
    problem = url_template_problem(url)
    assert problem is None or problem.endswith(".")
