"""A machine file to start from: ``statewright new MACHINE --model pkg.mod:Class --states a,b,c``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.errors import ConfigurationError

#: Machine and state names, as the schema's ``identifier``.
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
#: ``package.module:Class``, as the schema's ``dotted_path``.
DOTTED_CLASS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
#: States of a machine when none are given.
DEFAULT_STATES = ("pending", "active", "done")


def machine_skeleton(
    name: str, model: str, states: Sequence[str] = DEFAULT_STATES, *, schema: str | None = None
) -> str:
    """The YAML of a machine: ``states`` in order, a transition into each from the one before, the last final.

    Args:
        name: The machine's name (a lower-case identifier).
        model: Its model class, ``package.module:Class``.
        states: At least two distinct lower-case identifiers; the first is the initial state.
        schema: The path of ``machine.schema.json`` from the file, for editors' modeline (none if not given).

    Raises:
        ConfigurationError: A name, the model path or the states are not what the format accepts.
    """
    if not IDENTIFIER.match(name):
        raise ConfigurationError(f"machine name {name!r}: use a lower-case letter, then letters, digits or _.")
    if not DOTTED_CLASS.match(model):
        raise ConfigurationError(f"--model {model!r}: write it as package.module:Class.")
    wrong = [state for state in states if not IDENTIFIER.match(state)]
    if wrong:
        raise ConfigurationError(f"--states: {', '.join(map(repr, wrong))} is not a lower-case identifier.")
    if len(states) < 2 or len(set(states)) != len(states):
        raise ConfigurationError("--states: give at least two different states, comma-separated, initial first.")
    lines = [f"# yaml-language-server: $schema={schema}", "#"] if schema else []
    lines += [
        f"# The {name} machine: edit its states and transitions, then `statewright lint --resolve` it.",
        "version: 1",
        f"name: {name}",
        f"model: {model}",
        f"initial: {states[0]}",
        "states:",
    ]
    for index, state in enumerate(states):
        lines.append(f"  {state}: {{final: true}}" if index == len(states) - 1 else f"  {state}: {{}}")
    lines.append("transitions:")
    for source, target in zip(states, states[1:], strict=False):
        lines.append(f"  - {{name: to_{target}, from: {source}, to: {target}}}")
    return "\n".join(lines) + "\n"
