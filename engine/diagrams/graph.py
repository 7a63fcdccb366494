"""A machine as plain nodes and edges, ready for any renderer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.spec.durations import format_duration
from engine.spec.model import MachineSpec, describe_guard

EdgeStyle = Literal["solid", "dashed"]


@dataclass(frozen=True)
class DiagramNode:
    """One state."""

    name: str
    initial: bool
    final: bool
    color: str | None
    work: tuple[str, ...]
    #: Marked ``touchable: true``: ``touch()`` may re-enter it.
    touchable: bool = False
    #: What the node says: the state's ``label``, or its name.
    label: str = ""

    @property
    def text(self) -> str:
        """The node's text: its label, else its name."""
        return self.label or self.name


@dataclass(frozen=True)
class DiagramEdge:
    """One move: a transition (solid), or a timeout or defibrillation (dashed)."""

    source: str
    target: str
    label: str
    style: EdgeStyle


@dataclass(frozen=True)
class DiagramGraph:
    """The whole machine."""

    name: str
    nodes: tuple[DiagramNode, ...]
    edges: tuple[DiagramEdge, ...]


def build_graph(spec: MachineSpec) -> DiagramGraph:
    """Lay out a machine's states and moves.

    Args:
        spec: The machine.

    Returns:
        Nodes in file order, with the tasks and endpoints that start in each state and the callbacks
        it awaits; edges labelled
        with the transition name and guard, or the timeout or defibrillation.
    """
    work_by_state: dict[str, list[str]] = {}
    for task in spec.tasks.values():
        work_by_state.setdefault(task.steps.when, []).append(f"task {task.name}")
    for endpoint in spec.endpoints.values():
        work_by_state.setdefault(endpoint.steps.when, []).append(f"{endpoint.method} {endpoint.name}")
    for callback in spec.callbacks.values():
        work_by_state.setdefault(callback.steps.when, []).append(f"awaits callback {callback.name}")
    nodes = tuple(
        DiagramNode(
            name,
            name == spec.initial,
            state.final,
            state.color,
            tuple(work_by_state.get(name, ())),
            touchable=state.touchable,
            label=state.label or "",
        )
        for name, state in spec.states.items()
    )
    edges: list[DiagramEdge] = []
    for transition in spec.transitions:
        label = transition.label or transition.name
        if transition.guard is not None:
            label += f" [{describe_guard(transition.guard)}]"
        for source in spec.sources_of(transition):
            edges.append(DiagramEdge(source, transition.target, label, "solid"))
    for state in spec.states.values():
        if state.timeout is not None:
            edges.append(
                DiagramEdge(state.name, state.timeout.to, f"after {format_duration(state.timeout.after)}", "dashed")
            )
        if state.defibrillate is not None:
            edges.append(DiagramEdge(state.name, state.defibrillate, "defibrillate", "dashed"))
    return DiagramGraph(spec.name, nodes, tuple(edges))
