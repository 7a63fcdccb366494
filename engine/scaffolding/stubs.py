"""Typed stubs for the dotted paths a machine names that do not resolve yet (``statewright scaffold``).

A module that does not exist is written whole. One that exists keeps every line it has: the imports a stub
needs are added after its last top-level import, and the stubs at its end.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.spec.model import MachineSpec
from engine.spec.resolve import named_callables

#: The stub of each kind of callable: its parameters, return type and when it runs.
_SIGNATURES: dict[str, tuple[str, str, str]] = {
    "guard": ("obj: {model}, context: Mapping[str, Any]", "bool", "Runs before the move; False refuses it."),
    "action": ("obj: {model}, context: Mapping[str, Any]", "None", "Runs in the move's transaction."),
    "task": ("obj: {model}", "Mapping[str, Any] | None", "Runs on a worker; what it returns is the payload."),
    "payload": ("obj: {model}", "dict[str, Any]", "Builds the endpoint's request body."),
    "response": ("response: Any, obj: {model}", "Any", "Reads the endpoint's answer (an httpx.Response)."),
    "listener": ("event: Mapping[str, Any]", "None", "Runs on a worker after the event's move committed."),
    "selector": ("event: Mapping[str, Any]", "Any", "Returns the objects (or a select()) the reaction fires on."),
    "handle": ("request: Any", "Mapping[str, Any] | None", "Reads a verified callback; returns the move's context."),
    "verify": ("headers: Mapping[str, str], body: bytes", "bool", "Returns True when a callback is genuine."),
}
#: The kind of callable each role of ``lint --resolve`` names.
_KINDS = (
    ("guard", "guard"),
    ("action", "action"),
    ("task", "task"),
    ("payload builder", "payload"),
    ("response builder", "response"),
    ("listener", "listener"),
    ("selector", "selector"),
    ("handler of callback", "handle"),
    ("verifier of callback", "verify"),
)


@dataclass(frozen=True)
class Stub:
    """One missing callable (or the model): where it goes and what it is for."""

    module: str
    name: str
    kind: str
    role: str


class ScaffoldError(Exception):
    """A module the machine names exists but cannot be imported (fix it first); ``str`` says which and why."""


def missing_stubs(spec: MachineSpec) -> list[Stub]:
    """The model and callables of ``spec`` that do not resolve, each once, in the file's order.

    Raises:
        ScaffoldError: A module exists but fails to import.
    """
    wanted = [("model", spec.model, "the model")]
    for role, path, _, _ in named_callables(spec):
        kind = next(kind for prefix, kind in _KINDS if role.startswith(prefix))
        wanted.append((kind, path, role))
    stubs: dict[tuple[str, str], Stub] = {}
    for kind, path, role in wanted:
        module, _, name = path.partition(":")
        if (module, name) not in stubs and not _resolves(module, name):
            stubs[module, name] = Stub(module, name, kind, role)
    return list(stubs.values())


def _resolves(module: str, name: str) -> bool:
    if importlib.util.find_spec(module.split(".")[0]) is None:
        return False
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError as missing:
        if missing.name is not None and module.startswith(missing.name):
            return False
        raise ScaffoldError(f"{module} cannot be imported: {missing}") from None
    except Exception as broken:  # noqa: BLE001 - the user's module may fail in any way
        raise ScaffoldError(f"{module} cannot be imported: {type(broken).__name__}: {broken}") from None
    return hasattr(imported, name)


def write_stubs(spec: MachineSpec, stubs: list[Stub], root: Path) -> list[Path]:
    """Write ``stubs`` into their modules under ``root`` (the folder the dotted paths import from).

    Returns:
        The files written or extended.
    """
    by_module: dict[str, list[Stub]] = {}
    for stub in stubs:
        by_module.setdefault(stub.module, []).append(stub)
    written = []
    for module, wanted in by_module.items():
        path = root.joinpath(*module.split(".")).with_suffix(".py")
        for parent in _packages(root, module):
            if not parent.exists():
                parent.parent.mkdir(parents=True, exist_ok=True)
                parent.write_text('"""Written by statewright scaffold."""\n')
        imports, bodies = _render(spec, wanted, module)
        if path.exists():
            _extend(path, imports, bodies)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            header = f'"""Code machines/{spec.name}.yaml names (written by statewright scaffold)."""\n\n'
            body = "\n\n\n".join(bodies)
            path.write_text(f"{header}from __future__ import annotations\n\n{_import_block(imports)}\n\n\n{body}\n")
        written.append(path)
    return written


def _packages(root: Path, module: str) -> Iterator[Path]:
    parts = module.split(".")[:-1]
    for depth in range(1, len(parts) + 1):
        yield root.joinpath(*parts[:depth], "__init__.py")


def _render(spec: MachineSpec, stubs: list[Stub], module: str) -> tuple[list[str], list[str]]:
    """The import lines and the definitions of ``stubs`` in ``module``."""
    model_module, _, model_name = spec.model.partition(":")
    imports: list[str] = []
    bodies: list[str] = []
    for stub in stubs:
        if stub.kind == "model":
            integer = all(isinstance(state.value, int) for state in spec.states.values())
            column = "Integer()" if integer else f"String({max(len(str(s.value)) for s in spec.states.values()) + 10})"
            imports += [
                "from sqlalchemy import Integer, String",
                "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column",
                "from engine import Stateful, StatusEnum, StatusType",
            ]
            if not _defines(_module_source(module), "Base"):
                bodies.append('class Base(DeclarativeBase):\n    """Base class of these models."""')
            bodies.append(
                f"class {stub.name}(Base, Stateful):\n"
                f'    """Driven by machines/{spec.name}.yaml (column ``{spec.field}``)."""\n\n'
                f'    __tablename__ = "{stub.name.lower()}s"\n\n'
                "    id: Mapped[int] = mapped_column(Integer, primary_key=True)\n"
                f"    {spec.field}: Mapped[StatusEnum] = mapped_column(StatusType({column}), index=True)"
            )
            continue
        parameters, returns, when = _SIGNATURES[stub.kind]
        imports += ["from collections.abc import Mapping", "from typing import Any"]
        if "{model}" in parameters and model_module != module:
            imports.append(f"from {model_module} import {model_name}")
        bodies.append(
            f"def {stub.name}({parameters.format(model=model_name)}) -> {returns}:\n"
            f'    """The {stub.role} of machine {spec.name!r}.\n\n    {when}\n    """\n'
            f'    raise NotImplementedError("{stub.module}:{stub.name}")'
        )
    return list(dict.fromkeys(imports)), bodies


#: Modules whose imports go first (the standard library), then the libraries; the project's own go last.
_STANDARD = ("collections", "typing")
_LIBRARIES = ("engine", "sqlalchemy")


def _import_block(imports: list[str]) -> str:
    """``imports`` grouped and sorted as isort (and ruff) put them: standard library, libraries, the project."""

    def group(line: str) -> int:
        top = line.split()[1].split(".")[0]
        return 0 if top in _STANDARD else 1 if top in _LIBRARIES else 2

    groups = [sorted(line for line in imports if group(line) == index) for index in range(3)]
    return "\n\n".join("\n".join(lines) for lines in groups if lines)


def _module_source(module: str) -> str:
    """The source of ``module`` if it is on the path, else empty."""
    found = importlib.util.find_spec(module) if importlib.util.find_spec(module.split(".")[0]) else None
    origin = found.origin if found is not None else None
    return Path(origin).read_text() if origin and Path(origin).is_file() else ""


def _defines(source: str, name: str) -> bool:
    if not source:
        return False
    tree = ast.parse(source)
    return any(isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == name for node in tree.body)


def _extend(path: Path, imports: list[str], bodies: list[str]) -> None:
    """Add the imports ``path`` lacks after its last top-level import, and ``bodies`` at its end."""
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    present = {
        ast.get_source_segment(source, node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
    }
    new = [line for line in imports if line not in present]
    imported = [node.end_lineno or 0 for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    if imported:
        lines[max(imported) : max(imported)] = new
    elif new:  # no imports yet: after the docstring, if there is one
        first = tree.body[0] if tree.body else None
        docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        after = (first.end_lineno or 0) if first is not None and docstring else 0
        lines[after:after] = ["", *new, ""] if after else [*new, ""]
    path.write_text("\n".join(lines).rstrip("\n") + "\n\n\n" + "\n\n\n".join(bodies) + "\n")
