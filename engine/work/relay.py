"""The outbox relay: send committed outbox rows to the broker, and sweep up rows that were never sent.

Delivery is at least once: a row is marked sent only after the broker took its message, so a process
that dies in between sends it again on the next sweep. Every actor is idempotent. The relay right
after a commit and the sweeps lock the rows they send (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
writers take turns), so without a fault no row is sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Select, select, update

from engine.db import begin_write
from engine.errors import UnknownWork
from engine.orm.tables import outbox
from engine.runtime.changes import StatusChange
from engine.runtime.clock import database_now
from engine.runtime.hooks import Hook
from engine.work.failures import record_failure

log = logging.getLogger("engine.relay")

#: Rows sent per sweep transaction.
DEFAULT_SWEEP_BATCH = 500

#: Sends one outbox row; True when the row is settled (sent, or needing no message), False to leave it unsent.
Sender = Callable[[Any], bool]


class Relay(Hook):
    """Sends the outbox rows of each committed change; ``sweep`` resends whatever is left.

    Args:
        engine: The database holding the outbox.
        send: Puts one row's message on the broker.
    """

    def __init__(self, engine: Engine, send: Sender) -> None:
        self.engine = engine
        self.send = send

    def after_transitions(self, changes: Sequence[StatusChange]) -> None:
        """Right after commit: send the commit's rows together. If the broker is down, the sweeper sends them.

        Rows a sweep holds are left to it, and a row the sweep sent meanwhile is no longer unsent.
        """
        ids = [change.id for change in changes if change.outbox_rows]
        if ids:
            self._send_rows(
                select(outbox)
                .where(outbox.c.status_change_id.in_(ids), outbox.c.sent_at.is_(None))
                .order_by(outbox.c.id)
                .with_for_update(skip_locked=True)
            )

    def sweep(self, *, batch: int = DEFAULT_SWEEP_BATCH) -> int:
        """Send every unsent row, oldest first; safe to run from several processes at once.

        Returns:
            How many rows were sent (or settled, for rows that need no message).
        """
        settled = 0
        while True:
            query = select(outbox).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id).limit(batch)
            fetched, done = self._send_rows(query.with_for_update(skip_locked=True))
            settled += done
            if fetched < batch or done == 0:
                return settled

    def _send_rows(self, query: Select[Any]) -> tuple[int, int]:
        """Send the rows a query selects, in one transaction; returns (rows fetched, rows settled)."""
        with begin_write(self.engine) as connection:  # concurrent relays on SQLite wait in turn
            rows = connection.execute(query).all()
            settled = [row.id for row in rows if self._send_or_record(connection, row)]
            if settled:
                connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(settled))
                    .values(sent_at=database_now(), attempts=outbox.c.attempts + 1)
                )
        return len(rows), len(settled)

    def _send_or_record(self, connection: Connection, row: Any) -> bool:
        """Send one row; a row naming work the machines no longer declare is recorded as failed, not resent."""
        try:
            return self.send(row)
        except UnknownWork as unknown:
            failure_id = record_failure(
                connection,
                machine=row.machine,
                kind=row.kind,
                name=row.name,
                outbox_row=row,
                attempts=0,
                exception=unknown,
            )
            log.error("outbox row %s: %s (failure record #%s)", row.id, unknown, failure_id)
            return True
