"""Run every benchmark against its baseline and print one Markdown table (the README's performance table).

    .venv/bin/python -m tests.benchmarks [--quick]

Needs the services the test suite uses (PostgreSQL, Redis, RabbitMQ on their usual local ports).
``--quick`` runs each with small inputs and one run: a check that they all work, not a measurement.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

from tests.benchmarks import (
    bench_archive,
    bench_async,
    bench_before_after,
    bench_binding,
    bench_callbacks,
    bench_hooks,
    bench_lint,
    bench_runtime,
    bench_work,
)
from tests.benchmarks.table import Result, render


def run_all(quick: bool, database_url: str) -> list[Result]:
    rows: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite:///{folder}/archive.db"
        steps = [
            (
                "lint",
                lambda: (
                    bench_lint.results(files=20, states=8, runs=1, sizes=(10_000, 100_000), hostile_size=50_000)
                    if quick
                    else bench_lint.results()
                ),
            ),
            (
                "runtime",
                lambda: (
                    bench_runtime.results(changes=50, moves=500, repeat=1, postgres=database_url)
                    if quick
                    else bench_runtime.results(postgres=database_url)
                ),
            ),
            (
                "hooks",
                lambda: (
                    bench_hooks.results(changes=50, repeat=1, postgres=database_url)
                    if quick
                    else bench_hooks.results(postgres=database_url)
                ),
            ),
            (
                "async",
                lambda: (
                    bench_async.results(changes=50, repeat=1, postgres=database_url)
                    if quick
                    else bench_async.results(postgres=database_url)
                ),
            ),
            ("binding", lambda: bench_binding.results(rows=2000 if quick else 100_000)),
            (
                "end to end",
                lambda: (
                    bench_work.results(objects=20, runs=1, database_url=database_url)
                    if quick
                    else bench_work.results(database_url=database_url)
                ),
            ),
            (
                "before and after",
                lambda: (
                    bench_before_after.results(objects=20, runs=1, database_url=database_url)
                    if quick
                    else bench_before_after.results(database_url=database_url)
                ),
            ),
            (
                "callbacks",
                lambda: (
                    bench_callbacks.results(deliveries=100, runs=1, postgres=database_url)
                    if quick
                    else bench_callbacks.results(postgres=database_url)
                ),
            ),
            (
                "archive",
                lambda: bench_archive.results(
                    rows=200 if quick else 20000, runs=1 if quick else 5, database_urls=(database_url, sqlite)
                ),
            ),
        ]
        for name, step in steps:
            start = time.perf_counter()
            print(f"running {name} ...", file=sys.stderr, flush=True)
            done = step()
            rows += done
            print(f"  {name} took {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
            print(render(done), file=sys.stderr, flush=True)  # kept even if a later step fails
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: check they work")
    parser.add_argument("--database-url", default=bench_archive.DEFAULT_DATABASE, help="the PostgreSQL to use")
    args = parser.parse_args(argv)
    print(render(run_all(args.quick, args.database_url)))


if __name__ == "__main__":
    main()
