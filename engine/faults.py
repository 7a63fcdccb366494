"""Which exceptions are the database's transient faults, and of which kind.

A worker must not spend a task's retries on the database being away: that dead-letters work that
would have succeeded a minute later. So every exception an actor run raises is classified here:

- ``Fault.OUTAGE``: the database cannot be reached or dropped the connection (a lost or refused
  connection, SQLSTATE class 08, an administrator or crash shutdown 57P01/57P02, a server still
  starting 57P03, no connection slots left 53300). The worker holds its messages until it answers.
- ``Fault.CONFLICT``: the transaction lost to another one and may simply run again (serialization
  failure 40001, deadlock 40P01, lock timeout 55P03, SQLite's "database is locked", a pool that had
  no free connection in time). The delivery runs again after a short jittered pause.
- ``None``: anything else, including a statement timeout (57014: a slow query stays slow) and the
  handler's own bugs. Those spend retries as before.

Only the exception itself and its explicit causes (``raise … from``) count: a handler that wraps a
database error in one of its own still tells the truth.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

#: SQLSTATE classes and codes that mean the database is unreachable, shutting down or starting.
OUTAGE_SQLSTATE_CLASSES = ("08",)
OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
#: SQLSTATE codes that mean the transaction lost to another and may be run again.
CONFLICT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
#: Driver exception classes that, without a SQLSTATE, mean the connection failed or was lost.
CONNECTION_ERROR_NAMES = frozenset({"OperationalError", "InterfaceError"})
#: Modules of the PostgreSQL drivers whose SQLSTATE-less errors are connection failures.
POSTGRES_DRIVERS = ("psycopg", "psycopg2")
#: Words of SQLite's refusal when another connection holds the write lock.
SQLITE_BUSY = ("database is locked", "database is busy")
#: Characters of an error kept by ``describe``.
ERROR_TEXT_LIMIT = 300


#: Attribute that marks a fault as the handler's own (see ``mark_handlers_own``).
_HANDLERS_OWN = "_statewright_handlers_own"


class Fault(enum.Enum):
    """What kind of transient database fault an exception is."""

    OUTAGE = "outage"
    CONFLICT = "conflict"


def fault_of(error: BaseException) -> Fault | None:
    """The transient fault ``error`` (or one of its explicit causes) is, or ``None`` for any other failure.

    A fault marked with ``mark_handlers_own`` is ``None`` too: it is the handler's failure.

    >>> fault_of(ValueError("a handler's bug")) is None
    True
    """
    if getattr(error, _HANDLERS_OWN, False):
        return None
    for link in _causes(error):
        fault = _classify(link)
        if fault is not None:
            return fault
    return None


def mark_handlers_own(error: BaseException) -> None:
    """Mark a database fault a handler raised while Statewright's database answered as the handler's failure.

    Such a fault came from another database the handler talks to, or from the handler's own transaction:
    holding or re-running the delivery would repeat it forever, so it spends a retry like any failure.
    """
    try:
        setattr(error, _HANDLERS_OWN, True)
    except (AttributeError, TypeError):  # an exception type with __slots__: left as it is
        pass


def describe(error: BaseException) -> str:
    """One line about a database error: the driver's message, without SQLAlchemy's statement and parameters.

    >>> describe(ValueError("no\\nsuch   thing"))
    'ValueError: no such thing'
    """
    cause = getattr(error, "orig", None) or error
    line = " ".join(f"{type(cause).__name__}: {cause}".split())
    return line if len(line) <= ERROR_TEXT_LIMIT else f"{line[: ERROR_TEXT_LIMIT - 1]}…"


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__


def _classify(error: BaseException) -> Fault | None:
    from sqlalchemy import exc

    if isinstance(error, exc.TimeoutError):  # QueuePool checkout: every connection busy for pool_timeout
        return Fault.CONFLICT
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:  # SQLAlchemy saw a disconnect
            return Fault.OUTAGE
        return None if error.orig is None else _classify_driver_error(error.orig)
    return _classify_driver_error(error)


def _classify_driver_error(error: BaseException) -> Fault | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(state, str) and state:
        if state in CONFLICT_SQLSTATES:
            return Fault.CONFLICT
        if state.startswith(OUTAGE_SQLSTATE_CLASSES) or state in OUTAGE_SQLSTATES:
            return Fault.OUTAGE
        return None
    names = {kind.__name__ for kind in type(error).__mro__}
    module = type(error).__module__.split(".", 1)[0]
    if module in POSTGRES_DRIVERS and names & CONNECTION_ERROR_NAMES:
        return Fault.OUTAGE  # "connection failed", "server closed the connection unexpectedly", …
    if module == "sqlite3" and any(words in str(error) for words in SQLITE_BUSY):
        return Fault.CONFLICT
    return None
