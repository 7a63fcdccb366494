"""What the payment callback does with a delivery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.callbacks import InboundRequest


class ChargeDeclined(Exception):
    """The provider reports that the charge failed: the callback's ``error`` step."""


def read_charge(request: InboundRequest) -> Mapping[str, Any]:
    """The provider's event: its charge id becomes the move's context; a failed charge raises."""
    event = request.json()
    if event["type"] == "charge.failed":
        raise ChargeDeclined(event.get("reason", "declined"))
    return {"charge": event["charge"]}
