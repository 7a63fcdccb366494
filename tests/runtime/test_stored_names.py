"""History rows name Statewright's own errors by a stable name, and rows stored under a module path still read."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from engine import EndpointFailed, HandlerTimedOut, Statewright, UnknownWork
from engine.errors import exception_name, stored_exception_name
from engine.orm.tables import statuses
from tests.runtime.ticketing.hooks import Explosion
from tests.runtime.ticketing.models import Ticket


@pytest.mark.parametrize(
    ("exception", "stored"),
    [
        (EndpointFailed(httpx.Response(503), "503 from the printer"), "statewright.EndpointFailed"),
        (HandlerTimedOut(limit=timedelta(seconds=1), what="task crunch"), "statewright.HandlerTimedOut"),
        (UnknownWork("gone"), "statewright.UnknownWork"),
        (Explosion("boom"), "tests.runtime.ticketing.hooks.Explosion"),
    ],
)
def test_our_errors_are_stored_by_class_name_and_others_by_module_path(exception: BaseException, stored: str) -> None:
    assert exception_name(exception) == stored


@pytest.mark.parametrize(
    ("old", "read"),
    [
        ("engine.work.endpoints.EndpointFailed", "statewright.EndpointFailed"),
        ("engine.errors.HandlerTimedOut", "statewright.HandlerTimedOut"),
        ("engine.errors.nested.Thing", "engine.errors.nested.Thing"),
        ("httpx.ReadTimeout", "httpx.ReadTimeout"),
        (None, None),
    ],
)
def test_names_stored_before_they_were_stable_read_as_today(old: str | None, read: str | None) -> None:
    assert stored_exception_name(old) == read


def test_a_history_row_written_by_an_older_version_reads_with_the_stable_name(app: Statewright) -> None:
    with app.sessionmaker() as session:
        ticket = Ticket(title="printer")
        session.add(ticket)
        session.commit()
        ticket.set_status("failed", exception=EndpointFailed(httpx.Response(503), "503 from the printer"))
        assert ticket.history()[-1].exception_type == "statewright.EndpointFailed"
        # What version 0.x wrote for the same failure:
        session.execute(
            update(statuses)
            .where(statuses.c.id == ticket.history()[-1].id)
            .values(exception_type="engine.work.endpoints.EndpointFailed")
        )
        session.commit()
        assert ticket.history()[-1].exception_type == "statewright.EndpointFailed"
