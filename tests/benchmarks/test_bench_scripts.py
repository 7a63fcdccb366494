"""The benchmark script runs end to end on a tiny input (its numbers are not asserted: speed is measured by
running the script, not by unit tests)."""

from __future__ import annotations

from engine.spec import check_text
from tests.benchmarks import bench_lint
from tests.benchmarks.machines import machine_text


def test_generated_benchmark_machines_are_valid() -> None:
    checked = check_text(machine_text(7, states=20), "bench.yaml")
    assert checked.diagnostics == ()
    assert checked.spec is not None
    assert len(checked.spec.states) == 20


def test_the_lint_benchmark_runs_both_tools_and_reports_a_ratio() -> None:
    result = bench_lint.run(files=3, states=8, runs=1)
    assert set(result) == {"statewright", "check-jsonschema", "ratio"}
    assert result["ratio"] > 0


def test_the_documented_benchmark_machine_is_valid_and_as_large_as_asked() -> None:
    text = bench_lint.documented_machine(50_000)
    assert len(text) >= 50_000
    assert check_text(text, "documented.yaml").diagnostics == ()


def test_the_lint_scaling_benchmark_reports_time_per_megabyte_and_the_worst_dense_file() -> None:
    flat, worst = bench_lint.scaling_results(sizes=(10_000, 40_000), runs=1, hostile_size=20_000)
    assert flat.unit == "s/MB"
    assert flat.ours > 0
    assert flat.theirs > 0
    assert worst.theirs == bench_lint.HOSTILE_TARGET
    assert worst.ours > 0


def test_every_benchmark_runs_and_the_suite_prints_one_table(postgres_url: str) -> None:
    """``python -m tests.benchmarks --quick``, as its own process (the raw side sets Dramatiq's global broker)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks", "--quick", "--database-url", postgres_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for row in (
        "| lint 20 machines",
        "| lint time per MB, 100 KB documented machine",
        "problem-dense 50 KB files",
        "raw transitions trigger",
        "python-statemachine send",
        "persisted changes/s, SQLite file",
        "persisted changes/s, PostgreSQL",
        "before_transition hook with before_history_row = False",
        "before_transition hook with before_history_row = True",
        "afire persisted changes/s, PostgreSQL (asyncpg)",
        "bind 2,000 rows: memory held",
        "end to end through Redis",
        "end to end through RabbitMQ",
        "with leases and locked sending",
        "PostgreSQL, median of 1 | ",
        "plain zipfile, same payloads",
        "signed callbacks accepted/s through `statewright serve`",
    ):
        assert row in done.stdout, row


def test_the_tree_comparison_runs_a_step_in_both_trees_and_prints_the_change() -> None:
    """``python -m tests.benchmarks.bench_trees --quick --steps binding``: one row, a ratio from each tree."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_trees", "--quick", "--steps", "binding"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| bind 2,000 rows")]
    assert len(rows) == 2, done.stdout
    for row in rows:
        then, now, change = (cell.strip() for cell in row.strip("|").split("|")[1:])
        assert float(then.rstrip("×")) > 0
        assert float(now.rstrip("×")) > 0
        assert abs(float(change) - float(now.rstrip("×")) / float(then.rstrip("×"))) < 0.02
