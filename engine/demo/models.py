"""The demo's document model: ``status`` holds the integer values of ``document.yaml``."""

from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType


class DemoBase(DeclarativeBase):
    """The demo's own tables."""


class Document(DemoBase, Stateful):
    """A document whose content is generated, then published."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(Integer()), index=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text, default=None)
    receipt: Mapped[str | None] = mapped_column(String(100), default=None)
