"""What the admin page reads: objects, their history, counts per state, stuck objects and metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from engine.admin.numbers import database_key
from engine.errors import UnknownStatusError
from engine.orm.tables import statuses
from engine.runtime.flow import Flow
from engine.runtime.history import CREATED
from engine.runtime.sweeps import stuck_query
from engine.statuses import UnknownStatus

#: Objects per page of the object list.
PAGE_SIZE = 50
#: Days the "objects per day" chart covers.
TREND_DAYS = 30
#: The period "new objects" counts, compared with the one before it.
NEW_PERIOD = timedelta(days=7)
#: The status filter that lists objects whose status value no state declares (no state name starts with "-").
UNKNOWN = "-unknown"


@dataclass(frozen=True)
class Snapshot:
    """Counts per state and stuck objects per state; ``version`` changes with every status change."""

    version: int
    counts: dict[str, int]
    stuck: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "counts": self.counts,
            "stuck": self.stuck,
            "total": sum(self.counts.values()),
            "stuck_total": sum(self.stuck.values()),
        }

    def unknown(self, states: Any) -> dict[str, int]:
        """The counts of values no state declares (keyed ``unknown value 99``), from ``counts``."""
        return {label: count for label, count in self.counts.items() if label not in states}


@dataclass(frozen=True)
class Metrics:
    """The machine's three metrics."""

    new_objects: int
    new_before: int
    per_day: list[tuple[date, int]]
    by_status: dict[str, int]

    @property
    def change(self) -> float | None:
        """Relative change of new objects against the period before (``None`` when that had none)."""
        return None if self.new_before == 0 else (self.new_objects - self.new_before) / self.new_before


def object_query(flow: Flow, *, state: str | None = None, search: str | None = None) -> Select[Any]:
    """The objects of a machine, newest key first, optionally in one state or with one id."""
    query = select(flow.mapper.class_)
    if state == UNKNOWN:
        query = query.where(or_(flow.column.not_in(list(flow.compiled.status_enum)), flow.column.is_(None)))
    elif state is not None:
        query = query.where(flow.column == flow.compiled.member_by_state[state])
    if search:
        key = database_key(flow, search)
        if key is None:
            return query.where(false())  # text that cannot be a key matches nothing
        query = query.where(*(column == part for column, part in zip(flow.mapper.primary_key, key, strict=True)))
    return query.order_by(*(column.desc() for column in flow.mapper.primary_key))


def list_objects(
    session: Session, flow: Flow, *, state: str | None, search: str | None, page: int
) -> tuple[list[Any], int]:
    """One page of objects and how many match in all."""
    query = object_query(flow, state=state, search=search)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    objects = list(session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return objects, total


def state_label(flow: Flow, obj: Any) -> str:
    """The object's state name, or ``unknown value 99`` when its status value is no state's."""
    try:
        return flow.state_of(obj)
    except UnknownStatusError as unknown:
        return str(UnknownStatus(unknown.value))


def find_object(session: Session, flow: Flow, object_id: str) -> Any | None:
    """The object whose id text is ``object_id``, or ``None``."""
    key = database_key(flow, object_id)
    return None if key is None else session.get(flow.mapper.class_, key)


def snapshot(session: Session, flow: Flow, now: datetime | None = None) -> Snapshot:
    """Counts and stuck objects per state, with the newest history row id of the machine as version."""
    rows = session.execute(select(flow.column, func.count()).group_by(flow.column)).all()
    counts = {state: 0 for state in flow.compiled.spec.states}
    for value, count in rows:
        raw = getattr(value, "value", value)  # a member, an UnknownStatus, or None
        counts[flow.compiled.state_by_value.get(raw) or str(UnknownStatus(raw))] = count
    stuck: dict[str, int] = {}
    for state, spec in flow.compiled.spec.states.items():
        if spec.timeout is not None:
            stuck_objects = stuck_query(flow, state, now or datetime.now(UTC)).order_by(None).subquery()
            stuck[state] = session.scalar(select(func.count()).select_from(stuck_objects)) or 0
    version = session.scalar(select(func.max(statuses.c.id)).where(statuses.c.machine == flow.machine)) or 0
    return Snapshot(version, counts, stuck)


def metrics(session: Session, flow: Flow, now: datetime | None = None) -> Metrics:
    """New objects this period and the one before, objects created per day, objects by status."""
    now = now or datetime.now(UTC)
    created = (
        select(func.count())
        .select_from(statuses)
        .where(statuses.c.machine == flow.machine, statuses.c.transition == CREATED)
    )
    new_objects = session.scalar(created.where(statuses.c.created_at >= now - NEW_PERIOD)) or 0
    new_before = (
        session.scalar(
            created.where(statuses.c.created_at >= now - 2 * NEW_PERIOD, statuses.c.created_at < now - NEW_PERIOD)
        )
        or 0
    )
    day = func.date(statuses.c.created_at)
    first_day = (now - timedelta(days=TREND_DAYS - 1)).date()
    rows = session.execute(
        select(day, func.count())
        .where(
            statuses.c.machine == flow.machine,
            statuses.c.transition == CREATED,
            statuses.c.created_at >= datetime.combine(first_day, datetime.min.time(), UTC),
        )
        .group_by(day)
    ).all()
    by_day = {value if isinstance(value, date) else date.fromisoformat(str(value)): count for value, count in rows}
    per_day = [(first_day + timedelta(days=n), by_day.get(first_day + timedelta(days=n), 0)) for n in range(TREND_DAYS)]
    return Metrics(new_objects, new_before, per_day, snapshot(session, flow, now).counts)
