"""Touchable states carry a small mark in diagrams and in ``statewright show``."""

from __future__ import annotations

from click.testing import CliRunner

from engine.cli import main
from engine.diagrams import build_graph, render_dot, render_mermaid
from engine.spec import load_spec
from tests.conftest import CASES

TOUCHABLE = CASES / "valid" / "touch_emits.yaml"


def test_the_dot_and_mermaid_diagrams_mark_touchable_states() -> None:
    graph = build_graph(load_spec(TOUCHABLE))
    assert [node.name for node in graph.nodes if node.touchable] == ["waiting"]
    dot = render_dot(graph)
    assert dot.count("↻ touchable") == 1
    assert "note right of waiting: touchable" in render_mermaid(graph)


def test_show_lists_touchable_as_a_kind() -> None:
    result = CliRunner().invoke(main, ["show", str(TOUCHABLE)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    waiting = next(line for line in result.output.splitlines() if "'waiting'" in line)
    assert "initial, touchable" in waiting
    assert "emitted from code (emits:): thing.weighed, thing.priced" in result.output
