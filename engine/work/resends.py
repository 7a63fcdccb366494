"""Resend stranded work: task and endpoint messages that were sent, but whose object is not being worked on.

Whatever lost the message (a Redis restarted without persistence, a dead-lettered message, a worker that
died while a broker forgot its delivery, an outage), its outbox row says sent and nothing will run it.
The sweeper finds two cases and sends the work again:

- **waiting**: the object still sits in the ``when`` state that triggered the work, ``resend_after`` after
  the message was sent (a message may wait that long in a busy queue);
- **stranded**: the object sits in ``processing`` under a claim whose lease ran out more than a short
  grace ago (nobody renews it: the worker that held it died, or its message was lost while it waited for a
  retry). Resent once per lapse of the lease, and again every ``resend_after`` while nobody takes over.

That is safe: a claim is a compare-and-set from ``when``, and a delivery that finds the object in
``processing`` waits for a live lease to run out before it takes over (``engine.work.claims``), so a
handler never runs twice side by side. Each resend adds one to the row's ``attempts`` and leaves a
``resent`` note in the failure records saying which case it was. Times are the database's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Select, func, or_, select, update

from engine.db import begin_write
from engine.errors import ConfigurationError
from engine.orm.tables import leases, outbox, statuses
from engine.runtime.clock import aware, now_of
from engine.runtime.flow import Flow
from engine.runtime.keys import key_sql
from engine.runtime.outbox import WorkKind
from engine.settings import DEFAULT_RESEND_AFTER as DEFAULT_RESEND_AFTER  # re-exported: its old home
from engine.spec.durations import MAX_DURATION, format_duration
from engine.spec.model import EndpointSpec, TaskSpec
from engine.work.failures import RESENT, record_failure

if TYPE_CHECKING:
    from engine.statewright import Statewright

log = logging.getLogger("engine.relay")

#: Rows resent per transaction.
RESEND_BATCH = 500
#: How long past its end a lease must be before its work counts as stranded, as a part of the lease's length:
#: room for a heartbeat that runs late on a loaded host.
GRACE_PER_LEASE = 1 / 3

#: Builds one case's query: (flow, work, now, after, grace) -> outbox rows to resend.
_Finder = Callable[[Flow, TaskSpec | EndpointSpec, datetime, timedelta, timedelta], Select[Any]]


def checked_resend_after(value: object) -> timedelta:
    """``value`` if it is a grace ``resend_stalled`` can use: a ``timedelta`` from zero to ``MAX_DURATION``.

    Raises:
        ConfigurationError: It is not.
    """
    if not isinstance(value, timedelta) or not timedelta(0) <= value <= MAX_DURATION:
        raise ConfigurationError(
            f"resend_after={value!r}: give a datetime.timedelta from 0 to "
            f"{format_duration(MAX_DURATION)}, e.g. timedelta(minutes=10)."
        )
    return value


def _rows_of(flow: Flow, work: TaskSpec | EndpointSpec, state: str) -> Select[Any]:
    """Outbox rows of ``work`` whose object is in ``state``, oldest first."""
    kind = WorkKind.TASK if isinstance(work, TaskSpec) else WorkKind.ENDPOINT
    joined = outbox.join(flow.table, key_sql(flow.mapper.primary_key) == outbox.c.model_id)
    return (
        select(outbox)
        .select_from(joined)
        .where(
            outbox.c.machine == flow.machine,
            outbox.c.kind == kind,
            outbox.c.name == work.name,
            flow.column == flow.compiled.member_by_state[state],
        )
        .order_by(outbox.c.id)
    )


def _latest_change() -> ColumnElement[Any]:
    """SQL: the id of the outbox row's object's latest status change."""
    return (
        select(func.max(statuses.c.id))
        .where(statuses.c.model_type == outbox.c.model_type, statuses.c.model_id == outbox.c.model_id)
        .correlate(outbox)
        .scalar_subquery()
    )


def stalled_query(
    flow: Flow, work: TaskSpec | EndpointSpec, now: datetime, after: timedelta, grace: timedelta
) -> Select[Any]:
    """Rows of ``work`` sent ``after`` ago or more whose object is still in ``when`` since that very change."""
    return _rows_of(flow, work, work.steps.when).where(
        outbox.c.sent_at < now - after, outbox.c.status_change_id == _latest_change()
    )


def stranded_query(
    flow: Flow, work: TaskSpec | EndpointSpec, now: datetime, after: timedelta, grace: timedelta
) -> Select[Any]:
    """Rows of ``work`` whose claim is in force and whose lease ended ``grace`` ago, not resent since it did
    (or not for ``after``); with the lease's end."""
    assert work.steps.processing is not None
    return (
        _rows_of(flow, work, work.steps.processing)
        .join(leases, leases.c.outbox_id == outbox.c.id)
        .add_columns(leases.c.lease_until)
        .where(
            leases.c.claim_id == _latest_change(),
            leases.c.lease_until < now - grace,
            or_(outbox.c.sent_at < leases.c.lease_until, outbox.c.sent_at < now - after),
        )
    )


def resend_stalled(
    app: Statewright, *, after: timedelta, now: datetime | None = None, batch: int = RESEND_BATCH
) -> int:
    """Send again every task and endpoint whose message was lost (see the module); returns how many.

    Works in batches of ``batch`` rows, each in a transaction of its own, until none is left. Safe to run
    from several processes at once (PostgreSQL skips rows another sweeper holds; SQLite sweepers take
    turns). ``now``: the time to judge by (the database's clock when not given).
    """
    judging = _Judging(now, after, app.work.leases.duration * GRACE_PER_LEASE, batch)
    resent = 0
    for flow in app.flows.values():
        for work in flow.compiled.spec.work():
            finders: list[_Finder] = [stalled_query]
            if work.steps.processing is not None:
                finders.append(stranded_query)
            for finder in finders:
                last_id: int | None = 0  # each batch goes on after the last: a row is resent once per run
                while last_id is not None:
                    fetched, last_id = _resend(app, flow, work, finder, judging, last_id)
                    resent += fetched
    return resent


@dataclass(frozen=True)
class _Judging:
    """What each batch is judged by: the time (``None``: the database's, per batch), the graces, the batch size."""

    now: datetime | None
    after: timedelta
    grace: timedelta
    batch: int


def _resend(
    app: Statewright, flow: Flow, work: TaskSpec | EndpointSpec, finder: _Finder, judging: _Judging, last_id: int
) -> tuple[int, int | None]:
    """Resend one batch of rows past ``last_id``; returns how many, and the last id (``None``: no batch follows)."""
    with begin_write(app.engine) as connection:
        now = judging.now or now_of(connection)
        query = finder(flow, work, now, judging.after, judging.grace).where(outbox.c.id > last_id).limit(judging.batch)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=outbox)
        rows = connection.execute(query).all()
        for row in rows:
            app.work.send(row)
            _record(app, connection, flow, work, row, now, stranded=finder is stranded_query)
    return len(rows), (rows[-1].id if len(rows) == judging.batch else None)


def _record(
    app: Statewright,
    connection: Connection,
    flow: Flow,
    work: TaskSpec | EndpointSpec,
    row: Any,
    now: datetime,
    *,
    stranded: bool,
) -> None:
    """Mark the row sent again and leave a note saying why."""
    if stranded:
        lapsed = _ago(now, row.lease_until)
        why = (
            f"was still in {work.steps.processing!r} and its lease expired {lapsed} ago: the worker that held "
            "it died or its message was lost"
        )
    else:
        why = (
            f"was still in {work.steps.when!r} {_ago(now, row.sent_at)} after its message was sent (the broker "
            "may have lost it)"
        )
    reason = f"resent because {flow.machine} {row.model_id} {why}; send {row.attempts + 1}"
    connection.execute(update(outbox).where(outbox.c.id == row.id).values(sent_at=now, attempts=outbox.c.attempts + 1))
    record_failure(
        connection,
        machine=flow.machine,
        kind=row.kind,
        name=row.name,
        outbox_row=row,
        attempts=row.attempts + 1,
        reason=reason,
        status=RESENT,
        redactor=app.redactor,
    )
    log.warning("outbox row %s: %s", row.id, reason)


def _ago(now: datetime, then: datetime) -> str:
    return format_duration(timedelta(seconds=max(1, int((now - aware(then)).total_seconds()))))
