"""Resend work the broker lost: task and endpoint messages marked sent whose object never left its ``when`` state.

A Redis broker without persistence drops queued messages when it restarts, while their outbox rows say
sent. The sweeper finds objects still in the state that triggered a task or endpoint long after its
message was sent, and sends it again. That is safe: a claim is a compare-and-set from ``when``, and a
delivery that finds the object claimed by another message leaves it alone (``engine.work.claims``), so
a handler never runs twice side by side. Each resend adds one to the row's ``attempts`` and leaves a
``resent`` note in the failure records saying why.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select, update

from engine.errors import ConfigurationError
from engine.orm.tables import outbox, statuses
from engine.runtime.flow import Flow, begin_write
from engine.runtime.keys import key_sql
from engine.spec.durations import format_duration, parse_duration
from engine.spec.model import EndpointSpec, TaskSpec
from engine.work.failures import RESENT, record_failure

if TYPE_CHECKING:
    from engine.statewright import Statewright

log = logging.getLogger("engine.relay")

#: How long after its message was sent work may wait, its object still in the ``when`` state, before the
#: sweeper sends it again. Longer than messages normally wait in your queues; duplicates are harmless.
DEFAULT_RESEND_AFTER = timedelta(hours=1)
#: Environment variable for the grace (a duration such as ``30m``), read when none is given.
RESEND_AFTER_ENV = "STATEWRIGHT_RESEND_AFTER"
#: Rows resent per transaction.
RESEND_BATCH = 500


def resend_after_from_env() -> timedelta:
    """``$STATEWRIGHT_RESEND_AFTER`` as a duration, or ``DEFAULT_RESEND_AFTER``.

    Raises:
        ConfigurationError: The variable is set but is not a duration.
    """
    text = os.environ.get(RESEND_AFTER_ENV, "").strip()
    if not text:
        return DEFAULT_RESEND_AFTER
    try:
        return parse_duration(text)
    except ValueError:
        raise ConfigurationError(f"${RESEND_AFTER_ENV}={text!r} is not a duration; write e.g. 30m, 2h or "
                                 "1h30m.") from None


def stalled_query(flow: Flow, work: TaskSpec | EndpointSpec, cutoff: datetime) -> Select[Any]:
    """Outbox rows of ``work`` sent before ``cutoff`` whose object is still in ``when`` since that very change."""
    kind = "task" if isinstance(work, TaskSpec) else "endpoint"
    latest = (select(func.max(statuses.c.id)).where(statuses.c.model_type == outbox.c.model_type,
                                                    statuses.c.model_id == outbox.c.model_id)
              .correlate(outbox).scalar_subquery())
    joined = outbox.join(flow.table, key_sql(flow.mapper.primary_key) == outbox.c.model_id)
    return (select(outbox).select_from(joined)
            .where(outbox.c.machine == flow.machine, outbox.c.kind == kind, outbox.c.name == work.name,
                   outbox.c.sent_at < cutoff, flow.column == flow.compiled.member_by_state[work.steps.when],
                   outbox.c.status_change_id == latest)
            .order_by(outbox.c.id).limit(RESEND_BATCH))


def resend_stalled(app: Statewright, *, after: timedelta, now: datetime | None = None) -> int:
    """Send again every task and endpoint whose object still waits in ``when`` ``after`` its message was sent.

    Safe to run from several processes at once (PostgreSQL skips rows another sweeper holds; SQLite
    sweepers take turns). Returns how many were resent.
    """
    now = now or datetime.now(UTC)
    resent = 0
    for flow in app.flows.values():
        for work in flow.compiled.spec.work():
            resent += _resend(app, flow, work, now, after)
    return resent


def _resend(app: Statewright, flow: Flow, work: TaskSpec | EndpointSpec, now: datetime, after: timedelta) -> int:
    query = stalled_query(flow, work, now - after)
    with begin_write(app.engine) as connection:
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=outbox)
        rows = connection.execute(query).all()
        for row in rows:
            app.work.send(row)
            waited = format_duration(timedelta(seconds=int((now - _aware(row.sent_at)).total_seconds())))
            reason = (f"resent because {flow.machine} {row.model_id} was still in {work.steps.when!r} {waited} "
                      f"after its message was sent (the broker may have lost it); send {row.attempts + 1}")
            connection.execute(update(outbox).where(outbox.c.id == row.id)
                               .values(sent_at=now, attempts=outbox.c.attempts + 1))
            record_failure(connection, machine=flow.machine, kind=row.kind, name=row.name, outbox_row=row,
                           attempts=row.attempts + 1, reason=reason, status=RESENT)
            log.warning("outbox row %s: %s", row.id, reason)
    return len(rows)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
