"""``handle`` callables for the callback tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.callbacks import InboundRequest


class ProviderDeclined(Exception):
    """The provider reported that the charge failed."""


def read_charge(request: InboundRequest) -> Mapping[str, Any]:
    """The charge's outcome as the move's context; a declined charge raises (the callback's error step)."""
    charge = request.json()
    if charge.get("outcome") == "declined":
        raise ProviderDeclined(charge.get("reason", "declined"))
    return {"charge": charge["id"]}
