"""History rows: what one status change stores in ``statuses``, and the statements that write and read them.

Everything stored is masked here, where it enters storage (``Redactor``); the outbox message copies the
masked context. Rows take the database's time as they are written (after any lock wait).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.selectable import CTE

from engine.errors import exception_name
from engine.orm.tables import statuses
from engine.redaction import Masked, Redactor
from engine.runtime.changes import StatusChange, jsonable
from engine.runtime.clock import database_now

#: The transition name history rows carry for the row written when an object is created.
CREATED = "create"
#: The transition name history rows carry for a defibrillation.
DEFIBRILLATE = "defibrillate"
#: The transition name history rows carry for a move made because a state's timeout passed.
TIMEOUT = "timeout"
#: The transition name history rows carry for ``touch()``: the object re-entered the state it was in.
TOUCH = "touch"

INSERT_STATUS = insert(statuses).values(created_at=database_now()).returning(statuses.c.id, statuses.c.created_at)
INSERT_STATUSES = (
    insert(statuses)
    .values(created_at=database_now())
    .returning(statuses.c.id, statuses.c.created_at, sort_by_parameter_order=True)
)
#: Columns a change passes to its history row (``created_at`` is the database's; the archive columns are archiving's).
HISTORY_COLUMNS = (
    "machine",
    "model_type",
    "model_id",
    "from_state",
    "to_state",
    "transition",
    "payload",
    "context",
    "exception_type",
    "exception_message",
    "exception_traceback",
    "actor",
)


def recorded_after(moved: CTE) -> Insert:
    """``INSERT INTO statuses … SELECT … FROM moved``: a history row only if the compare-and-set matched.

    Its values are bound as ``h_<column>`` (see ``prefixed``).
    """
    values = select(*(bindparam(f"h_{name}", type_=statuses.c[name].type) for name in HISTORY_COLUMNS), database_now())
    return insert(statuses).from_select([*HISTORY_COLUMNS, "created_at"], values.select_from(moved))


def prefixed(row: Mapping[str, Any]) -> dict[str, Any]:
    """A history row as ``recorded_after``'s parameters."""
    return {f"h_{name}": value for name, value in row.items()}


def history_row(
    redactor: Redactor,
    *,
    machine: str,
    model_type: str,
    object_id: str,
    source: str | None,
    target: str,
    transition: str,
    context: Mapping[str, Any] | None = None,
    payload: Any = None,
    exception: BaseException | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """The values of one history row, masked (``created_at`` is left to the database)."""
    row: dict[str, Any] = {
        "machine": machine,
        "model_type": model_type,
        "model_id": object_id,
        "from_state": source,
        "to_state": target,
        "transition": transition,
        "payload": _masked(redactor, payload),
        "context": redactor.value(jsonable(dict(context))) if context else None,
        "exception_type": None,
        "exception_message": None,
        "exception_traceback": None,
        "actor": redactor.optional_text(actor),
    }
    if exception is not None:
        row["exception_type"] = exception_name(exception)
        row["exception_message"] = redactor.text(str(exception))
        row["exception_traceback"] = redactor.text("".join(traceback.format_exception(exception)))
    return row


def _masked(redactor: Redactor, payload: Any) -> Any:
    if payload is None:
        return None
    if isinstance(payload, Masked):  # the caller masked it with a stricter redactor
        return payload.value
    return redactor.value(jsonable(payload))


def read_history(connection: Connection, model_type: str, object_id: str) -> list[StatusChange]:
    """Every status change of one object, oldest first."""
    query = (
        select(statuses)
        .where(statuses.c.model_type == model_type, statuses.c.model_id == object_id)
        .order_by(statuses.c.created_at, statuses.c.id)
    )
    return [StatusChange.from_row(cast(Mapping[str, Any], row)) for row in connection.execute(query).mappings()]
