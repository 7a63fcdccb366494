"""Binding many rows: Statewright's bound model objects against a ``transitions`` machine per row.

Statewright compiles each machine once and keeps nothing per row, so a bound object costs what the
plain ORM object costs. The per-row way (``transitions.Machine(model=row)``) builds a machine and
adds trigger methods for every object. Measured: time to create the objects, and the memory they hold
(tracemalloc, after creation, garbage collected).

    .venv/bin/python -m tests.benchmarks.bench_binding [--rows 100000]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transitions import Machine

from engine import Statewright
from tests.benchmarks.bench_app.models import Job
from tests.benchmarks.table import Result, render

MACHINES = Path(__file__).resolve().parent / "machines"
NEXT = {"a": "b", "b": "c", "c": "a"}


def _held(make: Callable[[], list[Any]]) -> tuple[float, int, list[Any]]:
    """Seconds to make the objects and bytes they hold."""
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    made = make()
    elapsed = time.perf_counter() - start
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, held, made


def statewright_rows(rows: int) -> tuple[float, int]:
    app = Statewright.from_path(MACHINES, database_url="sqlite://")
    try:
        elapsed, held, made = _held(lambda: [Job() for _ in range(rows)])
        assert made[-1].status.state == "a", "every object is bound and starts in the initial state"
        return elapsed, held
    finally:
        app.close()


def machine_per_row(rows: int) -> tuple[float, int]:
    class Row:
        pass

    def make() -> list[Any]:
        made = []
        for _ in range(rows):
            row = Row()
            Machine(
                model=row,
                states=list(NEXT),
                initial="a",
                auto_transitions=False,
                transitions=[{"trigger": "go", "source": s, "dest": d} for s, d in NEXT.items()],
            )
            made.append(row)
        return made

    elapsed, held, made = _held(make)
    assert made[-1].state == "a"
    return elapsed, held


def results(*, rows: int = 100_000) -> list[Result]:
    ours_time, ours_bytes = statewright_rows(rows)
    theirs_time, theirs_bytes = machine_per_row(rows)
    return [
        Result(
            f"bind {rows:,} rows: time to create",
            "a transitions machine per row",
            ours_time,
            theirs_time,
            "s",
            higher_is_better=False,
        ),
        Result(
            f"bind {rows:,} rows: memory held",
            "a transitions machine per row",
            ours_bytes / 2**20,
            theirs_bytes / 2**20,
            "MiB",
            higher_is_better=False,
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    print(render(results(rows=parser.parse_args(argv).rows)))


if __name__ == "__main__":
    main()
