"""Actions of the inventory machine, run by its reactions to the order machine's events.

They change the order in the same transaction as the item's status change, with SQL that adds and
subtracts in the database, so two items reserved at once both count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import object_session

from examples.inventory.models import InventoryItem
from examples.orders.models import Order


def _count_reservation(item: InventoryItem, change: int) -> None:
    session = object_session(item)
    if session is not None and item.order_id is not None:
        session.execute(
            update(Order).where(Order.id == item.order_id).values(reserved_items=Order.reserved_items + change)
        )


def reserve(item: InventoryItem, context: Mapping[str, Any]) -> None:
    """Hold the item for its order: the order counts one more reserved item."""
    _count_reservation(item, +1)


def release(item: InventoryItem, context: Mapping[str, Any]) -> None:
    """Free the item again: it leaves its order."""
    _count_reservation(item, -1)
    item.order_id = None


def update_stock_levels(item: InventoryItem, context: Mapping[str, Any]) -> None:
    """Take the shipped unit off the stock."""
    item.quantity -= 1
