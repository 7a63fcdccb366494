"""Guards and actions of the ticket machine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine import GuardRejected
from tests.runtime.ticketing.models import Ticket


class Explosion(RuntimeError):
    """Raised on request, to test rollbacks."""


#: How often ``staff_only`` ran, for tests that count guard calls.
GUARD_CALLS: list[int] = []


def staff_only(ticket: Ticket, context: Mapping[str, Any]) -> bool:
    """Only staff may assign; a context asking for it makes the guard itself fail."""
    GUARD_CALLS.append(ticket.id)
    if context.get("guard_explodes"):
        raise Explosion("guard exploded")
    if context.get("refuse_with"):
        raise GuardRejected(context["refuse_with"])  # a refusal in the guard's own words
    return bool(context.get("staff"))


def assign(ticket: Ticket, context: Mapping[str, Any]) -> None:
    """Record the assignee; a context asking for it makes the action fail after changing the row."""
    ticket.assignee = context["assignee"]
    if context.get("action_explodes"):
        raise Explosion("action exploded")


#: Events delivered to ``remember``, for tests that run listeners.
RECEIVED: list[Mapping[str, Any]] = []


def remember(event: Mapping[str, Any]) -> None:
    """A listener that keeps what it received."""
    RECEIVED.append(event)
