"""The parcel model: ``status`` holds the state names of examples/parcels/parcel.yaml."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType
from examples.base import Base


class Parcel(Base, Stateful):
    """A parcel that is weighed, then shipped."""

    __tablename__ = "example_parcels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    grams: Mapped[int | None] = mapped_column(Integer, default=None)
