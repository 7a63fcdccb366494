"""Which delivery may work on an object: a claim is a lease held by one Dramatiq message.

The claim (``when`` → ``processing``) records for the outbox row that started the work which message
holds it and until when (a row of ``statewright_leases``, see ``engine.runtime.leasing``); the worker
renews the lease while the handler runs (``engine.work.leases``). A delivery that finds the object
already in ``processing``:

- carries on if the lease names its own message (a Dramatiq retry, or a redelivery after its worker died);
- skips while another message's lease is live, so a handler never runs twice side by side;
- takes over once that lease has expired (its worker died, or its message was lost), with a
  compare-and-set on the lease, so of several deliveries exactly one takes over.

Claims without a lease (made before leases existed, or outside a worker) keep the old rule: the claim's
history row names the message, and only that message may carry on.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from dramatiq.middleware import CurrentMessage
from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.orm import object_session

from engine.db import SQLITE_BEGIN_OPTION, begin_write
from engine.errors import ConcurrencyError
from engine.orm.tables import leases, statuses
from engine.runtime.changes import StatusChange
from engine.runtime.clock import database_now
from engine.runtime.flow import Flow
from engine.runtime.hooks import notify
from engine.runtime.leasing import Lease, lease_end, seconds_param, take_lease

log = logging.getLogger("engine.work")

#: How a claim's history row names its message, in the ``actor`` column.
CLAIMANT_PREFIX = "statewright worker, message "


def claimant() -> str | None:
    """The ``actor`` a claim by the current message records (``None`` outside a worker)."""
    message = CurrentMessage.get_current_message()
    return None if message is None else f"{CLAIMANT_PREFIX}{message.message_id}"


def lease_for(outbox_id: int, duration: timedelta) -> Lease | None:
    """The lease the current message would hold on ``outbox_id`` (``None`` outside a worker: no lease)."""
    message = CurrentMessage.get_current_message()
    return None if message is None else Lease(outbox_id, message.message_id, duration)


def claim_from_start(flow: Flow, obj: Any, target: str, *, payload: Any, lease: Lease | None) -> bool:
    """Move ``obj`` to ``target`` (its ``processing`` state) and write the lease, in one transaction.

    Returns:
        Whether this delivery made the claim (False: another one moved the object first).
    """
    session = object_session(obj)
    if session is None:
        raise TypeError(f"{flow.machine} {flow.object_id(obj)}: a claimed object must be loaded in a session")
    session.commit()  # ends the transaction that loaded the object; the claim gets one of its own
    change: StatusChange | None = None
    try:
        with session.begin():
            # SQLite: take the write lock first, so the claim waits for other writers instead of failing.
            session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            change = flow.claim_status(obj, target, payload=payload, actor=claimant())
            if lease is not None:
                connection = session.connection()
                connection.execute(take_lease(connection.dialect.name), lease.params(change.id))
    except ConcurrencyError:
        return False
    except BaseException as error:
        if change is not None:  # the move's savepoint was released, then the claim's transaction rolled back
            notify(flow.hooks, "after_rollback", obj, change.from_state, change.to_state, change.transition, error)
        raise
    return True


def carry_on(engine: Engine, flow: Flow, obj: Any, lease: Lease | None) -> bool:
    """Whether the current delivery may work on ``obj``, found in ``processing``; see the module.

    Carrying on and taking over renew the lease at once, in their own committed transaction, so the
    heartbeat and other deliveries see it.
    """
    if lease is None:  # outside a worker: the caller knows what it does
        return True
    with engine.connect() as connection:
        held_by = connection.execute(select(leases.c.claimed_by).where(leases.c.outbox_id == lease.outbox_id)).scalar()
    if held_by is None:
        return _claimed_by_history(flow, obj, f"{CLAIMANT_PREFIX}{lease.holder}")
    # The claim in force is the object's latest status change: an older round of the same work must not take over.
    latest = (
        select(func.max(statuses.c.id))
        .where(statuses.c.model_type == flow.model_type, statuses.c.model_id == flow.object_id(obj))
        .scalar_subquery()
    )
    mine = leases.c.claimed_by == lease.holder
    expired = leases.c.lease_until < database_now()
    renew = (
        update(leases)
        .where(leases.c.outbox_id == lease.outbox_id, leases.c.claim_id == latest, or_(mine, expired))
        .values(claimed_by=lease.holder, lease_until=lease_end(seconds_param()))
    )
    with begin_write(engine) as connection:
        taken = connection.execute(renew, lease.params()).rowcount == 1
    if taken and held_by != lease.holder:
        log.warning(
            "%s %s: took over the claim of message %s, whose lease had expired",
            flow.machine,
            flow.object_id(obj),
            held_by,
        )
    return taken


def _claimed_by_history(flow: Flow, obj: Any, me: str) -> bool:
    """The rule for claims without a lease: only the message the claim's history row names may carry on."""
    session = object_session(obj)
    if session is None:
        return True
    query = (
        select(statuses.c.actor)
        .where(statuses.c.model_type == flow.model_type, statuses.c.model_id == flow.object_id(obj))
        .order_by(statuses.c.id.desc())
        .limit(1)
    )
    actor = session.connection().execute(query).scalar()
    return actor is None or not str(actor).startswith(CLAIMANT_PREFIX) or actor == me
