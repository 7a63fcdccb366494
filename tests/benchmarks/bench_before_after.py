"""End to end, this tree against an earlier commit: what the outage work (leases, locked sending) costs.

Both sides run ``bench_work.ours`` (``statewright worker``, 2 processes × 8 threads, the same PostgreSQL and
broker) in a process of their own: "before" imports every module from a copy of the earlier commit
(``git archive``), "after" from this tree. The sides alternate for ``--runs`` rounds; the ratio is of the medians.

    .venv/bin/python -m tests.benchmarks.bench_before_after [--before REF] [--objects 2000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

from tests.benchmarks.bench_work import DEFAULT_DATABASE, DEFAULT_REDIS, ROOT, runs_text
from tests.benchmarks.table import Result

#: The last commit before issue 12 (work that survives outages): "today's figure" of that issue.
DEFAULT_BEFORE = "0e6d00c860e5de03660e91f07f0aa26dd513d14a"
#: Run in each side's tree: one timed run of ``bench_work.ours``, printing objects/s.
_ONE_RUN = """
import sys
from engine import Statewright
from tests.benchmarks.bench_work import MACHINES, ours
database_url, broker_url, objects = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = Statewright.from_path(MACHINES, database_url=database_url, broker_url=broker_url)
try:
    print(ours(app, database_url, broker_url, objects))
finally:
    app.close()
"""


def export(ref: str, folder: Path) -> Path:
    """A copy of the tree at ``ref`` in ``folder`` (files only, no history)."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def one_run(tree: Path, database_url: str, broker_url: str, objects: int) -> float:
    """Objects/s of one run with every module imported from ``tree``."""
    done = subprocess.run(
        [sys.executable, "-c", _ONE_RUN, database_url, broker_url, str(objects)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"the run in {tree} failed:\n{done.stdout}{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(
    before: str, database_url: str, broker_url: str, objects: int, runs: int
) -> tuple[list[float], list[float]]:
    """Objects/s of each run: (this tree, the tree at ``before``), the two alternating."""
    after_runs: list[float] = []
    before_runs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="statewright-before-") as folder:
        old = export(before, Path(folder))
        for _ in range(runs):
            before_runs.append(one_run(old, database_url, broker_url, objects))
            after_runs.append(one_run(ROOT, database_url, broker_url, objects))
    return after_runs, before_runs


def results(
    *,
    before: str = DEFAULT_BEFORE,
    database_url: str = DEFAULT_DATABASE,
    broker_url: str = DEFAULT_REDIS,
    objects: int = 2000,
    runs: int = 7,
) -> list[Result]:
    """The README row: this tree against ``before``, through Redis."""
    after_runs, before_runs = measure(before, database_url, broker_url, objects, runs)
    return [
        Result(
            f"end to end through Redis with leases and locked sending, {objects} objects, median of {runs}",
            f"the same before them ({before[:7]})",
            median(after_runs),
            median(before_runs),
            "objects/s",
            higher_is_better=True,
            bar=0.9,
        )
    ]


def main(argv: list[str] | None = None) -> None:
    """Run both sides and print objects/s and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="the earlier commit (default: before issue 12)")
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--broker-url", default=DEFAULT_REDIS)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    after_runs, before_runs = measure(args.before, args.database_url, args.broker_url, args.objects, args.runs)
    print(f"end to end, {args.objects} objects, {args.broker_url}, median of {args.runs}")
    print(f"  this tree        {median(after_runs):8.1f} objects/s   (runs: {runs_text(after_runs)})")
    print(f"  {args.before[:7]:<16} {median(before_runs):8.1f} objects/s   (runs: {runs_text(before_runs)})")
    print(f"  ratio {median(after_runs) / median(before_runs):.2f}")


if __name__ == "__main__":
    main()
