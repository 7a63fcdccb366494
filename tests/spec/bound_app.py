"""A model and callables for generated machine files to name, so that what lint accepts can be compiled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType


class GeneratedBase(DeclarativeBase):
    """Tables of the generated machines (never created: compiling needs only the mapping)."""


class Thing(GeneratedBase, Stateful):
    """What every generated machine binds."""

    __tablename__ = "generated_things"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(64)), index=True)


def approve(model: Any, context: Mapping[str, Any]) -> bool:
    """A code guard."""
    return True


def act(model: Any, context: Mapping[str, Any]) -> None:
    """An action."""


def run(model: Any) -> None:
    """A task."""
