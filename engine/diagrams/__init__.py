"""Views of a machine: a plain graph, rendered as Graphviz DOT (and SVG/PNG through `dot`) or Mermaid."""

from engine.diagrams.dot import render_dot, render_image
from engine.diagrams.graph import DiagramEdge, DiagramGraph, DiagramNode, build_graph
from engine.diagrams.mermaid import render_mermaid
from engine.errors import DotUnavailableError

#: Output formats of ``statewright diagram``.
FORMATS = ("dot", "svg", "png", "pdf", "mermaid")

__all__ = [
    "FORMATS",
    "DiagramEdge",
    "DiagramGraph",
    "DiagramNode",
    "DotUnavailableError",
    "build_graph",
    "render_dot",
    "render_image",
    "render_mermaid",
]
