"""Delete callback delivery rows past their time to live, a batch per transaction.

An expired row already counts as never seen (``engine.callbacks.receiving``); deleting it only keeps the table
from growing with every delivery ever received.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, tuple_

from engine.db import SQLITE_BEGIN_OPTION
from engine.errors import ConfigurationError
from engine.orm.tables import callback_deliveries

#: Rows deleted per transaction: short transactions, so deliveries arriving meanwhile wait little.
DEFAULT_BATCH = 1000


def prune_deliveries(session_factory: Any, *, batch: int = DEFAULT_BATCH, now: datetime | None = None) -> int:
    """Delete every delivery row that expired before ``now``, ``batch`` rows per transaction; returns how many.

    ``now`` is the host's clock by default, as the rows' ``expires_at`` is (the receiver writes it).

    Args:
        session_factory: Makes the sessions (``app.sessionmaker``).
        batch: Rows per transaction.
        now: The time to judge by.
    """
    if batch < 1:
        raise ConfigurationError(f"prune_deliveries(batch={batch!r}): give a batch of at least 1 row.")
    cutoff = now or datetime.now(UTC)
    key = tuple_(*callback_deliveries.primary_key.columns)
    expired = select(*callback_deliveries.primary_key.columns).where(callback_deliveries.c.expires_at < cutoff)
    deleted = 0
    while True:
        with session_factory() as session, session.begin():
            connection = session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            # A bounded subquery, not one DELETE of everything: no long lock on a large backlog.
            done = int(connection.execute(delete(callback_deliveries).where(key.in_(expired.limit(batch)))).rowcount)
        deleted += done
        if done < batch:
            return deleted
