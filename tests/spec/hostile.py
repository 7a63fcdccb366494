"""Machine files dense with one kind of problem (or of one costly feature), of any size, for timing tests.

``HOSTILE[kind](size)`` returns at least ``size`` characters of YAML.
"""

from __future__ import annotations

from collections.abc import Callable

#: A valid machine's head: one final state, so that everything appended is the only problem.
HEAD = "version: 1\nname: m\nmodel: app.models:Thing\ninitial: a\nstates:\n  a: {final: true}\n"
_LONG_EXPRESSION = " and ".join(["model.total > 1"] * 50)


def repeated(head: str, piece: Callable[[int], str], size: int) -> str:
    """``head`` followed by ``piece(0)``, ``piece(1)``, ... until the text is at least ``size`` long."""
    parts, length, index = [head], len(head), 0
    while length < size:
        part = piece(index)
        parts.append(part)
        length += len(part)
        index += 1
    return "".join(parts)


HOSTILE: dict[str, Callable[[int], str]] = {
    "duplicate keys": lambda n: repeated("version: 1\nname: m\nmetadata:\n", lambda i: "  k: 1\n", n),
    "tags": lambda n: repeated("version: 1\nmetadata:\n  x:\n", lambda i: "  - !x 1\n", n),
    "unknown keys": lambda n: repeated(HEAD, lambda i: f"k{i}: 1\n", n),
    "wrong types": lambda n: repeated(HEAD + "transitions:\n", lambda i: "  - 5\n", n),
    "many states": lambda n: repeated(HEAD, lambda i: f"  s{i}: {{}}\n", n),
    "invalid state names": lambda n: repeated(HEAD, lambda i: f"  S{i}: {{}}\n", n),
    "unknown target states": lambda n: repeated(
        HEAD + "transitions:\n", lambda i: f"  - {{name: t, from: a, to: x{i}}}\n", n
    ),
    "duplicate transitions": lambda n: repeated(
        HEAD + "transitions:\n", lambda i: "  - {name: t, from: a, to: a}\n", n
    ),
    "ambiguous transitions": lambda n: repeated(
        HEAD + "  b: {}\ntransitions:\n", lambda i: f"  - {{name: t, from: a, to: {'ab'[i % 2]}}}\n", n
    ),
    "transitions from every state": lambda n: repeated(
        HEAD + "".join(f"  s{i}: {{final: true}}\n" for i in range(n // 60)) + "transitions:\n",
        lambda i: f"  - {{name: t{i}, from: '*', to: a}}\n",
        n,
    ),
    "unknown guards": lambda n: repeated(
        HEAD + "  b: {}\ntransitions:\n", lambda i: f"  - {{name: t, from: a, to: b, guard: g{i}}}\n", n
    ),
    "long guard expressions": lambda n: repeated(HEAD + "guards:\n", lambda i: f"  g{i}: {_LONG_EXPRESSION}\n", n),
    "deep guard trees": lambda n: repeated(
        HEAD + "  b: {}\ntransitions:\n",
        lambda i: f"  - {{name: t{i}, from: a, to: b, guard: " + "{not: " * 30 + "model.x" + "}" * 30 + "}\n",
        n,
    ),
    "unknown reaction transitions": lambda n: repeated(
        HEAD + "reactions:\n", lambda i: f"  - {{on: x.y, select: a:b, fire: f{i}}}\n", n
    ),
    "durations out of range": lambda n: repeated(
        HEAD, lambda i: f"  s{i}: {{timeout: {{after: {'9' * 30}w, to: a}}}}\n", n
    ),
    "integers out of range": lambda n: repeated(HEAD, lambda i: f"  s{i}: {{value: {'9' * 4000}}}\n", n),
    "one long line": lambda n: HEAD + "description: " + "x" * n + "\n",
    "one long flow mapping": lambda n: HEAD + "metadata: {" + ", ".join(f"k{i}: {i}" for i in range(n // 10)) + "}\n",
    "one huge block scalar": lambda n: HEAD + "description: |\n" + ("  " + "y" * 70 + "\n") * (n // 73 + 1),
    "deep nesting": lambda n: repeated(HEAD + "metadata:\n", lambda i: f"  k{i}: " + "[" * 60 + "]" * 60 + "\n", n),
    "many aliases": lambda n: repeated(HEAD + "metadata:\n  a: &a [1, 2, 3]\n  l:\n", lambda i: "  - *a\n", n),
    "syntax error after much text": lambda n: repeated(HEAD + "metadata:\n", lambda i: f"  k{i}: 1\n", n) + "\t: [\n",
}
