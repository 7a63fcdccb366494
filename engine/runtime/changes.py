"""``StatusChange``: one recorded move of one object, as the history table holds it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import stored_exception_name


@dataclass(frozen=True)
class StatusChange:
    """One row of the ``statuses`` table.

    ``from_state`` is ``None`` for the row written when the object was created.
    """

    id: int
    machine: str
    model_type: str
    model_id: str
    from_state: str | None
    to_state: str
    transition: str
    created_at: datetime
    payload: Any = None
    context: Mapping[str, Any] | None = None
    exception_type: str | None = None
    exception_message: str | None = None
    exception_traceback: str | None = None
    actor: str | None = None
    #: Where the payload and traceback were archived (``None`` until ``compress`` moves them), and when
    #: they were brought back (``None`` unless restored and not purged since).
    archive_uri: str | None = None
    archive_entry: str | None = None
    archive_sha256: str | None = None
    archived_at: datetime | None = None
    restored_at: datetime | None = None
    #: How many outbox rows the change wrote (not stored: known only to the writer).
    outbox_rows: int = 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StatusChange:
        """Build from a ``statuses`` row mapping (an exception name stored before names were stable reads as
        today's, see ``engine.errors.exception_name``)."""
        values = {name: row[name] for name in cls.__dataclass_fields__ if name in row}
        if "exception_type" in values:
            values["exception_type"] = stored_exception_name(values["exception_type"])
        return cls(**values)


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of ``value``: what JSON cannot hold is stored as its ``repr``.

    NaN and the infinities, which PostgreSQL refuses and SQLite would keep, become the strings ``"NaN"``,
    ``"Infinity"`` and ``"-Infinity"`` on every database.

    >>> jsonable({"score": float("nan"), "limits": [float("-inf"), 1.5]})
    {'score': 'NaN', 'limits': ['-Infinity', 1.5]}
    """
    if value is None or isinstance(value, str | int | bool) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return json.loads(json.dumps(value, default=repr), parse_constant=str)
