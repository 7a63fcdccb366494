"""Orders and inventory: a guard refuses an underpaid order; a paid one is confirmed, and the inventory
machine's reactions reserve its item and, once the order is fulfilled, ship it.

Run: ``python -m examples.orders.app [DATABASE_URL]``. The reactions run on an in-process worker, as they
would under ``statewright worker``.
"""

from __future__ import annotations

import sys
from decimal import Decimal

from engine import GuardRejected
from examples.common import start, worker
from examples.inventory.models import InventoryItem
from examples.orders.models import Order


def main(database_url: str = "sqlite:///orders.db") -> dict[str, str]:
    """Pay too little, then enough; the item is reserved by a reaction; fulfil the order; the item ships."""
    app = start(["order", "inventory"], database_url)
    with app.sessionmaker() as session, worker(app) as drain:
        order = Order(total_amount=Decimal("100.00"))
        session.add(order)
        session.flush()
        item = InventoryItem(product_id=7, quantity=5, order_id=order.id)  # in the order's basket
        session.add(item)
        session.commit()
        try:
            order.fire("confirm_payment", payment_status="succeeded", amount=40)
        except GuardRejected as refused:
            print(f"refused: {refused}")
        order.fire("confirm_payment", payment_status="succeeded", amount=100)
        drain()  # order.confirmed -> the inventory reaction reserves the item
        session.refresh(order)
        print(f"reserved items: {order.reserved_items}; can fulfil: {order.can_fire('fulfill_order')}")
        order.fire("fulfill_order")
        drain()  # order.fulfilled -> the inventory reaction ships the item
        session.refresh(item)
        outcome = {
            "order": order.status.state,
            "item": item.status.state,
            "shipment": order.shipment or "",
            "stock": str(item.quantity),
        }
        print(outcome)
    app.close()
    return outcome


if __name__ == "__main__":
    main(*sys.argv[1:2])
