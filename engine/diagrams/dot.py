"""Graphviz output: DOT source through the ``graphviz`` package; SVG, PNG and PDF through the `dot` program."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import graphviz

from engine.diagrams.graph import DiagramGraph
from engine.errors import DotUnavailableError

ImageFormat = Literal["svg", "png", "pdf"]
#: Node fill when a state's metadata gives no color.
DEFAULT_FILL = "#F3F4F6"


def build_digraph(graph: DiagramGraph, notes: Mapping[str, str] | None = None) -> graphviz.Digraph:
    """Make a ``graphviz.Digraph``: initial marker, double-circled finals, colors, dashed special moves.

    ``notes`` adds a line under a state's name (the admin page's live counts).
    """
    digraph = graphviz.Digraph(
        graph.name,
        graph_attr={"rankdir": "LR", "label": graph.name, "labelloc": "t"},
        node_attr={"shape": "circle", "style": "filled", "fontname": "Helvetica"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10"},
    )
    for node in graph.nodes:
        # Work goes beside the node, not inside, so circles keep their size.
        extra = {"id": f"state-{node.name}"} if notes is not None else {}
        label = f"{node.text}\\n{notes[node.name]}" if notes and node.name in notes else node.text
        digraph.node(
            node.name,
            label=label,
            **extra,
            xlabel="\\n".join([*(f"⚙ {w}" for w in node.work), *(["↻ touchable"] if node.touchable else [])]),
            fillcolor=node.color or DEFAULT_FILL,
            shape="doublecircle" if node.final else "circle",
        )
        if node.initial:
            digraph.node("__initial__", label="", shape="point", width="0.15", style="filled", fillcolor="black")
            digraph.edge("__initial__", node.name)
    for edge in graph.edges:
        digraph.edge(edge.source, edge.target, label=edge.label, style=edge.style)
    return digraph


def render_dot(graph: DiagramGraph) -> str:
    """The diagram as DOT source (needs no system program)."""
    source: str = build_digraph(graph).source
    return source


def render_image(graph: DiagramGraph, image_format: ImageFormat, notes: Mapping[str, str] | None = None) -> bytes:
    """The diagram as SVG, PNG or PDF bytes (``notes``: see ``build_digraph``).

    Raises:
        DotUnavailableError: The `dot` program is not on PATH, or cannot render ``image_format``.
    """
    try:
        image: bytes = build_digraph(graph, notes).pipe(format=image_format)
    except graphviz.ExecutableNotFound as exc:
        raise DotUnavailableError(
            f"Rendering {image_format} needs Graphviz's `dot` program, which is not on PATH. Install Graphviz "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), or use --format dot or "
            "--format mermaid, which need nothing else."
        ) from exc
    except graphviz.CalledProcessError as exc:
        # A Graphviz built without a renderer (cairo, for PDF) refuses the format.
        said = " ".join(exc.stderr.decode(errors="replace").split()) if isinstance(exc.stderr, bytes) else ""
        raise DotUnavailableError(
            f"Graphviz's `dot` cannot render {image_format} here ({said or exc}). Install a Graphviz with that "
            "renderer, or use --format svg, dot or mermaid."
        ) from exc
    return image
