"""The async face of a bound model: run the one write path inside an ``AsyncSession``'s greenlet.

``AsyncSession.run_sync`` hands a function the session's synchronous side, on which every statement still
goes through the async driver (asyncpg, aiosqlite) without blocking the event loop. So ``await doc.afire(...)``
is ``doc.fire(...)``, with its transaction, compare-and-set, history and outbox rows, not a second
implementation of them. Its after-hooks run in a worker thread once the move is done, off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from engine.errors import NotBoundError
from engine.runtime.hooks import DEFERRED_KEY, run_after_hooks

T = TypeVar("T")


async def in_async_session(obj: Any, call: Callable[[], T]) -> T:
    """``call()`` run in the greenlet of the ``AsyncSession`` that holds ``obj``.

    Raises:
        NotBoundError: ``obj`` is in no ``AsyncSession`` (a plain ``Session``'s objects use ``fire``).
    """
    from sqlalchemy.ext.asyncio import async_object_session

    session = async_object_session(obj)
    if session is None:
        raise NotBoundError(
            f"{type(obj).__name__}: afire() and the other a-methods need an object loaded or added in an "
            "AsyncSession; an object of a Session uses fire(), can_fire(), history()."
        )
    # After-hooks (the relay sends the new outbox rows, with the app's own engine) would block the event loop
    # in the greenlet; on SQLite that deadlocked: the relay waited for a lock another request held, and that
    # request needed the loop to commit. They run in a thread once the move is done.
    import anyio.to_thread

    info = session.sync_session.info
    deferred: list[Any] = []
    outer = info.get(DEFERRED_KEY)
    info[DEFERRED_KEY] = deferred
    try:
        result = await session.run_sync(lambda _: call())
    finally:
        if outer is None:
            del info[DEFERRED_KEY]
        else:
            info[DEFERRED_KEY] = outer
    if deferred:
        await anyio.to_thread.run_sync(run_after_hooks, deferred)
    return result
