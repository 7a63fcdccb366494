"""Mermaid ``stateDiagram-v2`` text, for Markdown renderers that draw it (GitHub, GitLab, docs sites)."""

from __future__ import annotations

from engine.diagrams.graph import DiagramGraph


def _text(label: str) -> str:
    # Mermaid ends a label at a colon or newline and chokes on some brackets.
    return label.replace(":", "∶").replace("\n", " ").replace("#", "＃").replace(";", ",")


def render_mermaid(graph: DiagramGraph) -> str:
    """The diagram as Mermaid source: ``[*]`` marks the start and the final states' ends."""
    lines = ["stateDiagram-v2", f"    %% machine: {graph.name}"]
    for node in graph.nodes:
        if node.label:
            lines.append(f'    state "{_text(node.label).replace(chr(34), chr(39))}" as {node.name}')
        if node.initial:
            lines.append(f"    [*] --> {node.name}")
    for edge in graph.edges:
        arrow = "-->"
        lines.append(f"    {edge.source} {arrow} {edge.target}: {_text(edge.label)}")
    for node in graph.nodes:
        if node.final:
            lines.append(f"    {node.name} --> [*]")
        notes = [*node.work, *(["touchable"] if node.touchable else [])]
        if notes:
            lines.append(f"    note right of {node.name}: {_text(', '.join(notes))}")
        if node.color:
            lines.append(f"    classDef {node.name}_color fill:{node.color}")
            lines.append(f"    class {node.name} {node.name}_color")
    return "\n".join(lines) + "\n"
