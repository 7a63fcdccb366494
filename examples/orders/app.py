"""Orders and inventory: guards refuse an underpaid order, a paid one confirms and reserves stock.

Run: ``python -m examples.orders.app [DATABASE_URL]``. The inventory machine reacts to
``order.confirmed``; until the worker exists, this app performs that reaction itself.
"""

from __future__ import annotations

import sys
from decimal import Decimal

from engine import GuardRejected
from examples.common import start
from examples.inventory.models import InventoryItem
from examples.orders.models import Order


def main(database_url: str = "sqlite:///orders.db") -> dict[str, str]:
    """Pay too little, then enough; reserve the item; fulfil the order."""
    app = start(["order", "inventory"], database_url)
    with app.session() as session:
        order = Order(total_amount=Decimal("100.00"))
        item = InventoryItem(product_id=7, quantity=5)
        session.add_all([order, item])
        session.commit()
        try:
            order.fire("confirm_payment", payment_status="succeeded", amount=40)
        except GuardRejected as refused:
            print(f"refused: {refused}")
        order.fire("confirm_payment", payment_status="succeeded", amount=100)
        item.fire("reserve_stock", order_id=order.id, quantity=1)
        order.reserved_items = 1
        session.commit()
        print(f"can fulfil: {order.can_fire('fulfill_order')}")
        order.fire("fulfill_order")
        item.fire("confirm_shipment", quantity=1)
        outcome = {"order": order.status.state, "item": item.status.state, "shipment": order.shipment or ""}
        print(outcome)
    app.engine.dispose()
    return outcome


if __name__ == "__main__":
    main(*sys.argv[1:2])
