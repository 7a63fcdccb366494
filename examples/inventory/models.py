"""The inventory item model: ``status`` holds the string values of machines/inventory.yaml."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType
from examples.base import Base


class InventoryItem(Base, Stateful):
    """Stock of one product, reserved for at most one order at a time."""

    __tablename__ = "inventory_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    product_id: Mapped[int] = mapped_column(Integer, index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    order_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
