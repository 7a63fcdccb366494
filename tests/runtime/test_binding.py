"""Binding costs nothing per row: no machine per object, no reference kept, no extra memory."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

from engine import Statewright
from tests.runtime.ticketing.models import PlainTicket, Ticket

ROWS = 100_000


def test_the_compiled_machine_holds_no_rows_after_moves(app: Statewright) -> None:
    with app.sessionmaker() as session:
        ticket = Ticket(title="gone soon")
        session.add(ticket)
        session.commit()
        ticket.fire("fail")
        ticket.defibrillate()
        watcher = weakref.ref(ticket)
        session.expunge_all()
    del ticket
    gc.collect()
    assert watcher() is None
    assert app.machines["ticket"].machine.models == []


def _peak_bytes(make: type, count: int) -> int:
    gc.collect()
    tracemalloc.start()
    rows = [make(title="t", priority=1) for _ in range(count)]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(rows) == count
    return peak


def test_100k_bound_rows_take_the_memory_of_100k_plain_rows(app: Statewright) -> None:
    """The same columns bound to nothing are the baseline; status is set on both."""
    bound = _peak_bytes(Ticket, ROWS)
    plain = _peak_bytes(lambda **kw: PlainTicket(status="new", **kw), ROWS)  # type: ignore[arg-type]
    assert bound <= plain * 1.05, f"bound {bound / ROWS:.0f} B/row vs plain {plain / ROWS:.0f} B/row"
