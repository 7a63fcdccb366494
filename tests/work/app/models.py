"""The job model."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType


class JobBase(DeclarativeBase):
    """Tables of the job app."""


class Job(JobBase, Stateful):
    """A unit of background work; ``behaviour`` tells the handler how to behave."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    behaviour: Mapped[str] = mapped_column(String(20), default="ok")
    result: Mapped[str | None] = mapped_column(String(50), default=None)


class Call(JobBase, Stateful):
    """An outgoing call; ``path`` picks how the test server answers."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    path: Mapped[str] = mapped_column(String(20), default="ok")
    token: Mapped[str] = mapped_column(String(20), default="t0ken")
    answer: Mapped[str | None] = mapped_column(String(50), default=None)


class Shipment(JobBase, Stateful):
    """A model whose primary key has two columns: workers must find it by both."""

    __tablename__ = "shipments"

    warehouse: Mapped[str] = mapped_column(String(20), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    label: Mapped[str | None] = mapped_column(String(50), default=None)


class Errand(JobBase, Stateful):
    """An object whose background work fails in every way the failure tests need."""

    __tablename__ = "errands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
