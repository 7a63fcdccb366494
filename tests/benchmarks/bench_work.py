"""End-to-end benchmark: objects/s through Redis with 2 worker processes, Statewright vs a raw Dramatiq actor.

Both sides: the same PostgreSQL, the same Redis, 2 worker processes of 8 threads, and per object the
same writes (claim with compare-and-set + history, then the handler's write + complete + history).
Timed from creating the objects until every one is done, after a warm-up object on each side. The two
sides alternate for ``--runs`` rounds; the ratio is of the medians, since the machine's other load varies.

    .venv/bin/python -m tests.benchmarks.bench_work [--objects 2000] [--runs 3] [--database-url URL] [--broker-url URL]

``--broker-url amqp://…`` runs both sides through RabbitMQ instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

from sqlalchemy import func, insert, select, text

from engine import Statewright
from engine.migrations.upgrade import upgrade
from engine.orm.tables import statuses
from tests.benchmarks.bench_app.models import BenchBase, Item
from tests.benchmarks.table import Result
from tests.conftest import STATEWRIGHT_TABLES

ROOT = Path(__file__).resolve().parents[2]
MACHINES = Path(__file__).resolve().parent / "machines_work"
BIN = Path(sys.executable).parent
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
DEFAULT_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/%2F"


def _wait_done(app: Statewright, count: int, deadline: float = 600) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with app.engine.connect() as connection:
            done = connection.scalar(select(func.count()).select_from(Item).where(Item.status == "done"))
        if done == count:
            return
        time.sleep(0.05)
    raise SystemExit(f"only {done} of {count} objects finished")


def _fresh(app: Statewright) -> None:
    with app.engine.begin() as connection:
        for table in (*STATEWRIGHT_TABLES, "bench_items", "bench_jobs"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(app.engine)
    BenchBase.metadata.create_all(app.engine)
    app.broker.flush_all()


def _workers(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        # A safety net (a signal-handler deadlock once kept a worker alive; fixed): the benchmark goes on.
        print(
            f"warning: {process.args[1]} workers did not stop within 60 s of SIGTERM; killing them",
            file=sys.stderr,
            flush=True,
        )
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)


def _timed(app: Statewright, produce: Callable[[int], None], count: int) -> float:
    produce(1)
    _wait_done(app, 1)
    start = time.perf_counter()
    produce(count)
    _wait_done(app, count + 1)
    return count / (time.perf_counter() - start)


def ours(app: Statewright, database_url: str, broker_url: str, count: int) -> float:
    """Objects/s through `statewright worker`."""
    _fresh(app)
    workers = _workers(
        [
            str(BIN / "statewright"),
            "worker",
            "--machines",
            str(MACHINES),
            "--database-url",
            database_url,
            "--broker-url",
            broker_url,
            "--processes",
            "2",
            "--threads",
            "8",
            "--sweep-every",
            "3600",
        ],
        {},
    )

    def produce(n: int) -> None:
        with app.sessionmaker() as session:
            session.add_all([Item() for _ in range(n)])
            session.commit()

    try:
        return _timed(app, produce, count)
    finally:
        _stop(workers)


def raw(app: Statewright, database_url: str, broker_url: str, count: int) -> float:
    """Objects/s through a raw Dramatiq actor doing the same writes."""
    _fresh(app)
    env = {"BENCH_DATABASE_URL": database_url, "BENCH_BROKER_URL": broker_url}
    workers = _workers(
        [str(BIN / "dramatiq"), "tests.benchmarks.raw_dramatiq_app", "--processes", "2", "--threads", "8"], env
    )
    os.environ.update(env)
    # The raw app configures Dramatiq's global broker when imported: import it again for another broker.
    module = importlib.import_module("tests.benchmarks.raw_dramatiq_app")
    if module._URL != broker_url:
        module = importlib.reload(module)
    raw_work = module.raw_work

    def produce(n: int) -> None:
        now = datetime.now(UTC)
        with app.engine.begin() as connection:
            ids = [
                connection.execute(insert(Item.__table__).values(status="queued")).inserted_primary_key[0]
                for _ in range(n)
            ]
            connection.execute(
                insert(statuses),
                [
                    {
                        "machine": "item",
                        "model_type": "raw",
                        "model_id": str(i),
                        "from_state": None,
                        "to_state": "queued",
                        "transition": "create",
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
        for item_id in ids:
            raw_work.send(item_id)

    try:
        return _timed(app, produce, count)
    finally:
        _stop(workers)


def measure(database_url: str, broker_url: str, objects: int, runs: int) -> tuple[list[float], list[float]]:
    """Objects/s of each run: (statewright, raw dramatiq), the two sides alternating."""
    app = Statewright.from_path(MACHINES, database_url=database_url, broker_url=broker_url)
    theirs: list[float] = []
    mine: list[float] = []
    try:
        for _ in range(runs):
            theirs.append(raw(app, database_url, broker_url, objects))
            mine.append(ours(app, database_url, broker_url, objects))
    finally:
        app.close()
    return mine, theirs


def results(
    *,
    database_url: str = DEFAULT_DATABASE,
    objects: int = 2000,
    runs: int = 3,
    brokers: tuple[str, ...] = (DEFAULT_REDIS, DEFAULT_RABBITMQ),
) -> list[Result]:
    """End to end through each broker."""
    rows = []
    for broker_url in brokers:
        mine, theirs = measure(database_url, broker_url, objects, runs)
        name = "RabbitMQ" if broker_url.startswith("amqp") else "Redis"
        rows.append(
            Result(
                f"end to end through {name}, 2 processes × 8 threads, PostgreSQL, {objects} objects, median of {runs}",
                "raw Dramatiq actor, same writes",
                median(mine),
                median(theirs),
                "objects/s",
                higher_is_better=True,
                bar=0.8 if name == "Redis" else None,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run both sides and print objects/s and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--broker-url", default=DEFAULT_REDIS)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    mine, theirs = measure(args.database_url, args.broker_url, args.objects, args.runs)
    print(
        f"end to end, {args.objects} objects, {args.broker_url}, 2 worker processes x 8 threads, "
        f"PostgreSQL, median of {args.runs}"
    )
    print(f"  statewright worker   {median(mine):8.1f} objects/s   (runs: {runs_text(mine)})")
    print(f"  raw dramatiq actor   {median(theirs):8.1f} objects/s   (runs: {runs_text(theirs)})")
    print(f"  ratio {median(mine) / median(theirs):.2f}")


def runs_text(values: list[float]) -> str:
    """Each run's objects/s, for the printout."""
    return ", ".join(f"{value:.0f}" for value in values)


if __name__ == "__main__":
    main()
