"""Numbers from URLs and forms, bounded to what a database integer holds: past it they name nothing.

SQLite and PostgreSQL store integers in at most 64 signed bits; a bigger Python ``int`` sent as a
parameter fails inside the driver (``OverflowError``), so every id, page and key is checked here first.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from engine.errors import ObjectKeyError
from engine.runtime.flow import Flow

#: Largest integer a database column holds (signed 64 bits).
MAX_DATABASE_INT = 2**63 - 1
#: Smallest integer a database column holds.
MIN_DATABASE_INT = -(2**63)


def fits(value: Any) -> bool:
    """Whether ``value`` can be sent to the database: any non-integer, or an integer within 64 signed bits."""
    return not isinstance(value, int) or MIN_DATABASE_INT <= value <= MAX_DATABASE_INT


def row_id(text: str, what: str) -> int:
    """The id of a row in a URL (``/history/<id>/…``, ``/failures/<id>/…``).

    Raises:
        HTTPException: 404, the text is not a whole number a row id can be.
    """
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0 or not fits(value):
        raise HTTPException(404, f"no {what} {text!r}")
    return value


def page_number(text: str | None, page_size: int) -> int:
    """The page of a list asked for; 1 when missing or not a number.

    Raises:
        HTTPException: 400, the page starts past any row a database can count.
    """
    try:
        page = max(1, int(text or "1"))
    except ValueError:
        return 1
    if not fits((page - 1) * page_size):
        raise HTTPException(400, f"no page {text!r}: too far for any list")
    return page


def database_key(flow: Flow, text: str) -> tuple[Any, ...] | None:
    """The primary key ``text`` stands for, or ``None`` when no row can have it (wrong shape, huge numbers)."""
    try:
        key = flow.key_of(text)
    except ObjectKeyError:
        return None
    return key if all(fits(part) for part in key) else None
