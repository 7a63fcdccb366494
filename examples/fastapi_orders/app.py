"""Orders over HTTP: FastAPI on ``AsyncSession``, moving orders with ``await order.afire(...)``.

``POST /orders`` creates an order, ``POST /orders/{id}/{transition}`` fires a transition with the JSON body as
its context (a refusal is 409 with the reason), ``GET /orders/{id}/history`` lists its changes.

Run: ``uvicorn --factory examples.fastapi_orders.app:build`` (SQLite ``orders.db`` here), or
``python -m examples.fastapi_orders.app [DATABASE_URL]``. The Statewright app keeps its own (sync) engine for
its tables and the outbox relay; requests use the async engine on the same database.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engine import ConcurrencyError, TransitionError, make_async_engine
from examples.common import start
from examples.orders.models import Order


class NewOrder(BaseModel):
    """What a client sends to create an order."""

    total_amount: Decimal
    item_count: int = 1


class OrderOut(BaseModel):
    """An order as the API answers it."""

    id: int
    status: str
    transitions: list[str]


class ChangeOut(BaseModel):
    """One status change."""

    transition: str
    from_state: str | None
    to_state: str
    context: dict[str, Any] | None


def async_url(database_url: str) -> str:
    """The same database through its async driver (aiosqlite, asyncpg)."""
    if database_url.startswith("sqlite:"):
        return database_url.replace("sqlite:", "sqlite+aiosqlite:", 1)
    return database_url.replace("postgresql+psycopg:", "postgresql+asyncpg:", 1)


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as opened:
        yield opened


#: A request's session (module level: FastAPI reads the handlers' annotations in this module's names).
Session = Annotated[AsyncSession, Depends(_session)]


def build(database_url: str = "sqlite:///orders.db") -> FastAPI:
    """The API over ``database_url`` (its tables are created at start-up)."""

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        statewright = start(["order", "inventory"], database_url)  # binds Order, creates the tables
        engine = make_async_engine(async_url(database_url))
        # Moves commit on their own; keeping the loaded values lets a handler read them after the commit.
        api.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
        yield
        await engine.dispose()
        statewright.close()

    api = FastAPI(title="Orders", lifespan=lifespan)

    async def order_of(session: AsyncSession, order_id: int) -> Order:
        order = await session.get(Order, order_id)
        if order is None:
            raise HTTPException(404, f"no order {order_id}")
        return order

    def out(order: Order) -> OrderOut:
        return OrderOut(id=order.id, status=order.status.state, transitions=order.available_transitions())

    @api.post("/orders", status_code=201)
    async def create(new: NewOrder, session: Session) -> OrderOut:
        order = Order(total_amount=new.total_amount, item_count=new.item_count)
        session.add(order)
        await session.commit()  # the creation history row is written with the order
        return out(order)

    @api.post("/orders/{order_id}/{transition}")
    async def fire(
        order_id: int, transition: str, session: Session, context: Annotated[dict[str, Any] | None, Body()] = None
    ) -> OrderOut:
        order = await order_of(session, order_id)
        try:
            await order.afire(transition, actor="api", **(context or {}))
        except (TransitionError, ConcurrencyError) as refused:  # not allowed, a guard said no, moved meanwhile
            raise HTTPException(409, str(refused)) from None
        return out(order)

    @api.get("/orders/{order_id}/history")
    async def history(order_id: int, session: Session) -> list[ChangeOut]:
        order = await order_of(session, order_id)
        return [
            ChangeOut(
                transition=c.transition,
                from_state=c.from_state,
                to_state=c.to_state,
                context=dict(c.context) if c.context is not None else None,
            )
            for c in await order.ahistory()
        ]

    return api


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(build(*sys.argv[1:2]))
