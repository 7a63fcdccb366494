"""Status values in Python: the generated status enums, and the stand-in for a value no state declares.

Kept apart from ``engine.machine`` so that the storage side (``engine.orm.types``) can read and write
status columns without loading the transitions library.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from engine.spec.model import MachineSpec


class StatusEnum(enum.Enum):
    """Base of the status enums generated from machine files: ``Document.Status.QUEUED``."""

    @property
    def state(self) -> str:
        """The state's name in the machine file."""
        return self._state  # type: ignore[attr-defined, no-any-return]

    @property
    def label(self) -> str:
        """What people read: the state's ``label`` in the machine file, or its name humanised."""
        return self._label  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def options(cls) -> list[tuple[Any, str]]:
        """``(stored value, label)`` of every state in the file's order: choices for a form's select."""
        return [(member.value, member.label) for member in cls]

    @classmethod
    def labels(cls) -> dict[str, str]:
        """The label of every state, by state name, in the file's order."""
        return {member.state: member.label for member in cls}

    def __str__(self) -> str:
        return self.state


class UnknownStatus:
    """A status value no state of the machine declares, as read from the database (someone wrote 99).

    The row loads with this in its status attribute, so it can be listed and repaired; moving it
    raises ``UnknownStatusError``.

    Args:
        value: The value found in the status column.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnknownStatus) and other.value == self.value

    def __hash__(self) -> int:
        return hash((UnknownStatus, self.value))

    def __repr__(self) -> str:
        return f"UnknownStatus({self.value!r})"

    def __str__(self) -> str:
        return f"unknown value {self.value!r}"


def build_status_enum(spec: MachineSpec, class_name: str) -> type[StatusEnum]:
    """Generate the status enum: one member per state, named in upper case, valued as the column stores it."""
    members = [(name.upper(), state.value) for name, state in spec.states.items()]
    generated = cast(type[StatusEnum], StatusEnum(class_name, members))  # type: ignore[call-arg]
    for member in generated:
        member._state = member.name.lower()  # type: ignore[attr-defined]  # computed once, read on every move
        member._label = spec.states[member._state].display  # type: ignore[attr-defined]
    return generated
