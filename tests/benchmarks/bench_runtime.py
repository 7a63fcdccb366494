"""Benchmarks of the runtime against its baselines, in the same run.

- in-memory: deciding and applying a move (``CompiledMachine.decide`` + setting the enum member) vs a
  raw ``transitions`` trigger on a model added to an equivalent machine, and vs python-statemachine;
- persisted: ``obj.fire`` (compare-and-set UPDATE + history INSERT, committed) vs hand-written SQLAlchemy
  Core doing the same UPDATE + INSERT in one transaction, on SQLite and PostgreSQL.

Run::

    .venv/bin/python -m tests.benchmarks.bench_runtime [--changes 2000] [--repeat 5] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text, update
from transitions import Machine

from engine import Statewright
from engine.migrations.upgrade import upgrade
from engine.orm.tables import statuses
from tests.benchmarks.bench_app.models import BenchBase, Job
from tests.benchmarks.table import Result, render
from tests.conftest import STATEWRIGHT_TABLES

MACHINES = Path(__file__).resolve().parent / "machines"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NEXT = {"a": "b", "b": "c", "c": "a"}


def in_memory(app: Statewright, moves: int, repeat: int) -> tuple[float, float]:
    """Best-of-``repeat`` seconds per move: (statewright, raw transitions)."""
    compiled = app.machines["job"]
    members = compiled.member_by_state

    class Loose:
        status = members["a"]

    ours_obj = Loose()

    def ours() -> None:
        decision = compiled.decide(ours_obj.status.state, "go", ours_obj, {})
        ours_obj.status = members[decision.target]

    class Raw:
        pass

    raw = Raw()
    Machine(
        model=raw,
        states=list(NEXT),
        initial="a",
        auto_transitions=False,
        transitions=[{"trigger": "go", "source": s, "dest": d} for s, d in NEXT.items()],
    )
    raw_go: Callable[[], object] = raw.go  # type: ignore[attr-defined]
    # Alternate the two, so a burst of other load on the machine hits both sides alike.
    ours_times, raw_times = [], []
    for _ in range(repeat):
        ours_times.append(timeit.timeit(ours, number=moves))
        raw_times.append(timeit.timeit(raw_go, number=moves))
    return min(ours_times) / moves, min(raw_times) / moves


def persisted(app: Statewright, changes: int) -> tuple[float, float]:
    """Changes per second: (statewright fire, hand-written Core UPDATE + INSERT per transaction)."""
    with app.sessionmaker() as session:
        job, baseline_job = Job(), Job()
        session.add_all([job, baseline_job])
        session.commit()
        job_id = baseline_job.id
        start = time.perf_counter()
        for _ in range(changes):
            job.fire("go")
        ours = changes / (time.perf_counter() - start)
    table = Job.__table__
    state = {"value": "a"}
    start = time.perf_counter()
    for _ in range(changes):
        source, target = state["value"], NEXT[state["value"]]
        with app.engine.begin() as connection:
            moved = connection.execute(
                update(table).where(table.c.id == job_id, table.c.status == source).values(status=target)
            ).rowcount
            assert moved == 1
            connection.execute(insert(statuses), history_values(job_id, source, target))
        state["value"] = target
    core = changes / (time.perf_counter() - start)
    return ours, core


def history_values(job_id: int, source: str, target: str) -> dict[str, object]:
    """The history row the hand-written baselines insert for one move of the benchmark's job."""
    return {
        "machine": "job",
        "model_type": "bench",
        "model_id": str(job_id),
        "from_state": source,
        "to_state": target,
        "transition": "go",
        "payload": None,
        "context": None,
        "exception_type": None,
        "exception_message": None,
        "exception_traceback": None,
        "actor": None,
        "created_at": datetime.now(UTC),
    }


def _fresh_app(url: str) -> Statewright:
    app = Statewright.from_path(MACHINES, database_url=url)
    with app.engine.begin() as connection:
        for table in (*STATEWRIGHT_TABLES, "bench_jobs"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(app.engine)
    BenchBase.metadata.create_all(app.engine)
    return app


def python_statemachine(moves: int, repeat: int) -> float:
    """Best-of-``repeat`` seconds per ``send("go")`` on a python-statemachine machine of the same shape."""
    from statemachine import State, StateMachine

    class Cycle(StateMachine):  # type: ignore[misc]
        a = State(initial=True)
        b = State()
        c = State()
        go = a.to(b) | b.to(c) | c.to(a)

    machine = Cycle()
    return min(timeit.repeat(lambda: machine.send("go"), number=moves, repeat=repeat)) / moves


def results(
    *, changes: int = 2000, moves: int = 20000, repeat: int = 5, postgres: str = DEFAULT_POSTGRES
) -> list[Result]:
    """Every runtime comparison."""
    rows: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite = _fresh_app(f"sqlite:///{folder}/bench.db")
        ours, raw = in_memory(sqlite, moves, repeat)
        psm = python_statemachine(max(moves // 10, 10), repeat)
        rows.append(
            Result(
                f"in-memory move (decide + apply), best of {repeat}",
                "raw transitions trigger",
                ours * 1e6,
                raw * 1e6,
                "µs",
                higher_is_better=False,
                bar=1 / 1.3,
                bar_label="time ≤ 1.3× of raw",
            )
        )
        rows.append(
            Result(
                f"in-memory move (decide + apply), best of {repeat}",
                "python-statemachine send",
                ours * 1e6,
                psm * 1e6,
                "µs",
                higher_is_better=False,
            )
        )
        for name, app in (("SQLite file", sqlite), ("PostgreSQL", _fresh_app(postgres))):
            runs = [persisted(app, changes) for _ in range(repeat)]
            rows.append(
                Result(
                    f"persisted changes/s, {name}, median of {repeat} × {changes}",
                    "Core UPDATE + INSERT per transaction",
                    statistics.median(r[0] for r in runs),
                    statistics.median(r[1] for r in runs),
                    "changes/s",
                    higher_is_better=True,
                    bar=0.8,
                )
            )
            app.engine.dispose()
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run every runtime benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--moves", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args(argv)
    print(render(results(changes=args.changes, moves=args.moves, repeat=args.repeat, postgres=args.postgres)))


if __name__ == "__main__":
    main()
