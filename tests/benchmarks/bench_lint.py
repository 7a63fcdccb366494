"""Benchmark: `statewright lint` against check-jsonschema on the same machine files and the same schema.

Whole processes, timed from outside, alternating the two tools, several runs each; prints medians and
the ratio. Run it with::

    .venv/bin/python -m tests.benchmarks.bench_lint [--files 500] [--states 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.machines import write_machines
from tests.benchmarks.table import Result

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "machine.schema.json"


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed; run: pip install -e '.[dev]'")
    return found


def _time(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def run(files: int, states: int, runs: int) -> dict[str, float]:
    """Time both tools; return their medians in seconds and the ratio."""
    with tempfile.TemporaryDirectory() as folder:
        paths = write_machines(Path(folder), files, states)
        ours = [_tool("statewright"), "lint", folder]
        theirs = [_tool("check-jsonschema"), "--schemafile", str(SCHEMA), *map(str, paths)]
        timings: dict[str, list[float]] = {"statewright": [], "check-jsonschema": []}
        for _ in range(runs):
            timings["statewright"].append(_time(ours))
            timings["check-jsonschema"].append(_time(theirs))
    medians = {tool: statistics.median(values) for tool, values in timings.items()}
    medians["ratio"] = medians["check-jsonschema"] / medians["statewright"]
    return medians


def results(files: int = 500, states: int = 20, runs: int = 5) -> list[Result]:
    """The comparison as a table row."""
    measured = run(files, states, runs)
    return [Result(f"lint {files} machines × {states} states, median of {runs} whole-process runs",
                   "check-jsonschema", measured["statewright"], measured["check-jsonschema"], "s",
                   higher_is_better=False)]


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--states", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    result = run(args.files, args.states, args.runs)
    print(f"lint of {args.files} machines x {args.states} states, median of {args.runs} whole-process runs")
    print(f"  statewright lint   {result['statewright']:8.2f} s")
    print(f"  check-jsonschema   {result['check-jsonschema']:8.2f} s")
    print(f"  statewright is {result['ratio']:.1f}x faster")


if __name__ == "__main__":
    main()
