"""README-style use of the public API; `mypy --strict` must accept it (it is checked, not run)."""

from __future__ import annotations

from pathlib import Path

import engine
from engine.diagrams import build_graph, render_dot, render_mermaid


def lint_folder(folder: Path) -> list[str]:
    problems: list[str] = []
    for path in sorted(folder.glob("*.yaml")):
        checked: engine.CheckedFile = engine.check_file(path)
        problems.extend(diagnostic.render() for diagnostic in checked.diagnostics)
    return problems


def load_and_draw(path: str) -> tuple[str, str]:
    try:
        spec: engine.MachineSpec = engine.load_spec(path)
    except engine.DefinitionError as error:
        first: engine.Diagnostic = error.diagnostics[0]
        location: engine.Location = first.location
        raise SystemExit(f"{location.file}:{location.line}: {first.message}") from error
    graph = build_graph(spec)
    return render_dot(graph), render_mermaid(graph)


def states_of(folder: str) -> dict[str, list[str]]:
    return {name: list(spec.states) for name, spec in engine.load_specs(folder).items()}
