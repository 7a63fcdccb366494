"""A payment model for the callback tests, on a declarative base of its own."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType


class Base(DeclarativeBase):
    """The callback tests' base."""


class Payment(Base, Stateful):
    """A payment waiting for its provider's callback."""

    __tablename__ = "callback_test_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)))
    amount: Mapped[int] = mapped_column(Integer, default=0)
