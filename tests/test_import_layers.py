"""The engine's imports run one way: down the layers below, never in a loop.

The walk reads every module with ``ast`` (nothing is imported), so it sees imports inside functions too:
a lazy import is still an arrow in the design. Imports under ``if TYPE_CHECKING:`` are only for the type
checker and are not counted.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parent.parent / "engine"

#: The layers, lowest first. A module may import from its own layer and the ones below, never above.
#: Each name is a module or package under ``engine`` (the longest match wins); ``engine`` itself is the
#: package's public façade, at the top with the commands.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("redaction", "dependencies", "faults", "log_redaction"),
    ("spec", "statuses", "connections", "settings"),
    ("db", "guards", "machine", "compiler", "diagrams", "serving"),
    ("orm", "migrations"),
    ("runtime",),
    ("work", "archive", "callbacks"),
    ("statewright",),
    ("cli", "admin", "__main__", ""),
)
#: Upward imports allowed on purpose, each with its reason.
ALLOWED_UPWARD = {
    # ``from engine.orm import Stateful`` was documented before the binding moved to the runtime; the old
    # name resolves on first use only (with a DeprecationWarning), so importing the tables stays light.
    ("engine.orm", "engine.runtime.binding"),
}


@dataclass(frozen=True)
class Import:
    """One ``import``/``from … import`` of an engine module, found in ``source`` at ``line``."""

    source: str
    target: str
    line: int


def module_names(root: Path) -> dict[str, Path]:
    """Dotted name → file, for every module of the package at ``root`` (``engine/x/__init__.py`` is ``engine.x``)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, modules: Mapping[str, Path]) -> Iterator[Import]:
    """The run-time imports of package modules in one file, at any depth, except under ``if TYPE_CHECKING:``."""

    def walk(node: ast.AST) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                yield from (found for statement in child.orelse for found in walk_one(statement))
            else:
                yield from walk_one(child)

    def walk_one(node: ast.AST) -> Iterator[Import]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield from (Import(name, target, node.lineno) for target in _targets(name, path, node, modules))
        else:
            yield from walk(node)

    yield from walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))


def _targets(name: str, path: Path, node: ast.Import | ast.ImportFrom, modules: Mapping[str, Path]) -> list[str]:
    """The package modules one import statement loads: ``from a import b`` is ``a.b`` when that is a module."""
    package = root_package(modules)
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == package]
    base = node.module or ""
    if node.level:  # relative: resolve against this module's package
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
    if base.split(".")[0] != package:
        return []
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]


def root_package(modules: Mapping[str, Path]) -> str:
    """The name of the package the modules belong to (``engine``)."""
    return min(modules, key=len).split(".")[0]


def import_graph(root: Path) -> list[Import]:
    """Every run-time import between modules of the package at ``root`` (migration scripts excepted)."""
    modules = module_names(root)
    return [
        found
        for name, path in modules.items()
        if ".migrations.versions" not in name
        for found in imports_of(name, path, modules)
        if found.target != name
    ]


def layer_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> int:
    """The index in ``layers`` of the longest layer entry that is ``module`` or one of its packages."""
    inner = module.split(".", 1)[1] if "." in module else ""
    best: tuple[int, int] | None = None
    for index, entries in enumerate(layers):
        for entry in entries:
            if inner == entry or inner.startswith(entry + ".") or entry == "":
                length = len(entry) if entry else -1
                if best is None or length > best[0]:
                    best = (length, index)
    if best is None:
        raise AssertionError(f"{module} is in no layer; add it to LAYERS in {__file__}")
    return best[1]


def upward(
    graph: list[Import],
    layers: tuple[tuple[str, ...], ...] = LAYERS,
    allowed: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
) -> list[str]:
    """Imports that run from a lower layer up to a higher one, as ``file:line source -> target`` lines."""
    return [
        f"{found.source}:{found.line} {found.source} -> {found.target}"
        for found in graph
        if layer_of(found.target, layers) > layer_of(found.source, layers)
        and (found.source, found.target) not in allowed
    ]


def cycles(graph: list[Import]) -> list[list[str]]:
    """The import loops: each set of two or more modules that all reach one another."""
    edges: dict[str, set[str]] = {}
    for found in graph:
        edges.setdefault(found.source, set()).add(found.target)
    reach = {node: _reachable(edges, node) for node in edges}
    loops = {
        tuple(sorted(other for other in reach if node in reach[other] and other in reach[node]))
        for node in reach
        if node in reach[node]
    }
    return sorted(list(loop) for loop in loops if len(loop) > 1)


def _reachable(edges: Mapping[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` loads, directly or not (itself only if a path leads back)."""
    seen: set[str] = set()
    todo = list(edges.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return seen


# The engine --------------------------------------------------------------------------------------


def test_no_engine_module_imports_up_the_layers() -> None:
    assert upward(import_graph(ENGINE), allowed=ALLOWED_UPWARD) == []


def test_the_engine_has_no_import_loop() -> None:
    assert cycles(import_graph(ENGINE)) == []


def test_every_engine_module_has_a_layer() -> None:
    for name in module_names(ENGINE):
        layer_of(name)


def test_the_allowed_upward_imports_still_exist() -> None:
    """An allowance nobody needs any more is removed, so it cannot hide a new import later."""
    graph = {(found.source, found.target) for found in import_graph(ENGINE)}
    assert ALLOWED_UPWARD <= graph


# The walker, on a package made to be wrong ---------------------------------------------------------


def _package(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / "engine" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root / "engine"


def test_the_walker_finds_an_upward_import_and_ignores_type_checking_ones(tmp_path: Path) -> None:
    engine = _package(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "spec/__init__.py": "",
            "spec/model.py": """
            from typing import TYPE_CHECKING
            from engine.errors import *  # down: fine
            if TYPE_CHECKING:
                from engine.runtime.flow import Flow  # for the type checker only: fine

            def late():
                from engine.runtime import flow  # up, even inside a function
            """,
            "runtime/__init__.py": "",
            "runtime/flow.py": "from engine.spec.model import late\n",
        },
    )
    assert upward(import_graph(engine)) == ["engine.spec.model:8 engine.spec.model -> engine.runtime.flow"]
    assert upward(import_graph(engine), allowed={("engine.spec.model", "engine.runtime.flow")}) == []


def test_the_walker_finds_a_loop(tmp_path: Path) -> None:
    engine = _package(
        tmp_path,
        {
            "__init__.py": "",
            "runtime/__init__.py": "",
            "runtime/flow.py": "from engine.runtime import history\n",
            "runtime/history.py": "from . import outbox\n",
            "runtime/outbox.py": "import engine.runtime.flow\n",
        },
    )
    assert cycles(import_graph(engine)) == [["engine.runtime.flow", "engine.runtime.history", "engine.runtime.outbox"]]


def test_a_module_outside_the_layers_is_reported() -> None:
    with pytest.raises(AssertionError, match="engine.nowhere is in no layer"):
        layer_of("engine.nowhere", layers=(("errors",),))


# What the database-only commands load -------------------------------------------------------------

#: What ``statewright db upgrade`` and ``compress``/``restore``/``purge`` must not load.
RUNTIME_LIBRARIES = ("dramatiq", "transitions", "httpx")


def _loaded(code: str) -> set[str]:
    """The top-level packages ``python -X importtime -c code`` reports loading."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True, cwd=ENGINE.parent
    )
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize("module", ["engine.cli.db", "engine.cli.archive"])
def test_the_database_commands_modules_load_no_runtime_library(module: str) -> None:
    loaded = _loaded(f"import {module}")
    assert "engine" in loaded  # the report is read right
    assert loaded.isdisjoint(RUNTIME_LIBRARIES), sorted(loaded & set(RUNTIME_LIBRARIES))


def test_running_db_upgrade_and_compress_loads_no_runtime_library(tmp_path: Path) -> None:
    """Not only importing the commands: running them (the database, the migrations, the archiver)."""
    database = f"sqlite:///{tmp_path / 'app.db'}"
    code = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from engine.cli import main
        for args in (["db", "upgrade", "--database-url", {database!r}],
                     ["compress", "--database-url", {database!r}, "--archive-uri", {tmp_path.as_uri()!r},
                      "--older-than", "1d"]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 0, (args, result.output)
        print(sorted(m for m in {RUNTIME_LIBRARIES!r} if m in sys.modules))
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ENGINE.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
