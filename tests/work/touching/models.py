"""The parcel model."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType


class ParcelBase(DeclarativeBase):
    """Tables of the parcel app."""


class Parcel(ParcelBase, Stateful):
    """A parcel; ``grams`` is written by the ``weigh`` action, ``emits`` picks what ``ship`` emits."""

    __tablename__ = "parcels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    grams: Mapped[int] = mapped_column(Integer, default=0)
    emits: Mapped[str | None] = mapped_column(String(40), default=None)
