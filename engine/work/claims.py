"""Which delivery owns a claim: the claim's history row names the Dramatiq message that made it.

Only a redelivery of that message (its worker died, or it is being retried) may carry on with an object
left in ``processing``; any other delivery of the same work (a resend, a late duplicate) leaves it alone,
so a handler never runs twice side by side for one object.
"""

from __future__ import annotations

from typing import Any

from dramatiq.middleware import CurrentMessage
from sqlalchemy import select
from sqlalchemy.orm import object_session

from engine.orm.tables import statuses
from engine.runtime.flow import Flow

#: How a claim's history row names its message, in the ``actor`` column.
CLAIMANT_PREFIX = "statewright worker, message "


def claimant() -> str | None:
    """The ``actor`` a claim by the current message records (``None`` outside a worker)."""
    message = CurrentMessage.get_current_message()
    return None if message is None else f"{CLAIMANT_PREFIX}{message.message_id}"


def claimed_by_me(flow: Flow, obj: Any) -> bool:
    """Whether the current message may carry on with ``obj``'s claim.

    Yes outside a worker, when the claim names no message (made by hand or by an older version), and when
    it names the current message; no when it names another message.
    """
    me = claimant()
    session = object_session(obj)
    if me is None or session is None:
        return True
    query = (select(statuses.c.actor).where(statuses.c.model_type == flow.model_type,
                                            statuses.c.model_id == flow.object_id(obj))
             .order_by(statuses.c.id.desc()).limit(1))
    actor = session.connection().execute(query).scalar()
    return actor is None or not str(actor).startswith(CLAIMANT_PREFIX) or actor == me
