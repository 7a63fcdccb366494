"""Guards of the order machine that are code rather than expressions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from examples.orders.models import Order


def inventory_reserved(order: Order, context: Mapping[str, Any]) -> bool:
    """Every item of the order has been reserved."""
    return order.reserved_items >= order.item_count
