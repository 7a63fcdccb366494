"""Diagrams show what the machine file says: start, finals, colors, guards, special moves and work."""

from __future__ import annotations

from engine import load_spec
from engine.diagrams import build_graph, render_dot, render_mermaid
from tests.conftest import CASES, MACHINES

DOCUMENT = load_spec(MACHINES / "document.yaml")
EXAMPLE = load_spec(CASES / "valid" / "issue_example.yaml")


def test_the_graph_has_every_state_in_file_order_with_its_work() -> None:
    graph = build_graph(DOCUMENT)
    assert [node.name for node in graph.nodes] == list(DOCUMENT.states)
    nodes = {node.name: node for node in graph.nodes}
    assert nodes["queued"].initial
    assert nodes["complete"].final
    assert nodes["queued"].work == ("task generate",)
    assert nodes["generated"].work == ("POST publish",)
    assert nodes["error"].color == "#EF4444"


def test_special_moves_are_dashed_and_transitions_solid() -> None:
    edges = {(edge.source, edge.target, edge.label): edge.style for edge in build_graph(DOCUMENT).edges}
    assert edges[("error", "queued", "defibrillate")] == "dashed"
    assert edges[("processing", "error", "after 10m")] == "dashed"
    assert edges[("queued", "processing", "start")] == "solid"
    assert edges[("publishing", "error", "fail")] == "solid"


def test_guards_are_written_on_their_edges() -> None:
    labels = [edge.label for edge in build_graph(EXAMPLE).edges]
    assert "confirm [covered and not verified]" in labels


def test_dot_marks_the_start_double_circles_finals_and_colors_states() -> None:
    dot = render_dot(build_graph(DOCUMENT))
    assert "__initial__ -> queued" in dot
    assert 'complete [label=complete fillcolor="#10B981" shape=doublecircle' in dot
    assert "error -> queued [label=defibrillate style=dashed]" in dot


def test_mermaid_marks_start_and_finals() -> None:
    text = render_mermaid(build_graph(DOCUMENT))
    assert text.startswith("stateDiagram-v2\n")
    assert "[*] --> queued" in text
    assert "complete --> [*]" in text
    assert "processing --> error∶ after 10m" not in text  # the label separator is Mermaid's own colon
    assert "processing --> error: after 10m" in text
