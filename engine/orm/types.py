"""``StatusType``: the status column, read as the machine's generated enum and stored as the YAML ``value``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from engine.errors import StatusColumnError
from engine.statuses import StatusEnum, UnknownStatus


class StatusType(TypeDecorator[Any]):
    """A status column. Until its model is bound it reads raw values; after, members of the status enum.

    Args:
        impl: The stored type: ``Integer`` for integer values, ``String(n)`` for string values.

    Writing accepts an enum member, a raw value, or (for integer columns) nothing else. A stored value
    no state declares reads as ``UnknownStatus(value)`` rather than failing, so the row still loads.
    """

    impl = Integer
    cache_ok = True

    def __init__(self, impl: TypeEngine[Any] | type[TypeEngine[Any]] = Integer) -> None:
        super().__init__()
        self.impl = impl() if isinstance(impl, type) else impl  # type: ignore[assignment]
        self.status_enum: type[StatusEnum] | None = None

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(self.impl_instance)

    def bind_enum(self, status_enum: type[StatusEnum]) -> None:
        """Read values as members of ``status_enum`` from now on (done when the model is bound)."""
        self.status_enum = status_enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, StatusEnum | UnknownStatus):
            return value.value
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None or self.status_enum is None:
            return value
        try:
            return self.status_enum(value)
        except ValueError:
            # Someone wrote a value the machine does not declare: load the row, refuse to move it.
            return UnknownStatus(value)

    @property
    def python_type(self) -> type[Any]:
        return self.status_enum or (int if isinstance(self.impl_instance, Integer) else str)

    def copy(self, **kw: Any) -> StatusType:
        copied = StatusType(self.impl_instance)
        copied.status_enum = self.status_enum
        return copied


def status_type_for(column_type: TypeEngine[Any], column: str = "a status column") -> StatusType:
    """The ``StatusType`` for a column declared with a plain ``Integer`` or ``String``.

    Raises:
        StatusColumnError: The column is of another type (``column`` names it in the message).
    """
    if isinstance(column_type, StatusType):
        return column_type
    if isinstance(column_type, Integer | String):
        return StatusType(column_type)
    raise StatusColumnError(f"{column} must be Integer, String or StatusType, not {type(column_type).__name__}")
