"""The ticket model, and a twin with no machine for memory comparisons."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine import Stateful


class TicketBase(DeclarativeBase):
    """Tables of the ticketing test app."""


class TicketColumns:
    """The columns both tickets have, declared once so the twin cannot drift."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(100), default="")
    assignee: Mapped[str | None] = mapped_column(String(50), default=None)
    priority: Mapped[int] = mapped_column(Integer, default=1)


class Ticket(TicketColumns, TicketBase, Stateful):
    """A support ticket."""

    __tablename__ = "tickets"


class PlainTicket(TicketColumns, TicketBase):
    """The same columns, bound to nothing."""

    __tablename__ = "plain_tickets"
