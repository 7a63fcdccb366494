"""Failure records: background work that failed for good with no object state to show it, and resends.

A task or endpoint that fails for good moves its object to the ``error`` state, where the history shows
the exception. Listeners and reactions have no object state of their own, and a task whose object cannot
be moved (its machine no longer declares it, say) has nowhere to put the exception: such failures become
rows of ``statewright_failures``, which ``statewright failures`` and the admin page list and retry. The
sweeper also leaves a note there when it resends work whose message the broker seems to have lost.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select, update

from engine.db import begin_write
from engine.errors import RetryRefused, UnknownWork, exception_name, stored_exception_name
from engine.orm.tables import failures, outbox
from engine.redaction import DEFAULT_REDACTOR, Redactor
from engine.runtime.outbox import OBJECT_WORK

if TYPE_CHECKING:
    from engine.statewright import Statewright

#: An open failure: nothing has been done about it yet; it can be retried.
FAILED = "failed"
#: A failure an operator retried (``statewright failures --retry``, the admin's Retry button).
RETRIED = "retried"
#: Not a failure: a note that the sweeper resent work whose object had not moved long after it was sent.
RESENT = "resent"
#: Records listed at most by one call of ``list_failures``.
DEFAULT_LIST_LIMIT = 500


@dataclass(frozen=True)
class FailureRecord:
    """One row of ``statewright_failures``."""

    id: int
    machine: str
    kind: str
    name: str
    outbox_id: int | None
    model_type: str | None
    model_id: str | None
    message: Mapping[str, Any] | None
    status: str
    reason: str | None
    exception_type: str | None
    exception_message: str | None
    exception_traceback: str | None
    attempts: int
    created_at: datetime
    retried_at: datetime | None

    @property
    def subject(self) -> str:
        """What failed, e.g. ``job listener job.done#0`` or ``job task crunch (object 7)``."""
        about = f" (object {self.model_id})" if self.kind in OBJECT_WORK and self.model_id else ""
        return f"{self.machine} {self.kind} {self.name}{about}"

    def line(self) -> str:
        """The record as one line, as ``statewright failures`` prints it."""
        when = self.created_at.strftime("%Y-%m-%d %H:%M:%S")
        if self.status == RESENT:
            return f"#{self.id} {when} resent {self.subject}: {self.reason}"
        error = f"{self.exception_type}: {self.exception_message}" if self.exception_type else (self.reason or "")
        attempts = f" after {self.attempts} attempt{'s' if self.attempts != 1 else ''}" if self.attempts else ""
        return f"#{self.id} {when} {self.status} {self.subject}{attempts}: {_first_line(error)}"


def _record(row: dict[str, Any]) -> FailureRecord:
    """A record as read: an exception name stored before names were stable reads as today's."""
    return FailureRecord(**{**row, "exception_type": stored_exception_name(row["exception_type"])})


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] + (" …" if len(lines) > 1 else "") if lines else ""


def describe_exception(exception: BaseException | None, redactor: Redactor = DEFAULT_REDACTOR) -> dict[str, str | None]:
    """The exception columns of a record for ``exception``, its message and traceback masked."""
    if exception is None:
        return {"exception_type": None, "exception_message": None, "exception_traceback": None}
    return {
        "exception_type": exception_name(exception),
        "exception_message": redactor.text(str(exception)),
        "exception_traceback": redactor.text("".join(traceback.format_exception(exception))),
    }


def record_failure(
    connection: Connection,
    *,
    machine: str,
    kind: str,
    name: str,
    outbox_row: Any | None,
    attempts: int,
    exception: BaseException | None = None,
    reason: str | None = None,
    status: str = FAILED,
    redactor: Redactor = DEFAULT_REDACTOR,
) -> int:
    """Write one record in the caller's transaction; returns its id.

    Args:
        connection: Where to write.
        machine: The machine whose work it was.
        kind: ``task``, ``endpoint``, ``listener`` or ``reaction``.
        name: The work's name (``EVENT#INDEX`` for listeners and reactions).
        outbox_row: The outbox row the work came from (its id, object and message are kept).
        attempts: How many times the work ran.
        exception: What it raised, if anything.
        reason: Why, in words, when there is no exception (or in addition to it).
        status: ``FAILED`` for a failure, ``RESENT`` for a resend note.
        redactor: Masks secrets in the exception, the reason and the message (the app's, with its ``redact`` keys).
    """
    values = {
        "machine": machine,
        "kind": str(kind),
        "name": name,
        "status": status,
        "reason": redactor.optional_text(reason),
        "attempts": attempts,
        "created_at": datetime.now(UTC),
        **describe_exception(exception, redactor),
        "outbox_id": getattr(outbox_row, "id", None),
        "model_type": getattr(outbox_row, "model_type", None),
        "model_id": getattr(outbox_row, "model_id", None),
        "message": redactor.value(getattr(outbox_row, "message", None)),
    }
    return int(connection.execute(insert(failures).values(values)).inserted_primary_key[0])  # type: ignore[index]


def list_failures(
    engine: Engine, *, statuses: tuple[str, ...] = (FAILED, RESENT), limit: int = DEFAULT_LIST_LIMIT
) -> list[FailureRecord]:
    """Records in one of ``statuses``, oldest first."""
    query = select(failures).where(failures.c.status.in_(statuses)).order_by(failures.c.id).limit(limit)
    with engine.connect() as connection:
        return [_record(row._asdict()) for row in connection.execute(query)]


def open_failure_ids(engine: Engine) -> list[int]:
    """Ids of every open (``FAILED``) record, oldest first."""
    with engine.connect() as connection:
        query = select(failures.c.id).where(failures.c.status == FAILED).order_by(failures.c.id)
        return list(connection.execute(query).scalars())


def get_failure(connection: Connection, failure_id: int, *, lock: bool = False) -> FailureRecord | None:
    """The record ``failure_id``, or ``None``; ``lock`` holds it until the transaction ends (PostgreSQL)."""
    query = select(failures).where(failures.c.id == failure_id)
    row = connection.execute(query.with_for_update() if lock else query).one_or_none()
    return None if row is None else _record(row._asdict())


def mark_retried(connection: Connection, failure_id: int) -> None:
    """The record was dealt with: its work was sent again."""
    connection.execute(
        update(failures).where(failures.c.id == failure_id).values(status=RETRIED, retried_at=datetime.now(UTC))
    )


def retry_failure(app: Statewright, failure_id: int) -> FailureRecord:
    """Send an open record's outbox row again and mark the record ``retried``; returns the record as it was.

    Raises:
        RetryRefused: No such record, it is not open, its outbox row is gone, or the machines no longer
            declare its work.
    """
    with begin_write(app.engine) as connection:
        record = get_failure(connection, failure_id, lock=True)
        if record is None:
            raise RetryRefused(
                f"Cannot retry failure #{failure_id}: there is no such record; "
                "`statewright failures` lists the open ones."
            )
        if record.status != FAILED:
            raise RetryRefused(
                f"Cannot retry failure #{failure_id}: it is {record.status}, not {FAILED}; only open "
                "failures are retried."
            )
        row = connection.execute(select(outbox).where(outbox.c.id == record.outbox_id)).one_or_none()
        if row is None:
            raise RetryRefused(
                f"Cannot retry failure #{failure_id}: its outbox row {record.outbox_id} no longer "
                "exists, so there is nothing to send again."
            )
        try:
            app.work.send(row)
        except UnknownWork as unknown:
            raise RetryRefused(f"Cannot retry failure #{failure_id}: {unknown}") from unknown
        connection.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(sent_at=datetime.now(UTC), attempts=outbox.c.attempts + 1)
        )
        mark_retried(connection, failure_id)
    return record
