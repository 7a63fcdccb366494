"""Reaction selectors: which inventory items an order event concerns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select

from examples.inventory.models import InventoryItem


def items_for_order(event: Mapping[str, Any]) -> Select[InventoryItem]:
    """The items in the basket of the order that emitted the event."""
    return select(InventoryItem).where(InventoryItem.order_id == int(event["model_id"]))
