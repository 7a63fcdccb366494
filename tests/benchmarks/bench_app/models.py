"""The benchmark's model: a row that cycles through three states."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine import Stateful


class BenchBase(DeclarativeBase):
    """Tables of the benchmark."""


class Job(BenchBase, Stateful):
    """Cycles a -> b -> c -> a."""

    __tablename__ = "bench_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10))


class Item(BenchBase, Stateful):
    """Goes queued -> running -> done through one task."""

    __tablename__ = "bench_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    result: Mapped[str | None] = mapped_column(String(20), default=None)
