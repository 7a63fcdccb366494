"""Benchmark: `statewright lint` against check-jsonschema on the same machine files and the same schema, and
lint time per megabyte from 10 KB to 5 MB inputs.

The comparison runs whole processes, timed from outside, alternating the two tools, several runs each;
prints medians and the ratio. The scaling part checks one machine in-process at each size (median of
runs) and the worst of the problem-dense inputs of ``tests.spec.hostile`` at 1 MB. Run it with::

    .venv/bin/python -m tests.benchmarks.bench_lint [--files 500] [--states 20] [--runs 5] [--sizes 10000 5000000]
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

from engine.spec import check_text
from tests.benchmarks.machines import write_machines
from tests.benchmarks.table import Result, render
from tests.spec.hostile import HOSTILE

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "machine.schema.json"
#: Input sizes of the scaling benchmark, in bytes.
DEFAULT_SIZES = (10_000, 100_000, 1_000_000, 5_000_000)
#: Size of the problem-dense inputs, in bytes, and the time lint should stay under for them, in seconds.
HOSTILE_SIZE, HOSTILE_TARGET = 1_000_000, 2.0
_PROSE = (
    "Objects wait here until the previous step has finished and every check of this step has passed; "
    "operators may move them on by hand. "
) * 8


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


def documented_machine(size: int) -> str:
    """A valid machine of at least ``size`` bytes: a chain of states and transitions, each with a description,
    as a large, well-documented machine looks (its values stay under the reader's ``MAX_VALUES``)."""
    head = "version: 1\nname: documented\nmodel: bench.models:Thing\ninitial: s0\nstates:\n"
    per_state = len(f"  s0:\n    description: {_PROSE}\n  - {{name: t0, from: s0, to: s1, description: {_PROSE}}}\n")
    count = max(2, size // per_state + 2)
    states = "".join(f"  s{i}:\n    description: {_PROSE}\n" for i in range(count - 1))
    transitions = "".join(
        f"  - {{name: t{i}, from: s{i}, to: s{i + 1}, description: {_PROSE}}}\n" for i in range(count - 1)
    )
    return f"{head}{states}  s{count - 1}: {{final: true}}\ntransitions:\n{transitions}"


def _median_check(text: str, runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        checked = check_text(text, "bench.yaml")
        timings.append(time.perf_counter() - start)
    if checked.diagnostics:
        raise SystemExit(f"the benchmark machine is not clean: {checked.diagnostics[0].render()}")
    return statistics.median(timings)


def scaling(sizes: tuple[int, ...] = DEFAULT_SIZES, runs: int = 5) -> dict[int, float]:
    """Seconds per megabyte to check a documented machine of each size (median of ``runs``)."""
    per_megabyte = {}
    for size in sizes:
        text = documented_machine(size)
        per_megabyte[size] = _median_check(text, runs) / (len(text.encode()) / 1_000_000)
    return per_megabyte


def worst_hostile(size: int = HOSTILE_SIZE) -> tuple[str, float]:
    """The slowest problem-dense input of ``size`` bytes to check, and its time in seconds."""
    timings = {}
    for kind, make in HOSTILE.items():
        text = make(size)
        start = time.perf_counter()
        check_text(text, "hostile.yaml")
        timings[kind] = time.perf_counter() - start
    kind = max(timings, key=lambda k: timings[k])
    return kind, timings[kind]


def _size(size: int) -> str:
    return f"{size / 1_000_000:g} MB" if size >= 1_000_000 else f"{size / 1000:g} KB"


def scaling_results(
    sizes: tuple[int, ...] = DEFAULT_SIZES, runs: int = 5, hostile_size: int = HOSTILE_SIZE
) -> list[Result]:
    """Lint time per MB at the largest size against the smallest, and the worst problem-dense input."""
    per_megabyte = scaling(sizes, runs)
    for size, seconds in per_megabyte.items():
        print(f"  lint of a {_size(size)} machine: {seconds:.3f} s per MB", file=sys.stderr)
    small, large = min(sizes), max(sizes)
    kind, worst = worst_hostile(hostile_size)
    return [
        Result(
            f"lint time per MB, {_size(large)} documented machine, in-process, median of {runs}",
            f"the same at {_size(small)}",
            per_megabyte[large],
            per_megabyte[small],
            "s/MB",
            higher_is_better=False,
            bar=0.5,
            bar_label=f"at most 2× the time per MB of {_size(small)}",
        ),
        Result(
            f"lint the slowest of {len(HOSTILE)} problem-dense {_size(hostile_size)} files ({kind})",
            "the 2 s target",
            worst,
            HOSTILE_TARGET,
            "s",
            higher_is_better=False,
            bar=1.0,
            bar_label=f"under {HOSTILE_TARGET:g} s",
        ),
    ]


def results(
    files: int = 500,
    states: int = 20,
    runs: int = 5,
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    hostile_size: int = HOSTILE_SIZE,
) -> list[Result]:
    """The comparison with check-jsonschema and the scaling rows."""
    measured = run(files, states, runs)
    return [
        Result(
            f"lint {files} machines × {states} states, median of {runs} whole-process runs",
            "check-jsonschema",
            measured["statewright"],
            measured["check-jsonschema"],
            "s",
            higher_is_better=False,
        ),
        *scaling_results(sizes, runs, hostile_size),
    ]


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--states", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="bytes, for scaling")
    args = parser.parse_args(argv)
    result = run(args.files, args.states, args.runs)
    print(f"lint of {args.files} machines x {args.states} states, median of {args.runs} whole-process runs")
    print(f"  statewright lint   {result['statewright']:8.2f} s")
    print(f"  check-jsonschema   {result['check-jsonschema']:8.2f} s")
    print(f"  statewright is {result['ratio']:.1f}x faster")
    print(render(scaling_results(tuple(args.sizes), args.runs)))


if __name__ == "__main__":
    main()
