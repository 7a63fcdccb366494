"""Find objects that need the engine's attention: stuck past a state's timeout, or failed and restartable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from engine.db import SQLITE_BEGIN_OPTION
from engine.errors import ConcurrencyError, ConfigurationError, TransitionError
from engine.orm.tables import statuses
from engine.runtime.clock import now_of
from engine.runtime.flow import Flow
from engine.runtime.keys import key_sql

log = logging.getLogger("engine.sweeps")

#: Objects examined and moved per transaction.
DEFAULT_BATCH = 500
#: Who the history says moved an object past its timeout.
SWEEPER = "statewright sweep"


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did: objects moved and objects skipped (someone else moved them first)."""

    moved: int
    skipped: int


def stuck_query(flow: Flow, state: str, now: datetime) -> Select[Any]:
    """Objects in ``state`` whose latest status change is older than the state's timeout at ``now``.

    ``now`` should be the database's (``engine.runtime.clock.now_of``): history times are the database's.
    """
    timeout = flow.compiled.spec.states[state].timeout
    assert timeout is not None
    model = flow.mapper.class_
    entered = (
        select(statuses.c.model_id, func.max(statuses.c.created_at).label("entered"))
        .where(statuses.c.model_type == flow.model_type)
        .group_by(statuses.c.model_id)
        .subquery()
    )
    return (
        select(model)
        .join(entered, entered.c.model_id == key_sql(flow.mapper.primary_key))
        .where(flow.column == flow.compiled.member_by_state[state], entered.c.entered < now - timeout.after)
    )


def sweep_timeouts(
    flow: Flow, session_factory: Any, *, batch: int = DEFAULT_BATCH, now: datetime | None = None
) -> SweepResult:
    """Move every object stuck past its state's timeout, ``batch`` at a time; safe to run from several processes.

    Each batch is one transaction: its rows stay locked until the batch commits, so on PostgreSQL
    another sweeper skips them (``FOR UPDATE SKIP LOCKED``) and takes other rows; everywhere,
    compare-and-set makes sure an object is moved once. Batches follow each other until one comes back
    short, or moves nothing (objects that cannot move are not looked at again and again).

    Args:
        flow: The machine whose objects are swept.
        session_factory: Makes the sessions (``app.sessionmaker``).
        batch: Objects per transaction.
        now: The time to judge by; the database's clock by default (a host's clock may be wrong).
    """
    if batch < 1:
        raise ConfigurationError(f"sweep_timeouts(batch={batch!r}): give a batch of at least 1 object.")
    moved = skipped = 0
    for state, spec in flow.compiled.spec.states.items():
        if spec.timeout is None:
            continue
        while True:
            found, done = _sweep_batch(flow, session_factory, state, batch=batch, now=now)
            moved, skipped = moved + done.moved, skipped + done.skipped
            if found < batch or done.moved == 0:
                break
    return SweepResult(moved, skipped)


def _sweep_batch(
    flow: Flow, session_factory: Any, state: str, *, batch: int, now: datetime | None
) -> tuple[int, SweepResult]:
    """One batch of ``state``'s stuck objects, moved in one transaction; returns how many were found, and what was done.

    Each move is a savepoint inside it, so a move that cannot be made is skipped alone.
    """
    moved = skipped = 0
    with session_factory() as session, session.begin():
        # On SQLite, the write lock before the read: sweepers take turns rather than fail each other's writes.
        connection = session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        query = stuck_query(flow, state, now or now_of(connection)).limit(batch)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=flow.table)
        found = session.scalars(query).all()
        for obj in found:
            try:
                flow.time_out(obj, actor=SWEEPER)
                moved += 1
            except (ConcurrencyError, TransitionError) as already:
                log.info("sweep skipped %s: %s", flow.object_id(obj), already)
                skipped += 1
    return len(found), SweepResult(moved, skipped)


def restartable(flow: Flow, session: Any, state: str | None = None) -> Iterator[Any]:
    """Objects in a state with a ``defibrillate`` target (only ``state``, when given)."""
    states = [
        name
        for name, spec in flow.compiled.spec.states.items()
        if spec.defibrillate is not None and (state is None or name == state)
    ]
    if not states:
        return iter(())
    members = [flow.compiled.member_by_state[name] for name in states]
    return iter(session.scalars(select(flow.mapper.class_).where(flow.column.in_(members))).all())


def touchable(flow: Flow, session: Any, state: str | None = None) -> Iterator[Any]:
    """Objects in a state marked ``touchable`` (only ``state``, when given)."""
    states = [
        name for name, spec in flow.compiled.spec.states.items() if spec.touchable and (state is None or name == state)
    ]
    if not states:
        return iter(())
    members = [flow.compiled.member_by_state[name] for name in states]
    return iter(session.scalars(select(flow.mapper.class_).where(flow.column.in_(members))).all())
