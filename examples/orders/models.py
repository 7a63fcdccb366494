"""The order model: ``status`` holds the string values of machines/order.yaml."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType
from examples.base import Base


class Order(Base, Stateful):
    """A customer's order."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    total_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), default=None)
    reserved_items: Mapped[int] = mapped_column(Integer, default=0)
    item_count: Mapped[int] = mapped_column(Integer, default=1)
    shipment: Mapped[str | None] = mapped_column(String(40), default=None)
