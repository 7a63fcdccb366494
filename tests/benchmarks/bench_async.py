"""``await obj.afire(...)`` on an ``AsyncSession`` against hand-written async Core doing the same statements,
on PostgreSQL through asyncpg, in the same run.

Both sides move one row through the three-state cycle of ``machines/job.yaml``, one committed transaction per
change: the compare-and-set UPDATE and the history INSERT. The sides alternate, ``repeat`` times.

    .venv/bin/python -m tests.benchmarks.bench_async [--changes 2000] [--repeat 5] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from engine import make_async_engine
from engine.orm.tables import statuses
from tests.benchmarks.bench_app.models import Job
from tests.benchmarks.bench_runtime import DEFAULT_POSTGRES, NEXT, _fresh_app, history_values
from tests.benchmarks.table import Result, render


async def ours(engine: AsyncEngine, changes: int) -> float:
    """Changes per second through ``afire``."""
    made = async_sessionmaker(engine, expire_on_commit=False)
    async with made() as session:
        job = Job()
        session.add(job)
        await session.commit()
        start = time.perf_counter()
        for _ in range(changes):
            await job.afire("go")
        return changes / (time.perf_counter() - start)


async def core(engine: AsyncEngine, changes: int) -> float:
    """Changes per second through async Core: UPDATE (compare-and-set) + INSERT per transaction."""
    async with engine.begin() as connection:
        job_id = (
            await connection.execute(insert(Job.__table__).values(status="a").returning(Job.__table__.c.id))
        ).scalar_one()  # type: ignore[attr-defined]
    table = Job.__table__
    state = "a"
    start = time.perf_counter()
    for _ in range(changes):
        target = NEXT[state]
        async with engine.begin() as connection:
            moved = await connection.execute(
                update(table).where(table.c.id == job_id, table.c.status == state).values(status=target)  # type: ignore[attr-defined]
            )
            assert moved.rowcount == 1
            await connection.execute(insert(statuses), history_values(job_id, state, target))
        state = target
    return changes / (time.perf_counter() - start)


async def _measure(url: str, changes: int, repeat: int) -> tuple[list[float], list[float]]:
    engine = make_async_engine(url)
    try:
        mine, theirs = [], []
        for _ in range(repeat):
            mine.append(await ours(engine, changes))
            theirs.append(await core(engine, changes))
        return mine, theirs
    finally:
        await engine.dispose()


def results(*, changes: int = 2000, repeat: int = 5, postgres: str = DEFAULT_POSTGRES) -> list[Result]:
    """The one row: ``afire`` against async Core, PostgreSQL through asyncpg."""
    app = _fresh_app(postgres)  # the tables, and the binding of Job to its machine
    try:
        url = app.engine.url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        mine, theirs = asyncio.run(_measure(url, changes, repeat))
    finally:
        app.close()
    return [
        Result(
            f"afire persisted changes/s, PostgreSQL (asyncpg), median of {repeat} × {changes}",
            "async Core UPDATE + INSERT per transaction",
            statistics.median(mine),
            statistics.median(theirs),
            "changes/s",
            higher_is_better=True,
            bar=0.8,
        )
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args(argv)
    print(render(results(changes=args.changes, repeat=args.repeat, postgres=args.postgres)))


if __name__ == "__main__":
    main()
