"""An object's primary key as the text history and outbox rows store (``model_id``), and back.

A single-column key is its value as text (``42``). A composite key joins its parts with commas, each
part escaping ``%`` and ``,`` as ``%25`` and ``%2C``, so ``("north,east", 7)`` is ``north%2Ceast,7`` and
the text always splits back into the parts it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from sqlalchemy import String, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from engine.errors import ObjectKeyError


def _escaped(part: str) -> str:
    return part.replace("%", "%25").replace(",", "%2C")


def format_key(values: Sequence[Any]) -> str:
    """The text of a key.

    >>> format_key((42,)), format_key(("north,east", 7)), format_key(("100%", "a"))
    ('42', 'north%2Ceast,7', '100%25,a')
    """
    if len(values) == 1:
        return str(values[0])
    return ",".join(_escaped(str(value)) for value in values)


def parse_key(text: str, columns: Sequence[ColumnElement[Any]]) -> tuple[Any, ...]:
    """The key values ``text`` stands for, each converted to its column's Python type.

    Raises:
        ObjectKeyError: ``text`` has a different number of parts than the key has columns, or a part does not
            convert to its column's type.
    """
    parts = [text] if len(columns) == 1 else [unquote(part) for part in text.split(",")]
    if len(parts) != len(columns):
        raise ObjectKeyError(text, f"{len(parts)} part(s) for a key of {len(columns)} column(s)")
    return tuple(_typed(text, part, column) for part, column in zip(parts, columns, strict=True))


def _typed(text: str, part: str, column: ColumnElement[Any]) -> Any:
    try:
        python_type = column.type.python_type
    except NotImplementedError:  # a custom type that does not say: let the database convert the text
        return part
    if python_type is str:
        return part
    try:
        return python_type(part)
    except (TypeError, ValueError, ArithmeticError) as wrong:  # ArithmeticError: decimal's InvalidOperation
        raise ObjectKeyError(text, f"{part!r} is not a {python_type.__name__} ({column.name})") from wrong


def key_sql(columns: Sequence[ColumnElement[Any]]) -> ColumnElement[str]:
    """The same text computed by the database, to join a model's rows with their history rows."""
    if len(columns) == 1:
        return cast(columns[0], String)
    escaped = [func.replace(func.replace(cast(column, String), "%", "%25"), ",", "%2C") for column in columns]
    joined: ColumnElement[str] = escaped[0]
    for part in escaped[1:]:
        joined = joined.concat(literal(",")).concat(part)
    return joined
