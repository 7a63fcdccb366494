"""The lease a claim writes for the outbox row that started the work: which message holds it, and until when.

A claim (``when`` → ``processing``) and its lease (a row of ``statewright_leases``) commit together (on
PostgreSQL in the claim's one statement), so an object in ``processing`` always says who works on it and
for how long. The lease's end is the database's time plus the lease's length, never a host's: every
worker and sweeper compares it with the same clock. ``engine.work.leases`` renews leases;
``engine.work.claims`` decides on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import BigInteger, ColumnElement, DateTime, Float, Insert, String, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from engine.orm.tables import leases


@dataclass(frozen=True)
class Lease:
    """A claim's lease: ``holder`` (a Dramatiq message id) works on outbox row ``outbox_id`` for ``duration``."""

    outbox_id: int
    holder: str
    duration: timedelta

    #: A claim writes its lease alongside its history row (``engine.runtime.alongside``).
    kind: ClassVar[str] = "lease"

    def insert(self, dialect: str, change_id: ColumnElement[Any]) -> Insert:
        """``take_lease`` naming the claim's history row ``change_id``."""
        return take_lease(dialect, change_id)

    def params(self, claim_id: int | None = None) -> dict[str, Any]:
        """The parameters of ``take_lease``'s statement (``claim_id``: the claim's history row, when not in SQL)."""
        params: dict[str, Any] = {
            "l_outbox": self.outbox_id,
            "l_holder": self.holder,
            "l_seconds": self.duration.total_seconds(),
        }
        if claim_id is not None:
            params["l_claim"] = claim_id
        return params


class lease_end(FunctionElement[datetime]):  # noqa: N801 - reads as the SQL expression it stands for
    """``lease_end(seconds)``: the database's current time plus ``seconds`` (timezone-aware; UTC on SQLite)."""

    type = DateTime(timezone=True)
    inherit_cache = True
    name = "lease_end"


def _seconds(element: lease_end, compiler: Any, **kw: Any) -> str:
    (seconds,) = element.clauses
    return str(compiler.process(seconds, **kw))


@compiles(lease_end, "postgresql")
def _postgresql_lease_end(element: lease_end, compiler: Any, **kw: Any) -> str:
    return f"clock_timestamp() + make_interval(secs => {_seconds(element, compiler, **kw)})"


@compiles(lease_end, "sqlite")
def _sqlite_lease_end(element: lease_end, compiler: Any, **kw: Any) -> str:
    # The text SQLAlchemy's SQLite DateTime stores (see engine.runtime.clock), so times compare as text.
    return f"strftime('%Y-%m-%d %H:%M:%f000', 'now', '+' || ({_seconds(element, compiler, **kw)}) || ' seconds')"


def seconds_param(name: str = "l_seconds") -> Any:
    """A bound number of seconds, for ``lease_end``."""
    return bindparam(name, type_=Float())


def take_lease(dialect: str, claim_id: ColumnElement[Any] | None = None) -> Insert:
    """Write the lease ``:l_holder`` takes on outbox row ``:l_outbox`` for ``:l_seconds`` (replacing any older one).

    Args:
        dialect: The database's dialect name (the statement is an upsert in its own words).
        claim_id: The claim's history row id as a column of the fused claim's ``INSERT … RETURNING``; the
            lease is then written only if that returned a row. The ``:l_claim`` parameter when not given.
    """
    make = _UPSERTS.get(dialect)
    if make is None:
        raise NotImplementedError(f"leases are written on SQLite and PostgreSQL, not {dialect}")
    values: dict[str, Any] = {
        "outbox_id": bindparam("l_outbox", type_=BigInteger()),
        "claimed_by": bindparam("l_holder", type_=String()),
        "lease_until": lease_end(seconds_param()),
        "claim_id": bindparam("l_claim", type_=BigInteger()) if claim_id is None else claim_id,
    }
    statement = make(leases)
    if claim_id is None:
        statement = statement.values(values)
    else:
        statement = statement.from_select(list(values), select(*values.values()))
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=[leases.c.outbox_id], set_={name: statement.excluded[name] for name in list(values)[1:]}
    )
    return upsert


#: The upsert of each dialect Statewright runs on.
_UPSERTS: dict[str, Callable[[Table], Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
