"""Actions of the inventory machine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from examples.inventory.models import InventoryItem


def reserve(item: InventoryItem, context: Mapping[str, Any]) -> None:
    """Hold the item for the order in the context."""
    item.order_id = context["order_id"]


def release(item: InventoryItem, context: Mapping[str, Any]) -> None:
    """Free the item again."""
    item.order_id = None


def update_stock_levels(item: InventoryItem, context: Mapping[str, Any]) -> None:
    """Take the shipped quantity off the stock."""
    item.quantity -= int(context.get("quantity", item.quantity))
