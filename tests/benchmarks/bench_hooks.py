"""What a ``before_transition`` hook costs a persisted move on PostgreSQL, against the same move with no hook.

A hook that overrides ``before_transition`` and keeps ``before_history_row = True`` (the default) runs before the
history and outbox rows are written, which splits the one-statement move into two statements. With
``before_history_row = False`` it runs after the one-statement write, inside the same transaction. The three
sides (no hook, hook with ``False``, hook with ``True``) alternate in rounds on one PostgreSQL.

    .venv/bin/python -m tests.benchmarks.bench_hooks [--changes 2000] [--repeat 5] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from engine import Hook, Statewright
from tests.benchmarks.bench_app.models import Job
from tests.benchmarks.bench_runtime import DEFAULT_POSTGRES, MACHINES, _fresh_app
from tests.benchmarks.table import Result, render


class CountingBefore(Hook):
    """Counts moves before they are written: the kind of hook a metrics library installs."""

    def __init__(self) -> None:
        self.moves = 0

    def before_transition(self, obj: Any, source: str | None, target: str, transition: str) -> None:
        self.moves += 1


class CountingAfterWrite(CountingBefore):
    before_history_row = False


def _rate(app: Statewright, changes: int) -> float:
    """Committed ``fire`` calls per second on one object."""
    with app.sessionmaker() as session:
        job = Job()
        session.add(job)
        session.commit()
        start = time.perf_counter()
        for _ in range(changes):
            job.fire("go")
        return changes / (time.perf_counter() - start)


def measure(postgres: str, changes: int, repeat: int) -> dict[str, list[float]]:
    """Changes/s of each round, per side; a model is bound to one app at a time, so each run builds its own."""
    _fresh_app(postgres).engine.dispose()  # fresh tables, once
    hooks: dict[str, type[Hook] | None] = {
        "none": None,
        "after write": CountingAfterWrite,
        "before history row": CountingBefore,
    }
    rates: dict[str, list[float]] = {side: [] for side in hooks}
    for _ in range(repeat):
        for side, kind in hooks.items():
            hook = kind() if kind is not None else None
            app = Statewright.from_path(MACHINES, database_url=postgres, hooks=[hook] if hook else [])
            try:
                rates[side].append(_rate(app, changes))
            finally:
                app.close()
            if isinstance(hook, CountingBefore):
                assert hook.moves == changes, side  # the hook really ran on every move
    return rates


def results(*, changes: int = 2000, repeat: int = 5, postgres: str = DEFAULT_POSTGRES) -> list[Result]:
    """Each hooked side against the move with no hook."""
    rates = measure(postgres, changes, repeat)
    plain = statistics.median(rates["none"])
    return [
        Result(
            f"persisted changes/s, PostgreSQL, a before_transition hook with before_history_row = {flag}, "
            f"median of {repeat} × {changes}",
            "the same move with no hook",
            statistics.median(rates[side]),
            plain,
            "changes/s",
            higher_is_better=True,
        )
        for side, flag in (("after write", False), ("before history row", True))
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
