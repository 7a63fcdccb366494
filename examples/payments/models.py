"""The payment model: ``status`` holds the string values of examples/payments/payment.yaml."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType
from examples.base import Base


class Payment(Base, Stateful):
    """A charge sent to a payment provider, settled when the provider calls back."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    amount: Mapped[int] = mapped_column(Integer)
