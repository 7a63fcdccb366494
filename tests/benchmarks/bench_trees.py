"""The whole suite, this tree against an earlier commit: did a change cost any benchmark its ratio?

Each step of ``python -m tests.benchmarks`` (lint, runtime, binding, end to end, archive) runs in a process of
its own, once with every module (the benchmark's own code included) imported from a copy of the earlier
commit (``git archive``) and once from this tree, the two alternating step by step so that both see the
same machine. Each row's ratio against its baseline is compared: "change" is this tree's ratio ÷ the
earlier one's, so 0.95 means the row lost 5% against its baseline.

    .venv/bin/python -m tests.benchmarks.bench_trees [--before REF] [--rounds 1] [--quick] [--steps lint,binding]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

from tests.benchmarks.bench_before_after import export
from tests.benchmarks.bench_work import DEFAULT_DATABASE, ROOT

#: The last commit before issue 13 (the one-way middle of the house).
DEFAULT_BEFORE = "6c07399"

#: Each step's call, as ``python -m tests.benchmarks`` makes it (full size, or ``--quick``).
STEPS: dict[str, tuple[str, str]] = {
    "lint": (
        "bench_lint.results()",
        "bench_lint.results(files=20, states=8, runs=1, sizes=(10_000, 100_000), hostile_size=50_000)",
    ),
    "runtime": (
        "bench_runtime.results(postgres=DB)",
        "bench_runtime.results(changes=50, moves=500, repeat=1, postgres=DB)",
    ),
    "binding": ("bench_binding.results(rows=100_000)", "bench_binding.results(rows=2000)"),
    "end to end": ("bench_work.results(database_url=DB)", "bench_work.results(objects=20, runs=1, database_url=DB)"),
    "archive": (
        "bench_archive.results(rows=20000, runs=5, database_urls=(DB, SQLITE))",
        "bench_archive.results(rows=200, runs=1, database_urls=(DB, SQLITE))",
    ),
}

#: Run in each side's tree: one step, its rows printed as JSON on the last line.
_ONE_STEP = """
import json, sys, tempfile
from tests.benchmarks import bench_archive, bench_binding, bench_lint, bench_runtime, bench_work
DB = sys.argv[1]
with tempfile.TemporaryDirectory() as folder:
    SQLITE = f"sqlite:///{folder}/archive.db"
    rows = eval(sys.argv[2])
print(json.dumps([[r.benchmark, r.ratio] for r in rows]))
"""


def run_step(tree: Path, call: str, database_url: str) -> list[tuple[str, float]]:
    """``(row, ratio)`` for each row of one step, every module imported from ``tree``."""
    done = subprocess.run(
        [sys.executable, "-c", _ONE_STEP, database_url, call],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        raise SystemExit(f"{call} in {tree} failed:\n{done.stdout}{done.stderr}")
    return [(name, ratio) for name, ratio in json.loads(done.stdout.strip().splitlines()[-1])]


def compare(
    before: str, database_url: str, rounds: int, quick: bool, steps: tuple[str, ...] = tuple(STEPS)
) -> list[tuple[str, list[float], list[float]]]:
    """Per row: its name, this tree's ratios and the earlier tree's ratios, one of each per round."""
    rows: dict[int, tuple[str, list[float], list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="statewright-before-") as folder:
        old = export(before, Path(folder))
        for _ in range(rounds):
            index = 0
            for step in steps:
                full, small = STEPS[step]
                print(f"running {step} ...", file=sys.stderr, flush=True)
                call = small if quick else full
                earlier = run_step(old, call, database_url)
                now = run_step(ROOT, call, database_url)
                for (name, ratio_now), (_, ratio_then) in zip(now, earlier, strict=True):
                    _, nows, thens = rows.setdefault(index, (name, [], []))
                    nows.append(ratio_now)
                    thens.append(ratio_then)
                    index += 1
    return list(rows.values())


def render(before: str, compared: list[tuple[str, list[float], list[float]]]) -> str:
    """The Markdown table of ratios before and after, and the change."""
    lines = [
        f"| benchmark | ratio at {before[:7]} | ratio now | change |",
        "| --- | --- | --- | --- |",
    ]
    for name, nows, thens in compared:
        then, now = median(thens), median(nows)
        lines.append(f"| {name} | {then:.2f}× | {now:.2f}× | {now / then:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="the earlier commit (default: before issue 13)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds; medians of the ratios")
    parser.add_argument("--quick", action="store_true", help="tiny inputs: check that it runs")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, of: {', '.join(STEPS)}")
    args = parser.parse_args(argv)
    steps = tuple(step.strip() for step in args.steps.split(","))
    unknown = [step for step in steps if step not in STEPS]
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    print(render(args.before, compare(args.before, args.database_url, args.rounds, args.quick, steps)))


if __name__ == "__main__":
    main()
