"""Actions of the order machine; they run inside the status change's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from examples.orders.models import Order


def record_payment(order: Order, context: Mapping[str, Any]) -> None:
    """Keep the amount the payment covered."""
    order.paid_amount = context["amount"]


def create_shipment(order: Order, context: Mapping[str, Any]) -> None:
    """Give the order a shipment reference."""
    order.shipment = f"SHIP-{order.id:08d}"
