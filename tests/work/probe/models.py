"""The probe model: one object per endpoint call, ``route`` picks how the probe server answers."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType


class ProbeBase(DeclarativeBase):
    """Tables of the probe app."""


class Probe(ProbeBase, Stateful):
    """An outgoing call; ``segment`` fills the URL path, ``key`` its ``api_key`` query value."""

    __tablename__ = "probes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    route: Mapped[str] = mapped_column(String(20), default="ok")
    segment: Mapped[str | None] = mapped_column(String(40), default=None)
    key: Mapped[str] = mapped_column(String(40), default="query-secret-1")
    answer: Mapped[str | None] = mapped_column(String(200), default=None)
