"""The safe guard-expression language: Python expression syntax over ``model`` and ``context`` only.

An allowlist over Python's ``ast``: literals, the names ``model`` and ``context``, attribute and
constant-subscript access (no name starting with ``_``), comparisons, boolean logic and arithmetic.
No calls, no comprehensions, no lambdas, no ``**``. The checked tree is compiled into nested
closures, so nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.errors import ExpressionError
from engine.spec.source import MAX_INT, MIN_INT

#: The only names an expression may use.
NAMES = ("model", "context")
#: Longest expression accepted, in characters.
MAX_LENGTH = 1000
#: Deepest nesting accepted, in nested operations (``model.a.b`` is 3, ``1 + 2 + 3`` is 3): compiling and
#: evaluating recurse once per level, and must stay far from Python's recursion limit wherever they run.
MAX_NESTING = 32

#: A compiled expression: called with the model object and the context mapping.
Evaluator = Callable[[Any, Mapping[str, Any]], Any]

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_LITERAL_TYPES = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class ExpressionProblem(Exception):
    """Not raised to users: the reason an expression was refused, for the linter to locate.

    Args:
        code: ``SW401`` for syntax, ``SW402`` for a forbidden construct, ``SW104`` for an integer literal
            beyond 64 bits.
        message: What is wrong and what is allowed.
        offset: 0-based column within the expression text.
    """

    code: str
    message: str
    offset: int = 0


def compile_expression(source: str) -> Evaluator:
    """Check and compile a guard expression.

    Args:
        source: The expression text, e.g. ``context.amount >= model.total``.

    Returns:
        A function of ``(model, context)``.

    Raises:
        ExpressionProblem: The expression is malformed or uses something forbidden.

    >>> compile_expression("context.amount >= 3 and context.currency in ('EUR', 'USD')")(
    ...     None, {"amount": 5, "currency": "EUR"})
    True
    """
    if len(source) > MAX_LENGTH:
        raise ExpressionProblem(
            "SW401",
            f"The expression is longer than {MAX_LENGTH} characters; move the logic into a code guard (a dotted path).",
        )
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        # Python gives offset 0 when the expression ends too early: point at its end.
        stripped = source.strip()
        column = exc.offset - 1 if exc.offset else len(stripped)
        offset = column + (len(source) - len(source.lstrip()))
        raise ExpressionProblem("SW401", f"Guard expression {source!r} does not parse: {exc.msg}.", offset) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        raise ExpressionProblem("SW401", f"Guard expression {source!r} does not parse: {exc}.") from None
    _check_nesting(tree.body, source)
    body = _compile(tree.body, source)
    return lambda model, context: body({"model": model, "context": context})


def _check_nesting(root: ast.expr, source: str) -> None:
    """Refuse trees deeper than ``MAX_NESTING``, walking them without recursion."""
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ExpressionProblem(
                "SW401",
                f"Guard expression {_cut(source)} nests deeper than {MAX_NESTING} "
                "levels (operators, attribute chains, subscripts); split it into named guards "
                "combined with all/any/not, or compute the value in a code guard.",
                getattr(node, "col_offset", 0),
            )
        for name in node._fields:  # ast.iter_child_nodes, without its generators: this runs on every node
            child = getattr(node, name, None)
            if isinstance(child, ast.expr):
                stack.append((child, depth + 1))
            elif isinstance(child, list):
                stack.extend((item, depth + 1) for item in child if isinstance(item, ast.expr))


def _cut(source: str, limit: int = 60) -> str:
    text = repr(source)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


_Scope = dict[str, Any]
_Node = Callable[[_Scope], Any]


def _compile(node: ast.expr, source: str) -> _Node:  # noqa: C901 - one branch per allowed node kind
    if isinstance(node, ast.Constant) and isinstance(node.value, _LITERAL_TYPES):
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and not MIN_INT <= value <= MAX_INT:
            raise ExpressionProblem(
                "SW104",
                "An integer literal must fit in 64 bits, as every number in a machine file does.",
                node.col_offset,
            )
        return lambda scope: value
    if isinstance(node, ast.Name):
        return _compile_name(node, source)
    if isinstance(node, ast.Attribute):
        return _compile_attribute(node, source)
    if isinstance(node, ast.Subscript):
        return _compile_subscript(node, source)
    if isinstance(node, ast.BoolOp):
        return _compile_boolean(node, source)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _compile_unary(node, source)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _compile_arithmetic(node, source)
    if isinstance(node, ast.Compare):
        return _compile_comparison(node, source)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items = [_compile(item, source) for item in node.elts]
        return lambda scope: tuple(item(scope) for item in items)
    raise ExpressionProblem(
        "SW402",
        f"{_describe(node)} is not allowed in guard expressions; use literals, "
        "model/context attributes, comparisons, and/or/not and + - * / // %.",
        node.col_offset,
    )


def _compile_name(node: ast.Name, source: str) -> _Node:
    if node.id not in NAMES:
        raise ExpressionProblem(
            "SW402",
            f"Unknown name {node.id!r} in a guard expression; only {' and '.join(NAMES)} are available.",
            node.col_offset,
        )
    name = node.id
    return lambda scope: scope[name]


def _compile_attribute(node: ast.Attribute, source: str) -> _Node:
    _refuse_private(node.attr, node)
    owner, attribute = _compile(node.value, source), node.attr
    return lambda scope: _lookup(owner(scope), attribute, source)


def _compile_subscript(node: ast.Subscript, source: str) -> _Node:
    key_node = node.slice
    if not (isinstance(key_node, ast.Constant) and isinstance(key_node.value, str | int)):
        raise ExpressionProblem(
            "SW402", "Only a literal string or integer may be used as a subscript.", key_node.col_offset
        )
    if isinstance(key_node.value, str):
        _refuse_private(key_node.value, key_node)
    owner, key = _compile(node.value, source), key_node.value
    return lambda scope: _lookup(owner(scope), key, source)


def _compile_unary(node: ast.UnaryOp, source: str) -> _Node:
    apply, operand = _UNARY[type(node.op)], _compile(node.operand, source)

    def unary(scope: _Scope) -> Any:
        value = operand(scope)
        try:
            return apply(value)
        except TypeError as exc:  # -None, +"text"
            raise ExpressionError(
                f"Guard expression {source!r}: cannot apply {type(node.op).__name__} to {type(value).__name__}."
            ) from exc

    return unary


def _compile_boolean(node: ast.BoolOp, source: str) -> _Node:
    parts = [_compile(value, source) for value in node.values]
    if isinstance(node.op, ast.And):
        return lambda scope: all(part(scope) for part in parts)
    return lambda scope: any(part(scope) for part in parts)


def _compile_arithmetic(node: ast.BinOp, source: str) -> _Node:
    apply = _BINARY[type(node.op)]
    left, right = _compile(node.left, source), _compile(node.right, source)

    def arithmetic(scope: _Scope) -> Any:
        a, b = left(scope), right(scope)
        # Only numbers: "x" * 10**9 would let a file exhaust memory.
        if not (_is_number(a) and _is_number(b)) and not (isinstance(node.op, ast.Add) and type(a) is type(b)):
            raise ExpressionError(
                f"Guard expression {source!r}: arithmetic on {type(a).__name__} and "
                f"{type(b).__name__} is not supported."
            )
        try:
            return apply(a, b)
        except (ArithmeticError, TypeError) as exc:  # division by zero; Decimal with float; None + None
            raise ExpressionError(f"Guard expression {source!r}: {exc}.") from exc

    return arithmetic


def _compile_comparison(node: ast.Compare, source: str) -> _Node:
    first = _compile(node.left, source)
    pairs = zip(node.ops, node.comparators, strict=True)
    steps = [(_COMPARE[type(op)], _compile(right, source)) for op, right in pairs]

    def compare(scope: _Scope) -> bool:
        left = first(scope)
        for apply, right_node in steps:
            right = right_node(scope)
            try:
                if not apply(left, right):
                    return False
            except TypeError as exc:
                raise ExpressionError(f"Guard expression {source!r}: cannot compare {left!r} with {right!r}.") from exc
            left = right
        return True

    return compare


def _lookup(owner: Any, key: str | int, source: str) -> Any:
    """``model.total`` reads an attribute; on a mapping (like ``context``) it reads the key."""
    try:
        if isinstance(owner, Mapping) or isinstance(key, int):
            return owner[key]
        return getattr(owner, key)
    except (KeyError, IndexError, AttributeError, TypeError) as exc:
        if isinstance(owner, Mapping):
            given = ", ".join(sorted(map(str, owner))) or "none"
            what = f"the context has no key {key!r} (keys given: {given})"
        else:
            what = f"{type(owner).__name__} value has no {key!r}"
        missing = key if isinstance(owner, Mapping) and isinstance(key, str) else None
        raise ExpressionError(f"Guard expression {source!r}: {what}.", missing=missing) from exc


def _refuse_private(name: str, node: ast.expr) -> None:
    if name.startswith("_"):
        # Point at the name itself: the attribute node starts at its owner.
        offset = (node.end_col_offset or 0) - len(name) if isinstance(node, ast.Attribute) else node.col_offset
        raise ExpressionProblem(
            "SW402",
            f"{name!r} starts with an underscore; private and dunder names cannot be reached from guard expressions.",
            offset,
        )


def _is_number(value: Any) -> bool:
    # Decimal too: money columns (Numeric) read as Decimal.
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _describe(node: ast.expr) -> str:
    names = {
        "Call": "A function call",
        "Lambda": "A lambda",
        "ListComp": "A comprehension",
        "SetComp": "A comprehension",
        "DictComp": "A comprehension",
        "GeneratorExp": "A generator",
        "NamedExpr": "An assignment (:=)",
        "JoinedStr": "An f-string",
        "Await": "await",
        "Yield": "yield",
        "Starred": "Unpacking (*)",
        "Dict": "A dict literal",
        "IfExp": "A conditional expression",
        "Slice": "A slice",
    }
    if isinstance(node, ast.BinOp):
        return f"The operator {type(node.op).__name__}"
    if isinstance(node, ast.Constant):
        return f"A {type(node.value).__name__} literal"
    return names.get(type(node).__name__, f"{type(node).__name__}")
