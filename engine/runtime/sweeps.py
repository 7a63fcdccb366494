"""Find objects that need the engine's attention: stuck past a state's timeout, or failed and restartable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select

from engine.errors import ConcurrencyError, TransitionError
from engine.orm.tables import statuses
from engine.runtime.flow import Flow
from engine.runtime.keys import key_sql

log = logging.getLogger("engine.sweeps")

#: Objects examined per query.
DEFAULT_BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did: objects moved and objects skipped (someone else moved them first)."""

    moved: int
    skipped: int


def stuck_query(flow: Flow, state: str, now: datetime) -> Select[Any]:
    """Objects in ``state`` whose latest status change is older than the state's timeout."""
    timeout = flow.compiled.spec.states[state].timeout
    assert timeout is not None
    model = flow.mapper.class_
    entered = (select(statuses.c.model_id, func.max(statuses.c.created_at).label("entered"))
               .where(statuses.c.model_type == flow.model_type).group_by(statuses.c.model_id).subquery())
    return (select(model).join(entered, entered.c.model_id == key_sql(flow.mapper.primary_key))
            .where(flow.column == flow.compiled.member_by_state[state], entered.c.entered < now - timeout.after))


def sweep_timeouts(flow: Flow, session_factory: Any, *, batch: int = DEFAULT_BATCH,
                   now: datetime | None = None) -> SweepResult:
    """Move every object stuck past its state's timeout; safe to run from several processes at once.

    On PostgreSQL, rows another sweeper holds are skipped (``FOR UPDATE SKIP LOCKED``); everywhere,
    compare-and-set makes sure an object is moved once.
    """
    moved = skipped = 0
    now = now or datetime.now(UTC)
    for state, spec in flow.compiled.spec.states.items():
        if spec.timeout is None:
            continue
        with session_factory() as session:
            query = stuck_query(flow, state, now).limit(batch)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=flow.table)
            for obj in session.scalars(query).all():
                try:
                    flow.time_out(obj, actor="statewright sweep")
                    moved += 1
                except (ConcurrencyError, TransitionError) as already:
                    log.info("sweep skipped %s: %s", flow.object_id(obj), already)
                    skipped += 1
    return SweepResult(moved, skipped)


def restartable(flow: Flow, session: Any, state: str | None = None) -> Iterator[Any]:
    """Objects in a state with a ``defibrillate`` target (only ``state``, when given)."""
    states = [name for name, spec in flow.compiled.spec.states.items()
              if spec.defibrillate is not None and (state is None or name == state)]
    if not states:
        return iter(())
    members = [flow.compiled.member_by_state[name] for name in states]
    return iter(session.scalars(select(flow.mapper.class_).where(flow.column.in_(members))).all())
