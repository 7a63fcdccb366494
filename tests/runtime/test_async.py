"""The a-methods on objects of an ``AsyncSession``: aiosqlite and asyncpg, the same write path as ``fire``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engine import ConcurrencyError, GuardRejected, Hook, NotBoundError, Statewright, StatusChange, make_async_engine
from engine.errors import ConfigurationError
from engine.orm.tables import outbox, statuses
from tests.runtime.conftest import RUNTIME_MACHINES
from tests.runtime.ticketing.models import Ticket

T = TypeVar("T")


def async_url(database_url: str) -> str:
    """The test database's URL with its async driver."""
    if database_url.startswith("sqlite:"):
        return database_url.replace("sqlite:", "sqlite+aiosqlite:", 1)
    return database_url.replace("postgresql+psycopg:", "postgresql+asyncpg:", 1)


@asynccontextmanager
async def sessions(app: Statewright) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_async_engine(async_url(app.engine.url.render_as_string(hide_password=False)))
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


def run(app: Statewright, test: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    async def main() -> T:
        async with sessions(app) as made:
            return await test(made)

    return asyncio.run(main())


async def _new_ticket(made: async_sessionmaker[AsyncSession], **values: object) -> int:
    async with made() as session:
        ticket = Ticket(title="async", **values)
        session.add(ticket)
        await session.commit()  # the creation history row is written by the flush, as with a Session
        return ticket.id


def _count(app: Statewright, table: object, ticket_id: int) -> int:
    column = statuses.c.model_id if table is statuses else outbox.c.model_id
    with app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table).where(column == str(ticket_id))) or 0)  # type: ignore[arg-type]


def test_afire_moves_commits_and_records_as_fire_does(app: Statewright) -> None:
    async def test(made: async_sessionmaker[AsyncSession]) -> tuple[int, list[str], bool, str | None]:
        ticket_id = await _new_ticket(made)
        async with made() as session:
            ticket = await session.get_one(Ticket, ticket_id)
            allowed = await ticket.acan_fire("assign", staff=True)
            refused = await ticket.awhy_not("assign", staff=False)
            change = await ticket.afire("assign", staff=True, assignee="ada", actor="test")
            assert change.to_state == "assigned"
            assert change.actor == "test"
            assert ticket.status is Ticket.Status.ASSIGNED  # type: ignore[attr-defined]
            assert ticket.assignee == "ada"  # the action ran in the same transaction
            await ticket.afire("resolve")
            history = [f"{c.transition}:{c.to_state}" for c in await ticket.ahistory()]
        return ticket_id, history, allowed, refused

    ticket_id, history, allowed, refused = run(app, test)
    assert history == ["create:new", "assign:assigned", "resolve:resolved"]
    assert allowed is True
    assert refused is not None
    assert "staff" in refused
    with app.sessionmaker() as session:  # committed: a plain Session sees it
        assert session.get_one(Ticket, ticket_id).status is Ticket.Status.RESOLVED  # type: ignore[attr-defined]
    assert _count(app, outbox, ticket_id) >= 3, "each state's event went to the outbox with its move"


def test_moves_in_a_transaction_you_opened_roll_back_with_it(app: Statewright) -> None:
    async def test(made: async_sessionmaker[AsyncSession]) -> int:
        ticket_id = await _new_ticket(made)
        async with made() as session, session.begin():  # a transaction opened by the caller: moves join it
            ticket = await session.get_one(Ticket, ticket_id)
            await ticket.afire("assign", staff=True, assignee="bo")
            await ticket.afire("resolve")
            await session.rollback()
        return ticket_id

    ticket_id = run(app, test)
    assert _count(app, statuses, ticket_id) == 1, "only the creation row"
    with app.sessionmaker() as session:
        assert session.get_one(Ticket, ticket_id).status is Ticket.Status.NEW  # type: ignore[attr-defined]


def test_a_refused_or_stale_afire_raises_and_writes_nothing(app: Statewright) -> None:
    async def test(made: async_sessionmaker[AsyncSession]) -> int:
        ticket_id = await _new_ticket(made)
        async with made() as first, made() as second:
            mine = await first.get_one(Ticket, ticket_id)
            theirs = await second.get_one(Ticket, ticket_id)
            with pytest.raises(GuardRejected):
                await mine.afire("assign", staff=False, assignee="x")
            await theirs.afire("fail")
            with pytest.raises(ConcurrencyError):
                await mine.afire("assign", staff=True, assignee="x")
        return ticket_id

    ticket_id = run(app, test)
    assert _count(app, statuses, ticket_id) == 2, "created and failed"


def test_concurrent_afires_on_one_row_let_exactly_one_win(app: Statewright) -> None:
    async def fire(made: async_sessionmaker[AsyncSession], ticket_id: int, name: str) -> str:
        async with made() as session:
            ticket = await session.get_one(Ticket, ticket_id)
            try:
                await ticket.afire(name, staff=True, assignee="racer")
            except ConcurrencyError:
                return "lost"
            return "won"

    async def test(made: async_sessionmaker[AsyncSession]) -> tuple[list[str], int]:
        ticket_id = await _new_ticket(made)
        outcomes = await asyncio.gather(fire(made, ticket_id, "assign"), fire(made, ticket_id, "fail"))
        return sorted(outcomes), ticket_id

    outcomes, ticket_id = run(app, test)
    assert outcomes == ["lost", "won"]
    assert _count(app, statuses, ticket_id) == 2


def test_an_object_of_a_plain_session_is_told_to_use_fire(app: Statewright) -> None:
    with app.sessionmaker() as session:
        ticket = Ticket(title="sync")
        session.add(ticket)
        session.commit()
        with pytest.raises(NotBoundError, match="AsyncSession"):
            asyncio.run(ticket.afire("fail"))


def test_a_url_without_an_async_driver_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="sqlite\\+aiosqlite"):
        make_async_engine("sqlite:///x.db")


class _WhereAfterHooksRun(Hook):
    def __init__(self) -> None:
        self.threads: list[int] = []

    def after_transitions(self, changes: Sequence[StatusChange]) -> None:
        self.threads.append(threading.get_ident())


def test_after_hooks_run_off_the_event_loop_once_the_move_committed(database_url: str, app: Statewright) -> None:
    """The relay is such a hook: on the loop, it blocked every other request (and deadlocked SQLite)."""
    watching = _WhereAfterHooksRun()
    hooked = Statewright.from_path(RUNTIME_MACHINES, database_url=database_url, hooks=[watching])
    try:

        async def test(made: async_sessionmaker[AsyncSession]) -> int:
            ticket_id = await _new_ticket(made)
            async with made() as session:
                ticket = await session.get_one(Ticket, ticket_id)
                watching.threads.clear()
                await ticket.afire("fail")
                assert len(watching.threads) == 1, "run before afire returned"
            return threading.get_ident()

        loop_thread = run(hooked, test)
        assert watching.threads[0] != loop_thread
    finally:
        hooked.close()
